//go:build !linux

package db

import "syscall"

// setTCPUserTimeout does nothing where TCP_USER_TIMEOUT is not Linux's:
// the keepalive probes alone find a dead connection there.
func setTCPUserTimeout(string, string, syscall.RawConn) error { return nil }
