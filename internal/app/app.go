// Package app is comptoir's composition root: configuration → database →
// services → HTTP server and background jobs. Nothing below it knows how the
// pieces are wired; nothing here holds business rules.
package app

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"comptoir/internal/account"
	"comptoir/internal/alerts"
	"comptoir/internal/audit"
	"comptoir/internal/billing"
	"comptoir/internal/blob"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/clock"
	"comptoir/internal/config"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/desk/sla"
	"comptoir/internal/disputes"
	"comptoir/internal/idempotency"
	"comptoir/internal/inbound"
	"comptoir/internal/invoices"
	"comptoir/internal/jobs"
	"comptoir/internal/legal"
	"comptoir/internal/locale"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/policystore"
	"comptoir/internal/privacy"
	"comptoir/internal/proof"
	"comptoir/internal/ratelimit"
	"comptoir/internal/secretbox"
	"comptoir/internal/subscriptions"
	"comptoir/internal/web"
	"comptoir/internal/webhooksig"
)

// Options are the choices a caller makes beyond the configuration.
type Options struct {
	Clock  clock.Clock // default: the system clock
	Logger *slog.Logger
	// Migrate applies pending migrations on open (serve and migrate do);
	// otherwise the schema must already be current.
	Migrate bool
	// ExistingStore: the caller works on a store that must already exist
	// (user add, user disable and enable, token create), so Open refuses
	// one it would have to create, before it creates anything (see
	// openExisting).
	ExistingStore bool
	// Workers starts the background job workers (serve does; CLI commands
	// only insert jobs).
	Workers bool
	// RescueStuckJobsAfter overrides River's rescue delay (tests).
	RescueStuckJobsAfter time.Duration
	// RetryBackoffCap bounds the delay between a job's attempts (tests).
	RetryBackoffCap time.Duration
	// PasswordParams overrides the password hashing cost (tests).
	PasswordParams *account.HashParams
	// SMTPListener is the inbound SMTP listener of --smtp-listen, opened
	// by serve before anything else (ListenSMTP), so that an address it
	// cannot use is a one-line configuration error instead of a failure
	// after start-up; nil: Serve listens itself.
	SMTPListener net.Listener
	// DebugListener is the profiler's listener of --debug-listen, opened
	// early for the same reason (ListenDebug); nil: Serve listens itself.
	DebugListener net.Listener
	// ShutdownWait is how long Serve's graceful stop waits for the
	// requests in flight (default 20 s; tests shorten it).
	ShutdownWait time.Duration
	// CheckoutWait is web.Deps.CheckoutWait: how long a request waits for
	// a payment's Checkout page (default 5 s; tests lengthen it).
	CheckoutWait time.Duration
}

// defaultShutdownWait is Options.ShutdownWait's default: what a request
// takes, and then some, well inside the 30 s or so a service manager
// gives before it kills the process.
const defaultShutdownWait = 20 * time.Second

// App is a running comptoir.
type App struct {
	Config *config.Config
	DB     *db.DB
	// Migrated are the migrations Open applied (Options.Migrate), none
	// when the database was up to date.
	Migrated []db.Migration
	Clock    clock.Clock
	Logger   *slog.Logger
	Jobs     *jobs.Client
	Messages *locale.Catalog
	Accounts *account.Service
	Outbox   *mail.Outbox
	// stopDispatch stops the mail dispatcher StartWorkers started.
	stopDispatch func()
	Limiter      *ratelimit.Limiter
	Catalog      *catalog.Service
	Ledger       *billing.Ledger
	Orders       *orders.Service
	Card         *cardpay.Service
	Policies     *policystore.Service
	Web          *web.Server

	// Legal keeps the legal pages' versions (terms of sale, privacy…).
	Legal *legal.Service

	Subscriptions *subscriptions.Service
	Claims        *claims.Service
	Blobs         blob.Store
	Desk          *desk.Service
	// SMTP is the inbound mail listener (--smtp-listen), nil when off.
	SMTP *inbound.Server
	// IMAP polls the support mailbox (--imap-url), nil when off.
	IMAP    *inbound.Poller
	Metrics *web.Metrics

	Idempotency *idempotency.Store
	Proof       *proof.Service
	Invoices    *invoices.Service
	// Disputes keeps card disputes and their evidence.
	Disputes *disputes.Service
	// Privacy exports and erases customers' data, and applies retention.
	Privacy *privacy.Service

	// smtpListener and debugListener are Options'.
	smtpListener, debugListener net.Listener
	shutdownWait                time.Duration
}

// Open connects to the database and builds every service. A bad database URL
// or an unusable data directory is a configuration error (config.IsUsage).
func Open(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	a := &App{Config: cfg, Clock: opts.Clock, Logger: opts.Logger, smtpListener: opts.SMTPListener, debugListener: opts.DebugListener,
		shutdownWait: cmp.Or(opts.ShutdownWait, defaultShutdownWait)}
	if a.Clock == nil {
		a.Clock = clock.System()
	}
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	var d *db.DB
	if opts.ExistingStore {
		// Bad settings are bad usage (exit 2) whether the store is
		// there or not: said first.
		if err := checkSettings(cfg); err != nil {
			return nil, err
		}
		var err error
		if d, err = openExisting(ctx, cfg); err != nil {
			return nil, err
		}
	}
	early := func(err error) (*App, error) {
		if d != nil {
			d.Close()
		}
		return nil, err
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return early(err)
	}
	blobs, err := preflight(ctx, cfg)
	if err != nil {
		return early(err)
	}
	a.Blobs = blobs
	fail := func(err error) (*App, error) {
		if c, ok := blobs.(io.Closer); ok {
			c.Close()
		}
		return early(err)
	}
	if d == nil {
		d, err = db.Open(ctx, cfg.DatabaseURL)
		if errors.Is(err, db.ErrBadURL) {
			return fail(config.Usagef("%v", err))
		}
		if err != nil {
			return fail(err)
		}
	}
	a.DB = d
	if err := a.build(ctx, opts); err != nil {
		d.Close()
		return fail(err)
	}
	return a, nil
}

func (a *App) build(ctx context.Context, opts Options) (err error) {
	cfg := a.Config
	if opts.Migrate {
		if a.Migrated, err = a.DB.MigrateWith(ctx, db.MigrateOptions{Logger: a.Logger}); err != nil {
			return err
		}
		if err := jobs.MigrateWith(ctx, a.DB, db.MigrateOptions{Logger: a.Logger}); err != nil {
			return err
		}
	} else if err := a.DB.CheckVersion(ctx); err != nil {
		return err
	}
	if a.Messages, err = locale.Load(); err != nil {
		return err
	}

	workers := river.NewWorkers()
	jobsCfg := jobs.Config{Logger: jobLogger(a.Logger), RescueStuckJobsAfter: opts.RescueStuckJobsAfter,
		RetryBackoffCap: opts.RetryBackoffCap}
	if opts.Workers {
		jobsCfg.Workers = workers
		jobsCfg.PeriodicJobs = append(jobsCfg.PeriodicJobs, subscriptions.RenewDueJob(), desk.BreachScanJob(), privacy.RetentionJob(),
			claims.BreachScanJob(), account.PruneJob())
		if cfg.IMAPURL != "" {
			jobsCfg.PeriodicJobs = append(jobsCfg.PeriodicJobs, desk.IMAPPollJob(cfg.IMAPPollInterval))
		}
	}
	if a.Jobs, err = jobs.New(a.DB, jobsCfg); err != nil {
		return err
	}

	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return config.Usagef("--mail-from: %v", err)
	}
	if a.Outbox, err = mail.NewOutbox(a.DB, a.Jobs, a.Clock, from); err != nil {
		return err
	}
	sender, err := a.mailSender(opts.Workers)
	if err != nil {
		return err
	}
	mailWorker := mail.NewWorker(a.DB, sender, a.Clock, a.Logger)
	river.AddWorker(workers, mailWorker)
	river.AddWorker(workers, mailWorker.Batches())

	accOpts := account.Options{BaseURL: cfg.BaseURL, StoreName: cfg.StoreName, Welcome: true,
		// A customer who proves their address (a reset link) gets the
		// tickets they opened as a guest with it.
		EmailProven: func(ctx context.Context, tx *sql.Tx, u account.User, at time.Time) error {
			_, err := desk.LinkGuestTicketsTx(ctx, tx, u, at)
			return err
		},
		// Someone who left holds no ticket: the desk puts theirs back in
		// the queue, in the transaction that disables them.
		StaffDisabled: func(ctx context.Context, tx *sql.Tx, u account.User, by audit.Actor, at time.Time) error {
			_, err := desk.UnassignStaffTx(ctx, tx, u, by, at)
			return err
		}}
	if opts.PasswordParams != nil {
		accOpts.HashParams = opts.PasswordParams
	}
	key, err := secretKey(cfg, a.Logger)
	if err != nil {
		return err
	}
	if accOpts.Secrets, err = secretbox.New(key); err != nil {
		return config.Usagef("secret key: %v", err)
	}
	accOpts.Jobs = a.Jobs
	a.Accounts = account.New(a.DB, a.Clock, a.Outbox, accOpts)
	a.Accounts.AddWorkers(workers)
	if opts.Workers {
		if err := a.sealSecrets(ctx); err != nil {
			return err
		}
	}
	a.Limiter = ratelimit.New(a.DB, a.Clock)
	a.Catalog = catalog.New(a.DB, a.Clock)
	a.Ledger = billing.New(a.DB, a.Clock)
	a.Idempotency = idempotency.New(a.DB, a.Clock)
	// Card payments report to the domain that started them; the map is
	// filled below, once those domains exist.
	cardHandlers := cardpay.Handlers{}
	a.Card, err = cardpay.New(a.DB, a.Jobs, a.Clock, cardpay.Config{
		SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL,
	}, cardHandlers, a.Logger)
	if err != nil {
		return config.Usagef("stripe: %v", err)
	}
	a.Card.AddWorkers(workers)
	a.Policies = policystore.New(a.DB, a.Clock)
	a.Legal = legal.New(a.DB, a.Clock)
	staffAlerts := alerts.New(a.Outbox, cfg.BaseURL, cfg.StoreName, cfg.Location, a.Messages)
	a.Invoices = invoices.New(a.DB, a.Clock, a.Outbox, invoices.Options{
		Seller: invoices.Seller{Name: cfg.SellerName, Address: cfg.SellerAddress, Country: cfg.SellerCountry,
			VATNumber: cfg.SellerVATNumber, Registration: cfg.SellerRegistration},
		PricesIncludeVAT: !cfg.PricesExcludeVAT, BaseURL: cfg.BaseURL, StoreName: cfg.StoreName,
		Labels: a.invoiceLabels, Zone: cfg.Location,
	})
	mailWorker.RenderAttachments(invoices.AttachmentSource, a.Invoices.RenderPDF)
	if opts.Workers {
		// The documents issued before their zone was kept are dated in
		// the zone of today's start for good, not in whatever a later
		// --zone says.
		n, err := a.Invoices.KeepZones(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			a.Logger.Info("dated the invoices issued before their zone was kept in the store's zone", "count", n, "zone", cfg.Location.String())
		}
	}
	// The model withdrawal form is addressed to the seller, as the legal
	// notice and the invoices name it, at the address customers write to.
	trader := mail.Trader{Name: cfg.SellerName, Address: cfg.SellerAddress, Email: cfg.SupportAddress}
	a.Orders = orders.New(a.DB, a.Clock, a.Catalog, a.Ledger, a.Accounts, a.Outbox, orders.Options{
		BaseURL: cfg.BaseURL, StoreName: cfg.StoreName, Trader: trader, Logger: a.Logger, Card: a.Card,
		PolicyVersion: a.policyInForce, Alerts: staffAlerts, Invoices: a.Invoices, Zone: cfg.Location,
		TermsVersion: func(ctx context.Context) (string, error) { return a.Legal.CurrentID(ctx, legal.Terms) },
	})
	cardHandlers[cardpay.PurposeOrder] = a.Orders.CardHandler()
	a.Subscriptions = subscriptions.New(a.DB, a.Clock, a.Catalog, a.Ledger, a.Accounts, a.Outbox, subscriptions.SavedCards{Card: a.Card},
		subscriptions.Options{Jobs: a.Jobs, BaseURL: cfg.BaseURL, StoreName: cfg.StoreName, Trader: trader, Logger: a.Logger, PolicyVersion: a.policyInForce,
			Invoices: a.Invoices, Zone: cfg.Location, TermsVersion: func(ctx context.Context) (string, error) { return a.Legal.CurrentID(ctx, legal.Terms) },
			Alerts: staffAlerts})
	a.Subscriptions.AddWorkers(workers)
	cardHandlers[cardpay.PurposeRenewal] = subscriptions.CardHandler{S: a.Subscriptions}

	// Wall-clock hours, or the store's business calendar (--sla-hours).
	slaPolicy, businessHours := sla.DefaultPolicy, ""
	if slaPolicy.Calendar, err = sla.ParseHours(cfg.SLAZone, cfg.SLAHours, cfg.SLAHolidays); err != nil {
		return config.Usagef("--sla-hours: %v", err)
	}
	if slaPolicy.Calendar != nil {
		businessHours = cfg.SLAHours + " (" + slaPolicy.Calendar.Location.String() + ")"
	}
	a.Claims, err = claims.New(a.DB, a.Clock, claims.Deps{
		Orders: a.Orders, Ledger: a.Ledger, Customers: a.Accounts, Mailer: a.Outbox, Jobs: a.Jobs, Blobs: a.Blobs,
		Card:          cardpay.OrderRefunds{S: a.Card},
		Subscriptions: subscriptions.ClaimsAdapter{S: a.Subscriptions, Ledger: a.Ledger, Card: a.Card},
		Alerts:        staffAlerts,
		Policies: func(version string) (*policy.Policy, error) {
			return a.Policies.Get(context.Background(), version)
		},
	}, claims.Options{BaseURL: cfg.BaseURL, StoreName: cfg.StoreName, Logger: a.Logger,
		AnswerClock: claims.SLAClock(slaPolicy), WarnBefore: cfg.SLAWarnBefore, Zone: cfg.Location, ReplyTo: claimsReplyTo(cfg),
		Messages: a.Messages})
	if err != nil {
		return err
	}
	a.Claims.AddWorkers(workers)
	// A card refund's outcome reaches the claim that decided it.
	cardHandlers[cardpay.PurposeOrder] = orderCards{a.Orders.CardHandler(), a.Claims}
	cardHandlers[cardpay.PurposeRenewal] = subscriptions.CardHandler{S: a.Subscriptions, Claims: a.Claims, Alerts: staffAlerts}
	cardHandlers[cardpay.PurposeTopUp] = billing.TopUpHandler{L: a.Ledger, Card: a.Card, Alerts: staffAlerts, Logger: a.Logger}
	// Purchase notices; a disputed card payment takes its order out of them.
	a.Proof = proof.New(a.DB, a.Clock, a.Messages)
	cardHandlers[cardpay.PurposeOrder] = proof.DisputeHandler{Handler: cardHandlers[cardpay.PurposeOrder], P: a.Proof}
	// Card disputes: the case, the hold on refunds, the evidence.
	a.Disputes = disputes.New(a.DB, a.Clock, a.Jobs, a.Card, staffAlerts, a.Logger)
	a.Disputes.AddWorkers(workers)
	a.Card.SetDisputeRecorder(a.Disputes)
	// A second payment for a paid reference is refunded and the admins told.
	a.Card.SetAlerts(staffAlerts)
	cardHandlers[cardpay.PurposeTopUp] = billing.TopUpDisputes{
		Handler: invoices.TopUpHandler{Next: billing.TopUpHandler{L: a.Ledger, Card: a.Card, Alerts: staffAlerts, Logger: a.Logger}, Invoices: a.Invoices},
		L:       a.Ledger,
	}

	if a.Desk, err = desk.New(a.DB, a.Clock, a.Outbox, desk.Options{
		SupportAddress: cfg.SupportAddress, BaseURL: cfg.BaseURL, StoreName: cfg.StoreName,
		Deadlines: desk.SLADeadlines(slaPolicy), BusinessHours: businessHours, Customers: a.Accounts, WarnBefore: cfg.SLAWarnBefore,
		Zone: cfg.Location, Messages: a.Messages,
	}); err != nil {
		return config.Usagef("support desk: %v", err)
	}
	a.Desk.AddWorkers(workers)
	intake := desk.MailIntake{Desk: a.Desk, Blobs: a.Blobs, Support: cfg.SupportAddress, TrustedAuthservIDs: cfg.InboundTrustedAuthservIDs,
		TrustedRelays: cfg.InboundTrustedRelayNets}
	if cfg.SMTPListen != "" {
		if len(cfg.InboundTrustedAuthservIDs) > 0 && cfg.InboundTrustedRelayNets.Empty() {
			// Kept as before the flag, so that a store upgraded as it is
			// still takes its customers' mail for theirs; but said loudly.
			a.Logger.Warn("--inbound-trusted-authserv-id is set without --inbound-trusted-relays: any client that reaches --smtp-listen "+
				"can write an Authentication-Results with that id and pass for any customer; list the mail servers that relay to it "+
				"in --inbound-trusted-relays (or let only them reach the listener)", "smtp_listen", cfg.SMTPListen)
		}
		a.SMTP, err = inbound.NewServer(inbound.Config{
			Addr: cfg.SMTPListen, Domain: hostOf(cfg.BaseURL), SupportAddresses: []string{cfg.SupportAddress}, Logger: a.Logger,
			MaxConnections: cfg.SMTPMaxConnections, MaxConnectionsPerIP: cfg.SMTPMaxConnectionsPerIP,
		}, intake)
		if err != nil {
			return config.Usagef("--smtp-listen: %v", err)
		}
	}
	if cfg.IMAPURL != "" {
		imapCfg, err := inbound.ParseIMAPURL(cfg.IMAPURL, cfg.IMAPPassword)
		if err != nil {
			return config.Usagef("--imap-url: %v", err)
		}
		imapCfg.Logger = a.Logger
		if a.IMAP, err = inbound.NewPoller(imapCfg, intake); err != nil {
			return config.Usagef("--imap-url: %v", err)
		}
		desk.AddIMAPWorker(workers, a.IMAP)
	}

	a.Privacy = privacy.New(a.DB, a.Clock, a.Blobs, a.Jobs, privacy.Options{DataDir: cfg.DataDir,
		RetainActivity: cfg.RetainActivity, RetainClosedTickets: cfg.RetainClosedTickets, Logger: a.Logger,
		Settle: func(ctx context.Context) error { _, err := a.Invoices.NumberPending(ctx); return err },
		AbandonUnpaid: func(ctx context.Context, tx *sql.Tx, customerID string) (int, error) {
			n, err := a.Orders.AbandonUnpaidTx(ctx, tx, customerID)
			if err != nil {
				return n, err
			}
			m, err := a.Card.ReleaseWaitingTx(ctx, tx, customerID, cardpay.PurposeTopUp, "customer erased")
			return n + m, err
		}})
	a.Privacy.AddWorkers(workers)

	var fulfilment webhooksig.Secret
	if cfg.FulfilmentWebhookSecret != "" {
		if fulfilment, err = webhooksig.ParseSecret(cfg.FulfilmentWebhookSecret); err != nil {
			return config.Usagef("--fulfilment-webhook-secret: %v", err)
		}
	}

	a.Metrics = web.NewMetrics()
	// Tickets whose promised answer time has passed, read at each scrape.
	a.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "comptoir_desk_breached_tickets", Help: "Open tickets whose promised answer time (48 h by default) has passed.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := a.Desk.CountBreaches(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	// Claims past their promised answer time, unanswered.
	a.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "comptoir_claims_breached", Help: "Open claims whose promised first answer time (48 h by default) has passed unanswered.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := a.Claims.CountBreaches(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	if _, err := freeBytes(cfg.DataDir); !errors.Is(err, errFreeSpaceUnknown) {
		// What /readyz compares with --min-free-mb, to watch it come.
		a.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "comptoir_data_dir_free_bytes", Help: "Free space for comptoir on the data directory's file system (SQLite file, uploads, spooled mail).",
		}, func() float64 {
			free, err := freeBytes(cfg.DataDir)
			if err != nil {
				return -1
			}
			return float64(free)
		}))
	}
	if a.DB.Engine == db.Postgres {
		a.Metrics.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "comptoir_db_conflicts_retried_total", Help: "Transactions PostgreSQL aborted for a deadlock or a serialization failure, run again.",
		}, func() float64 { return float64(a.DB.ConflictsRetried()) }))
	}
	if a.DB.Engine == db.SQLite {
		// How well SQLite's group commit shares disk flushes: their ratio
		// is the transactions made durable per flush.
		a.Metrics.Registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "comptoir_db_commits_total", Help: "SQLite commits, each one disk flush, since the start.",
			}, func() float64 { return float64(a.DB.CommitStats().Commits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "comptoir_db_committed_transactions_total", Help: "Transactions made durable by those commits (several share one under load).",
			}, func() float64 { return float64(a.DB.CommitStats().Transactions) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "comptoir_db_writer_busy_seconds_total", Help: "Time SQLite's single writer spent running transactions and their commits: near the wall-clock time, writes wait on it.",
			}, func() float64 { return a.DB.CommitStats().Busy.Seconds() }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "comptoir_db_commit_seconds_total", Help: "The part of the writer's busy time spent committing (WAL append and disk flush).",
			}, func() float64 { return a.DB.CommitStats().Flushing.Seconds() }))
	}
	a.Web, err = web.New(web.Deps{
		Accounts: a.Accounts, Limiter: a.Limiter, Messages: a.Messages, Clock: a.Clock, Logger: a.Logger,
		Catalog: a.Catalog, Ledger: a.Ledger, Orders: a.Orders, Idempotency: a.Idempotency, Card: a.Card,
		Policies: a.Policies, Legal: a.Legal, Subscriptions: a.Subscriptions, Claims: a.Claims, Blobs: a.Blobs, Desk: a.Desk,
		FulfilmentSecret: fulfilment, Secrets: accOpts.Secrets,
		Ready: a.ready, StoreName: cfg.StoreName, Zone: cfg.Location, BaseURL: cfg.BaseURL, SecureCookies: cfg.SecureCookies(),
		Metrics: a.Metrics, Proof: a.Proof, Invoices: a.Invoices, SupportAddress: cfg.SupportAddress,
		Disputes: a.Disputes, Privacy: a.Privacy,
		CheckoutOrigin: cfg.StripeCheckoutOrigin, CheckoutWait: opts.CheckoutWait, RequireStaffTOTP: cfg.RequireStaffTOTP,
		TrustedProxies: cfg.TrustedProxyNets, MetricsToken: cfg.MetricsToken,
	})
	return err
}

// preflight tries the settings whose faults only trying finds (the Stripe
// pair, the fulfilment secret, the IMAP mailbox's URL and password, the
// file store) before anything is opened or logged, and opens the file
// store. A configuration error is then the one line on stderr (API.md):
// found while the store was being built, it came after the start-up notes
// (where mail is spooled, the new secret key).
func preflight(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	if err := checkSettings(cfg); err != nil {
		return nil, err
	}
	return openBlobs(ctx, cfg)
}

// checkSettings is preflight's tries of the settings, which open nothing.
func checkSettings(cfg *config.Config) error {
	// Said in the flags' terms: it was cardpay's ("stripe: cardpay:
	// invalid input: Stripe needs both the secret key and the webhook
	// secret, or neither"), which named no flag.
	switch {
	case cfg.StripeSecretKey != "" && cfg.StripeWebhookSecret == "":
		return config.Usagef("--stripe-secret-key needs --stripe-webhook-secret: without it the store never learns that a card payment arrived")
	case cfg.StripeSecretKey == "" && cfg.StripeWebhookSecret != "":
		return config.Usagef("--stripe-webhook-secret needs --stripe-secret-key: card payments take both, or neither")
	}
	card := cardpay.Config{SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL}
	if err := card.Check(); err != nil {
		return config.Usagef("--stripe-api-url: %s", strings.TrimPrefix(err.Error(), cardpay.ErrInvalid.Error()+": "))
	}
	if cfg.FulfilmentWebhookSecret != "" {
		if _, err := webhooksig.ParseSecret(cfg.FulfilmentWebhookSecret); err != nil {
			return config.Usagef("--fulfilment-webhook-secret: %v", err)
		}
	}
	if cfg.IMAPURL != "" {
		if _, err := inbound.ParseIMAPURL(cfg.IMAPURL, cfg.IMAPPassword); err != nil {
			return config.Usagef("--imap-url: %v", err)
		}
	}
	return nil
}

// openBlobs opens the store of uploaded files: the S3 bucket of --blob-url,
// or a directory under the data directory. A bucket that cannot be reached
// is a configuration error, found at start rather than at the first upload.
func openBlobs(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	if cfg.BlobURL == "" {
		d, err := blob.NewDir(filepath.Join(cfg.DataDir, "uploads"))
		if err != nil {
			return nil, config.Usagef("uploads directory: %v", err)
		}
		return d, nil
	}
	c, err := blob.ParseS3URL(cfg.BlobURL)
	if err != nil {
		return nil, config.Usagef("--blob-url: %v", err)
	}
	c.AccessKey, c.SecretKey = cfg.BlobAccessKey, cfg.BlobSecretKey
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := blob.NewS3(ctx, c, nil)
	if err != nil {
		return nil, config.Usagef("--blob-url: %v", err)
	}
	return s, nil
}

// mailSender sends through the configured relay, or writes messages to the
// data directory when there is none, so that a demo needs no mail server.
// Only the process that sends (serve, with workers) says where the files
// go: the one-shot commands send nothing, and that line came before the
// one-line reason of their usage errors on stderr (API.md).
func (a *App) mailSender(sends bool) (mail.Sender, error) {
	if a.Config.SMTPRelay == "" {
		var logger *slog.Logger
		if sends {
			logger = a.Logger
		}
		return mail.NewSpoolSender(a.Config.DataDir, logger)
	}
	relay, err := mail.ParseRelayURL(a.Config.SMTPRelay)
	if err != nil {
		return nil, config.Usagef("--smtp-relay: %v", err)
	}
	return mail.NewSMTPSender(relay)
}

// orderCards is the card handler of orders, with refund outcomes also
// reported to claims.
type orderCards struct {
	orders.CardHandler
	claims *claims.Service
}

func (h orderCards) RefundSettled(ctx context.Context, tx *sql.Tx, r cardpay.Refund, p cardpay.Payment) error {
	if err := h.CardHandler.RefundSettled(ctx, tx, r, p); err != nil {
		return err
	}
	return h.claims.CardRefundSettledTx(ctx, tx, r.ID, r.Status == cardpay.RefundSucceeded, money.Amount{})
}

// policyInForce names the refund policy version customers accept today.
func (a *App) policyInForce(ctx context.Context) (string, error) {
	p, err := a.Policies.Current(ctx)
	if err != nil {
		return "", err
	}
	return p.ID(), nil
}

// ready is the readiness probe: the database must answer and take writes
// (a full disk or a read-only database takes the node out of rotation).
func (a *App) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.DB.Write.PingContext(ctx); err != nil {
		return err
	}
	if err := a.DB.Writable(ctx); err != nil {
		return err
	}
	return checkFreeSpace(a.Config.DataDir, a.Config.MinFreeMB<<20)
}

// checkFreeSpace fails when the file system of dir has less than min bytes
// free for us. A full disk fails writes (SQLite's WAL, uploads, spooled
// mail) with errors the store answers 503; saying "not ready" a little
// before lets a load balancer or an operator act first.
func checkFreeSpace(dir string, min int64) error {
	if min == 0 {
		return nil
	}
	free, err := freeBytes(dir)
	if errors.Is(err, errFreeSpaceUnknown) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free < uint64(min) {
		return fmt.Errorf("data directory %s: %d MiB free, below --min-free-mb %d", dir, free>>20, min>>20)
	}
	return nil
}

// openExisting opens the database of a store that must already exist
// (Options.ExistingStore), having checked that it does, before anything is
// made: user add or token create run with a mistyped --data-dir created an
// empty comptoir.db and uploads/ there, then failed with "run comptoir
// migrate". The data directory must exist; on SQLite the database file in
// it (or at --database-url) too; on PostgreSQL the database must hold a
// comptoir schema. Each refusal is one line naming where it looked, a
// configuration error (exit 2, as comptoir backup's on no store; API.md's
// exit 1 is for a command that failed while running): the configuration
// names no store, which trying again will not change; the operator fixes
// --data-dir or --database-url, or makes the store first (comptoir
// migrate). A database that cannot be reached or read stays exit 1.
func openExisting(ctx context.Context, cfg *config.Config) (*db.DB, error) {
	const advice = "run comptoir migrate first, or check --data-dir"
	target, err := db.ParseURL(cfg.DatabaseURL)
	if err != nil {
		return nil, config.Usagef("%v", err)
	}
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		return nil, config.Usagef("no store in %s (no such directory): %s", cfg.DataDir, advice)
	}
	if target.Engine == db.SQLite {
		if _, err := os.Stat(target.Path); errors.Is(err, os.ErrNotExist) {
			if filepath.Clean(filepath.Dir(target.Path)) == filepath.Clean(cfg.DataDir) {
				return nil, config.Usagef("no store in %s (no %s there): %s", cfg.DataDir, filepath.Base(target.Path), advice)
			}
			return nil, config.Usagef("no store at %s (no such file): run comptoir migrate first, or check --database-url", target.Path)
		}
	}
	d, err := db.Open(ctx, cfg.DatabaseURL)
	if errors.Is(err, db.ErrBadURL) {
		return nil, config.Usagef("%v", err)
	}
	if err != nil {
		return nil, err
	}
	v, err := d.SchemaVersion(ctx)
	switch {
	case err != nil:
	case v == 0 && target.Engine == db.SQLite:
		// An empty file, as the commands left before they checked.
		err = config.Usagef("no store in %s (%s holds none): run comptoir migrate first, or check --data-dir, --database-url",
			filepath.Dir(target.Path), filepath.Base(target.Path))
	case v == 0:
		err = config.Usagef("the database holds no comptoir store: run comptoir migrate first, or check --database-url")
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// checkDataDir creates the data directory and proves it is writable, so a
// misconfigured path fails at start with a clear reason, not at the first
// upload.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return config.Usagef("data directory %s: %v", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return config.Usagef("data directory %s is not writable: %v", dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// Listen opens the HTTP listener; an address in use is a configuration
// error.
func Listen(addr string) (net.Listener, error) { return listen(addr, "") }

// ListenSMTP opens the inbound SMTP listener of --smtp-listen. An address
// that cannot be used is a configuration error, as for Listen.
func ListenSMTP(addr string) (net.Listener, error) { return listen(addr, " for SMTP") }

// listen opens a TCP listener on addr; an address that cannot be used is a
// configuration error naming it and what it was for.
func listen(addr, purpose string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, config.Usagef("cannot listen on %s%s: %v", addr, purpose, err)
	}
	return ln, nil
}

// Serve runs the HTTP server and the job workers until ctx ends, then shuts
// down gracefully: stop taking requests, finish those in flight, stop jobs.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if err := a.StartWorkers(ctx); err != nil {
		return err
	}
	srv := a.httpServer()
	errc := make(chan error, 2)
	if a.SMTP != nil {
		smtpLn := a.smtpListener
		if smtpLn == nil {
			var err error
			if smtpLn, err = ListenSMTP(a.Config.SMTPListen); err != nil {
				a.StopWorkers(context.WithoutCancel(ctx))
				return err
			}
		}
		a.Logger.Info("inbound SMTP listening", "addr", smtpLn.Addr().String())
		go func() { errc <- a.SMTP.Serve(smtpLn) }()
		defer a.SMTP.Close()
	}
	if a.Config.DebugListen != "" {
		debugLn := a.debugListener
		if debugLn == nil {
			var err error
			if debugLn, err = ListenDebug(a.Config.DebugListen); err != nil {
				a.StopWorkers(context.WithoutCancel(ctx))
				return err
			}
		}
		defer serveDebug(debugLn, a.Logger).Close()
	}
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	if serveErr == nil {
		a.Logger.Info("stopping: finishing the requests in flight, then the background jobs", "wait", a.shutdownWait.String())
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.shutdownWait)
	defer cancel()
	// The SMTP listener stops beside the HTTP server: the messages being
	// delivered get their answer, idle sessions are closed (their senders
	// retry), then the jobs stop.
	smtpStopped := make(chan error, 1)
	if a.SMTP != nil {
		go func() { smtpStopped <- a.SMTP.Shutdown(shutdownCtx) }()
	} else {
		smtpStopped <- nil
	}
	httpErr := srv.Shutdown(shutdownCtx)
	if errors.Is(httpErr, context.DeadlineExceeded) {
		// The stop was asked for and is done: what was still being answered
		// (a large download, a client sending its request slowly) is cut,
		// as it would be by the service manager's kill a little later, and
		// the client retries. It ended serve with "context deadline
		// exceeded" and exit 1, which said neither what nor why.
		a.Logger.Warn("requests still in flight at the end of the shutdown delay were cut", "wait", a.shutdownWait.String())
		srv.Close()
		httpErr = nil
	}
	smtpErr := <-smtpStopped
	if errors.Is(smtpErr, context.DeadlineExceeded) {
		a.Logger.Warn("SMTP sessions still open at the end of the shutdown delay were cut (their senders retry)", "wait", a.shutdownWait.String())
		smtpErr = nil
	}
	err := errors.Join(httpErr, smtpErr, a.StopWorkers(shutdownCtx))
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if err == nil {
		a.Logger.Info("comptoir stopped")
	}
	return err
}

// writeTimeout bounds writing an answer, from the end of its request: the
// routes that send a file or an export set their own deadlines (web's
// sendStall). A variable for the tests.
var writeTimeout = 60 * time.Second

// httpServer is the store's HTTP server.
func (a *App) httpServer() *http.Server {
	return &http.Server{
		Handler:           a.Web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
}

// StartWorkers starts the background work: River's job workers and the
// mail dispatcher that gives queued messages their sending jobs.
func (a *App) StartWorkers(ctx context.Context) error {
	if err := a.Jobs.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Outbox.Dispatch(dctx, mail.DefaultSweep, a.Logger)
	}()
	// The invoice numberer: numbers the invoices payments have just
	// written, woken by their commits, and sweeps for those a stopped
	// process left pending.
	numbered := make(chan struct{})
	go func() {
		defer close(numbered)
		a.Invoices.Run(dctx, invoices.DefaultSweep, a.Logger)
	}()
	a.stopDispatch = func() { cancel(); <-done; <-numbered }
	return nil
}

// StopWorkers stops what StartWorkers started: the dispatcher first (what
// it has not dispatched waits in the table for the next start), then the
// jobs, letting running ones finish until ctx ends and cancelling the rest
// (they run again at the next start).
func (a *App) StopWorkers(ctx context.Context) error {
	if a.stopDispatch != nil {
		a.stopDispatch()
		a.stopDispatch = nil
	}
	return jobs.Stop(ctx, a.Jobs, a.Logger)
}

func hostOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	return u.Hostname()
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// invoiceLabels gives invoices the words of their documents in a language,
// from the store's message catalog.
func (a *App) invoiceLabels(lang string) invoices.Translate {
	return func(id string, kv ...any) string { return a.Messages.TPairs(lang, id, kv...) }
}

// claimsReplyTo is the Reply-To of the claims' emails, which ask the
// customer to answer them when they think a decision is wrong: the
// support address when the mail goes out From another one (a no-reply
// --mail-from, whose answers nobody reads).
func claimsReplyTo(cfg *config.Config) string {
	if strings.EqualFold(cfg.MailFrom, cfg.SupportAddress) {
		return ""
	}
	return cfg.SupportAddress
}
