package web

import (
	"context"
	"errors"
	"net/url"
	"time"

	"comptoir/internal/legal"
	"comptoir/internal/policystore"
)

// docRef names one published version of a document a customer accepted
// (the refund policy, the terms of sale) as the customer reads it: its
// title with the version's number and the date it was published,
// "Politique de remboursement, version 2 du 12 mars 2026", linked to that
// version's text. The date alone did not tell versions apart: a new store
// has default@1 and default@2 of the refund policy published the same day
// (migration 0054 and the first start), and an admin may publish twice in
// a day. The number is always there, so a version's name never changes
// once a customer has read it. ID is the version as orders and the API
// record it ("default@1", "terms@2"), which only the console shows beside
// the name.
type docRef struct {
	ID   string
	Name string
	URL  string
}

// docNamer resolves version IDs for one page: the request's context and
// the server's stores.
type docNamer struct {
	ctx context.Context
	s   *Server
}

// PolicyDoc names the refund policy version id for the page's reader.
func (v *view) PolicyDoc(id string) docRef {
	ref := docRef{ID: id, Name: id, URL: "/policy?version=" + url.QueryEscape(id)}
	if v.docs == nil || v.docs.s.Policies == nil || id == "" {
		return ref
	}
	ctx, s := v.docs.ctx, v.docs.s
	p, err := s.Policies.Get(ctx, id)
	if err != nil {
		s.docRefFailed(ctx, id, err, errors.Is(err, policystore.ErrNotFound))
		return ref
	}
	title, _ := p.Page(v.Lang)
	at, err := s.Policies.PublishedAt(ctx, id)
	if err != nil && !errors.Is(err, policystore.ErrNotFound) {
		s.docRefFailed(ctx, id, err, false)
	}
	ref.Name = v.dated(title, p.Version, at)
	return ref
}

// TermsDoc names the terms of sale version id ("terms@2") for the page's
// reader.
func (v *view) TermsDoc(id string) docRef {
	ref := docRef{ID: id, Name: id, URL: "/legal/terms?version=" + url.QueryEscape(id)}
	if v.docs == nil || v.docs.s.Legal == nil || id == "" {
		return ref
	}
	ctx, s := v.docs.ctx, v.docs.s
	n, ok := legal.ParseVersion(legal.Terms, id)
	if !ok {
		return ref
	}
	d, err := s.Legal.Get(ctx, legal.Terms, n)
	if err != nil {
		s.docRefFailed(ctx, id, err, errors.Is(err, legal.ErrNotFound))
		return ref
	}
	ref.Name = v.dated(v.T("legal.title.terms"), n, d.Published)
	return ref
}

// dated is a document's title with its version's number and date, or its
// number alone when the date is unknown.
func (v *view) dated(title string, number int64, at time.Time) string {
	if at.IsZero() {
		return v.T("doc.numbered", "Title", title, "Number", number)
	}
	return v.T("doc.dated", "Title", title, "Number", number, "Date", v.zone.LongDate(at, v.Lang))
}

// docRefFailed logs a version a page could not name: the page still shows
// the ID rather than failing.
func (s *Server) docRefFailed(ctx context.Context, id string, err error, notFound bool) {
	if notFound {
		s.Logger.WarnContext(ctx, "web: no published document version to name", "version", id)
		return
	}
	s.Logger.ErrorContext(ctx, "web: naming a document version", "version", id, "err", err)
}
