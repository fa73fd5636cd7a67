package disputes

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v82"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policystore"
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
	// Keys are the licence keys delivered for the order, masked.
	Keys     []DeliveredKey
	Activity []Activity
	Thread   []Message
	Claims   []Decision
	// Files are the files that exist for the order (delivered, evidence,
	// attachments); their content is read by ZIP.
	Files []File
	// CustomerErased: the customer's personal data were erased.
	CustomerErased bool
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

// Mail is a message the store sent about the order: At when it was
// queued, SentAt when the relay took it (zero until then).
type Mail struct {
	Kind, To, Subject, Text, Status string
	At, SentAt                      time.Time
}

// DeliveredKey is a licence key handed to a line of the order: when it was
// assigned (at payment), and the store's emails that carried it. Its order
// page views are in the activity log (KeysText counts them).
type DeliveredKey struct {
	LineID, LineName string
	// Masked is the key with all but its last characters hidden
	// (MaskKey); the pack never holds the key itself.
	Masked     string
	AssignedAt time.Time
	Mails      []Mail
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
// Each domain's records are read by that domain's own readers, all given
// the one read-only transaction opened here, so that the pack is one
// consistent snapshot.
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
	u, err := account.UserTx(ctx, tx, c.CustomerID)
	switch {
	case err == nil:
		p.Customer = Customer{ID: u.ID, Name: u.Name, Email: u.Email}
	case !errors.Is(err, account.ErrNotFound):
		return nil, fmt.Errorf("disputes: customer: %w", err)
	}
	if p.CustomerErased, err = account.IsErased(ctx, tx, c.CustomerID); err != nil && !errors.Is(err, account.ErrNotFound) {
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
	o, err := orders.GetTx(ctx, q, orderID)
	if errors.Is(err, orders.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("disputes: order: %w", err)
	}
	p.Order = &Order{ID: o.ID, Status: o.Status, Lang: o.Lang, PolicyVersion: o.PolicyVersion,
		Total: o.Total, Paid: o.Paid, Refunded: o.Refunded, PlacedAt: o.PlacedAt, PaidAt: o.PaidAt}

	// The product as described when bought: the line's own revision, in
	// the order's language. A line whose revision cannot be found is left
	// out rather than shown without its description.
	for _, l := range o.Lines {
		r, err := catalog.RevisionTx(ctx, q, l.ProductID, l.ProductRevision)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("disputes: lines: %w", err)
		}
		desc := r.DescriptionEN
		if o.Lang == "fr" {
			desc = r.DescriptionFR
		}
		p.Lines = append(p.Lines, Line{ID: l.ID, ProductID: l.ProductID, Kind: l.Kind, Name: l.Name, Description: desc,
			Revision: int64(l.ProductRevision), Quantity: int64(l.Quantity), Delivered: int64(l.Delivered), Amount: l.Amount})
	}

	// The licence keys handed to the lines. The pack keeps them masked,
	// and every record it quotes (the confirmation email, the support
	// thread) gets the same mask: the keys are the customer's, and the
	// pack goes to the bank and the card network.
	var lineIDs []string
	names := map[string]string{}
	for _, l := range o.Lines {
		lineIDs = append(lineIDs, l.ID)
		names[l.ID] = l.Name
	}
	assigned, err := catalog.AssignedKeysTx(ctx, q, lineIDs)
	if err != nil {
		return fmt.Errorf("disputes: licence keys: %w", err)
	}
	var masks []string // clear, masked, … for strings.NewReplacer
	for _, k := range assigned {
		p.Keys = append(p.Keys, DeliveredKey{LineID: k.OrderLineID, LineName: names[k.OrderLineID], Masked: MaskKey(k.Key), AssignedAt: k.AssignedAt})
		masks = append(masks, k.Key, MaskKey(k.Key))
	}
	mask := func(s string) string { return s }
	if len(masks) > 0 {
		mask = strings.NewReplacer(masks...).Replace
	}

	cs, err := orders.ConsentTx(ctx, q, orderID)
	switch {
	case err == nil:
		p.Consent = &Consent{Required: cs.Required, ImmediatePerformance: cs.ImmediatePerformance, WithdrawalWaiver: cs.WithdrawalWaiver,
			WordingVersion: cs.WordingVersion, Lang: cs.Lang, ImmediateText: cs.ImmediateText, WaiverText: cs.WaiverText,
			PolicyVersion: cs.PolicyVersion, TermsVersion: cs.TermsVersion, At: cs.At, IP: cs.IP, UserAgent: cs.UserAgent}
	case !errors.Is(err, orders.ErrNotFound):
		return fmt.Errorf("disputes: consent: %w", err)
	}

	// The version as stored, draft or not: the one the order names.
	p.Policy.Version = o.PolicyVersion
	v, err := policystore.VersionTx(ctx, q, o.PolicyVersion)
	switch {
	case err == nil:
		p.Policy.Digest, p.Policy.Document, p.Policy.PublishedAt = v.Digest, string(v.Document), v.Published
	case !errors.Is(err, policystore.ErrNotFound):
		return fmt.Errorf("disputes: policy: %w", err)
	}

	// The confirmation email: the message of that kind sent to the buyer
	// that names the order.
	mails, err := mail.MentioningTx(ctx, q, p.Case.CustomerID, "order_confirmation", orderID)
	if err != nil {
		return fmt.Errorf("disputes: mail: %w", err)
	}
	for _, m := range mails {
		pm := Mail{Kind: m.Kind, To: m.To, Subject: mask(m.Subject), Text: mask(m.Text), Status: string(m.Status), At: m.CreatedAt, SentAt: m.SentAt}
		for i, k := range assigned {
			if strings.Contains(m.Text, k.Key) {
				p.Keys[i].Mails = append(p.Keys[i].Mails, pm)
			}
		}
		p.Mails = append(p.Mails, pm)
	}

	events, err := orders.DeliveryEventsTx(ctx, q, orderID)
	if err != nil {
		return fmt.Errorf("disputes: delivery: %w", err)
	}
	for _, e := range events {
		p.Delivery = append(p.Delivery, DeliveryEvent{At: e.At, LineID: e.LineID, LineName: e.LineName,
			Before: int64(e.DeliveredBefore), After: int64(e.DeliveredAfter), Source: e.Source})
	}

	thread, err := desk.OrderThreadTx(ctx, q, orderID, p.Case.CustomerID, p.guestEmail())
	if err != nil {
		return fmt.Errorf("disputes: thread: %w", err)
	}
	for _, m := range thread {
		p.Thread = append(p.Thread, Message{At: m.CreatedAt, Ticket: m.Ticket, Direction: m.Direction, From: m.FromEmail,
			Subject: mask(m.Subject), Text: mask(m.Text)})
	}

	decisions, err := claims.OrderDecisionsTx(ctx, q, orderID)
	if err != nil {
		return fmt.Errorf("disputes: claims: %w", err)
	}
	for _, d := range decisions {
		pd := d.Decision.Decision
		reason := pd.Reason.EN
		if o.Lang == "fr" {
			reason = pd.Reason.FR
		}
		var refund money.Amount
		if pd.Refund != nil {
			refund = *pd.Refund
		}
		p.Claims = append(p.Claims, Decision{At: d.DecidedAt, ClaimID: d.ClaimID, Kind: d.ClaimKind, Outcome: string(pd.Outcome),
			Rule: pd.Rule, Reason: reason, PolicyVersion: pd.PolicyVersion, Refund: refund, ByAgent: d.DecidedBy != ""})
	}
	return p.readFiles(ctx, q, o)
}

// erasedMark is what an erasure or the retention leaves where an IP
// address and a browser were (orders.EraseCustomerTx,
// ForgetDownloadAddressesTx).
const erasedMark = "erased"

// The pack words what was erased instead of showing its placeholders
// ("erased-HFFWXN0E <erased@invalid>", "from IP erased (user agent:
// erased)", a message with neither subject nor text) as if they were the
// customer's data: a reviewer read them as a name, an address and an IP
// address. It says so in the pack's language, English, as the rest of its
// own words (see PDF).

// erasedWhy says why a record of the customer's is gone: their erasure,
// else the retention period (download addresses).
func (p *Pack) erasedWhy() string {
	if p.CustomerErased {
		return "erased at the customer's request (GDPR)"
	}
	return "erased after the store's retention period"
}

// customerText names the customer in the summary.
func (p *Pack) customerText() string {
	if p.CustomerErased {
		return "account " + p.Customer.ID + ", personal data " + p.erasedWhy()
	}
	return p.Customer.Name + " <" + p.Customer.Email + ">"
}

// addressText is the address a mail went to, or says it was erased.
func (p *Pack) addressText(to string) string {
	if p.CustomerErased && to == mail.ErasedAddress {
		return "the customer's address (" + p.erasedWhy() + ")"
	}
	return to
}

// guestEmail is the address whose guest tickets are the customer's: none
// once they were erased (erased guest tickets all carry the same
// placeholder address).
func (p *Pack) guestEmail() string {
	if p.CustomerErased {
		return ""
	}
	return p.Customer.Email
}

// readActivity gathers what the customer did: sign-ins and order page
// views (customer_activity, this package's own log), and the downloads of
// the order's files (orders' record).
func (p *Pack) readActivity(ctx context.Context, q db.Querier) error {
	rows, err := q.QueryContext(ctx, `SELECT at, kind, subject_id, ip, user_agent FROM customer_activity
		WHERE customer_id = $1 ORDER BY at, id`, p.Case.CustomerID)
	if err != nil {
		return fmt.Errorf("disputes: activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Activity
		if err := rows.Scan(&a.At, &a.Kind, &a.Subject, &a.IP, &a.UserAgent); err != nil {
			return err
		}
		p.Activity = append(p.Activity, a)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if p.Order != nil {
		downloads, err := orders.DownloadEventsTx(ctx, q, p.Order.ID)
		if err != nil {
			return fmt.Errorf("disputes: downloads: %w", err)
		}
		for _, d := range downloads {
			p.Activity = append(p.Activity, Activity{At: d.At, Kind: "download", Subject: d.LineName, IP: d.IP, UserAgent: d.UserAgent})
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
	from := "from IP " + c.IP + " (user agent: " + c.UserAgent + ")"
	if c.IP == erasedMark && c.UserAgent == erasedMark {
		from = "(IP address and browser " + p.erasedWhy() + ")"
	}
	fmt.Fprintf(&b, "Consent recorded at checkout on %s %s, language %s, wording version %s.\n",
		ts(c.At), from, c.Lang, c.WordingVersion)
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

// MaskKey hides a licence key but for its last characters: letters and
// digits become '*' except the last four (fewer for a short key: at most a
// third of them), separators stay. The evidence pack goes to the bank and
// the card network (through Stripe, the PDF and the ZIP); they need to see
// that a key was delivered and which one, not a working key that anyone
// handling the file could use. The last characters and the shape identify
// it against the store's records.
func MaskKey(key string) string {
	isKeyChar := func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }
	n := 0
	for _, c := range key {
		if isKeyChar(c) {
			n++
		}
	}
	hide := n - min(4, n/3)
	var b strings.Builder
	for _, c := range key {
		if isKeyChar(c) && hide > 0 {
			c = '*'
			hide--
		}
		b.WriteRune(c)
	}
	return b.String()
}

// KeysText is the record of the licence keys delivered: each key (masked),
// when it was assigned, the emails that carried it and when they went, and
// the customer's views of the order page, which shows it.
func (p *Pack) KeysText() string {
	var b strings.Builder
	for _, k := range p.Keys {
		fmt.Fprintf(&b, "%s: licence key %s, assigned to the order on %s.\n", k.LineName, k.Masked, ts(k.AssignedAt))
		for _, m := range k.Mails {
			fmt.Fprintf(&b, "  Sent in the %s email to %s: queued %s, ", m.Kind, p.addressText(m.To), ts(m.At))
			if m.SentAt.IsZero() {
				fmt.Fprintf(&b, "status %s.\n", m.Status)
			} else {
				fmt.Fprintf(&b, "handed to the mail relay %s.\n", ts(m.SentAt))
			}
		}
		if len(k.Mails) == 0 {
			b.WriteString("  No email carrying the key is on record.\n")
		}
		var views []Activity
		for _, a := range p.Activity {
			if a.Kind == ActivityOrderView && p.Order != nil && a.Subject == p.Order.ID && !a.At.Before(k.AssignedAt) {
				views = append(views, a)
			}
		}
		if len(views) == 0 {
			b.WriteString("  Shown on the customer's order page (signed in); no view of that page is recorded since.\n")
		} else {
			fmt.Fprintf(&b, "  Shown on the customer's order page (signed in), viewed %d time(s) since: first %s from IP %s, last %s.\n",
				len(views), ts(views[0].At), views[0].IP, ts(views[len(views)-1].At))
		}
	}
	if len(p.Keys) > 0 {
		b.WriteString("The store records no separate reveal or copy of a key: it is shown in the email and on the order page.")
	}
	return strings.TrimSpace(b.String())
}

// ActivityText is the customer's activity log.
func (p *Pack) ActivityText() string {
	var b strings.Builder
	for _, a := range p.Activity {
		if a.IP == erasedMark && a.UserAgent == erasedMark {
			fmt.Fprintf(&b, "%s  %s %s  (IP address and browser %s)\n", ts(a.At), a.Kind, a.Subject, p.erasedWhy())
			continue
		}
		fmt.Fprintf(&b, "%s  %s %s  IP %s  %s\n", ts(a.At), a.Kind, a.Subject, a.IP, a.UserAgent)
	}
	return strings.TrimSpace(b.String())
}

// ThreadText is the support thread and the confirmation email.
func (p *Pack) ThreadText() string {
	var b strings.Builder
	for _, m := range p.Mails {
		fmt.Fprintf(&b, "%s  store -> %s (%s): %s\n%s\n\n", ts(m.At), p.addressText(m.To), m.Kind, m.Subject, m.Text)
	}
	for _, m := range p.Thread {
		who := "customer"
		if m.Direction == "out" {
			who = "store"
		}
		if p.CustomerErased && m.Subject == "" && m.Text == "" {
			fmt.Fprintf(&b, "%s  %s %s: (message %s)\n\n", ts(m.At), m.Ticket, who, p.erasedWhy())
			continue
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
		ProductDescription:           field(p.ProductText()),
		RefundPolicyDisclosure:       field(strings.TrimSpace(p.PolicyText() + "\n\n" + p.ConsentText())),
		CancellationPolicyDisclosure: field(p.ConsentText()),
		ServiceDate:                  field(p.ServiceDate()),
		AccessActivityLog:            field(p.ActivityText()),
		RefundRefusalExplanation:     field(p.ClaimsText()),
	}
	// Once the customer was erased, their name, address and purchase IP
	// are placeholders ("erased-…", erased@invalid, "erased"): sent as the
	// cardholder's, they would only contradict the bank's records.
	if !p.CustomerErased {
		ev.CustomerName, ev.CustomerEmailAddress = field(p.Customer.Name), field(p.Customer.Email)
	}
	if p.Consent != nil && net.ParseIP(p.Consent.IP) != nil {
		ev.CustomerPurchaseIP = field(p.Consent.IP)
	}
	var b strings.Builder
	if p.Case.Statement != "" {
		b.WriteString(p.Case.Statement + "\n\n")
	}
	if d := p.DeliveryText(); d != "" {
		b.WriteString("Delivery record:\n" + d + "\n\n")
	}
	if k := p.KeysText(); k != "" {
		b.WriteString("Licence keys delivered:\n" + k + "\n\n")
	}
	if t := p.ThreadText(); t != "" {
		b.WriteString("Communication with the customer:\n" + t + "\n")
	}
	ev.UncategorizedText = field(b.String())
	return ev
}
