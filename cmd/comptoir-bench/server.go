package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// server is a process the harness started and must stop: `comptoir serve`
// or the bare template baseline.
type server struct {
	name string
	cmd  *exec.Cmd
	// Addr is the loopback address it listens on (host:port).
	Addr string
	// Startup is the wall time from exec to the ready line; StartedIn is
	// what comptoir itself reports (started_in).
	Startup   time.Duration
	StartedIn string
	done      chan struct{}
	waitErr   error
	logFile   *os.File

	// errorLines counts the ERROR lines of the process's log, firstError
	// keeps the first: a panic in a background job (recovered by River)
	// answers no request, and would otherwise pass unseen.
	errorLines atomic.Int64
	firstError atomic.Pointer[string]
}

// errorsLogged sums up the ERROR lines the process logged ("" for none).
func (s *server) errorsLogged() string {
	n := s.errorLines.Load()
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d ERROR line(s) in its log, the first: %s", n, *s.firstError.Load())
}

// benchTrustedProxy is the proxy comptoir serve is told to trust: the load
// generator on 127.0.0.1, which names a client of its own per request
// (X-Forwarded-For) where a per-client limit would otherwise be what is
// measured (the contact form).
const benchTrustedProxy = "127.0.0.1/32"

var (
	listenRE    = regexp.MustCompile(`\blisten=(\S+)`)
	startedInRE = regexp.MustCompile(`\bstarted_in=(\S+)`)
)

// startProcess runs bin with args in env, its output going to logPath, and waits
// (at most timeout) for a line containing ready, from which parse takes the
// address. The process is killed if the harness dies (Pdeathsig).
func startProcess(ctx context.Context, name, bin string, args, env []string, logPath, ready string, timeout time.Duration) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = childAttr()
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	s := &server{name: name, cmd: cmd, done: make(chan struct{}), logFile: logFile}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	readyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if strings.Contains(line, "level=ERROR") {
				if s.errorLines.Add(1) == 1 {
					s.firstError.Store(&line)
				}
			}
			if !sent && strings.Contains(line, ready) {
				readyc <- line
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line := <-readyc:
		s.Startup = time.Since(start)
		if m := listenRE.FindStringSubmatch(line); m != nil {
			s.Addr = m[1]
		}
		if m := startedInRE.FindStringSubmatch(line); m != nil {
			s.StartedIn = m[1]
		}
		if s.Addr == "" {
			s.stop()
			return nil, fmt.Errorf("%s: no listen address in %q", name, line)
		}
		return s, nil
	case <-s.done:
		logFile.Close()
		return nil, fmt.Errorf("%s exited before it was ready (%v); see %s", name, s.waitErr, logPath)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("%s not ready after %s; see %s", name, timeout, logPath)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop asks the process to end (SIGTERM: comptoir shuts down gracefully)
// and kills it if it has not within 25 s. Safe to call twice.
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(25 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.logFile.Close()
	if s.waitErr == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(s.waitErr, &exit) && !exit.Exited() {
		return nil // ended by a signal, ours or Pdeathsig's
	}
	return fmt.Errorf("%s: %w", s.name, s.waitErr)
}

// resetPeakRSS resets the kernel's high-water mark of the process's
// resident memory (VmHWM), so that the next reading is the peak of what
// happens from now on.
func (s *server) resetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

// cpuTime is the CPU time the process has used so far (user and system),
// from /proc/PID/stat.
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseProcCPU(string(b))
}

// cpuPerRequest starts measuring the CPU the server uses, and returns what
// tells, for the requests served since (all its work included: warm-up,
// window, and what the scenario waits for after it), the note "comptoir
// serve used X ms CPU per request". Unlike a rate, it hardly moves with
// what else the machine is doing: it is the figure to compare builds by.
// Without a server, or without /proc, the note is empty.
func (s *server) cpuPerRequest() func(requests int64, engine string) string {
	none := func(int64, string) string { return "" }
	if s == nil {
		return none
	}
	start, err := s.cpuTime()
	if err != nil {
		return none
	}
	return func(requests int64, engine string) string {
		end, err := s.cpuTime()
		if err != nil || requests <= 0 {
			return ""
		}
		note := fmt.Sprintf("comptoir serve used %.2f ms CPU per request", ms(end-start)/float64(requests))
		if engine == "postgres" {
			note += " (PostgreSQL's own not counted)"
		}
		return note
	}
}

// clockTicks is USER_HZ, the unit of /proc times: 100 on every Linux
// architecture Go runs on.
const clockTicks = 100

// parseProcCPU reads utime and stime from a /proc/PID/stat line. The
// command name, in parentheses, may hold spaces: fields are counted from
// the last ")".
func parseProcCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// peakRSSMB reads VmHWM from /proc/PID/status, in MB (2^20 bytes).
func (s *server) peakRSSMB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(string(b))
}

// parseVmHWM finds "VmHWM:   123456 kB" in a /proc status file.
func parseVmHWM(status string) (float64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, err
		}
		return kb / 1024, nil
	}
	return 0, errors.New("no VmHWM line")
}

// cleanEnv is the harness's environment without COMPTOIR_ settings, so
// that nothing in the caller's shell changes what the server runs on.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMPTOIR_") {
			out = append(out, kv)
		}
	}
	return out
}

// commitSharing starts counting the server's SQLite group commits (from its
// /metrics), and returns what tells, for the work done since, the note
// "N transactions made durable in M disk flushes": the issue asks that many
// checkouts share one commit, and this shows whether they did. It also
// says how busy the single writer was meanwhile: near 100 %, the writer is
// what holds the rate back; well under, the requests or the machine are.
// On PostgreSQL, which has no such counters, the note is empty.
func commitSharing(ctx context.Context, base string) func() string {
	start, ok := commitCounters(ctx, base)
	began := time.Now()
	if !ok {
		return func() string { return "" }
	}
	return func() string {
		end, ok := commitCounters(ctx, base)
		elapsed := time.Since(began).Seconds()
		var d commitCounts
		for i := range d {
			d[i] = end[i] - start[i]
		}
		if !ok || d[0] <= 0 {
			return ""
		}
		return fmt.Sprintf("%.0f transactions made durable in %.0f disk flushes (%.1f per flush); the writer busy %.0f%% of the time (%.0f%% committing)",
			d[1], d[0], d[1]/d[0], 100*d[2]/elapsed, 100*d[3]/elapsed)
	}
}

// commitCounterNames are the group-commit counters read from the server's
// metrics, in the order of commitCounts.
var commitCounterNames = [...]string{"comptoir_db_commits_total", "comptoir_db_committed_transactions_total",
	"comptoir_db_writer_busy_seconds_total", "comptoir_db_commit_seconds_total"}

type commitCounts [len(commitCounterNames)]float64

// commitCounters reads the group-commit counters from the server's metrics.
func commitCounters(ctx context.Context, base string) (v commitCounts, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return v, false
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return v, false
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return v, false
	}
	return parseCommitCounters(string(body))
}

// parseCommitCounters finds the group-commit counters in a metrics page
// (Prometheus text format: "name value" lines).
func parseCommitCounters(page string) (v commitCounts, ok bool) {
	found := 0
	for line := range strings.Lines(page) {
		for i, name := range commitCounterNames {
			if s, cut := strings.CutPrefix(line, name+" "); cut {
				f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil {
					return v, false
				}
				v[i] = f
				found++
			}
		}
	}
	return v, found == len(v)
}
