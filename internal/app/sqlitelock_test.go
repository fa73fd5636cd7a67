package app_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/apptest"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
)

// sqliteShell is the sqlite3 command-line shell running on the store's
// file, as an operator would run it beside the server.
type sqliteShell struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startSQLiteShell(t *testing.T, path string) *sqliteShell {
	t.Helper()
	bin, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 shell to hold the database's write lock from another process")
	}
	cmd := exec.Command(bin, path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sqliteShell{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	// Wait for the store's own short transactions (its jobs) rather than
	// fail, and stop at the first error: a statement the test relies on
	// must have run.
	s.run(t, ".timeout 10000\n.bail on")
	return s
}

// run sends statements and waits until the shell has run them.
func (s *sqliteShell) run(t *testing.T, statements string) {
	t.Helper()
	if _, err := io.WriteString(s.in, statements+"\nSELECT 'done';\n"); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := s.out.ReadString('\n')
		if err != nil {
			t.Fatalf("sqlite3 shell: %v", err)
		}
		if strings.TrimSpace(line) == "done" {
			return
		}
	}
}

// TestSQLiteLockedByAnotherProcess: another process (the sqlite3 shell)
// holds the database's write lock. Requests that write, several at once
// beside the background jobs, are each answered 503 storage_unavailable
// within the request budget (ten seconds), not after a minute behind one
// another's lock waits; a request that only reads is served; a request
// that meets a lock given back soon goes through; and once the lock is
// given back writes go through.
func TestSQLiteLockedByAnotherProcess(t *testing.T) {
	if dbtest.Engine() != db.SQLite {
		t.Skip("a file lock held by another process is SQLite's; PostgreSQL locks rows")
	}
	h := apptest.Start(t)
	p, u := checkoutFixture(t, h)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	if r := placeOrder(c, auth, p.ID); r.Status != http.StatusCreated {
		t.Fatalf("order before the lock: %d %s", r.Status, r.Body)
	}

	shell := startSQLiteShell(t, h.App.DB.Path)
	shell.run(t, "BEGIN IMMEDIATE;")
	// Far below the minute it took, above the budget with room for a
	// loaded machine to answer.
	const within = 14 * time.Second
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			start := time.Now()
			r := placeOrder(c, auth, p.ID)
			took := time.Since(start)
			if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"storage_unavailable"`) {
				t.Errorf("order %d with the file locked: %d %s, want 503 storage_unavailable", i, r.Status, r.Body)
			}
			if took > within {
				t.Errorf("order %d with the file locked answered after %v, want within %v", i, took, within)
			}
		})
	}
	wg.Wait()
	if r := c.Send(http.MethodGet, "/api/v1/orders", "", nil, auth); r.Status != http.StatusOK {
		t.Errorf("reading orders with the file locked: %d %s", r.Status, r.Body)
	}

	// A lock given back while a request waits on it: the request goes
	// through.
	sent := make(chan struct{})
	answered := make(chan apptest.Response, 1)
	go func() {
		body := `{"lines":[{"product_id":"` + p.ID + `","quantity":1}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true}}`
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/orders", strings.NewReader(body))
		req.Header = auth.Clone()
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) },
		}))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- apptest.Response{Body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- apptest.Response{Status: resp.StatusCode, Body: string(b)}
	}()
	<-sent
	shell.run(t, "COMMIT;")
	if r := <-answered; r.Status != http.StatusCreated {
		t.Fatalf("order meeting a lock given back: %d %s", r.Status, r.Body)
	}
	if r := placeOrder(c, auth, p.ID); r.Status != http.StatusCreated {
		t.Fatalf("order once the lock is given back: %d %s", r.Status, r.Body)
	}
}
