package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"comptoir/internal/apptest"
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

func TestVisitorAddr(t *testing.T) {
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
}

// TestContactAnswerNamesItsVisitor posts the scenario's form, as the
// scenario does, to a real store: its answer tells whose form opened a
// ticket, and the ticket written from that address is there to verify.
// The form's cookie once held the ticket's id, which the verdict read; it
// is sealed now, and every answer counted as an error.
func TestContactAnswerNamesItsVisitor(t *testing.T) {
	h := apptest.Start(t)
	target := h.URL + "/contact?" + contactVisitorParam + "=42"
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(contactBody(42)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = contactHeader(h.URL, 42)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	from := contactSentBy(uint16(res.StatusCode), res.Header, target)
	if from != "visitor-42@bench.invalid" {
		t.Fatalf("answer %d %v: visitor %q", res.StatusCode, res.Header, from)
	}
	var n int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM tickets WHERE customer_email = $1`, from).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d tickets from %s (%v)", n, from, err)
	}
	if got := contactSentBy(http.StatusOK, res.Header, target); got != "" {
		t.Fatalf("an answer that is not the redirect gave %q", got)
	}
	if got := contactSentBy(http.StatusSeeOther, http.Header{"Location": {"/contact"}}, target); got != "" {
		t.Fatalf("a redirect to the form gave %q", got)
	}
	if got := contactSentBy(uint16(res.StatusCode), res.Header, h.URL+"/contact"); got != "" {
		t.Fatalf("a form naming no visitor gave %q", got)
	}
}
