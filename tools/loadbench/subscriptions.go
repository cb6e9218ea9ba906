package loadbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// subscriptions carries many GraphQL subscriptions over one websocket with
// the graphql-transport-ws protocol, as a browser's client library does, so
// a thousand orders in flight need a few connections, not a thousand.
type subscriptions struct {
	conn   *websocket.Conn
	nextID atomic.Uint64

	mu       sync.Mutex
	handlers map[string]subscriber
	err      error // set when the connection ended; every later Subscribe fails with it
}

// subscriber gets a subscription's "next" payloads, then one end: nil after
// the server's "complete", the error otherwise.
type subscriber struct {
	next func(payload json.RawMessage)
	end  func(error)
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialSubscriptions opens a websocket to the GraphQL endpoint url (http or
// https), completes the protocol's handshake with token, and reads the
// connection until ctx ends or it breaks.
func dialSubscriptions(ctx context.Context, url, token string) (*subscriptions, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	conn.SetReadLimit(1 << 20)
	s := &subscriptions{conn: conn, handlers: map[string]subscriber{}}
	initPayload, err := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err != nil {
		_ = conn.CloseNow()
		return nil, err
	}
	if err := s.send(dialCtx, wsMessage{Type: "connection_init", Payload: initPayload}); err != nil {
		_ = conn.CloseNow()
		return nil, err
	}
	if m, err := s.read(dialCtx); err != nil || m.Type != "connection_ack" {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("websocket handshake: got %q, %v", m.Type, err)
	}
	go s.readLoop(ctx)
	return s, nil
}

// Subscribe starts a subscription and returns its id for Stop.
func (s *subscriptions) Subscribe(ctx context.Context, query string, vars map[string]any, sub subscriber) (string, error) {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return "", err
	}
	id := strconv.FormatUint(s.nextID.Add(1), 10)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return "", s.err
	}
	s.handlers[id] = sub
	s.mu.Unlock()
	if err := s.send(ctx, wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		s.remove(id)
		return "", err
	}
	return id, nil
}

// Stop ends a subscription from the client's side; its subscriber hears
// nothing more.
func (s *subscriptions) Stop(ctx context.Context, id string) {
	if s.remove(id) {
		_ = s.send(ctx, wsMessage{ID: id, Type: "complete"})
	}
}

// Close closes the connection; subscriptions still open end with an error.
func (s *subscriptions) Close() { _ = s.conn.Close(websocket.StatusNormalClosure, "") }

func (s *subscriptions) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.handlers[id]
	delete(s.handlers, id)
	return ok
}

func (s *subscriptions) send(ctx context.Context, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageText, b) // coder/websocket serialises concurrent writes
}

func (s *subscriptions) read(ctx context.Context) (wsMessage, error) {
	_, b, err := s.conn.Read(ctx)
	if err != nil {
		return wsMessage{}, err
	}
	var m wsMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return wsMessage{}, fmt.Errorf("websocket message %.200q: %w", b, err)
	}
	return m, nil
}

// readLoop hands each message to its subscription and answers the server's
// pings; when the connection ends, every open subscription ends with why.
func (s *subscriptions) readLoop(ctx context.Context) {
	var err error
	for {
		var m wsMessage
		if m, err = s.read(ctx); err != nil {
			break
		}
		switch m.Type {
		case "next":
			s.mu.Lock()
			sub, ok := s.handlers[m.ID]
			s.mu.Unlock()
			if ok {
				sub.next(m.Payload)
			}
		case "error", "complete":
			s.mu.Lock()
			sub, ok := s.handlers[m.ID]
			delete(s.handlers, m.ID)
			s.mu.Unlock()
			if !ok {
				continue
			}
			if m.Type == "error" {
				sub.end(fmt.Errorf("subscription error: %s", m.Payload))
			} else {
				sub.end(nil)
			}
		case "ping":
			go func() { _ = s.send(ctx, wsMessage{Type: "pong"}) }()
		}
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	err = errors.Join(errors.New("websocket closed"), err)
	s.mu.Lock()
	handlers := s.handlers
	s.err, s.handlers = err, nil
	s.mu.Unlock()
	for _, sub := range handlers {
		sub.end(err)
	}
}
