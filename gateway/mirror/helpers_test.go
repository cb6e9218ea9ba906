package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/gateway/internal/eventtest"
	"github.com/orderflow/orderflow/gateway/mirror"
	"github.com/orderflow/orderflow/platform/consumer"
	"github.com/orderflow/orderflow/platform/logging"
	"github.com/orderflow/orderflow/platform/testenv"
	"github.com/orderflow/orderflow/schema"
)

func testLogger() *slog.Logger { return logging.New(os.Stderr, "test", slog.LevelError) }

func newMirror(t *testing.T, js jetstream.JetStream, cfg mirror.Config) *mirror.Mirror {
	t.Helper()
	cfg.Brokers = testenv.KafkaBrokers()
	cfg.RetryInitial, cfg.RetryMax = 20*time.Millisecond, 300*time.Millisecond
	cfg.PublishTimeout = time.Second
	m, err := mirror.New(cfg, js, testLogger())
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

// run runs m until stop is called or the test ends, and waits until it has
// its partitions.
func run(t *testing.T, m *mirror.Mirror) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, m.Run(ctx)) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	select {
	case <-m.Assigned():
	case <-time.After(30 * time.Second):
		t.Fatal("mirror got no partitions within 30s")
	}
	return stop
}

// runningMirror runs a mirror of topics of its own into a stream of its
// own, and returns the stream's name and a producer to those topics.
func runningMirror(t *testing.T) (js jetstream.JetStream, stream string, producer *eventtest.Producer, m *mirror.Mirror) {
	t.Helper()
	topicPrefix, topics := eventtest.Topics(t)
	_, js = eventtest.NATS(t)
	stream, subjectPrefix := eventtest.StreamNames(t, js)
	producer = eventtest.NewProducer(t, topics)
	m = newMirror(t, js, mirror.Config{TopicPrefix: topicPrefix, Stream: mirror.Stream{Name: stream, SubjectPrefix: subjectPrefix}})
	run(t, m)
	return js, stream, producer, m
}

// waitCaughtUp waits until the stream holds want messages and m's group has
// nothing left to mirror.
func waitCaughtUp(t *testing.T, js jetstream.JetStream, stream string, m *mirror.Mirror, want int, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, func() error {
		n, err := streamCount(js, stream)
		if err != nil {
			return err
		}
		lag, err := m.Lag(context.Background())
		if err != nil {
			return err
		}
		if n != want || lag != 0 {
			return fmt.Errorf("stream holds %d of %d events, mirror lag %d", n, want, lag)
		}
		return nil
	})
}

func streamCount(js jetstream.JetStream, stream string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.State.Msgs), nil
}

// streamMessages returns every message of the stream in order.
func streamMessages(t *testing.T, js jetstream.JetStream, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := testenv.Context(t, 30*time.Second)
	s, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

// uniqueIDs counts the distinct Nats-Msg-Id of msgs.
func uniqueIDs(msgs []*jetstream.RawStreamMsg) int {
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.Header.Get(jetstream.MsgIDHeader)] = true
	}
	return len(ids)
}

// consumerMessages returns events as the consumer hands them to a handler.
func consumerMessages(t *testing.T, events ...schema.Envelope) []consumer.Message {
	t.Helper()
	out := make([]consumer.Message, len(events))
	for i, env := range events {
		km := eventtest.Message(t, env)
		msg := consumer.Message{Envelope: env, Value: km.Value}
		for _, h := range km.Headers {
			msg.Headers = append(msg.Headers, schema.MessageHeader{Key: h.Key, Value: string(h.Value)})
		}
		out[i] = msg
	}
	return out
}

// natsProxy passes TCP connections through to the NATS server and can hold
// back what the server sends — its PubAcks among it — while what the client
// sends still reaches the server: a JetStream that stores messages but whose
// acknowledgements do not arrive.
type natsProxy struct {
	ln   net.Listener
	hold sync.RWMutex
	held bool // only the test's goroutine reads and writes it
}

func newNATSProxy(t *testing.T) *natsProxy {
	t.Helper()
	u, err := url.Parse(testenv.NATSURL())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &natsProxy{ln: ln}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	t.Cleanup(func() { // a test that failed while holding
		if p.held {
			p.Release()
		}
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", u.Host)
			if err != nil {
				client.Close()
				continue
			}
			closeBoth := sync.OnceFunc(func() { client.Close(); server.Close() })
			stop := context.AfterFunc(t.Context(), closeBoth)
			conns.Go(func() { _, _ = io.Copy(server, client); closeBoth() })
			conns.Go(func() { defer stop(); p.pass(client, server); closeBoth() })
		}
	}()
	return p
}

// pass copies what the server sends to the client, waiting while held.
func (p *natsProxy) pass(client, server net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			p.hold.RLock()
			_, werr := client.Write(buf[:n])
			p.hold.RUnlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *natsProxy) URL() string { return "nats://" + p.ln.Addr().String() }

// Hold stops passing on what the server sends; Release passes it on again.
func (p *natsProxy) Hold()    { p.hold.Lock(); p.held = true }
func (p *natsProxy) Release() { p.held = false; p.hold.Unlock() }

// connect returns a JetStream context over a connection through p.
func (p *natsProxy) connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(p.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}
