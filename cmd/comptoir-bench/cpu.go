package main

import (
	"os"
	"strconv"
	"strings"
)

// cpuTimes is the machine's CPU time so far (all cores), from /proc/stat,
// in clock ticks: total and busy (neither idle nor waiting for I/O).
type cpuTimes struct{ total, busy uint64 }

func readCPU() (cpuTimes, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, false
	}
	return parseCPU(string(b))
}

// parseCPU reads the first "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal ...
func parseCPU(stat string) (cpuTimes, bool) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return cpuTimes{}, false
	}
	var t cpuTimes
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return cpuTimes{}, false
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t, true
}

// busyPercent is the share of the machine's CPU time that was busy
// between two readings.
func busyPercent(a, b cpuTimes) float64 {
	if b.total <= a.total {
		return 0
	}
	return 100 * float64(b.busy-a.busy) / float64(b.total-a.total)
}
