package app_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
	"comptoir/internal/db"
)

// /metrics is not for the public. Without --metrics-token it answers the
// loopback interface only, and a visitor forwarded by the store's trusted
// reverse proxy is not taken for a local client; with a token, a scraper
// must send it.
func TestMetricsKeptFromThePublic(t *testing.T) {
	get := func(h *apptest.Harness, hdr http.Header) apptest.Response {
		t.Helper()
		return h.NewClient(t).Send(http.MethodGet, "/metrics", "", nil, hdr)
	}
	local := apptest.StartWith(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1/32, ::1" })
	if r := get(local, nil); r.Status != http.StatusOK || !strings.Contains(r.Body, "go_goroutines") {
		t.Fatalf("loopback scraper: %d %.200s", r.Status, r.Body)
	}
	if r := get(local, http.Header{"X-Forwarded-For": {"203.0.113.9"}}); r.Status != http.StatusForbidden || strings.Contains(r.Body, "go_goroutines") {
		t.Fatalf("visitor through the proxy: %d %.200s", r.Status, r.Body)
	}

	const token = "scrape-me-0123456789"
	guarded := apptest.StartWith(t, func(c *config.Config) { c.MetricsToken = token })
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token} {
		r := get(guarded, http.Header{"Authorization": {auth}})
		if r.Status != http.StatusUnauthorized || strings.Contains(r.Body, "go_goroutines") {
			t.Fatalf("Authorization %q: %d %.200s", auth, r.Status, r.Body)
		}
	}
	if r := get(guarded, http.Header{"Authorization": {"Bearer " + token}}); r.Status != http.StatusOK || !strings.Contains(r.Body, "comptoir_http_requests_total") {
		t.Fatalf("scraper with the token: %d %.200s", r.Status, r.Body)
	}
}

// On SQLite the metrics say how many transactions the group commit made
// durable and in how many disk flushes, and how long its single writer
// worked and committed; PostgreSQL has no such counters.
func TestMetricsCountGroupCommits(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1/32, ::1" })
	h.User(t, "customer", "metrics@example.org") // a write or more
	r := h.NewClient(t).Get("/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("metrics: %d", r.Status)
	}
	value := func(name string) (float64, bool) {
		for line := range strings.Lines(r.Body) {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return f, err == nil
			}
		}
		return 0, false
	}
	commits, ok1 := value("comptoir_db_commits_total")
	txs, ok2 := value("comptoir_db_committed_transactions_total")
	busy, ok3 := value("comptoir_db_writer_busy_seconds_total")
	committing, ok4 := value("comptoir_db_commit_seconds_total")
	if h.App.DB.Engine == db.Postgres {
		if ok1 || ok2 || ok3 || ok4 {
			t.Fatalf("PostgreSQL shows group-commit counters:\n%s", r.Body)
		}
		return
	}
	if !ok1 || !ok2 || commits < 1 || txs < commits {
		t.Fatalf("commits %v (%v), transactions %v (%v)", commits, ok1, txs, ok2)
	}
	if !ok3 || !ok4 || committing <= 0 || busy < committing {
		t.Fatalf("writer busy %v s (%v), of which committing %v s (%v)", busy, ok3, committing, ok4)
	}
}

// The profiler is never on the store's own address (importing
// net/http/pprof registers it on http.DefaultServeMux, which the store
// does not use): only --debug-listen serves it.
func TestStoreAddressServesNoProfiler(t *testing.T) {
	h := apptest.Start(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/profile?seconds=1"} {
		if r := h.NewClient(t).Get(path); r.Status == http.StatusOK {
			t.Fatalf("%s on the store's address: %d %.200s", path, r.Status, r.Body)
		}
	}
}
