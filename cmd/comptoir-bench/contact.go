package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"comptoir/internal/db"
)

// The contact form scenario's pieces (contactForm in scenarios.go).

// contactBoundary separates the parts of the contact form's body, as a
// browser's multipart boundary does.
const contactBoundary = "----comptoirBenchBoundaryq7Wd2mT0"

// contactBody is the body a browser sends for the Contact page's form
// (multipart/form-data, its fields in the page's order, the empty file
// input included) from visitor seq.
func contactBody(seq uint64) []byte {
	n := strconv.FormatUint(seq, 10)
	var b bytes.Buffer
	b.Grow(1024)
	field := func(name, value string) {
		b.WriteString("--" + contactBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n")
	}
	field("name", "Visitor "+n)
	field("email", contactEmail(seq))
	field("order_ref", "")
	field("topic", "question")
	field("message", "Hello, is the service available in my country? (comptoir-bench visitor "+n+")")
	b.WriteString("--" + contactBoundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n")
	b.WriteString("--" + contactBoundary + "--\r\n")
	return b.Bytes()
}

// contactHeader is what a browser sends with the Contact page's form
// (contactBody) on the store at base, from visitor seq.
func contactHeader(base string, seq uint64) http.Header {
	return http.Header{
		"Content-Type":    {"multipart/form-data; boundary=" + contactBoundary},
		"Origin":          {base},
		"Referer":         {base + "/contact"},
		"Sec-Fetch-Site":  {"same-origin"},
		"Sec-Fetch-Mode":  {"navigate"},
		"Sec-Fetch-Dest":  {"document"},
		"Accept":          {"text/html,application/xhtml+xml"},
		"Accept-Language": {"fr-FR,fr;q=0.9"},
		"X-Forwarded-For": {visitorAddr(seq)},
	}
}

// visitorAddr is the address the load generator, acting as the server's
// reverse proxy, says visitor seq comes from: one per request in
// 10.0.0.0/8, so that the per-client limit of the form (ten an hour) is
// never what is measured. The warm-up's sequence numbers (from 2^40) wrap
// onto the same addresses: two messages from one address stay far below
// the limit.
func visitorAddr(seq uint64) string {
	return "10." + strconv.FormatUint(seq>>16&255, 10) + "." + strconv.FormatUint(seq>>8&255, 10) + "." + strconv.FormatUint(seq&255, 10)
}

// contactVisitorParam carries, in the form's address, which visitor sent
// it: the server ignores it, and the answer's URL gives it back to the
// verdict, which cannot otherwise tell which request an answer is for.
const contactVisitorParam = "bench_visitor"

// contactEmail is the address visitor seq writes from (contactBody).
func contactEmail(seq uint64) string {
	return "visitor-" + strconv.FormatUint(seq, 10) + "@bench.invalid"
}

// contactSentBy is the address of the visitor whose Contact form opened a
// ticket, as the server's answer says: a redirect to the confirmation
// page (303 to /contact/sent) setting its cookie, for the form posted to
// target (which names the visitor); "" for any other answer. The cookie
// holds the ticket sealed with the store's key, which the bench cannot
// read: the ticket is found again by the address it was written from.
func contactSentBy(code uint16, h http.Header, target string) string {
	if code != http.StatusSeeOther || h.Get("Location") != "/contact/sent" {
		return ""
	}
	set := false
	for _, c := range (&http.Response{Header: h}).Cookies() {
		set = set || (c.Name == "comptoir_contact_sent" && c.Value != "" && c.MaxAge > 0)
	}
	u, err := url.Parse(target)
	if !set || err != nil {
		return ""
	}
	seq, err := strconv.ParseUint(u.Query().Get(contactVisitorParam), 10, 64)
	if err != nil {
		return ""
	}
	return contactEmail(seq)
}

// verifyTickets checks, once the server has stopped, that every ticket
// the contact form's answers acknowledged is in the database: one written
// from each acknowledged visitor's address.
func verifyTickets(scenario string) func(ctx context.Context, e *env, dbURL string) (string, error) {
	return func(ctx context.Context, e *env, dbURL string) (string, error) {
		e.mu.Lock()
		refs := append([]string(nil), e.acked[scenario]...)
		e.mu.Unlock()
		d, err := db.Open(ctx, dbURL)
		if err != nil {
			return "", err
		}
		defer d.Close()
		found, err := countPresent(ctx, d, "tickets", "customer_email", refs)
		if err != nil {
			return "", err
		}
		if found != len(refs) {
			return "", fmt.Errorf("%d tickets acknowledged, only %d in the database", len(refs), found)
		}
		return fmt.Sprintf("all %d acknowledged tickets found after the server stopped", len(refs)), nil
	}
}
