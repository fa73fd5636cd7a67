package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := Percentile(lat, tt.p); got != tt.want {
			t.Errorf("p%g = %s, want %s", tt.p, got, tt.want)
		}
	}
	if Percentile(nil, 99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
	one := []time.Duration{7}
	if Percentile(one, 50) != 7 || Percentile(one, 99) != 7 {
		t.Error("one sample")
	}
}

func TestSampleFill(t *testing.T) {
	s := Sample{Latencies: []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond},
		Errors: 1, Elapsed: 2 * time.Second, FirstError: "500 Internal Server Error"}
	var r Row
	s.Fill(&r)
	if r.Throughput != 2 || r.Requests != 5 || r.Errors != 1 || r.P50ms != 2 || r.P99ms != 4 || !r.Available ||
		!strings.Contains(r.Note, "500") {
		t.Fatalf("%+v", r)
	}
	// A scan's sample brings its own ratio, note and concurrency.
	s = Sample{Latencies: []time.Duration{time.Millisecond}, Elapsed: time.Millisecond, Ratio: 1.25, Note: "two stores", Concurrency: 1}
	r = Row{Concurrency: 16}
	s.Fill(&r)
	if r.Ratio != 1.25 || r.Note != "two stores" || r.Concurrency != 1 {
		t.Fatalf("%+v", r)
	}
}

func TestJudge(t *testing.T) {
	for _, tt := range []struct {
		name   string
		target Target
		row    Row
		met    bool
		ratio  float64
	}{
		{"ratio met", Target{RatioAtLeast, 1}, Row{Available: true, Throughput: 1200, Baseline: 1000, Requests: 10}, true, 1.2},
		{"ratio missed", Target{RatioAtLeast, 0.5}, Row{Available: true, Throughput: 400, Baseline: 1000, Requests: 10}, false, 0.4},
		{"no baseline", Target{RatioAtLeast, 0.5}, Row{Available: true, Throughput: 400, Requests: 10}, false, 0},
		{"p99 met", Target{P99Under, 50}, Row{Available: true, P99ms: 49.9, Requests: 10}, true, 0},
		{"p99 missed", Target{P99Under, 50}, Row{Available: true, P99ms: 50, Requests: 10}, false, 0},
		{"all failed", Target{P99Under, 50}, Row{Available: true, Requests: 10, Errors: 10}, false, 0},
		{"too many errors", Target{RateAtLeast, 200}, Row{Available: true, Throughput: 900, Requests: 100, Errors: 2}, false, 0},
		{"rate met", Target{RateAtLeast, 200}, Row{Available: true, Throughput: 200, Requests: 100, Errors: 1}, true, 0},
		{"rss met", Target{PeakRSSUnder, 150}, Row{Available: true, PeakRSSMB: 120}, true, 0},
		{"rss unknown", Target{PeakRSSUnder, 150}, Row{Available: true}, false, 0},
		{"startup", Target{MillisUnder, 1000}, Row{Available: true, P50ms: 420}, true, 0},
		{"not available", Target{RateAtLeast, 200}, Row{Note: "not available yet"}, false, 0},
		{"informational", Target{}, Row{Available: true, Throughput: 5}, true, 0},
		{"informational, not run", Target{}, Row{}, false, 0},
		{"cost independent", Target{CostIndependent, 2}, Row{Available: true, Ratio: 1.3, Requests: 50}, true, 1.3},
		{"cost grows with history", Target{CostIndependent, 2}, Row{Available: true, Ratio: 2.5, Requests: 50}, false, 2.5},
		{"cost not compared", Target{CostIndependent, 2}, Row{Available: true, Requests: 50}, false, 0},
	} {
		r := tt.row
		tt.target.Judge(&r)
		if r.Met != tt.met || r.Ratio != tt.ratio || r.Target != tt.target.String() {
			t.Errorf("%s: met %v ratio %v target %q, want %v %v", tt.name, r.Met, r.Ratio, r.Target, tt.met, tt.ratio)
		}
	}
}

// TestJSONShape: bench-results.json is a list of objects with the keys
// the tracking expects.
func TestJSONShape(t *testing.T) {
	r := Row{Scenario: "checkout with balance", Engine: "sqlite", Throughput: 812.5, P50ms: 9.5, P99ms: 30, Errors: 0,
		Baseline: 400, BaselineName: baseDBInsert, Requests: 4000, Available: true}
	Target{RatioAtLeast, 1}.Judge(&r)
	path := t.TempDir() + "/bench-results.json"
	if err := writeJSON(path, []Row{r, {Scenario: "file a claim", Engine: "sqlite", Note: "not available yet"}}); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	b := mustRead(t, path)
	if err := json.Unmarshal(b, &got); err != nil || len(got) != 2 {
		t.Fatalf("%s: %v", b, err)
	}
	for _, k := range []string{"scenario", "engine", "throughput", "p50_ms", "p99_ms", "errors", "baseline", "ratio", "target", "met"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("key %q missing from %v", k, got[0])
		}
		if _, ok := got[1][k]; !ok {
			t.Errorf("key %q missing from the unavailable row %v", k, got[1])
		}
	}
	if got[0]["ratio"] != 2.03125 || got[0]["met"] != true || got[0]["target"] != ">= 1x baseline" || got[1]["met"] != false {
		t.Errorf("values: %v", got)
	}
}

func TestReportOutputs(t *testing.T) {
	rows := []Row{
		{Scenario: "storefront product page", Engine: "sqlite", Throughput: 2000, P99ms: 12, Requests: 10, Available: true, Target: "x", Met: false, Note: "slow <&>"},
		{Scenario: "baseline: bare", Engine: "-", Throughput: 9000, P99ms: 2, Requests: 10, Available: true},
		{Scenario: "file a claim", Engine: "sqlite", Note: "not available yet", Target: ">= 1x"},
	}
	var table bytes.Buffer
	writeTable(&table, rows)
	if !strings.Contains(table.String(), "NO") || !strings.Contains(table.String(), "[2] not available yet") {
		t.Errorf("table:\n%s", table.String())
	}
	var svg bytes.Buffer
	writeChart(&svg, rows, "t")
	if !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "storefront product page [sqlite] ✗") ||
		strings.Contains(svg.String(), "file a claim") {
		t.Errorf("chart:\n%s", svg.String())
	}
	if err := xmlWellFormed(svg.Bytes()); err != nil {
		t.Errorf("chart is not well-formed XML: %v", err)
	}
}

func TestParseVmHWM(t *testing.T) {
	mb, err := parseVmHWM("Name:\tcomptoir\nVmPeak:\t  900000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t 100 kB\n")
	if err != nil || mb != 150 {
		t.Fatalf("%v %v", mb, err)
	}
	if _, err := parseVmHWM("Name: x\n"); err == nil {
		t.Fatal("no error without VmHWM")
	}
}

func TestAddNote(t *testing.T) {
	var r Row
	r.addNote("")
	r.addNote("first")
	r.addNote("")
	r.addNote("second")
	if r.Note != "first; second" {
		t.Fatalf("note %q", r.Note)
	}
}

func TestParseProcCPU(t *testing.T) {
	// utime 250 and stime 50 ticks: 3 s. The command name holds a space
	// and a parenthesis, as a process may name itself.
	stat := "4242 (comptoir (x) serve) S 1 4242 4242 0 -1 4194304 99 0 0 0 250 50 0 0 20 0 9 0 6909744 3133440 359\n"
	if d, err := parseProcCPU(stat); err != nil || d != 3*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := parseProcCPU("4242 (comptoir) S 1 2"); err == nil {
		t.Fatal("no error for a short line")
	}
}

func TestLoopbackAndJSONString(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "[::1]:80", "localhost:1"} {
		if err := requireLoopback(a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"0.0.0.0:80", "10.0.0.1:80", ":80"} {
		if requireLoopback(a) == nil {
			t.Errorf("%s accepted", a)
		}
	}
	if got := jsonString([]byte(`{"id":"ord_1","lines":[{"id":"oln_2"}]}`), "id"); got != "ord_1" {
		t.Errorf("jsonString = %q", got)
	}
	if !selected(nil, "x") || !selected(map[string]bool{"check": true}, "Checkout with balance") || selected(map[string]bool{"store": true}, "checkout") {
		t.Error("selected")
	}
}

func TestCPU(t *testing.T) {
	a, ok := parseCPU("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n")
	if !ok || a.total != 1000 || a.busy != 200 {
		t.Fatalf("%+v %v", a, ok)
	}
	b, _ := parseCPU("cpu  400 0 200 1100 100 0 0 0 50 0\n")
	if got := busyPercent(a, b); got != 50 {
		t.Fatalf("busy %v", got)
	}
	if _, ok := parseCPU("intr 1 2\n"); ok {
		t.Fatal("parsed a line that is not cpu")
	}
}

func TestSharedCommitCeiling(t *testing.T) {
	for _, c := range []struct {
		name       string
		single, tx float64
		rows       int
		want       float64
		wantOK     bool
	}{
		// 1 insert + commit = 250 µs, 14 inserts + commit = 900 µs:
		// an insert costs 50 µs, 14 of them 700 µs.
		{"sqlite-like", 4000, 1e6 / 900, 14, 1e6 / 700, true},
		{"no single baseline", 0, 1000, 14, 0, false},
		{"no transaction baseline", 4000, 0, 14, 0, false},
		{"transaction not slower", 1000, 1000, 14, 0, false},
		{"one row", 1000, 900, 1, 0, false},
	} {
		got, ok := sharedCommitCeiling(c.single, c.tx, c.rows)
		if ok != c.wantOK || math.Abs(got-c.want) > 1e-6*c.want {
			t.Errorf("%s: sharedCommitCeiling(%v, %v, %d) = %v, %v; want %v, %v", c.name, c.single, c.tx, c.rows, got, ok, c.want, c.wantOK)
		}
	}
}
