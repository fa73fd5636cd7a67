package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"comptoir/internal/config"
	"comptoir/internal/secretbox"
)

// Processes starting at once on one data directory end up with one key:
// the file is put in place without replacing one another made meanwhile.
func TestKeyFileMadeOnceByConcurrentStarts(t *testing.T) {
	cfg := &config.Config{DataDir: t.TempDir()}
	keys := make([]secretbox.Key, 8)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = secretKey(cfg, slog.New(slog.DiscardHandler)) })
	}
	wg.Wait()
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, secretKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	onFile, err := secretbox.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if errs[i] != nil || keys[i] != onFile {
			t.Fatalf("start %d: %v, or a key other than the file's", i, errs[i])
		}
	}
	// --secret-key wins over the file, which stays as it was.
	given := secretbox.NewKey()
	cfg.SealingKey = &given
	if k, err := secretKey(cfg, slog.New(slog.DiscardHandler)); err != nil || k != given {
		t.Fatalf("with --secret-key: %v", err)
	}
	if again, _ := os.ReadFile(filepath.Join(cfg.DataDir, secretKeyFile)); string(again) != string(b) {
		t.Fatal("the key file changed")
	}
}
