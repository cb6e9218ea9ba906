package clients

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which scripts/browser.sh installs; test
// tools cannot download a browser of their own here.
const chromiumPath = "/usr/bin/chromium"

var browserDeps setup

// BrowserOption tunes CheckGraphiQL.
type BrowserOption func(*browserConfig)

type browserConfig struct {
	screenshot string
	timeout    time.Duration
}

// ScreenshotTo saves a full-page PNG of GraphiQL to path once the result is
// shown, or when the check fails, for a person to look at.
func ScreenshotTo(path string) BrowserOption {
	return func(c *browserConfig) { c.screenshot = path }
}

// BrowserTimeout bounds the steps in the page, from loading it to reading the
// result (default 90 s). ctx bounds the whole check, browser start included.
func BrowserTimeout(d time.Duration) BrowserOption {
	return func(c *browserConfig) { c.timeout = d }
}

// JavaScript run in the page. CodeMirror 5 (which GraphiQL 4 edits with)
// hangs its instance on the wrapper element as .CodeMirror.
const (
	jsQueryText = `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()`
	// The result once it is final: shown, and the execute button no longer
	// says "Stop" (a subscription shows each payload, then stops on completion).
	jsFinalResult = `(() => {
		const cm = document.querySelector('.graphiql-response .CodeMirror');
		const button = document.querySelector('.graphiql-execute-button');
		if (!cm || !cm.CodeMirror || !button) return false;
		const text = cm.CodeMirror.getValue();
		if (text.trim() === '' || /^Stop/.test(button.getAttribute('aria-label') || '')) return false;
		return text;
	})()`
	jsPageText = `document.body ? document.body.innerText.slice(0, 2000) : ''`
)

// CheckGraphiQL opens GraphiQL at baseURL+"/" in a headless Chromium, as a
// person would: it loads the page with query in the editor (GraphiQL reads the
// ?query= parameter), clicks the execute button and waits until the result
// pane shows the final result. For a subscription that is the last payload,
// once the server completed it.
//
// It returns the result pane's text and the URL of every request the page
// made, in order: the page, scripts, styles, fetch/XHR (the introspection
// query and the operation) and websockets (ws://…). data: and blob: URLs are
// left out: they are not network requests. A test asserts that all of them go
// to the gateway, which proves GraphiQL works offline. What the page logged as
// an error (an exception, a console error, a blocked load) goes to t.Logf.
func CheckGraphiQL(ctx context.Context, t testing.TB, baseURL, query string, opts ...BrowserOption) (resultText string, requests []string, err error) {
	t.Helper()
	cfg := browserConfig{timeout: 90 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if err := browserDeps.run(ctx, t, "browser.sh"); err != nil {
		return "", nil, err
	}

	logs := &guardedLog{logf: t.Logf}
	defer logs.close() // chromedp may still report while it shuts down
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logs.printf))
	defer cancelBrowser()

	var (
		mu   sync.Mutex
		seen []string
	)
	record := func(u string) {
		if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:") {
			return
		}
		mu.Lock()
		seen = append(seen, u)
		mu.Unlock()
	}
	// Listen starts the browser and opens the tab. chromedp ties the browser's
	// life to the context of that first call, so it gets no timeout of its own;
	// the steps below do.
	err = chromedp.Listen(browserCtx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			record(ev.Request.URL)
		case *network.EventWebSocketCreated:
			record(ev.URL)
		case *runtime.EventExceptionThrown:
			logs.printf("graphiql page: uncaught %s", describeException(ev.ExceptionDetails))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				logs.printf("graphiql page: console.error: %s", describeArgs(ev.Args))
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				logs.printf("graphiql page: %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
	})
	if err != nil {
		return "", nil, fmt.Errorf("start %s: %w", chromiumPath, err)
	}
	requestsSoFar := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}

	stepCtx, cancelSteps := context.WithTimeout(browserCtx, cfg.timeout)
	defer cancelSteps()
	pageURL := strings.TrimSuffix(baseURL, "/") + "/?query=" + url.QueryEscape(query)
	resultText, err = runGraphiQL(stepCtx, pageURL, query)
	if err != nil {
		err = fmt.Errorf("graphiql at %s: %w", baseURL, err)
		if errors.Is(stepCtx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (gave up after %s)", err, cfg.timeout)
		}
		t.Logf("graphiql page text when it failed:\n%s", pageText(browserCtx))
	}
	if cfg.screenshot != "" {
		if shotErr := screenshot(browserCtx, cfg.screenshot); shotErr != nil {
			t.Logf("graphiql screenshot: %v", shotErr)
		} else {
			t.Logf("graphiql screenshot: %s", cfg.screenshot)
		}
	}
	return resultText, requestsSoFar(), err
}

// runGraphiQL is what a person does: open the page, see the query in the
// editor, press the play button, read the result.
func runGraphiQL(ctx context.Context, pageURL, query string) (string, error) {
	err := chromedp.Do(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-query-editor .CodeMirror`)),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-execute-button`)),
	)
	if err != nil {
		return "", fmt.Errorf("wait for the editor: %w", err)
	}
	inEditor, err := chromedp.Run(ctx, chromedp.Evaluate[string](jsQueryText))
	if err != nil {
		return "", fmt.Errorf("read the query editor: %w", err)
	}
	if strings.TrimSpace(inEditor) != strings.TrimSpace(query) {
		return "", fmt.Errorf("the query editor holds %q, not the query passed in ?query=", inEditor)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.graphiql-execute-button`))); err != nil {
		return "", fmt.Errorf("click execute: %w", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Poll[string](jsFinalResult,
		chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(0), // ctx bounds it
	))
	if err != nil {
		return "", fmt.Errorf("wait for the result: %w", err)
	}
	return text, nil
}

// pageText is what a person would read on the page, to tell a page that never
// loaded from one that shows an error.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](jsPageText))
	if err != nil {
		return fmt.Sprintf("(unavailable: %v)", err)
	}
	return text
}

func screenshot(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if len(png) == 0 {
		return errors.New("capture: empty image")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func describeException(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

func describeArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// guardedLog forwards to t.Logf until close: testing panics on a Logf after
// the test returned, and the browser's goroutines may report after that.
type guardedLog struct {
	mu     sync.Mutex
	closed bool
	logf   func(string, ...any)
}

func (g *guardedLog) printf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.logf(format, args...)
	}
}

func (g *guardedLog) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
