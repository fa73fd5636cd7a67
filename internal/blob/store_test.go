package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"comptoir/internal/blob"
	"comptoir/internal/blob/s3test"
	"comptoir/internal/id"
)

// stores runs a test against every Store implementation: the directory and
// an S3 bucket (gofakes3 over loopback HTTP, reached by the real client).
func stores(t *testing.T, test func(t *testing.T, s blob.Store)) {
	t.Run("dir", func(t *testing.T) {
		d, _ := open(t)
		test(t, d)
	})
	t.Run("s3", func(t *testing.T) {
		test(t, openS3(t))
	})
}

func openS3(t *testing.T) *blob.S3 {
	t.Helper()
	srv := s3test.Start(t)
	c, err := blob.ParseS3URL(srv.URL("uploads"))
	if err != nil {
		t.Fatal(err)
	}
	c.AccessKey, c.SecretKey = "test-access", "test-secret"
	s, err := blob.NewS3(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var badKeys = []string{"", "ab", "../secret", "..", "a/../../secret", "/etc/passwd", ".tmp", "x.y.z", "a\x00b", "évidence", "-abc", strings.Repeat("a", 129), `..\secret`}

func TestPutGetDeleteExists(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
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
		// Blobs are immutable.
		if err := d.Put(ctx, key, strings.NewReader("other"), 5); !errors.Is(err, blob.ErrExists) {
			t.Fatalf("second Put = %v, want ErrExists", err)
		}
		if got := read(t, d, key); got != string(content) {
			t.Fatalf("after a refused second Put: %q", got)
		}
		if err := d.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := d.Delete(ctx, key); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
		_, err = d.Get(ctx, key)
		if !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get after Delete = %v", err)
		}
		// Both stores say the same thing, so logs and callers cannot tell
		// which one is configured.
		if want := blob.ErrNotFound.Error() + ": " + key; err.Error() != want {
			t.Fatalf("Get after Delete = %q, want %q", err, want)
		}
	})
}

func read(t *testing.T, d blob.Store, key string) string {
	t.Helper()
	rc, err := d.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmptyAndLargeBlobs(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
		ctx := context.Background()
		empty := id.New("evd")
		if err := d.Put(ctx, empty, strings.NewReader(""), 0); err != nil {
			t.Fatal(err)
		}
		if got := read(t, d, empty); got != "" {
			t.Fatalf("empty blob read back as %q", got)
		}
		// Bigger than one S3 part: sent as a multipart upload, read in
		// small pieces so that nothing relies on one Read returning all.
		big := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16+3)
		key := id.New("evd")
		if err := d.Put(ctx, key, iotest.HalfReader(bytes.NewReader(big)), int64(len(big))); err != nil {
			t.Fatal(err)
		}
		if got := read(t, d, key); got != string(big) {
			t.Fatalf("large blob read back with %d bytes, want %d", len(got), len(big))
		}
	})
}

func TestPutRefusesAWrongSizeAndLeavesNothing(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
		ctx := context.Background()
		for _, tc := range []struct {
			content string
			size    int64
		}{{"short", 10}, {"longer than announced", 4}, {"x", -1}, {"one more", 7}, {"", 1}, {"x", 0}} {
			key := id.New("evd")
			if err := d.Put(ctx, key, strings.NewReader(tc.content), tc.size); !errors.Is(err, blob.ErrSizeMismatch) {
				t.Errorf("Put(%q, %d) = %v, want ErrSizeMismatch", tc.content, tc.size, err)
			}
			if ok, err := d.Exists(ctx, key); ok || err != nil {
				t.Errorf("after Put(%q, %d): Exists = %v, %v; a partial blob was stored", tc.content, tc.size, ok, err)
			}
		}
	})
}

func TestPutPassesOnAReaderError(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
		ctx := context.Background()
		key := id.New("evd")
		boom := errors.New("connection reset by the customer")
		r := io.MultiReader(strings.NewReader("half"), iotest.ErrReader(boom))
		if err := d.Put(ctx, key, r, 8); !errors.Is(err, boom) {
			t.Fatalf("Put = %v, want the reader's error", err)
		}
		if ok, _ := d.Exists(ctx, key); ok {
			t.Fatal("a partial blob was stored")
		}
	})
}

func TestKeysAreValidated(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
		ctx := context.Background()
		for _, key := range badKeys {
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
			if _, err := d.Exists(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Exists(%q) = %v", key, err)
			}
		}
		for _, key := range []string{id.New("evd"), "abc", "A-b_c9"} {
			if !blob.ValidKey(key) {
				t.Errorf("ValidKey(%q) = false", key)
			}
			if err := d.Put(ctx, key, strings.NewReader(key), int64(len(key))); err != nil {
				t.Errorf("Put(%q) = %v", key, err)
			}
		}
	})
}

func TestPutStopsWithItsContext(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		key := id.New("evd")
		if err := d.Put(ctx, key, strings.NewReader("abc"), 3); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with a cancelled context = %v", err)
		}
		if ok, _ := d.Exists(context.Background(), key); ok {
			t.Fatal("blob stored despite the cancelled context")
		}
	})
}

// A context cancelled while the content is being read stops the upload
// and stores nothing.
func TestPutStopsWhenItsContextEndsMidway(t *testing.T) {
	stores(t, func(t *testing.T, d blob.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		key := id.New("evd")
		r := io.MultiReader(strings.NewReader("first half "), cancelThen{cancel, strings.NewReader("second half")})
		if err := d.Put(ctx, key, r, 22); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		if ok, _ := d.Exists(context.Background(), key); ok {
			t.Fatal("blob stored despite the cancelled context")
		}
	})
}

type cancelThen struct {
	cancel context.CancelFunc
	r      io.Reader
}

func (c cancelThen) Read(p []byte) (int, error) {
	c.cancel()
	return c.r.Read(p)
}
