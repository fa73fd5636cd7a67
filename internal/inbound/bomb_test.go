package inbound

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"comptoir/internal/testcpu"
)

// parseBounded parses raw and fails when it takes more than limit of CPU
// time or allocates more than maxAlloc bytes in all.
func parseBounded(t *testing.T, raw []byte, limit time.Duration, maxAlloc uint64) Message {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var m Message
	var err error
	took := testcpu.Spent(func() { m, err = Parse(raw) })
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if took > limit {
		t.Errorf("took %s of CPU for %d bytes", took, len(raw))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Errorf("allocated %d MiB for %d bytes", alloc>>20, len(raw))
	}
	if !bytes.Equal(m.Raw, raw) {
		t.Error("raw bytes lost")
	}
	return m
}

// A deeply nested multipart (each part a multipart holding the next) is
// parsed in bounded time and memory, and the message is kept.
func TestDeeplyNestedMultipartIsBounded(t *testing.T) {
	const depth = 5000
	var b strings.Builder
	b.WriteString("From: a@example.fr\r\nSubject: nested\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n--b%d--\r\n", depth, depth)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	raw := []byte(b.String())
	m := parseBounded(t, raw, 5*time.Second, 128<<20)
	if m.Subject != "nested" || m.From.Address != "a@example.fr" || !m.Unparsed || !strings.Contains(strings.Join(m.ParseErrors, ";"), "too complex") {
		t.Errorf("nested: subject %q from %q unparsed %v errors %q", m.Subject, m.From.Address, m.Unparsed, m.ParseErrors)
	}
}

// Many sibling parts: bounded too.
func TestThousandsOfPartsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.fr\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"../../etc/p%d\"\r\n\r\nA\r\n", i)
	}
	b.WriteString("--x--\r\n")
	m := parseBounded(t, []byte(b.String()), 5*time.Second, 128<<20)
	if !m.Unparsed || m.Subject != "parts" {
		t.Errorf("20000 parts: unparsed %v, subject %q", m.Unparsed, m.Subject)
	}
	for _, a := range m.Attachments {
		if strings.ContainsAny(a.FileName, "/\\") {
			t.Fatalf("path kept in file name %q", a.FileName)
		}
	}
}

// A zip whose header declares gigabytes is an attachment like any other:
// kept as the bytes received (a few hundred), never inflated, with a safe
// name.
func TestZipBombAttachmentIsNotInflated(t *testing.T) {
	var zip bytes.Buffer
	zip.Write([]byte("PK\x03\x04"))
	hdr := make([]byte, 26)
	binary.LittleEndian.PutUint16(hdr[4:], 8)           // deflate
	binary.LittleEndian.PutUint32(hdr[14:], 1<<20)      // compressed size
	binary.LittleEndian.PutUint32(hdr[18:], 0xFFFFFFFF) // uncompressed: 4 GiB
	binary.LittleEndian.PutUint16(hdr[22:], 9)
	zip.Write(hdr)
	zip.WriteString("bomb.txt")
	zip.Write(bytes.Repeat([]byte{0}, 300))
	raw := "From: a@example.fr\r\nSubject: bomb\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n" +
		"--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--z\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"..\\\\..\\\\bomb.zip\"\r\n\r\n" +
		base64.StdEncoding.EncodeToString(zip.Bytes()) + "\r\n--z--\r\n"
	m := parseBounded(t, []byte(raw), 5*time.Second, 64<<20)
	if len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, zip.Bytes()) || strings.ContainsAny(m.Attachments[0].FileName, "/\\") {
		t.Fatalf("attachments %+v", m.Attachments)
	}
}
