// Command comptoir-bench measures comptoir against what the machine can do.
//
// For each engine (SQLite, then PostgreSQL on a throw-away cluster started
// with scripts/testenv.sh) it creates a fresh store, bulk-loads a generated
// dataset (internal/benchdata), starts `comptoir serve` as a separate
// process on a loopback port and drives real HTTP traffic at it with an
// in-process load generator (vegeta), each load bounded in time and in
// count. In the same run it measures the baselines every target is a ratio
// of: the database's raw single-row insert rate with comptoir's settings, and
// a bare net/http handler rendering a page of the same size with
// html/template. It prints a table, writes bench-results.json and an SVG
// chart, and says which targets are not met.
//
//	make bench                 # full scale: 100k customers, 1M orders
//	make bench SCALE=small     # a quick look (under three minutes)
//	go run ./cmd/comptoir-bench -h
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"comptoir/internal/benchdata"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bare-http" {
		if err := bareHTTP(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "comptoir-bench bare-http:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	scale          benchdata.Scale
	engines        []string
	duration       time.Duration
	warmup         time.Duration
	concurrency    int
	latencyConc    int
	maxRequests    uint64
	comptoirBin    string
	workDir        string
	keep           bool
	pgURL          string
	testenv        string
	outJSON        string
	outChart       string
	only           map[string]bool
	profile        map[string]bool
	profileDir     string
	failUnmet      bool
	seed           uint64
	serverDeadline time.Duration
	// serverEnv is added to comptoir serve's environment only (not the
	// harness's): GOGC=400, GOMEMLIMIT=… to measure the runtime's settings.
	serverEnv []string
}

// durations per scale: long enough to be steady, short enough that
// SCALE=small finishes in under three minutes.
var defaultDuration = map[string]time.Duration{"tiny": 3 * time.Second, "small": 3 * time.Second, "medium": 10 * time.Second, "full": 20 * time.Second}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("comptoir-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	scale := fs.String("scale", "full", "dataset size: tiny, small, medium, full, or customers=N,orders=N,...")
	engines := fs.String("engines", "sqlite,postgres", "engines to measure, in order")
	fs.DurationVar(&c.duration, "duration", 0, "measured time per scenario (default by scale: tiny 3s, small 3s, medium 10s, full 20s)")
	fs.DurationVar(&c.warmup, "warmup", -1, "unmeasured warm-up per scenario (default a quarter of --duration, at most 2s)")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrent clients for throughput scenarios (and the PostgreSQL insert baseline)")
	fs.IntVar(&c.latencyConc, "latency-concurrency", 4, "concurrent clients for the latency scenarios (order lists, queue)")
	fs.Uint64Var(&c.maxRequests, "max-requests", 2_000_000, "at most this many requests per scenario")
	fs.StringVar(&c.comptoirBin, "comptoir", "", "the comptoir binary (default: built with go build into the work directory)")
	fs.StringVar(&c.workDir, "work-dir", "", "where databases, logs and the PostgreSQL cluster go (default: a new temporary directory)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (databases, server logs) afterwards")
	fs.StringVar(&c.pgURL, "pg-url", "", "an existing loopback PostgreSQL cluster to create the bench databases on (default: start one with --testenv)")
	fs.StringVar(&c.testenv, "testenv", "scripts/testenv.sh", "the script that starts and stops a throw-away PostgreSQL")
	fs.StringVar(&c.outJSON, "json", "bench-results.json", "where to write the results as JSON (empty: do not)")
	fs.StringVar(&c.outChart, "chart", "bench-results.svg", "where to write the chart (empty: do not)")
	only := fs.String("only", "", "comma-separated scenario names (or parts of them) to run; default all")
	profile := fs.String("profile", "", "comma-separated scenarios to run once more after their measurement while comptoir serve records a CPU profile and a 2 s execution trace (e.g. checkout,storefront)")
	fs.StringVar(&c.profileDir, "profile-dir", "bench-profiles", "where profiles and traces go")
	fs.BoolVar(&c.failUnmet, "fail-unmet", false, "exit 3 when a target is not met")
	fs.Uint64Var(&c.seed, "seed", 1, "dataset seed")
	fs.DurationVar(&c.serverDeadline, "server-start-timeout", 2*time.Minute, "how long comptoir serve may take to start")
	serverEnv := fs.String("server-env", "", "comma-separated KEY=VALUE added to comptoir serve's environment only (e.g. GOGC=400)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.scale, err = benchdata.ParseScale(*scale); err != nil {
		return nil, err
	}
	for e := range strings.SplitSeq(*engines, ",") {
		switch e = strings.TrimSpace(e); e {
		case "sqlite", "postgres":
			c.engines = append(c.engines, e)
		case "":
		default:
			return nil, fmt.Errorf("--engines: unknown engine %q (sqlite, postgres)", e)
		}
	}
	if c.duration <= 0 {
		c.duration = defaultDuration[c.scale.Name]
		if c.duration == 0 {
			c.duration = 10 * time.Second
		}
	}
	if c.warmup < 0 {
		c.warmup = min(c.duration/4, 2*time.Second)
	}
	if c.concurrency < 1 || c.latencyConc < 1 || c.maxRequests < 1 {
		return nil, errors.New("--concurrency, --latency-concurrency and --max-requests must be at least 1")
	}
	for kv := range strings.SplitSeq(*serverEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("--server-env: %q is not KEY=VALUE", kv)
		}
		c.serverEnv = append(c.serverEnv, kv)
	}
	c.only = nameSet(*only)
	c.profile = nameSet(*profile)
	return c, nil
}

func nameSet(s string) map[string]bool {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	m := map[string]bool{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
			m[p] = true
		}
	}
	return m
}

// runs reports whether the scenario is to run: selected, and a diagnostic
// only when asked for by --only.
func runs(set map[string]bool, sc scenario) bool {
	if sc.Diagnostic && set == nil {
		return false
	}
	return selected(set, sc.Name)
}

// selected reports whether a scenario name contains one of the set.
func selected(set map[string]bool, name string) bool {
	if set == nil {
		return true
	}
	name = strings.ToLower(name)
	for p := range set {
		if strings.Contains(name, p) {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "comptoir-bench:", err)
		return 2
	}
	h := &harness{cfg: cfg, out: stdout, log: stderr}
	if err := h.setup(ctx); err != nil {
		fmt.Fprintln(stderr, "comptoir-bench:", err)
		h.cleanup()
		return 1
	}
	defer h.cleanup()
	start := time.Now()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			h.loadAvg = strings.Join(f[:3], " ")
		}
	}
	h.logf("scale %s; %d s per scenario after %s warm-up; concurrency %d (latency scenarios %d); %d CPUs; %s",
		cfg.scale, int(cfg.duration.Seconds()), cfg.warmup, cfg.concurrency, cfg.latencyConc, runtime.NumCPU(), runtime.Version())
	for _, engine := range cfg.engines {
		if ctx.Err() != nil {
			break
		}
		if err := h.runEngine(ctx, engine); err != nil {
			h.logf("%s: %v", engine, err)
			h.engineFailed(engine, err)
		}
	}
	h.runOnce(ctx)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "comptoir-bench: interrupted")
		return 130
	}
	h.report(time.Since(start))
	if cfg.failUnmet && h.unmet() > 0 {
		return 3
	}
	return 0
}

// setup makes the work directory and finds or builds comptoir.
func (h *harness) setup(ctx context.Context) error {
	cfg := h.cfg
	if cfg.workDir == "" {
		dir, err := os.MkdirTemp("", "comptoir-bench-")
		if err != nil {
			return err
		}
		cfg.workDir, h.removeWork = dir, !cfg.keep
	} else if err := os.MkdirAll(cfg.workDir, 0o755); err != nil {
		return err
	}
	// PostgreSQL runs as another user when we are root: it must be able
	// to reach its directory inside ours.
	if err := os.Chmod(cfg.workDir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	h.self = self
	if cfg.comptoirBin == "" {
		cfg.comptoirBin = filepath.Join(cfg.workDir, "comptoir")
		h.logf("building comptoir into %s", cfg.comptoirBin)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", cfg.comptoirBin, "./cmd/comptoir")
		cmd.Stdout, cmd.Stderr = h.log, h.log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/comptoir (run from the repository root, or pass --comptoir): %w", err)
		}
	}
	return nil
}

func (h *harness) cleanup() {
	for i := len(h.cleanups) - 1; i >= 0; i-- {
		h.cleanups[i]()
	}
	h.cleanups = nil
	if h.removeWork {
		os.RemoveAll(h.cfg.workDir)
	} else if h.cfg.keep {
		h.logf("work directory kept: %s", h.cfg.workDir)
	}
}
