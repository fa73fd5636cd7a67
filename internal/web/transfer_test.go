package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"comptoir/internal/testwait"
)

// fakeBudget stands for budgetTimer: the test says when the budget is
// spent.
type fakeBudget struct {
	mu      sync.Mutex
	f       func()
	stopped bool
}

func useFakeBudget(t *testing.T) *fakeBudget {
	fb := &fakeBudget{}
	old := budgetTimer
	budgetTimer = func(_ time.Duration, f func()) func() bool {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		fb.f = f
		return func() bool {
			fb.mu.Lock()
			defer fb.mu.Unlock()
			was := !fb.stopped && fb.f != nil
			fb.stopped = true
			return was
		}
	}
	t.Cleanup(func() { budgetTimer = old })
	return fb
}

// spend ends the budget, unless it was stopped.
func (fb *fakeBudget) spend() {
	fb.mu.Lock()
	f, stopped := fb.f, fb.stopped
	fb.mu.Unlock()
	if !stopped && f != nil {
		f()
	}
}

// budgeted is a request as the budget middleware hands it on.
func budgeted(base context.Context) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/orders/o/lines/l/download", nil)
	return r.WithContext(context.WithValue(base, unbudgetedKey{}, base))
}

// A route sending a file has a budget for what it does before its answer
// starts (its database work): spent then, its context ends as a deadline
// (serverError's 503 storage_unavailable). Before, such routes had no
// budget at all, and a query waiting on a PostgreSQL lock waited for ever.
func TestTransferBudgetBoundsTheWorkBeforeTheAnswer(t *testing.T) {
	fb := useFakeBudget(t)
	var err error
	h := transfer(func() time.Duration { return time.Minute }, func(w http.ResponseWriter, r *http.Request) {
		fb.spend() // the database work outlasts the budget
		<-r.Context().Done()
		err = r.Context().Err()
	})
	h(httptest.NewRecorder(), budgeted(context.Background()))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context after the budget: %v, want a deadline exceeded", err)
	}
}

// Once the answer has started, the budget no longer applies: a large file
// to a slow client takes what it takes. The client going away still ends
// it.
func TestTransferBudgetEndsWhenTheAnswerStarts(t *testing.T) {
	fb := useFakeBudget(t)
	base, leave := context.WithCancel(context.Background())
	defer leave()
	var during, after error
	h := transfer(func() time.Duration { return time.Minute }, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("%PDF-1.4\n"))
		fb.spend() // a slow client: the budget's time passes while sending
		during = r.Context().Err()
		w.Write([]byte("the rest\n"))
		leave()
		<-r.Context().Done()
		after = r.Context().Err()
	})
	rec := httptest.NewRecorder()
	h(rec, budgeted(base))
	if during != nil {
		t.Fatalf("context while sending, past the budget: %v, want none", during)
	}
	if !errors.Is(after, context.Canceled) {
		t.Fatalf("context once the client left: %v, want canceled", after)
	}
	if rec.Body.String() != "%PDF-1.4\nthe rest\n" {
		t.Fatalf("body %q", rec.Body.String())
	}
}

// sendTimes sets sendStall and sendLimit for the test.
func sendTimes(t *testing.T, stall, limit time.Duration) {
	oldStall, oldLimit := sendStall, sendLimit
	sendStall, sendLimit = stall, limit
	t.Cleanup(func() { sendStall, sendLimit = oldStall, oldLimit })
}

// serveTransfer serves h as a route that sends a file, on a loopback
// server with no write timeout of its own; done receives h's error.
func serveTransfer(t *testing.T, h func(w http.ResponseWriter) error) (url string, done <-chan error) {
	errc := make(chan error, 1)
	route := transfer(func() time.Duration { return time.Minute }, func(w http.ResponseWriter, r *http.Request) {
		errc <- h(w)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := r.Context()
		route(w, r.WithContext(context.WithValue(base, unbudgetedKey{}, base)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, errc
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A client that stops reading a file is cut once a piece has waited
// sendStall: the send ends and gives back its connection and file. Before,
// only the server's write timeout, a minute from the request, ended it,
// which also cut every slow download that was still reading.
func TestTransferCutsAClientThatStopsReading(t *testing.T) {
	sendTimes(t, 200*time.Millisecond, time.Hour)
	url, done := serveTransfer(t, func(w http.ResponseWriter) error {
		_, err := io.Copy(w, io.LimitReader(zeros{}, 1<<30))
		return err
	})
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // read nothing of the body
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("send to a client that stopped reading ended with %v, want a deadline exceeded", err)
		}
	case <-time.After(testwait.Default):
		t.Fatalf("send to a client that stopped reading still going after %v", testwait.Default)
	}
}

// However steadily the client reads, sending ends at sendLimit.
func TestTransferEndsAtItsLimit(t *testing.T) {
	sendTimes(t, time.Minute, 0)
	const size = 4 << 20
	url, done := serveTransfer(t, func(w http.ResponseWriter) error {
		_, err := w.Write(make([]byte, size))
		return err
	})
	resp, err := http.Get(url)
	if err == nil {
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n == size {
			t.Fatalf("sent all %d bytes past the limit", n)
		}
	}
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("send past its limit ended with %v, want a deadline exceeded", err)
	}
}
