package policystore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"testing"
	"time"

	"comptoir/internal/policystore"
)

// VersionTx reads a version, draft or published, in the caller's
// transaction, and only reads: on an empty table even default@1 is not
// found, and nothing is written.
func TestVersionTx(t *testing.T) {
	e := setup(t)
	read := func(id string) (policystore.Version, error) {
		t.Helper()
		tx, err := e.db.Read.BeginTx(e.ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		return policystore.VersionTx(e.ctx, tx, id)
	}
	if _, err := read("default@1"); !errors.Is(err, policystore.ErrNotFound) {
		t.Fatalf("default@1 on an empty table: %v", err)
	}
	if n := e.count(t, seededRows); n != 0 {
		t.Fatalf("VersionTx wrote %d versions", n)
	}

	doc := shopDoc(2)
	d := e.save(t, doc)
	v, err := read("shop@2")
	if err != nil || !v.IsDraft() || !bytes.Equal(v.Document, doc) || v.Digest != d.Policy.Digest || v.ID != "shop@2" {
		t.Fatalf("draft shop@2: %+v %v", v, err)
	}
	e.clock.Advance(time.Hour)
	e.publish(t, "shop@2")
	if v, err = read("shop@2"); err != nil || !v.Published.Equal(t0.Add(time.Hour)) || !v.InForce || !bytes.Equal(v.Document, doc) {
		t.Fatalf("published shop@2: %+v %v", v, err)
	}
	for _, id := range []string{"shop@02", "shop@3", "shop", "@2", "other@2"} {
		if _, err := read(id); !errors.Is(err, policystore.ErrNotFound) {
			t.Errorf("VersionTx(%q): %v, want not found", id, err)
		}
	}
}
