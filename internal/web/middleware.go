package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/clientaddr"
	"comptoir/internal/db"
	"comptoir/internal/locale"
)

// maxBodyBytes bounds every request body that is not an upload; larger
// bodies get 413 before anything is parsed.
const maxBodyBytes = 1 << 20

const (
	sessionCookie = "comptoir_session"
	langCookie    = "comptoir_lang"
	flashCookie   = "comptoir_flash"
)

// reqState is what the middleware learns about a request: who is asking, in
// which language, and how they proved it.
type reqState struct {
	user    *account.User
	session *account.Session // nil for bearer-token requests
	lang    string
	// expired is set when the request carried a session that has expired,
	// so the sign-in page can say so.
	expired bool
}

type ctxKey struct{}

func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(ctxKey{}).(*reqState); ok {
		return st
	}
	return &reqState{lang: locale.FR}
}

// identify finds the user (session cookie or bearer token) and the language.
func (s *Server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{}
		ctx := r.Context()
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			// The probes answer for the process and the database
			// themselves; a credential they do not use must not decide.
			st.lang = s.DefaultLang
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ctxKey{}, st)))
			return
		}
		if token, ok := bearerToken(r.Header); ok {
			u, _, err := s.Accounts.TokenUser(ctx, token)
			if err == nil {
				st.user = &u
			} else if errors.Is(err, account.ErrInvalidToken) {
				var sess account.Session
				if u, sess, err = s.Accounts.SessionUser(ctx, token); err == nil {
					st.user, st.session = &u, &sess
				}
			}
			if err != nil && !credentialRefused(err) {
				// The database could not say (down, restarting): the
				// client must not take its valid token for a revoked one.
				s.identifyFailed(w, r, err)
				return
			}
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			u, sess, err := s.Accounts.SessionUser(ctx, c.Value)
			switch {
			case err == nil:
				st.user, st.session = &u, &sess
			case errors.Is(err, account.ErrSessionExpired):
				st.expired = true
				s.clearCookie(w, sessionCookie)
			case errors.Is(err, account.ErrNoSession):
				s.clearCookie(w, sessionCookie)
			default:
				// The cookie is kept: clearing it signed out everyone who
				// browsed while the database was away.
				s.identifyFailed(w, r, err)
				return
			}
		}
		saved, cookie := "", ""
		if st.user != nil {
			saved = st.user.Language
		}
		if c, err := r.Cookie(langCookie); err == nil {
			cookie = c.Value
		}
		st.lang = locale.Negotiate(saved, cookie, r.Header.Get("Accept-Language"), s.DefaultLang)
		if slot, ok := ctx.Value(stateSlotKey{}).(*stateSlot); ok {
			slot.st = st
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ctxKey{}, st)))
	})
}

// stateSlot is where identify leaves the state it gave a request, for
// recoverPanics, which runs outside it and so never sees the request
// identify passed on: a panic's 500 page is then in the language of the
// signed-in visitor's account, as their other pages are, without reading
// the database again on the way out of a failure.
type stateSlot struct{ st *reqState }

type stateSlotKey struct{}

// bearerToken is the token of an "Authorization: Bearer …" header. The
// scheme's name is case-insensitive (RFC 9110, section 11.1): a client
// sending "bearer …" was taken for an anonymous visitor (401).
func bearerToken(h http.Header) (string, bool) {
	const scheme = "Bearer "
	authz := h.Get("Authorization")
	if len(authz) < len(scheme) || !strings.EqualFold(authz[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(authz[len(scheme):]), true
}

// credentialRefused reports whether err says the credential is not (or no
// longer) good, as opposed to the database failing to answer.
func credentialRefused(err error) bool {
	return errors.Is(err, account.ErrInvalidToken) || errors.Is(err, account.ErrNoSession) || errors.Is(err, account.ErrSessionExpired)
}

// identifyFailed answers a request whose credential could not be checked:
// 503 storage_unavailable when the database is out of reach, in the
// language the visitor's browser asks for.
func (s *Server) identifyFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.serverError(w, s.withVisitorLang(r), err)
}

// withVisitorLang is r with, when identify has not given it a state (a
// middleware outside it answering), the language the visitor's switcher
// cookie or browser asks for, without reading the database: a page from
// there was otherwise always in French.
func (s *Server) withVisitorLang(r *http.Request) *http.Request {
	if _, ok := r.Context().Value(ctxKey{}).(*reqState); ok {
		return r
	}
	cookie := ""
	if c, err := r.Cookie(langCookie); err == nil {
		cookie = c.Value
	}
	st := &reqState{lang: locale.Negotiate("", cookie, r.Header.Get("Accept-Language"), s.DefaultLang)}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
}

// pageAuth guards an HTML route: a visitor who is not signed in is sent to
// the sign-in page (and back afterwards); a signed-in user without the
// right role gets a 404, which reveals nothing about what exists there.
// signedOut, when set, answers instead of the sign-in page when it can
// (it reports whether it did).
func (s *Server) pageAuth(p perm, h http.HandlerFunc, signedOut func(http.ResponseWriter, *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := state(r)
		if p != permAnyone && st.user == nil {
			if signedOut != nil && signedOut(w, r) {
				return
			}
			// A form sent with an expired session comes back to its page:
			// its action may answer POST only.
			target := "/signin?next=" + urlQueryEscape(s.returnPath(r))
			switch {
			case st.expired && r.Method != http.MethodGet && r.Method != http.MethodHead:
				// A form sent with it was not recorded: the sign-in page
				// says so, where "your session has expired" alone left the
				// customer to believe it went (a cancellation, a reply).
				target += "&expired=form"
			case st.expired:
				target += "&expired=1"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if !allowed(p, st.user) {
			s.notFound(w, r)
			return
		}
		if p != permAnyone && s.totpRedirect(w, r, st.user) {
			return
		}
		h(w, r)
	})
}

// apiAuth guards a JSON route: 401 without credentials, 404 when the role
// does not reach it.
func (s *Server) apiAuth(p perm, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := state(r)
		if p != permAnyone && st.user == nil {
			s.apiUnauthorized(w, r)
			return
		}
		if !allowed(p, st.user) {
			s.apiNotFound(w, r)
			return
		}
		if p != permAnyone && st.session != nil && s.apiTOTPRefused(w, r, st.user) {
			return
		}
		h(w, r)
	})
}

// apiUnauthorized answers a JSON request that needs a user and has none:
// 401 with the bearer challenge, which says invalid_token when the request
// sent a token that was refused (RFC 6750, section 3), so a client tells a
// revoked or mistyped token from a credential it forgot to send.
func (s *Server) apiUnauthorized(w http.ResponseWriter, r *http.Request) {
	if _, ok := bearerToken(r.Header); ok {
		w.Header().Set("WWW-Authenticate", apiChallenge+`, error="invalid_token"`)
	}
	writeError(w, http.StatusUnauthorized, "unauthorized", s.Messages.T(state(r).lang, "error.unauthorized"))
}

func allowed(p perm, u *account.User) bool {
	switch p {
	case permAnyone:
		return true
	case permSignedIn:
		return u != nil
	case permStaff:
		return u != nil && u.IsStaff()
	case permAdmin:
		return u != nil && u.Role == account.RoleAdmin
	case permCustomer:
		return u != nil && u.Role == account.RoleCustomer
	}
	return false
}

// crossOrigin refuses state-changing requests sent by another site's page
// (CSRF), using the browser's Sec-Fetch-Site and Origin headers.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	// The refusal runs before identify: it identifies the visitor itself,
	// so that the page is in their saved language, not always French.
	deny := s.identify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusForbidden, "error.csrf")
	}))
	cop.SetDenyHandler(deny)
	return cop.Handler(next)
}

// limitBodies caps request bodies; handlers see *http.MaxBytesError when a
// body is larger and answer 413.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBodyBytes)
		if isUpload(r) {
			limit = maxUploadBytes // evidence, product files, Contact and ticket reply attachments; their services bound each one
		}
		// A NUL or invalid UTF-8 in a query parameter is never meant, and
		// PostgreSQL refuses both in text (a list's cursor, a search): 400
		// here rather than a 500 wherever the value reaches SQL.
		if !storableQuery(r.URL.RawQuery) {
			s.renderError(w, r, http.StatusBadRequest, "error.bad_request")
			return
		}
		// Likewise in the path, whose segments are ids looked up in SQL
		// (/orders/{id}): such a path names nothing, so it is a 404.
		if !db.ValidText(r.URL.Path) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.apiNotFound(w, r)
			} else {
				s.notFound(w, r)
			}
			return
		}
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			s.renderError(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// isUpload reports whether r may carry files: evidence, product files,
// Contact and ticket reply attachments.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/evidence") || strings.HasSuffix(r.URL.Path, "/file") ||
		strings.HasPrefix(r.URL.Path, "/admin/products") || r.URL.Path == "/contact" || strings.HasPrefix(r.URL.Path, "/support/"))
}

// requestBudget is how long a request may take, the database work it waits
// on included. Without it a request whose PostgreSQL connection went silent
// (the server's host gone, its packets dropped) waited for ever, and one
// queued behind a SQLite file another process had locked waited about a
// minute; past it the request's context ends, the query on the silent
// connection is given up and that connection closed (the pool opens a new
// one), a transaction not yet started leaves the writer's queue, and the
// request is answered 503 storage_unavailable. Ten seconds is far above
// what a page or an API call takes (milliseconds; a checkout under load,
// tens of milliseconds), enough for one PostgreSQL connection attempt
// (db.PostgresConnectTimeout) or two SQLite lock waits (db.SQLiteBusyTimeout),
// and short enough that a visitor gets an answer before giving up.
const requestBudget = 10 * time.Second

// uploadBudget is requestBudget for a request that may carry files: the
// server reads a body for up to a minute (ReadTimeout) before the handler
// has it all, then the files go to the file store.
const uploadBudget = 90 * time.Second

type unbudgetedKey struct{}

// budget gives every request a deadline (requestBudget, uploadBudget).
// Routes that send a file have a budget of their own, until they start
// sending it (transfer). The wait for a Checkout page (checkoutWait) fits
// in requestBudget with room for the request's own work; a server that
// waits longer for it (Deps.CheckoutWait, in tests) gives its requests as
// much more, or the budget, not the page, would end the wait.
func (s *Server) budget(next http.Handler) http.Handler {
	longer := max(0, s.CheckoutWait-checkoutWait)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := requestBudget + longer
		if isUpload(r) {
			d = uploadBudget
		}
		base := r.Context()
		ctx, cancel := context.WithTimeout(context.WithValue(base, unbudgetedKey{}, base), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// How long a route that sends a file may take before it starts sending
// it: its database work (finding the file, checking who may have it,
// recording the download, gathering an export) and whatever it prepares in
// memory. Past it the route is answered 503 storage_unavailable, as any
// request past its budget. Sending the body, once started, is not bounded
// by it: a large file to a slow client takes what it takes (the server's
// WriteTimeout bounds it). Without it a download whose insert waited on a
// PostgreSQL lock (a table locked by a migration or an operator's
// session), or an export reading a locked table, waited for ever.
// Variables for the tests.
var (
	// sendBudget: a download, an attachment, a piece of evidence, whose
	// database work is a few statements.
	sendBudget = requestBudget
	// exportBudget: everything the store holds about a customer or a
	// guest, a period's invoices, a dispute's pack with its files: many
	// more rows, and files read from the store, before the first byte.
	exportBudget = time.Minute
)

// send runs h, which sends a file, within sendBudget (see sendBudget).
func (s *Server) send(h http.HandlerFunc) http.HandlerFunc {
	return transfer(func() time.Duration { return sendBudget }, h)
}

// export runs h, which sends an export, within exportBudget.
func (s *Server) export(h http.HandlerFunc) http.HandlerFunc {
	return transfer(func() time.Duration { return exportBudget }, h)
}

// transfer runs h with a budget of its own in place of the request's, which
// ends once h starts its answer (see sendBudget). The request's values
// stay; it still ends when the client goes away.
func transfer(budget func() time.Duration, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base, ok := r.Context().Value(unbudgetedKey{}).(context.Context)
		if !ok {
			h(w, r)
			return
		}
		ctx, cancel := context.WithCancelCause(unbudgeted{Context: r.Context(), base: base})
		defer cancel(nil)
		stop := budgetTimer(budget(), func() { cancel(context.DeadlineExceeded) })
		defer stop()
		h(&answerStart{ResponseWriter: w, started: stop, rc: http.NewResponseController(w), limit: time.Now().Add(sendLimit)},
			r.WithContext(budgetContext{ctx}))
	}
}

// How long sending a file or an export may take, once started. The
// server's WriteTimeout (a minute from the request) cut every longer one:
// a 20 MB product file to a customer reading 100 kB/s stopped after 12 MB.
// Instead each piece of sendPiece bytes has sendStall to be taken by the
// client, so that one who stops reading is cut after that, while one who
// reads, however slowly, gets the whole file within sendLimit; past it the
// connection is cut all the same, so that a reader slow on purpose does
// not hold a connection and an open file for ever. An hour sends the
// largest product file (50 MiB) at 15 kB/s. Variables for the tests.
var (
	sendStall = 30 * time.Second
	sendLimit = time.Hour
)

const sendPiece = 64 << 10

// budgetTimer calls f after d unless stop is called first: time.AfterFunc,
// a variable so that the tests can say when the budget is spent.
var budgetTimer = func(d time.Duration, f func()) (stop func() bool) {
	return time.AfterFunc(d, f).Stop
}

// budgetContext is a transfer's context: its error says a spent budget is
// a deadline (serverError answers 503 for it), not a cancellation.
type budgetContext struct{ context.Context }

func (c budgetContext) Err() error {
	if err := c.Context.Err(); err != nil && errors.Is(context.Cause(c.Context), context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return c.Context.Err()
}

// answerStart calls started when its handler first writes its answer, and
// gives each piece of the answer its write deadline (sendStall, sendLimit).
type answerStart struct {
	http.ResponseWriter
	started func() bool
	once    sync.Once
	rc      *http.ResponseController
	limit   time.Time
}

func (a *answerStart) start() { a.once.Do(func() { a.started() }) }

// extend gives the next piece sendStall, within the limit. A writer that
// has no connection (a test's recorder) has no deadline to extend.
func (a *answerStart) extend() {
	d := time.Now().Add(sendStall)
	if d.After(a.limit) {
		d = a.limit
	}
	_ = a.rc.SetWriteDeadline(d)
}

func (a *answerStart) WriteHeader(status int) {
	a.start()
	a.extend()
	a.ResponseWriter.WriteHeader(status)
}

func (a *answerStart) Write(p []byte) (int, error) {
	a.start()
	n := 0
	for len(p) > 0 {
		a.extend()
		m, err := a.ResponseWriter.Write(p[:min(len(p), sendPiece)])
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// ReadFrom keeps the server's own (sendfile for a file on disk), a piece
// at a time.
func (a *answerStart) ReadFrom(src io.Reader) (int64, error) {
	a.start()
	var total int64
	for {
		a.extend()
		n, err := io.Copy(a.ResponseWriter, io.LimitReader(src, sendPiece))
		total += n
		if err != nil || n < sendPiece {
			return total, err
		}
	}
}

func (a *answerStart) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// unbudgeted is a request's context (its values) with the deadline and
// cancellation of base, the context it had before budget.
type unbudgeted struct {
	context.Context
	base context.Context
}

func (c unbudgeted) Deadline() (time.Time, bool) { return c.base.Deadline() }
func (c unbudgeted) Done() <-chan struct{}       { return c.base.Done() }
func (c unbudgeted) Err() error                  { return c.base.Err() }

// storableQuery reports whether every name and value of a raw query is
// db.ValidText once decoded; a query that does not decode is left to the
// handlers, which read it with url.ParseQuery's leniency.
func storableQuery(raw string) bool {
	if raw == "" {
		return true
	}
	if strings.ContainsRune(raw, 0) {
		return false
	}
	q, _ := url.ParseQuery(raw)
	for k, vs := range q {
		if !db.ValidText(k) {
			return false
		}
		for _, v := range vs {
			if !db.ValidText(v) {
				return false
			}
		}
	}
	return true
}

// contentSecurityPolicy allows nothing but the store's own files: no inline
// script or style, no third-party origin, no framing. The one exception is
// form-action: card payments happen on Stripe's Checkout page, reached by a
// redirect answering a form (POST /checkout, /balance/topup…), and browsers
// apply form-action to such redirects too.
func contentSecurityPolicy(card bool, checkoutOrigin string) string {
	formAction := "'self'"
	if card && checkoutOrigin != "" {
		formAction += " " + checkoutOrigin
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// h.Set for each, with the six values in one allocation rather
		// than one each (the names are canonical already); each value's
		// slice has no room past it, so that an Add reallocates it rather
		// than writing over the next.
		h := w.Header()
		v := make([]string, 6)
		v[0], v[1], v[2], v[3], v[4], v[5] = s.csp, "nosniff", "DENY", "same-origin", "same-origin", "camera=(), microphone=(), geolocation=()"
		h["Content-Security-Policy"] = v[0:1:1]
		h["X-Content-Type-Options"] = v[1:2:2]
		h["X-Frame-Options"] = v[2:3:3]
		h["Referrer-Policy"] = v[3:4:4]
		h["Cross-Origin-Opener-Policy"] = v[4:5:5]
		h["Permissions-Policy"] = v[5:6:6]
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a 500 page and a log line with the stack;
// the visitor never sees a stack trace. The page is in the language identify
// chose for the request (the signed-in visitor's account's), or, when the
// panic came before it did, the one their switcher or browser asks for.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slot := &stateSlot{}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.Error("panic serving request", "method", r.Method, "path", loggedPath(r.URL.Path), "panic", p, "stack", string(debug.Stack()))
				if slot.st != nil {
					// Only its language: the page says nothing else of
					// the visitor.
					r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqState{lang: slot.st.lang}))
				}
				s.serverError(w, s.withVisitorLang(r), nil)
			}
		}()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateSlotKey{}, slot)))
	})
}

// clientIP is the address rate limits, consent records, sessions and
// activity logs use: the connection's peer, or, when the peer is one of
// --trusted-proxies, the client its X-Forwarded-For names (forwardedClient).
func clientIP(r *http.Request) string {
	return clientaddr.Of(r)
}

// limitAddr is the client as per-client rate limits count it: its address,
// or for IPv6 its /64 (clientaddr.LimitKey).
func limitAddr(r *http.Request) string {
	return clientaddr.LimitKey(clientIP(r))
}

// forwardedClient works out, once per request, the client's address behind
// the trusted reverse proxies; installed only when some are trusted, so
// that by default the header is never read.
func (s *Server) forwardedClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := s.TrustedProxies.Client(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		next.ServeHTTP(w, r.WithContext(clientaddr.WithClient(r.Context(), addr)))
	})
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	s.setCookie(w, name, "", -1)
}
