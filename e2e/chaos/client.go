package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/orderflow/orderflow/e2e/clients"
)

const (
	createOrderMutation = `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id status version } }`
	cancelOrderMutation = `mutation($id: ID!) { cancelOrder(id: $id, reason: "chaos: the customer changed their mind") { id status version } }`
	statusSubscription  = `subscription($id: ID!) { orderStatusChanged(id: $id) { id status version } }`
	resumeSubscription  = `subscription($id: ID!, $after: Int) { orderStatusChanged(id: $id, afterVersion: $after) { id status version } }`
)

// gateways are the GraphQL endpoints of the gateway replicas.
type gateways struct {
	urls []string // base URLs
	http *http.Client
}

func (g gateways) api(i int, token string) clients.GraphQL {
	return clients.GraphQL{URL: g.urls[i%len(g.urls)] + "/graphql", HTTP: g.http, Token: token}
}

// errorKind names a failed call for the counts: the GraphQL error code,
// or "transport" when no GraphQL answer came.
func errorKind(r clients.Response, err error) string {
	if err != nil {
		return "transport"
	}
	if len(r.Errors) > 0 {
		if c := r.Errors[0].Code(); c != "" {
			return c
		}
		return fmt.Sprintf("http %d", r.Status)
	}
	return ""
}

type orderAnswer struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
}

// supportsResume asks the schema whether orderStatusChanged takes
// afterVersion, the resume cursor.
func supportsResume(ctx context.Context, g clients.GraphQL) (bool, error) {
	var out struct {
		Type struct {
			Fields []struct {
				Name string
				Args []struct{ Name string }
			}
		} `json:"__type"`
	}
	r, err := g.Do(ctx, `{ __type(name: "Subscription") { fields { name args { name } } } }`, nil, &out)
	if err != nil {
		return false, err
	}
	if err := r.Err(); err != nil {
		return false, err
	}
	for _, f := range out.Type.Fields {
		if f.Name != "orderStatusChanged" {
			continue
		}
		for _, a := range f.Args {
			if a.Name == "afterVersion" {
				return true, nil
			}
		}
	}
	return false, nil
}

// push is one order a subscription was sent.
type push struct {
	Version int       `json:"version"`
	Status  string    `json:"status"`
	At      time.Time `json:"-"`
}

// errCompleted is a session the server completed.
var errCompleted = errors.New("completed by the server")

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribe runs one subscription session on a websocket of its own: the
// protocol's handshake with token, then every pushed order to onPush until
// the server completes it (errCompleted), onPush says stop (nil), or the
// connection, the subscription or ctx ends (the error).
func subscribe(ctx context.Context, baseURL, token, query string, vars map[string]any, onPush func(push) (stop bool)) error {
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseNow()
	send := func(m wsMessage) error {
		b, _ := json.Marshal(m)
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	read := func(ctx context.Context) (wsMessage, error) {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return wsMessage{}, err
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return wsMessage{}, fmt.Errorf("websocket message %.200q: %w", b, err)
		}
		return m, nil
	}
	initPayload, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := send(wsMessage{Type: "connection_init", Payload: initPayload}); err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}
	if m, err := read(dialCtx); err != nil || m.Type != "connection_ack" {
		return fmt.Errorf("handshake: got %q: %v", m.Type, err)
	}
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err := send(wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	for {
		m, err := read(ctx)
		if err != nil {
			return err
		}
		switch m.Type {
		case "next":
			var p struct {
				Data struct {
					O *orderAnswer `json:"orderStatusChanged"`
				} `json:"data"`
				Errors []clients.GraphQLError `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				return fmt.Errorf("payload %.200s: %w", m.Payload, err)
			}
			if len(p.Errors) > 0 || p.Data.O == nil {
				return fmt.Errorf("payload with errors: %.300s", m.Payload)
			}
			if onPush(push{Version: p.Data.O.Version, Status: p.Data.O.Status, At: time.Now()}) {
				_ = send(wsMessage{ID: "1", Type: "complete"})
				_ = conn.Close(websocket.StatusNormalClosure, "")
				return nil
			}
		case "error":
			return fmt.Errorf("subscription error: %.300s", m.Payload)
		case "complete":
			return errCompleted
		case "ping":
			_ = send(wsMessage{Type: "pong"})
		}
	}
}
