package harness

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Balancer is a round-robin reverse proxy in front of a service's replicas,
// as a load balancer or a Kubernetes Service would be: it sends each request
// to the next replica whose /readyz answered 200 at its last probe, and a
// request whose connection to a replica is refused (it died since) to the
// next one. A request that reached a replica is never sent again.
type Balancer struct {
	URL      string
	backends []*backend
	next     atomic.Uint64
	client   *http.Client
}

type backend struct {
	url      string
	host     string
	healthy  atomic.Bool
	requests atomic.Int64
}

// probeEvery is how often the balancer asks each replica's /readyz.
const probeEvery = 250 * time.Millisecond

func startBalancer(t testing.TB, urls []string) *Balancer {
	t.Helper()
	b := &Balancer{client: &http.Client{Timeout: time.Second}}
	for _, u := range urls {
		be := &backend{url: u, host: u[len("http://"):]}
		be.healthy.Store(true)
		b.backends = append(b.backends, be)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.URL = "http://" + ln.Addr().String()
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "replica" },
		Transport: b,
	}
	srv := &http.Server{Handler: replayable(proxy), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	wg.Go(func() { b.probe(ctx) })
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		wg.Wait()
	})
	return b
}

// replayable reads a request's body so that the transport may send it to
// another replica after a refused connection.
func replayable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		next.ServeHTTP(w, r)
	})
}

func (b *Balancer) probe(ctx context.Context) {
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		for _, be := range b.backends {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, be.url+"/readyz", nil)
			resp, err := b.client.Do(req)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				resp.Body.Close()
			}
			be.healthy.Store(ok)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RoundTrip sends the request to the replicas in turn, healthy ones first,
// until one accepts the connection.
func (b *Balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := b.next.Add(1)
	var order []*backend
	for pass := range 2 { // healthy replicas first, then the others: all may be unready at once
		for i := range b.backends {
			be := b.backends[(int(start)+i)%len(b.backends)]
			if be.healthy.Load() == (pass == 0) {
				order = append(order, be)
			}
		}
	}
	var errs []error
	for i, be := range order {
		out := req.Clone(req.Context())
		out.URL.Host, out.Host = be.host, be.host
		if i > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err == nil {
			be.requests.Add(1)
			return resp, nil
		}
		errs = append(errs, err)
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			return nil, err // it may have reached the replica: not sent again
		}
		be.healthy.Store(false)
	}
	return nil, errors.Join(errs...)
}

// Requests returns how many requests each replica answered, by its URL.
func (b *Balancer) Requests() map[string]int64 {
	out := map[string]int64{}
	for _, be := range b.backends {
		out[be.url] = be.requests.Load()
	}
	return out
}
