package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
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
