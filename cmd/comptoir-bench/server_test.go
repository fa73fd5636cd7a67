package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"comptoir/internal/testwait"
)

// The harness counts the ERROR lines a server logs: a job that panicked
// in the background answers no request and would otherwise go unseen.
func TestServerErrorLinesCounted(t *testing.T) {
	script := `echo "comptoir is serving listen=127.0.0.1:1"
echo "time=x level=INFO msg=fine"
echo "time=x level=ERROR msg=\"jobexecutor: panic recovery\" kind=mail.send_batch"
echo "time=x level=ERROR msg=second"
exec sleep 30`
	srv, err := startProcess(context.Background(), "fake", "/bin/sh", []string{"-c", script}, cleanEnv(),
		filepath.Join(t.TempDir(), "serve.log"), "comptoir is serving", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	testwait.Until(t, "the two ERROR lines", func() bool { return srv.errorLines.Load() == 2 })
	got := srv.errorsLogged()
	if !strings.HasPrefix(got, "2 ERROR line(s)") || !strings.Contains(got, "panic recovery") {
		t.Fatalf("errorsLogged = %q", got)
	}
}

func TestParseCommitCounters(t *testing.T) {
	page := "# HELP comptoir_db_commits_total SQLite commits.\n# TYPE comptoir_db_commits_total counter\n" +
		"comptoir_db_commits_total 1234\ncomptoir_db_committed_transactions_total 1.5e+06\ngo_goroutines 12\n" +
		"comptoir_db_writer_busy_seconds_total 8.5\ncomptoir_db_commit_seconds_total 0.25\n"
	if v, ok := parseCommitCounters(page); !ok || v != (commitCounts{1234, 1.5e6, 8.5, 0.25}) {
		t.Fatalf("%v %v", v, ok)
	}
	// PostgreSQL's page has neither.
	if _, ok := parseCommitCounters("go_goroutines 12\n"); ok {
		t.Fatal("counters found where there are none")
	}
	if _, ok := parseCommitCounters("comptoir_db_commits_total x\ncomptoir_db_committed_transactions_total 1\n" +
		"comptoir_db_writer_busy_seconds_total 1\ncomptoir_db_commit_seconds_total 1\n"); ok {
		t.Fatal("a malformed value was taken")
	}
}

// --server-env reaches comptoir serve's environment, and only as KEY=VALUE.
func TestServerEnv(t *testing.T) {
	c, err := parseFlags([]string{"--server-env", "GOGC=400, GOMEMLIMIT=100MiB"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.serverEnv, " "); got != "GOGC=400 GOMEMLIMIT=100MiB" {
		t.Fatalf("serverEnv = %q", got)
	}
	if _, err := parseFlags([]string{"--server-env", "GOGC"}, io.Discard); err == nil {
		t.Fatal("--server-env GOGC accepted without a value")
	}
	log := filepath.Join(t.TempDir(), "serve.log")
	srv, err := startProcess(context.Background(), "fake", "/bin/sh", []string{"-c", `echo "comptoir is serving listen=127.0.0.1:1 gogc=$GOGC"; exec sleep 30`},
		append(cleanEnv(), c.serverEnv...), log, "comptoir is serving", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv.stop()
	b, err := os.ReadFile(log)
	if err != nil || !strings.Contains(string(b), "gogc=400") {
		t.Fatalf("the process's log %q (%v) shows no GOGC=400", b, err)
	}
}
