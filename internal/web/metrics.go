package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the Prometheus registry of one server. Other parts of the
// application register their own collectors on Registry.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	cache    sync.Map // seriesKey → *routeSeries
}

// NewMetrics makes a registry with the Go runtime and process collectors and
// the HTTP request metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "comptoir_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "comptoir_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// metricsAccess keeps the metrics from the public: they tell how busy the
// store is and how far behind its desk runs. With a token, a scraper must
// send it as a bearer token (from anywhere); without one, only clients on
// the loopback interface (a Prometheus or an agent on the same machine)
// are answered. The client is the one --trusted-proxies works out, so a
// visitor behind the store's reverse proxy is not taken for a local one.
func metricsAccess(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := bearerToken(r.Header)
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "metrics need the bearer token (--metrics-token)", http.StatusUnauthorized)
				return
			}
		} else if ip := net.ParseIP(clientIP(r)); ip == nil || !ip.IsLoopback() {
			http.Error(w, "metrics are served to loopback clients, or with --metrics-token", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument labels by route pattern (set by the mux), never by raw path, so
// ids in URLs cannot blow up the number of series.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.series(route, rec.status).observe(time.Since(start).Seconds())
	})
}

// routeSeries is one route's request counter for one status code and its
// latency histogram.
type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (rs *routeSeries) observe(seconds float64) {
	rs.requests.Inc()
	rs.duration.Observe(seconds)
}

type seriesKey struct {
	route  string
	status int
}

// series is the route's and status's series, looked up in the vectors
// once: WithLabelValues hashes and checks its labels and formats the code
// on every call. Routes are the mux's patterns and codes are few, so the
// cache stays as small as the vectors themselves.
func (m *Metrics) series(route string, status int) *routeSeries {
	k := seriesKey{route, status}
	if rs, ok := m.cache.Load(k); ok {
		return rs.(*routeSeries)
	}
	rs, _ := m.cache.LoadOrStore(k, &routeSeries{
		requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(route),
	})
	return rs.(*routeSeries)
}
