package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/app"
	"comptoir/internal/testlog"
	"comptoir/internal/testwait"
)

// A request still in flight when the graceful stop's delay ends (here a
// client sending its request slowly; in a store, a large download) is cut
// and serve exits 0, having said so, as it does when everything finished
// in time: the stop was asked for and done. It exited 1 with the one line
// "comptoir: context deadline exceeded", which said neither what nor why,
// and a service manager took the store for failed.
func TestShutdownCutsWhatOutlastsItsDelay(t *testing.T) {
	serveOptionsHook = func(o *app.Options) { o.ShutdownWait = 300 * time.Millisecond }
	t.Cleanup(func() { serveOptionsHook = nil })
	env := storeEnv(t)
	port := freePort(t)
	base := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, errOut testlog.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", base}, &out, &errOut, func(k string) string { return env[k] })
	}()
	testwait.For(t, 30*time.Second, "serve answering", func() bool {
		resp, err := http.Get("http://" + base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	conn, err := net.Dial("tcp", base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The request waits for "100 Continue" before its body: once it came,
	// the server has the request and its handler is reading the body, so
	// the stop finds it in flight (a stop sent sooner could close the
	// listener before the server accepted the connection at all).
	if _, err := io.WriteString(conn, "POST /contact HTTP/1.1\r\nHost: shop\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 100 ") {
		t.Fatalf("the server's first answer: %q, %v; want 100 Continue", status, err)
	}
	if _, err := io.WriteString(conn, "name=Ana"); err != nil {
		t.Fatal(err)
	}
	stop() // SIGTERM
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve still running 30 s after the stop")
	}
	logs := errOut.String()
	if code != 0 || strings.Contains(logs, "comptoir: ") {
		t.Fatalf("serve stopped with %d, want 0:\n%s", code, logs)
	}
	for _, want := range []string{`msg="stopping: finishing the requests in flight`, `level=WARN msg="requests still in flight at the end of the shutdown delay were cut"`, `msg="comptoir stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log says nothing like %s:\n%s", want, logs)
		}
	}
}

// serveUntilStopped runs serve with args until it answers, stops it as
// SIGTERM does, and returns what it logged.
func serveUntilStopped(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	base := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, errOut testlog.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", base}, args...), &out, &errOut, func(k string) string { return env[k] })
	}()
	testwait.For(t, 30*time.Second, "serve answering", func() bool {
		resp, err := http.Get("http://" + base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d:\n%s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve still running 30 s after the stop")
	}
	return errOut.String()
}

// At the default level the log says what the store does (serving, where
// mail goes, stopping), not how its job queue works: River wrote its own
// notes there ("River client started", every minute "producer: Producer
// job counts", and on PostgreSQL "Driver does not support listener;
// entering poll only mode", which reads like a fault). They are debug
// notes now; River's warnings and errors stay.
func TestServeLogsItsOwnStepsNotTheJobQueues(t *testing.T) {
	env := storeEnv(t)
	logs := serveUntilStopped(t, env)
	for _, want := range []string{`level=INFO msg="comptoir is serving"`, `level=INFO msg="comptoir stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log says nothing like %s:\n%s", want, logs)
		}
	}
	// The store's own mistakes are said once, at start-up.
	if n := strings.Count(logs, `level=WARN msg="--seller-address, --seller-registration, --seller-vat-number not set: invoices`); n != 1 {
		t.Errorf("the missing seller settings said %d times, want once:\n%s", n, logs)
	}
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=INFO") && (strings.Contains(l, "River") || strings.Contains(l, "Driver") || strings.Contains(l, "producer")) {
			t.Errorf("the job queue's own note at the default level: %s", l)
		}
	}
	if logs := serveUntilStopped(t, env, "--log-level", "debug"); !strings.Contains(logs, `level=DEBUG msg="River client started"`) {
		t.Errorf("--log-level debug does not show the job queue's notes:\n%s", logs)
	}
}
