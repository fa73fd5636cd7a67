// Package webhooksig verifies webhooks signed per the Standard Webhooks
// scheme (standardwebhooks.com): the sender signs "id.timestamp.body" with
// HMAC-SHA256 under a shared secret ("whsec_" + base64), and sends the id,
// the timestamp and "v1,<base64 signature>" (several, space-separated,
// during a key rotation) in the webhook-id, webhook-timestamp and
// webhook-signature headers. A timestamp far from now is refused, so a
// captured request cannot be replayed later.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a webhook's timestamp may be from now.
const Tolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrBadSecret    = errors.New("webhooksig: secret is not whsec_ followed by base64")
	ErrMissing      = errors.New("webhooksig: webhook-id, webhook-timestamp or webhook-signature missing")
	ErrBadTimestamp = errors.New("webhooksig: timestamp missing, malformed or too far from now")
	ErrNoMatch      = errors.New("webhooksig: no signature matches")
)

// Secret is a decoded signing secret.
type Secret []byte

// ParseSecret reads "whsec_<base64>".
func ParseSecret(s string) (Secret, error) {
	raw, ok := strings.CutPrefix(s, "whsec_")
	if !ok || raw == "" {
		return nil, ErrBadSecret
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(b) < 16 {
		return nil, ErrBadSecret
	}
	return b, nil
}

// Sign returns the webhook-signature value for a message.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, strconv.FormatInt(ts.Unix(), 10), body))
}

func (s Secret) mac(id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, s)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Signed reports whether the request carries Standard Webhooks headers.
func Signed(h http.Header) bool { return h.Get("webhook-signature") != "" }

// Verify checks the headers of a webhook against its body at time now.
func (s Secret) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrMissing
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrBadTimestamp
	}
	want := s.mac(id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatch
}
