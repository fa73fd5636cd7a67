// Package id makes the opaque identifiers that every object carries.
//
// An id is a short type prefix, an underscore and 26 characters of Crockford
// base32 encoding 48 bits of milliseconds followed by 80 random bits. Ids made
// later sort after ids made earlier (to the millisecond), so they double as
// stable pagination cursors, while the random part makes them unguessable: an
// id reveals neither how many objects exist nor another customer's records.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// New returns a new id with the given prefix, such as "ord" or "cus".
func New(prefix string) string {
	return newAt(prefix, time.Now())
}

func newAt(prefix string, t time.Time) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(t.UnixMilli())<<16)
	rand.Read(raw[6:]) // never fails (crypto/rand panics on the impossible)
	var b strings.Builder
	b.Grow(len(prefix) + 27)
	b.WriteString(prefix)
	b.WriteByte('_')
	// 128 bits read 5 at a time from the most significant end gives 26
	// characters, the first carrying only 3 bits.
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := binary.BigEndian.Uint64(raw[8:])
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift > 59:
			v = hi<<(64-shift) | lo>>shift
		default:
			v = lo >> shift
		}
		b.WriteByte(alphabet[v&31])
	}
	return b.String()
}

// Valid reports whether s has the shape of an id with the given prefix. It is
// a cheap check for untrusted input before it reaches a query.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+27 || !strings.HasPrefix(s, prefix) || s[len(prefix)] != '_' {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !strings.ContainsRune(alphabet, c) {
			return false
		}
	}
	return true
}
