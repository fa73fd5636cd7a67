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

// Ids made one after the other sort in that order, also many within one
// millisecond, and also when several goroutines make them at once (each
// goroutine's own ids in its order, all of them distinct).
func TestIdsWithinAMillisecondSortInOrderMade(t *testing.T) {
	prev := New("msg")
	for i := 0; i < 100000; i++ {
		v := New("msg")
		if v <= prev || !Valid("msg", v) {
			t.Fatalf("id %d: %q after %q", i, v, prev)
		}
		prev = v
	}
	const workers, each = 8, 5000
	out := make([][]string, workers)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				out[w] = append(out[w], New("tms"))
			}
		}()
	}
	for range workers {
		<-done
	}
	seen := map[string]bool{}
	for _, ids := range out {
		if !sort.StringsAreSorted(ids) {
			t.Fatal("a goroutine's ids are not in the order it made them")
		}
		for _, v := range ids {
			if seen[v] {
				t.Fatalf("duplicate id %q", v)
			}
			seen[v] = true
		}
	}
}
