package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"

	"comptoir/internal/idempotency"
	"comptoir/internal/orders"
)

var (
	errDuplicateInFlight = errors.New("the same request is already being processed")
	errKeyReused         = errors.New("idempotency key reused with another request")
	// errBadKey is a malformed Idempotency-Key at checkout: a field error
	// on the page's form, 400 bad_request in the API as on every other
	// keyed route (writeKeyed).
	errBadKey = &orders.ValidationError{Fields: map[string]string{"idempotency_key": "invalid"}}
)

// placed is the outcome of an idempotent checkout.
type placed struct {
	orderID string
	body    []byte // the order as the API shows it
	replay  bool   // the answer of an earlier request with the same key
	// status is the order's, when this request placed it (not a replay):
	// the API answers without reading it back from body.
	status string
	err    error
}

// replayed ends a transaction whose request turned out to be a repeat:
// the effect is rolled back and the first answer returned.
type replayed struct{ out idempotency.Outcome }

func (replayed) Error() string { return "idempotent repeat" }

// idempotent runs a checkout under an idempotency key: the first request
// with a key places the order and stores its answer in the same transaction
// (one commit, shared with others by the group commit); a repeat with the
// same body gets that answer back without placing anything; the same key
// with another body is refused. A request that fails leaves nothing, key
// included, so it may simply be tried again.
func (s *Server) idempotent(r *http.Request, callerID, route, key string, body []byte,
	place func(after orders.AfterPlace) (orders.Order, error)) placed {
	ctx := r.Context()
	if key == "" {
		o, err := place(nil)
		if err != nil {
			return placed{err: err}
		}
		b, _ := marshalOrderJSON(s.orderJSON(ctx, o))
		return placed{orderID: o.ID, body: b, status: o.Status}
	}
	scope := idempotency.Scope(callerID, route)
	hash := idempotency.RequestHash(r.Method, route, body)
	fail := func(err error) placed {
		var verr *idempotency.ValidationError
		switch {
		case errors.Is(err, idempotency.ErrKeyReused):
			return placed{err: errKeyReused}
		case errors.Is(err, idempotency.ErrInProgress):
			return placed{err: errDuplicateInFlight}
		case errors.As(err, &verr):
			return placed{err: errBadKey}
		}
		return placed{err: err}
	}
	replay := func(out idempotency.Outcome) placed {
		var o struct{ ID string }
		json.Unmarshal(out.Body, &o)
		return placed{orderID: o.ID, body: out.Body, replay: true}
	}
	// A cheap read first: a repeat is answered without running anything
	// (the order might not even be possible any more, its balance spent).
	looked, err := s.Idempotency.Lookup(ctx, scope, key, hash)
	if err != nil {
		return fail(err)
	}
	if looked.Replay {
		return replay(looked)
	}
	var stored []byte
	var storedStatus string
	o, err := place(func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
		stored, _ = marshalOrderJSON(s.orderJSON(ctx, o))
		storedStatus = o.Status
		// On PostgreSQL the key's claim usually goes with the order's rows,
		// in their pipeline: a duplicate that committed first fails the
		// transaction with ErrTaken (below) rather than answering here.
		out, err := s.Idempotency.ClaimTx(ctx, tx, looked, scope, key, hash, http.StatusCreated, stored)
		if err != nil {
			return err
		}
		if out.Replay {
			// A duplicate committed first: undo this one, answer with that.
			return replayed{out}
		}
		return nil
	})
	var rep replayed
	if errors.As(err, &rep) {
		return replay(rep.out)
	}
	if errors.Is(err, idempotency.ErrTaken) {
		// A duplicate claimed the key first, and committed: its answer.
		out, err := s.Idempotency.Settle(ctx, scope, key, hash)
		if err != nil {
			return fail(err)
		}
		return replay(out)
	}
	if err != nil {
		// A duplicate that ran beside the first can fail on what the first
		// consumed (its balance, its licence key) before its claim (ClaimTx):
		// once the first has committed, it answers as it would after it,
		// the first's answer or, for another body, the key reused.
		switch out, lerr := s.Idempotency.Lookup(ctx, scope, key, hash); {
		case lerr == nil && out.Replay:
			return replay(out)
		case errors.Is(lerr, idempotency.ErrKeyReused):
			return fail(lerr)
		}
		return fail(err)
	}
	return placed{orderID: o.ID, body: stored, status: storedStatus}
}

// keyedRequest is an API request that may carry an Idempotency-Key, for
// handlers whose effect is not a checkout: lookup answers a repeat before
// anything runs, saveTx stores the answer in the effect's transaction.
// Without a key both do nothing.
type keyedRequest struct {
	store            *idempotency.Store
	scope, key, hash string
	// onReplay, when set, completes a replayed answer with what was not
	// known when it was stored (a top-up's Checkout page).
	onReplay func(body []byte) []byte
	// api: the key is the client's Idempotency-Key, and a key reused for
	// another request is refused (422 idempotency_key_reused), also when
	// the request failed beside the key's first use (recover). A page
	// form's key is of no use then and is dropped (formKeyed).
	api bool
}

// keyedRequest scopes the key to the caller and the route (its pattern, as
// API.md says) and hashes the request's path and body: the same key sent to
// another claim's decision is another request, refused as reused.
func (s *Server) keyedRequest(r *http.Request, callerID string, body []byte) keyedRequest {
	return keyedRequest{store: s.Idempotency, scope: idempotency.Scope(callerID, r.Pattern), key: r.Header.Get("Idempotency-Key"),
		hash: idempotency.RequestHash(r.Method, r.URL.Path, body), api: true}
}

// formKeyed starts a page form's keyed request: the key is the form's
// hidden field (drawn with the form), scoped to the caller and the route,
// so that the form sent twice (a double click without script, a reload of
// its answer) is one request. replay, when set, is the first answer: the
// repeat answers as it did. A key of no use (reused for another text
// through the back button, malformed, or not looked up) is dropped, and the
// request runs as a new one.
func (s *Server) formKeyed(r *http.Request, caller, route, field string) (k keyedRequest, replay *idempotency.Outcome) {
	k = keyedRequest{store: s.Idempotency, scope: idempotency.Scope(caller, route), key: r.PostForm.Get(field),
		hash: idempotency.RequestHash(r.Method, r.URL.Path, []byte(r.PostForm.Encode()))}
	switch out, err := k.lookup(r.Context()); {
	case err != nil:
		k.key = ""
	case out.Replay:
		return k, &out
	}
	return k, nil
}

// keyedLookup starts a keyed request and answers it at once when it is a
// repeat (the first answer) or its key is at fault or cannot be looked up;
// ok says the handler goes on.
func (s *Server) keyedLookup(w http.ResponseWriter, r *http.Request, callerID string, body []byte) (k keyedRequest, ok bool) {
	k = s.keyedRequest(r, callerID, body)
	return k, s.lookupKeyed(w, r, k)
}

// lookupKeyed is keyedLookup for a keyed request made already.
func (s *Server) lookupKeyed(w http.ResponseWriter, r *http.Request, k keyedRequest) (ok bool) {
	out, err := k.lookup(r.Context())
	if s.writeKeyed(w, r, out, err) {
		return false
	}
	if err != nil {
		s.serverError(w, r, err)
		return false
	}
	s.keyLooked(r, k)
	return true
}

// keyLooked runs the tests' afterKeyLookup on a keyed request that goes on.
func (s *Server) keyLooked(r *http.Request, k keyedRequest) {
	if s.afterKeyLookup != nil && k.key != "" {
		s.afterKeyLookup(r)
	}
}

func (k keyedRequest) lookup(ctx context.Context) (idempotency.Outcome, error) {
	if k.key == "" {
		return idempotency.Outcome{}, nil
	}
	out, err := k.store.Lookup(ctx, k.scope, k.key, k.hash)
	return k.completed(out), err
}

// completed applies onReplay to a replay.
func (k keyedRequest) completed(out idempotency.Outcome) idempotency.Outcome {
	if out.Replay && k.onReplay != nil {
		out.Body = k.onReplay(out.Body)
	}
	return out
}

// saveTx stores v as the answer; a duplicate that committed first makes
// it return replayed, which rolls this request's effect back.
func (k keyedRequest) saveTx(ctx context.Context, tx *sql.Tx, status int, v any) error {
	if k.key == "" {
		return nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	out, err := k.store.SaveTx(ctx, tx, k.scope, k.key, k.hash, status, body)
	if err == nil && out.Replay {
		return replayed{out}
	}
	return err
}

// recover tells what to answer after the effect ran: the first answer when
// this request turned out to be a repeat (replayed, or a duplicate that ran
// beside the first and failed on what the first consumed, once the first
// has committed), otherwise err as it is. An API request that failed so
// beside its key's first use with another body answers as it would a
// moment later, the key reused (ErrKeyReused), not its own failure, as the
// checkout does (idempotent); a page form's key is dropped instead, and the
// form's own failure said.
func (k keyedRequest) recover(ctx context.Context, err error) (idempotency.Outcome, error) {
	var rep replayed
	if errors.As(err, &rep) {
		return k.completed(rep.out), nil
	}
	if err != nil && k.key != "" {
		switch out, lerr := k.lookup(ctx); {
		case lerr == nil && out.Replay:
			return out, nil
		case k.api && errors.Is(lerr, idempotency.ErrKeyReused):
			return idempotency.Outcome{}, lerr
		}
	}
	return idempotency.Outcome{}, err
}

// writeKeyed answers a keyed request: a replay as first answered (err is
// replayed, or out.Replay from lookup), a key problem with its API error.
// It reports whether it answered.
func (s *Server) writeKeyed(w http.ResponseWriter, r *http.Request, out idempotency.Outcome, err error) bool {
	var rep replayed
	if errors.As(err, &rep) {
		out, err = rep.out, nil
	}
	lang := state(r).lang
	var verr *idempotency.ValidationError
	switch {
	case err == nil && out.Replay:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(out.Status)
		w.Write(append(out.Body, '\n')) // as writeJSON ended the first answer
	case errors.Is(err, idempotency.ErrKeyReused):
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", s.Messages.T(lang, "error.idempotency_key_reused"))
	case errors.Is(err, idempotency.ErrInProgress):
		writeError(w, http.StatusConflict, "request_in_progress", s.Messages.T(lang, "cart.in_progress"))
	case errors.As(err, &verr):
		writeFieldErrors(w, http.StatusBadRequest, "bad_request", s.Messages.T(lang, "error.bad_request"), map[string]string{"idempotency_key": "invalid"})
	default:
		return false
	}
	return true
}
