package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"comptoir/internal/app"
	comptoirconfig "comptoir/internal/config"
)

// profileEngine CPU-profiles the selected scenarios on a comptoir server
// run inside the harness (comptoir serve has no profiling endpoint), on the
// same store, after the measured run. The profile also holds the load
// generator's own work: read it for comptoir's packages.
func (h *harness) profileEngine(ctx context.Context, e *env, dbURL, dataDir string) error {
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := comptoirconfig.Register(fs)
	sink, err := startMailSink()
	if err != nil {
		return err
	}
	defer sink.close()
	if err := fs.Parse([]string{"--database-url", dbURL, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--trusted-proxies", benchTrustedProxy,
		"--smtp-relay", sink.URL()}); err != nil {
		return err
	}
	if err := cfg.Resolve(); err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, app.Options{Workers: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := app.Listen(cfg.Listen)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	pe := &env{ctx: ctx, engine: e.engine, base: "http://" + ln.Addr().String(), set: e.set, dbURL: dbURL}
	if err := os.MkdirAll(h.cfg.profileDir, 0o755); err != nil {
		return err
	}
	for _, sc := range scenarios() {
		if sc.Run == nil || sc.Once || !selected(h.cfg.profile, sc.Name) || ctx.Err() != nil {
			continue
		}
		path := filepath.Join(h.cfg.profileDir, e.engine+"-"+slug(sc.Name)+".pprof")
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		h.logf("%s: profiling %s in-process", e.engine, sc.Name)
		// Blocking too: where requests wait (the write connection, a
		// commit, a lock) matters as much as where the CPU goes.
		runtime.SetBlockProfileRate(int(50 * time.Microsecond))
		s, err := sc.Run(pe, h.limits(sc.Latency))
		pprof.StopCPUProfile()
		f.Close()
		blockPath := strings.TrimSuffix(path, ".pprof") + ".block.pprof"
		if bf, berr := os.Create(blockPath); berr == nil {
			pprof.Lookup("block").WriteTo(bf, 0)
			bf.Close()
		}
		runtime.SetBlockProfileRate(0)
		if err != nil {
			return err
		}
		var r Row
		s.Fill(&r)
		h.profiles = append(h.profiles, fmt.Sprintf("%s (%s, in-process: %.0f/s, p99 %.1f ms): go tool pprof -top %s",
			sc.Name, e.engine, r.Throughput, r.P99ms, path))
	}
	return nil
}

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
