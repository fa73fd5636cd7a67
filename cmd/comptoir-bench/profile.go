package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// profileServed runs each scenario chosen with --profile once more against
// the comptoir serve it measured, after its measured run, and records
// through the server's profiler (--debug-listen) a CPU profile of that
// whole run and an execution trace of two seconds in its middle. The
// process profiled is the one measured, on the same machine with the same
// load generator beside it: a server run inside the harness shares one Go
// runtime with the load and behaves differently (twice the checkout rate,
// session 13). The trace shows what the CPU profile cannot: how long a
// goroutine such as SQLite's single writer waited for a CPU, a system call
// or another goroutine (go tool trace, or its -pprof=sched|syscall|sync).
//
// The extra run is not measured; the scenario's keys and message ids are
// its own (engine "<engine>-profile"), so it creates work rather than
// replaying the measured run's.
func (h *harness) profileServed(e *env, debugAddr string) error {
	if err := os.MkdirAll(h.cfg.profileDir, 0o755); err != nil {
		return err
	}
	pe := &env{ctx: e.ctx, engine: e.engine + "-profile", base: e.base, set: e.set, smtp: e.smtp,
		supportAddr: e.supportAddr, dbURL: e.dbURL, openScans: e.openScans}
	for _, sc := range scenarios() {
		if sc.Run == nil || sc.Once || !selected(h.cfg.profile, sc.Name) || e.ctx.Err() != nil {
			continue
		}
		lim := h.limits(sc.Latency)
		base := filepath.Join(h.cfg.profileDir, e.engine+"-"+slug(sc.Name))
		seconds := max(1, int(math.Ceil(lim.Duration.Seconds())))
		h.logf("%s: profiling %s on comptoir serve (%d s)", e.engine, sc.Name, seconds)
		var wg sync.WaitGroup
		var cpuErr, traceErr error
		// after waits until the run's warm-up is over and then d more.
		after := func(d time.Duration) bool {
			select {
			case <-time.After(lim.Warmup + d):
				return true
			case <-e.ctx.Done():
				return false
			}
		}
		wg.Go(func() {
			if after(0) {
				cpuErr = fetchProfile(e.ctx, debugAddr, fmt.Sprintf("profile?seconds=%d", seconds), base+".pprof")
			}
		})
		wg.Go(func() {
			// Two seconds in the middle of the window: the load is steady
			// there, and a trace grows by megabytes a second.
			if after(lim.Duration/2 - time.Second) {
				traceErr = fetchProfile(e.ctx, debugAddr, "trace?seconds=2", base+".trace")
			}
		})
		s, err := sc.Run(pe, lim)
		wg.Wait()
		if err = errors.Join(err, cpuErr, traceErr); err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		var r Row
		s.Fill(&r)
		h.profiles = append(h.profiles, fmt.Sprintf("%s (%s, profiled run: %.0f/s, p99 %.1f ms): go tool pprof -top %s.pprof; go tool trace %s.trace",
			sc.Name, e.engine, r.Throughput, r.P99ms, base, base))
	}
	return nil
}

// fetchProfile saves what the server's profiler answers at
// /debug/pprof/<what> to path.
func fetchProfile(ctx context.Context, debugAddr, what, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+debugAddr+"/debug/pprof/"+what, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("profiler %s: %s: %s", what, res.Status, strings.TrimSpace(string(body)))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var debugAddrRE = regexp.MustCompile(`profiler listening.*\baddr=(\S+)`)

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
