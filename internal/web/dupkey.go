package web

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// duplicateKey returns the path of the first key named twice in one object
// of a well-formed JSON body ("payment", "consent.withdrawal_waiver",
// "lines[0].quantity"), or "". Such a body is ambiguous: the decoder keeps
// the last, another reader may keep the first. Keys are compared without
// regard to case, as the decoder matches them to a struct's fields (the
// request bodies are structs, never free maps).
//
// body has been decoded already (decodeJSONBytes): it is one JSON value,
// so this walks its bytes rather than asking a json.Decoder for tokens,
// which cost every API write a tenth of its request's time (a string and
// an interface per token); the path is written only for the duplicate
// found. A body that is not well-formed gives "".
func duplicateKey(body []byte) string {
	// Room for the path's steps at once (one allocation rather than one
	// per level): a request body is a few levels deep.
	var steps [8]pathStep
	k := keyScanner{b: body, path: steps[:0]}
	k.value()
	return k.dup
}

// keyScanner walks a JSON value for duplicateKey.
type keyScanner struct {
	b    []byte
	i    int
	path []pathStep // the keys and indexes down to the value being walked
	dup  string     // the path of the duplicate found, when one is
}

// pathStep is one step of a value's path: an object's key or, when key is
// false, an array's index.
type pathStep struct {
	key   bool
	name  []byte // the key as the decoder reads it
	index int
}

func (k *keyScanner) ws() {
	for k.i < len(k.b) {
		switch k.b[k.i] {
		case ' ', '\t', '\n', '\r':
			k.i++
		default:
			return
		}
	}
}

// value walks one value; false: stop (a duplicate found, or the body is
// not well-formed).
func (k *keyScanner) value() bool {
	k.ws()
	if k.i >= len(k.b) {
		return false
	}
	switch k.b[k.i] {
	case '{':
		return k.object()
	case '[':
		return k.array()
	case '"':
		_, ok := k.str(false)
		return ok
	default:
		// A number or a literal: up to the next delimiter.
		for k.i < len(k.b) {
			switch k.b[k.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return true
			}
			k.i++
		}
		return true
	}
}

func (k *keyScanner) object() bool {
	k.i++ // {
	// The keys seen start on the stack: the body's objects have a few.
	var seenKeys [16][]byte
	seen := seenKeys[:0]
	for first := true; ; first = false {
		k.ws()
		if k.i >= len(k.b) {
			return false
		}
		if k.b[k.i] == '}' {
			k.i++
			return true
		}
		if !first {
			if k.b[k.i] != ',' {
				return false
			}
			k.i++
			k.ws()
		}
		if k.i >= len(k.b) || k.b[k.i] != '"' {
			return false
		}
		key, ok := k.str(true)
		if !ok {
			return false
		}
		k.path = append(k.path, pathStep{key: true, name: key})
		for _, s := range seen {
			if bytes.EqualFold(s, key) {
				k.dup = k.at()
				return false
			}
		}
		seen = append(seen, key)
		k.ws()
		if k.i >= len(k.b) || k.b[k.i] != ':' {
			return false
		}
		k.i++
		if !k.value() {
			return false
		}
		k.path = k.path[:len(k.path)-1]
	}
}

func (k *keyScanner) array() bool {
	k.i++ // [
	for n := 0; ; n++ {
		k.ws()
		if k.i >= len(k.b) {
			return false
		}
		if k.b[k.i] == ']' {
			k.i++
			return true
		}
		if n > 0 {
			if k.b[k.i] != ',' {
				return false
			}
			k.i++
		}
		k.path = append(k.path, pathStep{index: n})
		if !k.value() {
			return false
		}
		k.path = k.path[:len(k.path)-1]
	}
}

// str reads the string at k.i (its opening quote) and, when decode is
// set, returns it as the decoder reads it: its escapes resolved and any
// byte that is not UTF-8 replaced, as encoding/json does (a key of plain
// ASCII without escapes, the usual one, is its bytes in the body, not
// copied).
func (k *keyScanner) str(decode bool) ([]byte, bool) {
	start := k.i
	k.i++
	plain := true
	for k.i < len(k.b) {
		switch c := k.b[k.i]; {
		case c == '"':
			k.i++
			if !decode {
				return nil, true
			}
			raw := k.b[start:k.i]
			if plain {
				return raw[1 : len(raw)-1 : len(raw)-1], true
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, false
			}
			return []byte(s), true
		case c == '\\':
			plain = false
			k.i += 2
		case c >= utf8.RuneSelf:
			plain = false
			k.i++
		default:
			k.i++
		}
	}
	return nil, false
}

// at writes the path of the value being walked: keys joined by dots,
// indexes in brackets ("lines[0].quantity").
func (k *keyScanner) at() string {
	var b strings.Builder
	for _, s := range k.path {
		if !s.key {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(s.name)
	}
	return b.String()
}
