// Package apptest starts the whole application for a test: a fresh database
// on the run's engine, every service, the job workers, and a real HTTP
// server on loopback. Tests then talk to it as a browser or an API client
// would.
package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/clock"
	"comptoir/internal/config"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/mail"
	"comptoir/internal/testwait"
)

// Harness is a running store.
type Harness struct {
	App    *app.App
	Server *httptest.Server
	Clock  *clock.Manual
	URL    string
}

// Start runs a store for the test and stops it when the test ends. The clock
// starts at a fixed moment and moves only when the test says so.
func Start(t testing.TB) *Harness { return StartWith(t, nil) }

// StartWith is Start with a chance to change the configuration first (to
// turn card payments on against stripe-mock, for example).
//
// With card payments on, a request that waits for a payment's Checkout
// page (made by a job) waits up to testwait.Default, not the 5 s a
// customer is given: on a loaded machine the job can take longer, and the
// wait ends as soon as the page exists. A test of what a customer sees
// when it does not come in time shortens it (CheckoutWait).
func StartWith(t testing.TB, configure func(*config.Config), opts ...Option) *Harness {
	t.Helper()
	return start(t, configure, nil, opts)
}

// Option changes how a store is started.
type Option func(*app.Options)

// CheckoutWait is how long a request waits for a payment's Checkout page
// (web.Deps.CheckoutWait).
func CheckoutWait(d time.Duration) Option {
	return func(o *app.Options) { o.CheckoutWait = d }
}

// StartLogged is StartWith that also copies every log record, from debug
// up, to w (to check what the logs say, or do not say).
func StartLogged(t testing.TB, configure func(*config.Config), w io.Writer) *Harness {
	t.Helper()
	return start(t, configure, w, nil)
}

func start(t testing.TB, configure func(*config.Config), logTo io.Writer, opts []Option) *Harness {
	t.Helper()
	_, dbURL := dbtest.OpenURL(t)
	cfg := &config.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: dbURL,
		SupportAddress: "support@shop.test", StoreName: "Comptoir Test", LogLevel: "info",
		// The assertions on times were written in UTC; a test of the
		// store's zone sets Zone in its configure.
		Zone: "UTC",
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + srv.Listener.Addr().String()
	if configure != nil {
		configure(cfg)
	}
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	// Warnings and errors of the server go to the test's log, so a 500 in
	// a test says why.
	var logger *slog.Logger
	if _, fuzzing := t.(*testing.F); fuzzing {
		// A fuzz target may not log through its *testing.F; its failures
		// say what went wrong by themselves.
		logger = slog.New(slog.DiscardHandler)
	} else {
		logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if logTo != nil {
		logger = slog.New(teeHandler{logger.Handler(), slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelDebug})})
	}
	o := app.Options{
		Clock: clk, Workers: true, PasswordParams: &account.FastHashParams, Logger: logger,
		RescueStuckJobsAfter: 3 * time.Minute,
	}
	if cfg.StripeSecretKey != "" {
		o.CheckoutWait = testwait.Default // see StartWith
	}
	for _, opt := range opts {
		opt(&o)
	}
	a, err := app.Open(ctx, cfg, o)
	if err != nil {
		cancel()
		t.Fatalf("open app: %v", err)
	}
	if err := a.StartWorkers(ctx); err != nil {
		t.Fatalf("start workers: %v", err)
	}
	srv.Config.Handler = a.Web.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		a.StopWorkers(stopCtx)
		cancel()
		a.Close()
	})
	// Run first (cleanups run last first), while the store is open.
	t.Cleanup(func() {
		if t.Failed() {
			logBackground(t, a)
		}
	})
	return &Harness{App: a, Server: srv, Clock: clk, URL: srv.URL}
}

// logBackground says, for a failed test, where the background work stood
// when it ended: the card payments and the jobs not completed. A test
// that waited in vain (for a Checkout page, a mail) then says whether the
// job never ran, failed and waits for a retry, or is running still.
func logBackground(t testing.TB, a *app.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range []struct{ what, query string }{
		{"card payments", `SELECT id || ' ' || status || ' page=' || CASE WHEN checkout_url <> '' THEN 'made' ELSE 'none' END ||
			' last_error=' || last_error FROM card_payments ORDER BY id`},
		{"jobs not completed", `SELECT CAST(id AS TEXT) || ' ' || kind || ' ' || state || ' attempt=' || CAST(attempt AS TEXT) ||
			' errors=' || COALESCE(CAST(errors AS TEXT), '') FROM river_job WHERE state <> 'completed' ORDER BY id`},
	} {
		rows, err := db.Strings(ctx, a.DB.Read, q.query)
		if err != nil {
			t.Logf("%s: %v", q.what, err)
			continue
		}
		if len(rows) > 30 {
			rows = append(rows[:30], fmt.Sprintf("and %d more", len(rows)-30))
		}
		for i, r := range rows {
			if len(r) > 400 {
				rows[i] = strings.ToValidUTF8(r[:400], "") + "…"
			}
		}
		t.Logf("%s at the end of the test:\n\t%s", q.what, strings.Join(rows, "\n\t"))
	}
}

// teeHandler sends each record to both handlers, each at its own level.
type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.a.Enabled(ctx, l) || h.b.Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.a.Enabled(ctx, r.Level) {
		h.a.Handle(ctx, r.Clone())
	}
	if h.b.Enabled(ctx, r.Level) {
		return h.b.Handle(ctx, r)
	}
	return nil
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(as), h.b.WithAttrs(as)}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{h.a.WithGroup(name), h.b.WithGroup(name)}
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client is a browser-like HTTP client: it keeps cookies and does not follow
// redirects, so tests can assert on them.
type Client struct {
	*http.Client
	base string
	t    testing.TB
	// Lang, when set, is sent as Accept-Language.
	Lang string
	// UserAgent, when set, is sent as User-Agent.
	UserAgent string
}

// NewClient makes a client with an empty cookie jar.
func (h *Harness) NewClient(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{
		Client: &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		base: h.URL, t: t,
	}
}

// Response is a read response.
type Response struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (c *Client) do(req *http.Request) Response {
	c.t.Helper()
	if c.Lang != "" {
		req.Header.Set("Accept-Language", c.Lang)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read %s: %v", req.URL, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}
}

// Get fetches a path.
func (c *Client) Get(path string) Response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// PostForm submits a form as a same-origin browser page would.
func (c *Client) PostForm(path string, form url.Values) Response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// Send sends any request, relative to the server.
func (c *Client) Send(method, path, contentType string, body io.Reader, header http.Header) Response {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return c.do(req)
}

// Password is the password of every user made by User.
const Password = "correct horse battery"

// User creates a user with the role (a consumer in Lyon, France, for
// customers) and returns it with a client signed in as them.
func (h *Harness) User(t testing.TB, role, email string) (account.User, *Client) {
	t.Helper()
	u, err := h.App.Accounts.CreateUser(context.Background(), account.CreateUserInput{
		Email: email, Role: role, Password: Password, Language: "fr", Name: "Test " + role, Country: "FR", City: "Lyon",
	})
	if err != nil {
		t.Fatalf("create %s %s: %v", role, email, err)
	}
	c := h.NewClient(t)
	r := c.PostForm("/signin", url.Values{"email": {email}, "password": {Password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, r.Status)
	}
	return u, c
}

// Bearer returns an API token for the user.
func (h *Harness) Bearer(t testing.TB, userID string) http.Header {
	t.Helper()
	token, _, err := h.App.Accounts.CreateToken(context.Background(), userID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

// Mails waits until the outbox holds at least n messages of kind, some of
// which a background job queues (a password reset's), and returns them,
// newest first.
func (h *Harness) Mails(t testing.TB, kind string, n int) []mail.Stored {
	t.Helper()
	var msgs []mail.Stored
	testwait.Until(t, fmt.Sprintf("%d %s mails", n, kind), func() bool {
		var err error
		if msgs, err = h.App.Outbox.List(context.Background(), mail.Filter{Kind: kind}); err != nil {
			t.Fatal(err)
		}
		return len(msgs) >= n
	})
	return msgs
}
