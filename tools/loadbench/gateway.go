package loadbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// gateway is the load's view of the GraphQL gateway: mutations over HTTP
// POST, as most clients send them, and subscriptions over a few shared
// websockets.
type gateway struct {
	url   string // the GraphQL endpoint
	http  *http.Client
	conns []*subscriptions
	next  atomic.Uint64
}

const (
	createOrderMutation = `mutation Create($input: CreateOrderInput!) { createOrder(input: $input) { id status } }`
	statusSubscription  = `subscription Status($id: ID!) { orderStatusChanged(id: $id) { status version } }`
)

// The subscriptions' websockets authenticate with subscriberToken, an
// admin's (they follow every customer's orders); each createOrder carries
// its customer's token.
func openGateway(ctx context.Context, baseURL string, connections int, subscriberToken string) (*gateway, error) {
	g := &gateway{
		url: strings.TrimSuffix(baseURL, "/") + "/graphql",
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
		}},
	}
	for range connections {
		c, err := dialSubscriptions(ctx, g.url, subscriberToken)
		if err != nil {
			g.close()
			return nil, err
		}
		g.conns = append(g.conns, c)
	}
	return g, nil
}

func (g *gateway) close() {
	for _, c := range g.conns {
		c.Close()
	}
	g.http.CloseIdleConnections()
}

// subscriptionsFor spreads subscriptions over the connections in turn.
func (g *gateway) subscriptionsFor() *subscriptions {
	return g.conns[g.next.Add(1)%uint64(len(g.conns))]
}

// createOrder places an order as the customer of token and returns its id.
func (g *gateway) createOrder(ctx context.Context, token string, input map[string]any) (string, error) {
	body, err := json.Marshal(map[string]any{"query": createOrderMutation, "variables": map[string]any{"input": input}})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := g.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("createOrder: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("createOrder: %w", err)
	}
	var out struct {
		Data struct {
			CreateOrder struct{ ID string } `json:"createOrder"`
		} `json:"data"`
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", fmt.Errorf("createOrder: answer %d is not GraphQL JSON: %.200s", resp.StatusCode, b)
	}
	if len(out.Errors) > 0 || out.Data.CreateOrder.ID == "" {
		return "", fmt.Errorf("createOrder: %d %.300s", resp.StatusCode, b)
	}
	return out.Data.CreateOrder.ID, nil
}
