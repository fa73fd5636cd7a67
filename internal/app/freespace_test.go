package app

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// The readiness check's free-space rule, on the test machine's real file
// system: more than it has is refused with the numbers, a megabyte is
// there, zero turns the check off, and a directory that does not exist is
// an error rather than "ready".
func TestCheckFreeSpace(t *testing.T) {
	dir := t.TempDir()
	free, err := freeBytes(dir)
	if errors.Is(err, errFreeSpaceUnknown) {
		t.Skip("this system does not report free space (freespace_other.go); the check is off there")
	}
	if err != nil {
		t.Fatal(err)
	}
	if free == 0 {
		t.Fatal("the test's file system reports no free space")
	}
	err = checkFreeSpace(dir, int64(free)+1<<40)
	if err == nil || !strings.Contains(err.Error(), "below --min-free-mb") {
		t.Errorf("a minimum above the free space: %v", err)
	}
	if err := checkFreeSpace(dir, 1<<20); err != nil {
		t.Errorf("a minimum of 1 MiB: %v", err)
	}
	if err := checkFreeSpace(dir, 0); err != nil {
		t.Errorf("no minimum: %v", err)
	}
	if err := checkFreeSpace(filepath.Join(dir, "missing"), 1<<20); err == nil {
		t.Error("a data directory that does not exist passed")
	}
}
