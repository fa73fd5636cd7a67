package gencache_test

import (
	"context"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/db/gencache"
)

func bump(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := d.Write.ExecContext(context.Background(),
		`UPDATE cache_generations SET generation = generation + 1 WHERE name = 'catalog'`); err != nil {
		t.Fatal(err)
	}
}

// Two nodes on one database: the one that made the change sees it at once
// (Changed), the other within RefreshEvery; a value is rebuilt only when
// the generation moved.
func TestCacheFollowsTheGeneration(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	builds := map[string][]int64{}
	node := func(name string) *gencache.Cache[int64] {
		return gencache.New(d, clk, "catalog", func(g int64) int64 {
			builds[name] = append(builds[name], g)
			return g
		})
	}
	a, b := node("a"), node("b")
	get := func(c *gencache.Cache[int64]) int64 {
		t.Helper()
		v, err := c.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	g0 := get(a)
	if get(b) != g0 {
		t.Fatal("nodes disagree")
	}
	bump(t, d)
	a.Changed()
	if get(a) != g0+1 {
		t.Error("the changing node does not see its change at once")
	}
	if get(b) != g0 {
		t.Error("the other node re-read within the second")
	}
	clk.Advance(gencache.RefreshEvery)
	if get(b) != g0+1 {
		t.Error("the other node does not see the change after a second")
	}
	clk.Advance(gencache.RefreshEvery)
	get(a)
	get(b)
	if len(builds["a"]) != 2 || len(builds["b"]) != 2 {
		t.Errorf("builds %v: a value was rebuilt without a change", builds)
	}

	missing := gencache.New(d, clk, "no-such-cache", func(g int64) int64 { return g })
	if _, err := missing.Get(ctx); err == nil {
		t.Error("a cache without its row works")
	}
}

// Peek answers only while the value is fresh, and never reads: with the
// database closed it still answers from a fresh value.
func TestPeekReadsNothing(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewManual(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC))
	c := gencache.New(d, clk, "catalog", func(g int64) int64 { return g })
	if _, ok := c.Peek(); ok {
		t.Fatal("Peek answered before any Get")
	}
	g, err := c.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if v, ok := c.Peek(); !ok || v != g {
		t.Fatalf("Peek = %d, %v after a Get; want %d, true", v, ok, g)
	}
	clk.Advance(gencache.RefreshEvery)
	if _, ok := c.Peek(); ok {
		t.Fatal("Peek answered with a value a second old")
	}
	c2 := gencache.New(d, clk, "catalog", func(g int64) int64 { return g })
	if _, err := c2.Get(ctx); err == nil {
		t.Fatal("Get read nothing from a closed database") // the closed database is real
	}
}
