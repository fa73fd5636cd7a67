// Package invoices issues the store's invoices and credit notes: one per
// paid order, renewal and top-up, one credit note per refund, numbered in
// an unbroken sequence per series and year, with the VAT worked out by the
// EU rules for digital services (see Decide). It owns its tables
// (invoices, invoice_lines, invoice_counters, vat_rates).
//
// Issuing happens in two steps. The transaction that records the payment
// (IssueTx, CreditTx) writes the whole document, VAT decided and lines
// priced, but no number: invoice and payment commit together or not at
// all. Numbering comes right after (NumberPending, woken by that commit,
// see numbering.go): it gives the pending documents of a series their
// numbers in the order they were issued, so the sequence per series and
// year has no gap and no reuse, and no payment waits on another's number.
package invoices

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
	"comptoir/internal/id"
	"comptoir/internal/jobs"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
)

// Kinds of documents.
const (
	KindInvoice    = "invoice"
	KindCreditNote = "credit_note"
)

// Series: invoices and credit notes are numbered apart, each from 1 every
// year.
const (
	SeriesInvoice    = "F"
	SeriesCreditNote = "A"
)

// Sources: what a document is for.
const (
	SourceOrder   = "order"
	SourceRenewal = "renewal"
	SourceTopUp   = "topup"
	SourceRefund  = "refund"
)

// ErrNotFound: no such invoice (or not the caller's).
var ErrNotFound = errors.New("invoices: not found")

// Seller is the store's legal identity, printed on every document.
type Seller struct {
	Name         string
	Address      string // free text, lines separated by newlines or commas
	Country      string // ISO alpha-2
	VATNumber    string
	Registration string // SIREN / RCS or equivalent
}

// Options are the store settings invoicing depends on.
type Options struct {
	Seller Seller
	// PricesIncludeVAT: catalog prices are entered VAT included (the
	// customer pays the price whatever the rate) or excluded (VAT is added).
	PricesIncludeVAT bool
	BaseURL          string
	StoreName        string
	// Labels gives the words of a document in a language; with it, the
	// email carries the PDF, without it only the links.
	Labels func(lang string) Translate
	// Zone is the seller's time zone: a document is dated, numbered in a
	// year, and taxed at the rate in force on its local date there, and
	// the accounting export's periods are its local days. The zero Zone
	// is UTC.
	Zone localtime.Zone
}

// Mailer queues email in the caller's transaction.
type Mailer interface {
	EnqueueTx(ctx context.Context, tx *sql.Tx, m mail.Message) (string, error)
}

// Service issues and reads invoices.
type Service struct {
	db     *db.DB
	clock  clock.Clock
	mailer Mailer
	opts   Options
	// wake tells Run that invoices wait for their numbers.
	wake *jobs.Waker
	// rates is the VAT rate table as this node last read it.
	rates *gencache.Cache[*rateTable]
	// issued keeps the invoices checkouts issued here until their PDFs
	// are drawn (RenderPDF).
	issued issuedCache
}

// New returns the service. mailer may be nil (no email).
func New(d *db.DB, c clock.Clock, m Mailer, opts Options) *Service {
	if opts.Seller.Country == "" {
		opts.Seller.Country = "FR"
	}
	opts.Seller.Country = strings.ToUpper(opts.Seller.Country)
	return &Service{db: d, clock: c, mailer: m, opts: opts, wake: jobs.NewWaker(),
		rates: gencache.New(d, c, "vat_rates", func(int64) *rateTable { return &rateTable{} })}
}

// PricesIncludeVAT reports the store setting.
func (s *Service) PricesIncludeVAT() bool { return s.opts.PricesIncludeVAT }

// Seller is the store's identity.
func (s *Service) Seller() Seller { return s.opts.Seller }

// Buyer is who is invoiced, as their account says at the time.
type Buyer struct {
	ID        string
	Name      string
	Email     string
	Type      string // Consumer or Business
	VATNumber string
	Country   string
	Region    string
	City      string
	Street    string
	Postcode  string
}

// Address is the buyer's billing address as the invoice prints it: the
// street on a line of its own when there is one, then postcode and city,
// region and country ("12 quai Voltaire\n75007 Paris, FR").
func (b Buyer) Address() string {
	var parts []string
	for _, p := range []string{strings.TrimSpace(b.Postcode + " " + b.City), b.Region, b.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	place := strings.Join(parts, ", ")
	if b.Street == "" {
		return place
	}
	return b.Street + "\n" + place
}

// LineInput is one billed item: Amount is the price of the whole line as
// entered (VAT included or not per the store setting) and as charged when
// prices include VAT.
type LineInput struct {
	Ref         string // the order line or item id, for credit notes
	Description string
	Quantity    int
	Amount      money.Amount
}

// ErrAlreadyInvoiced: the source has an invoice already (IssueTx with
// NewSource set, for a source that was not new).
var ErrAlreadyInvoiced = errors.New("invoices: already invoiced")

// IssueInput is an invoice to issue.
type IssueInput struct {
	// ID, when set, is the id the invoice is issued under (id.New("inv")
	// drawn by the caller before its transaction: a checkout writes its
	// confirmation, which links the invoice, before it); empty: a new one.
	ID       string
	Source   string // SourceOrder, SourceRenewal, SourceTopUp
	SourceID string
	// OrderID is the order (or subscription) the customer sees the invoice
	// under; defaults to SourceID.
	OrderID     string
	Buyer       Buyer
	Lang        string
	Lines       []LineInput
	CardCountry string
	// Charged: the line amounts are what the customer paid, VAT included,
	// whatever the price setting (renewals and top-ups are charged at the
	// price as entered).
	Charged bool
	// NewSource says the source was created in the caller's transaction
	// (an order being placed), so it cannot have an invoice yet: IssueTx
	// does not look for one. The unique (source_type, source_id)
	// constraint still refuses a second invoice.
	NewSource bool
	// Announced says the caller's own email to the buyer announces the
	// document and carries its PDF (Attachment), so no invoice email of
	// its own is queued: a checkout sends its buyer one email, the
	// order's confirmation with the invoice in it.
	Announced bool
	// Append says the caller reads none of the document's rows back in
	// its transaction (a checkout): they are written with db.Append, on
	// PostgreSQL in the pipeline sent with the commit rather than a round
	// trip each. Their errors are IssueTx's own (ErrAlreadyInvoiced), from
	// the transaction.
	Append bool
}

// Invoice is an issued invoice or credit note.
type Invoice struct {
	ID         string
	Kind       string
	Number     string
	Series     string
	Year       int
	Seq        int
	Source     string
	SourceID   string
	OrderID    string
	CustomerID string
	RefersTo   string // the invoice a credit note corrects
	// RefersToNumber is filled by reads, for display.
	RefersToNumber string
	IssuedAt       time.Time
	// Zone is the IANA name of the seller's time zone the document was
	// issued in (Options.Zone then): it is dated there for good, whatever
	// the store's zone later. Empty for documents issued before it was
	// kept (migration 0038), which are dated in the store's zone of the
	// moment (zoneOf).
	Zone      string
	Lang      string
	Net, VAT  money.Amount
	Total     money.Amount
	Seller    Seller
	BuyerName string
	// BuyerAddress is Buyer.Address as it was at issue: its lines are
	// separated by "\n" (one line in documents issued before the street
	// was known).
	BuyerAddress   string
	BuyerCountry   string
	BuyerType      string
	BuyerVATNumber string
	PricesInclVAT  bool
	BillingCountry string
	CardCountry    string
	VATCountry     string
	VATReason      string
	ReverseCharge  bool
	Lines          []Line
}

// BuyerAddressLines is the buyer's address line by line, as stored.
func (inv Invoice) BuyerAddressLines() []string { return strings.Split(inv.BuyerAddress, "\n") }

// BuyerLines is the buyer's address as the page and the PDF print it,
// line by line: its country, which Buyer.Address wrote as its code
// ("75007 Paris, FR"), named in the document's language ("75007 Paris,
// France").
func (inv Invoice) BuyerLines() []string {
	lines := inv.BuyerAddressLines()
	if inv.BuyerCountry == "" {
		return lines
	}
	n := len(lines) - 1
	head, code := "", lines[n]
	if i := strings.LastIndex(code, ", "); i >= 0 {
		head, code = code[:i+2], code[i+2:]
	}
	if strings.EqualFold(strings.TrimSpace(code), inv.BuyerCountry) {
		lines[n] = head + locale.CountryName(inv.BuyerCountry, inv.Lang)
	}
	return lines
}

// OfOrder reports whether the document belongs to an order (an order's
// invoice, or a credit note of one), whose page the lists link to;
// renewals and top-ups have none.
func (inv Invoice) OfOrder() bool { return strings.HasPrefix(inv.OrderID, "ord_") }

// OfSubscription reports whether the document belongs to a subscription
// (a renewal's invoice, or a credit note of one); the others that are not
// an order's are balance top-ups'.
func (inv Invoice) OfSubscription() bool { return strings.HasPrefix(inv.OrderID, "sub_") }

// SellerAddressLines is the seller's address line by line, as given (a
// line break in the setting is one on the page; commas stay as typed, as
// in the PDF).
func (inv Invoice) SellerAddressLines() []string { return strings.Split(inv.Seller.Address, "\n") }

// SellerLines is the seller's address as the page and the PDF print it,
// line by line, and its country named once, in the document's language:
// after the address, unless the address already ends with it ("…,
// France", "Deutschland"). The code alone ("FR") was printed under an
// address that said "France".
func (inv Invoice) SellerLines() []string {
	var lines []string
	for _, l := range inv.SellerAddressLines() {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if inv.Seller.Country == "" {
		return lines
	}
	if n := len(lines); n > 0 {
		last := lines[n-1]
		if i := strings.LastIndex(last, ","); i >= 0 {
			last = last[i+1:]
		}
		if locale.NamesCountry(last, inv.Seller.Country) {
			return lines
		}
	}
	return append(lines, locale.CountryName(inv.Seller.Country, inv.Lang))
}

// Line is one line of an invoice.
type Line struct {
	Position    int
	Ref         string
	Description string
	Quantity    int
	Net         money.Amount
	RateBP      int
	VAT         money.Amount
	Total       money.Amount
	// On a credit note's line, filled by reads (Get): the quantity and
	// total of the invoice's line it credits; zero when unknown.
	InvoicedQuantity int
	InvoicedTotal    money.Amount
}

// Rate is the VAT rate (basis points) in force for country on date. It
// comes from this node's copy of the rate table when that is fresh (see
// WarmRates), else from q: the caller's transaction, or the read pool.
func (s *Service) Rate(ctx context.Context, q db.Querier, country string, at time.Time) (int, error) {
	country, day := strings.ToUpper(country), s.opts.Zone.In(at).Format(time.DateOnly)
	if t, ok := s.rates.Peek(); ok {
		if byCountry := t.loaded.Load(); byCountry != nil {
			if bp, ok := rateOn((*byCountry)[country], day); ok {
				return bp, nil
			}
			return 0, fmt.Errorf("%w: %s on %s", ErrNoRate, country, day)
		}
	}
	var bp int
	err := q.QueryRowContext(ctx, `SELECT rate_bp FROM vat_rates WHERE country = $1 AND effective_from <= $2
		ORDER BY effective_from DESC LIMIT 1`, country, day).Scan(&bp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s on %s", ErrNoRate, country, day)
	}
	return bp, err
}

// rateTable is one generation of the VAT rate table, loaded whole on first
// use: a few rows per member state.
type rateTable struct {
	mu sync.Mutex // serializes loading
	// loaded holds the rows by country, oldest first; nil until loaded.
	loaded atomic.Pointer[map[string][]RateRow]
}

// WarmRates makes sure this node holds the VAT rate table, so that a
// checkout's transaction finds its rate in memory. Call it outside any
// transaction: it may read through the read pool.
func (s *Service) WarmRates(ctx context.Context) error {
	t, err := s.rates.Get(ctx)
	if err != nil {
		return err
	}
	if t.loaded.Load() != nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loaded.Load() != nil {
		return nil
	}
	rows, err := s.Rates(ctx)
	if err != nil {
		return err
	}
	byCountry := map[string][]RateRow{}
	for _, r := range rows {
		byCountry[r.Country] = append(byCountry[r.Country], r)
	}
	t.loaded.Store(&byCountry)
	return nil
}

// rateOn is the rate of the last row in effect on day (YYYY-MM-DD, which
// sorts as it reads); rows are oldest first.
func rateOn(rows []RateRow, day string) (int, bool) {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].EffectiveFrom <= day {
			return rows[i].RateBP, true
		}
	}
	return 0, false
}

// Quote works out the VAT of lines for a buyer at a time, without issuing
// anything: the rate, and each line's net, VAT and total.
func (s *Service) Quote(ctx context.Context, q db.Querier, b Buyer, cardCountry string, at time.Time, amounts []money.Amount) (Decision, int, []Split, error) {
	return s.quote(ctx, q, b, cardCountry, at, amounts, s.opts.PricesIncludeVAT)
}

func (s *Service) quote(ctx context.Context, q db.Querier, b Buyer, cardCountry string, at time.Time, amounts []money.Amount, inclusive bool) (Decision, int, []Split, error) {
	d := Decide(TaxCase{SellerCountry: s.opts.Seller.Country, BillingCountry: b.Country, CardCountry: cardCountry, BuyerType: b.Type, BuyerVAT: b.VATNumber})
	bp := 0
	if d.Country != "" {
		var err error
		if bp, err = s.Rate(ctx, q, d.Country, at); err != nil {
			return d, 0, nil, err
		}
	}
	splits := make([]Split, len(amounts))
	for i, a := range amounts {
		var err error
		if splits[i], err = SplitLine(a, bp, inclusive); err != nil {
			return d, 0, nil, err
		}
	}
	return d, bp, splits, nil
}

// Gross is what a buyer pays for lines priced VAT excluded: each amount
// plus its VAT at the buyer's rate today (rounded per line). With prices
// VAT included it returns the amounts as they are.
func (s *Service) Gross(ctx context.Context, b Buyer, amounts []money.Amount) ([]money.Amount, error) {
	if s.opts.PricesIncludeVAT {
		return amounts, nil
	}
	_, _, splits, err := s.Quote(ctx, s.db.Read, b, "", s.clock.Now(), amounts)
	if err != nil {
		return nil, err
	}
	out := make([]money.Amount, len(splits))
	for i, sp := range splits {
		out[i] = sp.Total
	}
	return out, nil
}

// FormatNumber is how a number is printed: F-2026-000042.
func FormatNumber(series string, year, seq int) string {
	return fmt.Sprintf("%s-%d-%06d", series, year, seq)
}

// IssueTx issues the invoice of a payment in the caller's transaction (the
// one recording the payment). A source already invoiced is not invoiced
// again: the existing invoice is returned (unless in.NewSource, which
// makes a second one an ErrAlreadyInvoiced). The invoice comes back pending
// (no Number): it is numbered, and its email queued, once tx has
// committed (NumberPending).
func (s *Service) IssueTx(ctx context.Context, tx *sql.Tx, in IssueInput) (Invoice, error) {
	if len(in.Lines) == 0 || in.SourceID == "" || in.Buyer.ID == "" {
		return Invoice{}, fmt.Errorf("invoices: incomplete issue input for %s %s", in.Source, in.SourceID)
	}
	if !in.NewSource {
		if existing, err := s.bySource(ctx, tx, in.Source, in.SourceID); err == nil {
			return existing, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Invoice{}, err
		}
	}
	now := s.clock.Now().UTC()
	amounts := make([]money.Amount, len(in.Lines))
	for i, l := range in.Lines {
		amounts[i] = l.Amount
	}
	var (
		d      Decision
		bp     int
		splits []Split
		err    error
	)
	if in.Source == SourceTopUp {
		// A balance top-up is a multi-purpose voucher (Directive
		// 2016/1065): no VAT when it is bought; the orders it pays carry
		// the VAT, on their own invoices.
		d = Decision{Reason: ReasonVoucher}
		for _, a := range amounts {
			sp, err := SplitLine(a, 0, true)
			if err != nil {
				return Invoice{}, err
			}
			splits = append(splits, sp)
		}
	} else if d, bp, splits, err = s.quote(ctx, tx, in.Buyer, in.CardCountry, now, amounts, s.opts.PricesIncludeVAT || in.Charged); err != nil {
		return Invoice{}, err
	}
	inv := s.header(KindInvoice, SeriesInvoice, in.Source, in.SourceID, in.OrderID, in.Buyer, in.Lang, now)
	if in.ID != "" {
		if !id.Valid("inv", in.ID) {
			return Invoice{}, fmt.Errorf("invoices: %q is not an invoice id", in.ID)
		}
		inv.ID = in.ID
	}
	inv.CardCountry = strings.ToUpper(in.CardCountry)
	inv.VATCountry, inv.VATReason, inv.ReverseCharge = d.Country, d.Reason, d.ReverseCharge
	if d.CardDisagrees {
		inv.VATReason += ";card_country_differs"
	}
	for i, l := range in.Lines {
		inv.Lines = append(inv.Lines, Line{Position: i + 1, Ref: l.Ref, Description: l.Description, Quantity: max(l.Quantity, 1),
			Net: splits[i].Net, RateBP: bp, VAT: splits[i].VAT, Total: splits[i].Total})
	}
	notify := in.Buyer
	if in.Announced {
		notify = Buyer{}
	}
	if err := s.insert(ctx, tx, &inv, notify, in.Append); err != nil {
		return Invoice{}, err
	}
	if in.Announced && s.opts.Labels != nil {
		// The caller's email carries its PDF (Attachment), drawn soon.
		issued := inv
		s.db.AfterCommit(tx, func() { s.issued.put(issued) })
	}
	return inv, nil
}

// header fills what every document carries: identities and the time.
func (s *Service) header(kind, series, source, sourceID, orderID string, b Buyer, lang string, now time.Time) Invoice {
	if orderID == "" {
		orderID = sourceID
	}
	if lang != "fr" && lang != "en" {
		lang = "fr"
	}
	return Invoice{
		ID: id.New("inv"), Kind: kind, Series: series, Year: s.opts.Zone.In(now).Year(), Source: source, SourceID: sourceID, OrderID: orderID,
		CustomerID: b.ID, IssuedAt: now, Zone: s.opts.Zone.String(), Lang: lang, Seller: s.opts.Seller,
		BuyerName: b.Name, BuyerAddress: b.Address(), BuyerCountry: strings.ToUpper(b.Country), BuyerType: b.Type,
		BuyerVATNumber: b.VATNumber, PricesInclVAT: s.opts.PricesIncludeVAT, BillingCountry: strings.ToUpper(b.Country),
	}
}

// insert writes the document with its lines, pending: no number yet. The
// email to the buyer (if any) waits in invoice_notices for the number, and
// the numberer is woken when tx commits. appended: the rows go through
// db.Append (IssueInput.Append).
func (s *Service) insert(ctx context.Context, tx *sql.Tx, inv *Invoice, notify Buyer, appended bool) error {
	cur := inv.Lines[0].Total.Currency
	inv.Net, inv.VAT, inv.Total = money.Zero(cur), money.Zero(cur), money.Zero(cur)
	for _, l := range inv.Lines {
		var err error
		if inv.Net, err = inv.Net.Add(l.Net); err != nil {
			return err
		}
		if inv.VAT, err = inv.VAT.Add(l.VAT); err != nil {
			return err
		}
		if inv.Total, err = inv.Total.Add(l.Total); err != nil {
			return err
		}
	}
	// exec writes one row, at once or appended, with the error IssueTx
	// and CreditTx return either way.
	exec := func(wrap func(error) error, query string, args ...any) error {
		if appended {
			return db.AppendWrapped(ctx, tx, wrap, query, args...)
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return wrap(err)
		}
		return nil
	}
	var refersTo any
	if inv.RefersTo != "" {
		refersTo = inv.RefersTo
	}
	args := []any{inv.ID, inv.Kind, inv.Series, inv.Year, inv.Source, inv.SourceID, inv.OrderID, inv.CustomerID, refersTo,
		inv.IssuedAt, inv.Lang, cur, inv.Net.Minor, inv.VAT.Minor, inv.Total.Minor,
		inv.Seller.Name, inv.Seller.Address, inv.Seller.Country, inv.Seller.VATNumber, inv.Seller.Registration,
		inv.BuyerName, inv.BuyerAddress, inv.BuyerCountry, inv.BuyerType, inv.BuyerVATNumber, inv.PricesInclVAT, inv.BillingCountry, inv.CardCountry,
		inv.VATCountry, inv.VATReason, inv.ReverseCharge, inv.Zone}
	// The lines' own key cannot clash (positions 1 to n of a new id): a
	// unique violation is the source's invoice already there.
	insertDocument := func(err error) error {
		if db.IsUniqueViolation(err) {
			return fmt.Errorf("%w: %s %s", ErrAlreadyInvoiced, inv.Source, inv.SourceID)
		}
		return fmt.Errorf("invoices: insert: %w", err)
	}
	if s.db.Engine == db.Postgres {
		// The document and its lines in one statement (the lines'
		// reference to it is checked at the statement's end).
		query := `WITH i AS (` + insertInvoice + ` RETURNING id)
			INSERT INTO invoice_lines (invoice_id, position, ref, description, quantity, net, rate_bp, vat, total) VALUES `
		for i, l := range inv.Lines {
			if i > 0 {
				query += ", "
			}
			p := len(args) + 1
			query += fmt.Sprintf("($1, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p, p+1, p+2, p+3, p+4, p+5, p+6, p+7)
			args = append(args, l.Position, l.Ref, l.Description, l.Quantity, l.Net.Minor, l.RateBP, l.VAT.Minor, l.Total.Minor)
		}
		if err := exec(insertDocument, query, args...); err != nil {
			return err
		}
	} else {
		if err := exec(insertDocument, insertInvoice, args...); err != nil {
			return err
		}
		insertLine := func(err error) error { return fmt.Errorf("invoices: insert line: %w", err) }
		for _, l := range inv.Lines {
			if err := exec(insertLine, `INSERT INTO invoice_lines (invoice_id, position, ref, description, quantity, net, rate_bp, vat, total)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				inv.ID, l.Position, l.Ref, l.Description, l.Quantity, l.Net.Minor, l.RateBP, l.VAT.Minor, l.Total.Minor); err != nil {
				return err
			}
		}
	}
	if s.mailer != nil && notify.Email != "" {
		if err := exec(func(err error) error { return fmt.Errorf("invoices: notice: %w", err) },
			`INSERT INTO invoice_notices (invoice_id, user_id, email, name) VALUES ($1, $2, $3, $4)`,
			inv.ID, notify.ID, notify.Email, notify.Name); err != nil {
			return err
		}
	}
	s.db.AfterCommit(tx, s.Wake)
	// The number is audited when it is given (numbering.go).
	return audit.Record(ctx, tx, audit.Entry{At: inv.IssuedAt, Actor: audit.System, SubjectType: "invoice", SubjectID: inv.ID, Action: "issue",
		After: issuedStateOf(*inv)})
}

// issuedState is what the audit log says of an issued document. A struct
// rather than a map, which json.Marshal walks by reflection and sorts on
// every checkout, in its transaction; its fields are in the order of
// their names, as the map's keys were written, so the log's rows are the
// same (TestIssuedStateIsTheMapItReplaced).
type issuedState struct {
	Kind       string       `json:"kind"`
	RefersTo   string       `json:"refers_to"`
	Source     string       `json:"source"`
	SourceID   string       `json:"source_id"`
	Total      money.Amount `json:"total"`
	VAT        money.Amount `json:"vat"`
	VATCountry string       `json:"vat_country"`
	VATReason  string       `json:"vat_reason"`
}

func issuedStateOf(inv Invoice) issuedState {
	return issuedState{Kind: inv.Kind, RefersTo: inv.RefersTo, Source: inv.Source, SourceID: inv.SourceID, Total: inv.Total,
		VAT: inv.VAT, VATCountry: inv.VATCountry, VATReason: inv.VATReason}
}

// insertInvoice writes a document's row, pending (no number yet).
const insertInvoice = `INSERT INTO invoices (id, kind, series, year, seq, number, source_type, source_id, order_id, customer_id, refers_to,
	issued_at, lang, currency, net, vat, total, seller_name, seller_address, seller_country, seller_vat_number, seller_registration,
	buyer_name, buyer_address, buyer_country, buyer_type, buyer_vat_number, prices_include_vat, billing_country, card_country,
	vat_country, vat_reason, reverse_charge, zone)
	VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)`

// CreditInput is a refund to document.
type CreditInput struct {
	// RefundID names the refund; a refund gets one credit note.
	RefundID string
	// Source and SourceID find the invoice the refund corrects (the
	// order's, the renewal's).
	Source   string
	SourceID string
	// LineRef is the invoiced line refunded (empty: the first line).
	LineRef string
	// Amount is what goes back, VAT included.
	Amount money.Amount
	Buyer  Buyer
	// NewRefund says RefundID was never credited (a refund decided in the
	// caller's transaction, a chargeback): CreditTx does not look for its
	// credit note, and the unique source of documents refuses a second
	// one (ErrAlreadyInvoiced), so that the caller's transaction, which
	// also counted the refund, fails whole rather than counting it twice.
	NewRefund bool
}

// CreditTx issues the credit note of a refund in the caller's transaction,
// referring to the invoice it corrects, at that invoice's rate and VAT
// treatment. A refund of something never invoiced (bought before invoicing
// existed) issues nothing and returns a zero Invoice. Like IssueTx, the
// credit note comes back pending; the invoice it refers to may be pending
// too (a refund right after the payment): it was issued first, so it is
// numbered first.
func (s *Service) CreditTx(ctx context.Context, tx *sql.Tx, in CreditInput) (Invoice, error) {
	if in.RefundID == "" || in.Amount.Minor <= 0 {
		return Invoice{}, fmt.Errorf("invoices: incomplete credit input for %s %s", in.Source, in.SourceID)
	}
	orig, err := s.bySource(ctx, tx, in.Source, in.SourceID)
	if errors.Is(err, ErrNotFound) {
		return Invoice{}, nil
	}
	if err != nil {
		return Invoice{}, err
	}
	if !in.NewRefund {
		if existing, err := s.bySource(ctx, tx, SourceRefund, in.RefundID); err == nil {
			return existing, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Invoice{}, err
		}
	}
	if s.db.Engine == db.Postgres {
		// The invoice's credit notes are issued one after another: two
		// refunds of a line crediting at once would each read the notes
		// before the other's and both round the same VAT down (a cent
		// short once the line is fully refunded). SQLite's one writer
		// already runs them in turn. FOR UPDATE locks without writing: the
		// invoice row takes no updates but its number.
		if _, err := tx.ExecContext(ctx, `SELECT id FROM invoices WHERE id = $1 FOR UPDATE`, orig.ID); err != nil {
			return Invoice{}, fmt.Errorf("invoices: lock %s for its credit: %w", orig.ID, err)
		}
	}
	line := orig.Lines[0]
	for _, l := range orig.Lines {
		if in.LineRef != "" && l.Ref == in.LineRef {
			line = l
		}
	}
	// What goes back is VAT included whatever the price setting: split it
	// at the invoiced rate, for the line's credits taken together. Each
	// note rounding its own VAT, a line refunded in parts would be
	// credited a cent more or less VAT than its invoice charged (1,00 € at
	// 20 % is 0,17 € of VAT, two halves 0,08 € each), leaving VAT declared
	// on a sale wholly refunded.
	sp, err := s.creditSplit(ctx, tx, orig, line, in.Amount)
	if err != nil {
		return Invoice{}, err
	}
	now := s.clock.Now().UTC()
	cn := s.header(KindCreditNote, SeriesCreditNote, SourceRefund, in.RefundID, orig.OrderID, in.Buyer, orig.Lang, now)
	// The buyer and VAT treatment are the invoice's: a credit note undoes
	// part of it, it does not re-decide.
	cn.CustomerID, cn.BuyerName, cn.BuyerAddress, cn.BuyerCountry = orig.CustomerID, orig.BuyerName, orig.BuyerAddress, orig.BuyerCountry
	cn.BuyerType, cn.BuyerVATNumber, cn.BillingCountry, cn.CardCountry = orig.BuyerType, orig.BuyerVATNumber, orig.BillingCountry, orig.CardCountry
	cn.VATCountry, cn.VATReason, cn.ReverseCharge = orig.VATCountry, orig.VATReason, orig.ReverseCharge
	cn.RefersTo, cn.RefersToNumber = orig.ID, orig.Number
	cn.Lines = []Line{{Position: 1, Ref: line.Ref, Description: line.Description, Quantity: 1, Net: sp.Net, RateBP: line.RateBP, VAT: sp.VAT, Total: sp.Total}}
	if err := s.insert(ctx, tx, &cn, in.Buyer, false); err != nil {
		return Invoice{}, err
	}
	return cn, nil
}

// creditedQuery sums what the credit notes of an invoice's line took
// back so far. Only credit notes refer to an invoice: the partial index
// invoices_credit_notes (refers_to), which checkouts' invoices are not
// written into, finds them (TestCreditNoteQueriesUseTheirIndex).
const creditedQuery = `SELECT COALESCE(SUM(l.total), 0), COALESCE(SUM(l.vat), 0)
		FROM invoices c JOIN invoice_lines l ON l.invoice_id = c.id
		WHERE c.order_id = $1 AND c.refers_to = $2 AND c.kind = 'credit_note' AND l.ref = $3`

// chargebackQuery reads a source's invoice and what its credit notes took
// back, through invoices_credit_notes too.
const chargebackQuery = `SELECT i.id, i.currency, i.total,
		COALESCE((SELECT SUM(c.total) FROM invoices c WHERE c.refers_to = i.id AND c.kind = 'credit_note'), 0)
		FROM invoices i WHERE i.source_type = $1 AND i.source_id = $2 AND i.kind = 'invoice'`

// creditSplit splits amount, going back on an invoiced line, into net and
// VAT so that the line's credit notes together always hold the VAT of
// what they credit together: the VAT inside all the line's credits so far,
// this one included, less the VAT earlier notes took back. The credit that
// brings the line to its total takes back exactly what is left of the
// line's VAT, whatever way the invoice rounded it.
func (s *Service) creditSplit(ctx context.Context, tx *sql.Tx, orig Invoice, line Line, amount money.Amount) (Split, error) {
	var creditedGross, creditedVAT int64
	if err := tx.QueryRowContext(ctx, creditedQuery, orig.OrderID, orig.ID, line.Ref).Scan(&creditedGross, &creditedVAT); err != nil {
		return Split{}, fmt.Errorf("invoices: credited on line %s: %w", line.Ref, err)
	}
	gross := creditedGross + amount.Minor
	var vatSoFar int64
	if gross >= line.Total.Minor {
		vatSoFar = line.VAT.Minor
	} else {
		sp, err := SplitLine(money.Amount{Minor: gross, Currency: amount.Currency}, line.RateBP, true)
		if err != nil {
			return Split{}, err
		}
		vatSoFar = sp.VAT.Minor
	}
	vat := min(max(vatSoFar-creditedVAT, 0), amount.Minor)
	return Split{Net: money.Amount{Minor: amount.Minor - vat, Currency: amount.Currency},
		VAT: money.Amount{Minor: vat, Currency: amount.Currency}, Total: amount}, nil
}

// ChargebackTx is how much of disputed a lost dispute credits on the
// invoice of a source, in the caller's transaction: disputed, at most what
// is left of the invoice once its credit notes are taken off (the bank may
// take back what a refund already returned). found is false when the source
// was never invoiced.
func (s *Service) ChargebackTx(ctx context.Context, tx *sql.Tx, source, sourceID string, disputed money.Amount) (credit money.Amount, found bool, err error) {
	var invoiceID, cur string
	var total, credited int64
	err = tx.QueryRowContext(ctx, chargebackQuery, source, sourceID).Scan(&invoiceID, &cur, &total, &credited)
	if errors.Is(err, sql.ErrNoRows) {
		return money.Amount{}, false, nil
	}
	if err != nil {
		return money.Amount{}, false, fmt.Errorf("invoices: uncredited %s %s: %w", source, sourceID, err)
	}
	return money.Amount{Minor: max(min(disputed.Minor, total-credited), 0), Currency: cur}, true, nil
}

// notify emails the customer a link to the document (page and PDF), in
// the transaction that numbers it: the email carries the number. It is
// written in the customer's language now (userLang, their saved choice,
// as every email to a customer is), else the document's: a customer who
// switched language since the purchase reads the email in their new one.
// The document itself stays in the language it was issued in (a credit
// note in its invoice's, which it corrects): the email then says which.
func (s *Service) notify(ctx context.Context, tx *sql.Tx, b Buyer, userLang string, inv Invoice) error {
	if s.mailer == nil || b.Email == "" {
		return nil
	}
	lang := inv.Lang
	if userLang == "fr" || userLang == "en" {
		lang = userLang
	}
	documentIn := "" // the document's language, when it is not the email's
	if inv.Lang != lang {
		documentIn = inv.Lang
	}
	data := map[string]any{
		"Name": b.Name, "StoreName": s.opts.StoreName, "Number": inv.Number, "CreditNote": inv.Kind == KindCreditNote,
		"RefersTo": inv.RefersToNumber, "Total": money.Format(inv.Total, lang),
		"Link": s.opts.BaseURL + "/invoices/" + inv.ID, "PDFLink": s.opts.BaseURL + "/invoices/" + inv.ID + ".pdf",
		"DocumentIn": documentIn,
	}
	subject, text, err := mail.Render(lang, "invoice_issued", data)
	if err != nil {
		return err
	}
	m := mail.Message{Kind: "invoice_issued", To: b.Email, ToName: b.Name, Lang: lang, Subject: subject, Text: text, UserID: b.ID}
	if a, ok := s.Attachment(inv); ok {
		m.Attachments = []mail.Attachment{a}
	}
	_, err = s.mailer.EnqueueTx(ctx, tx, m)
	return err
}

// AttachmentSource names invoice PDFs in mail attachments
// ("invoice:inv_…"); RenderPDF draws them.
const AttachmentSource = "invoice"

// Attachment is the document's PDF attached to an email, false when the
// store draws no PDFs. It is drawn when the email is sent (RenderPDF): the
// document never changes, and drawing it in the transaction that queues
// the email would hold it longer than all its writes together. A document
// queued before its number is stored under its id, and RenderPDF names it
// after its number when it goes out.
func (s *Service) Attachment(inv Invoice) (mail.Attachment, bool) {
	if s.opts.Labels == nil {
		return mail.Attachment{}, false
	}
	return mail.Attachment{Filename: pdfName(inv), ContentType: "application/pdf", Source: AttachmentSource + ":" + inv.ID}, true
}

// pdfName is the document's file name: its number, or its id until it has
// one.
func pdfName(inv Invoice) string {
	if inv.Number == "" {
		return inv.ID + ".pdf"
	}
	return inv.Number + ".pdf"
}

// RenderPDF draws an invoice's PDF in its own language, named after its
// number, for the mail worker (mail.Worker.RenderAttachments).
func (s *Service) RenderPDF(ctx context.Context, invoiceID string) (mail.Drawn, error) {
	if s.opts.Labels == nil {
		return mail.Drawn{}, errors.New("invoices: no labels to draw a PDF with")
	}
	inv, ok := s.issued.take(invoiceID)
	if !ok {
		var err error
		if inv, err = s.Get(ctx, invoiceID); err != nil {
			return mail.Drawn{}, err
		}
	}
	if inv.Number == "" {
		// Get numbers what is pending, so this is a numbering that
		// failed: the mail job retries later.
		return mail.Drawn{}, fmt.Errorf("invoices: %s is not numbered yet", invoiceID)
	}
	data, err := s.PDF(inv, s.opts.Labels(inv.Lang))
	if err != nil {
		return mail.Drawn{}, err
	}
	return mail.Drawn{Data: data, Filename: pdfName(inv)}, nil
}

func auditRate(ctx context.Context, tx *sql.Tx, now time.Time, actorID, country, from string, bp int) error {
	return audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.Actor{ID: actorID, Role: "admin"}, SubjectType: "vat_rate",
		SubjectID: country + "@" + from, Action: "add", After: map[string]any{"country": country, "effective_from": from, "rate_bp": bp}})
}
