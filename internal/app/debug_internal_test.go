package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// The profiler answers on its own loopback listener: the index, and a CPU
// profile of the running process (gzip-compressed protobuf).
func TestServeDebugServesTheProfiler(t *testing.T) {
	ln, err := ListenDebug("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveDebug(ln, slog.New(slog.DiscardHandler))
	defer srv.Shutdown(context.Background())
	addr := ln.Addr().String()
	get := func(path string) (int, []byte) {
		t.Helper()
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, body
	}
	if code, body := get("/debug/pprof/"); code != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("index: %d %.200s", code, body)
	}
	if code, body := get("/debug/pprof/profile?seconds=1"); code != http.StatusOK || !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		t.Fatalf("CPU profile: %d %.200q", code, body)
	}
	if code, _ := get("/"); code != http.StatusNotFound {
		t.Fatalf("/ on the profiler's listener: %d, want 404", code)
	}
	// A taken address is a configuration error (exit 2), named.
	if _, err := ListenDebug(addr); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("second listener on %s: %v", addr, err)
	}
}
