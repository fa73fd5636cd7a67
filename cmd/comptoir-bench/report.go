package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// report prints the table and the notes, and writes the JSON and the chart.
func (h *harness) report(took time.Duration) {
	w := h.out
	fmt.Fprintf(w, "\ncomptoir-bench: scale %s, %d CPUs, %s, %s per scenario, took %s\n",
		h.cfg.scale, runtime.NumCPU(), runtime.Version(), h.cfg.duration, took.Round(time.Second))
	if h.loadAvg != "" {
		fmt.Fprintf(w, "load average at the start: %s (other work on the machine skews absolute numbers; ratios are taken within the run)\n", h.loadAvg)
	}
	for _, d := range h.datasets {
		fmt.Fprintf(w, "dataset on %s: %d rows in %s (%.0f rows/s)", d.engine, d.set.RowsTotal(), d.set.Took.Round(time.Millisecond),
			float64(d.set.RowsTotal())/d.set.Took.Seconds())
		if len(d.set.Skipped) > 0 {
			fmt.Fprintf(w, "; skipped: %s", strings.Join(d.set.Skipped, "; "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	writeTable(w, h.rows)
	if n := h.unmet(); n > 0 {
		fmt.Fprintf(w, "\n%d target(s) NOT MET (see the MET column and the notes).\n", n)
	} else {
		fmt.Fprintf(w, "\nevery target met.\n")
	}
	for _, e := range h.serverErrors {
		fmt.Fprintf(w, "SERVER ERRORS: %s\n", e)
	}
	for _, p := range h.profiles {
		fmt.Fprintf(w, "profile: %s\n", p)
	}
	if h.cfg.outJSON != "" {
		if err := writeJSON(h.cfg.outJSON, h.rows); err != nil {
			h.logf("write %s: %v", h.cfg.outJSON, err)
		} else {
			fmt.Fprintf(w, "results: %s\n", h.cfg.outJSON)
		}
	}
	if h.cfg.outChart != "" {
		var b bytes.Buffer
		writeChart(&b, h.rows, fmt.Sprintf("comptoir-bench — scale %s, %d CPUs", h.cfg.scale.Name, runtime.NumCPU()))
		if err := writeFileAtomic(h.cfg.outChart, b.Bytes()); err != nil {
			h.logf("write %s: %v", h.cfg.outChart, err)
		} else {
			fmt.Fprintf(w, "chart: %s\n", h.cfg.outChart)
		}
	}
}

// writeTable prints the rows as an aligned table, notes numbered below.
func writeTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tengine\tconc\trequests\tops/s\tp50 ms\tp99 ms\terrors\tCPU %\tpeak RSS MB\tbaseline/s\tratio\ttarget\tmet\tnote\t")
	var notes []string
	for _, r := range rows {
		note := ""
		if r.Note != "" {
			notes = append(notes, r.Note)
			note = fmt.Sprintf("[%d]", len(notes))
		}
		met := "-"
		switch {
		case !r.Available:
			met = "skip"
		case r.Target != "" && r.Met:
			met = "yes"
		case r.Target != "":
			met = "NO"
		}
		if !r.Available {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t\t%s\t%s\t%s\t\n", r.Scenario, r.Engine, r.Target, met, note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Scenario, r.Engine, num(float64(r.Concurrency), "%.0f"), num(float64(r.Requests), "%.0f"),
			num(r.Throughput, "%.0f"), millis(r.P50ms), millis(r.P99ms), r.Errors, num(r.CPUBusyPct, "%.0f"),
			num(r.PeakRSSMB, "%.0f"), num(r.Baseline, "%.0f"), num(r.Ratio, "%.2f"), r.Target, met, note)
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for i, n := range notes {
			fmt.Fprintf(w, "[%d] %s\n", i+1, n)
		}
	}
}

// millis shows a latency with the precision it deserves.
func millis(v float64) string {
	switch {
	case v == 0:
		return ""
	case v < 0.1:
		return fmt.Sprintf("%.2g", v)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

func num(v float64, format string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(format, v)
}

// writeJSON writes the rows as bench-results.json: a list of objects.
func writeJSON(path string, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	os.Chmod(tmp.Name(), 0o644)
	return os.Rename(tmp.Name(), path)
}

// charted are the rows the chart shows: measured loads with a throughput.
func charted(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if r.Available && r.Throughput > 0 && r.Requests > 0 {
			out = append(out, r)
		}
	}
	return out
}

var engineColor = map[string]string{"sqlite": "#3b6fb6", "postgres": "#d9822b", "-": "#7a7a7a"}

// writeChart draws two bar charts side by side, on log scales: throughput
// and p99 latency per scenario and engine; baselines in grey, a red mark
// on rows whose target is not met.
func writeChart(w io.Writer, rows []Row, title string) {
	rows = charted(rows)
	const (
		labelW = 360
		panelW = 330
		gap    = 40
		rowH   = 22
		top    = 70
	)
	width := labelW + 2*panelW + gap + 30
	height := top + max(len(rows), 1)*rowH + 50
	esc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	panels := []struct {
		name  string
		x     int
		value func(Row) float64
		unit  string
	}{
		{"throughput (ops/s, log scale)", labelW, func(r Row) float64 { return r.Throughput }, "/s"},
		{"p99 latency (ms, log scale)", labelW + panelW + gap, func(r Row) float64 { return r.P99ms }, " ms"},
	}
	for _, p := range panels {
		lo, hi := logRange(rows, p.value)
		fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", p.x, top-30, esc(p.name))
		for e := lo; e <= hi; e++ {
			x := p.x + int(float64(panelW)*float64(e-lo)/float64(max(hi-lo, 1)))
			fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ddd"/>`+"\n", x, top-12, x, top+len(rows)*rowH)
			fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" fill="#666" font-size="10">%s</text>`+"\n", x, top-16, esc(pow10Label(e)))
		}
		for i, r := range rows {
			v := p.value(r)
			if v <= 0 {
				continue
			}
			frac := (math.Log10(v) - float64(lo)) / float64(max(hi-lo, 1))
			bw := max(int(frac*float64(panelW)), 1)
			y := top + i*rowH
			color := engineColor[r.Engine]
			if color == "" {
				color = "#888"
			}
			if strings.HasPrefix(r.Scenario, "baseline:") {
				color = "#9a9a9a"
			}
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", p.x, y+3, bw, rowH-6, color)
			fmt.Fprintf(w, `<text x="%d" y="%d" font-size="10">%s</text>`+"\n", p.x+bw+4, y+rowH/2+4, esc(short(v)+p.unit))
		}
	}
	for i, r := range rows {
		y := top + i*rowH + rowH/2 + 4
		label := r.Scenario + " [" + r.Engine + "]"
		fill := "#000"
		if r.Target != "" && !r.Met {
			fill = "#c0392b"
			label += " ✗"
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end" fill="%s">%s</text>`+"\n", labelW-10, y, fill, esc(label))
	}
	ly := top + len(rows)*rowH + 30
	lx := 10
	for _, e := range []string{"sqlite", "postgres", "-"} {
		name := e
		if e == "-" {
			name = "baseline / engine-independent"
		}
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly-10, engineColor[e], lx+16, ly, esc(name))
		lx += 40 + 7*len(name)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#c0392b">✗ target not met</text>`+"\n", lx, ly)
	fmt.Fprintln(w, `</svg>`)
}

// logRange is the range of powers of ten that holds every value.
func logRange(rows []Row, value func(Row) float64) (lo, hi int) {
	lo, hi = math.MaxInt, math.MinInt
	for _, r := range rows {
		if v := value(r); v > 0 {
			lo = min(lo, int(math.Floor(math.Log10(v))))
			hi = max(hi, int(math.Ceil(math.Log10(v))))
		}
	}
	if lo > hi {
		return 0, 1
	}
	if lo == hi {
		hi++
	}
	return lo, hi
}

func pow10Label(e int) string {
	switch {
	case e >= 6:
		return fmt.Sprintf("%gM", math.Pow10(e-6))
	case e >= 3:
		return fmt.Sprintf("%gk", math.Pow10(e-3))
	default:
		return fmt.Sprintf("%g", math.Pow10(e))
	}
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
