package db

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// setTCPUserTimeout sets TCP_USER_TIMEOUT (PostgresTCPUserTimeout) on a TCP
// socket before it connects: the kernel then drops the connection when
// what it sent stays unacknowledged that long, or when the keepalive
// probes go unanswered past it, instead of retransmitting for about a
// quarter of an hour. Other sockets (Unix) are left alone.
func setTCPUserTimeout(network, _ string, c syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return nil
	}
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(PostgresTCPUserTimeout.Milliseconds()))
	}); cerr != nil {
		return cerr
	}
	return err
}
