package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"comptoir/internal/locale"
)

// Every message a page or handler asks for must exist in both languages:
// a missing key would show its id to a customer.
func TestEveryUsedMessageExistsInBothLanguages(t *testing.T) {
	cat := locale.MustLoad()
	used := map[string]string{} // key → where
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return nil
	})
	goKey := regexp.MustCompile(`"((?:auth|account|error|nav|home|lang|footer|console|admin|mail|time)\.[a-z0-9_.]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = f
		}
	}
	if len(used) < 20 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	for key, where := range used {
		for _, lang := range locale.Supported {
			if !cat.Has(lang, key) {
				t.Errorf("%s uses %q, missing in %s", where, key, lang)
			}
		}
	}
}
