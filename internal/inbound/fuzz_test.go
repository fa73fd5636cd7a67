package inbound

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if len(raw) == 0 {
			if err == nil {
				t.Fatal("empty input accepted")
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if !bytes.Equal(m.Raw, raw) {
			t.Fatal("Raw lost")
		}
		if m.MessageID == "" {
			t.Fatal("no MessageID")
		}
		for _, a := range m.Attachments {
			if a.FileName == "" || bytes.ContainsAny([]byte(a.FileName), "/\\\x00\r\n") {
				t.Fatalf("unsafe file name %q", a.FileName)
			}
		}
		if bytes.ContainsAny([]byte(m.Subject+m.From.Name+m.From.Address), "\r\n") {
			t.Fatalf("line break in header fields: %q", m.Subject)
		}
		_ = ThreadIDs(m)
	})
}
