package web

import (
	"context"
	"database/sql"
	"net/http"
	"strings"

	"comptoir/internal/orders"
)

// apiProofRecent is GET /api/v1/proof/recent: the recent real purchases,
// anonymised and worded in the visitor's language (?lang= wins, for the
// script embedded on another site, whose page language we cannot see).
// Other sites of the store read it through CORS, for the origins the admin
// allowed only; no credentials are ever accepted cross-origin.
func (s *Server) apiProofRecent(w http.ResponseWriter, r *http.Request) {
	lang := documentLang(r)
	s.proofCORS(w, r)
	items, err := s.Proof.Recent(r.Context(), lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Language", lang)
	// no-store (set by writeJSON): a refunded order must leave every
	// visitor's screen at once, so no browser or proxy may keep a copy.
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// apiProofPreflight answers a CORS preflight for the feed.
func (s *Server) apiProofPreflight(w http.ResponseWriter, r *http.Request) {
	if s.proofCORS(w, r) {
		w.Header().Set("Access-Control-Allow-Methods", "GET")
		w.Header().Set("Access-Control-Allow-Headers", "Accept, Accept-Language")
		w.Header().Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// proofCORS allows the request's origin when the admin listed it, and
// reports whether it did. The answer depends on Origin, so caches are told.
func (s *Server) proofCORS(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	st, err := s.Proof.Settings(r.Context())
	if err != nil {
		s.Logger.Warn("proof settings", "err", err)
		return false
	}
	if !st.Allows(strings.ToLower(origin)) {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return true
}

// embedScript is GET /embed/proof.js: the toast script at a stable address
// for other sites of the store (the storefront uses its content-hashed
// copy). It finds the feed from its own URL.
func (s *Server) embedScript(w http.ResponseWriter, r *http.Request) {
	b, ok := s.static.files[s.static.URL("proof.js")]
	if !ok {
		s.notFound(w, r)
		return
	}
	s.proofCORS(w, r)
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	w.Write(b)
}

// proofToast reports whether a page shows the purchase toast: storefront
// pages only (not checkout, accounts, console or admin), when the store has
// it on.
func (s *Server) proofToast(r *http.Request) bool {
	if s.Proof == nil || r.Method != http.MethodGet {
		return false
	}
	p := r.URL.Path
	if p != "/" && p != "/shop" && !strings.HasPrefix(p, "/shop/") {
		return false
	}
	st, err := s.Proof.Settings(r.Context())
	return err == nil && st.Enabled
}

// proofAsk is the checkout's "do not show my purchase" box: shown when the
// feature is on, ticked as the store's default or as the buyer left it.
type proofAsk struct{ Ask, OptOut bool }

func (s *Server) proofAsk(r *http.Request) proofAsk {
	if s.Proof == nil {
		return proofAsk{}
	}
	st, err := s.Proof.Settings(r.Context())
	if err != nil {
		s.Logger.Warn("proof settings", "err", err)
		return proofAsk{}
	}
	a := proofAsk{Ask: st.Enabled, OptOut: st.DefaultOptOut}
	if u := state(r).user; st.Enabled && !a.OptOut && u != nil {
		// Whoever withdrew their consent on their account page starts
		// with the box ticked: unticking it is consenting again.
		if withdrawn, err := s.Proof.Withdrawn(r.Context(), u.ID); err != nil {
			s.Logger.Warn("proof consent", "err", err)
			a.OptOut = true
		} else {
			a.OptOut = withdrawn
		}
	}
	if c := proofChoiceOf(r.PostForm); c != nil {
		a.OptOut = *c
	}
	return a
}

// proofChoiceOf is what the checkout form says: nil when the box was not
// on the page (the store's rule decides).
func proofChoiceOf(f interface{ Get(string) string }) *bool {
	if f.Get("proof_asked") == "" {
		return nil
	}
	out := f.Get("proof_opt_out") == "yes"
	return &out
}

// pageProofChoice is the checkout page's choice. The page asks only while
// the notices are on, so a form without the box comes from a buyer who was
// never asked (the page was drawn while the notices were off, and they were
// turned on before it came back): their purchase is not shown. Only the API
// lets the store's default decide for a client that did not say.
func pageProofChoice(f interface{ Get(string) string }) *bool {
	if c := proofChoiceOf(f); c != nil {
		return c
	}
	out := true
	return &out
}

// withProofChoice records the buyer's choice in the checkout's transaction,
// then runs after.
func (s *Server) withProofChoice(ctx context.Context, optOut *bool, after orders.AfterPlace) orders.AfterPlace {
	if s.Proof == nil {
		return after
	}
	// Read the settings now, before the checkout's transaction, when they
	// are not cached: RecordChoiceTx then takes them from the cache rather
	// than reading them inside the transaction (on SQLite, on the single
	// writer every checkout waits for). Should this read fail, it reads
	// them there.
	s.Proof.Settings(ctx)
	return func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
		if err := s.Proof.RecordChoiceTx(ctx, tx, o.ID, optOut); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, tx, o)
		}
		return nil
	}
}
