// Package blob stores uploaded files (claim evidence today) by key, outside
// the database: files are large, the database is for facts. A key is an id
// the program generated (id.New), never a name a user typed, so a key can
// neither collide with another upload nor point outside the store.
//
// Dir keeps blobs in a directory under the data directory, for one machine.
// Several nodes (DESIGN.md) need a shared bucket instead: S3 implements the
// same four methods on an S3-compatible bucket (Put maps to PutObject, which
// is why Put takes the size: S3 wants Content-Length up front), and nothing
// that uses a Store changes. The same behaviour tests run on both.
package blob

import (
	"context"
	"errors"
	"io"
)

// Store keeps immutable blobs by key.
type Store interface {
	// Put stores exactly size bytes read from r under key. The blob appears
	// whole or not at all (a crash half-way leaves no partial blob under
	// key), and it is on stable storage when Put returns. A key that
	// already holds a blob is ErrExists: blobs never change once written,
	// so evidence read back is the evidence received. A reader that gives
	// more or fewer than size bytes is ErrSizeMismatch, and nothing is
	// stored.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the blob for reading; the caller closes it. ErrNotFound
	// when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the blob. Deleting a missing blob is not an error, so
	// that cleaning up after a failed upload can be retried.
	Delete(ctx context.Context, key string) error
	// Exists reports whether a blob is stored under key.
	Exists(ctx context.Context, key string) (bool, error)
}

// Errors callers tell apart.
var (
	ErrNotFound     = errors.New("blob: not found")
	ErrExists       = errors.New("blob: key already holds a blob")
	ErrInvalidKey   = errors.New("blob: invalid key")
	ErrSizeMismatch = errors.New("blob: content size differs from the size given")
)

// maxKeyLen bounds a key; generated ids are about 30 characters.
const maxKeyLen = 128

// ValidKey reports whether key can name a blob: 3 to 128 characters, ASCII
// letters, digits, '_' and '-', starting with a letter or digit. No dot and
// no slash, so a key is one path element that can never be "..", hidden, or
// reach another directory, and the same key is valid on every backend.
func ValidKey(key string) bool {
	if len(key) < 3 || len(key) > maxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
