// Package secretbox seals small secrets that comptoir must read back (not
// merely compare, as it does passwords and tokens through hashes), such as
// the TOTP secrets of staff accounts, so that a copy of the database
// without the key gives none of them away.
//
// A sealed value is text, "v1:" then base64url (no padding) of a random
// 96-bit nonce, the AES-256-GCM ciphertext and its tag; it fits a TEXT
// column on every engine. The version prefix leaves room for another
// scheme (or key) later and tells sealed values from clear ones written
// before sealing existed. Each value is bound to additional data chosen by
// the caller (its table and row), so a sealed value copied to another row
// does not open there.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Key is a secret key. It has no String method on purpose: printing one by
// mistake should not be easy.
type Key [KeySize]byte

// NewKey returns a fresh random key.
func NewKey() Key {
	var k Key
	rand.Read(k[:]) // never fails; crypto/rand crashes the program on the impossible
	return k
}

// Hex is the key as 64 hexadecimal characters, the form of the key file.
func (k Key) Hex() string { return hex.EncodeToString(k[:]) }

// ErrKeyFormat is a key that is not 32 bytes in one of the accepted
// spellings.
var ErrKeyFormat = errors.New("want 32 random bytes as 64 hex characters or base64")

// ParseKey reads a key given as 64 hexadecimal characters or as base64
// (standard or URL alphabet, padded or not). Surrounding white space is
// ignored (a key file ends with a newline). A key of all zeros is refused:
// it is what an unset key looks like.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	var b []byte
	if len(s) == 2*KeySize {
		b, _ = hex.DecodeString(s)
	} else if _, err := hex.DecodeString(s); err == nil && s != "" {
		// Most likely a hex key cut or padded by hand: say so in its terms.
		return Key{}, fmt.Errorf("%w (got %d hex characters)", ErrKeyFormat, len(s))
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(s); err == nil {
				b = d
				break
			}
		}
	}
	var k Key
	if len(b) != KeySize {
		if b != nil {
			return k, fmt.Errorf("%w (got %d bytes)", ErrKeyFormat, len(b))
		}
		return k, ErrKeyFormat
	}
	copy(k[:], b)
	if k == (Key{}) {
		return Key{}, fmt.Errorf("%w (got all zeros)", ErrKeyFormat)
	}
	return k, nil
}

// prefix marks a value sealed by this version of the scheme.
const prefix = "v1:"

// ErrNotSealed is a value without the "v1:" prefix: clear, or from a
// scheme this version does not know.
var ErrNotSealed = errors.New("secretbox: value is not sealed")

// ErrOpen is a sealed value that does not open: another key, other
// additional data, or damaged.
var ErrOpen = errors.New("secretbox: value does not open with this key (wrong key, wrong row or damaged)")

// Box seals and opens values with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for k. The zero key is refused.
func New(k Key) (*Box, error) {
	if k == (Key{}) {
		return nil, errors.New("secretbox: zero key")
	}
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// IsSealed reports whether v looks like a sealed value (it may still not
// open).
func IsSealed(v string) bool { return strings.HasPrefix(v, prefix) }

// Seal encrypts plaintext, bound to ad, with a fresh random nonce: sealing
// the same plaintext twice gives two different values.
func (b *Box) Seal(plaintext, ad []byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(b.aead.Seal(nil, nil, plaintext, ad))
}

// Open decrypts a value Seal made with the same key and ad. A value that is
// not sealed is ErrNotSealed; one that does not authenticate is ErrOpen.
func (b *Box) Open(v string, ad []byte) ([]byte, error) {
	if !IsSealed(v) {
		return nil, ErrNotSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(v[len(prefix):])
	if err != nil || len(raw) < b.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, nil, raw, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
