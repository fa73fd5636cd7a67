package testport

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
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

// Free's port is the caller's alone across processes too: go test runs
// packages in parallel processes, which pick among the same ports, and
// two that both found a port free before either bound it gave it twice
// (the second server then fails to start). Here processes pick at once
// from so few ports that, without the claim each holds, they would share
// some; each holds its ports until all have picked.
func TestFreeGivesAPortToOneProcessOnly(t *testing.T) {
	const procs, picks, width = 3, 15, 60
	base := first + rand.IntN(ephemeralLow()-first-width)
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Scanner
	}
	var children []child
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFreeChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("TESTPORT_CHILD=%d,%d,%d", base, base+width, picks))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stdin.Close(); cmd.Wait() })
		children = append(children, child{cmd, stdin, bufio.NewScanner(stdout)})
	}
	owner := map[int]int{}
	for i, c := range children {
		// Each child's ports, up to the line saying it holds them all; it
		// keeps them until its standard input closes, after this loop.
		for n := 0; ; n++ {
			if !c.out.Scan() {
				t.Fatalf("process %d ended after %d ports: %v", i, n, c.out.Err())
			}
			line := c.out.Text()
			if line == "held" {
				break
			}
			p, err := strconv.Atoi(line)
			if err != nil {
				continue // go test's own lines
			}
			if o, ok := owner[p]; ok {
				t.Errorf("port %d given to process %d and to process %d", p, o, i)
			}
			owner[p] = i
		}
	}
	if len(owner) != procs*picks && !t.Failed() {
		t.Errorf("%d ports given, want %d", len(owner), procs*picks)
	}
}

// TestFreeChildProcess is a process of TestFreeGivesAPortToOneProcessOnly: it
// prints the ports it was given, then holds them until its standard input
// closes.
func TestFreeChildProcess(t *testing.T) {
	spec := os.Getenv("TESTPORT_CHILD")
	if spec == "" {
		t.Skip("a process of TestFreeGivesAPortToOneProcessOnly")
	}
	var low, high, picks int
	if _, err := fmt.Sscanf(spec, "%d,%d,%d", &low, &high, &picks); err != nil {
		t.Fatalf("TESTPORT_CHILD=%q: %v", spec, err)
	}
	for range picks {
		p, err := free(low, high)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(p)
	}
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin)
}
