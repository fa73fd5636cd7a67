package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

// postVia submits a form as a browser page would, through a proxy that
// says the request came from xff (nothing when empty).
func postVia(h *apptest.Harness, c *apptest.Client, path string, form url.Values, xff string) apptest.Response {
	hdr := http.Header{"Origin": {h.URL}, "Sec-Fetch-Site": {"same-origin"}}
	if xff != "" {
		hdr.Set("X-Forwarded-For", xff)
	}
	return c.Send(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), hdr)
}

func contactForm(n int) url.Values {
	return url.Values{"name": {"Ana"}, "email": {"ana" + strconv.Itoa(n) + "@example.fr"}, "topic": {"question"}, "message": {"Hello " + strconv.Itoa(n)}}
}

// contactLimit is web.contactLimit: ten messages an hour per client.
const contactLimit = 10

// Behind a trusted proxy (the test's loopback peer), the contact form's
// rate limit counts each forwarded client on its own, whatever a client
// writes into the header itself; and the sessions record the forwarded
// address.
func TestContactLimitPerForwardedClient(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1/32, ::1" })
	c := h.NewClient(t)
	for i := range contactLimit {
		// The client prepends addresses of its own to dodge the limit;
		// the proxy appends the real one, which is the one counted.
		xff := "198.51.100." + strconv.Itoa(i) + ", 203.0.113.7"
		if r := postVia(h, c, "/contact", contactForm(i), xff); r.Status != http.StatusSeeOther || r.Location != "/contact/sent" {
			t.Fatalf("message %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := postVia(h, c, "/contact", contactForm(99), "203.0.113.7"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the 11th message from 203.0.113.7 answered %d, want 429", r.Status)
	}
	// Another visitor behind the same proxy is not held up by the first,
	// nor is one that reaches the store through a chain of proxies (the
	// trusted hops are skipped).
	for _, xff := range []string{"203.0.113.8", "2001:db8::7, 127.0.0.1"} {
		if r := postVia(h, c, "/contact", contactForm(100), xff); r.Status != http.StatusSeeOther {
			t.Fatalf("a different client (%s) answered %d", xff, r.Status)
		}
	}
	// Unreadable forwarding falls back to the peer, which has its own
	// bucket: the limited client cannot escape by sending garbage.
	if r := postVia(h, c, "/contact", contactForm(101), "garbage"); r.Status != http.StatusSeeOther {
		t.Fatalf("garbage header: %d", r.Status)
	}
	if r := postVia(h, c, "/contact", contactForm(102), "203.0.113.7:40000"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the limited client with a port answered %d, want 429", r.Status)
	}
	var n int
	if err := h.App.DB.Read.QueryRow(`SELECT COUNT(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != contactLimit+3 {
		t.Fatalf("%d tickets, want %d", n, contactLimit+3)
	}

	u, _ := h.User(t, "customer", "lea@example.fr")
	if r := postVia(h, h.NewClient(t), "/signin", url.Values{"email": {u.Email}, "password": {apptest.Password}}, "192.0.2.44"); r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
	sessions, err := h.App.Accounts.ListSessions(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range sessions {
		found = found || s.IP == "192.0.2.44"
	}
	if !found {
		t.Fatalf("no session records the forwarded address: %+v", sessions)
	}
}

// When the peer is not a trusted proxy, X-Forwarded-For is anyone's
// writing and is ignored: changing it does not buy a fresh limit.
func TestUntrustedPeerForwardedForIgnored(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.TrustedProxies = "10.0.0.0/8" })
	c := h.NewClient(t)
	for i := range contactLimit {
		if r := postVia(h, c, "/contact", contactForm(i), "203.0.113."+strconv.Itoa(i)); r.Status != http.StatusSeeOther {
			t.Fatalf("message %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := postVia(h, c, "/contact", contactForm(99), "203.0.113.99"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a spoofed header from an untrusted peer got past the limit: %d", r.Status)
	}
}
