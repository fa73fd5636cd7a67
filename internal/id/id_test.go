package id

import (
	"sort"
	"testing"
	"time"
)

func TestNewIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		v := New("ord")
		if !Valid("ord", v) {
			t.Fatalf("New made an invalid id %q", v)
		}
		if seen[v] {
			t.Fatalf("duplicate id %q", v)
		}
		seen[v] = true
	}
}

func TestIdsSortByTime(t *testing.T) {
	base := time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 50; i++ {
		ids = append(ids, newAt("x", base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids made later must sort later: %v", ids)
	}
}

func TestValidRejects(t *testing.T) {
	good := New("cus")
	for _, s := range []string{"", "cus", good[:len(good)-1], "ord" + good[3:], good[:5] + "u" + good[6:], good + "0", "cus-" + good[4:]} {
		if Valid("cus", s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}
