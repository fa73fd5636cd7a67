package inbound

import (
	"net/mail"
	"regexp"
	"strings"
)

// ThreadIDs returns the message ids a reply may thread to, most specific
// first: In-Reply-To, then References newest-first (References lists the
// oldest first), deduplicated, without the message's own id. The desk looks
// each one up against every stored Message-ID, in this order.
func ThreadIDs(m Message) []string {
	var out []string
	seen := map[string]bool{m.MessageID: true}
	add := func(id string) {
		for _, id := range ParseMessageIDs(id) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	add(m.InReplyTo)
	for i := len(m.References) - 1; i >= 0; i-- {
		add(m.References[i])
	}
	return out
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9]{8,64}$`)

// ReplyToken finds a per-ticket reply address, support+TOKEN@domain, among
// addresses (typically To then Cc) for the support address supportAddr
// ("support@shop.example"). Local part and domain compare case-insensitively;
// the token must be 8 to 64 ASCII letters and digits and is returned as
// written (some MTAs change its case: tokens should be minted in one case
// and looked up case-insensitively).
func ReplyToken(addresses []mail.Address, supportAddr string) (token string, ok bool) {
	local, domain, found := splitAddr(supportAddr)
	if !found {
		return "", false
	}
	for _, a := range addresses {
		if t, ok := plusToken(a.Address, local, domain); ok {
			return t, true
		}
	}
	return "", false
}

// plusToken returns TOKEN when addr is local+TOKEN@domain.
func plusToken(addr, local, domain string) (string, bool) {
	l, d, ok := splitAddr(addr)
	if !ok || !strings.EqualFold(d, domain) || len(l) <= len(local)+1 {
		return "", false
	}
	if !strings.EqualFold(l[:len(local)], local) || l[len(local)] != '+' {
		return "", false
	}
	t := l[len(local)+1:]
	if !tokenRE.MatchString(t) {
		return "", false
	}
	return t, true
}

// splitAddr splits "local@domain" (surrounding angle brackets and spaces
// tolerated) at the last "@".
func splitAddr(addr string) (local, domain string, ok bool) {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], strings.TrimSuffix(addr[at+1:], "."), true
}

// Ticket references are "T-" followed by 6 to 10 Crockford base32 symbols
// (0-9 and A-Z without I, L, O, U), written "#T-7K3P9Q" or "[#T-7K3P9Q]" in
// subjects. Matching is case-insensitive; the reference comes back upper case.
var subjectRefRE = regexp.MustCompile(`(?i)#(T-[0-9A-HJKMNP-TV-Z]{6,10})`)

// SubjectReference finds a ticket reference anywhere in a subject
// ("Re: [#T-7K3P9Q] Commande 1042", "TR: suivi #t-7k3p9q") and returns it
// as "T-7K3P9Q". A longer run of letters or digits right after the
// reference ("#T-7K3P9Q7K3P9Q7K") is not a reference.
func SubjectReference(subject string) (ref string, ok bool) {
	for _, loc := range subjectRefRE.FindAllStringSubmatchIndex(subject, -1) {
		end := loc[1]
		if end < len(subject) && isAlnum(subject[end]) {
			continue
		}
		return strings.ToUpper(subject[loc[2]:loc[3]]), true
	}
	return "", false
}

func isAlnum(c byte) bool { return isASCIILetter(c) || c >= '0' && c <= '9' }

// IsSupportRecipient reports whether addr is one of supportAddrs or one of
// their +TOKEN forms (case-insensitive).
func IsSupportRecipient(addr string, supportAddrs []string) bool {
	l, d, ok := splitAddr(addr)
	if !ok {
		return false
	}
	for _, s := range supportAddrs {
		sl, sd, ok := splitAddr(s)
		if !ok {
			continue
		}
		if strings.EqualFold(l, sl) && strings.EqualFold(d, sd) {
			return true
		}
		if _, ok := plusToken(addr, sl, sd); ok {
			return true
		}
	}
	return false
}
