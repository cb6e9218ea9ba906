package harness

import (
	"cmp"
	"fmt"
	"os"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

// The links Options.Proxied puts a proxy on.
const (
	ProxyPostgres = "postgres" // every service's database connections
	ProxyRedis    = "redis"    // the gateways' read models
	ProxyNATS     = "nats"     // the gateways' mirror and status feed
	ProxyPSP      = "psp"      // the payment service's calls to the paymentgateway
)

// ProxyTargets are the proxied links, in a fixed order.
var ProxyTargets = []string{ProxyPostgres, ProxyRedis, ProxyNATS, ProxyPSP}

// ToxiproxyURL is the API of the toxiproxy server that scripts/infra.sh
// starts (TOXIPROXY_URL overrides it).
func ToxiproxyURL() string { return cmp.Or(os.Getenv("TOXIPROXY_URL"), "http://127.0.0.1:8474") }

// proxies are one deployment's proxies in the toxiproxy server, named
// <deployment id>_<target> so deployments never touch each other's, and
// deleted when the test ends.
type proxies struct {
	client *toxiproxy.Client
	id     string
	byName map[string]*toxiproxy.Proxy
	listen map[string]string // target -> the proxy's host:port
}

func newProxies(t testing.TB, id string) *proxies {
	t.Helper()
	c := toxiproxy.NewClient(ToxiproxyURL())
	if _, err := c.Version(); err != nil {
		t.Fatalf("toxiproxy at %s does not answer (start it with `make infra`): %v", ToxiproxyURL(), err)
	}
	p := &proxies{client: c, id: id, byName: map[string]*toxiproxy.Proxy{}, listen: map[string]string{}}
	t.Cleanup(func() {
		for _, px := range p.byName {
			if err := px.Delete(); err != nil {
				t.Logf("delete proxy %s: %v", px.Name, err)
			}
		}
	})
	return p
}

// add makes a proxy to upstream on a free loopback port and returns that
// port's host:port.
func (p *proxies) add(t testing.TB, target, upstream string) string {
	t.Helper()
	px, err := p.client.CreateProxy(p.id+"_"+target, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatalf("toxiproxy: create proxy for %s: %v", target, err)
	}
	p.byName[target], p.listen[target] = px, px.Listen
	return px.Listen
}

// Proxy returns the deployment's proxy on a link (one of ProxyTargets), to
// add toxics to or to disable; nil without Options.Proxied.
func (s *System) Proxy(target string) *toxiproxy.Proxy {
	if s.proxies == nil {
		return nil
	}
	return s.proxies.byName[target]
}

// HealProxies removes every toxic from the deployment's proxies and enables
// those that are disabled: the links are as they were at the start.
func (s *System) HealProxies() error {
	if s.proxies == nil {
		return nil
	}
	var failed []string
	for _, target := range ProxyTargets {
		px := s.proxies.byName[target]
		toxics, err := px.Toxics()
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", target, err))
			continue
		}
		for _, tx := range toxics {
			if err := px.RemoveToxic(tx.Name); err != nil {
				failed = append(failed, fmt.Sprintf("%s: remove %s: %v", target, tx.Name, err))
			}
		}
		if !px.Enabled {
			if err := px.Enable(); err != nil {
				failed = append(failed, fmt.Sprintf("%s: enable: %v", target, err))
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("heal proxies: %s", strings.Join(failed, "; "))
	}
	return nil
}
