package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
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
	field("email", "visitor-"+n+"@bench.invalid")
	field("order_ref", "")
	field("topic", "question")
	field("message", "Hello, is the service available in my country? (comptoir-bench visitor "+n+")")
	b.WriteString("--" + contactBoundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n")
	b.WriteString("--" + contactBoundary + "--\r\n")
	return b.Bytes()
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

var ticketRefRE = regexp.MustCompile(`\bT-[0-9A-Z]{8}\b`)

// contactReference is the ticket reference the page shows after a message
// is received (its "sent" section), or "" when the page is anything else.
func contactReference(body []byte) string {
	i := bytes.Index(body, []byte(`id="contact-sent"`))
	if i < 0 {
		return ""
	}
	return string(ticketRefRE.Find(body[i:]))
}

// verifyTickets checks, once the server has stopped, that every ticket
// whose reference the contact page showed is in the database.
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
		found, err := countPresent(ctx, d, "tickets", "reference", refs)
		if err != nil {
			return "", err
		}
		if found != len(refs) {
			return "", fmt.Errorf("%d tickets acknowledged, only %d in the database", len(refs), found)
		}
		return fmt.Sprintf("all %d acknowledged tickets found after the server stopped", len(refs)), nil
	}
}
