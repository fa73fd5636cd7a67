package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/alexedwards/argon2id"
)

// hashPassword hashes with the configured argon2id parameters; the encoded
// hash carries them and its salt, so verification needs nothing else.
func (s *Service) hashPassword(password string) (string, error) {
	h, err := argon2id.CreateHash(password, s.opts.HashParams)
	if err != nil {
		return "", fmt.Errorf("account: hash password: %w", err)
	}
	return h, nil
}

// checkPasswordHash reports whether password matches hash, in constant time
// with respect to the key. A hash that cannot be decoded is an error, not a
// mismatch, so that a damaged row shows up in the logs.
func checkPasswordHash(password, hash string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("account: verify password: %w", err)
	}
	return ok, nil
}

// burnPasswordCheck spends the time of a real password check, for requests
// that have no real hash to check against (an unknown email).
func (s *Service) burnPasswordCheck(password string) {
	s.dummyOnce.Do(func() {
		s.dummyHash, s.dummyErr = s.hashPassword(newSecret())
	})
	if s.dummyErr == nil {
		s.passwordChecks.Add(1)
		checkPasswordHash(password, s.dummyHash)
	}
}

// newSecret returns 256 random bits, base64url without padding (43
// characters): enough that guessing one is hopeless, so its SHA-256 can be
// stored and looked up directly.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails; crypto/rand crashes the program on the impossible
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how a session, API or reset token is stored and found.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
