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
// range only an explicit bind takes a port.
//
// The port is the caller's alone among all the processes that use Free
// (go test runs packages in parallel, each in a process of its own), for
// as long as this process lives: Free claims the port by binding the same
// number in UDP on 127.0.0.1 (no test serves UDP) before it checks the TCP
// port, and keeps that socket open. Another process's Free cannot bind it
// before this one exits, when the kernel releases it, even after a crash;
// the TCP port stays free for the test to bind. Before, two processes
// could both find a port free and both give it (some 60 picks a run among
// 22,000 ports). A process is never given the same port twice.
func Free(t testing.TB) int {
	t.Helper()
	p, err := free(first, ephemeralLow())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// free picks a port in [low, high) that no Free of any process holds and
// nothing listens on in TCP, and holds it.
func free(low, high int) (int, error) {
	held.Lock()
	defer held.Unlock()
	if held.ports == nil {
		held.ports = map[int]net.PacketConn{}
	}
	for range 1000 {
		p := low + rand.IntN(high-low)
		if held.ports[p] != nil {
			continue
		}
		// The claim first: from here no other process's Free gives p, so
		// the check below is not overtaken by another test binding it.
		claim, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			// Someone else's (not through Free): leave it to them.
			claim.Close()
			continue
		}
		l.Close()
		// Kept, never closed: the claim lasts as long as the process.
		held.ports[p] = claim
		return p, nil
	}
	return 0, fmt.Errorf("testport: no free port between %d and %d", low, high)
}

// first is the lowest port Free gives: above the well-known services.
const first = 10000

// held is the claims of this process, by port (see Free).
var held struct {
	sync.Mutex
	ports map[int]net.PacketConn
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
