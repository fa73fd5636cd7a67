// Package proof shows honest social proof: "someone in Lyon bought this
// about an hour ago", only from real purchases.
//
// A notice is never stored: the feed is a query over paid orders (not
// refunded, canceled, disputed or withdrawn, not opted out by the buyer,
// paid at least the store's delay ago, of a product the store chose), so a
// notice that does not come from a real order cannot be made, whether from
// the pages, the API or the database. What the buyer's place may say is
// decided by PlaceOf (k-anonymity over distinct customers in the last 90
// days), and the time by Rounded: both are pure and tested by tables.
package proof

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/fielderr"
	"comptoir/internal/locale"
)

// Defaults of the store's settings.
const (
	DefaultK     = 5
	DefaultDelay = 10 * time.Minute
)

// Bounds of the settings, also held by the database.
const (
	MinK     = 2
	MaxK     = 1000
	MinDelay = time.Minute
	MaxDelay = 7 * 24 * time.Hour
)

// MaxOrigins is how many other sites may embed the feed.
const MaxOrigins = 50

// Window is how far back the anonymity crowd is counted.
const Window = 90 * 24 * time.Hour

// MaxAge is the oldest purchase the feed shows: older ones are not "recent".
const MaxAge = 7 * 24 * time.Hour

// MaxItems is how many notices the feed holds.
const MaxItems = 10

// cacheTTL is how long a computed feed and the settings are reused. The
// feed is asked for on every storefront page, and computing it counts
// customers over 90 days; a new purchase appearing up to this much later is
// invisible next to the minimum delay (10 minutes by default). A refund,
// a cancellation or a withdrawal must not wait for it, so each answer
// re-checks its few orders by primary key (see Recent): what a cached
// entry can hold back is only a new notice, never a retracted one. Settings
// saved on this node take effect at once; on other nodes within this TTL.
const cacheTTL = 30 * time.Second

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("proof: order not found")
)

// ValidationError maps invalid settings fields to codes.
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string { return fielderr.Message("proof", e.Fields) }

// Settings are the store's choices.
type Settings struct {
	Enabled bool
	K       int
	Delay   time.Duration
	// DefaultOptOut ticks "do not show my purchase" at checkout.
	DefaultOptOut bool
	// AllProducts, or only Products.
	AllProducts bool
	Products    []string
	// Origins are other sites of the store allowed to embed the feed
	// ("https://blog.example.com").
	Origins []string
}

// DefaultSettings are the settings before an admin saves any: off.
func DefaultSettings() Settings {
	return Settings{K: DefaultK, Delay: DefaultDelay, AllProducts: true}
}

// Allows reports whether origin may read the feed from another site.
func (st Settings) Allows(origin string) bool {
	return origin != "" && slices.Contains(st.Origins, origin)
}

// Shows reports whether notices may be about productID.
func (st Settings) Shows(productID string) bool {
	return st.AllProducts || slices.Contains(st.Products, productID)
}

// Service is the social-proof use cases.
type Service struct {
	db       *db.DB
	clock    clock.Clock
	messages *locale.Catalog

	mu       sync.Mutex
	settings *Settings
	settAt   time.Time
	feed     []notice
	feedAt   time.Time
}

// New returns the service.
func New(d *db.DB, c clock.Clock, messages *locale.Catalog) *Service {
	return &Service{db: d, clock: c, messages: messages}
}

// Settings returns the store's settings (cached briefly).
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	now := s.clock.Now()
	if st, ok := s.cachedSettings(now); ok {
		return st, nil
	}
	st, err := readSettings(ctx, s.db.Read)
	if err != nil {
		return Settings{}, err
	}
	s.mu.Lock()
	s.settings, s.settAt = &st, now
	s.mu.Unlock()
	return st, nil
}

// cachedSettings returns the settings read less than cacheTTL ago.
func (s *Service) cachedSettings(now time.Time) (Settings, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings != nil && now.Sub(s.settAt) < cacheTTL && !now.Before(s.settAt) {
		return *s.settings, true
	}
	return Settings{}, false
}

func readSettings(ctx context.Context, q db.Querier) (Settings, error) {
	st := DefaultSettings()
	var delay int64
	var origins string
	err := q.QueryRowContext(ctx, `SELECT enabled, k, delay_seconds, default_opt_out, all_products, cors_origins
		FROM proof_settings WHERE id = 1`).Scan(&st.Enabled, &st.K, &delay, &st.DefaultOptOut, &st.AllProducts, &origins)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("proof: settings: %w", err)
	}
	st.Delay = time.Duration(delay) * time.Second
	st.Origins = strings.Fields(origins)
	rows, err := q.QueryContext(ctx, `SELECT product_id FROM proof_products ORDER BY product_id`)
	if err != nil {
		return Settings{}, fmt.Errorf("proof: products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return Settings{}, err
		}
		st.Products = append(st.Products, id)
	}
	return st, rows.Err()
}

// ParseOrigin checks one allowed origin and returns it in the form browsers
// send in the Origin header: scheme://host[:port], lower case, no path.
func ParseOrigin(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	// Browsers leave the scheme's default port out of Origin: kept, it
	// would be an entry that never matches.
	host := u.Host
	if p := u.Port(); p == "" || (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return strings.ToLower(u.Scheme + "://" + host), true
}

// SaveSettings validates and stores the settings, with an audit entry.
// Invalid input changes nothing.
func (s *Service) SaveSettings(ctx context.Context, in Settings, actor audit.Actor) error {
	return s.SaveSettingsOver(ctx, in, "", actor)
}

// ErrSettingsChanged: the settings were saved by someone else since the
// form that would replace them was drawn (SaveSettingsOver).
var ErrSettingsChanged = errors.New("proof: settings changed since they were read")

// Digest names the settings as saved, for an admin's form to say which
// settings it replaces.
func (st Settings) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%t|%d|%d|%t|%t|%q|%q", st.Enabled, st.K, int64(st.Delay/time.Second), st.DefaultOptOut, st.AllProducts, st.Products, st.Origins)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// SettingsToEdit returns the settings as saved now, never the cached copy
// of Settings: a form drawn from a copy another node has replaced would be
// refused by SaveSettingsOver.
func (s *Service) SettingsToEdit(ctx context.Context) (Settings, error) {
	return readSettings(ctx, s.db.Read)
}

// SaveSettingsOver saves in, as SaveSettings does, but only over the
// settings whose Digest is read (when read is set): a form opened before
// another admin saved is refused with ErrSettingsChanged rather than
// putting the older settings back unseen.
func (s *Service) SaveSettingsOver(ctx context.Context, in Settings, read string, actor audit.Actor) error {
	fields := map[string]string{}
	if in.K < MinK || in.K > MaxK {
		fields["k"] = "out_of_range"
	}
	if in.Delay < MinDelay || in.Delay > MaxDelay || in.Delay%time.Second != 0 {
		fields["delay"] = "out_of_range"
	}
	var origins []string
	for _, o := range in.Origins {
		norm, ok := ParseOrigin(o)
		if !ok {
			fields["origins"] = "invalid"
			continue
		}
		if !slices.Contains(origins, norm) {
			origins = append(origins, norm)
		}
	}
	if len(origins) > MaxOrigins {
		fields["origins"] = "too_many"
	}
	products := slices.Compact(slices.Sorted(slices.Values(in.Products)))
	if !in.AllProducts && len(products) == 0 {
		fields["products"] = "required"
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	in.Origins, in.Products = origins, products
	now := s.clock.Now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The row is locked before it is read (written with the defaults
		// if no admin saved yet), so that two admins' saves on PostgreSQL
		// take turns: the second reads the first's settings and is refused.
		def := DefaultSettings()
		if _, err := tx.ExecContext(ctx, `INSERT INTO proof_settings (id, enabled, k, delay_seconds, default_opt_out, all_products, cors_origins, updated_at)
			VALUES (1, $1, $2, $3, $4, $5, '', $6)
			ON CONFLICT (id) DO UPDATE SET enabled = proof_settings.enabled`,
			def.Enabled, def.K, int64(def.Delay/time.Second), def.DefaultOptOut, def.AllProducts, now); err != nil {
			return fmt.Errorf("proof: lock settings: %w", err)
		}
		before, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		if read != "" && before.Digest() != read {
			return ErrSettingsChanged
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO proof_settings (id, enabled, k, delay_seconds, default_opt_out, all_products, cors_origins, updated_at)
			VALUES (1, $1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, k = excluded.k, delay_seconds = excluded.delay_seconds,
				default_opt_out = excluded.default_opt_out, all_products = excluded.all_products,
				cors_origins = excluded.cors_origins, updated_at = excluded.updated_at`,
			in.Enabled, in.K, int64(in.Delay/time.Second), in.DefaultOptOut, in.AllProducts, strings.Join(origins, "\n"), now); err != nil {
			return fmt.Errorf("proof: save settings: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM proof_products`); err != nil {
			return fmt.Errorf("proof: save products: %w", err)
		}
		for _, p := range products {
			if _, err := tx.ExecContext(ctx, `INSERT INTO proof_products (product_id) VALUES ($1)`, p); err != nil {
				if db.IsForeignKeyViolation(err) {
					return &ValidationError{Fields: map[string]string{"products": "unknown"}}
				}
				return fmt.Errorf("proof: save products: %w", err)
			}
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "proof_settings", SubjectID: "1",
			Action: "update", Before: settingsAudit(before), After: settingsAudit(in)})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.settings, s.feed = nil, nil
	s.mu.Unlock()
	return nil
}

func settingsAudit(st Settings) map[string]any {
	return map[string]any{"enabled": st.Enabled, "k": st.K, "delay_seconds": int64(st.Delay / time.Second),
		"default_opt_out": st.DefaultOptOut, "all_products": st.AllProducts, "products": st.Products, "origins": st.Origins}
}

// RecordChoiceTx records, in the checkout's transaction, whether the buyer
// of orderID let their purchase be shown. optOut is what they chose; nil
// (an API client that did not say) takes the store's default, or opts out
// when the buyer has withdrawn their consent on their account page. While the
// feature is off nobody is asked, so an order placed then is never shown.
// The settings are the ones the checkout page was drawn with (Settings'
// cache) when they are still fresh, so that a checkout does not read them
// again; otherwise they are read in tx, never through another connection
// (on PostgreSQL, checkouts holding every connection of the pool would
// wait for one another).
func (s *Service) RecordChoiceTx(ctx context.Context, tx *sql.Tx, orderID string, optOut *bool) error {
	st, ok := s.cachedSettings(s.clock.Now())
	if !ok {
		var err error
		if st, err = readSettings(ctx, tx); err != nil {
			return err
		}
	}
	out := !st.Enabled || st.DefaultOptOut
	if optOut != nil {
		out = *optOut
	} else if !out {
		// A customer who withdrew their consent on their account page is
		// not enrolled again by default: only by saying so at checkout.
		// The order's row may still wait in tx's appended rows (Place
		// appends it): written first.
		if err := db.FlushAppends(ctx, tx); err != nil {
			return err
		}
		var withdrawn int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM proof_consent_withdrawals cw JOIN orders o ON o.customer_id = cw.customer_id
			WHERE o.id = $1`, orderID).Scan(&withdrawn); err != nil {
			return fmt.Errorf("proof: record choice: %w", err)
		}
		out = withdrawn > 0
	}
	// Read only by the feed, after the order's transaction: sent with its
	// commit.
	if err := db.Append(ctx, tx, `INSERT INTO proof_choices (order_id, opt_out, at) VALUES ($1, $2, $3)`,
		orderID, out, s.clock.Now()); err != nil {
		return fmt.Errorf("proof: record choice: %w", err)
	}
	return nil
}

// Withdrawal reasons.
const (
	ReasonDisputed = "disputed"
	ReasonAdmin    = "admin"
)

// WithdrawTx takes an order out of the feed for good, in the caller's
// transaction (a card dispute recorded there, or an admin's decision).
// Withdrawing twice keeps the first reason.
func (s *Service) WithdrawTx(ctx context.Context, tx *sql.Tx, orderID, reason string, actor audit.Actor) error {
	now := s.clock.Now()
	var actorID any
	if actor.ID != "" {
		actorID = actor.ID
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO proof_withdrawn (order_id, reason, actor_id, at)
		SELECT id, $2, $3, $4 FROM orders WHERE id = $1
		ON CONFLICT (order_id) DO NOTHING`, orderID, reason, actorID, now)
	if err != nil {
		return fmt.Errorf("proof: withdraw: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE id = $1`, orderID).Scan(&exists); err != nil {
			return fmt.Errorf("proof: withdraw: %w", err)
		}
		if exists == 0 {
			return ErrNotFound
		}
		return nil
	}
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "order", SubjectID: orderID,
		Action: "proof_withdraw", After: map[string]any{"reason": reason}})
}

// Withdraw is WithdrawTx in its own transaction.
func (s *Service) Withdraw(ctx context.Context, orderID, reason string, actor audit.Actor) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.WithdrawTx(ctx, tx, orderID, reason, actor) })
}
