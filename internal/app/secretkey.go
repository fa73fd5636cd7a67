package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"comptoir/internal/config"
	"comptoir/internal/secretbox"
)

// secretKeyFile is where the key that seals secrets in the database lives
// when --secret-key is not given. It is kept out of the database (and so
// out of `comptoir backup`'s copies) on purpose.
const secretKeyFile = "secret.key"

// secretKey is --secret-key, or the data directory's key file, made on the
// first start. A key file that cannot be read or parsed is a configuration
// error: making a new key would lock every staff member out of their
// second factor.
func secretKey(cfg *config.Config, log *slog.Logger) (secretbox.Key, error) {
	if cfg.SealingKey != nil {
		return *cfg.SealingKey, nil
	}
	path := filepath.Join(cfg.DataDir, secretKeyFile)
	k, err := readKeyFile(path, log)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k = secretbox.NewKey()
	won, err := createKeyFile(path, k)
	if err != nil {
		return secretbox.Key{}, config.Usagef("secret key file %s: %v", path, err)
	}
	if !won {
		// Another process sharing the data directory made it first.
		return readKeyFile(path, log)
	}
	log.Info("created the key that seals secrets in the database; back it up apart from the database, "+
		"and give every node the same (--secret-key or this file)", "path", path)
	return k, nil
}

func readKeyFile(path string, log *slog.Logger) (secretbox.Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return secretbox.Key{}, err
	}
	if err != nil {
		return secretbox.Key{}, config.Usagef("secret key file %s: %v", path, err)
	}
	k, err := secretbox.ParseKey(string(b))
	if err != nil {
		return secretbox.Key{}, config.Usagef("secret key file %s: %v; restore it, or give the key with --secret-key", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the secret key file may be read by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	return k, nil
}

// createKeyFile writes the key as the mail spool writes messages: to a
// temporary file in the same directory (mode 0600), synced, then put in
// place, so that no reader ever sees a half-written key. It is put in place
// by a hard link, which, unlike a rename, fails when the file exists: two
// processes starting at once on one data directory keep one key, and won
// reports whether it is ours. Where hard links are not supported, a rename.
func createKeyFile(path string, k secretbox.Key) (won bool, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".secret.key-*.part")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.WriteString(k.Hex() + "\n")
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp's mode already; said for the reader
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	switch err := os.Link(tmp, path); {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		if err := os.Rename(tmp, path); err != nil {
			return false, err
		}
	}
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("sync %s: %w", dir, err)
	}
	return true, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sealSecrets seals the clear TOTP secrets an earlier version left, and
// warns, once per start, about sealed ones this node's key does not open.
// Only a serving node (one that runs workers) does it: a CLI command run
// from another machine, with a data directory of its own, must not seal
// with a key the serving nodes do not have.
func (a *App) sealSecrets(ctx context.Context) error {
	r, err := a.Accounts.SealClearTOTPSecrets(ctx)
	if err != nil {
		return err
	}
	if r.Sealed > 0 {
		a.Logger.Info("sealed the clear second-factor secrets of an earlier version", "count", r.Sealed)
	}
	if r.Unreadable > 0 {
		a.Logger.Warn("second-factor secrets in the database do not open with this node's secret key: "+
			"those staff cannot sign in with their app codes (recovery codes still work); "+
			"give this node the key the others use (--secret-key, or the same <data-dir>/secret.key)",
			"unreadable", r.Unreadable, "left_clear", r.LeftClear)
	}
	return nil
}
