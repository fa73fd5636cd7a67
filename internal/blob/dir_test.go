package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
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

func TestPutGetDeleteExists(t *testing.T) {
	d, dir := open(t)
	ctx := context.Background()
	key := id.New("evd")
	content := []byte("%PDF-1.7 evidence")
	if ok, err := d.Exists(ctx, key); err != nil || ok {
		t.Fatalf("Exists before Put = %v, %v", ok, err)
	}
	if err := d.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Exists(ctx, key); err != nil || !ok {
		t.Fatalf("Exists after Put = %v, %v", ok, err)
	}
	rc, err := d.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Fatalf("Get = %q", got)
	}
	info, err := os.Stat(filepath.Join(dir, key[len(key)-2:], key))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("stored file: %v %v", info, err)
	}
	// Blobs are immutable.
	if err := d.Put(ctx, key, strings.NewReader("other"), 5); !errors.Is(err, blob.ErrExists) {
		t.Fatalf("second Put = %v, want ErrExists", err)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := d.Get(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get after Delete = %v", err)
	}
}

func TestPutRefusesAWrongSizeAndLeavesNothing(t *testing.T) {
	d, dir := open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		content string
		size    int64
	}{{"short", 10}, {"longer than announced", 4}, {"x", -1}} {
		key := id.New("evd")
		if err := d.Put(ctx, key, strings.NewReader(tc.content), tc.size); !errors.Is(err, blob.ErrSizeMismatch) {
			t.Errorf("Put(%q, %d) = %v, want ErrSizeMismatch", tc.content, tc.size, err)
		}
		if ok, _ := d.Exists(ctx, key); ok {
			t.Errorf("a partial blob was stored for %q", tc.content)
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(dir, ".tmp"))
	if len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

func TestKeysCannotEscape(t *testing.T) {
	d, dir := open(t)
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(dir), "secret")
	os.WriteFile(outside, []byte("secret"), 0o600)
	for _, key := range []string{"", "ab", "../secret", "..", "a/../../secret", "/etc/passwd", ".tmp", "x.y.z", "a\x00b", "évidence", "-abc", strings.Repeat("a", 129), `..\secret`} {
		if blob.ValidKey(key) {
			t.Errorf("ValidKey(%q) = true", key)
		}
		if err := d.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v", key, err)
		}
		if _, err := d.Get(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Get(%q) = %v", key, err)
		}
		if err := d.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a file outside the store was touched: %v", err)
	}
	for _, key := range []string{id.New("evd"), "abc", "A-b_c9"} {
		if !blob.ValidKey(key) {
			t.Errorf("ValidKey(%q) = false", key)
		}
	}
}

func TestPutStopsWithItsContext(t *testing.T) {
	d, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := id.New("evd")
	if err := d.Put(ctx, key, strings.NewReader("abc"), 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context = %v", err)
	}
	if ok, _ := d.Exists(context.Background(), key); ok {
		t.Fatal("blob stored despite the cancelled context")
	}
}
