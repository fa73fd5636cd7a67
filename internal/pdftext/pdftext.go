// Package pdftext reads a PDF's text back in tests with pdftotext (Debian's
// poppler-utils, installed by make test), so that a test checks what a
// reader of the document sees, not what the generator was asked to write.
// Like browsertest, a missing pdftotext skips the test on a developer's
// machine and fails it under CI=true, where a missing tool must never pass
// silently.
package pdftext

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Text is the text of pdf with every run of white space (line breaks inside
// the page, no-break spaces) folded into one space, so that a sentence
// reads whole wherever the layout wrapped it.
func Text(t testing.TB, pdf []byte) string {
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
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
