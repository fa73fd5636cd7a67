//go:build linux || darwin || freebsd

package app

import (
	"errors"

	"golang.org/x/sys/unix"
)

// errFreeSpaceUnknown: this system does not tell (see freespace_other.go).
var errFreeSpaceUnknown = errors.New("free space unknown on this system")

// freeBytes is the space of dir's file system that an unprivileged
// process may still fill (the blocks reserved for root do not count).
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
