package secretbox_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"comptoir/internal/secretbox"
)

func mustBox(t *testing.T, k secretbox.Key) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A sealed value opens with its key and additional data only; anything
// else, or any byte changed, is ErrOpen, and what was never sealed is
// ErrNotSealed.
func TestSealAndOpen(t *testing.T) {
	key, other := secretbox.NewKey(), secretbox.NewKey()
	box, otherBox := mustBox(t, key), mustBox(t, other)
	ad := []byte("user_totp:usr_1")
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	sealed := box.Seal([]byte(secret), ad)
	if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, secret) || !secretbox.IsSealed(sealed) {
		t.Fatalf("sealed value %q", sealed)
	}
	if again := box.Seal([]byte(secret), ad); again == sealed {
		t.Fatal("two seals of the same secret are equal: the nonce is not fresh")
	}
	// One byte of the ciphertext (or nonce, or tag) changed.
	raw, _ := base64.RawURLEncoding.DecodeString(sealed[3:])
	tampered := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return "v1:" + base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name  string
		box   *secretbox.Box
		value string
		ad    string
		want  string // plaintext, or "" with err
		err   error
	}{
		{"round trip", box, sealed, "user_totp:usr_1", secret, nil},
		{"empty plaintext", box, box.Seal(nil, ad), "user_totp:usr_1", "", nil},
		{"wrong key", otherBox, sealed, "user_totp:usr_1", "", secretbox.ErrOpen},
		{"wrong additional data (another row)", box, sealed, "user_totp:usr_2", "", secretbox.ErrOpen},
		{"no additional data", box, sealed, "", "", secretbox.ErrOpen},
		{"tampered nonce", box, tampered(0), "user_totp:usr_1", "", secretbox.ErrOpen},
		{"tampered ciphertext", box, tampered(14), "user_totp:usr_1", "", secretbox.ErrOpen},
		{"tampered tag", box, tampered(len(raw) - 1), "user_totp:usr_1", "", secretbox.ErrOpen},
		{"truncated", box, sealed[:len(sealed)-4], "user_totp:usr_1", "", secretbox.ErrOpen},
		{"too short for a nonce and tag", box, "v1:AAAA", "user_totp:usr_1", "", secretbox.ErrOpen},
		{"not base64url", box, "v1:@@@@", "user_totp:usr_1", "", secretbox.ErrOpen},
		{"prefix only", box, "v1:", "user_totp:usr_1", "", secretbox.ErrOpen},
		{"clear value", box, secret, "user_totp:usr_1", "", secretbox.ErrNotSealed},
		{"unknown version", box, "v2:" + sealed[3:], "user_totp:usr_1", "", secretbox.ErrNotSealed},
		{"empty value", box, "", "user_totp:usr_1", "", secretbox.ErrNotSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.value, []byte(tt.ad))
			if !errors.Is(err, tt.err) || string(got) != tt.want {
				t.Fatalf("Open = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	var want secretbox.Key
	for i := range want {
		want[i] = byte(0xf0 + i) // bytes that make + and / in std base64
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", hex.EncodeToString(want[:]), true},
		{"upper-case hex with a newline", strings.ToUpper(hex.EncodeToString(want[:])) + "\n", true},
		{"base64 std padded", base64.StdEncoding.EncodeToString(want[:]), true},
		{"base64 std unpadded", base64.RawStdEncoding.EncodeToString(want[:]), true},
		{"base64 url padded", base64.URLEncoding.EncodeToString(want[:]), true},
		{"base64 url unpadded", base64.RawURLEncoding.EncodeToString(want[:]), true},
		{"empty", "", false},
		{"too short hex", hex.EncodeToString(want[:16]), false},
		{"too long hex", hex.EncodeToString(append(want[:], 1)), false},
		{"64 chars, not hex", strings.Repeat("z", 64), false},
		{"base64 of 16 bytes", base64.StdEncoding.EncodeToString(want[:16]), false},
		{"base64 of 33 bytes", base64.StdEncoding.EncodeToString(append(want[:], 1)), false},
		{"a passphrase", "correct horse battery staple", false},
		{"all zeros", strings.Repeat("0", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := secretbox.ParseKey(tt.in)
			if tt.ok && (err != nil || k != want) {
				t.Fatalf("ParseKey(%q) = %x, %v", tt.in, k, err)
			}
			if !tt.ok && !errors.Is(err, secretbox.ErrKeyFormat) {
				t.Fatalf("ParseKey(%q): err %v, want ErrKeyFormat", tt.in, err)
			}
		})
	}
	if k := secretbox.NewKey(); k == (secretbox.Key{}) || k == secretbox.NewKey() {
		t.Fatal("NewKey is not random")
	}
	if back, err := secretbox.ParseKey(want.Hex()); err != nil || back != want {
		t.Fatalf("Hex does not parse back: %v", err)
	}
	if _, err := secretbox.New(secretbox.Key{}); err == nil {
		t.Fatal("a zero key makes a box")
	}
}
