package inbound

import (
	"strings"
	"testing"
)

// TestSenderVerified is the decision the desk takes on a message's From
// when --inbound-trusted-authserv-id names mx.shop.example and
// mx2.shop.example: what the topmost Authentication-Results field of
// either says, and nothing else.
func TestSenderVerified(t *testing.T) {
	trusted := []string{"mx.shop.example", "mx2.shop.example"}
	const from = "claire@client.example"
	tests := []struct {
		name   string
		fields []string // Authentication-Results values, top first
		from   string   // default from
		want   bool
	}{
		{"dmarc pass", []string{"mx.shop.example; spf=pass smtp.mailfrom=client.example; dkim=pass header.d=client.example; dmarc=pass header.from=client.example"}, "", true},
		{"dmarc pass without header.from", []string{"mx.shop.example; dmarc=pass"}, "", true},
		{"dmarc pass for another From domain", []string{"mx.shop.example; dmarc=pass header.from=other.example"}, "", false},
		{"dkim pass of the From domain", []string{"mx.shop.example; dkim=pass (2048-bit key) header.d=Client.Example header.s=sel"}, "", true},
		{"dkim pass by header.i only (Gmail)", []string{"mx.shop.example; dkim=pass header.i=@client.example header.s=20230601 header.b=abc; spf=pass (mx.shop.example: domain of claire@client.example designates 192.0.2.1 as permitted sender) smtp.mailfrom=claire@client.example"}, "", true},
		{"dkim fail", []string{"mx.shop.example; dkim=fail reason=\"signature verification failed\" header.d=client.example; dmarc=fail header.from=client.example"}, "", false},
		{"dmarc none, spf pass only", []string{"mx.shop.example; spf=pass smtp.mailfrom=client.example; dkim=none; dmarc=none"}, "", false},
		{"none", []string{"mx.shop.example; none"}, "", false},
		{"no field at all", nil, "", false},
		{"forged lower field", []string{
			"mx.shop.example; dkim=fail header.d=client.example; dmarc=fail header.from=client.example",
			"mx.shop.example; dkim=pass header.d=client.example; dmarc=pass header.from=client.example",
		}, "", false},
		{"forged lower field under a trusted one that does not parse", []string{
			"mx.shop.example 2; dmarc=pass",
			"mx.shop.example; dmarc=pass header.from=client.example",
		}, "", false},
		{"trusted field below another server's", []string{
			"relay.shop.example; dkim=fail",
			"mx.shop.example; dkim=pass header.d=client.example",
		}, "", true},
		{"another authserv-id only", []string{"mx.attacker.example; dmarc=pass header.from=client.example; dkim=pass header.d=client.example"}, "", false},
		{"authserv-id compared as a whole", []string{"mx.shop.example.attacker.example; dmarc=pass"}, "", false},
		{"authserv-id with version", []string{"MX.Shop.Example 1; dkim=pass header.d=client.example"}, "", true},
		{"dkim of another domain", []string{"mx.shop.example; dkim=pass header.d=attacker.example; dmarc=fail header.from=client.example"}, "", false},
		{"dkim of a domain that only ends alike", []string{"mx.shop.example; dkim=pass header.d=ent.example"}, "", false},
		{"dkim of a parent domain", []string{"mx.shop.example; dkim=pass header.d=client.example"}, "claire@eu.client.example", true},
		{"dkim of a subdomain", []string{"mx.shop.example; dkim=pass header.d=eu.client.example"}, "", false},
		{"dkim of a top-level domain", []string{"mx.shop.example; dkim=pass header.d=example"}, "", false},
		{"no From", []string{"mx.shop.example; dmarc=pass"}, "-", false},
		{"the other trusted MX's field on top", []string{
			"mx2.shop.example; dkim=fail header.d=client.example",
			"mx.shop.example; dkim=pass header.d=client.example",
		}, "", false},
		{"the other trusted MX vouches", []string{"MX2.shop.example; dmarc=pass header.from=client.example"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.from
			if f == "" {
				f = from
			} else if f == "-" {
				f = ""
			}
			var raw strings.Builder
			raw.WriteString("Received: from mx.shop.example by comptoir\r\n")
			for _, v := range tt.fields {
				raw.WriteString("Authentication-Results: " + v + "\r\n")
			}
			raw.WriteString("From: " + f + "\r\nTo: support@shop.example\r\nSubject: hello\r\n\r\nbody\r\n")
			if got := SenderVerified([]byte(raw.String()), trusted, f); got != tt.want {
				t.Errorf("SenderVerified = %v, want %v", got, tt.want)
			}
		})
	}
	// Folded over several lines, as servers write it.
	raw := "Authentication-Results: mx.shop.example;\r\n\tdkim=pass header.d=client.example\r\n\theader.s=sel;\r\n\tdmarc=pass header.from=client.example\r\nFrom: " + from + "\r\n\r\nbody\r\n"
	if !SenderVerified([]byte(raw), trusted, from) {
		t.Error("a folded field was not read")
	}

	// From is one mailbox, read plainly, or the server may have checked
	// another domain than the one of the From the desk read: here the
	// sender's own, signed by it, whose dmarc=pass names no header.from.
	const own = "mx.shop.example; dkim=pass header.d=attacker.example; dmarc=pass"
	const customers = "mx.shop.example; dmarc=pass header.from=client.example"
	for _, tt := range []struct {
		name, field, header string
		want                bool
	}{
		{"two addresses in From", own, "From: Claire <claire@client.example>, Eve <eve@attacker.example>", false},
		{"two From fields", own, "From: claire@client.example\r\nFrom: eve@attacker.example", false},
		{"a From only a lenient reading makes one address of", own, "From: claire@client.example <eve@attacker.example>", false},
		{"a From of another address than the desk read", own, "From: eve@attacker.example", false},
		{"display name in UTF-8", customers, "From: Clément Zoé <Claire@Client.Example>", true},
		{"encoded display name, any charset", customers, "From: =?koi8-r?b?8M/M?= <claire@client.example>", true},
		{"folded From", customers, "From: \"Claire, Ltd\"\r\n <claire@client.example>", true},
	} {
		raw := "Authentication-Results: " + tt.field + "\r\n" + tt.header + "\r\nTo: support@shop.example\r\n\r\nbody\r\n"
		if got := SenderVerified([]byte(raw), trusted, from); got != tt.want {
			t.Errorf("%s: SenderVerified = %v, want %v", tt.name, got, tt.want)
		}
	}
}
