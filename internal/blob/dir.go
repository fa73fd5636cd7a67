package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// tmpDir holds blobs being written; its name cannot be a shard (shards are
// two key characters, and a key has no dot).
const tmpDir = ".tmp"

// staleTemp is how old a temporary file must be before NewDir removes it:
// old enough that no Put still writing it (in this process or another one
// on the same directory) can be running.
const staleTemp = time.Hour

// Dir is a Store in a local directory. Blobs live in root/<shard>/<key>,
// the shard being the key's last two characters (random in generated ids),
// so that no directory grows to millions of entries.
//
// Every file access goes through an os.Root opened on the directory: even
// a bug that let a bad key through could not open a file outside it
// (os.Root refuses "..", absolute paths and symlinks that escape).
type Dir struct {
	root *os.Root
	path string
}

// Compile-time check that *Dir is a Store.
var _ Store = (*Dir)(nil)

// NewDir opens (creating it when missing, mode 0700: uploads are personal
// data) the blob directory at dir, and removes temporary files left by a
// crash.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", dir, err)
	}
	if err := root.MkdirAll(tmpDir, 0o700); err != nil {
		root.Close()
		return nil, fmt.Errorf("blob: create %s/%s: %w", dir, tmpDir, err)
	}
	d := &Dir{root: root, path: dir}
	d.removeStaleTemps()
	return d, nil
}

// Path is the directory the blobs are in.
func (d *Dir) Path() string { return d.path }

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

func (d *Dir) removeStaleTemps() {
	entries, err := fs.ReadDir(d.root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			d.root.Remove(path.Join(tmpDir, e.Name()))
		}
	}
}

func shard(key string) string { return key[len(key)-2:] }

func blobPath(key string) string { return path.Join(shard(key), key) }

// Put writes the blob to a temporary file, syncs it, renames it into place
// and syncs the directory: after a power cut the blob is either whole under
// its key or absent, never truncated.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSizeMismatch, size)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	final := blobPath(key)
	if _, err := d.root.Stat(final); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, key)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(tmpDir, key+"."+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			d.root.Remove(tmp)
		}
	}()
	// One byte more than announced tells a longer stream from an exact one.
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("%w: %s: %d bytes announced, %s read", ErrSizeMismatch, key, size, describeRead(n, size))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: sync %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob: close %s: %w", key, err)
	}
	if err := d.root.MkdirAll(shard(key), 0o700); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := d.root.Rename(tmp, final); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	// The rename is durable only once the directory holding the new name is
	// synced; the root too, in case the shard directory was just created.
	if err := d.syncDir(shard(key)); err != nil {
		return err
	}
	return d.syncDir(".")
}

func describeRead(n, size int64) string {
	if n > size {
		return "more"
	}
	return fmt.Sprint(n)
}

func (d *Dir) syncDir(name string) error {
	f, err := d.root.Open(name)
	if err != nil {
		return fmt.Errorf("blob: sync directory: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: sync directory: %w", err)
	}
	return nil
}

// Get opens the blob.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	f, err := d.root.Open(blobPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return f, nil
}

// Delete removes the blob, if any.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	err := d.root.Remove(blobPath(key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// Exists reports whether the blob is stored.
func (d *Dir) Exists(ctx context.Context, key string) (bool, error) {
	if !ValidKey(key) {
		return false, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	_, err := d.root.Stat(blobPath(key))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("blob: stat %s: %w", key, err)
}

// ctxReader stops a long copy when the request that started it is gone.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
