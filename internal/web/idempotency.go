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
)

// placed is the outcome of an idempotent checkout.
type placed struct {
	orderID string
	body    []byte // the order as the API shows it
	replay  bool   // the answer of an earlier request with the same key
	err     error
}

// idempotent runs a checkout under an idempotency key: the first request
// with a key places the order and stores its answer in the same transaction;
// a repeat with the same body gets that answer back without placing anything;
// the same key with another body is refused. A request that fails changes
// nothing and releases its key, so it may simply be tried again.
func (s *Server) idempotent(r *http.Request, callerID, route, key string, body []byte,
	place func(after orders.AfterPlace) (orders.Order, error)) placed {
	ctx := r.Context()
	if key == "" {
		o, err := place(nil)
		if err != nil {
			return placed{err: err}
		}
		b, _ := json.Marshal(s.orderJSON(ctx, o))
		return placed{orderID: o.ID, body: b}
	}
	scope := idempotency.Scope(callerID, route)
	out, err := s.Idempotency.Begin(ctx, scope, key, idempotency.RequestHash(r.Method, route, body))
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		return placed{err: errKeyReused}
	case errors.Is(err, idempotency.ErrInProgress):
		return placed{err: errDuplicateInFlight}
	case err != nil:
		var verr *idempotency.ValidationError
		if errors.As(err, &verr) {
			return placed{err: &orders.ValidationError{Fields: map[string]string{"idempotency_key": "invalid"}}}
		}
		return placed{err: err}
	case out.Replay:
		var o struct{ ID string }
		json.Unmarshal(out.Body, &o)
		return placed{orderID: o.ID, body: out.Body, replay: true}
	}
	var stored []byte
	o, err := place(func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
		stored, _ = json.Marshal(s.orderJSON(ctx, o))
		return s.Idempotency.CompleteTx(ctx, tx, scope, key, http.StatusCreated, stored)
	})
	if err != nil {
		if rerr := s.Idempotency.Release(context.WithoutCancel(ctx), scope, key); rerr != nil {
			s.Logger.Warn("release idempotency key", "err", rerr)
		}
		return placed{err: err}
	}
	return placed{orderID: o.ID, body: stored}
}
