package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Row is one line of the results: a scenario on an engine, or a baseline.
// Its JSON form is what bench-results.json holds, for tracking over time.
type Row struct {
	Scenario string `json:"scenario"`
	Engine   string `json:"engine"`
	// Throughput is successful operations per second.
	Throughput float64 `json:"throughput"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Errors     int64   `json:"errors"`
	// Baseline is the throughput of the reference the ratio is taken
	// against (0 when the scenario has none); BaselineName says which.
	Baseline     float64 `json:"baseline"`
	BaselineName string  `json:"baseline_name,omitempty"`
	Ratio        float64 `json:"ratio"`
	// Target is the goal in words ("" when the row is for information);
	// Met whether it was reached. A scenario that could not run has
	// Met false and says why in Note.
	Target string `json:"target"`
	Met    bool   `json:"met"`
	Note   string `json:"note,omitempty"`

	Requests    int64   `json:"requests"`
	Concurrency int     `json:"concurrency,omitempty"`
	DurationS   float64 `json:"duration_s"`
	PeakRSSMB   float64 `json:"peak_rss_mb,omitempty"`
	// CPUBusyPct is how busy the whole machine was during the measured
	// load (all processes: the server, the database, the load generator,
	// and anything else running): near 100, the gap is work per request;
	// well under, it is waiting (disk flushes, a lock, a single writer).
	CPUBusyPct float64 `json:"cpu_busy_pct,omitempty"`
	Available  bool    `json:"available"`
}

// Target is a goal a row is judged against.
type Target struct {
	Kind  TargetKind
	Value float64
}

// TargetKind says what a Target compares.
type TargetKind int

const (
	NoTarget        TargetKind = iota
	RatioAtLeast               // throughput / baseline >= Value
	P99Under                   // p99 latency < Value ms
	RateAtLeast                // throughput >= Value per second
	PeakRSSUnder               // peak RSS < Value MB
	MillisUnder                // a duration (in P50ms) < Value ms
	CostIndependent            // a scan's cost does not grow with history (Ratio <= Value)
)

func (t Target) String() string {
	switch t.Kind {
	case RatioAtLeast:
		return fmt.Sprintf(">= %.2gx baseline", t.Value)
	case P99Under:
		return fmt.Sprintf("p99 < %g ms", t.Value)
	case RateAtLeast:
		return fmt.Sprintf(">= %g/s", t.Value)
	case PeakRSSUnder:
		return fmt.Sprintf("peak RSS < %g MB", t.Value)
	case MillisUnder:
		return fmt.Sprintf("< %g ms", t.Value)
	case CostIndependent:
		return fmt.Sprintf("cost ratio (large/small history) <= %g", t.Value)
	}
	return ""
}

// Judge fills in the row's ratio, target and verdict. A row that did not
// run (not available, or failed) never meets its target.
func (t Target) Judge(r *Row) {
	r.Target = t.String()
	if r.Baseline > 0 {
		r.Ratio = r.Throughput / r.Baseline
	}
	if !r.Available {
		r.Met = false
		return
	}
	switch t.Kind {
	case NoTarget:
		r.Met = true
	case RatioAtLeast:
		r.Met = r.Baseline > 0 && r.Ratio >= t.Value
	case P99Under:
		r.Met = r.Requests > r.Errors && r.P99ms < t.Value
	case RateAtLeast:
		r.Met = r.Throughput >= t.Value
	case PeakRSSUnder:
		r.Met = r.PeakRSSMB > 0 && r.PeakRSSMB < t.Value
	case MillisUnder:
		r.Met = r.P50ms > 0 && r.P50ms < t.Value
	case CostIndependent:
		r.Met = r.Ratio > 0 && r.Ratio <= t.Value
	}
	// A load where more than 1% of the requests failed proves nothing,
	// however fast the rest were.
	if r.Requests > 0 && float64(r.Errors) > 0.01*float64(r.Requests) {
		r.Met = false
	}
}

// Sample is the outcome of one bounded load: every successful operation's
// latency, the errors and the wall time.
type Sample struct {
	Latencies []time.Duration
	Errors    int64
	Elapsed   time.Duration
	// FirstError is kept to tell what went wrong.
	FirstError string
	// Ratio, when set, is the scenario's own ratio (a scan's cost on a
	// large history over its cost on a small one), for a row with no
	// baseline; Note and Concurrency, when set, go into the row as they are.
	Ratio       float64
	Note        string
	Concurrency int
	// Warmup counts the requests answered in the unmeasured warm-up: the
	// server worked for them too (cost per request).
	Warmup int64
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted
// latencies by the nearest-rank method: the smallest value that at least p%
// of the samples do not exceed. Zero for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Fill puts the sample's throughput and percentiles into r.
func (s *Sample) Fill(r *Row) {
	slices.Sort(s.Latencies)
	ok := int64(len(s.Latencies))
	r.Requests = ok + s.Errors
	r.Errors = s.Errors
	r.DurationS = s.Elapsed.Seconds()
	if s.Elapsed > 0 {
		r.Throughput = float64(ok) / s.Elapsed.Seconds()
	}
	r.P50ms = ms(Percentile(s.Latencies, 50))
	r.P99ms = ms(Percentile(s.Latencies, 99))
	r.Available = true
	if s.Ratio > 0 {
		r.Ratio = s.Ratio
	}
	if s.Concurrency > 0 {
		r.Concurrency = s.Concurrency
	}
	if s.Note != "" {
		r.addNote(s.Note)
	}
	if s.FirstError != "" && r.Note == "" && s.Errors > 0 {
		r.Note = "first error: " + s.FirstError
	}
}

// addNote appends note to the row's note ("; " between them); empty, it
// changes nothing.
func (r *Row) addNote(note string) {
	if note != "" {
		r.Note = strings.TrimPrefix(r.Note+"; "+note, "; ")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sharedCommitCeiling is the most checkouts of rows rows per second the
// database could take if group commit made every commit free, estimated
// from the two baselines: single inserts (each with its commit) at one
// rate, transactions of rows inserts at the other. Their times differ by
// rows-1 inserts, which gives an insert's cost; a checkout costs at least
// rows of them. It shows how far the insert-rate target is from what the
// database allows at all: ok is false when the baselines do not allow the
// estimate (missing, or the bigger transaction not slower).
func sharedCommitCeiling(singleRate, txRate float64, rows int) (perSecond float64, ok bool) {
	if singleRate <= 0 || txRate <= 0 || rows < 2 {
		return 0, false
	}
	insert := (1/txRate - 1/singleRate) / float64(rows-1)
	if insert <= 0 {
		return 0, false
	}
	return 1 / (float64(rows) * insert), true
}
