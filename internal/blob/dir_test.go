package blob_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"comptoir/internal/blob"
	"comptoir/internal/id"
)

func open(t *testing.T) (*blob.Dir, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	d, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

// The behaviour every Store shares is tested in store_test.go; these are
// the directory's own promises.

func TestDirStoresPrivateFilesInShards(t *testing.T) {
	d, dir := open(t)
	ctx := context.Background()
	key := id.New("evd")
	if err := d.Put(ctx, key, strings.NewReader("%PDF"), 4); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, key[len(key)-2:], key))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("stored file: %v %v", info, err)
	}
}

func TestDirLeavesNoTemporaryFileAfterAWrongSize(t *testing.T) {
	d, dir := open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		content string
		size    int64
	}{{"short", 10}, {"longer than announced", 4}} {
		if err := d.Put(ctx, id.New("evd"), strings.NewReader(tc.content), tc.size); !errors.Is(err, blob.ErrSizeMismatch) {
			t.Errorf("Put(%q, %d) = %v, want ErrSizeMismatch", tc.content, tc.size, err)
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(dir, ".tmp"))
	if len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

func TestDirKeysCannotEscape(t *testing.T) {
	d, dir := open(t)
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(dir), "secret")
	os.WriteFile(outside, []byte("secret"), 0o600)
	for _, key := range badKeys {
		d.Put(ctx, key, strings.NewReader("x"), 1)
		d.Delete(ctx, key)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a file outside the store was touched: %v", err)
	}
}
