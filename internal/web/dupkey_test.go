package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// tokenDuplicateKey is duplicateKey as it was written first, on a
// json.Decoder's tokens: the reference the byte walk must agree with.
func tokenDuplicateKey(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path string) (string, error)
	walk = func(path string) (string, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch tok {
		case json.Delim('{'):
			var seen []string
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return "", err
				}
				key, _ := tok.(string)
				at := key
				if path != "" {
					at = path + "." + key
				}
				for _, k := range seen {
					if strings.EqualFold(k, key) {
						return at, nil
					}
				}
				seen = append(seen, key)
				if dup, err := walk(at); dup != "" || err != nil {
					return dup, err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if dup, err := walk(fmt.Sprintf("%s[%d]", path, i)); dup != "" || err != nil {
					return dup, err
				}
			}
		default:
			return "", nil
		}
		_, err = dec.Token() // the closing delimiter
		return "", err
	}
	dup, _ := walk("")
	return dup
}

var duplicateKeyBodies = []string{
	`{}`, `[]`, `1`, `"x"`, `null`, ` {"a":1} `,
	`{"payment":"balance","payment":"card"}`,
	`{"Payment":"balance","payment":"card"}`,
	`{"consent":{"immediate_performance":true,"withdrawal_waiver":true,"withdrawal_waiver":false}}`,
	`{"lines":[{"product_id":"p","quantity":1,"quantity":2}]}`,
	`{"lines":[{"product_id":"p"},{"product_id":"q","Product_ID":"r"}]}`,
	`{"lines":[{"product_id":"p","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`,
	`{"a":{"b":[1,2,{"c":1,"d":[{"e":1,"e":2}]}]}}`,
	`[[{"a":1}],[{"a":1,"A":2}]]`,
	`{"a":"x\"y","b":"\\","a\u0062":1,"ab":2}`,
	`{"caf\u00e9":1,"CAFÉ":2}`,
	`{"k":"}","k2":"]","k3":",","k":0}`,
	`{"a" : 1 , "b" : [ 1 , 2 ] , "a" : 3 }`,
	"{\"a\":1,\n\t\"b\":{\"c\":true,\"c\":false}}",
	`{"x":-1.5e+10,"y":[true,false,null],"y":1}`,
	`{"\ud83d\ude00":1,"😀":2}`,
	`{"a":{},"b":[],"a":[]}`,
}

// The byte walk finds the same duplicate, on the same path, as the
// decoder's tokens did, for every well-formed body.
func TestDuplicateKeyAsTheDecoderReadsIt(t *testing.T) {
	for _, body := range duplicateKeyBodies {
		if got, want := duplicateKey([]byte(body)), tokenDuplicateKey([]byte(body)); got != want {
			t.Errorf("%s: duplicate %q, want %q", body, got, want)
		}
	}
}

func FuzzDuplicateKey(f *testing.F) {
	for _, body := range duplicateKeyBodies {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		if got, want := duplicateKey([]byte(body)), tokenDuplicateKey([]byte(body)); got != want {
			t.Errorf("%q: duplicate %q, want %q", body, got, want)
		}
	})
}

// BenchmarkDuplicateKey: a checkout's body, as every POST /api/v1/orders
// sends it.
//
//	go test ./internal/web -run '^$' -bench DuplicateKey -benchmem
func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"lines":[{"product_id":"prd_01JD3X9K2M4N5P6Q7R8S9T0V","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`)
	for _, bc := range []struct {
		name string
		f    func([]byte) string
	}{{"bytes", duplicateKey}, {"tokens", tokenDuplicateKey}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.f(body) != "" {
					b.Fatal("duplicate found")
				}
			}
		})
	}
}
