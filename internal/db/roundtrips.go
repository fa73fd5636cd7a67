package db

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// RoundTrips counts the statements a context's work sends to PostgreSQL,
// each a round trip the client waits for: a query, a BEGIN or COMMIT, and
// a pipeline of statements (Append's rows) as one. A statement's first
// preparation on a connection is not counted: it depends on which pooled
// connection ran it, not on the work. It is how a test pins what one
// request costs the database (a checkout: see internal/app's
// TestCheckoutRoundTrips), where a count of statements would not show a
// pipeline's worth. SQLite runs in the process and has no round trips: there
// it counts the statements the work runs (a query, an INSERT), which is
// enough for a test that a page's statements do not grow with its rows.
//
// It also counts the statements themselves, a pipeline's each
// (Statements): what the server parses, plans and runs.
type RoundTrips struct{ n, stmts atomic.Int64 }

// Load is the count so far.
func (r *RoundTrips) Load() int64 { return r.n.Load() }

// Statements is the count of statements so far, on PostgreSQL: one a
// query, a BEGIN or COMMIT, and one for each of a pipeline's.
func (r *RoundTrips) Statements() int64 { return r.stmts.Load() }

type roundTripsKey struct{}

// CountRoundTrips returns ctx with r counting the round trips made with it
// (and with the contexts derived from it).
func CountRoundTrips(ctx context.Context, r *RoundTrips) context.Context {
	return context.WithValue(ctx, roundTripsKey{}, r)
}

// roundTripTracer counts, for a context that asks (CountRoundTrips), what
// pgx sends. It costs a context lookup per statement otherwise.
type roundTripTracer struct{}

// counter is the RoundTrips ctx counts with, or nil.
func counter(ctx context.Context) *RoundTrips {
	r, _ := ctx.Value(roundTripsKey{}).(*RoundTrips)
	return r
}

// count counts a statement SQLite runs (stmtcache): a round trip's worth.
func count(ctx context.Context) {
	if r := counter(ctx); r != nil {
		r.n.Add(1)
	}
}

// TraceQueryStart counts a query: a round trip, a statement.
func (roundTripTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if r := counter(ctx); r != nil {
		r.n.Add(1)
		r.stmts.Add(1)
	}
	return ctx
}

func (roundTripTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts a pipeline: one round trip.
func (roundTripTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	count(ctx)
	return ctx
}

// TraceBatchQuery counts a statement of a pipeline.
func (roundTripTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	if r := counter(ctx); r != nil {
		r.stmts.Add(1)
	}
}

func (roundTripTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
