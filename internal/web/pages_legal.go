package web

import (
	"errors"
	"net/http"
	"strings"

	"comptoir/internal/invoices"
	"comptoir/internal/legal"
	"comptoir/internal/mail"
)

// legalSlugs names each legal page in its address (/legal/terms).
var legalSlugs = map[string]legal.Kind{
	"notice": legal.Notice, "terms": legal.Terms, "privacy": legal.Privacy, "mediator": legal.Mediator,
}

// legalSlug is the address name of a kind.
func legalSlug(k legal.Kind) string {
	for slug, kind := range legalSlugs {
		if kind == k {
			return slug
		}
	}
	return ""
}

type legalPageData struct {
	Doc    *legal.Document
	Blocks []legal.Block
	// Current is the version in force, when the page shows another one.
	Current *legal.Document
	Slug    string
	// Lang is the text's language, which the link may choose.
	Lang string
	// Trader is the seller's identity from the configuration (the one the
	// invoices print), shown above the legal notice's text; nil on the
	// other pages.
	Trader *traderIdentity
}

// traderIdentity is the legal notice's identity block: the seller flags
// (--seller-name, --seller-address, --seller-registration,
// --seller-vat-number) and the support address as contact, so the notice
// and the invoices name the same trader whatever the admin's text says.
type traderIdentity struct {
	invoices.Seller
	AddressLines []string
	Contact      string
}

// trader is the identity block, or nil without invoicing configured.
func (s *Server) trader() *traderIdentity {
	if s.Invoices == nil {
		return nil
	}
	t := &traderIdentity{Seller: s.Invoices.Seller(), Contact: s.SupportAddress}
	for _, l := range strings.FieldsFunc(t.Address, func(r rune) bool { return r == '\n' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			t.AddressLines = append(t.AddressLines, l)
		}
	}
	return t
}

// missingSellerFlags lists the seller flags left empty, which the invoices
// and the legal notice would print blank.
func (s *Server) missingSellerFlags() []string {
	if s.Invoices == nil {
		return nil
	}
	seller := s.Invoices.Seller()
	var out []string
	for _, f := range []struct{ flag, value string }{
		{"--seller-name", seller.Name}, {"--seller-address", seller.Address},
		{"--seller-registration", seller.Registration}, {"--seller-vat-number", seller.VATNumber},
	} {
		if strings.TrimSpace(f.value) == "" {
			out = append(out, f.flag)
		}
	}
	return out
}

// legalPage shows a legal page to anyone: the version in force, or the one
// named by ?version= (the terms an order was bought under), in the
// visitor's language or the one the link asks for.
func (s *Server) legalPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	slug := r.PathValue("page")
	k, ok := legalSlugs[slug]
	if !ok {
		s.notFound(w, r)
		return
	}
	cur, err := s.Legal.Current(ctx, k)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	doc := cur
	if v := r.URL.Query().Get("version"); v != "" {
		n, ok := legal.ParseVersion(k, v)
		if !ok {
			s.notFound(w, r)
			return
		}
		if n != cur.Version {
			doc, err = s.Legal.Get(ctx, k, n)
		}
	}
	if errors.Is(err, legal.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	lang := documentLang(r)
	d := legalPageData{Doc: doc, Blocks: legal.Render(doc.Text(lang)), Slug: slug, Lang: lang}
	if doc.Version != cur.Version {
		d.Current = cur
	}
	if k == legal.Notice {
		d.Trader = s.trader()
	}
	v := s.newView(r, "", d)
	v.Title = s.Messages.T(lang, "legal.title."+string(k))
	s.render(w, r, http.StatusOK, "legal", v)
}

type adminLegalListData struct {
	Rows []adminLegalRow
	// MissingSeller names the seller flags left empty ("" when none).
	MissingSeller string
}

// adminLegalRow is one kind on the legal pages' admin overview.
type adminLegalRow struct {
	Kind         legal.Kind
	Slug         string
	InForce      *legal.Document
	Placeholders []string
	Draft        *legal.Document
}

func (s *Server) adminLegalList(w http.ResponseWriter, r *http.Request) {
	var rows []adminLegalRow
	for _, k := range legal.Kinds {
		row, _, err := s.adminLegalRow(r, k)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		rows = append(rows, row)
	}
	d := adminLegalListData{Rows: rows, MissingSeller: strings.Join(s.missingSellerFlags(), ", ")}
	s.render(w, r, http.StatusOK, "admin_legal_list", s.newView(r, "admin.legal.title", d))
}

// adminLegalRow reads what the admin pages say about a kind: its version in
// force with the placeholders left in it, its draft, and every version.
func (s *Server) adminLegalRow(r *http.Request, k legal.Kind) (adminLegalRow, []*legal.Document, error) {
	row := adminLegalRow{Kind: k, Slug: legalSlug(k)}
	cur, err := s.Legal.Current(r.Context(), k)
	if err != nil {
		return row, nil, err
	}
	row.InForce, row.Placeholders = cur, cur.Placeholders()
	versions, err := s.Legal.List(r.Context(), k)
	if err != nil {
		return row, nil, err
	}
	if len(versions) > 0 && versions[0].IsDraft() {
		row.Draft = versions[0]
	}
	return row, versions, nil
}

type adminLegalData struct {
	adminLegalRow
	Versions []*legal.Document
	// FR and EN fill the editor: the text the admin typed, or the version
	// it starts from.
	FR, EN string
	// DraftBlocks preview the draft as customers will see it, in the
	// admin's language.
	DraftBlocks       []legal.Block
	DraftPlaceholders []string
	// Trader and MissingSeller (the legal notice only): the identity block
	// the page shows above the text, and the seller flags left empty.
	Trader        *traderIdentity
	MissingSeller string
	// DraftRead is the draft's digest as the page shows it (legal.NoDraft
	// without one): saving from the page is refused once another draft
	// was saved since (legal.SaveDraftOver).
	DraftRead string
}

// adminLegalView builds the page of one kind, with the editor filled with fr
// and en, or (when both are empty) with the version ?from= names, else the
// draft, else the version in force.
func (s *Server) adminLegalView(r *http.Request, k legal.Kind, fr, en string) (*view, error) {
	row, versions, err := s.adminLegalRow(r, k)
	if err != nil {
		return nil, err
	}
	d := &adminLegalData{adminLegalRow: row, Versions: versions, FR: fr, EN: en}
	if k == legal.Notice {
		d.Trader, d.MissingSeller = s.trader(), strings.Join(s.missingSellerFlags(), ", ")
	}
	v := s.newView(r, "legal.title."+string(k), d)
	if row.Draft != nil {
		d.DraftBlocks = legal.Render(row.Draft.Text(v.Lang))
		d.DraftPlaceholders = row.Draft.Placeholders()
	}
	if fr == "" && en == "" {
		from := row.InForce
		if row.Draft != nil {
			from = row.Draft
		}
		if n, ok := legal.ParseVersion(k, r.URL.Query().Get("from")); ok {
			if from, err = s.Legal.Version(r.Context(), k, n); err != nil {
				return nil, err
			}
		}
		d.FR, d.EN = from.FR, from.EN
	}
	d.DraftRead = legal.NoDraft
	if row.Draft != nil {
		d.DraftRead = row.Draft.Digest
	}
	return v, nil
}

// adminLegalKind reads the kind an admin address names; false (after a
// 404) for an unknown one.
func (s *Server) adminLegalKind(w http.ResponseWriter, r *http.Request) (legal.Kind, bool) {
	k, ok := legalSlugs[r.PathValue("page")]
	if !ok {
		s.notFound(w, r)
	}
	return k, ok
}

func (s *Server) adminLegalEdit(w http.ResponseWriter, r *http.Request) {
	k, ok := s.adminLegalKind(w, r)
	if !ok {
		return
	}
	v, err := s.adminLegalView(r, k, "", "")
	if errors.Is(err, legal.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_legal", v)
}

// adminLegalSave keeps the texts as the kind's draft (the next version);
// publishing is a separate step, after the admin has read the preview.
func (s *Server) adminLegalSave(w http.ResponseWriter, r *http.Request) {
	k, ok := s.adminLegalKind(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	fr, en := r.PostForm.Get("body_fr"), r.PostForm.Get("body_en")
	_, err := s.Legal.SaveDraftOver(r.Context(), state(r).user.Actor(), k, fr, en, r.PostForm.Get("draft_read"))
	var ierr *legal.InvalidError
	switch {
	case err == nil:
		s.flash(w, "admin.legal.saved_flash")
		http.Redirect(w, r, "/admin/legal/"+legalSlug(k), http.StatusSeeOther)
		return
	case errors.As(err, &ierr), errors.Is(err, legal.ErrConcurrentEdit), errors.Is(err, legal.ErrDraftChanged):
		// The typed texts are kept; the draft's preview (and the form's
		// draft_read) are the draft as it now is, so that saving again,
		// having read it, replaces it.
		v, verr := s.adminLegalView(r, k, fr, en)
		if verr != nil {
			s.serverError(w, r, verr)
			return
		}
		if read := r.PostForm.Get("draft_read"); read != "" && !errors.Is(err, legal.ErrDraftChanged) {
			// Still the draft this admin has read: a draft saved meanwhile
			// is told on the next save.
			v.Data.(*adminLegalData).DraftRead = read
		}
		switch {
		case ierr != nil:
			v.Errors = map[string]string{ierr.Field: s.Messages.T(v.Lang, "admin.legal.error."+ierr.Code)}
		case errors.Is(err, legal.ErrDraftChanged):
			v.Errors = map[string]string{"form": s.Messages.T(v.Lang, "admin.legal.error.draft_saved_over")}
		default:
			v.Errors = map[string]string{"form": s.Messages.T(v.Lang, "admin.legal.error.concurrent")}
		}
		s.render(w, r, http.StatusUnprocessableEntity, "admin_legal", v)
	default:
		s.serverError(w, r, err)
	}
}

func (s *Server) adminLegalPublish(w http.ResponseWriter, r *http.Request) {
	k, ok := s.adminLegalKind(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	n, ok := legal.ParseVersion(k, r.PostForm.Get("version"))
	if !ok {
		s.notFound(w, r)
		return
	}
	err := s.Legal.PublishAsRead(r.Context(), state(r).user.Actor(), k, n, r.PostForm.Get("digest"))
	switch {
	case errors.Is(err, legal.ErrNotFound):
		s.notFound(w, r)
	case errors.Is(err, legal.ErrDraftChanged):
		// The page again, with the draft's preview as it now is.
		v, verr := s.adminLegalView(r, k, "", "")
		if verr != nil {
			s.serverError(w, r, verr)
			return
		}
		v.Errors = map[string]string{"form": s.Messages.T(v.Lang, "admin.legal.error.draft_changed")}
		s.render(w, r, http.StatusConflict, "admin_legal", v)
	case errors.Is(err, legal.ErrVersionPublished):
		s.renderError(w, r, http.StatusUnprocessableEntity, "admin.legal.error.published")
	case err != nil:
		s.serverError(w, r, err)
	default:
		s.flash(w, "admin.legal.published_flash")
		http.Redirect(w, r, "/admin/legal/"+legalSlug(k), http.StatusSeeOther)
	}
}

// withdrawalForm is the model withdrawal form (Directive 2011/83/EU, annex
// I(B)) as a page anyone can read before buying, as the law asks the form
// to be given before the contract; the confirmation emails carry it again
// after. It is addressed to the seller as those emails address it.
func (s *Server) withdrawalForm(w http.ResponseWriter, r *http.Request) {
	var seller invoices.Seller
	if s.Invoices != nil {
		seller = s.Invoices.Seller()
	}
	to := mail.Trader{Name: seller.Name, Address: seller.Address, Email: s.SupportAddress}.Addressee(s.StoreName)
	v := s.newView(r, "withdrawal_form.title", to)
	s.render(w, r, http.StatusOK, "withdrawal_form", v)
}
