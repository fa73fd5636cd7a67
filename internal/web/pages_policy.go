package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"comptoir/internal/locale"
	"comptoir/internal/policy"
	"comptoir/internal/policystore"
)

type policyPageData struct {
	Version string
	// Number is the version's number, which the page names it by with its
	// date (two versions may be published the same day).
	Number int64
	// Published is when the version was published (zero when unknown):
	// customers read a version by its date, not its ID.
	Published  time.Time
	Paragraphs []string
	// Lang is the language of the text, which a link may choose
	// (documentLang): the page marks it, since it need not be the page's.
	Lang string
}

// policyPage shows the refund policy to customers: the version in force, or
// the one named (the version an order was bought under), in the visitor's
// language or the one the link asks for.
func (s *Server) policyPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var p *policy.Policy
	var err error
	if v := r.URL.Query().Get("version"); v != "" {
		p, err = s.Policies.Get(ctx, v)
	} else {
		p, err = s.Policies.Current(ctx)
	}
	if errors.Is(err, policystore.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	published, err := s.Policies.PublishedAt(ctx, p.ID())
	if err != nil && !errors.Is(err, policystore.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	lang := documentLang(r)
	title, paragraphs := p.Page(lang)
	v := s.newView(r, "", policyPageData{Version: p.ID(), Number: p.Version, Published: published, Paragraphs: paragraphs, Lang: lang})
	v.Title = title
	s.render(w, r, http.StatusOK, "policy", v)
}

// documentLang is the language a customer document (the refund policy, a
// legal page) is shown in: the visitor's, unless the link names one — an
// order's email links to the text in the order's language.
func documentLang(r *http.Request) string {
	if l, ok := locale.Normalize(r.URL.Query().Get("lang")); ok {
		return l
	}
	return state(r).lang
}

type adminPoliciesData struct {
	Versions []policystore.Version
	// Offer is the newest built-in version (default@2) when the store has
	// it published as shipped but not in force: the page offers it, and
	// InForce names the version new orders accept meanwhile.
	Offer   *policystore.Version
	InForce string
}

func (s *Server) adminPolicies(w http.ResponseWriter, r *http.Request) {
	vs, err := s.Policies.List(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := adminPoliciesData{Versions: vs}
	newest := policy.Newest()
	for i := range vs {
		if vs[i].InForce {
			d.InForce = vs[i].ID
		}
	}
	for i := range vs {
		if v := &vs[i]; v.ID == newest.ID() && v.Digest == newest.Digest && !v.IsDraft() && !v.InForce {
			d.Offer = v
		}
	}
	s.render(w, r, http.StatusOK, "admin_policies", s.newView(r, "admin.policies.title", d))
}

type policyEditData struct {
	Document string
	Errors   []policyProblem
	Warnings []policyProblem
	Samples  []policystore.Sample
	Facts    string
	// Sample is the sample chosen last; FactsFrom the one whose facts
	// fill the facts box as shown (empty when they are the admin's own).
	Sample, FactsFrom string
	Decision          *policy.Decision
	Saved             string // the version just saved as a draft, ready to publish
	// SavedDigest is the digest of Saved's text: Publish puts that text in
	// force or nothing (policystore.PublishAsRead).
	SavedDigest string
	// Read is the digest of the text the editor started from (the version
	// opened, then the draft last saved from it): saving is refused when
	// another draft of the same version was saved since
	// (policystore.SaveDraftOver).
	Read string
	// Other names that other draft, to open it.
	Other string
}

// policyProblem is an error or a warning about a policy document, worded
// in the page's language: its line (0: none), its key and what is wrong.
type policyProblem struct {
	Line   int
	Column int // a syntax error's, 0 for others
	Path   string
	Text   string
}

// translator is s.Messages.T in lang, as package policy words its problems.
func (s *Server) translator(lang string) policy.Translator {
	return func(id string, data map[string]any) string { return s.Messages.T(lang, id, data) }
}

// policyProblems words a document's errors and warnings in lang: their
// codes are the parser's, their words the catalog's (`comptoir policy
// check` prints the English).
func (s *Server) policyProblems(lang string, errs []policy.ParseError, warns []policy.Warning) (e, w []policyProblem) {
	tr := s.translator(lang)
	for i := range errs {
		e = append(e, policyProblem{Line: errs[i].Line, Column: errs[i].Column, Path: errs[i].Path, Text: errs[i].Localize(lang, tr)})
	}
	for _, x := range warns {
		w = append(w, policyProblem{Line: x.Line, Path: x.Path, Text: x.Localize(lang, tr)})
	}
	return e, w
}

// policyEditView is the editor on doc; a form sent back keeps its read.
func (s *Server) policyEditView(r *http.Request, doc string) *view {
	return s.newView(r, "admin.policies.edit", &policyEditData{Document: doc, Samples: policystore.Samples(), Read: r.PostForm.Get("read")})
}

// adminPolicyEdit opens the editor on a version (the one in force by
// default): editing never changes it, saving makes a new version.
func (s *Server) adminPolicyEdit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	from := r.URL.Query().Get("from")
	if from == "" {
		cur, err := s.Policies.Current(ctx)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		from = cur.ID()
	}
	v, err := s.Policies.Version(ctx, from)
	if errors.Is(err, policystore.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pv := s.policyEditView(r, string(v.Document))
	pv.Data.(*policyEditData).Read = v.Digest
	s.render(w, r, http.StatusOK, "admin_policy", pv)
}

// adminPolicySave checks the document and keeps it as a draft; errors and
// legal warnings are shown next to the text.
func (s *Server) adminPolicySave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	doc := r.PostForm.Get("document")
	draft, err := s.Policies.SaveDraftOver(r.Context(), state(r).user.Actor(), []byte(doc), r.PostForm.Get("read"))
	v := s.policyEditView(r, doc)
	d := v.Data.(*policyEditData)
	d.Errors, d.Warnings = s.policyProblems(v.Lang, draft.Errors, draft.Warnings)
	var serr *policystore.Error
	switch {
	case errors.Is(err, policystore.ErrDraftChanged):
		// The admin's text stays in the editor; the other draft is named,
		// to open beside it, and saving again now replaces it knowingly.
		other, verr := s.Policies.Version(r.Context(), draft.Policy.ID())
		if verr != nil {
			s.serverError(w, r, verr)
			return
		}
		d.Read, d.Other = other.Digest, other.ID
		v.Errors = map[string]string{"document": s.Messages.T(v.Lang, "admin.policies.error.draft_saved_over", map[string]any{"Version": other.ID})}
		s.render(w, r, http.StatusConflict, "admin_policy", v)
		return
	case errors.As(err, &serr):
		v.Errors = map[string]string{"document": s.Messages.T(v.Lang, "admin.policies.error."+serr.Code)}
		s.render(w, r, http.StatusUnprocessableEntity, "admin_policy", v)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	status := http.StatusOK
	if len(d.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	} else if draft.Policy != nil {
		d.Saved, d.SavedDigest, d.Read = draft.Policy.ID(), draft.Policy.Digest, draft.Policy.Digest
	}
	s.render(w, r, status, "admin_policy", v)
}

// adminPolicyPreview decides sample facts under the document being edited,
// without saving anything.
func (s *Server) adminPolicyPreview(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	doc, facts := r.PostForm.Get("document"), r.PostForm.Get("facts")
	sample := r.PostForm.Get("sample")
	factsOf := func(key string) (string, bool) {
		for _, sm := range policystore.Samples() {
			if sm.Key == key {
				return string(sm.Facts), true
			}
		}
		return "", false
	}
	// The facts box shows the sample previewed last: left as it was, it
	// gives way to the sample now chosen. Before, it kept answering for
	// the first sample whatever the admin chose next. Facts the admin
	// wrote or changed are theirs, and win.
	if shown, ok := factsOf(r.PostForm.Get("facts_from")); ok && sameText(facts, shown) {
		facts = ""
	}
	from := ""
	if f, ok := factsOf(sample); ok && strings.TrimSpace(facts) == "" {
		facts, from = f, sample
	}
	v := s.policyEditView(r, doc)
	d := v.Data.(*policyEditData)
	d.Facts, d.Sample, d.FactsFrom = facts, sample, from
	dec, err := policystore.Preview([]byte(doc), []byte(facts), time.Time{})
	if err != nil {
		// A document's error (line, key, what is wrong) and a facts'
		// (the field's path, what is wrong) are worded in the admin's
		// language from their codes; `comptoir policy eval` prints the
		// facts' in English.
		var perr *policy.ParseError
		var ferr *policy.FactsError
		key, detail := "admin.policies.preview_facts_error", err.Error()
		if errors.As(err, &ferr) {
			detail = ferr.Localize(v.Lang, s.translator(v.Lang))
			if ferr.Path != "" {
				detail = ferr.Path + ": " + detail
			}
			if ferr.Line > 0 {
				detail = s.Messages.T(v.Lang, "admin.policies.line_column", map[string]any{"Line": ferr.Line, "Column": ferr.Column}) + " — " + detail
			}
		}
		if errors.As(err, &perr) {
			key, detail = "admin.policies.preview_document_error", perr.Localize(v.Lang, s.translator(v.Lang))
			if perr.Path != "" {
				detail = perr.Path + ": " + detail
			}
			switch {
			case perr.Column > 0:
				detail = s.Messages.T(v.Lang, "admin.policies.line_column", map[string]any{"Line": perr.Line, "Column": perr.Column}) + " — " + detail
			case perr.Line > 0:
				detail = s.Messages.T(v.Lang, "admin.policies.line", map[string]any{"Line": perr.Line}) + " — " + detail
			}
		}
		v.Errors = map[string]string{"preview": s.Messages.T(v.Lang, key, map[string]any{"Detail": detail})}
		s.render(w, r, http.StatusUnprocessableEntity, "admin_policy", v)
		return
	}
	d.Decision = &dec
	s.render(w, r, http.StatusOK, "admin_policy", v)
}

func (s *Server) adminPolicyPublish(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	id := r.PostForm.Get("version")
	err := s.Policies.PublishAsRead(r.Context(), state(r).user.Actor(), id, r.PostForm.Get("digest"))
	var serr *policystore.Error
	switch {
	case errors.Is(err, policystore.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.Is(err, policystore.ErrDraftChanged):
		// Show the text the version now has, to read before publishing it.
		cur, err := s.Policies.Version(r.Context(), id)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v := s.policyEditView(r, string(cur.Document))
		d := v.Data.(*policyEditData)
		d.Read = cur.Digest
		if cur.IsDraft() {
			d.Saved, d.SavedDigest = cur.ID, cur.Digest
		}
		v.Errors = map[string]string{"document": s.Messages.T(v.Lang, "admin.policies.error."+policystore.CodeDraftChanged)}
		s.render(w, r, http.StatusConflict, "admin_policy", v)
		return
	case errors.As(err, &serr):
		s.renderError(w, r, http.StatusUnprocessableEntity, "admin.policies.error."+serr.Code)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "admin.policies.published_flash")
	http.Redirect(w, r, "/admin/policies", http.StatusSeeOther)
}

// sameText reports whether a and b are the same text once a browser's
// CRLF line ends and surrounding space are set aside.
func sameText(a, b string) bool {
	norm := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
	return norm(a) == norm(b)
}
