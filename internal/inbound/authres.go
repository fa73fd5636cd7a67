package inbound

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// SenderVerified reports whether a mail server named in trusted (the
// authserv-id it writes in its Authentication-Results fields, RFC 8601)
// vouched that the message raw comes from the domain of from, its From
// address: DMARC passed, or a DKIM signature of that domain (or of a
// parent domain) verified.
//
// Only the topmost Authentication-Results field with one of those
// authserv-ids is read. A receiving server adds its field above those already there, so
// the ones below it came with the message, perhaps written by its sender
// to pass for the server's (only some servers remove, as RFC 8601
// section 5 asks, those that came with their id). Anything
// else (no such field, one that does not parse, spf alone, which says
// nothing of From) is no.
//
// So is a message whose From is not one mailbox, from, as read plainly:
// two From fields, two addresses in one, or a field only a lenient reading
// makes an address of. The server checked one From domain, and which one
// (the first, the last, one it salvaged) is its parser's choice, not
// necessarily the desk's: a server that writes dmarc=pass without naming
// header.from, after checking the sender's own domain listed beside a
// customer's, would otherwise vouch for the customer.
func SenderVerified(raw []byte, trusted []string, from string) bool {
	_, domain, ok := strings.Cut(from, "@")
	domain = normalDomain(domain)
	if !ok || domain == "" {
		return false
	}
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if !oneFrom(h, from) {
		return false
	}
	for _, v := range h["Authentication-Results"] {
		id := authservIDOf(v)
		if !slices.ContainsFunc(trusted, func(t string) bool { return t != "" && strings.EqualFold(t, id) }) {
			continue
		}
		_, results, err := authres.Parse(v)
		if err != nil {
			return false // the trusted server's own field: no falling back to a lower one
		}
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DMARCResult:
				// DMARC is about the From domain; a header.from naming
				// another one was about another From than the one read.
				if r.Value == authres.ResultPass && (r.From == "" || normalDomain(r.From) == domain) {
					return true
				}
			case *authres.DKIMResult:
				if r.Value == authres.ResultPass && withinDomain(domain, dkimDomain(r)) {
					return true
				}
			}
		}
		return false
	}
	return false
}

// fromParser reads a From field strictly (RFC 5322, UTF-8 allowed), its
// encoded display name in any charset: only the address matters here.
var fromParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// oneFrom reports whether h has a single From field holding a single
// mailbox, from (in any case).
func oneFrom(h textproto.MIMEHeader, from string) bool {
	if len(h["From"]) != 1 {
		return false
	}
	list, err := fromParser.ParseList(h.Get("From"))
	return err == nil && len(list) == 1 && strings.EqualFold(list[0].Address, strings.TrimSpace(from))
}

// authservIDOf is the authserv-id of an Authentication-Results value: its
// first word, before any version and the first ";". Read apart from
// authres.Parse, which names no id for a field it refuses, so that such a
// field of the trusted server still hides those below it.
func authservIDOf(v string) string {
	head, _, _ := strings.Cut(v, ";")
	if f := strings.Fields(head); len(f) > 0 {
		return f[0]
	}
	return ""
}

// dkimDomain is the signing domain of a DKIM result: header.d, or the
// domain of header.i (what Gmail writes), which the signature's d= is
// equal to or a parent of.
func dkimDomain(r *authres.DKIMResult) string {
	if r.Domain != "" {
		return normalDomain(r.Domain)
	}
	if _, d, ok := strings.Cut(r.Identifier, "@"); ok {
		return normalDomain(d)
	}
	return ""
}

// withinDomain reports whether domain is signer or one of its subdomains
// (DKIM's relaxed alignment, as DMARC applies it). A one-label signer (a
// top-level domain) vouches for nobody.
func withinDomain(domain, signer string) bool {
	if signer == "" || !strings.Contains(signer, ".") {
		return false
	}
	return domain == signer || strings.HasSuffix(domain, "."+signer)
}

func normalDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}
