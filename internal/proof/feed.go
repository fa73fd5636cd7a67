package proof

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"comptoir/internal/db"
)

// liveCondition selects the paid orders that still stand. A
// refunded order (even in part: refunded > 0), a canceled one, and an
// order awaiting payment never make a notice. Nor does the order of a
// customer whose account was erased: their place is blanked but their
// country stays, and a notice would still speak of them after they asked
// to be forgotten (checked here, so a cached notice goes at once too).
// Nor does an order whose buyer withdrew their consent on their account
// page (withdrawnCondition), for the same reason.
const liveCondition = `o.status IN ('paid', 'processing', 'partial', 'completed') AND o.refunded = 0 AND o.paid_at IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM proof_withdrawn w WHERE w.order_id = o.id)
	AND NOT EXISTS (SELECT 1 FROM users eu WHERE eu.id = o.customer_id AND eu.erased_at IS NOT NULL)
	AND NOT ` + withdrawnCondition

// notice is one purchase the feed may show, before wording.
type notice struct {
	OrderID string
	PaidAt  time.Time
	// Slot is the moment the notice goes by (see Grain): its elapsed time
	// is counted from it, never from PaidAt.
	Slot      time.Time
	ProductID string
	NameFR    string
	NameEN    string
	Level     Level
	Place     string // as the buyer wrote it; a country code at LevelCountry
}

// Item is a notice as visitors get it: anonymised and worded.
type Item struct {
	// ID is opaque and stable for one purchase (a hash, not the order id).
	ID      string      `json:"id"`
	Text    string      `json:"text"`
	Product ItemProduct `json:"product"`
	Place   ItemPlace   `json:"place"`
	// Ago is the rounded elapsed time ("about an hour ago").
	Ago string `json:"ago"`
}

// ItemProduct names the product bought.
type ItemProduct struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ItemPlace is what the notice says about where the buyer is.
type ItemPlace struct {
	Level Level  `json:"level"`
	Name  string `json:"name,omitempty"`
}

// Shown is a notice with the order it comes from, for the admin page.
type Shown struct {
	Item
	OrderID string
	PaidAt  time.Time
}

// Grain is the precision of the time a notice goes by. A purchase counts
// as made at the end of the Grain-long slot of the clock it was paid in:
// it appears once the delay has passed since that moment, and its elapsed
// time is counted from it. Rounding the words alone was not enough: a
// visitor polling the feed saw a notice appear exactly the delay after the
// payment, and its "about 15 minutes" turn into "about 20" at a moment
// that gave the payment time to the second. Now both moments fall on the
// slot's grid, shared by every purchase paid in the same slot.
const Grain = 5 * time.Minute

// slotEnd is the end of the Grain-long slot t falls in (t itself when it
// is on the grid).
func slotEnd(t time.Time) time.Time {
	if f := t.Truncate(Grain); !f.Equal(t) {
		return f.Add(Grain)
	}
	return t
}

// compute reads the feed from the database: the newest live, shown,
// allowed purchases whose slot ended at least the delay ago, each with its
// place decided against the crowd of the last 90 days.
func compute(ctx context.Context, q db.Querier, st Settings, now time.Time) ([]notice, error) {
	// slotEnd(paid) <= now - delay  ⇔  paid <= (now - delay) truncated to the grid.
	shownUpTo := now.Add(-st.Delay).Truncate(Grain)
	rows, err := q.QueryContext(ctx, `SELECT o.id, o.paid_at, u.country, u.region, u.city, l.product_id, r.name_fr, r.name_en
		FROM orders o
		JOIN proof_choices c ON c.order_id = o.id AND c.opt_out = $1
		JOIN users u ON u.id = o.customer_id
		JOIN order_lines l ON l.order_id = o.id
		JOIN product_revisions r ON r.product_id = l.product_id AND r.revision = l.product_revision
		WHERE `+liveCondition+` AND o.paid_at <= $2 AND o.paid_at > $3
			AND ($4 OR l.product_id IN (SELECT product_id FROM proof_products))
		ORDER BY o.paid_at DESC, o.id DESC, l.position
		LIMIT 100`, false, shownUpTo, now.Add(-MaxAge), st.AllProducts)
	if err != nil {
		return nil, fmt.Errorf("proof: feed: %w", err)
	}
	defer rows.Close()
	var out []notice
	var bills []Billing
	seen := map[string]bool{}
	for rows.Next() {
		var n notice
		var b Billing
		if err := rows.Scan(&n.OrderID, &n.PaidAt, &b.Country, &b.Region, &b.City, &n.ProductID, &n.NameFR, &n.NameEN); err != nil {
			return nil, fmt.Errorf("proof: feed: %w", err)
		}
		if seen[n.OrderID] || len(out) == MaxItems {
			continue // one notice per order: its first allowed line
		}
		seen[n.OrderID] = true
		n.PaidAt = n.PaidAt.UTC()
		n.Slot = slotEnd(n.PaidAt)
		out = append(out, n)
		bills = append(bills, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("proof: feed: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	crowd, err := countCrowd(ctx, q, now)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Level, out[i].Place = PlaceOf(bills[i], crowd, st.K)
	}
	return out, nil
}

// countCrowd counts distinct customers per billing place among the
// purchases of the last 90 days that still stand. Grouping by the exact
// columns and adding up in Go keeps the SQL portable; each customer falls
// in one group, so the sums stay counts of distinct customers.
func countCrowd(ctx context.Context, q db.Querier, now time.Time) (*Crowd, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.country, u.region, u.city, COUNT(DISTINCT o.customer_id)
		FROM orders o JOIN users u ON u.id = o.customer_id
		WHERE `+liveCondition+` AND o.paid_at > $1
		GROUP BY u.country, u.region, u.city`, now.Add(-Window))
	if err != nil {
		return nil, fmt.Errorf("proof: crowd: %w", err)
	}
	defer rows.Close()
	c := NewCrowd()
	for rows.Next() {
		var b Billing
		var n int
		if err := rows.Scan(&b.Country, &b.Region, &b.City, &n); err != nil {
			return nil, fmt.Errorf("proof: crowd: %w", err)
		}
		c.Add(b, n)
	}
	return c, rows.Err()
}

// stillLive keeps the notices whose order still stands now: one lookup by
// primary key for a handful of ids, so a refund committed a moment ago is
// never shown, whatever the cache holds and whichever node answers.
func stillLive(ctx context.Context, q db.Querier, ns []notice) ([]notice, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.OrderID
	}
	in, args := db.InList(ids)
	rows, err := q.QueryContext(ctx, `SELECT o.id FROM orders o WHERE o.id IN (`+in+`) AND `+liveCondition, args...)
	if err != nil {
		return nil, fmt.Errorf("proof: live check: %w", err)
	}
	defer rows.Close()
	live := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		live[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := ns[:0:0]
	for _, n := range ns {
		if live[n.OrderID] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Recent is the feed in lang, for the storefront and the API: empty when
// the feature is off.
func (s *Service) Recent(ctx context.Context, lang string) ([]Item, error) {
	st, err := s.Settings(ctx)
	if err != nil || !st.Enabled {
		return []Item{}, err
	}
	now := s.clock.Now()
	s.mu.Lock()
	ns, fresh := s.feed, s.feed != nil && now.Sub(s.feedAt) < cacheTTL && !now.Before(s.feedAt)
	s.mu.Unlock()
	if !fresh {
		if ns, err = compute(ctx, s.db.Read, st, now); err != nil {
			return nil, err
		}
		if ns == nil {
			ns = []notice{}
		}
		s.mu.Lock()
		s.feed, s.feedAt = ns, now
		s.mu.Unlock()
	}
	if ns, err = stillLive(ctx, s.db.Read, ns); err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(ns))
	for _, n := range ns {
		items = append(items, s.word(n, lang, now))
	}
	return items, nil
}

// Current is what the feed shows right now, computed afresh, with the
// order each notice comes from: the admin's view.
func (s *Service) Current(ctx context.Context, lang string) ([]Shown, error) {
	st, err := readSettings(ctx, s.db.Read)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	ns, err := compute(ctx, s.db.Read, st, now)
	if err != nil {
		return nil, err
	}
	out := make([]Shown, 0, len(ns))
	for _, n := range ns {
		out = append(out, Shown{Item: s.word(n, lang, now), OrderID: n.OrderID, PaidAt: n.PaidAt})
	}
	return out, nil
}

// word writes a notice in lang.
func (s *Service) word(n notice, lang string, now time.Time) Item {
	return Word(s.messages, n, lang, now)
}

// itemID is an opaque id for a purchase's notice.
func itemID(orderID string) string {
	sum := sha256.Sum256([]byte("proof:" + orderID))
	return "prf_" + hex.EncodeToString(sum[:8])
}
