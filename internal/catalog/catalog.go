// Package catalog owns what the store sells: products of three kinds
// (services ordered in a quantity and delivered over time, digital goods
// delivered at once as a file or a licence key, subscription plans), their
// names and descriptions in French and English, and the pools of licence
// keys that digital products hand out.
//
// Editing a product never rewrites what was sold. Everything an order relies
// on (names, descriptions, price, quantities, processing time, delivery,
// plan) lives in an immutable revision; an edit appends revision n+1 and
// moves the product's pointer to it, and an order line records the
// (product id, revision) it bought, which Revision reads back forever. Only
// what no order depends on (the slug, whether the product is on sale) is
// changed in place.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/gencache"
	"comptoir/internal/fielderr"
	"comptoir/internal/id"
	"comptoir/internal/money"
)

// Kinds of product.
const (
	KindService      = "service"
	KindDigital      = "digital"
	KindSubscription = "subscription"
)

// How a digital product is delivered.
const (
	DeliveryFile       = "file"
	DeliveryLicenceKey = "licence_key"
)

// Billing intervals of a subscription plan.
const (
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("catalog: product not found")
	// ErrOutOfStock: a licence-key product has no free key left. The sale
	// must stop (and the admins be told) rather than take money for nothing.
	ErrOutOfStock = errors.New("catalog: no licence key left")
	// ErrNotLicenceProduct: keys were added to a product that is not, in its
	// current revision, a digital product delivered by licence key.
	ErrNotLicenceProduct = errors.New("catalog: product is not delivered by licence key")
)

// Product is a product as described by one of its revisions: the current one
// (Get, GetBySlug, List) or the one an order recorded (Revision). Slug and
// Archived are always the product's present state.
type Product struct {
	ID       string
	Slug     string
	Kind     string // KindService, KindDigital or KindSubscription
	Revision int

	NameFR, NameEN               string
	DescriptionFR, DescriptionEN string

	// UnitPrice is the price of one unit (one item for digital products,
	// one interval for plans).
	UnitPrice                money.Amount
	MinQuantity, MaxQuantity int
	// ProcessingTime is the stated delivery time of a service, zero for the
	// other kinds (delivered or started at once).
	ProcessingTime time.Duration

	DigitalDelivery string        // DeliveryFile or DeliveryLicenceKey; "" unless digital
	FileKey         string        // blob name of the file; "" unless DeliveryFile
	DownloadTTL     time.Duration // lifetime of a download link; 0 unless DeliveryFile

	PlanInterval string // IntervalWeek, IntervalMonth or IntervalYear; "" unless subscription
	TrialDays    int

	Archived  bool
	CreatedAt time.Time // when the product was created
	RevisedAt time.Time // when this revision was made
}

// Cartable reports whether p can be bought through a cart: it is for sale
// (not archived) and is no subscription, which a customer starts from its
// own page rather than checks out with other products.
func (p Product) Cartable() bool { return !p.Archived && p.Kind != KindSubscription }

// AllowsQuantity reports whether p may be bought in quantity q: its
// minimum to its maximum. The cart (adding, changing a line) and the
// order's placing go by it.
func (p Product) AllowsQuantity(q int) bool { return q >= p.MinQuantity && q <= p.MaxQuantity }

// Name returns the product's name in lang ("fr", "fr-FR"… for French,
// anything else for English, the store's fallback language).
func (p Product) Name(lang string) string {
	if isFrench(lang) {
		return p.NameFR
	}
	return p.NameEN
}

// Description returns the product's description in lang (see Name).
func (p Product) Description(lang string) string {
	if isFrench(lang) {
		return p.DescriptionFR
	}
	return p.DescriptionEN
}

// Input returns the product as an input to Update, for an edit form to
// start from.
func (p Product) Input() ProductInput {
	return ProductInput{
		Slug: p.Slug, Kind: p.Kind,
		NameFR: p.NameFR, NameEN: p.NameEN, DescriptionFR: p.DescriptionFR, DescriptionEN: p.DescriptionEN,
		UnitPrice: p.UnitPrice, MinQuantity: p.MinQuantity, MaxQuantity: p.MaxQuantity,
		ProcessingTime:  p.ProcessingTime,
		DigitalDelivery: p.DigitalDelivery, FileKey: p.FileKey, DownloadTTL: p.DownloadTTL,
		PlanInterval: p.PlanInterval, TrialDays: p.TrialDays,
	}
}

func isFrench(lang string) bool {
	return len(lang) >= 2 && strings.EqualFold(lang[:2], "fr") && (len(lang) == 2 || lang[2] == '-' || lang[2] == '_')
}

// ProductInput is what an admin enters to create or edit a product. Fields
// that do not apply to the kind must be left zero (MinQuantity and
// MaxQuantity may also be 1 for digital products and plans).
type ProductInput struct {
	// Slug names the product in URLs. Empty on Create: made from the English
	// name. Empty on Update: unchanged.
	Slug string
	Kind string

	NameFR, NameEN               string
	DescriptionFR, DescriptionEN string

	UnitPrice                money.Amount
	MinQuantity, MaxQuantity int
	ProcessingTime           time.Duration

	DigitalDelivery string
	FileKey         string
	DownloadTTL     time.Duration

	PlanInterval string
	TrialDays    int

	// BaseRevision and BaseSlug, when set, are the revision and slug the
	// edit started from (an edit form's hidden fields): Update refuses the
	// edit with CodeStale when another edit has moved the product on since,
	// rather than silently putting back what that edit changed. Zero: no
	// check (Create ignores them).
	BaseRevision int
	BaseSlug     string
}

// Validation codes: stable names the web layer turns into sentences in the
// reader's language.
const (
	CodeRequired          = "required"
	CodeTooLong           = "too_long"
	CodeInvalidCharacters = "invalid_characters"
	CodeKindInvalid       = "kind_invalid"
	CodeKindImmutable     = "kind_immutable" // an edit cannot turn a service into a plan
	CodeSlugInvalid       = "slug_invalid"
	CodeSlugTaken         = "slug_taken"
	CodeCurrencyInvalid   = "currency_invalid"
	CodePriceNotPositive  = "price_not_positive"
	CodeTooLarge          = "too_large"
	CodeQuantityInvalid   = "quantity_invalid" // below 1
	CodeMaxBelowMin       = "max_below_min"
	CodeMustBeOne         = "must_be_one" // quantities of digital products and plans
	CodeDurationInvalid   = "duration_invalid"
	CodeNotApplicable     = "not_applicable" // a field the kind does not use is set
	CodeDeliveryInvalid   = "delivery_invalid"
	CodeFileKeyInvalid    = "file_key_invalid"
	CodeIntervalInvalid   = "interval_invalid"
	CodeOutOfRange        = "out_of_range"
	CodeCursorInvalid     = "cursor_invalid"
	// CodeStale (field "revision"): the product changed since the edit
	// began (ProductInput.BaseRevision).
	CodeStale = "stale"
)

// ValidationError maps each invalid field (named as in the API and the
// database: "name_fr", "unit_price", "processing_seconds"…) to a validation
// code.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string { return fielderr.Message("catalog", e.Fields) }

// Service is the catalog use cases. It is safe for concurrent use; make one
// per process and share it, since it holds the storefront's cache.
type Service struct {
	db    *db.DB
	clock clock.Clock
	// products caches Get and GetBySlug: the storefront's product pages,
	// the busiest read of the store, and every checkout line. See GetBySlug.
	products *gencache.Cache[*productIndex]
}

// New returns the service.
func New(d *db.DB, c clock.Clock) *Service {
	return &Service{db: d, clock: c, products: gencache.New(d, c, "catalog", newProductIndex)}
}

// maxCachedProducts bounds the cache of a huge catalog; past it, the
// products not yet cached are read from the database every time.
const maxCachedProducts = 10_000

// productIndex maps ids and slugs to products in their current revision,
// for one generation of the catalog, filled as they are asked for. Unknown
// ids and slugs are not kept, so that made-up URLs cannot grow it.
type productIndex struct {
	byID, bySlug sync.Map // → Product
	n            atomic.Int64
}

func newProductIndex(int64) *productIndex { return &productIndex{} }

func (x *productIndex) get(m *sync.Map, key string) (Product, bool) {
	p, ok := m.Load(key)
	if !ok {
		return Product{}, false
	}
	return p.(Product), true
}

func (x *productIndex) put(p Product) {
	if x.n.Add(1) > maxCachedProducts {
		return
	}
	x.byID.Store(p.ID, p)
	x.bySlug.Store(p.Slug, p)
}

// productColumns is what scanProduct reads: the product joined with one of
// its revisions (alias p and r).
const productColumns = `p.id, p.slug, p.kind, r.revision, r.name_fr, r.name_en, r.description_fr, r.description_en,
	r.currency, r.unit_price, r.min_quantity, r.max_quantity, r.processing_seconds,
	r.digital_delivery, r.file_key, r.download_ttl_seconds, r.plan_interval, r.trial_days,
	p.archived_at, p.created_at, r.created_at`

// currentJoin selects products with their current revision.
const currentJoin = ` FROM products p JOIN product_revisions r ON r.product_id = p.id AND r.revision = p.current_revision`

func scanProduct(row interface{ Scan(...any) error }) (Product, error) {
	var p Product
	var processing int64
	var delivery, fileKey, interval sql.NullString
	var ttl sql.NullInt64
	var archived sql.NullTime
	err := row.Scan(&p.ID, &p.Slug, &p.Kind, &p.Revision, &p.NameFR, &p.NameEN, &p.DescriptionFR, &p.DescriptionEN,
		&p.UnitPrice.Currency, &p.UnitPrice.Minor, &p.MinQuantity, &p.MaxQuantity, &processing,
		&delivery, &fileKey, &ttl, &interval, &p.TrialDays,
		&archived, &p.CreatedAt, &p.RevisedAt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Product{}, ErrNotFound
		}
		return Product{}, fmt.Errorf("catalog: read product: %w", err)
	}
	p.ProcessingTime = time.Duration(processing) * time.Second
	p.DigitalDelivery, p.FileKey, p.PlanInterval = delivery.String, fileKey.String, interval.String
	p.DownloadTTL = time.Duration(ttl.Int64) * time.Second
	p.Archived = archived.Valid
	p.CreatedAt, p.RevisedAt = p.CreatedAt.UTC(), p.RevisedAt.UTC()
	return p, nil
}

// Get returns the product with its current revision, archived or not (an
// order page must still show an archived product; the storefront checks
// Archived before selling it).
//
// It answers from the same cache as GetBySlug.
func (s *Service) Get(ctx context.Context, productID string) (Product, error) {
	idx, err := s.products.Get(ctx)
	if err != nil {
		return Product{}, fmt.Errorf("catalog: %w", err)
	}
	if p, ok := idx.get(&idx.byID, productID); ok {
		return p, nil
	}
	p, err := getProduct(ctx, s.db.Read, productID)
	if err == nil {
		idx.put(p)
	}
	return p, err
}

// GetTx is Get in the caller's transaction, without the cache: a
// transaction must not wait for a second connection of the pool while it
// holds one (on PostgreSQL, as many such transactions at once as the pool
// has connections would wait for ever).
func GetTx(ctx context.Context, q db.Querier, productID string) (Product, error) {
	return getProduct(ctx, q, productID)
}

func getProduct(ctx context.Context, q db.Querier, productID string) (Product, error) {
	if !db.ValidText(productID) {
		// Names no product, and PostgreSQL would refuse it as text (a
		// form's product_id is whatever the visitor sent).
		return Product{}, ErrNotFound
	}
	return scanProduct(q.QueryRowContext(ctx, `SELECT `+productColumns+currentJoin+` WHERE p.id = $1`, productID))
}

// GetBySlug is Get by the product's slug.
//
// It answers from a cache: a product's current revision is immutable, and
// what maps a slug to it (the slug, the revision pointer, archiving) changes
// only with a write to products, which moves the catalog's generation number
// (a trigger, see internal/db/gencache). Changes made through this Service
// are seen at once; changes made by another node within a second.
func (s *Service) GetBySlug(ctx context.Context, slug string) (Product, error) {
	idx, err := s.products.Get(ctx)
	if err != nil {
		return Product{}, fmt.Errorf("catalog: %w", err)
	}
	if p, ok := idx.get(&idx.bySlug, slug); ok {
		return p, nil
	}
	p, err := scanProduct(s.db.Read.QueryRowContext(ctx, `SELECT `+productColumns+currentJoin+` WHERE p.slug = $1`, slug))
	if err == nil {
		idx.put(p)
	}
	return p, err
}

// Revision returns the product as revision rev described it: what an order
// that recorded (productID, rev) bought. Slug and Archived are today's.
func (s *Service) Revision(ctx context.Context, productID string, rev int) (Product, error) {
	return RevisionTx(ctx, s.db.Read, productID, rev)
}

// RevisionTx is Revision in the caller's transaction; ErrNotFound when the
// product has no such revision.
func RevisionTx(ctx context.Context, q db.Querier, productID string, rev int) (Product, error) {
	return scanProduct(q.QueryRowContext(ctx, `SELECT `+productColumns+`
		FROM products p JOIN product_revisions r ON r.product_id = p.id
		WHERE p.id = $1 AND r.revision = $2`, productID, rev))
}

// ListFilter selects a page of products.
type ListFilter struct {
	IncludeArchived bool   // archived products are hidden unless true
	Kind            string // one kind, or "" for all
	After           string // cursor: the next value returned by the previous page
	Limit           int    // page size; 0 means DefaultListLimit, capped at MaxListLimit
}

// Page sizes of List.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// List returns products in id order (which is creation order: ids start
// with their creation time) and the cursor of the next page, "" on the last
// one. Paging by id rather than by offset keeps pages stable while products
// are added or archived.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Product, string, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !f.IncludeArchived {
		where = append(where, "p.archived_at IS NULL")
	}
	if f.Kind != "" {
		if !validKind(f.Kind) {
			return nil, "", &ValidationError{Fields: map[string]string{"kind": CodeKindInvalid}}
		}
		where = append(where, "p.kind = "+arg(f.Kind))
	}
	if f.After != "" {
		if !id.Valid("prd", f.After) {
			return nil, "", &ValidationError{Fields: map[string]string{"after": CodeCursorInvalid}}
		}
		where = append(where, "p.id > "+arg(f.After))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	query := `SELECT ` + productColumns + currentJoin
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// One row more than asked tells whether a next page exists.
	query += " ORDER BY p.id LIMIT " + arg(limit+1)

	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("catalog: list products: %w", err)
	}
	defer rows.Close()
	var page []Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, "", err
		}
		page = append(page, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("catalog: list products: %w", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID
	}
	return page, next, nil
}

// revisionState is the audit record of a product change: ids, numbers and
// the names of the changed fields, no free text.
type revisionState struct {
	Revision int      `json:"revision"`
	Slug     string   `json:"slug,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Price    int64    `json:"unit_price,omitempty"`
	Currency string   `json:"currency,omitempty"`
	Fields   []string `json:"fields,omitempty"`
}

// Create validates in and stores a new product at revision 1.
func (s *Service) Create(ctx context.Context, actor audit.Actor, in ProductInput) (Product, error) {
	return s.CreateThen(ctx, actor, in, nil)
}

// CreateThen is Create running created, when set, in its transaction once
// the product is stored: an error from it undoes the creation (a form's
// key stored with the product, so that the form sent twice makes one).
func (s *Service) CreateThen(ctx context.Context, actor audit.Actor, in ProductInput,
	created func(ctx context.Context, tx *sql.Tx, p Product) error) (Product, error) {
	if in.Slug == "" {
		in.Slug = Slugify(in.NameEN)
	}
	in, fields := validate(in)
	if in.Slug == "" && fields["name_en"] == "" {
		// A name with nothing to make a slug from ("!!!"): ask for one.
		fields["slug"] = CodeRequired
	}
	if len(fields) > 0 {
		return Product{}, &ValidationError{Fields: fields}
	}
	now := s.clock.Now()
	productID := id.New("prd")
	var p Product
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The product row first: its pointer to revision 1 is a deferred
		// foreign key, checked at commit once the revision exists.
		if _, err := tx.ExecContext(ctx, `INSERT INTO products (id, slug, kind, current_revision, created_at, updated_at)
			VALUES ($1, $2, $3, 1, $4, $4)`, productID, in.Slug, in.Kind, now); err != nil {
			if db.IsUniqueViolation(err) {
				return &ValidationError{Fields: map[string]string{"slug": CodeSlugTaken}}
			}
			return fmt.Errorf("catalog: create product: %w", err)
		}
		if err := insertRevision(ctx, tx, productID, 1, in, actor, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "product", SubjectID: productID,
			Action: "product_create", After: revisionState{Revision: 1, Slug: in.Slug, Kind: in.Kind,
				Price: in.UnitPrice.Minor, Currency: in.UnitPrice.Currency}}); err != nil {
			return err
		}
		var err error
		if p, err = getProduct(ctx, tx, productID); err != nil {
			return err
		}
		if created != nil {
			return created(ctx, tx, p)
		}
		return nil
	})
	// Whatever the outcome: a commit whose result was lost may have happened.
	s.products.Changed()
	if err != nil {
		return Product{}, err
	}
	return p, nil
}

func insertRevision(ctx context.Context, tx *sql.Tx, productID string, rev int, in ProductInput, actor audit.Actor, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO product_revisions (product_id, revision, kind,
			name_fr, name_en, description_fr, description_en, currency, unit_price, min_quantity, max_quantity,
			processing_seconds, digital_delivery, file_key, download_ttl_seconds, plan_interval, trial_days,
			created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		productID, rev, in.Kind,
		in.NameFR, in.NameEN, in.DescriptionFR, in.DescriptionEN, in.UnitPrice.Currency, in.UnitPrice.Minor,
		in.MinQuantity, in.MaxQuantity, int64(in.ProcessingTime/time.Second),
		nullString(in.DigitalDelivery), nullString(in.FileKey), nullSeconds(in.DownloadTTL), nullString(in.PlanInterval),
		in.TrialDays, now, nullString(actor.ID))
	if err != nil {
		return fmt.Errorf("catalog: store revision %d of %s: %w", rev, productID, err)
	}
	return nil
}

// errNoChange rolls back an Update that would change nothing.
var errNoChange = errors.New("no change")

// Update validates in and makes it the product's new current revision; the
// previous revisions stay readable with Revision. An input identical to the
// current revision makes no new revision (saving an untouched form is not an
// edit). A new slug alone changes the slug without a revision, since no
// order depends on it.
//
// Two edits at the same moment both succeed, one after the other, each with
// its own revision number: the product row is locked by a conditional
// update before the next number is taken.
func (s *Service) Update(ctx context.Context, actor audit.Actor, productID string, in ProductInput) (Product, error) {
	in, fields := validate(in)
	if len(fields) > 0 {
		return Product{}, &ValidationError{Fields: fields}
	}
	now := s.clock.Now()
	var p Product
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Touching the row first takes its write lock (PostgreSQL) so that
		// what is read next is the latest revision and stays so until commit;
		// on SQLite the single writer already serializes edits.
		var rev int
		var kind, slug string
		err := tx.QueryRowContext(ctx, `UPDATE products SET updated_at = $1 WHERE id = $2
			RETURNING current_revision, kind, slug`, now, productID).Scan(&rev, &kind, &slug)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("catalog: lock product: %w", err)
		}
		if in.Kind != kind {
			return &ValidationError{Fields: map[string]string{"kind": CodeKindImmutable}}
		}
		// Checked with the row locked, so that of two admins saving the same
		// revision the second is told, whatever the timing.
		if (in.BaseRevision != 0 && in.BaseRevision != rev) || (in.BaseSlug != "" && in.BaseSlug != slug) {
			return &ValidationError{Fields: map[string]string{"revision": CodeStale}}
		}
		if in.Slug == "" {
			in.Slug = slug
		}
		cur, err := getProduct(ctx, tx, productID)
		if err != nil {
			return err
		}
		fields := changedFields(cur.Input(), in)
		if len(fields) == 0 {
			return errNoChange
		}
		before := revisionState{Revision: rev, Slug: slug}
		after := revisionState{Revision: rev, Slug: in.Slug, Fields: fields}
		if in.Slug != slug {
			if _, err := tx.ExecContext(ctx, `UPDATE products SET slug = $1 WHERE id = $2`, in.Slug, productID); err != nil {
				if db.IsUniqueViolation(err) {
					return &ValidationError{Fields: map[string]string{"slug": CodeSlugTaken}}
				}
				return fmt.Errorf("catalog: change slug: %w", err)
			}
		}
		if revisionChanged(fields) {
			// Conditional on the number just read: with the row locked it
			// always matches, and if a future change ever drops that lock this
			// fails instead of letting two edits claim one number.
			res, err := tx.ExecContext(ctx, `UPDATE products SET current_revision = current_revision + 1
				WHERE id = $1 AND current_revision = $2`, productID, rev)
			if err != nil {
				return fmt.Errorf("catalog: bump revision: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("catalog: revision %d of %s changed during the edit (%d rows, %v)", rev, productID, n, err)
			}
			after.Revision = rev + 1
			after.Price, after.Currency = in.UnitPrice.Minor, in.UnitPrice.Currency
			if err := insertRevision(ctx, tx, productID, rev+1, in, actor, now); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "product", SubjectID: productID,
			Action: "product_update", Before: before, After: after}); err != nil {
			return err
		}
		p, err = getProduct(ctx, tx, productID)
		return err
	})
	s.products.Changed() // whatever the outcome, as in Create
	if errors.Is(err, errNoChange) {
		return s.Get(ctx, productID)
	}
	if err != nil {
		return Product{}, err
	}
	return p, nil
}

// changedFields names the fields (as in ValidationError) that differ.
func changedFields(a, b ProductInput) []string {
	var out []string
	add := func(field string, differ bool) {
		if differ {
			out = append(out, field)
		}
	}
	add("slug", a.Slug != b.Slug)
	add("name_fr", a.NameFR != b.NameFR)
	add("name_en", a.NameEN != b.NameEN)
	add("description_fr", a.DescriptionFR != b.DescriptionFR)
	add("description_en", a.DescriptionEN != b.DescriptionEN)
	add("unit_price", a.UnitPrice.Minor != b.UnitPrice.Minor)
	add("currency", a.UnitPrice.Currency != b.UnitPrice.Currency)
	add("min_quantity", a.MinQuantity != b.MinQuantity)
	add("max_quantity", a.MaxQuantity != b.MaxQuantity)
	add("processing_seconds", a.ProcessingTime != b.ProcessingTime)
	add("digital_delivery", a.DigitalDelivery != b.DigitalDelivery)
	add("file_key", a.FileKey != b.FileKey)
	add("download_ttl_seconds", a.DownloadTTL != b.DownloadTTL)
	add("plan_interval", a.PlanInterval != b.PlanInterval)
	add("trial_days", a.TrialDays != b.TrialDays)
	return out
}

// revisionChanged tells whether any field kept in a revision changed (the
// slug is the only one that is not).
func revisionChanged(fields []string) bool {
	for _, f := range fields {
		if f != "slug" {
			return true
		}
	}
	return false
}

// Archive takes the product off sale. It stays readable (orders show it) and
// can be put back with Unarchive. Archiving an archived product does nothing.
func (s *Service) Archive(ctx context.Context, actor audit.Actor, productID string) error {
	return s.setArchived(ctx, actor, productID, true)
}

// Unarchive puts an archived product back on sale.
func (s *Service) Unarchive(ctx context.Context, actor audit.Actor, productID string) error {
	return s.setArchived(ctx, actor, productID, false)
}

func (s *Service) setArchived(ctx context.Context, actor audit.Actor, productID string, archive bool) error {
	now := s.clock.Now()
	query, action := `UPDATE products SET archived_at = $1, updated_at = $1 WHERE id = $2 AND archived_at IS NULL`, "product_archive"
	if !archive {
		query, action = `UPDATE products SET archived_at = NULL, updated_at = $1 WHERE id = $2 AND archived_at IS NOT NULL`, "product_unarchive"
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Conditional on the present state, so that only a real change is
		// audited, even when two admins click at once.
		res, err := tx.ExecContext(ctx, query, now, productID)
		if err != nil {
			return fmt.Errorf("catalog: %s: %w", action, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("catalog: %s: %w", action, err)
		}
		if n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE id = $1`, productID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err // nil: already in the wanted state
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "product", SubjectID: productID,
			Action: action, Before: map[string]bool{"archived": !archive}, After: map[string]bool{"archived": archive}})
	})
	s.products.Changed() // whatever the outcome, as in Create
	return err
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func nullSeconds(d time.Duration) sql.NullInt64 {
	return sql.NullInt64{Int64: int64(d / time.Second), Valid: d > 0}
}

// DefaultDownloadTTL is how long a download link lasts when the seller sets
// no lifetime for a file product.
const DefaultDownloadTTL = 7 * 24 * time.Hour

// DeliverFile makes the input a file product delivering the stored blob
// key, with the default link lifetime when none is set.
func (in *ProductInput) DeliverFile(key string) {
	in.DigitalDelivery, in.FileKey = DeliveryFile, key
	if in.DownloadTTL == 0 {
		in.DownloadTTL = DefaultDownloadTTL
	}
}
