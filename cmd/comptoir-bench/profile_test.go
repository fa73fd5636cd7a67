package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The profiler's address is read from the server's log, loopback only.
func TestWaitLoggedAddrFindsTheProfiler(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := filepath.Join(dir, "serve.log")
	lines := `time=… level=INFO msg="comptoir is serving" addr=127.0.0.1:40001
time=… level=INFO msg="profiler listening" addr=127.0.0.1:40002
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if addr, err := waitLoggedAddr(ctx, log, debugAddrRE, "profiler", time.Second); err != nil || addr != "127.0.0.1:40002" {
		t.Fatalf("profiler at %q (%v)", addr, err)
	}
	if _, err := waitLoggedAddr(ctx, log, smtpAddrRE, "inbound SMTP listener", 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "inbound SMTP listener") {
		t.Fatalf("a listener the log does not name: %v", err)
	}
	if err := os.WriteFile(log, []byte(`msg="profiler listening" addr=192.0.2.7:6060`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := waitLoggedAddr(ctx, log, debugAddrRE, "profiler", time.Second); err == nil {
		t.Fatal("a profiler off loopback was taken")
	}
}

// fetchProfile saves the profiler's answer, and a refusal is an error
// with the profiler's words rather than a file of them.
func TestFetchProfile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/profile" || r.URL.Query().Get("seconds") != "3" {
			http.Error(w, "profile duration exceeds server's WriteTimeout", http.StatusBadRequest)
			return
		}
		w.Write([]byte("\x1f\x8bprofile"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	path := filepath.Join(t.TempDir(), "x.pprof")
	if err := fetchProfile(context.Background(), addr, "profile?seconds=3", path); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, path)); got != "\x1f\x8bprofile" {
		t.Fatalf("saved %q", got)
	}
	err := fetchProfile(context.Background(), addr, "trace?seconds=2", filepath.Join(t.TempDir(), "x.trace"))
	if err == nil || !strings.Contains(err.Error(), "WriteTimeout") {
		t.Fatalf("refused profile: %v", err)
	}
}
