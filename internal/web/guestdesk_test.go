package web_test

import (
	"context"
	"regexp"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/mail"
)

var guestLinkRE = regexp.MustCompile(`/support/t/([A-Za-z0-9_-]{43})\b`)

// guestTokens are the guest link tokens in the mails of the kind to the
// address (the outbox's order among mails of one instant is not theirs).
func guestTokens(t *testing.T, h *apptest.Harness, kind, to string) []string {
	t.Helper()
	msgs, err := h.App.Outbox.List(context.Background(), mail.Filter{Kind: kind, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.To != to {
			continue
		}
		if g := guestLinkRE.FindStringSubmatch(m.Text); g != nil {
			out = append(out, g[1])
		}
	}
	return out
}

// guestToken is the token of the one mail of the kind to the address.
func guestToken(t *testing.T, h *apptest.Harness, kind, to string) string {
	t.Helper()
	toks := guestTokens(t, h, kind, to)
	if len(toks) != 1 {
		t.Fatalf("%s mails to %s with a guest link: %d", kind, to, len(toks))
	}
	return toks[0]
}
