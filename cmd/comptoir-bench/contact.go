package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
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

var ticketIDRE = regexp.MustCompile(`^tkt_[0-9A-Za-z]+$`)

// contactTicket is the ticket a Contact form opened, as the server's answer
// says: a redirect to the confirmation page (303 to /contact/sent) with the
// ticket's id in the comptoir_contact_sent cookie; "" for any other answer.
func contactTicket(code uint16, h http.Header) string {
	if code != http.StatusSeeOther || h.Get("Location") != "/contact/sent" {
		return ""
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "comptoir_contact_sent" && ticketIDRE.MatchString(c.Value) {
			return c.Value
		}
	}
	return ""
}

// verifyTickets checks, once the server has stopped, that every ticket
// the contact form's answers named is in the database.
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
		found, err := countPresent(ctx, d, "tickets", "id", refs)
		if err != nil {
			return "", err
		}
		if found != len(refs) {
			return "", fmt.Errorf("%d tickets acknowledged, only %d in the database", len(refs), found)
		}
		return fmt.Sprintf("all %d acknowledged tickets found after the server stopped", len(refs)), nil
	}
}
