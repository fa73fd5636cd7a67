package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The contact form's body must be what the server reads as the form a
// browser sends: its fields, and the empty file input.
func TestContactBodyIsTheBrowserForm(t *testing.T) {
	r := httptest.NewRequest("POST", "/contact", bytes.NewReader(contactBody(42)))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+contactBoundary)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	f := r.MultipartForm
	if f.Value["email"][0] != "visitor-42@bench.invalid" || f.Value["topic"][0] != "question" || f.Value["order_ref"][0] != "" ||
		f.Value["name"][0] != "Visitor 42" || len(f.Value["message"][0]) == 0 {
		t.Fatalf("fields %v", f.Value)
	}
	// Go reads a file part without a file name as a value: the server
	// sees no attachment, as from a browser's empty file input.
	if len(f.File["files"]) != 0 || len(f.Value["files"]) != 1 || f.Value["files"][0] != "" {
		t.Fatalf("files %+v %q", f.File["files"], f.Value["files"])
	}
}

func TestVisitorAddrAndReference(t *testing.T) {
	seen := map[string]bool{}
	for seq := uint64(0); seq < 70000; seq++ {
		a := visitorAddr(seq)
		if seen[a] {
			t.Fatalf("address %s given twice", a)
		}
		seen[a] = true
	}
	if got := visitorAddr(1<<16 + 2<<8 + 3); got != "10.1.2.3" {
		t.Fatalf("visitorAddr = %s", got)
	}
	sent := http.Header{"Location": {"/contact/sent"}, "Set-Cookie": {"comptoir_contact_sent=tkt_01JQ7K2M9QXZ; Path=/; Max-Age=600; HttpOnly"}}
	if got := contactTicket(http.StatusSeeOther, sent); got != "tkt_01JQ7K2M9QXZ" {
		t.Fatalf("ticket %q", got)
	}
	if got := contactTicket(http.StatusOK, sent); got != "" {
		t.Fatalf("an answer that is not the redirect gave %q", got)
	}
	if got := contactTicket(http.StatusSeeOther, http.Header{"Location": {"/contact"}}); got != "" {
		t.Fatalf("a redirect to the form gave %q", got)
	}
}
