package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"comptoir/internal/benchdata"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/jobs"
	"comptoir/internal/mail"
	"comptoir/internal/subscriptions"
)

// The periodic scans (the desk's SLA scan, the subscriptions' renewal scan)
// must cost what is due, not what the store has accumulated. They are timed
// as library calls in the harness's own process, on two stores of their own
// per engine (not the served one, whose server runs the same scans on its own
// schedule and would change the due set under the measure): one with little
// history and one with much (closed tickets, ended subscriptions and their
// paid periods), both with exactly the same due set (benchdata's
// Options.Due). The ratio is the large history's median cost over the small
// one's; the target is that it stays under 2.

// scanDue is how many items of each kind are due in both stores: tickets
// past their promise and not flagged, tickets to warn about, subscriptions
// to renew.
const scanDue = 10

// scanStore is one of the two stores, with the services the scans run on.
type scanStore struct {
	label   string
	d       *db.DB
	set     *benchdata.Dataset
	desk    *desk.Service
	subs    *subscriptions.Service
	tickets int64 // history sizes, for the note
	subRows int64
	periods int64
}

// scanPair is the small and the large store of one engine.
type scanPair struct {
	small, large *scanStore
}

func (p *scanPair) close() {
	for _, st := range []*scanStore{p.small, p.large} {
		if st != nil && st.d != nil {
			st.d.Close()
		}
	}
}

// scanScales derives the two stores' sizes from the run's scale: the large
// history is the scale's tickets and subscriptions, the small one a
// hundredth of them (at least what the due set needs). Both have the same
// customers, agents (who are warned) and no orders (which no scan reads).
//
// The large history is never under 25,000 tickets and 10,000 subscriptions
// (a few seconds' load), even at SCALE=tiny: the scans' own work (ten small
// transactions) hides a scan of a few thousand rows, but not of that many.
// Measured on SQLite with the two scans' indexes dropped from the large
// store (tickets_promise_at, subscriptions_due), the ratios went from 1.04
// and 1.00 to 2.14 and 2.89: the target catches a scan over the history.
func scanScales(sc benchdata.Scale) (small, large benchdata.Scale) {
	large = benchdata.Scale{Name: "scan-large", Customers: max(min(sc.Customers, 2_000), scanDue), Products: 2, Pool: 1,
		Agents: max(sc.Agents, 1), Messages: max(sc.Messages, 100_000), Subscriptions: max(sc.Subscriptions, 10_000)}
	small = large
	small.Name = "scan-small"
	small.Messages = max(large.Messages/100, 16*scanDue)
	small.Subscriptions = max(large.Subscriptions/100, 2*scanDue)
	return small, large
}

// scanStores opens (the first time) the engine's two scan stores.
func (e *env) scanStores() (*scanPair, error) {
	if e.scans == nil && e.scanErr == nil {
		if e.openScans == nil {
			e.scanErr = errors.New("no scan stores for this engine")
		} else {
			e.scans, e.scanErr = e.openScans()
		}
	}
	return e.scans, e.scanErr
}

// openScanStores creates, migrates and loads the engine's two scan stores.
func (h *harness) openScanStores(ctx context.Context, engine, dir string) (*scanPair, error) {
	small, large := scanScales(h.cfg.scale)
	p := &scanPair{}
	var err error
	if p.small, err = h.openScanStore(ctx, engine, dir, small); err != nil {
		return nil, err
	}
	if p.large, err = h.openScanStore(ctx, engine, dir, large); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (h *harness) openScanStore(ctx context.Context, engine, dir string, sc benchdata.Scale) (*scanStore, error) {
	dataDir := filepath.Join(dir, sc.Name)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	var url string
	switch engine {
	case "sqlite":
		url = "sqlite:" + filepath.Join(dataDir, "comptoir.db")
	case "postgres":
		cluster, err := h.postgres(ctx)
		if err != nil {
			return nil, err
		}
		if url, err = h.createDatabase(ctx, cluster, "comptoir_"+strings.ReplaceAll(sc.Name, "-", "_")); err != nil {
			return nil, err
		}
	}
	h.logf("%s: %s store: migrating and loading %s", engine, sc.Name, sc)
	if err := h.comptoir(ctx, "migrate", "--database-url", url, "--data-dir", dataDir); err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	st, err := newScanStore(ctx, d, sc, h.cfg.seed)
	if err != nil {
		d.Close()
		return nil, err
	}
	h.logf("%s: %s store: %d rows in %s", engine, sc.Name, st.set.RowsTotal(), st.set.Took.Round(time.Millisecond))
	return st, nil
}

// newScanStore loads a migrated database d at scale sc with the scans' due
// set, and makes the services the scans run on.
func newScanStore(ctx context.Context, d *db.DB, sc benchdata.Scale, seed uint64) (*scanStore, error) {
	st := &scanStore{label: strings.TrimPrefix(sc.Name, "scan-"), d: d}
	var err error
	if st.set, err = benchdata.Load(ctx, d, sc, benchdata.Options{Seed: seed, Due: scanDue}); err != nil {
		return nil, err
	}
	st.tickets, st.subRows, st.periods = st.set.Rows["tickets"], st.set.Rows["subscriptions"], st.set.Rows["subscription_periods"]
	// The services as the application wires them, minus what the scans do
	// not reach: an insert-only River client (no worker runs: the mail and
	// renewal jobs the scans queue stay queued) and the real outbox. The
	// renewal scan only reads and queues jobs (no scheduled cancellation is
	// due), so it needs no catalog, ledger, customers or card.
	clk := clock.NewManual(st.set.Now)
	jc, err := jobs.New(d, jobs.Config{})
	if err != nil {
		return nil, err
	}
	outbox, err := mail.NewOutbox(d, jc, clk, mail.Address{Name: "comptoir-bench", Email: "shop@bench.invalid"})
	if err != nil {
		return nil, err
	}
	if st.desk, err = desk.New(d, clk, outbox, desk.Options{SupportAddress: benchSupportAddr, BaseURL: "http://127.0.0.1",
		StoreName: "comptoir-bench"}); err != nil {
		return nil, err
	}
	st.subs = subscriptions.New(d, clk, nil, nil, nil, outbox, nil, subscriptions.Options{Jobs: jc, StoreName: "comptoir-bench"})
	return st, nil
}

// scanCall is one timed library call of a scan, and the count of items it
// must act on each time (the due set: anything else means the two stores
// did not do the same work).
type scanCall struct {
	name string
	run  func(ctx context.Context, st *scanStore, at time.Time) (int, error)
}

// timeScans times the calls on both stores, round after round, in
// alternating order (so that whatever else the machine does falls on both
// alike), restoring the due set after each round, untimed, so that every
// round finds the same items due at the same moment. Only the calls are
// timed. The sample's latencies are the large store's (all calls of a
// round together: one scan); its ratio is the large store's median over the
// small store's.
func timeScans(ctx context.Context, p *scanPair, lim limits, calls []scanCall, restore func(ctx context.Context, st *scanStore) error) (Sample, error) {
	per := map[*scanStore][][]time.Duration{}
	totals := map[*scanStore][]time.Duration{}
	var s Sample
	round := func(st *scanStore, measure bool) error {
		var sum time.Duration
		lat := make([]time.Duration, len(calls))
		for i, c := range calls {
			t := time.Now()
			n, err := c.run(ctx, st, st.set.Now)
			lat[i] = time.Since(t)
			if err == nil && n != scanDue {
				err = fmt.Errorf("%s on the %s store acted on %d items, want the %d due", c.name, st.label, n, scanDue)
			}
			if err != nil {
				if rerr := restore(ctx, st); rerr != nil {
					return rerr
				}
				return err
			}
			sum += lat[i]
		}
		if err := restore(ctx, st); err != nil {
			return err
		}
		if measure {
			per[st] = append(per[st], lat)
			totals[st] = append(totals[st], sum)
		}
		return nil
	}
	stores := []*scanStore{p.small, p.large}
	// Warm-up: the stores' pages into the caches, the statements prepared.
	warm := time.Now().Add(lim.Warmup)
	for i := 0; i < 3 || time.Now().Before(warm); i++ {
		for _, st := range stores {
			if err := round(st, false); err != nil {
				return s, err
			}
		}
	}
	start := time.Now()
	deadline := start.Add(lim.Duration)
	for i := uint64(0); i < lim.MaxRequests && ctx.Err() == nil && (i < 5 || time.Now().Before(deadline)); i++ {
		order := stores
		if i%2 == 1 {
			order = []*scanStore{p.large, p.small}
		}
		for _, st := range order {
			if err := round(st, true); err != nil {
				s.Errors++
				if s.FirstError == "" {
					s.FirstError = err.Error()
				}
				if s.Errors > 10 {
					return s, err
				}
			}
		}
	}
	if ctx.Err() != nil {
		return s, ctx.Err()
	}
	s.Latencies = slices.Clone(totals[p.large])
	for _, d := range s.Latencies {
		s.Elapsed += d
	}
	s.Concurrency = 1
	small, large := median(totals[p.small]), median(totals[p.large])
	if small > 0 {
		s.Ratio = float64(large) / float64(small)
	}
	var notes []string
	for _, st := range stores {
		parts := []string{fmt.Sprintf("%s history (%d tickets, %d subscriptions, %d periods): scan p50 %.2f ms p99 %.2f ms",
			st.label, st.tickets, st.subRows, st.periods, ms(median(totals[st])), ms(pct(totals[st], 99)))}
		for i, c := range calls {
			col := make([]time.Duration, len(per[st]))
			for k, l := range per[st] {
				col[k] = l[i]
			}
			parts = append(parts, fmt.Sprintf("%s p50 %.2f ms p99 %.2f ms", c.name, ms(median(col)), ms(pct(col, 99))))
		}
		notes = append(notes, strings.Join(parts, ", "))
	}
	s.Note = fmt.Sprintf("library calls, %d due of each kind in both stores, %d rounds; ", scanDue, len(totals[p.large])) +
		strings.Join(notes, "; ") + "; ratio = large p50 / small p50 (row: the large store, per scan)"
	return s, nil
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p float64) time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return Percentile(c, p)
}

// slaScan: the desk's periodic breach scan as its job runs it (jobs.go,
// breachScanWorker): MarkBreaches then WarnDeadlines, at the stores' now.
// Each round flags the Due tickets whose promise just passed (an audit line
// each) and warns about the Due ones promised within the window (a warning
// row, an email per agent and an audit line each). Restored after each
// round, untimed: the flags cleared on exactly those tickets and the
// warning rows deleted, so that the next round has the same work; the
// emails and audit lines the rounds leave accumulate alike in both stores
// (appends, whose cost does not depend on how many came before).
func slaScan() scenario {
	return scenario{Name: "SLA scan", Target: Target{CostIndependent, 2}, Serial: true,
		Run: func(e *env, lim limits) (Sample, error) {
			p, err := e.scanStores()
			if err != nil {
				return Sample{}, err
			}
			overdue := map[*scanStore][]string{}
			for _, st := range []*scanStore{p.small, p.large} {
				ids, err := db.Strings(e.ctx, st.d.Read, `SELECT id FROM tickets WHERE status = 'open' AND breached = FALSE AND promise_at < $1 ORDER BY id`, st.set.Now)
				if err != nil {
					return Sample{}, err
				}
				if len(ids) != scanDue {
					return Sample{}, fmt.Errorf("the %s store has %d tickets past their promise, want %d", st.label, len(ids), scanDue)
				}
				overdue[st] = ids
			}
			return timeScans(e.ctx, p, lim, []scanCall{
				{"MarkBreaches", func(ctx context.Context, st *scanStore, at time.Time) (int, error) {
					return st.desk.MarkBreaches(ctx, at)
				}},
				{"WarnDeadlines", func(ctx context.Context, st *scanStore, at time.Time) (int, error) {
					return st.desk.WarnDeadlines(ctx, at)
				}},
			}, func(ctx context.Context, st *scanStore) error {
				return st.d.Tx(ctx, func(tx *sql.Tx) error {
					for _, id := range overdue[st] {
						if _, err := tx.ExecContext(ctx, `UPDATE tickets SET breached = FALSE WHERE id = $1`, id); err != nil {
							return err
						}
					}
					_, err := tx.ExecContext(ctx, `DELETE FROM ticket_sla_warnings`)
					return err
				})
			})
		},
	}
}

// renewalScan: subscriptions.RenewDue, the periodic renewal scan, at the
// stores' now: it queues one renewal job per subscription due (Due of them;
// none is a scheduled cancellation, which would end the subscription for
// good). Restored after each round, untimed: the queued renewal jobs are
// deleted (nothing runs them), so that the next round queues them again
// rather than finding them already queued (River's unique insert, a
// different and cheaper path).
func renewalScan() scenario {
	return scenario{Name: "renewal scan", Target: Target{CostIndependent, 2}, Serial: true,
		Run: func(e *env, lim limits) (Sample, error) {
			p, err := e.scanStores()
			if err != nil {
				return Sample{}, err
			}
			return timeScans(e.ctx, p, lim, []scanCall{
				{"RenewDue", func(ctx context.Context, st *scanStore, at time.Time) (int, error) { return st.subs.RenewDue(ctx, at) }},
			}, func(ctx context.Context, st *scanStore) error {
				return st.d.Tx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, `DELETE FROM river_job WHERE kind = $1`, subscriptions.RenewArgs{}.Kind())
					return err
				})
			})
		},
	}
}
