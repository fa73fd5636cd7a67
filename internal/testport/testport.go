// Package testport gives tests a local port that nothing listens on, for a
// server they start on it later (a store process, an SMTP relay that
// comes back) or for an address that must refuse connections.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Free returns a port of 127.0.0.1 that nothing listens on. It is taken
// below the kernel's ephemeral range: a port that bind(0) gave, once
// closed, can be handed to another test's listener or to a connection
// before the test binds it again, and its server then fails to start, or
// the address meant to refuse connections answers (a bind(0) took the
// port just closed 4 times in 20,000 on a 2-core machine). Below that
// range only an explicit bind takes a port; a process is never given the
// same port twice.
func Free(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	given.Lock()
	defer given.Unlock()
	if given.ports == nil {
		given.ports = map[int]bool{}
	}
	for range 1000 {
		p := first + rand.IntN(low-first)
		if given.ports[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		given.ports[p] = true
		return p
	}
	t.Fatalf("no free port between %d and %d", first, low)
	return 0
}

// first is the lowest port Free gives: above the well-known services.
const first = 10000

var given struct {
	sync.Mutex
	ports map[int]bool
}

// ephemeralLow is the first port the kernel hands out by itself (bind to
// port 0, connect), 32768 when it does not say.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low < first+1000 {
		return 32768
	}
	return low
}
