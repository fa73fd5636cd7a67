package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// limits bound one measured load, in time and in count.
type limits struct {
	Duration    time.Duration
	Warmup      time.Duration
	MaxRequests uint64
	Concurrency int
}

// request fills target t for the seq-th request of a load.
type request func(seq uint64, t *vegeta.Target)

// verdict tells whether a response is a success; it may keep what it needs
// from it (an order id). It is called from one goroutine.
type verdict func(res *vegeta.Result) bool

// loopbackClient is the load generator's HTTP client: keep-alive
// connections, one per worker, from 127.0.0.1 only, never through a proxy.
func loopbackClient(conc int) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxIdleConns:        conc * 2,
			MaxIdleConnsPerHost: conc * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runHTTP drives a closed-loop load: lim.Concurrency workers each send the
// next request as soon as the previous one is answered, for lim.Duration or
// lim.MaxRequests requests, whichever ends first, after an unmeasured
// warm-up. needBody keeps response bodies for ok.
func runHTTP(ctx context.Context, name string, req request, ok verdict, needBody bool, lim limits) Sample {
	var warm Sample
	if lim.Warmup > 0 {
		warm = attackOnce(ctx, name+"-warmup", req, func(*vegeta.Result) bool { return true }, false,
			limits{Duration: lim.Warmup, MaxRequests: lim.MaxRequests, Concurrency: lim.Concurrency}, 1<<40)
	}
	s := attackOnce(ctx, name, req, ok, needBody, lim, 0)
	s.Warmup = int64(len(warm.Latencies)) + warm.Errors
	return s
}

func attackOnce(ctx context.Context, name string, req request, ok verdict, needBody bool, lim limits, seqBase uint64) Sample {
	conc := uint64(max(lim.Concurrency, 1))
	maxBody := int64(0)
	if needBody {
		maxBody = 1 << 20
	}
	atk := vegeta.NewAttacker(vegeta.Client(loopbackClient(int(conc))), vegeta.Workers(conc), vegeta.MaxWorkers(conc),
		vegeta.MaxBody(maxBody))
	var n atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		i := n.Add(1) - 1
		if i >= lim.MaxRequests {
			return vegeta.ErrNoTargets
		}
		req(seqBase+i, t)
		return nil
	}
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var s Sample
	s.Latencies = make([]time.Duration, 0, 4096)
	start := time.Now()
	for res := range atk.Attack(targeter, vegeta.Rate{Freq: 0}, lim.Duration, name) {
		if res.Error == vegeta.ErrNoTargets.Error() {
			continue
		}
		if res.Error == "" && ok(res) {
			s.Latencies = append(s.Latencies, res.Latency)
			continue
		}
		s.Errors++
		if s.FirstError == "" {
			s.FirstError = res.Error
			if s.FirstError == "" {
				s.FirstError = http.StatusText(int(res.Code))
			}
			if len(res.Body) > 0 {
				s.FirstError += ": " + clip(string(res.Body), 200)
			}
		}
	}
	s.Elapsed = time.Since(start)
	return s
}

// status accepts responses with the given code.
func status(code int) verdict {
	return func(res *vegeta.Result) bool { return int(res.Code) == code }
}

// runLib calls fn from lim.Concurrency goroutines, bounded like runHTTP,
// timing each call.
func runLib(ctx context.Context, fn func(worker int) error, lim limits) Sample {
	conc := max(lim.Concurrency, 1)
	deadline := time.Now().Add(lim.Duration)
	var n atomic.Uint64
	var mu sync.Mutex
	var s Sample
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<16)
			var errs int64
			var first string
			for i := 0; ; i++ {
				if n.Add(1) > lim.MaxRequests || ctx.Err() != nil || (i%64 == 0 && time.Now().After(deadline)) {
					break
				}
				t := time.Now()
				err := fn(w)
				d := time.Since(t)
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			s.Latencies = append(s.Latencies, lat...)
			s.Errors += errs
			if s.FirstError == "" {
				s.FirstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	s.Elapsed = time.Since(start)
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
