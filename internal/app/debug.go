package app

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ListenDebug opens the profiler's listener on addr (a loopback address,
// checked by config).
func ListenDebug(addr string) (net.Listener, error) { return listen(addr, " for the profiler") }

// serveDebug serves Go's profiler on ln: /debug/pprof/ lists the profiles,
// /debug/pprof/profile?seconds=N takes a CPU profile of the running server,
// /debug/pprof/trace?seconds=N an execution trace. It has its own listener
// and mux, so nothing of it is reachable through the store's address; the
// caller closes the server it returns with the store's.
func serveDebug(ln net.Listener, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a profile answers after the seconds it was asked
	// to record.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("profiler listening", "addr", ln.Addr().String())
	go srv.Serve(ln)
	return srv
}
