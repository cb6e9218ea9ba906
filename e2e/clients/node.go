// Package clients drives third-party GraphQL clients against a running
// gateway, so end-to-end tests check the gateway with implementations it did
// not write: the npm graphql-ws client under Node (node.go) and GraphiQL in a
// headless Chromium (browser.go).
//
// Each helper installs what it needs on first use, once per test process:
// scripts/node-deps.sh (npm packages of e2e/node) and scripts/browser.sh
// (Debian's chromium).
package clients

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/platform/testenv"
)

// setup runs one install script at most once per process and remembers its
// outcome, so every test after a failed install fails with the same reason.
type setup struct {
	once sync.Once
	err  error
}

func (s *setup) run(ctx context.Context, t testing.TB, script string) error {
	t.Helper()
	s.once.Do(func() {
		root, err := testenv.FindRepoRoot()
		if err != nil {
			s.err = fmt.Errorf("find repo root: %w", err)
			return
		}
		out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", script)).CombinedOutput()
		t.Logf("scripts/%s:\n%s", script, strings.TrimSpace(string(out)))
		if err != nil {
			s.err = fmt.Errorf("scripts/%s: %w", script, err)
		}
	})
	return s.err
}

var nodeDeps setup

// NodeSubscribe subscribes to orderStatusChanged(orderID) at wsURL (for
// example ws://127.0.0.1:8080/graphql) with the npm graphql-ws client over the
// graphql-transport-ws protocol, and returns every payload the server sent, in
// order, once the server completed the subscription. Each payload is the
// protocol's `next` payload: {"data":{"orderStatusChanged":{"id","status",
// "version","payment":{"status"}}}}.
//
// It fails when the subscription errs, a payload carries errors, or the server
// has not completed it within timeout; the payloads received until then are
// returned with the error. It blocks: start it in a goroutine to act on the
// order while it listens.
func NodeSubscribe(ctx context.Context, t testing.TB, wsURL, token, orderID string, timeout time.Duration) ([]json.RawMessage, error) {
	t.Helper()
	if err := nodeDeps.run(ctx, t, "node-deps.sh"); err != nil {
		return nil, err
	}
	root, err := testenv.FindRepoRoot()
	if err != nil {
		return nil, fmt.Errorf("find repo root: %w", err)
	}

	// The script enforces timeout itself and says so; the context is a backstop.
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "e2e", "node", "subscribe.mjs"),
		wsURL, orderID, strconv.FormatInt(timeout.Milliseconds(), 10))
	// The token goes in the environment, not on the command line, where
	// any user of the machine could read it.
	cmd.Env = append(os.Environ(), "ORDERFLOW_TOKEN="+token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	var payloads []json.RawMessage
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return payloads, fmt.Errorf("subscribe.mjs printed a line that is not JSON: %q", line)
		}
		payloads = append(payloads, json.RawMessage(bytes.Clone(line)))
	}
	if err := sc.Err(); err != nil {
		return payloads, fmt.Errorf("read subscribe.mjs output: %w", err)
	}

	msg := strings.TrimSpace(stderr.String())
	if runErr != nil {
		var exit *exec.ExitError
		if errors.As(runErr, &exit) {
			return payloads, fmt.Errorf("node subscribe.mjs exited %d after %d payload(s): %s",
				exit.ExitCode(), len(payloads), msg)
		}
		return payloads, fmt.Errorf("node subscribe.mjs: %w", runErr)
	}
	t.Logf("node subscribe.mjs %s %s: %s", wsURL, orderID, msg)
	return payloads, nil
}
