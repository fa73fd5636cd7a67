// Package testcpu measures benchmarks by the CPU time they use rather than
// by the wall time alone: on a machine shared with other work (two cores,
// other tests, a database server) the wall time per operation mostly
// measures the neighbours.
package testcpu

import (
	"syscall"
	"testing"
	"time"
)

// PerOp starts counting the process's CPU time (user + system: the code
// measured, and whatever it runs in the background, such as workers and
// an in-process server); the function it returns stops the timer and
// reports the time per operation as "cpu-µs/op". Use it as
//
//	defer testcpu.PerOp(b)()
func PerOp(b *testing.B) func() {
	start := used()
	return func() {
		b.StopTimer()
		b.ReportMetric(float64((used()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// Spent runs f and returns the CPU time the process used meanwhile (user +
// system), for a test's bound on how long some work takes: its wall time
// on a loaded machine measures the neighbours (a computation of 70 ms
// took seconds with CI's two cores shared), its CPU time does not. The
// test must run nothing else meanwhile (no t.Parallel).
func Spent(f func()) time.Duration {
	start := used()
	f()
	return used() - start
}

func used() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
