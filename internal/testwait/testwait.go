// Package testwait is how tests wait for something that happens in the
// background (a job, a mail, another process): they poll a condition until
// it holds or a deadline passes, never sleep a fixed time and hope.
package testwait

import (
	"testing"
	"time"
)

// Default is the deadline of Until: long enough for a loaded CI machine,
// and only ever reached when the awaited thing never happens.
const Default = 30 * time.Second

// For polls cond until it holds, failing the test after limit.
func For(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Until is For with the Default deadline.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	For(t, Default, what, cond)
}
