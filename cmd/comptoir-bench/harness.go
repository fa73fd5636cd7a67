package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the PostgreSQL baseline and databases
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"comptoir/internal/benchdata"
	"comptoir/internal/db"
	"comptoir/internal/smtpsink"
)

// harness runs the whole benchmark and keeps its results.
type harness struct {
	cfg        *config
	out, log   io.Writer
	self       string
	removeWork bool
	// cleanups run at the end, last first, even on failure: servers,
	// the PostgreSQL cluster, databases made on someone else's cluster.
	cleanups []func()

	mu       sync.Mutex
	rows     []Row
	done     map[string]bool // engine + "\x00" + scenario already reported
	cache    baselineCache
	datasets []datasetInfo
	pgURL    string // the cluster, once started
	loadAvg  string
	profiles []string
	// serverErrors are what each engine's server logged at ERROR level.
	serverErrors []string
}

type datasetInfo struct {
	engine string
	set    *benchdata.Dataset
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bench: "+format+"\n", args...)
}

func (h *harness) add(r Row) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = map[string]bool{}
	}
	h.done[r.Engine+"\x00"+r.Scenario] = true
	h.rows = append(h.rows, r)
	return len(h.rows) - 1
}

func (h *harness) limits(latency bool) limits {
	conc := h.cfg.concurrency
	if latency {
		conc = h.cfg.latencyConc
	}
	return limits{Duration: h.cfg.duration, Warmup: h.cfg.warmup, MaxRequests: h.cfg.maxRequests, Concurrency: conc}
}

// comptoir runs a comptoir CLI command to completion.
func (h *harness) comptoir(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, h.cfg.comptoirBin, args...)
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("comptoir %s: %w: %s", args[0], err, clip(strings.TrimSpace(out.String()), 2000))
	}
	return nil
}

// benchSupportAddr is the support address the server is given: where the
// inbound email scenario writes.
const benchSupportAddr = "support@bench.invalid"

// runEngine measures everything that depends on the engine: a fresh store,
// its dataset, the insert baseline, the server and the scenarios.
func (h *harness) runEngine(ctx context.Context, engine string) error {
	cfg := h.cfg
	dir := filepath.Join(cfg.workDir, engine)
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var dbURL, baselineURL string
	switch engine {
	case "sqlite":
		dbURL = "sqlite:" + filepath.Join(dataDir, "comptoir.db")
	case "postgres":
		cluster, err := h.postgres(ctx)
		if err != nil {
			return fmt.Errorf("PostgreSQL could not be started: %w", err)
		}
		if dbURL, err = h.createDatabase(ctx, cluster, "comptoir_bench"); err != nil {
			return err
		}
		if baselineURL, err = h.createDatabase(ctx, cluster, "comptoir_bench_baseline"); err != nil {
			return err
		}
	}

	h.logf("%s: migrating with comptoir migrate", engine)
	if err := h.comptoir(ctx, "migrate", "--database-url", dbURL, "--data-dir", dataDir); err != nil {
		return err
	}
	h.logf("%s: loading %s", engine, cfg.scale)
	d, err := db.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	set, err := benchdata.Load(ctx, d, cfg.scale, benchdata.Options{Seed: cfg.seed, Logf: func(f string, a ...any) {
		h.logf(engine+": "+f, a...)
	}})
	d.Close()
	if err != nil {
		return err
	}
	h.datasets = append(h.datasets, datasetInfo{engine: engine, set: set})
	h.logf("%s: %d rows loaded in %s (%.0f rows/s)", engine, set.RowsTotal(), set.Took.Round(time.Millisecond),
		float64(set.RowsTotal())/set.Took.Seconds())

	if h.wants(baseDBInsert) {
		if err := h.dbBaseline(ctx, engine, dir, baselineURL, 1); err != nil {
			h.logf("%s: insert baseline: %v", engine, err)
		}
	}
	if h.wants(baseDBCheckoutTx) {
		if err := h.dbBaseline(ctx, engine, dir, baselineURL, checkoutTxRows); err != nil {
			h.logf("%s: %d-row transaction baseline: %v", engine, checkoutTxRows, err)
		}
	}

	// The serve process sends its outgoing mail to a relay that reads and
	// drops it, as a real store sends through a relay: without one comptoir
	// writes each message to a file with two fsyncs, which would compete
	// with the database's own flushes and measure the demo set-up.
	sink, err := smtpsink.Start()
	if err != nil {
		return fmt.Errorf("outgoing mail sink: %w", err)
	}
	h.cleanups = append(h.cleanups, func() {
		h.logf("%s: %d messages reached the outgoing mail sink", engine, sink.Received())
		sink.Close()
	})
	h.logf("%s: starting comptoir serve", engine)
	args := []string{"serve", "--database-url", dbURL, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "info",
		"--smtp-listen", "127.0.0.1:0", "--support-address", benchSupportAddr, "--trusted-proxies", benchTrustedProxy,
		"--smtp-relay", sink.URL(),
		// Every client of the inbound mail scenario holds a session, all
		// of them from the loopback address.
		"--smtp-max-connections", strconv.Itoa(max(cfg.concurrency, cfg.latencyConc) + 4),
		"--smtp-max-connections-per-ip", strconv.Itoa(max(cfg.concurrency, cfg.latencyConc) + 4)}
	if len(cfg.profile) > 0 {
		args = append(args, "--debug-listen", "127.0.0.1:0")
	}
	srv, err := startProcess(ctx, "comptoir serve ("+engine+")", cfg.comptoirBin, args, append(cleanEnv(), cfg.serverEnv...),
		filepath.Join(dir, "serve.log"), "comptoir is serving", cfg.serverDeadline)
	if err != nil {
		return err
	}
	h.cleanups = append(h.cleanups, func() { srv.stop() })
	if err := requireLoopback(srv.Addr); err != nil {
		return err
	}
	startup := Row{Scenario: "server start-up", Engine: engine, P50ms: ms(srv.Startup), P99ms: ms(srv.Startup), Available: true,
		Note: fmt.Sprintf("exec to the serving line, on the loaded store; comptoir's own started_in=%s", srv.StartedIn)}
	Target{MillisUnder, 1000}.Judge(&startup)
	h.add(startup)

	e := &env{ctx: ctx, engine: engine, base: "http://" + srv.Addr, set: set, supportAddr: benchSupportAddr, dbURL: dbURL}
	e.openScans = func() (*scanPair, error) { return h.openScanStores(ctx, engine, dir) }
	defer func() {
		if e.scans != nil {
			e.scans.close()
		}
	}()
	if e.smtp, err = waitLoggedAddr(ctx, filepath.Join(dir, "serve.log"), smtpAddrRE, "inbound SMTP listener", 10*time.Second); err != nil {
		h.logf("%s: %v", engine, err)
	}
	var debugAddr string
	if len(cfg.profile) > 0 {
		if debugAddr, err = waitLoggedAddr(ctx, filepath.Join(dir, "serve.log"), debugAddrRE, "profiler", 10*time.Second); err != nil {
			h.logf("%s: %v", engine, err)
		}
	}
	if h.wants(baseBareTemplate) {
		if err := h.bareBaseline(ctx, e); err != nil {
			h.logf("bare template baseline: %v", err)
		}
	}
	type pending struct {
		row int
		sc  scenario
	}
	var verify []pending
	for _, sc := range scenarios() {
		if sc.Once || !runs(cfg.only, sc) || ctx.Err() != nil {
			continue
		}
		if i := h.runScenario(e, srv, sc); i >= 0 && sc.Verify != nil {
			verify = append(verify, pending{i, sc})
		}
	}
	if debugAddr != "" && ctx.Err() == nil {
		if err := h.profileServed(e, debugAddr); err != nil {
			h.logf("%s: profile: %v", engine, err)
		}
	}
	if err := srv.stop(); err != nil {
		h.logf("%s: server did not stop cleanly: %v (see %s)", engine, err, filepath.Join(dir, "serve.log"))
	}
	if msg := srv.errorsLogged(); msg != "" {
		h.mu.Lock()
		h.serverErrors = append(h.serverErrors, engine+": comptoir serve logged "+msg)
		h.mu.Unlock()
	}
	for _, p := range verify {
		note, err := p.sc.Verify(ctx, e, dbURL)
		h.mu.Lock()
		r := &h.rows[p.row]
		if err != nil {
			r.Met = false
			note = "CHECK FAILED: " + err.Error()
		}
		r.addNote(note)
		h.mu.Unlock()
	}
	return nil
}

// wants reports whether a selected scenario needs this baseline.
func (h *harness) wants(baseline string) bool {
	for _, sc := range scenarios() {
		if (sc.Baseline == baseline || sc.Compare == baseline) && sc.NotYet == "" && runs(h.cfg.only, sc) {
			return true
		}
	}
	return false
}

// runScenario measures one scenario and records its row (and its memory
// row); it returns the row's index, or -1.
func (h *harness) runScenario(e *env, srv *server, sc scenario) int {
	row := Row{Scenario: sc.Name, Engine: e.engine, BaselineName: sc.Baseline}
	if sc.NotYet != "" {
		row.Note = "not measured: " + sc.NotYet
		sc.Target.Judge(&row)
		h.add(row)
		if sc.RSSTarget > 0 {
			h.addRSSRow(sc, row)
		}
		return -1
	}
	lim := h.limits(sc.Latency)
	if sc.Once {
		lim.Concurrency = runtime.GOMAXPROCS(0)
	}
	if sc.Serial {
		lim.Concurrency = 1
	}
	row.Concurrency = lim.Concurrency
	if srv != nil {
		if err := srv.resetPeakRSS(); err != nil {
			h.logf("cannot reset peak RSS: %v", err)
		}
	}
	h.logf("%s: %s (%d clients, %s)", e.engine, sc.Name, lim.Concurrency, lim.Duration)
	cpu0, cpuOK := readCPU()
	perRequest := srv.cpuPerRequest()
	sharing := func() string { return "" }
	if srv != nil && sc.Compare == baseDBCheckoutTx {
		sharing = commitSharing(e.ctx, e.base)
	}
	s, err := sc.Run(e, lim)
	if cpu1, ok := readCPU(); ok && cpuOK {
		row.CPUBusyPct = busyPercent(cpu0, cpu1)
	}
	if err != nil {
		row.Note = "failed: " + err.Error()
		sc.Target.Judge(&row)
		return h.add(row)
	}
	s.Fill(&row)
	row.addNote(perRequest(row.Requests+s.Warmup, e.engine))
	row.addNote(sharing())
	if srv != nil {
		if rss, err := srv.peakRSSMB(); err == nil {
			row.PeakRSSMB = rss
		}
	}
	if sc.Baseline != "" {
		key := bareKey(e.engine)
		if sc.Baseline == baseDBInsert {
			key = dbBaselineKey(e.engine, 1)
		}
		if b, ok := h.cache.get(key); ok {
			row.Baseline = b.Throughput
		} else {
			row.addNote("baseline not measured")
		}
	}
	if sc.Compare == baseDBCheckoutTx {
		if b, ok := h.cache.get(dbBaselineKey(e.engine, checkoutTxRows)); ok && b.Throughput > 0 {
			row.addNote(fmt.Sprintf("%.2f× the %s baseline (%.0f/s)", row.Throughput/b.Throughput, baseDBCheckoutTx, b.Throughput))
			if c, ok := sharedCommitCeiling(row.Baseline, b.Throughput, checkoutTxRows); ok {
				row.addNote(fmt.Sprintf("with every commit shared, the rows alone cap %d-row checkouts at about %.0f/s (%.2f× the %s baseline)",
					checkoutTxRows, c, c/row.Baseline, baseDBInsert))
			}
		}
	}
	sc.Target.Judge(&row)
	i := h.add(row)
	if sc.RSSTarget > 0 {
		h.addRSSRow(sc, row)
	}
	h.logf("%s: %s: %.0f/s, p50 %.1f ms, p99 %.1f ms, %d errors, CPU %.0f%% busy", e.engine, sc.Name, row.Throughput, row.P50ms, row.P99ms, row.Errors, row.CPUBusyPct)
	return i
}

func (h *harness) addRSSRow(sc scenario, r Row) {
	m := Row{Scenario: sc.Name + ": server peak RSS", Engine: r.Engine, PeakRSSMB: r.PeakRSSMB, Requests: r.Requests,
		DurationS: r.DurationS, Available: r.Available && r.PeakRSSMB > 0, Note: r.Note}
	if !r.Available {
		m.Note = r.Note
	} else {
		m.Note = "VmHWM of the server process, reset before the scenario"
	}
	Target{PeakRSSUnder, sc.RSSTarget}.Judge(&m)
	h.add(m)
}

// runOnce measures the scenarios that do not depend on an engine.
func (h *harness) runOnce(ctx context.Context) {
	e := &env{ctx: ctx, engine: "-"}
	for _, sc := range scenarios() {
		if !sc.Once || !runs(h.cfg.only, sc) || ctx.Err() != nil {
			continue
		}
		h.runScenario(e, nil, sc)
	}
}

// engineFailed records every scenario the engine did not get to as not
// available, with the reason.
func (h *harness) engineFailed(engine string, err error) {
	for _, sc := range scenarios() {
		if sc.Once || !runs(h.cfg.only, sc) {
			continue
		}
		h.mu.Lock()
		seen := h.done[engine+"\x00"+sc.Name]
		h.mu.Unlock()
		if seen {
			continue
		}
		row := Row{Scenario: sc.Name, Engine: engine, BaselineName: sc.Baseline, Note: "not measured: " + err.Error()}
		sc.Target.Judge(&row)
		h.add(row)
	}
}

// dbBaseline measures the engine's raw insert rate, rows rows per
// transaction (1: the single-row baseline).
func (h *harness) dbBaseline(ctx context.Context, engine, dir, pgURL string, rows int) error {
	lim := h.limits(false)
	row := Row{Engine: engine, Scenario: "baseline: " + baseDBInsert}
	what := "one insert per commit"
	if rows > 1 {
		// A diagnostic: half the time keeps SCALE=small under three minutes.
		lim.Duration /= 2
		row.Scenario = "baseline: " + baseDBCheckoutTx + " (diagnostic)"
		what = fmt.Sprintf("%d inserts per commit (as many rows as a checkout's transaction)", rows)
	}
	var s Sample
	var err error
	cpu0, cpuOK := readCPU()
	switch engine {
	case "sqlite":
		row.Concurrency = 1
		row.Note = "comptoir's settings (db.Open: WAL, synchronous=FULL), " + what + ", one after another"
		h.logf("sqlite: %s (%s)", row.Scenario, lim.Duration)
		s, err = sqliteInsertBaseline(ctx, dir, lim, rows)
	case "postgres":
		row.Concurrency = lim.Concurrency
		row.Note = what + " from Go, " + pgSettings(ctx, pgURL)
		h.logf("postgres: %s (%d clients, %s)", row.Scenario, lim.Concurrency, lim.Duration)
		s, err = postgresInsertBaseline(ctx, pgURL, lim, rows)
	}
	if err != nil {
		return err
	}
	if cpu1, ok := readCPU(); ok && cpuOK {
		row.CPUBusyPct = busyPercent(cpu0, cpu1)
	}
	s.Fill(&row)
	Target{}.Judge(&row)
	h.cache.put(dbBaselineKey(engine, rows), row)
	h.add(row)
	return nil
}

func dbBaselineKey(engine string, rows int) string {
	return fmt.Sprintf("db:%s:%d", engine, rows)
}

// bareBaseline measures the bare template handler, on a page the size of
// comptoir's product page, in a process of its own, right before the
// engine's scenarios: the storefront's ratio compares two rates taken a
// minute apart at most, not one taken before the other engine's whole run
// (the machine's speed drifts that much).
func (h *harness) bareBaseline(ctx context.Context, e *env) error {
	if _, ok := h.cache.get(bareKey(e.engine)); ok {
		return nil
	}
	size, err := pageSize(ctx, e.base+"/shop/"+e.set.Products[0].Slug, nil)
	if err != nil {
		return err
	}
	srv, err := startProcess(ctx, "bare-http", h.self, []string{"bare-http", "--listen", "127.0.0.1:0", "--size", strconv.Itoa(size)}, cleanEnv(),
		filepath.Join(h.cfg.workDir, "bare-http.log"), "bare-http ready", 30*time.Second)
	if err != nil {
		return err
	}
	defer srv.stop()
	base := "http://" + srv.Addr
	got, err := pageSize(ctx, base+"/shop/x", nil)
	if err != nil {
		return err
	}
	lim := h.limits(false)
	srv.resetPeakRSS()
	h.logf("bare template baseline (%d-byte page, %d clients, %s)", got, lim.Concurrency, lim.Duration)
	cpu0, cpuOK := readCPU()
	s := runHTTP(ctx, "bare", func(seq uint64, t *vegeta.Target) {
		t.Method, t.URL = "GET", base+"/shop/bench-service-"+strconv.FormatUint(seq%100, 10)
	}, status(200), false, lim)
	row := Row{Scenario: "baseline: " + baseBareTemplate, Engine: e.engine, Concurrency: lim.Concurrency,
		Note: fmt.Sprintf("a %d-byte page (comptoir's product page: %d bytes), separate process, measured before this engine's scenarios", got, size)}
	if cpu1, ok := readCPU(); ok && cpuOK {
		row.CPUBusyPct = busyPercent(cpu0, cpu1)
	}
	s.Fill(&row)
	if rss, err := srv.peakRSSMB(); err == nil {
		row.PeakRSSMB = rss
	}
	Target{}.Judge(&row)
	h.cache.put(bareKey(e.engine), row)
	h.add(row)
	return nil
}

func bareKey(engine string) string { return "bare:" + engine }

// postgres returns the cluster to use: --pg-url, or a throw-away one
// started with testenv.sh and stopped at the end, whatever happens.
func (h *harness) postgres(ctx context.Context) (string, error) {
	if h.pgURL != "" {
		return h.pgURL, nil
	}
	if h.cfg.pgURL != "" {
		u, err := url.Parse(h.cfg.pgURL)
		if err != nil {
			return "", err
		}
		if err := requireLoopback(u.Host); err != nil {
			return "", fmt.Errorf("--pg-url: %w", err)
		}
		h.pgURL = h.cfg.pgURL
		return h.pgURL, nil
	}
	dir := filepath.Join(h.cfg.workDir, "pg")
	h.logf("postgres: starting a throw-away durable cluster (COMPTOIR_PG_DURABLE=1 %s pg-start %s)", h.cfg.testenv, dir)
	// Registered before the start, so that a half-started cluster is
	// stopped too (pg-stop is a no-op on a directory that is not there).
	h.cleanups = append(h.cleanups, func() {
		cmd := exec.Command("bash", h.cfg.testenv, "pg-stop", dir)
		cmd.Stdout, cmd.Stderr = h.log, h.log
		if err := cmd.Run(); err != nil {
			h.logf("pg-stop %s: %v", dir, err)
		}
	})
	cmd := exec.CommandContext(ctx, "bash", h.cfg.testenv, "pg-start", dir)
	// Durable like a real server (fsync, synchronous commit): the checkout
	// target is about orders durable when acknowledged, and its baseline's
	// inserts must pay for their commits as the orders do.
	cmd.Env = append(os.Environ(), "COMPTOIR_PG_DURABLE=1")
	cmd.Stderr = h.log
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s pg-start: %w", h.cfg.testenv, err)
	}
	h.pgURL = strings.TrimSpace(string(out))
	return h.pgURL, nil
}

// createDatabase makes a new database on the cluster and returns its URL.
// On a cluster the harness did not start, it is dropped at the end,
// unless --keep says to keep it.
func (h *harness) createDatabase(ctx context.Context, cluster, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	admin, err := sql.Open("pgx", cluster)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	if h.cfg.pgURL != "" && !h.cfg.keep {
		h.cleanups = append(h.cleanups, func() {
			admin, err := sql.Open("pgx", cluster)
			if err != nil {
				return
			}
			defer admin.Close()
			admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		})
	}
	u, err := url.Parse(cluster)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// pgSettings says how durable the cluster is, since the throw-away cluster
// of make test trades durability for speed.
func pgSettings(ctx context.Context, url string) string {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return ""
	}
	defer pool.Close()
	var parts []string
	for _, s := range []string{"fsync", "synchronous_commit"} {
		var v string
		if err := pool.QueryRowContext(ctx, `SELECT current_setting($1)`, s).Scan(&v); err == nil {
			parts = append(parts, s+"="+v)
		}
	}
	return "cluster " + strings.Join(parts, ", ")
}

// unmet counts the rows whose target was not met.
func (h *harness) unmet() int {
	n := 0
	for _, r := range h.rows {
		if r.Target != "" && !r.Met {
			n++
		}
	}
	return n
}
