package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded files under content-hashed URLs
// (/static/<hash>/<name>), so browsers may cache them forever and a new
// release is fetched at once.
type staticFiles struct {
	urls  map[string]string // name → hashed URL
	files map[string][]byte // hashed URL → content
	// missing answers a URL that names no file: the store's 404 page, in
	// the visitor's language (http.NotFound when unset).
	missing http.HandlerFunc
}

func loadStatic() (*staticFiles, error) {
	st := &staticFiles{urls: map[string]string{}, files: map[string][]byte{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		u := "/static/" + hex.EncodeToString(sum[:6]) + "/" + name
		st.urls[name] = u
		st.files[u] = b
		return nil
	})
	return st, err
}

// URL is the hashed URL of a static file; it panics on an unknown name, which
// the template tests catch.
func (st *staticFiles) URL(name string) string {
	u, ok := st.urls[name]
	if !ok {
		panic("unknown static file " + name)
	}
	return u
}

func (st *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := st.files[r.URL.Path]
	if !ok {
		if st.missing != nil {
			st.missing(w, r)
		} else {
			http.NotFound(w, r)
		}
		return
	}
	if ct := mime.TypeByExtension(path.Ext(r.URL.Path)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(b)
}
