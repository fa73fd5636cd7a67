package mail

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
)

// Templates live in templates/<lang>/<kind>.txt. The first line is
// "Subject: …"; the rest, after an optional blank line, is the plain-text
// body. Both are text/template: emails are text, and there is no HTML to
// escape for.
//
//go:embed templates
var templateFS embed.FS

type mailTemplate struct {
	subject, body *template.Template
	// size is the length of the body last rendered from it: the next
	// body's buffer starts that large (plus a margin) instead of growing
	// from nothing by doubling, a copy at each step.
	size *atomic.Int64
}

// loadTemplates parses every template once. An embedded template that does
// not parse is a build mistake that a test catches; Render reports it
// rather than panicking at start-up.
var loadTemplates = sync.OnceValues(func() (map[string]map[string]mailTemplate, error) {
	out := map[string]map[string]mailTemplate{}
	err := fs.WalkDir(templateFS, "templates", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if path.Ext(p) != ".txt" {
			return nil
		}
		lang := path.Base(path.Dir(p))
		kind := strings.TrimSuffix(path.Base(p), ".txt")
		raw, err := templateFS.ReadFile(p)
		if err != nil {
			return err
		}
		first, body, _ := strings.Cut(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
		subject, ok := strings.CutPrefix(first, "Subject:")
		if !ok {
			return fmt.Errorf("mail template %s: first line must be \"Subject: …\"", p)
		}
		body = strings.TrimPrefix(body, "\n")
		st, err := template.New(p + ":subject").Option("missingkey=error").Parse(strings.TrimSpace(subject))
		if err != nil {
			return fmt.Errorf("mail template %s: %w", p, err)
		}
		bt, err := template.New(p).Option("missingkey=error").Parse(body)
		if err != nil {
			return fmt.Errorf("mail template %s: %w", p, err)
		}
		if out[lang] == nil {
			out[lang] = map[string]mailTemplate{}
		}
		out[lang][kind] = mailTemplate{subject: st, body: bt, size: new(atomic.Int64)}
		return nil
	})
	return out, err
})

// Render fills the template for kind in lang ("fr" or "en") with data and
// returns the subject and the plain-text body.
func Render(lang, kind string, data any) (subject, text string, err error) {
	all, err := loadTemplates()
	if err != nil {
		return "", "", err
	}
	t, ok := all[lang][kind]
	if !ok {
		return "", "", fmt.Errorf("mail: no %q template in language %q", kind, lang)
	}
	var sb, bb strings.Builder
	if err := t.subject.Execute(&sb, data); err != nil {
		return "", "", fmt.Errorf("mail template %s/%s subject: %w", lang, kind, err)
	}
	bb.Grow(int(t.size.Load()) + 256)
	if err := t.body.Execute(&bb, data); err != nil {
		return "", "", fmt.Errorf("mail template %s/%s: %w", lang, kind, err)
	}
	t.size.Store(int64(bb.Len()))
	subject = strings.TrimSpace(sb.String())
	// A name with a line break would otherwise reach the Subject header;
	// EnqueueTx refuses it too, but the error is clearer here.
	if !validHeader(subject) {
		return "", "", checkHeader("subject of "+lang+"/"+kind, subject)
	}
	return subject, endLine(bb.String()), nil
}

// endLine is text without its trailing spaces, tabs and line breaks, ended
// by one line break: most bodies already end so, and are returned as they
// are rather than copied.
func endLine(text string) string {
	trimmed := strings.TrimRight(text, " \t\n")
	if len(text) > len(trimmed) && text[len(trimmed)] == '\n' {
		return text[:len(trimmed)+1]
	}
	return trimmed + "\n"
}

// Templates lists the template kinds of each language, sorted, for tests
// and for an admin page.
func Templates() (map[string][]string, error) {
	all, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for lang, kinds := range all {
		for kind := range kinds {
			out[lang] = append(out[lang], kind)
		}
		slices.Sort(out[lang])
	}
	return out, nil
}
