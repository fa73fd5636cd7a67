package disputes

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/db"
	"comptoir/internal/money"
)

// Pack is the evidence of one dispute, read from the records of the
// domains that made them (orders, catalog, policies, mail, desk, claims,
// the activity log) in one read transaction, so that every part describes
// the same moment. It is read-only: nothing here writes those tables.
type Pack struct {
	Case     Case
	Customer Customer
	Order    *Order // nil when the payment was not for an order
	Lines    []Line
	Consent  *Consent
	Policy   Policy
	Mails    []Mail // the order's confirmation
	Delivery []DeliveryEvent
	Activity []Activity
	Thread   []Message
	Claims   []Decision
	// AssembledAt is when the records were read.
	AssembledAt time.Time
}

// Customer is who paid.
type Customer struct{ ID, Name, Email string }

// Order is the order as placed.
type Order struct {
	ID, Status, Lang, PolicyVersion string
	Total, Paid, Refunded           money.Amount
	PlacedAt, PaidAt                time.Time
}

// Line is one thing bought, described as the customer saw it (the product
// revision of the order, in the order's language).
type Line struct {
	ID, ProductID, Kind, Name, Description string
	Revision, Quantity, Delivered          int64
	Amount                                 money.Amount
}

// Consent is what the customer was shown and ticked at checkout.
type Consent struct {
	Required, ImmediatePerformance, WithdrawalWaiver bool
	WordingVersion, Lang, ImmediateText, WaiverText  string
	PolicyVersion, TermsVersion                      string
	At                                               time.Time
	IP, UserAgent                                    string
}

// Policy is the refund policy version the order was bought under.
type Policy struct {
	Version, Digest, Document string
	PublishedAt               time.Time
}

// Mail is a message the store sent about the order.
type Mail struct {
	Kind, To, Subject, Text, Status string
	At                              time.Time
}

// DeliveryEvent is one step of delivery progress.
type DeliveryEvent struct {
	At               time.Time
	LineID, LineName string
	Before, After    int64
	Source           string
}

// Activity is one thing the customer did, with time and address.
type Activity struct {
	At                           time.Time
	Kind, Subject, IP, UserAgent string
}

// Message is one message of the support thread about the order (internal
// notes left out: they are the store's, not what was said).
type Message struct {
	At                      time.Time
	Ticket, Direction, From string
	Subject, Text           string
}

// Decision is one decision taken on a claim about the order, with its
// reason.
type Decision struct {
	At                          time.Time
	ClaimID, Kind, Outcome      string
	Rule, Reason, PolicyVersion string
	Refund                      money.Amount
	ByAgent                     bool
}

// Pack assembles the evidence of a case from the records as they stand.
func (s *Service) Pack(ctx context.Context, caseID string) (*Pack, error) {
	tx, err := s.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, err := getCase(ctx, tx, "id", caseID)
	if err != nil {
		return nil, err
	}
	p := &Pack{Case: c, AssembledAt: s.clock.Now()}
	if err := tx.QueryRowContext(ctx, `SELECT id, name, email FROM users WHERE id = $1`, c.CustomerID).
		Scan(&p.Customer.ID, &p.Customer.Name, &p.Customer.Email); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("disputes: customer: %w", err)
	}
	if c.OrderID() != "" {
		if err := p.readOrder(ctx, tx, c.OrderID()); err != nil {
			return nil, err
		}
	}
	if err := p.readActivity(ctx, tx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pack) readOrder(ctx context.Context, q db.Querier, orderID string) error {
	o := &Order{}
	var paidAt sql.NullTime
	var currency string
	err := q.QueryRowContext(ctx, `SELECT id, status, lang, policy_version, currency, total, paid, refunded, placed_at, paid_at
		FROM orders WHERE id = $1`, orderID).Scan(&o.ID, &o.Status, &o.Lang, &o.PolicyVersion, &currency,
		&o.Total.Minor, &o.Paid.Minor, &o.Refunded.Minor, &o.PlacedAt, &paidAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("disputes: order: %w", err)
	}
	o.Total.Currency, o.Paid.Currency, o.Refunded.Currency = currency, currency, currency
	o.PaidAt = paidAt.Time
	p.Order = o

	// The product as described when bought: the line's own revision, in
	// the order's language.
	err = appendRows(ctx, q, &p.Lines, "lines", func(rows *sql.Rows) (l Line, err error) {
		err = rows.Scan(&l.ID, &l.ProductID, &l.Kind, &l.Name, &l.Revision, &l.Quantity, &l.Delivered, &l.Amount.Minor, &l.Description)
		l.Amount.Currency = currency
		return l, err
	}, `SELECT l.id, l.product_id, l.kind, l.name, l.product_revision, l.quantity, l.delivered, l.amount,
		CASE WHEN $2 = 'fr' THEN r.description_fr ELSE r.description_en END
		FROM order_lines l JOIN product_revisions r ON r.product_id = l.product_id AND r.revision = l.product_revision
		WHERE l.order_id = $1 ORDER BY l.position`, orderID, o.Lang)
	if err != nil {
		return err
	}

	cs := &Consent{}
	var terms sql.NullString
	err = q.QueryRowContext(ctx, `SELECT required, immediate_performance, withdrawal_waiver, wording_version, lang, immediate_text,
		waiver_text, policy_version, terms_version, at, ip, user_agent FROM order_consents WHERE order_id = $1`, orderID).
		Scan(&cs.Required, &cs.ImmediatePerformance, &cs.WithdrawalWaiver, &cs.WordingVersion, &cs.Lang, &cs.ImmediateText,
			&cs.WaiverText, &cs.PolicyVersion, &terms, &cs.At, &cs.IP, &cs.UserAgent)
	switch {
	case err == nil:
		cs.TermsVersion = terms.String
		p.Consent = cs
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("disputes: consent: %w", err)
	}

	p.Policy.Version = o.PolicyVersion
	if name, ver, ok := strings.Cut(o.PolicyVersion, "@"); ok {
		var published sql.NullTime
		err := q.QueryRowContext(ctx, `SELECT digest, document, published_at FROM policies WHERE name = $1 AND CAST(version AS TEXT) = $2`, name, ver).
			Scan(&p.Policy.Digest, &p.Policy.Document, &published)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("disputes: policy: %w", err)
		}
		p.Policy.PublishedAt = published.Time
	}

	// The confirmation email: the message of that kind sent to the buyer
	// that names the order.
	err = appendRows(ctx, q, &p.Mails, "mail", func(rows *sql.Rows) (m Mail, err error) {
		err = rows.Scan(&m.Kind, &m.To, &m.Subject, &m.Text, &m.Status, &m.At)
		return
	}, `SELECT kind, to_addr, subject, text_body, status, created_at FROM outgoing_mail
		WHERE user_id = $1 AND kind = 'order_confirmation' AND text_body LIKE $2 ORDER BY created_at`,
		p.Case.CustomerID, "%"+orderID+"%")
	if err != nil {
		return err
	}

	err = appendRows(ctx, q, &p.Delivery, "delivery", func(rows *sql.Rows) (e DeliveryEvent, err error) {
		err = rows.Scan(&e.At, &e.LineID, &e.LineName, &e.Before, &e.After, &e.Source)
		return
	}, `SELECT e.at, e.order_line_id, l.name, e.delivered_before, e.delivered_after, e.source
		FROM delivery_events e JOIN order_lines l ON l.id = e.order_line_id WHERE e.order_id = $1 ORDER BY e.at, e.id`, orderID)
	if err != nil {
		return err
	}

	err = appendRows(ctx, q, &p.Thread, "thread", func(rows *sql.Rows) (m Message, err error) {
		err = rows.Scan(&m.At, &m.Ticket, &m.Direction, &m.From, &m.Subject, &m.Text)
		return
	}, `SELECT m.created_at, t.reference, m.direction, m.from_email, m.subject, m.body_text
		FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE t.order_id = $1 AND m.direction <> 'note' ORDER BY m.created_at, m.id`, orderID)
	if err != nil {
		return err
	}

	return appendRows(ctx, q, &p.Claims, "claims", func(rows *sql.Rows) (d Decision, err error) {
		err = rows.Scan(&d.At, &d.ClaimID, &d.Kind, &d.Outcome, &d.Rule, &d.Reason, &d.PolicyVersion,
			&d.Refund.Minor, &d.Refund.Currency, &d.ByAgent)
		return
	}, `SELECT d.decided_at, c.id, c.kind, d.outcome, d.rule,
		CASE WHEN $2 = 'fr' THEN d.reason_fr ELSE d.reason_en END, d.policy_version,
		COALESCE(d.refund_amount, 0), COALESCE(d.refund_currency, ''), d.decided_by IS NOT NULL
		FROM claim_decisions d JOIN claims c ON c.id = d.claim_id WHERE c.order_id = $1 ORDER BY d.decided_at, d.seq`, orderID, o.Lang)
}

// appendRows runs a query and appends to dst one value per row, made by
// scan. Only a failed query is wrapped, naming what it read.
func appendRows[T any](ctx context.Context, q db.Querier, dst *[]T, what string, scan func(*sql.Rows) (T, error), query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("disputes: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		*dst = append(*dst, v)
	}
	return rows.Err()
}

// readActivity gathers what the customer did: sign-ins and order page
// views (customer_activity), and the downloads of the order's files.
func (p *Pack) readActivity(ctx context.Context, q db.Querier) error {
	err := appendRows(ctx, q, &p.Activity, "activity", func(rows *sql.Rows) (a Activity, err error) {
		err = rows.Scan(&a.At, &a.Kind, &a.Subject, &a.IP, &a.UserAgent)
		return
	}, `SELECT at, kind, subject_id, ip, user_agent FROM customer_activity
		WHERE customer_id = $1 ORDER BY at, id`, p.Case.CustomerID)
	if err != nil {
		return err
	}
	if p.Order != nil {
		err := appendRows(ctx, q, &p.Activity, "downloads", func(rows *sql.Rows) (a Activity, err error) {
			a.Kind = "download"
			err = rows.Scan(&a.At, &a.Subject, &a.IP, &a.UserAgent)
			return
		}, `SELECT d.at, l.name, d.ip, d.user_agent FROM download_events d
			JOIN order_lines l ON l.id = d.order_line_id WHERE d.order_id = $1 ORDER BY d.at, d.id`, p.Order.ID)
		if err != nil {
			return err
		}
	}
	sortActivity(p.Activity)
	return nil
}

func sortActivity(a []Activity) {
	slices.SortStableFunc(a, func(x, y Activity) int { return x.At.Compare(y.At) })
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// Text sections of the pack, shared by the page, the PDF and Stripe's
// fields so that all three say the same thing.

// ProductText describes what was bought, as described when bought.
func (p *Pack) ProductText() string {
	var b strings.Builder
	for _, l := range p.Lines {
		fmt.Fprintf(&b, "%s (%s, product %s revision %d) x %d, %s\n%s\n\n", l.Name, l.Kind, l.ProductID, l.Revision,
			l.Quantity, money.Format(l.Amount, "en"), l.Description)
	}
	return strings.TrimSpace(b.String())
}

// ConsentText is the consent record: wording, language, time, address,
// browser.
func (p *Pack) ConsentText() string {
	c := p.Consent
	if c == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Consent recorded at checkout on %s from IP %s (user agent: %s), language %s, wording version %s.\n",
		ts(c.At), c.IP, c.UserAgent, c.Lang, c.WordingVersion)
	fmt.Fprintf(&b, "Refund policy accepted: %s.", c.PolicyVersion)
	if c.TermsVersion != "" {
		fmt.Fprintf(&b, " Terms of sale accepted: %s.", c.TermsVersion)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "[%s] %s\n", yes(c.ImmediatePerformance), c.ImmediateText)
	fmt.Fprintf(&b, "[%s] %s\n", yes(c.WithdrawalWaiver), c.WaiverText)
	return strings.TrimSpace(b.String())
}

func yes(b bool) string {
	if b {
		return "ticked"
	}
	return "not ticked"
}

// PolicyText names the refund policy the order was bought under.
func (p *Pack) PolicyText() string {
	if p.Policy.Version == "" {
		return ""
	}
	s := "Refund policy version " + p.Policy.Version
	if p.Policy.Digest != "" {
		s += " (SHA-256 " + p.Policy.Digest + ", published " + ts(p.Policy.PublishedAt) + ")"
	}
	return s + ", accepted by the customer before paying; its full text is attached."
}

// DeliveryText is the delivery record, each progress event with its time.
func (p *Pack) DeliveryText() string {
	var b strings.Builder
	for _, e := range p.Delivery {
		fmt.Fprintf(&b, "%s  %s: delivered %d -> %d (%s)\n", ts(e.At), e.LineName, e.Before, e.After, e.Source)
	}
	return strings.TrimSpace(b.String())
}

// ActivityText is the customer's activity log.
func (p *Pack) ActivityText() string {
	var b strings.Builder
	for _, a := range p.Activity {
		fmt.Fprintf(&b, "%s  %s %s  IP %s  %s\n", ts(a.At), a.Kind, a.Subject, a.IP, a.UserAgent)
	}
	return strings.TrimSpace(b.String())
}

// ThreadText is the support thread and the confirmation email.
func (p *Pack) ThreadText() string {
	var b strings.Builder
	for _, m := range p.Mails {
		fmt.Fprintf(&b, "%s  store -> %s (%s): %s\n%s\n\n", ts(m.At), m.To, m.Kind, m.Subject, m.Text)
	}
	for _, m := range p.Thread {
		who := "customer"
		if m.Direction == "out" {
			who = "store"
		}
		fmt.Fprintf(&b, "%s  %s %s: %s\n%s\n\n", ts(m.At), m.Ticket, who, m.Subject, m.Text)
	}
	return strings.TrimSpace(b.String())
}

// ClaimsText is the claim decisions with their reasons.
func (p *Pack) ClaimsText() string {
	var b strings.Builder
	for _, d := range p.Claims {
		by := "automatic"
		if d.ByAgent {
			by = "agent"
		}
		fmt.Fprintf(&b, "%s  claim %s (%s): %s under %s, rule %s (%s): %s", ts(d.At), d.ClaimID, d.Kind, d.Outcome,
			d.PolicyVersion, d.Rule, by, d.Reason)
		if d.Refund.Minor > 0 {
			fmt.Fprintf(&b, " Refund %s.", money.Format(d.Refund, "en"))
		}
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}

// ServiceDate is when the service was provided: the last delivery event,
// else the payment.
func (p *Pack) ServiceDate() string {
	if n := len(p.Delivery); n > 0 {
		return p.Delivery[n-1].At.UTC().Format(time.DateOnly)
	}
	if p.Order != nil && !p.Order.PaidAt.IsZero() {
		return p.Order.PaidAt.UTC().Format(time.DateOnly)
	}
	return ""
}

// maxField keeps each Stripe field well inside the 150,000 characters
// Stripe allows for all of them together.
const maxField = 12_000

func field(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if utf8.RuneCountInString(s) > maxField {
		r := []rune(s)
		s = string(r[:maxField-20]) + "\n[…truncated]"
	}
	return stripe.String(s)
}

// StripeEvidence maps the pack onto Stripe's text evidence fields. Of the
// fields Stripe wants as uploaded files, the submission job fills
// service_documentation with the pack's PDF; the correspondence
// (customer_communication) goes as text inside uncategorized_text.
func (p *Pack) StripeEvidence() *stripe.DisputeUpdateEvidenceParams {
	ev := &stripe.DisputeUpdateEvidenceParams{
		CustomerName:                 field(p.Customer.Name),
		CustomerEmailAddress:         field(p.Customer.Email),
		ProductDescription:           field(p.ProductText()),
		RefundPolicyDisclosure:       field(strings.TrimSpace(p.PolicyText() + "\n\n" + p.ConsentText())),
		CancellationPolicyDisclosure: field(p.ConsentText()),
		ServiceDate:                  field(p.ServiceDate()),
		AccessActivityLog:            field(p.ActivityText()),
		RefundRefusalExplanation:     field(p.ClaimsText()),
	}
	if p.Consent != nil {
		ev.CustomerPurchaseIP = field(p.Consent.IP)
	}
	var b strings.Builder
	if p.Case.Statement != "" {
		b.WriteString(p.Case.Statement + "\n\n")
	}
	if d := p.DeliveryText(); d != "" {
		b.WriteString("Delivery record:\n" + d + "\n\n")
	}
	if t := p.ThreadText(); t != "" {
		b.WriteString("Communication with the customer:\n" + t + "\n")
	}
	ev.UncategorizedText = field(b.String())
	return ev
}
