package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"comptoir/internal/apptest"
)

// TestAttachmentSizesReadAsPeopleReadThem: the console and the customer's
// ticket page showed an attachment's size as a raw count ("183245
// octets"). Both show it in kilobytes or megabytes, in the reader's
// language: "179 Ko", "179 KB".
func TestAttachmentSizesReadAsPeopleReadThem(t *testing.T) {
	h := apptest.Start(t)
	_, customer := h.User(t, "customer", "ana@example.fr")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"name": "Ana", "email": "ana@example.fr", "topic": "question", "message": "See the file."} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("files", "notes.txt")
	fw.Write(bytes.Repeat([]byte("a"), 183245))
	mw.Close()
	if r := customer.Send(http.MethodPost, "/contact", mw.FormDataContentType(), &body, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", r.Status, r.Body)
	}
	_, agent := h.User(t, "agent", "agent@shop.test")
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	for _, tc := range []struct{ lang, size string }{{"fr", "179\u00a0Ko"}, {"en", "179\u00a0KB"}} {
		for who, c := range map[string]*apptest.Client{"/console/tickets/": agent, "/support/tickets/": customer} {
			c.PostForm("/lang", url.Values{"lang": {tc.lang}})
			r := c.Get(who + id)
			// The console adds the file's type before its size ("text/plain,
			// 179 Ko"); the customer reads the size alone.
			mustContain(t, r, "notes.txt", tc.size+")")
			if strings.Contains(r.Body, "183245") || strings.Contains(r.Body, "183,245") || strings.Contains(r.Body, "183\u202f245") {
				t.Fatalf("%s%s in %s shows the raw count:\n%s", who, id, tc.lang, r.Body)
			}
		}
	}
}
