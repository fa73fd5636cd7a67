package subscriptions_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/db/dbtest"
	"comptoir/internal/jobs"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/subscriptions"
	"comptoir/internal/testwait"
)

var (
	admin = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	ctx   = context.Background()
	// t0 is a 31st, so monthly plans exercise the end-of-month clamping.
	t0 = time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
)

type env struct {
	db       *db.DB
	clock    *clock.Manual
	jobs     *jobs.Client
	accounts *account.Service
	catalog  *catalog.Service
	ledger   *billing.Ledger
	outbox   *mail.Outbox
	subs     *subscriptions.Service
	card     *fakeCard
	alerts   *fakeAlerts
	policy   atomic.Value // string
	n        int
}

type envOpts struct {
	noCard  bool // no CardCharger: card payments off
	workers bool // run River with the subscription workers
	// zone is the store's time zone; the zero Zone is UTC.
	zone localtime.Zone
}

func setup(t *testing.T, o envOpts) *env {
	t.Helper()
	d := dbtest.Open(t)
	e := &env{db: d, clock: clock.NewManual(t0), card: &fakeCard{}, alerts: &fakeAlerts{}}
	e.policy.Store("default@1")
	workers := river.NewWorkers()
	cfg := jobs.Config{}
	if o.workers {
		cfg.Workers, cfg.FetchPollInterval = workers, 100*time.Millisecond
		cfg.PeriodicJobs = []*river.PeriodicJob{subscriptions.RenewDueJob()}
	}
	var err error
	if e.jobs, err = jobs.New(d, cfg); err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress("shop@shop.test")
	if e.outbox, err = mail.NewOutbox(d, e.jobs, e.clock, from); err != nil {
		t.Fatal(err)
	}
	e.accounts = account.New(d, e.clock, e.outbox, account.Options{BaseURL: "http://shop.test", HashParams: &account.FastHashParams})
	e.catalog, e.ledger = catalog.New(d, e.clock), billing.New(d, e.clock)
	var card subscriptions.CardCharger = e.card
	if o.noCard {
		card = nil
	}
	e.subs = subscriptions.New(d, e.clock, e.catalog, e.ledger, e.accounts, e.outbox, card, subscriptions.Options{
		Jobs: e.jobs, BaseURL: "http://shop.test", StoreName: "Shop",
		PolicyVersion: func(context.Context) (string, error) { return e.policy.Load().(string), nil },
		Alerts:        e.alerts, Zone: o.zone,
	})
	e.subs.AddWorkers(workers)
	river.AddWorker(workers, &discardMail{})
	if o.workers {
		if err := e.jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e.jobs.Stop(stop)
		})
	}
	return e
}

// discardMail lets River run the emails the tests queue; the tests read
// them from the outbox.
type discardMail struct {
	river.WorkerDefaults[mail.SendArgs]
}

func (*discardMail) Work(context.Context, *river.Job[mail.SendArgs]) error { return nil }

// fakeCard stands in for cardpay at the CardCharger boundary.
// fakeAlerts records the staff alerts asked, with the role told.
type fakeAlerts struct {
	mu   sync.Mutex
	sent []sentAlert
}

type sentAlert struct {
	Role, Kind string
	Data       alerts.Data
}

func (f *fakeAlerts) NotifyTx(ctx context.Context, tx *sql.Tx, role, kind string, d alerts.Data) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.DetailIn != nil { // as the alerts service writes it for an agent reading English
		d.Detail = d.DetailIn(alerts.Words{Lang: "en", Messages: locale.MustLoad()})
	}
	if d.SubjectIn != nil {
		d.Subject = d.SubjectIn(alerts.Words{Lang: "en", Messages: locale.MustLoad()})
	}
	f.sent = append(f.sent, sentAlert{role, kind, d})
	return nil
}

func (f *fakeAlerts) of(kind string) []sentAlert {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sentAlert
	for _, a := range f.sent {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

type fakeCard struct {
	mu      sync.Mutex
	charges []subscriptions.CardCharge
	decline bool
	// pending: the period is held by a payment waiting for the customer's
	// authentication.
	pending  bool
	released []string // periods whose waiting payment was released
	// inFlight: a charge's job is calling the bank; it cannot be released.
	inFlight bool
	noCard   bool // the customer never saved a card
	// refunds are the card refunds asked (payment reference and amount);
	// disputed refuses them.
	refunds  []subscriptions.CardCharge
	disputed bool
}

func (f *fakeCard) RefundPeriodTx(ctx context.Context, tx *sql.Tx, paymentID string, amount money.Amount, reason string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disputed {
		return "", fmt.Errorf("%w: %w", subscriptions.ErrRefundRefused, cardpay.ErrPaymentDisputed) // as SavedCards says it
	}
	f.refunds = append(f.refunds, subscriptions.CardCharge{PeriodID: paymentID, Amount: amount, Description: reason})
	return fmt.Sprintf("rfd_%d", len(f.refunds)), nil
}

func (f *fakeCard) ChargeSavedCardTx(ctx context.Context, tx *sql.Tx, c subscriptions.CardCharge) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noCard {
		return "", fmt.Errorf("%w: %w", subscriptions.ErrCardDeclined, subscriptions.ErrNoCard)
	}
	if f.decline {
		return "", fmt.Errorf("declined: %w", subscriptions.ErrCardDeclined)
	}
	if f.pending {
		return "", fmt.Errorf("held: %w", subscriptions.ErrAuthenticationPending)
	}
	f.charges = append(f.charges, c)
	return fmt.Sprintf("pay_%d", len(f.charges)), nil
}

func (f *fakeCard) ReleasePeriodTx(ctx context.Context, tx *sql.Tx, periodID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, periodID)
	return !f.inFlight, nil
}

func (f *fakeCard) calls() []subscriptions.CardCharge {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]subscriptions.CardCharge(nil), f.charges...)
}

func (e *env) customer(t *testing.T, lang, country, kind string, balance int64) account.User {
	t.Helper()
	e.n++
	in := account.SignUpInput{Email: fmt.Sprintf("c%d@example.fr", e.n), Password: "correct horse battery", Name: "Zoé",
		Language: lang, Country: country, City: "Lyon", CustomerType: kind}
	if kind == account.CustomerBusiness {
		in.VATNumber = "FR40303265045"
	}
	u, err := e.accounts.SignUp(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	e.credit(t, u, balance)
	return u
}

func (e *env) credit(t *testing.T, u account.User, amount int64) {
	t.Helper()
	if amount > 0 {
		if _, err := e.ledger.AdminCredit(ctx, admin, u.ID, money.MustNew(amount, "EUR"), "test credit"); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) plan(t *testing.T, interval string, price int64, trialDays int) catalog.Product {
	t.Helper()
	e.n++
	p, err := e.catalog.Create(ctx, admin, catalog.ProductInput{
		Slug: fmt.Sprintf("plan-%d", e.n), Kind: catalog.KindSubscription, NameFR: "Veille mensuelle", NameEN: "Monthly insights",
		DescriptionFR: "Une lettre par semaine.", DescriptionEN: "A letter a week.",
		UnitPrice: money.MustNew(price, "EUR"), PlanInterval: interval, TrialDays: trialDays,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func start(u account.User, plan catalog.Product, payment string) subscriptions.StartInput {
	return subscriptions.StartInput{
		CustomerID: u.ID, PlanID: plan.ID, Payment: payment, ImmediatePerformance: true, WithdrawalWaiver: true,
		Lang: u.Language, IP: "192.0.2.1", UserAgent: "test",
	}
}

func (e *env) start(t *testing.T, in subscriptions.StartInput) subscriptions.Subscription {
	t.Helper()
	sub, err := e.subs.Start(ctx, in, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return sub
}

func (e *env) get(t *testing.T, id string) subscriptions.Subscription {
	t.Helper()
	sub, err := e.subs.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (e *env) periods(t *testing.T, id string) []subscriptions.Period {
	t.Helper()
	ps, err := e.subs.Periods(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func (e *env) balance(t *testing.T, u account.User) int64 {
	t.Helper()
	b, err := e.ledger.Balance(ctx, u.ID, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return b.Minor
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Read.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) mails(t *testing.T, u account.User, kind string) []mail.Stored {
	t.Helper()
	ms, err := e.outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (e *env) lastMail(t *testing.T, u account.User, kind string) mail.Stored {
	t.Helper()
	ms := e.mails(t, u, kind)
	if len(ms) == 0 {
		t.Fatalf("no %s email", kind)
	}
	return ms[0]
}

func contains(t *testing.T, m mail.Stored, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(m.Subject+"\n"+m.Text, w) {
			t.Errorf("%s email lacks %q:\n%s\n%s", m.Kind, w, m.Subject, m.Text)
		}
	}
}

// renew runs the renewal of a subscription's due period, as its job would.
func (e *env) renew(t *testing.T, id string) {
	t.Helper()
	sub := e.get(t, id)
	if err := e.subs.Renew(ctx, id, sub.CurrentPeriodEnd); err != nil {
		t.Fatalf("Renew: %v", err)
	}
}

func (e *env) jobCount(t *testing.T, kind string) int {
	return e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, kind)
}

func TestStartWithTrialChargesNothing(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	p := e.plan(t, subscriptions.IntervalMonth, 990, 7)
	sub := e.start(t, start(u, p, subscriptions.PayBalance))
	trialEnd := t0.Add(7 * 24 * time.Hour)
	if sub.Status != subscriptions.StatusTrialing || !sub.TrialEnd.Equal(trialEnd) || !sub.CurrentPeriodEnd.Equal(trialEnd) ||
		sub.AnchorDay != 7 || sub.Amount.Minor != 990 || sub.PolicyVersion != "default@1" || sub.ProductRevision != 1 || sub.Lang != "fr" {
		t.Fatalf("subscription %+v", sub)
	}
	if got := e.balance(t, u); got != 5000 {
		t.Fatalf("balance %d after a trial start, want 5000", got)
	}
	if ps := e.periods(t, sub.ID); len(ps) != 0 {
		t.Fatalf("a trial billed periods: %+v", ps)
	}
	if _, ok, err := e.subs.LastPayment(ctx, sub.ID); ok || err != nil {
		t.Fatalf("LastPayment during a trial: %v %v", ok, err)
	}
	read, err := e.subs.GetForCustomer(ctx, u.ID, sub.ID)
	if err != nil || !read.Consent.Required || !read.Consent.ImmediatePerformance || read.Consent.IP != "192.0.2.1" ||
		!strings.Contains(read.Consent.ImmediateText, "14 jours") || read.Consent.WordingVersion != subscriptions.ConsentWordingVersion {
		t.Fatalf("read back %+v, %v", read, err)
	}
	m := e.lastMail(t, u, subscriptions.MailStarted)
	contains(t, m, "Votre abonnement Veille mensuelle a commencé", "essai gratuit", "7 février 2026 à 10:00 UTC",
		"9,90", "par mois", read.Consent.ImmediateText, read.Consent.WaiverText, "politique de remboursement (version 1) telle qu’en vigueur lors de votre abonnement",
		"version=default%401", "http://shop.test/subscriptions/"+sub.ID, "Formulaire de rétractation")
	if strings.Contains(m.Text, "default@1") {
		t.Errorf("the start email names the policy by its ID:\n%s", m.Text)
	}

	// The trial is for newcomers: the same customer coming back pays at
	// once.
	if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelNow,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}); err != nil {
		t.Fatal(err)
	}
	again := e.start(t, start(u, p, subscriptions.PayBalance))
	if again.Status != subscriptions.StatusActive || !again.TrialEnd.IsZero() || e.balance(t, u) != 5000-990 {
		t.Fatalf("second subscription %+v, balance %d", again, e.balance(t, u))
	}
}

func TestStartWithoutTrialChargesTheFirstPeriod(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 5000)
	p := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	var seen string
	sub, err := e.subs.Start(ctx, start(u, p, subscriptions.PayBalance), func(ctx context.Context, tx *sql.Tx, s subscriptions.Subscription) error {
		seen = s.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != sub.ID || sub.Status != subscriptions.StatusActive || !sub.CurrentPeriodStart.Equal(t0) ||
		!sub.CurrentPeriodEnd.Equal(time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC)) || sub.AnchorDay != 31 {
		t.Fatalf("subscription %+v (after saw %q)", sub, seen)
	}
	if got := e.balance(t, u); got != 5000-990 {
		t.Fatalf("balance %d, want %d", got, 5000-990)
	}
	ps := e.periods(t, sub.ID)
	if len(ps) != 1 || ps[0].Status != subscriptions.PeriodPaid || !ps[0].PaidAt.Equal(t0) || ps[0].Amount.Minor != 990 ||
		!strings.HasPrefix(ps[0].PaymentReference, "ble_") || ps[0].PolicyVersion != "default@1" {
		t.Fatalf("periods %+v", ps)
	}
	last, ok, err := e.subs.LastPayment(ctx, sub.ID)
	if err != nil || !ok || last.ID != ps[0].ID {
		t.Fatalf("LastPayment %+v %v %v", last, ok, err)
	}
	m := e.lastMail(t, u, subscriptions.MailStarted)
	contains(t, m, "Your subscription to Monthly insights has started", "€9.90", "per month", "28 February 2026 at 10:00 UTC",
		"every month", "Model withdrawal form", "cancel online at any time")
	if strings.Contains(m.Text, "free trial") {
		t.Errorf("no trial, yet the email mentions one:\n%s", m.Text)
	}
}

func TestRefusedStartsChangeNothing(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 500)
	p := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	archived := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	if err := e.catalog.Archive(ctx, admin, archived.ID); err != nil {
		t.Fatal(err)
	}
	service, err := e.catalog.Create(ctx, admin, catalog.ProductInput{Kind: catalog.KindService, NameFR: "Service", NameEN: "Service",
		DescriptionFR: "Un service.", DescriptionEN: "A service.", UnitPrice: money.MustNew(10, "EUR"), MinQuantity: 1, MaxQuantity: 10,
		ProcessingTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mails := e.count(t, `SELECT COUNT(*) FROM outgoing_mail`)
	noConsent := start(u, p, subscriptions.PayBalance)
	noConsent.WithdrawalWaiver = false
	oldPolicy := start(u, p, subscriptions.PayBalance)
	oldPolicy.AcceptPolicy = "default@0"
	for _, tc := range []struct {
		name string
		in   subscriptions.StartInput
		want string
	}{
		{"insufficient balance", start(u, p, subscriptions.PayBalance), "insufficient_balance"},
		{"archived plan", start(u, archived, subscriptions.PayBalance), "product_unavailable"},
		{"not a plan", start(u, service, subscriptions.PayBalance), "product_unavailable"},
		{"unknown plan", subscriptions.StartInput{CustomerID: u.ID, PlanID: "prd_nothing", Payment: subscriptions.PayBalance}, "product_unavailable"},
		{"consent missing", noConsent, "consent_required"},
		{"old policy", oldPolicy, "policy_not_accepted"},
		{"bad payment", subscriptions.StartInput{CustomerID: u.ID, PlanID: p.ID, Payment: "cash"}, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.subs.Start(ctx, tc.in, nil); subscriptions.Code(err) != tc.want {
				t.Fatalf("Start = %v (%s), want %s", err, subscriptions.Code(err), tc.want)
			}
		})
	}
	if e.count(t, `SELECT COUNT(*) FROM subscriptions`) != 0 || e.count(t, `SELECT COUNT(*) FROM subscription_periods`) != 0 ||
		e.count(t, `SELECT COUNT(*) FROM outgoing_mail`) != mails || e.balance(t, u) != 500 {
		t.Fatal("a refused start left something behind")
	}

	// Card payments switched off.
	off := setup(t, envOpts{noCard: true})
	v := off.customer(t, "fr", "FR", account.CustomerConsumer, 0)
	if _, err := off.subs.Start(ctx, start(v, off.plan(t, subscriptions.IntervalMonth, 990, 7), subscriptions.PayCard), nil); !errors.Is(err, subscriptions.ErrCardUnavailable) {
		t.Fatalf("card without a charger: %v", err)
	}

	// A business needs no boxes; the same plan twice is refused.
	b := e.customer(t, "fr", "FR", account.CustomerBusiness, 5000)
	in := start(b, p, subscriptions.PayBalance)
	in.ImmediatePerformance, in.WithdrawalWaiver = false, false
	e.start(t, in)
	if _, err := e.subs.Start(ctx, in, nil); !errors.Is(err, subscriptions.ErrAlreadySubscribed) || e.balance(t, b) != 5000-990 {
		t.Fatalf("second subscription to one plan: %v, balance %d", err, e.balance(t, b))
	}
}

// Monthly renewals from 31 January: 28 February, 31 March, 30 April, each
// charged once from the balance, with an email each time.
func TestRenewalsAcrossSeveralPeriods(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 10000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	ends := []time.Time{
		time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 5, 31, 10, 0, 0, 0, time.UTC),
	}
	for i := 0; i < 3; i++ {
		// Not due a second early.
		e.clock.Set(ends[i].Add(-time.Second))
		if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("RenewDue before the end: %d, %v", n, err)
		}
		e.clock.Set(ends[i].Add(30 * time.Second))
		n, err := e.subs.RenewDue(ctx, e.clock.Now())
		if err != nil || n != 1 {
			t.Fatalf("RenewDue at the end of period %d: %d, %v", i, n, err)
		}
		// A second scan (another node, the next minute) adds no job.
		if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("second RenewDue: %d, %v", n, err)
		}
		if got := e.jobCount(t, "subscriptions.renew"); got != i+1 {
			t.Fatalf("%d renew jobs, want %d", got, i+1)
		}
		e.renew(t, sub.ID)
		got := e.get(t, sub.ID)
		if got.Status != subscriptions.StatusActive || !got.CurrentPeriodStart.Equal(ends[i]) || !got.CurrentPeriodEnd.Equal(ends[i+1]) {
			t.Fatalf("after renewal %d: %s → %s (%s)", i, got.CurrentPeriodStart, got.CurrentPeriodEnd, got.Status)
		}
	}
	if got := e.balance(t, u); got != 10000-4*990 {
		t.Fatalf("balance %d, want %d", got, 10000-4*990)
	}
	ps := e.periods(t, sub.ID)
	if len(ps) != 4 {
		t.Fatalf("%d periods, want 4", len(ps))
	}
	for i, p := range ps[1:] {
		if !p.Start.Equal(ends[i]) || !p.End.Equal(ends[i+1]) || p.Status != subscriptions.PeriodPaid || p.Attempts != 1 {
			t.Fatalf("period %d: %+v", i+1, p)
		}
	}
	if ms := e.mails(t, u, subscriptions.MailRenewed); len(ms) != 3 {
		t.Fatalf("%d renewal emails, want 3", len(ms))
	}
	renewed := e.lastMail(t, u, subscriptions.MailRenewed)
	contains(t, renewed, "is renewed", "€9.90", "30 April 2026 at 10:00 UTC", "31 May 2026 at 10:00 UTC",
		"remains under the refund policy (version 1) you accepted when subscribing:", "version=default%401")
	if strings.Contains(renewed.Text, "default@1") {
		t.Errorf("the renewal email names the policy by its ID:\n%s", renewed.Text)
	}
	// Nothing is due once renewed.
	if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("RenewDue after renewing: %d, %v", n, err)
	}
	// Each step is in the audit log, with the policy version it ran under.
	rows, err := audit.ForSubject(ctx, e.db.Read, "subscription", sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action)
		if r.Action == "subscription.renew" && !strings.Contains(r.After, `"policy_version":"default@1"`) {
			t.Errorf("renewal audit %s", r.After)
		}
	}
	if got := strings.Join(actions, ","); got != "subscription.start,subscription.renew,subscription.renew,subscription.renew" {
		t.Fatalf("audit %s", got)
	}
}

func TestRenewalRunsExactlyOncePerPeriod(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 100000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalWeek, 500, 0), subscriptions.PayBalance))
	debits := func() int {
		return e.count(t, `SELECT COUNT(*) FROM balance_entries WHERE customer_id = $1 AND reference_type = 'subscription_period'`, u.ID)
	}

	// The same job twice in a row.
	e.clock.Set(sub.CurrentPeriodEnd)
	due := sub.CurrentPeriodEnd
	for range 2 {
		if err := e.subs.Renew(ctx, sub.ID, due); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.periods(t, sub.ID)); n != 2 || debits() != 2 {
		t.Fatalf("after two runs: %d periods, %d debits; want 2 and 2", n, debits())
	}

	// Ten at once, as from ten nodes.
	sub = e.get(t, sub.ID)
	e.clock.Set(sub.CurrentPeriodEnd)
	due = sub.CurrentPeriodEnd
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.subs.Renew(ctx, sub.ID, due)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Renew: %v", err)
		}
	}
	if n := e.count(t, `SELECT COUNT(*) FROM subscription_periods WHERE subscription_id = $1 AND period_start = $2`, sub.ID, due); n != 1 {
		t.Fatalf("%d rows for one period", n)
	}
	if debits() != 3 || e.balance(t, u) != 100000-3*500 {
		t.Fatalf("%d debits, balance %d; want 3 and %d", debits(), e.balance(t, u), 100000-3*500)
	}
	if ms := e.mails(t, u, subscriptions.MailRenewed); len(ms) != 2 {
		t.Fatalf("%d renewal emails, want 2", len(ms))
	}
	// The period row's unique key holds even against a direct insert.
	_, err := e.db.Write.ExecContext(ctx, `INSERT INTO subscription_periods (id, subscription_id, period_start, period_end, currency, amount,
		payment_method, policy_version, status, attempts, created_at, updated_at)
		VALUES ('spd_dup', $1, $2, $3, 'EUR', 500, 'balance', 'default@1', 'pending', 1, $2, $2)`, sub.ID, due, due.Add(time.Hour))
	if !db.IsUniqueViolation(err) {
		t.Fatalf("duplicate period insert: %v", err)
	}
}

// Past due: three retries, at +1, +3 and +7 days from the failed renewal,
// each failure emailed with the next date; then the subscription is
// canceled for non-payment.
func TestFailedRenewalIsRetriedThenCanceled(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 990)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	due := sub.CurrentPeriodEnd // 28 February
	e.clock.Set(due)
	e.renew(t, sub.ID)
	got := e.get(t, sub.ID)
	if got.Status != subscriptions.StatusPastDue || !got.CurrentPeriodEnd.Equal(due) {
		t.Fatalf("after a failed renewal: %+v", got)
	}
	wantNext := []time.Time{due.Add(24 * time.Hour), due.Add(3 * 24 * time.Hour), due.Add(7 * 24 * time.Hour)}
	for i, next := range wantNext {
		ps := e.periods(t, sub.ID)
		p := ps[len(ps)-1]
		if p.Status != subscriptions.PeriodFailed || p.Attempts != i+1 || !p.NextAttemptAt.Equal(next) || p.LastError != "insufficient_balance" {
			t.Fatalf("after attempt %d: %+v", i+1, p)
		}
		if ms := e.mails(t, u, subscriptions.MailPaymentFailed); len(ms) != i+1 {
			t.Fatalf("%d payment-failed emails after attempt %d", len(ms), i+1)
		}
		m := e.lastMail(t, u, subscriptions.MailPaymentFailed)
		contains(t, m, "Échec du paiement", "votre solde ne suffisait pas", formatFR(next))
		// A renewal job for the same period changes nothing while past due.
		e.renew(t, sub.ID)
		// Not a second early.
		e.clock.Set(next.Add(-time.Second))
		if n, err := e.subs.RetryDue(ctx, e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("RetryDue early: %d, %v", n, err)
		}
		e.clock.Set(next)
		if n, err := e.subs.RetryDue(ctx, e.clock.Now()); err != nil || n != 1 {
			t.Fatalf("RetryDue at %s: %d, %v", next, n, err)
		}
		if n, err := e.subs.RetryDue(ctx, e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("second RetryDue: %d, %v", n, err)
		}
		for range 2 { // the retry job twice: one attempt
			if err := e.subs.Retry(ctx, p.ID, i+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	got = e.get(t, sub.ID)
	if got.Status != subscriptions.StatusCanceled || !got.EndedAt.Equal(wantNext[2]) || !got.CanceledAt.Equal(wantNext[2]) {
		t.Fatalf("after the last retry: %+v", got)
	}
	ps := e.periods(t, sub.ID)
	if p := ps[len(ps)-1]; p.Status != subscriptions.PeriodFailed || p.Attempts != 4 || !p.NextAttemptAt.IsZero() {
		t.Fatalf("final period %+v", p)
	}
	if len(e.mails(t, u, subscriptions.MailPaymentFailed)) != 3 {
		t.Fatal("want three payment-failed emails")
	}
	contains(t, e.lastMail(t, u, subscriptions.MailCanceledUnpaid), "est résilié", formatFR(wantNext[2]))
	if e.balance(t, u) != 0 {
		t.Fatalf("balance %d", e.balance(t, u))
	}
	if n, _ := e.subs.RetryDue(ctx, e.clock.Now().Add(30*24*time.Hour)); n != 0 {
		t.Fatal("a canceled subscription is retried")
	}
}

func TestRetrySucceedsOnceFundsArrive(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 990)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	due := sub.CurrentPeriodEnd
	e.clock.Set(due)
	e.renew(t, sub.ID)
	contains(t, e.lastMail(t, u, subscriptions.MailPaymentFailed), "your balance was too low", "1 March 2026 at 10:00 UTC", "up to 3 more attempts")
	e.credit(t, u, 2000)
	e.clock.Set(due.Add(24 * time.Hour))
	ps := e.periods(t, sub.ID)
	if err := e.subs.Retry(ctx, ps[1].ID, 1); err != nil {
		t.Fatal(err)
	}
	got := e.get(t, sub.ID)
	if got.Status != subscriptions.StatusActive || !got.CurrentPeriodStart.Equal(due) || !got.CurrentPeriodEnd.Equal(time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("after a successful retry: %+v", got)
	}
	p := e.periods(t, sub.ID)[1]
	if p.Status != subscriptions.PeriodPaid || p.Attempts != 2 || !p.NextAttemptAt.IsZero() || !p.PaidAt.Equal(e.clock.Now()) {
		t.Fatalf("period %+v", p)
	}
	if e.balance(t, u) != 2000-990 {
		t.Fatalf("balance %d", e.balance(t, u))
	}
}

func TestCancelAtPeriodEnd(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	end := sub.CurrentPeriodEnd
	e.clock.Advance(3 * 24 * time.Hour)
	in := subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelAtPeriodEnd,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}
	got, err := e.subs.Cancel(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != subscriptions.StatusActive || !got.CancelAtPeriodEnd || !got.EndsAt().Equal(end) || got.Renews() ||
		!got.CancelRequestedAt.Equal(e.clock.Now()) {
		t.Fatalf("after cancel at period end: %+v", got)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailCancelConfirmed), "Résiliation de votre abonnement", "reste actif jusqu’au "+formatFR(end),
		"Aucun autre paiement")
	// Asking again changes nothing and sends nothing.
	if again, err := e.subs.Cancel(ctx, in); err != nil || !again.CancelAtPeriodEnd {
		t.Fatalf("second cancel: %+v %v", again, err)
	}
	if len(e.mails(t, u, subscriptions.MailCancelConfirmed)) != 1 {
		t.Fatal("a repeated cancellation sent another email")
	}
	// At the date: no renewal, the subscription ends.
	e.clock.Set(end.Add(time.Minute))
	n, err := e.subs.RenewDue(ctx, e.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("RenewDue at the end: %d, %v", n, err)
	}
	if e.jobCount(t, "subscriptions.renew") != 0 {
		t.Fatal("a canceled subscription got a renewal job")
	}
	if err := e.subs.Renew(ctx, sub.ID, end); err != nil {
		t.Fatal(err)
	}
	got = e.get(t, sub.ID)
	if got.Status != subscriptions.StatusCanceled || !got.EndedAt.Equal(end) || !got.CanceledAt.Equal(e.clock.Now()) {
		t.Fatalf("after the end: %+v", got)
	}
	if len(e.periods(t, sub.ID)) != 1 || e.balance(t, u) != 5000-990 {
		t.Fatal("a canceled subscription was charged again")
	}
	contains(t, e.lastMail(t, u, subscriptions.MailEnded), "a pris fin le "+formatFR(end))
	if n, _ := e.subs.RenewDue(ctx, e.clock.Now()); n != 0 {
		t.Fatal("an ended subscription is still scanned")
	}
	if _, err := e.subs.Undo(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotUndoable) {
		t.Fatalf("Undo after the end: %v", err)
	}
}

func TestCancelNow(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	e.clock.Advance(2 * time.Hour)
	now := e.clock.Now()
	in := subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelNow,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}
	got, err := e.subs.Cancel(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != subscriptions.StatusCanceled || !got.EndedAt.Equal(now) || !got.EndsAt().Equal(now) || got.Renews() {
		t.Fatalf("after cancel now: %+v", got)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailCancelConfirmed), "confirmed", "It ended on 31 January 2026 at 12:00 UTC", "No further payment")
	if _, err := e.subs.Undo(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotUndoable) {
		t.Fatalf("Undo after cancel now: %v", err)
	}
	// Idempotent, in either mode.
	for _, mode := range []string{subscriptions.CancelNow, subscriptions.CancelAtPeriodEnd} {
		in.Mode = mode
		if again, err := e.subs.Cancel(ctx, in); err != nil || again.Status != subscriptions.StatusCanceled || !again.EndedAt.Equal(now) {
			t.Fatalf("cancel %s again: %+v %v", mode, again, err)
		}
	}
	if len(e.mails(t, u, subscriptions.MailCancelConfirmed)) != 1 {
		t.Fatal("repeated cancellations sent more emails")
	}
	e.clock.Set(sub.CurrentPeriodEnd.Add(time.Hour))
	if n, _ := e.subs.RenewDue(ctx, e.clock.Now()); n != 0 || e.balance(t, u) != 5000-990 {
		t.Fatal("a canceled subscription renewed")
	}
	// Staff may cancel on a customer's behalf; a customer actor must name
	// themselves.
	if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{SubscriptionID: sub.ID, Mode: subscriptions.CancelNow,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}); subscriptions.Code(err) != "invalid" {
		t.Fatalf("customer actor without CustomerID: %v", err)
	}
}

// CancelTx lets the refund policy cancel and refund in one transaction:
// rolled back, nothing happened (no email either); committed, both did.
func TestCancelTxCommitsWithTheCaller(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	in := subscriptions.CancelInput{SubscriptionID: sub.ID, Mode: subscriptions.CancelNow, Actor: audit.System}
	last, _, _ := e.subs.LastPayment(ctx, sub.ID)
	boom := errors.New("refund failed")
	err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := e.subs.CancelTx(ctx, tx, in); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || e.get(t, sub.ID).Status != subscriptions.StatusActive || len(e.mails(t, u, subscriptions.MailCancelConfirmed)) != 0 {
		t.Fatalf("rolled back: %v, %+v", err, e.get(t, sub.ID))
	}
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := e.subs.CancelTx(ctx, tx, in); err != nil {
			return err
		}
		return e.subs.MarkRefundedTx(ctx, tx, last.ID, audit.System)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.get(t, sub.ID)
	if got.Status != subscriptions.StatusCanceled || e.periods(t, sub.ID)[0].Status != subscriptions.PeriodRefunded ||
		len(e.mails(t, u, subscriptions.MailCancelConfirmed)) != 1 {
		t.Fatalf("committed: %+v", got)
	}
}

// A past-due subscription has no paid period left to keep: a cancellation
// "at period end" stops it now, retries included.
func TestCancelWhilePastDueStopsRetries(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 990)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	e.clock.Set(sub.CurrentPeriodEnd)
	e.renew(t, sub.ID)
	got, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelAtPeriodEnd,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}})
	if err != nil || got.Status != subscriptions.StatusCanceled {
		t.Fatalf("cancel while past due: %+v %v", got, err)
	}
	e.credit(t, u, 5000)
	if n, _ := e.subs.RetryDue(ctx, e.clock.Now().Add(10*24*time.Hour)); n != 0 || e.balance(t, u) != 5000 {
		t.Fatal("a canceled subscription was retried")
	}
}

func TestUndoBeforeTheDateOnly(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	cancel := subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelAtPeriodEnd,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}
	if _, err := e.subs.Undo(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotUndoable) {
		t.Fatalf("Undo with nothing scheduled: %v", err)
	}
	if _, err := e.subs.Cancel(ctx, cancel); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(sub.CurrentPeriodEnd.Add(-time.Minute))
	got, err := e.subs.Undo(ctx, u.ID, sub.ID)
	if err != nil || got.CancelAtPeriodEnd || !got.Renews() || !got.CancelRequestedAt.IsZero() {
		t.Fatalf("Undo before the date: %+v %v", got, err)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailCancelUndone), "continue", formatFR(sub.CurrentPeriodEnd))
	// It renews as before.
	e.clock.Set(sub.CurrentPeriodEnd)
	if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("RenewDue after undo: %d %v", n, err)
	}
	e.renew(t, sub.ID)
	if e.balance(t, u) != 5000-2*990 {
		t.Fatal("not renewed after undo")
	}
	// Cancel again; once the date has passed (even before the scan ran),
	// it can no longer be undone.
	sub = e.get(t, sub.ID)
	if _, err := e.subs.Cancel(ctx, cancel); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(sub.CurrentPeriodEnd)
	if _, err := e.subs.Undo(ctx, u.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotUndoable) {
		t.Fatalf("Undo at the date: %v", err)
	}
}

func TestAnotherCustomersSubscriptionDoesNotExist(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	other := e.customer(t, "fr", "FR", account.CustomerConsumer, 0)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	if _, err := e.subs.GetForCustomer(ctx, other.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("GetForCustomer: %v", err)
	}
	if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: other.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelNow,
		Actor: audit.Actor{ID: other.ID, Role: account.RoleCustomer}}); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := e.subs.Undo(ctx, other.ID, sub.ID); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("Undo: %v", err)
	}
	if _, err := e.subs.AcceptPolicy(ctx, other.ID, sub.ID, "default@1"); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("AcceptPolicy: %v", err)
	}
	if got := e.get(t, sub.ID); got.Status != subscriptions.StatusActive || got.CancelAtPeriodEnd {
		t.Fatalf("changed by another customer: %+v", got)
	}
	list, next, err := e.subs.List(ctx, subscriptions.ListFilter{CustomerID: other.ID})
	if err != nil || len(list) != 0 || next != "" {
		t.Fatalf("another customer's list: %v %q %v", list, next, err)
	}
	list, _, err = e.subs.List(ctx, subscriptions.ListFilter{CustomerID: u.ID})
	if err != nil || len(list) != 1 || list[0].ID != sub.ID {
		t.Fatalf("own list: %v %v", list, err)
	}
	if _, err := e.subs.Get(ctx, "sub_nothing"); !errors.Is(err, subscriptions.ErrNotFound) || subscriptions.Code(err) != "not_found" {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestListPages(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 100000)
	var ids []string
	for range 5 {
		ids = append(ids, e.start(t, start(u, e.plan(t, subscriptions.IntervalWeek, 100, 0), subscriptions.PayBalance)).ID)
		e.clock.Advance(time.Millisecond)
	}
	var got []string
	after := ""
	for {
		page, next, err := e.subs.List(ctx, subscriptions.ListFilter{CustomerID: u.ID, After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			got = append(got, s.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
		t.Fatalf("pages %v, want newest first of %v", got, ids)
	}
}

// Renewals stay under the policy version the customer accepted until they
// accept a newer one.
func TestRenewalsStayUnderTheAcceptedPolicy(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 10000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalWeek, 500, 0), subscriptions.PayBalance))
	e.policy.Store("default@2")
	e.clock.Set(sub.CurrentPeriodEnd)
	e.renew(t, sub.ID)
	if ps := e.periods(t, sub.ID); ps[1].PolicyVersion != "default@1" || e.get(t, sub.ID).PolicyVersion != "default@1" {
		t.Fatalf("renewal under %s", ps[1].PolicyVersion)
	}
	if _, err := e.subs.AcceptPolicy(ctx, u.ID, sub.ID, "default@1"); !errors.Is(err, subscriptions.ErrPolicyNotAccepted) {
		t.Fatalf("accepting an old version: %v", err)
	}
	got, err := e.subs.AcceptPolicy(ctx, u.ID, sub.ID, "default@2")
	if err != nil || got.PolicyVersion != "default@2" {
		t.Fatalf("AcceptPolicy: %+v %v", got, err)
	}
	e.clock.Set(got.CurrentPeriodEnd)
	e.renew(t, sub.ID)
	if ps := e.periods(t, sub.ID); ps[2].PolicyVersion != "default@2" {
		t.Fatalf("renewal after accepting under %s", ps[2].PolicyVersion)
	}
}

// Card renewals stop at the CardCharger boundary: the charge is started in
// the renewal's transaction and its outcome arrives through PeriodPaidTx or
// PeriodPaymentFailedTx.
func TestCardRenewals(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "FR", account.CustomerConsumer, 0)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 14), subscriptions.PayCard))
	if sub.Status != subscriptions.StatusTrialing || len(e.card.calls()) != 0 {
		t.Fatalf("card trial: %+v, %d charges", sub, len(e.card.calls()))
	}
	due := sub.CurrentPeriodEnd
	e.clock.Set(due)
	e.renew(t, sub.ID)
	calls := e.card.calls()
	ps := e.periods(t, sub.ID)
	if len(calls) != 1 || len(ps) != 1 || calls[0].PeriodID != ps[0].ID || calls[0].Amount.Minor != 990 || calls[0].CustomerID != u.ID ||
		ps[0].Status != subscriptions.PeriodPending || ps[0].PaymentReference != "pay_1" {
		t.Fatalf("charge %+v, periods %+v", calls, ps)
	}
	// While the charge is under way, neither the scan nor a repeated job
	// charges again.
	if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("RenewDue during a card charge: %d %v", n, err)
	}
	e.renew(t, sub.ID)
	if len(e.card.calls()) != 1 {
		t.Fatal("charged twice")
	}
	settle := func(fn func(tx *sql.Tx) error) {
		t.Helper()
		if err := e.db.Tx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	settle(func(tx *sql.Tx) error { return e.subs.PeriodPaidTx(ctx, tx, ps[0].ID, "pay_1") })
	settle(func(tx *sql.Tx) error { return e.subs.PeriodPaidTx(ctx, tx, ps[0].ID, "pay_1") }) // redelivered
	got := e.get(t, sub.ID)
	if got.Status != subscriptions.StatusActive || !got.CurrentPeriodStart.Equal(due) {
		t.Fatalf("after the card payment: %+v", got)
	}
	if ms := e.mails(t, u, subscriptions.MailRenewed); len(ms) != 1 {
		t.Fatalf("%d renewal emails", len(ms))
	}
	contains(t, e.lastMail(t, u, subscriptions.MailRenewed), "by card")

	// Next period: declined asynchronously, then synchronously (no card).
	e.clock.Set(got.CurrentPeriodEnd)
	e.renew(t, sub.ID)
	ps = e.periods(t, sub.ID)
	settle(func(tx *sql.Tx) error {
		return e.subs.PeriodPaymentFailedTx(ctx, tx, ps[1].ID, "card_declined: insufficient funds")
	})
	got = e.get(t, sub.ID)
	p := e.periods(t, sub.ID)[1]
	if got.Status != subscriptions.StatusPastDue || p.Status != subscriptions.PeriodFailed || !p.NextAttemptAt.Equal(p.Start.Add(24*time.Hour)) {
		t.Fatalf("after a declined card: %+v %+v", got, p)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailPaymentFailed), "your card was declined", "card of your choice", "/subscriptions/"+sub.ID+"/authenticate")
	e.card.decline = true
	e.clock.Set(p.NextAttemptAt)
	if err := e.subs.Retry(ctx, p.ID, 1); err != nil {
		t.Fatal(err)
	}
	if p = e.periods(t, sub.ID)[1]; p.Attempts != 2 || p.Status != subscriptions.PeriodFailed || !strings.HasPrefix(p.LastError, "card_declined") {
		t.Fatalf("after a synchronous decline: %+v", p)
	}
}

// A card charge already under way when the customer cancels: if it
// succeeds the money is recorded (for the refund policy to decide) and the
// subscription stays canceled; if it fails nothing is retried.
func TestCardChargeSettledAfterCancel(t *testing.T) {
	e := setup(t, envOpts{})
	e.card.inFlight = true // the job is calling the bank: no release
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 7)
	for _, tc := range []struct {
		mode string
		paid bool
	}{{subscriptions.CancelNow, true}, {subscriptions.CancelAtPeriodEnd, false}} {
		u := e.customer(t, "en", "FR", account.CustomerConsumer, 0)
		actor := audit.Actor{ID: u.ID, Role: account.RoleCustomer}
		e.clock.Set(t0)
		sub := e.start(t, start(u, plan, subscriptions.PayCard))
		if sub.Status != subscriptions.StatusTrialing {
			t.Fatalf("%s: %+v", tc.mode, sub)
		}
		e.clock.Set(sub.CurrentPeriodEnd)
		e.renew(t, sub.ID)
		ps := e.periods(t, sub.ID)
		if len(ps) != 1 || ps[0].Status != subscriptions.PeriodPending {
			t.Fatalf("%s: periods %+v", tc.mode, ps)
		}
		if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: tc.mode, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			if tc.paid {
				return e.subs.PeriodPaidTx(ctx, tx, ps[0].ID, "pay_late")
			}
			return e.subs.PeriodPaymentFailedTx(ctx, tx, ps[0].ID, "declined")
		})
		if err != nil {
			t.Fatal(err)
		}
		got := e.get(t, sub.ID)
		p := e.periods(t, sub.ID)[0]
		if got.Status != subscriptions.StatusCanceled || !p.NextAttemptAt.IsZero() {
			t.Fatalf("%s: %+v, period %+v", tc.mode, got, p)
		}
		last, ok, _ := e.subs.LastPayment(ctx, sub.ID)
		if tc.paid != ok || (ok && last.PaymentReference != "pay_late") {
			t.Fatalf("%s: LastPayment %+v %v", tc.mode, last, ok)
		}
		if n := len(e.mails(t, u, subscriptions.MailPaymentFailed)); n != 0 {
			t.Fatalf("%s: %d payment-failed emails after the cancellation", tc.mode, n)
		}
		// The period was over: "keep until the end" stopped it at once.
		if !got.EndedAt.Equal(e.clock.Now()) {
			t.Fatalf("%s: ended %s", tc.mode, got.EndedAt)
		}
		contains(t, e.lastMail(t, u, subscriptions.MailCancelConfirmed), "It ended on")
	}
}

// A card renewal being charged when the customer cancels (the bank is
// being called: it cannot be released) and that succeeds after all: the
// customer was told no further payment would be taken, and the period it
// pays never runs, so it is refunded in full at once, to the card. It used
// to be recorded "for the refund policy" and kept: nothing ever decided on
// it (a canceled subscription offers no cancellation to claim with). A
// payment that cannot be refunded now (disputed) stays paid for a person.
func TestCardPaymentAfterTheEndIsRefunded(t *testing.T) {
	e := setup(t, envOpts{})
	e.card.inFlight = true
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 7)
	for _, disputed := range []bool{false, true} {
		u := e.customer(t, "fr", "FR", account.CustomerConsumer, 0)
		e.clock.Set(t0)
		sub := e.start(t, start(u, plan, subscriptions.PayCard))
		e.clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
		e.renew(t, sub.ID)
		p := e.periods(t, sub.ID)[0]
		if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelNow,
			Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}); err != nil {
			t.Fatal(err)
		}
		contains(t, e.lastMail(t, u, subscriptions.MailCancelConfirmed), "Aucun autre paiement ne sera pris")
		e.card.mu.Lock()
		e.card.refunds, e.card.disputed = nil, disputed
		e.card.mu.Unlock()
		e.clock.Advance(time.Second)
		if disputed {
			// The case the bank's dispute opened, which the alert links.
			if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
				now := e.clock.Now()
				if _, err := tx.ExecContext(ctx, `INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status,
					created_at, updated_at) VALUES ('pay_late', 'renewal', $1, $2, 990, 'EUR', 'succeeded', $3, $3)`, p.ID, u.ID, now); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO disputes (id, stripe_dispute_id, payment_id, purpose, reference_id, customer_id,
					amount, currency, status, created_at, updated_at) VALUES ('dsp_late', 'dp_late', 'pay_late', 'renewal', $1, $2, 990, 'EUR', 'open', $3, $3)`,
					p.ID, u.ID, now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // the success reported twice: one refund
			if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.subs.PeriodPaidTx(ctx, tx, p.ID, "pay_late") }); err != nil {
				t.Fatal(err)
			}
		}
		got := e.periods(t, sub.ID)[0]
		if disputed {
			if got.Status != subscriptions.PeriodPaid || len(e.card.refunds) != 0 {
				t.Fatalf("disputed: period %s, refunds %+v", got.Status, e.card.refunds)
			}
			// Not refunded: the agents are told, once.
			if a := e.alerts.of("subscription_refund_failed"); len(a) != 1 || a[0].Role != account.RoleAgent || a[0].Data.Subject != "subscription to Monthly insights, Zoé" {
				t.Fatalf("alerts of the refused refund: %+v", a)
			}
			// At the dispute's case, not the list of cases to find it in.
			if a := e.alerts.of("subscription_refund_failed"); a[0].Data.Link != "/console/disputes/dsp_late" {
				t.Fatalf("the alert of the refund the dispute held links %q, want the case", a[0].Data.Link)
			}
			continue
		}
		if a := e.alerts.sent; len(a) != 0 {
			t.Fatalf("alerts while the refund is under way: %+v", a)
		}
		if len(e.card.refunds) != 1 || e.card.refunds[0].PeriodID != "pay_late" || e.card.refunds[0].Amount != money.MustNew(990, "EUR") {
			t.Fatalf("card refunds %+v, want 9,90 € of pay_late once", e.card.refunds)
		}
		if got.Status != subscriptions.PeriodRefunded || !got.RefundedAt.Equal(e.clock.Now()) {
			t.Fatalf("period after the late payment: %+v", got)
		}
		if s := e.get(t, sub.ID); s.Status != subscriptions.StatusCanceled {
			t.Fatalf("subscription %s", s.Status)
		}
		if n := e.count(t, `SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'subscription.period_refunded'`, sub.ID); n != 1 {
			t.Fatalf("%d refund audit lines", n)
		}
		// Stripe then reports the refund failed: the period is paid again
		// and the agents are told, once; a claim's failed refund is the
		// claim's to report.
		h := subscriptions.CardHandler{S: e.subs}
		pay := cardpay.Payment{ID: "pay_late", ReferenceID: p.ID}
		for _, refundID := range []string{"rfd_claim", "rfd_1"} { // a claim's refund, then this one (fakeCard's id)
			if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
				return h.RefundSettled(ctx, tx, cardpay.Refund{ID: refundID, Amount: money.MustNew(990, "EUR"), Status: cardpay.RefundFailed,
					Reason: e.card.refunds[0].Description, LastError: "expired_or_canceled_card"}, pay)
			}); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.periods(t, sub.ID)[0]; got.Status != subscriptions.PeriodPaid {
			t.Fatalf("period after its refund failed: %s", got.Status)
		}
		if a := e.alerts.of("subscription_refund_failed"); len(a) != 1 || a[0].Role != account.RoleAgent || a[0].Data.Subject != "subscription to Monthly insights, Zoé" ||
			!strings.Contains(a[0].Data.Detail, "rfd_1") {
			t.Fatalf("alerts of the failed refund: %+v", a)
		}
		e.alerts.sent = nil
	}
}

// The renewal's card charge is queued (its job has not called the bank)
// when the customer cancels, in either mode: the charge is released, the
// period closed without retry, and a late report of it changes nothing.
// Before, only periods being retried were released and the queued charge
// went through after the cancellation.
func TestCancelStopsAQueuedCardRenewal(t *testing.T) {
	e := setup(t, envOpts{})
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 7)
	for _, mode := range []string{subscriptions.CancelNow, subscriptions.CancelAtPeriodEnd} {
		u := e.customer(t, "en", "FR", account.CustomerConsumer, 0)
		e.clock.Set(t0)
		sub := e.start(t, start(u, plan, subscriptions.PayCard))
		e.clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
		e.renew(t, sub.ID)
		ps := e.periods(t, sub.ID)
		if len(ps) != 1 || ps[0].Status != subscriptions.PeriodPending {
			t.Fatalf("%s: periods %+v", mode, ps)
		}
		e.card.released = nil
		if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: mode,
			Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}); err != nil {
			t.Fatal(err)
		}
		if len(e.card.released) != 1 || e.card.released[0] != ps[0].ID {
			t.Fatalf("%s: released %v, want the queued charge of %s", mode, e.card.released, ps[0].ID)
		}
		p := e.periods(t, sub.ID)[0]
		if p.Status != subscriptions.PeriodFailed || !p.NextAttemptAt.IsZero() {
			t.Fatalf("%s: period after the cancellation %+v", mode, p)
		}
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
			return e.subs.PeriodPaymentFailedTx(ctx, tx, p.ID, "payment canceled")
		}); err != nil {
			t.Fatal(err)
		}
		if got := e.get(t, sub.ID); got.Status != subscriptions.StatusCanceled {
			t.Fatalf("%s: %s", mode, got.Status)
		}
		if n := len(e.mails(t, u, subscriptions.MailPaymentFailed)); n != 0 {
			t.Fatalf("%s: %d payment-failed emails", mode, n)
		}
		if _, ok, _ := e.subs.LastPayment(ctx, sub.ID); ok {
			t.Fatalf("%s: a payment recorded for a charge never made", mode)
		}
	}
}

// A card subscription without a trial is incomplete until the Checkout
// payment of its first period succeeds; an abandoned one ends quietly.
func TestCardStartWaitsForTheFirstPayment(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 0)
	plan := e.plan(t, subscriptions.IntervalYear, 9900, 0)
	var first subscriptions.Period
	sub, err := e.subs.Start(ctx, start(u, plan, subscriptions.PayCard), func(ctx context.Context, tx *sql.Tx, s subscriptions.Subscription) error {
		p, ok, err := e.subs.OpenPeriodTx(ctx, tx, s.ID)
		if err != nil || !ok {
			return fmt.Errorf("no open period: %v", err)
		}
		first = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != subscriptions.StatusIncomplete || first.Status != subscriptions.PeriodPending || first.Amount.Minor != 9900 ||
		!first.End.Equal(t0.AddDate(1, 0, 0)) || len(e.mails(t, u, subscriptions.MailStarted)) != 0 {
		t.Fatalf("incomplete start: %+v, first %+v", sub, first)
	}
	// An incomplete subscription is never renewed.
	e.clock.Set(sub.CurrentPeriodEnd.Add(time.Hour))
	if n, _ := e.subs.RenewDue(ctx, e.clock.Now()); n != 0 {
		t.Fatal("an incomplete subscription was scanned")
	}
	e.clock.Set(t0.Add(10 * time.Minute))
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.subs.PeriodPaidTx(ctx, tx, first.ID, "pay_checkout") }); err != nil {
		t.Fatal(err)
	}
	got := e.get(t, sub.ID)
	if got.Status != subscriptions.StatusActive || !got.CurrentPeriodEnd.Equal(first.End) {
		t.Fatalf("after the first payment: %+v", got)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailStarted), "a commencé", "99,00", "par an", "chaque année")

	// Abandoned checkout.
	v := e.customer(t, "fr", "FR", account.CustomerConsumer, 0)
	var open subscriptions.Period
	abandoned, err := e.subs.Start(ctx, start(v, plan, subscriptions.PayCard), func(ctx context.Context, tx *sql.Tx, s subscriptions.Subscription) error {
		open, _, err = e.subs.OpenPeriodTx(ctx, tx, s.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.subs.PeriodPaymentFailedTx(ctx, tx, open.ID, "checkout expired") }); err != nil {
		t.Fatal(err)
	}
	// It never started: no notice of non-payment.
	if got := e.get(t, abandoned.ID); got.Status != subscriptions.StatusCanceled || len(e.mails(t, v, "")) != 0 {
		t.Fatalf("abandoned checkout: %+v, %d emails", got, len(e.mails(t, v, "")))
	}
}

func TestEmailsFollowTheCustomersLanguage(t *testing.T) {
	e := setup(t, envOpts{})
	p := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	for _, tc := range []struct{ lang, subject, date string }{
		{"fr", "Votre abonnement Veille mensuelle a commencé", "28 février 2026 à 10:00 UTC"},
		{"en", "Your subscription to Monthly insights has started", "28 February 2026 at 10:00 UTC"},
	} {
		u := e.customer(t, tc.lang, "FR", account.CustomerConsumer, 5000)
		in := start(u, p, subscriptions.PayBalance)
		e.start(t, in)
		m := e.lastMail(t, u, subscriptions.MailStarted)
		if m.Lang != tc.lang || m.Subject != tc.subject || !strings.Contains(m.Text, tc.date) || m.To != u.Email {
			t.Errorf("%s email: %s %q\n%s", tc.lang, m.Lang, m.Subject, m.Text)
		}
		want := subscriptions.ConsentWording(tc.lang)
		if !strings.Contains(m.Text, want.Immediate) {
			t.Errorf("%s email lacks the consent text", tc.lang)
		}
	}
}

// The renewal and retry scans read their partial indexes, never the whole
// table: their cost follows what is due, not the store's history.
func TestScansUseTheirIndexes(t *testing.T) {
	e := setup(t, envOpts{})
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var zero time.Time
	for _, tc := range []struct {
		query, index, table string
	}{
		{subscriptions.RenewDueQuery, "subscriptions_due", "subscriptions"},
		{subscriptions.RetryDueQuery, "subscription_periods_retry_due", "subscription_periods"},
	} {
		plan := dbtest.Plan(t, e.db, tc.query, now, zero, "", 10)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, tc.index) {
			t.Errorf("%s scan does not use %s:\n%s", tc.table, tc.index, text)
		}
		// The index's order is the scan's order: no sort of everything due
		// before the page is cut.
		if strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "Sort Key") {
			t.Errorf("%s scan sorts:\n%s", tc.table, text)
		}
		for _, l := range plan {
			if strings.Contains(l, "SCAN "+tc.table) && !strings.Contains(l, "INDEX") || strings.Contains(l, "Seq Scan on "+tc.table) {
				t.Errorf("full scan of %s:\n%s", tc.table, text)
			}
		}
	}
}

func TestTheDatabaseKeepsTheTerms(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalMonth, 990, 0), subscriptions.PayBalance))
	for _, q := range []string{
		`UPDATE subscriptions SET amount = 1 WHERE id = $1`,
		`UPDATE subscriptions SET consent_immediate_text = 'x' WHERE id = $1`,
		`UPDATE subscription_periods SET amount = 1 WHERE subscription_id = $1`,
		`UPDATE subscription_periods SET status = 'failed', paid_at = NULL WHERE subscription_id = $1`,
		`DELETE FROM subscription_periods WHERE subscription_id = $1`,
		`UPDATE subscriptions SET status = 'bogus' WHERE id = $1`,
		`UPDATE subscriptions SET status = 'canceled' WHERE id = $1`, // without ended_at
	} {
		if _, err := e.db.Write.ExecContext(ctx, q, sub.ID); err == nil {
			t.Errorf("the database accepted %s", q)
		}
	}
	// A canceled subscription stays canceled.
	if _, err := e.subs.Cancel(ctx, subscriptions.CancelInput{CustomerID: u.ID, SubscriptionID: sub.ID, Mode: subscriptions.CancelNow,
		Actor: audit.Actor{ID: u.ID, Role: account.RoleCustomer}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Write.ExecContext(ctx, `UPDATE subscriptions SET status = 'active', canceled_at = NULL, ended_at = NULL WHERE id = $1`, sub.ID); err == nil {
		t.Error("a canceled subscription was revived")
	}
	// Refunding a paid period is the one change allowed, once.
	p := e.periods(t, sub.ID)[0]
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.subs.MarkRefundedTx(ctx, tx, p.ID, admin) }); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.subs.MarkRefundedTx(ctx, tx, p.ID, admin) }); !errors.Is(err, subscriptions.ErrNotFound) {
		t.Fatalf("second refund mark: %v", err)
	}
	if last, ok, _ := e.subs.LastPayment(ctx, sub.ID); !ok || last.ID != p.ID || last.Status != subscriptions.PeriodRefunded || last.RefundedAt.IsZero() {
		t.Fatalf("last payment after its refund: %+v %v", last, ok)
	}
}

// End to end through River: the periodic scan runs once at start (as the
// composition root will configure it), and a renewal job inserted by
// RenewDue is run by the renewal worker.
func TestRenewalThroughRiver(t *testing.T) {
	e := setup(t, envOpts{workers: true})
	u := e.customer(t, "fr", "FR", account.CustomerConsumer, 5000)
	sub := e.start(t, start(u, e.plan(t, subscriptions.IntervalWeek, 700, 0), subscriptions.PayBalance))
	testwait.Until(t, "the periodic scan", func() bool {
		return e.count(t, `SELECT COUNT(*) FROM river_job WHERE kind = 'subscriptions.renew_due' AND state = 'completed'`) > 0
	})
	e.clock.Set(sub.CurrentPeriodEnd.Add(time.Minute))
	if n, err := e.subs.RenewDue(ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("RenewDue: %d %v", n, err)
	}
	testwait.Until(t, "the renewal", func() bool { return e.get(t, sub.ID).CurrentPeriodStart.Equal(sub.CurrentPeriodEnd) })
	if e.balance(t, u) != 5000-2*700 || len(e.periods(t, sub.ID)) != 2 {
		t.Fatalf("balance %d, %d periods", e.balance(t, u), len(e.periods(t, sub.ID)))
	}
}

func formatFR(t time.Time) string {
	months := []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %d à %s UTC", day, months[t.Month()-1], t.Year(), t.Format("15:04"))
}

// The start email repeats each consent box as it was ticked (POLICY.md
// "Consent at checkout"): one box ticked is not shown as none.
func TestStartMailRepeatsEachBoxAsTicked(t *testing.T) {
	e := setup(t, envOpts{})
	u := e.customer(t, "en", "CH", account.CustomerConsumer, 5000)
	p := e.plan(t, subscriptions.IntervalMonth, 990, 0)
	in := start(u, p, subscriptions.PayBalance)
	in.WithdrawalWaiver = false
	sub := e.start(t, in)
	read, err := e.subs.GetForCustomer(ctx, u.ID, sub.ID)
	if err != nil || !read.Consent.ImmediatePerformance || read.Consent.WithdrawalWaiver {
		t.Fatalf("consent %+v, %v", read.Consent, err)
	}
	contains(t, e.lastMail(t, u, subscriptions.MailStarted), "[x] "+read.Consent.ImmediateText, "[ ] "+read.Consent.WaiverText)
}

// A card renewal that fails for want of a usable card — declined, or none
// saved because the subscription began with a trial, which asks for no
// card — emails the page where the customer pays the period with a card of
// their choice (kept for the next renewals). Before, only a renewal waiting
// for 3-D Secure carried the link: the others could only wait for the
// same card to be retried, and a trial paid by card never became a paid
// subscription.
func TestFailedCardRenewalEmailsThePaymentPage(t *testing.T) {
	e := setup(t, envOpts{})
	plan := e.plan(t, subscriptions.IntervalMonth, 990, 14)
	for _, tc := range []struct {
		name          string
		noCard        bool
		reason, avoid string
	}{
		{"trial without a card", true, "no card is saved for this subscription", "your card was declined"},
		{"declined card", false, "your card was declined", "no card is saved"},
	} {
		e.card.noCard, e.card.decline = tc.noCard, !tc.noCard
		u := e.customer(t, "en", "FR", account.CustomerConsumer, 0)
		e.clock.Set(t0)
		sub := e.start(t, start(u, plan, subscriptions.PayCard))
		e.clock.Set(sub.CurrentPeriodEnd)
		e.renew(t, sub.ID)
		p := e.periods(t, sub.ID)[0]
		if p.Status != subscriptions.PeriodFailed || p.NextAttemptAt.IsZero() {
			t.Fatalf("%s: period %+v", tc.name, p)
		}
		m := e.lastMail(t, u, subscriptions.MailPaymentFailed)
		contains(t, m, "http://shop.test/subscriptions/"+sub.ID+"/authenticate", "card of your choice", tc.reason)
		if strings.Contains(m.Text, "3-D Secure") || strings.Contains(m.Text, tc.avoid) {
			t.Errorf("%s: email reads %q", tc.name, m.Text)
		}
		if _, got, err := e.subs.AuthenticationPeriod(ctx, u.ID, sub.ID); err != nil || got.ID != p.ID {
			t.Fatalf("%s: the page's period: %+v %v", tc.name, got, err)
		}
	}
	e.card.noCard, e.card.decline = false, false
}
