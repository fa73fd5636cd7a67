package app_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/testwait"
)

// cutProxy forwards TCP connections to a server until Cut, which drops
// every connection and answers new ones by closing them (a database
// restarted or a network cut), until Mend.
type cutProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	cut      bool
	// frozen: new connections are held open and never answered (a host
	// that went away, a firewall dropping packets).
	frozen bool
	// silent: every byte, on the connections open and on new ones, is
	// swallowed and nothing comes back, the connections staying open (a
	// host that vanished without closing them).
	silent bool
	conns  map[net.Conn]bool
	// clientClosed counts the connections the client closed while they
	// were silent: it gave up on them.
	clientClosed atomic.Int64
}

func startCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.frozen {
			p.conns[c] = true
			p.mu.Unlock()
			continue
		}
		if p.silent {
			p.conns[c] = true
			p.mu.Unlock()
			go func() { p.forward(io.Discard, c, true); c.Close() }()
			continue
		}
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { p.forward(up, c, true); up.Close(); c.Close() }()
		go func() { p.forward(c, up, false); up.Close(); c.Close() }()
	}
}

// forward copies from src to dst until either fails, swallowing what it
// reads while the proxy is silent. fromClient: src is the client's side.
func (p *cutProxy) forward(dst io.Writer, src net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		silent := p.silent
		p.mu.Unlock()
		if n > 0 && !silent {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if fromClient && silent && errors.Is(err, io.EOF) {
				p.clientClosed.Add(1)
			}
			return
		}
	}
}

// Silence swallows every byte from now on, on the connections open and on
// new ones, which are accepted and never answered. Mend ends it by
// closing them all, as a host that comes back resets the connections it
// no longer knows.
func (p *cutProxy) Silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = true
}

// Cut drops every connection and refuses new ones.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Freeze drops every connection and holds new ones without an answer.
func (p *cutProxy) Freeze() {
	p.Cut()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

// Mend forwards new connections again.
func (p *cutProxy) Mend() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.frozen, p.silent = false, false, false
	for c := range p.conns {
		c.Close() // those held while frozen
	}
	clear(p.conns)
}

// startBehindProxy starts the store on PostgreSQL through a cutProxy.
func startBehindProxy(t *testing.T) (*apptest.Harness, *cutProxy) {
	t.Helper()
	if dbtest.Engine() != db.Postgres {
		t.Skip("PostgreSQL is a server that can go away; SQLite is a file")
	}
	var proxy *cutProxy
	h := apptest.StartWith(t, func(c *config.Config) {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy = startCutProxy(t, u.Host)
		u.Host = proxy.ln.Addr().String()
		c.DatabaseURL = u.String()
	})
	return h, proxy
}

// TestPostgresNotAnswering: with PostgreSQL's host gone silent (connections
// opened but never answered), a request is answered 503 after the connect
// timeout instead of hanging, and all is well once it answers again.
func TestPostgresNotAnswering(t *testing.T) {
	h, proxy := startBehindProxy(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	bearer := h.Bearer(t, u.ID)
	me := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, h.URL+"/api/v1/me", nil)
		req.Header = bearer.Clone()
		// Far past the connect timeout: only reached when the request hangs.
		return (&http.Client{Timeout: 3 * db.PostgresConnectTimeout}).Do(req)
	}
	proxy.Freeze()
	// The pool's idle connections were cut (they fail at once); the
	// request must open a new one.
	h.App.DB.Write.SetMaxIdleConns(0)
	h.App.DB.Write.SetMaxIdleConns(db.DefaultPoolMaxConns())
	start := time.Now()
	resp, err := me()
	if err != nil {
		t.Fatalf("request with PostgreSQL not answering: %v after %v", err, time.Since(start))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("request with PostgreSQL not answering: %d, want 503", resp.StatusCode)
	}
	proxy.Mend()
	testwait.Until(t, "answers once PostgreSQL is back", func() bool {
		resp, err := me()
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestPostgresGoneSilent: PostgreSQL's host vanishes without closing the
// store's open connections (every byte swallowed, nothing back). A request
// on such a connection is answered 503 storage_unavailable within its
// budget instead of hanging for ever, the pool closes the dead connection,
// and once the host answers again requests succeed.
func TestPostgresGoneSilent(t *testing.T) {
	h, proxy := startBehindProxy(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	bearer := h.Bearer(t, u.ID)
	// Far past the request budget (10 s): only reached when the request
	// hangs.
	client := &http.Client{Timeout: time.Minute}
	me := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, h.URL+"/api/v1/me", nil)
		req.Header = bearer.Clone()
		return client.Do(req)
	}
	if resp, err := me(); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("before the silence: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	proxy.Silence()
	start := time.Now()
	resp, err := me()
	if err != nil {
		t.Fatalf("request with PostgreSQL gone silent: %v after %v", err, time.Since(start))
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("request with PostgreSQL gone silent answered after %v, want within the budget", took)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"storage_unavailable"`) {
		t.Fatalf("request with PostgreSQL gone silent: %d %s, want 503 storage_unavailable", resp.StatusCode, body)
	}
	testwait.Until(t, "the pool closes the silent connection the request used", func() bool {
		return proxy.clientClosed.Load() >= 1
	})

	proxy.Mend()
	testwait.Until(t, "answers once PostgreSQL is back", func() bool {
		resp, err := me()
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestPostgresDownThenBack cuts the store from PostgreSQL under traffic:
// requests fail at once with 503 storage_unavailable in the visitor's
// language (not a 500, not a hang), /readyz says not ready while /healthz
// still answers; once the database is back the pool reconnects, requests
// succeed and the background jobs send their mail again.
func TestPostgresDownThenBack(t *testing.T) {
	h, proxy := startBehindProxy(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	bearer := h.Bearer(t, u.ID)
	contact := func(n string) apptest.Response {
		return c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Question " + n}})
	}
	if r := contact("1"); r.Status != http.StatusSeeOther {
		t.Fatalf("contact before the cut: %d %s", r.Status, r.Body)
	}
	h.Mails(t, "ticket_ack", 1)

	proxy.Cut()
	start := time.Now()
	if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, bearer); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"storage_unavailable"`) {
		t.Errorf("API with the database down: %d %s, want 503 storage_unavailable", r.Status, r.Body)
	}
	if r := contact("2"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("form with the database down: %d, want 503", r.Status)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the requests took %v with the database down", d)
	}
	if r := c.Get("/readyz"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d", r.Status)
	}
	if r := c.Get("/healthz"); r.Status != http.StatusOK {
		t.Errorf("/healthz with the database down: %d", r.Status)
	}

	proxy.Mend()
	testwait.Until(t, "/readyz once the database is back", func() bool { return c.Get("/readyz").Status == http.StatusOK })
	if r := contact("3"); r.Status != http.StatusSeeOther {
		t.Fatalf("contact once the database is back: %d %s", r.Status, r.Body)
	}
	if r := c.Send(http.MethodGet, "/api/v1/me", "", nil, bearer); r.Status != http.StatusOK {
		t.Fatalf("API once the database is back: %d %s", r.Status, r.Body)
	}
	// The jobs resumed: the second acknowledgement goes out.
	testwait.Until(t, "the acknowledgement sent after the outage", func() bool {
		var sent int
		h.App.DB.Read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM outgoing_mail WHERE kind = 'ticket_ack' AND status = 'sent'`).Scan(&sent)
		return sent == 2
	})
}
