package webhooksig

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

var secretText = "whsec_" + base64.StdEncoding.EncodeToString([]byte("a secret of thirty-two bytes!!!!"))

func headers(id string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestVerify(t *testing.T) {
	s, err := ParseSecret(secretText)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ParseSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret, also long enough")))
	now := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"line_id":"oln_1","delivered":40}`)
	good := s.Sign("msg_1", now, body)
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"valid", headers("msg_1", now, good), body, nil},
		{"valid among rotated keys", headers("msg_1", now, other.Sign("msg_1", now, body)+" "+good), body, nil},
		{"body changed", headers("msg_1", now, good), []byte(`{"line_id":"oln_1","delivered":400}`), ErrNoMatch},
		{"id changed", headers("msg_2", now, good), body, ErrNoMatch},
		{"other key", headers("msg_1", now, other.Sign("msg_1", now, body)), body, ErrNoMatch},
		{"old", headers("msg_1", now.Add(-6*time.Minute), s.Sign("msg_1", now.Add(-6*time.Minute), body)), body, ErrBadTimestamp},
		{"future", headers("msg_1", now.Add(6*time.Minute), s.Sign("msg_1", now.Add(6*time.Minute), body)), body, ErrBadTimestamp},
		{"unknown version", headers("msg_1", now, "v2,"+good[3:]), body, ErrNoMatch},
		{"missing", http.Header{}, body, ErrMissing},
	} {
		if err := s.Verify(tc.h, tc.body, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestParseSecret(t *testing.T) {
	for _, bad := range []string{"", "whsec_", "secret", "whsec_!!!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := ParseSecret(bad); !errors.Is(err, ErrBadSecret) {
			t.Errorf("ParseSecret(%q) = %v", bad, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	s, _ := ParseSecret(secretText)
	now := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	f.Add("msg_1", strconv.FormatInt(now.Unix(), 10), "v1,abc", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		if s.Verify(h, body, now) == nil && sig != s.Sign(id, now, body) {
			// Accepting anything but the real signature would be a forgery.
			if _, err := strconv.ParseInt(ts, 10, 64); err == nil {
				want := s.Sign(id, time.Unix(mustInt(ts), 0), body)
				if !containsField(sig, want) {
					t.Fatalf("accepted a forged signature %q", sig)
				}
			}
		}
	})
}

func mustInt(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func containsField(list, want string) bool {
	for i := 0; i+len(want) <= len(list); i++ {
		if list[i:i+len(want)] == want {
			return true
		}
	}
	return false
}
