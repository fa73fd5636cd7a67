// Package browsertest drives a real headless Chromium (Debian's package) with
// chromedp: one browser per test package, a fresh incognito-like context per
// test. Without Chromium the tests are skipped on a developer machine and
// fail under CI=true, where a missing tool must never pass silently.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    string
}

func chromiumPath() string {
	if p := os.Getenv("COMPTOIR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New returns a chromedp context for one test, closed when the test ends.
// Every action run on it is bounded by timeout.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	browser.once.Do(func() {
		path := chromiumPath()
		if path == "" {
			browser.err = "chromium not found (install Debian's chromium package, or set COMPTOIR_CHROMIUM)"
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // tests run as root in CI
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.WindowSize(1280, 900),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		// Start the browser now, so that per-test contexts are cheap tabs.
		if err := chromedp.Do(ctx); err != nil {
			browser.err = "start chromium: " + err.Error()
			cancelCtx()
			cancelAlloc()
			return
		}
		browser.ctx = ctx
		browser.cancel = func() { cancelCtx(); cancelAlloc() }
	})
	if browser.err != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(browser.err)
		}
		t.Skip(browser.err)
	}
	// A new browser context per test: its own cookies and storage.
	tabCtx, cancelTab := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tabCtx, timeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// Close stops the shared browser; call it from TestMain after m.Run.
func Close() {
	if browser.cancel != nil {
		browser.cancel()
	}
}
