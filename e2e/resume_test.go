package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/e2e/harness"
	"github.com/orderflow/orderflow/platform/metrics/metricstest"
	"github.com/orderflow/orderflow/platform/testenv"
)

// A gateway killed under a live subscription: the reference graphql-ws client
// (e2e/node/resume.mjs) subscribes again on the other replica with
// afterVersion = the last version it saw, and gets exactly the status changes
// it missed while no gateway held it, then the live ones, then completion.
func TestSubscriptionResumesOnAnotherGateway(t *testing.T) {
	sys := harness.Start(t, binDir, harness.Options{SecondGateway: true})
	customer := uuid.NewString()
	g1, g2 := gqlAPI(sys, "gateway", customer), gqlAPI(sys, "gateway2", customer)

	t.Run("gateway killed, the order cancelled meanwhile", func(t *testing.T) {
		o := createViaAPI(t, g1, orderInput(customer, "tok_slow")) // PENDING while the charge waits for the PSP
		c := startResume(t, g1.Token, o.ID, []string{"--hold"}, wsURL(sys.URL("gateway")), wsURL(sys.URL("gateway2")))
		seen := []pushed{c.nextOrder(t, sys.URL("gateway"))}
		requireServing(t, sys, "gateway")

		sys.Kill("gateway")
		seen = append(seen, c.ordersUntilLost(t, sys.URL("gateway"))...)
		last := seen[len(seen)-1].Version

		// No gateway holds the client: the order moves on without it.
		cancelViaAPI(t, g2, o.ID)
		final := waitViaAPI(t, g2, o.ID, "CANCELLED", "REFUNDED")
		require.Greater(t, final.Version, last+1, "CANCELLING and CANCELLED were both missed")

		c.release(t)
		c.requireResubscribed(t, sys.URL("gateway2"), last)
		missed := c.ordersUntilComplete(t, sys.URL("gateway2"))
		require.NoError(t, c.wait())
		requireResumedExactly(t, seen, missed, final)
		t.Logf("seen before the kill: %v; after the resume: %v", seen, missed)
	})

	t.Run("gateway2 killed mid-flight, resumed on the restarted gateway, then live changes", func(t *testing.T) {
		sys.StartService("gateway")
		o := createViaAPI(t, g1, orderInput(customer, "tok_slow"))
		c := startResume(t, g2.Token, o.ID, []string{"--hold"}, wsURL(sys.URL("gateway2")), wsURL(sys.URL("gateway")))
		seen := []pushed{c.nextOrder(t, sys.URL("gateway2"))}
		requireServing(t, sys, "gateway2")

		sys.Kill("gateway2")
		seen = append(seen, c.ordersUntilLost(t, sys.URL("gateway2"))...)
		last := seen[len(seen)-1].Version

		// The slow charge is captured while the client is away (unless it
		// was before the kill: then nothing is missed).
		paid := waitViaAPI(t, g1, o.ID, "PAID", "CAPTURED")
		c.release(t)
		c.requireResubscribed(t, sys.URL("gateway"), last)
		var resumed []pushed
		if paid.Version > last {
			resumed = append(resumed, c.nextOrder(t, sys.URL("gateway"))) // PAID, missed
		}
		requireServing(t, sys, "gateway")

		cancelViaAPI(t, g1, o.ID) // live: CANCELLING, CANCELLED
		resumed = append(resumed, c.ordersUntilComplete(t, sys.URL("gateway"))...)
		require.NoError(t, c.wait())
		final := waitViaAPI(t, g1, o.ID, "CANCELLED", "REFUNDED")
		requireResumedExactly(t, seen, resumed, final)
		t.Logf("seen before the kill: %v; after the resume: %v", seen, resumed)
	})

	t.Run("bad cursors, and another customer's order", func(t *testing.T) {
		o := createViaAPI(t, g1, orderInput(customer, "tok_chargeDeclined"))
		final := waitViaAPI(t, g1, o.ID, "CANCELLED", "DECLINED")
		other := uuid.NewString()
		tests := []struct {
			name, token, after, message string
		}{
			{name: "beyond the order's version", token: g1.Token, after: strconv.Itoa(final.Version + 1),
				message: fmt.Sprintf("afterVersion %d is beyond order %s, which is at version %d", final.Version+1, o.ID, final.Version)},
			{name: "below 0", token: g1.Token, after: "-1", message: "afterVersion must be 0 or more"},
			{name: "another customer's order", token: sys.Token(other, false), after: "1", message: fmt.Sprintf("order %s does not exist", o.ID)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := startResume(t, tt.token, o.ID, []string{"--after", tt.after}, wsURL(sys.URL("gateway")))
				err := c.wait()
				require.ErrorContains(t, err, "exited 1")
				require.ErrorContains(t, err, tt.message)
			})
		}

		c := startResume(t, g1.Token, o.ID, []string{"--after", strconv.Itoa(final.Version)}, wsURL(sys.URL("gateway")))
		require.Empty(t, c.ordersUntilComplete(t, sys.URL("gateway")), "a client that had CANCELLED gets nothing more")
		require.NoError(t, c.wait())
	})
	sys.CheckInvariants()
}

// pushed is one order a subscription sent.
type pushed struct {
	Status  string `json:"status"`
	Version int    `json:"version"`
}

func (p pushed) String() string { return fmt.Sprintf("%s v%d", p.Status, p.Version) }

// requireResumedExactly checks a resumed subscription against the order's
// final history: the orders seen before the connection was lost, then after
// the resume each status change after the last of them, once each, in
// order, ending with CANCELLED.
func requireResumedExactly(t *testing.T, seen, resumed []pushed, final gqlOrder) {
	t.Helper()
	require.NotEmpty(t, resumed, "nothing after the resume")
	want := statusesFromHistory(final)
	all := append(append([]pushed(nil), seen...), resumed...)
	for i, p := range all {
		require.Equal(t, want[p.Version], p.Status, "%v matches the history", p)
		if i > 0 {
			require.Equal(t, all[i-1].Version+1, p.Version, "no gap, no repeat: %v then %v", seen, resumed)
		}
	}
	require.Equal(t, final.Version, all[len(all)-1].Version, "ends with the last status")
	require.Equal(t, "CANCELLED", all[len(all)-1].Status)
}

// requireServing waits until the gateway counts a live subscription.
func requireServing(t *testing.T, sys *harness.System, gateway string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		if n, _ := metricstest.Get(t, sys.URL(gateway)).Value("orderflow_gateway_subscriptions_active"); n < 1 {
			return fmt.Errorf("%s serves %v subscriptions", gateway, n)
		}
		return nil
	})
}

// resumeClient is e2e/node/resume.mjs running: the npm graphql-ws client
// following one order over the gateways' URLs, reconnecting to the next one
// with a cursor when its connection is lost.
type resumeClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan resumeEvent // closed at the end of its output
	stderr *lockedBuffer
	done   chan error // the exit, once
	exit   error
}

// resumeEvent is one line resume.mjs prints.
type resumeEvent struct {
	Event        string `json:"event"` // next, lost, resubscribe or complete
	URL          string `json:"url"`
	Reason       string `json:"reason"`
	AfterVersion *int   `json:"afterVersion"`
	Payload      struct {
		Data struct {
			Order pushed `json:"orderStatusChanged"`
		} `json:"data"`
	} `json:"payload"`
	line string
}

var resumeDeps struct {
	once sync.Once
	err  error
}

// startResume starts resume.mjs as the customer of token, with its flags,
// following orderID over urls. It is killed when the test ends.
func startResume(t *testing.T, token, orderID string, flags []string, urls ...string) *resumeClient {
	t.Helper()
	root, err := testenv.FindRepoRoot()
	require.NoError(t, err)
	resumeDeps.once.Do(func() {
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "node-deps.sh")).CombinedOutput()
		if err != nil {
			resumeDeps.err = fmt.Errorf("scripts/node-deps.sh: %w\n%s", err, out)
		}
	})
	require.NoError(t, resumeDeps.err)

	testenv.NoInheritedDescriptors() // node must not keep flock's lock
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{filepath.Join(root, "e2e", "node", "resume.mjs")}, flags...)
	args = append(args, "120000", orderID)
	cmd := exec.CommandContext(ctx, "node", append(args, urls...)...)
	// The token goes in the environment, not on the command line, where
	// any user of the machine could read it.
	cmd.Env = append(os.Environ(), "ORDERFLOW_TOKEN="+token)
	c := &resumeClient{cmd: cmd, events: make(chan resumeEvent, 64), stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.stderr
	c.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = c.wait()
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			e := resumeEvent{line: sc.Text()}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = resumeEvent{Event: "unreadable", line: sc.Text()}
			}
			select {
			case c.events <- e:
			case <-ctx.Done(): // the test is over: read on to the end
			}
		}
		close(c.events)
		err := cmd.Wait() // after the last read: Wait closes stdout
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("node resume.mjs exited %d: %s", exit.ExitCode(), bytes.TrimSpace(c.stderr.Bytes()))
		}
		c.done <- err
	}()
	return c
}

// next returns the client's next event.
func (c *resumeClient) next(t *testing.T) resumeEvent {
	t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			t.Fatalf("resume.mjs ended: %v", c.wait())
		}
		require.NotEqual(t, "unreadable", e.Event, "resume.mjs printed a line that is not JSON: %q", e.line)
		return e
	case <-time.After(90 * time.Second):
		t.Fatalf("no event from resume.mjs within 90s; stderr: %s", c.stderr.Bytes())
		return resumeEvent{}
	}
}

// nextOrder returns the next order the client received, from url's gateway.
func (c *resumeClient) nextOrder(t *testing.T, url string) pushed {
	t.Helper()
	e := c.next(t)
	require.Equal(t, "next", e.Event, "event %s", e.line)
	require.Equal(t, wsURL(url), e.URL)
	return e.Payload.Data.Order
}

// ordersUntilLost returns the orders received from url's gateway until the
// client lost it, and checks that it will resume after the last version
// received.
func (c *resumeClient) ordersUntilLost(t *testing.T, url string) []pushed {
	t.Helper()
	var got []pushed
	for {
		e := c.next(t)
		require.Equal(t, wsURL(url), e.URL, "event %s", e.line)
		switch e.Event {
		case "next":
			got = append(got, e.Payload.Data.Order)
		case "lost":
			t.Logf("resume.mjs lost %s: %s", e.URL, e.Reason)
			return got
		default:
			t.Fatalf("unexpected event %s", e.line)
		}
	}
}

// ordersUntilComplete returns the orders received from url's gateway until
// it completed the subscription.
func (c *resumeClient) ordersUntilComplete(t *testing.T, url string) []pushed {
	t.Helper()
	var got []pushed
	for {
		e := c.next(t)
		require.Equal(t, wsURL(url), e.URL, "event %s", e.line)
		switch e.Event {
		case "next":
			got = append(got, e.Payload.Data.Order)
		case "complete":
			return got
		default:
			t.Fatalf("unexpected event %s", e.line)
		}
	}
}

// requireResubscribed checks that the client subscribed again at url's
// gateway with afterVersion = after.
func (c *resumeClient) requireResubscribed(t *testing.T, url string, after int) {
	t.Helper()
	e := c.next(t)
	require.Equal(t, "resubscribe", e.Event, "event %s", e.line)
	require.Equal(t, wsURL(url), e.URL)
	require.NotNil(t, e.AfterVersion, "resubscribed without a cursor")
	require.Equal(t, after, *e.AfterVersion, "the cursor is the last version received")
}

// release lets a client started with --hold reconnect.
func (c *resumeClient) release(t *testing.T) {
	t.Helper()
	_, err := io.WriteString(c.stdin, "\n")
	require.NoError(t, err)
}

// wait waits for the client to exit: nil once it completed.
func (c *resumeClient) wait() error {
	if err, ok := <-c.done; ok {
		c.exit = err
		close(c.done)
	}
	return c.exit
}

// lockedBuffer is a bytes.Buffer a process writes while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
