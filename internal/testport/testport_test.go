package testport

import (
	"fmt"
	"os"
	"testing"
)

// The ports Free gives are ones the kernel never hands out by itself, and
// never the same twice: one it had handed out, closed for the test's server
// to take, was another listener's to take first.
func TestFreeIsOutsideTheEphemeralRange(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Skipf("no ephemeral range to check against: %v", err)
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil {
		t.Fatalf("ip_local_port_range %q: %v", b, err)
	}
	seen := map[int]bool{}
	for range 50 {
		p := Free(t)
		if p >= low && p <= high {
			t.Fatalf("Free gave %d, in the ephemeral range %d-%d", p, low, high)
		}
		if seen[p] {
			t.Fatalf("Free gave %d twice", p)
		}
		seen[p] = true
	}
}
