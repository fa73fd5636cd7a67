// Package pdftext reads a PDF's text back in tests with pdftotext (Debian's
// poppler-utils, installed by make test), so that a test checks what a
// reader of the document sees, not what the generator was asked to write.
// Like browsertest, a missing pdftotext skips the test on a developer's
// machine and fails it under CI=true, where a missing tool must never pass
// silently.
package pdftext

import (
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// run gives pdf to pdftotext with the options opts and returns what it
// prints (UTF-8). A missing pdftotext skips the test, or fails it under
// CI=true.
func run(t testing.TB, pdf []byte, opts ...string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is not installed (apt-get install poppler-utils)")
		}
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	in := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append(opts, "-enc", "UTF-8", in, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// Text is the text of pdf with every run of white space (line breaks inside
// the page, no-break spaces) folded into one space, so that a sentence
// reads whole wherever the layout wrapped it.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	return strings.Join(strings.Fields(run(t, pdf, "-layout")), " ")
}

// Word is one word of a page and where a reader sees it, in points from
// the page's top left corner.
type Word struct {
	Page                   int
	XMin, YMin, XMax, YMax float64
	Text                   string
}

var (
	pageTag = regexp.MustCompile(`<page `)
	wordTag = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>|<page `)
)

// Words is every word of pdf with its box, in reading order, so that a
// test can check where the layout put it (that a text stays in its column).
func Words(t testing.TB, pdf []byte) []Word {
	t.Helper()
	var words []Word
	page := 0
	for _, m := range wordTag.FindAllStringSubmatch(run(t, pdf, "-bbox"), -1) {
		if pageTag.MatchString(m[0]) {
			page++
			continue
		}
		w := Word{Page: page, Text: html.UnescapeString(m[5])}
		for i, f := range []*float64{&w.XMin, &w.YMin, &w.XMax, &w.YMax} {
			var err error
			if *f, err = strconv.ParseFloat(m[i+1], 64); err != nil {
				t.Fatalf("pdftotext: %q: %v", m[0], err)
			}
		}
		words = append(words, w)
	}
	return words
}
