// Package id makes the opaque identifiers that every object carries.
//
// An id is a short type prefix, an underscore and 26 characters of Crockford
// base32 encoding 48 bits of milliseconds followed by 80 random bits. Ids made
// later sort after ids made earlier (to the millisecond, and within one
// process also inside a millisecond), so they double as stable pagination
// cursors and order rows written with the same time, while the random part
// makes them unguessable: an id reveals neither how many objects exist nor
// another customer's records.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"strings"
	"sync"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// New returns a new id with the given prefix, such as "ord" or "cus".
//
// Two ids made by this process in the same millisecond still sort in the
// order they were made: the second counts up from the first by a random
// step of up to 32 bits (so it stays unguessable) instead of drawing its 80
// bits afresh. Rows written together with one timestamp (a message and its
// automatic reply) then read back in the order they were written.
func New(prefix string) string {
	var fresh [10]byte
	rand.Read(fresh[:]) // never fails (crypto/rand panics on the impossible)
	ms := uint64(time.Now().UnixMilli())
	last.Lock()
	if ms > last.ms {
		last.ms, last.r16, last.r64 = ms, binary.BigEndian.Uint16(fresh[:2]), binary.BigEndian.Uint64(fresh[2:])
	} else {
		// The same millisecond, or the clock stepped back: after the last.
		var carry uint64
		last.r64, carry = bits.Add64(last.r64, uint64(binary.BigEndian.Uint32(fresh[:4]))|1, 0)
		last.r16 += uint16(carry)
		if carry == 1 && last.r16 == 0 {
			last.ms++ // 80 bits used up within one millisecond: take the next
		}
	}
	ms, r16, r64 := last.ms, last.r16, last.r64
	last.Unlock()
	return encode(prefix, ms, r16, r64)
}

// last is the newest id New made: its millisecond and random part.
var last struct {
	sync.Mutex
	ms  uint64
	r16 uint16
	r64 uint64
}

// newAt makes an id for time t with a fresh random part (tests).
func newAt(prefix string, t time.Time) string {
	var fresh [10]byte
	rand.Read(fresh[:])
	return encode(prefix, uint64(t.UnixMilli()), binary.BigEndian.Uint16(fresh[:2]), binary.BigEndian.Uint64(fresh[2:]))
}

func encode(prefix string, ms uint64, r16 uint16, r64 uint64) string {
	var b strings.Builder
	b.Grow(len(prefix) + 27)
	b.WriteString(prefix)
	b.WriteByte('_')
	// 128 bits read 5 at a time from the most significant end gives 26
	// characters, the first carrying only 3 bits.
	hi := ms<<16 | uint64(r16)
	lo := r64
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
