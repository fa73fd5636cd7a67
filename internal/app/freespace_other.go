//go:build !(linux || darwin || freebsd)

package app

import "errors"

// errFreeSpaceUnknown: this system does not tell, and the readiness check
// skips free space.
var errFreeSpaceUnknown = errors.New("free space unknown on this system")

func freeBytes(string) (uint64, error) { return 0, errFreeSpaceUnknown }
