// Package testfifo gives tests a file that never ends: a named pipe that a
// writer keeps filling while it is read. It stands for /dev/zero, a log or
// a stream named where a small file was meant, so a test can check that a
// reader stops at its limit instead of growing until the kernel kills it.
package testfifo

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
)

// Endless makes the pipe in a temporary directory and fills it, up to max
// bytes, while it is read; written says how much went in. The test's
// cleanup stops the writer.
func Endless(t testing.TB, max int64) (path string, written func() int64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "endless")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		chunk := make([]byte, 64<<10)
		for n.Load() < max {
			k, err := w.Write(chunk)
			n.Add(int64(k))
			if err != nil {
				return // the reader stopped
			}
		}
	}()
	t.Cleanup(func() {
		// Unblock a writer still waiting for a reader.
		if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			r.Close()
		}
		<-done
	})
	return path, n.Load
}
