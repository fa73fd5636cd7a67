package policystore_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/money"
	"comptoir/internal/policy"
	"comptoir/internal/policystore"
)

// The migration publishes the built-in default@2 in every store, byte for
// byte the embedded document, and puts it in force in none: default@1 stays
// in force, with its text, until an admin puts default@2 in force, which
// one Publish does. Orders accepted under default@1 are still decided under
// it.
func TestDefault2IsOfferedNotImposed(t *testing.T) {
	e := setup(t)
	if got := e.current(t, e.svc); got != "default@1" {
		t.Fatalf("in force: %s, want default@1 until an admin chooses", got)
	}
	want := policy.Newest()
	if want.ID() != "default@2" {
		t.Fatalf("newest built-in is %s", want.ID())
	}
	p, err := e.svc.Get(e.ctx, "default@2")
	if err != nil {
		t.Fatalf("Get(default@2): %v", err)
	}
	if p.Digest != want.Digest || !bytes.Equal(p.Source(), want.Source()) {
		t.Fatalf("default@2 as migrated has digest %s, the built-in %s", p.Digest, want.Digest)
	}
	vs, err := e.svc.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]policystore.Version{}
	for _, v := range vs {
		found[v.ID] = v
	}
	if v, ok := found["default@2"]; !ok || v.IsDraft() || v.InForce || v.Created.IsZero() || v.CreatedBy != "" {
		t.Fatalf("default@2 listed as %+v (present %v), want published by the system, not in force", v, ok)
	}
	if v := found["default@1"]; !v.InForce || v.Digest != policy.Default().Digest {
		t.Fatalf("default@1 listed as %+v", v)
	}

	// The admin puts it in force.
	e.publish(t, "default@2")
	if got := e.current(t, e.svc); got != "default@2" {
		t.Fatalf("in force after publishing default@2: %s", got)
	}
	// default@1 is unchanged, and what a claim under it reads is its own text.
	old, err := e.svc.Get(e.ctx, "default@1")
	if err != nil || old.Digest != policy.Default().Digest {
		t.Fatalf("default@1 after default@2: %v, %v", old, err)
	}
	v1, err := e.svc.Version(e.ctx, "default@1")
	if err != nil || !bytes.Equal(v1.Document, policy.DefaultDocument()) || v1.IsDraft() {
		t.Fatalf("default@1's stored text changed (%v)", err)
	}
	paid := money.MustNew(2000, "EUR")
	f := policy.Facts{Kind: policy.NonDelivery, FiledAt: t0.Add(5 * 24 * time.Hour), Customer: policy.Customer{Type: policy.Consumer, Country: "FR"},
		Order: &policy.Order{PlacedAt: t0, PaidAt: t0, Paid: &paid, ProductKind: policy.Service, Quantity: 20, Delivered: 1}}
	if d := policy.Evaluate(old, f, f.FiledAt); d.PolicyVersion != "default@1" || !strings.HasPrefix(d.Reason.FR, "1 sur 20 ont été livrés.") {
		t.Errorf("under default@1: %s %q", d.PolicyVersion, d.Reason.FR)
	}
	if d := policy.Evaluate(p, f, f.FiledAt); d.PolicyVersion != "default@2" || !strings.HasPrefix(d.Reason.FR, "1 sur 20 a été livré.") {
		t.Errorf("under default@2: %s %q", d.PolicyVersion, d.Reason.FR)
	}
	// A copy of default@1 saved as default@2 is refused: that version is
	// published and never changes.
	d, err := e.svc.SaveDraft(e.ctx, admin, bytes.Replace(policy.DefaultDocument(), []byte("version = 1\n"), []byte("version = 2\n"), 1))
	if !errors.Is(err, policystore.ErrVersionPublished) {
		t.Errorf("a draft over default@2: %+v, %v", d, err)
	}
}

// The migration that publishes default@2, in stores that existed before
// it: the version in force stays in force, and a default@2 of the store's
// own (an admin's copy of default@1 saved as version 2) is kept as it was,
// draft or published; the built-in text is then simply not offered there.
func TestDefault2MigrationKeepsWhatAStoreHas(t *testing.T) {
	ms, err := db.Migrations(dbtest.Engine())
	if err != nil {
		t.Fatal(err)
	}
	upTo := slices.IndexFunc(ms, func(m db.Migration) bool { return strings.Contains(m.Name, "policy_default_2") })
	if upTo < 0 {
		t.Fatal("no policy_default_2 migration")
	}
	own := bytes.Replace(bytes.Replace(policy.DefaultDocument(), []byte("version = 1\n"), []byte("version = 2\n"), 1),
		[]byte(`window = "7d"`), []byte(`window = "10d"`), 1)
	for _, c := range []struct {
		name    string
		draft   bool // the store saved its own default@2
		publish bool // and published it
	}{{"nothing of its own", false, false}, {"its own draft", true, false}, {"its own published", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.OpenMigratedTo(t, upTo)
			clk := clock.NewManual(t0)
			svc := policystore.New(d, clk)
			if id, err := svc.Current(ctx); err != nil || id.ID() != "default@1" {
				t.Fatalf("before: %v, %v", id, err)
			}
			var ownDigest string
			if c.draft {
				dr, err := svc.SaveDraft(ctx, admin, own)
				if err != nil || dr.Policy == nil {
					t.Fatalf("own draft: %+v, %v", dr, err)
				}
				ownDigest = dr.Policy.Digest
			}
			if c.publish {
				if err := svc.Publish(ctx, admin, "default@2"); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			svc = policystore.New(d, clk) // a node started after the upgrade
			want := "default@1"
			if c.publish {
				want = "default@2"
			}
			cur, err := svc.Current(ctx)
			if err != nil || cur.ID() != want {
				t.Fatalf("in force after the migration: %v, %v, want %s", cur, err, want)
			}
			v, err := svc.Version(ctx, "default@2")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !c.draft:
				if v.Digest != policy.Newest().Digest || v.IsDraft() || v.InForce {
					t.Errorf("default@2 migrated as %+v, want the built-in, published, not in force", v)
				}
			default:
				if v.Digest != ownDigest || v.IsDraft() != !c.publish || v.CreatedBy != admin.ID {
					t.Errorf("the store's own default@2 became %+v", v)
				}
			}
		})
	}
}
