// Package web serves comptoir's HTML pages and its JSON API. Handlers are
// thin: they parse the request, call one service method, and render. Every
// route is declared in a table with the permission it needs, so that the
// authorization rules can be read (and tested) in one place.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/billing"
	"comptoir/internal/blob"
	"comptoir/internal/cardpay"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/clientaddr"
	"comptoir/internal/clock"
	"comptoir/internal/desk"
	"comptoir/internal/disputes"
	"comptoir/internal/idempotency"
	"comptoir/internal/invoices"
	"comptoir/internal/legal"
	"comptoir/internal/locale"
	"comptoir/internal/localtime"
	"comptoir/internal/orders"
	"comptoir/internal/policystore"
	"comptoir/internal/privacy"
	"comptoir/internal/proof"
	"comptoir/internal/ratelimit"
	"comptoir/internal/secretbox"
	"comptoir/internal/subscriptions"
	"comptoir/internal/webhooksig"
)

// Deps are what the web layer needs from the rest of the application.
type Deps struct {
	Accounts    *account.Service
	Limiter     *ratelimit.Limiter
	Catalog     *catalog.Service
	Ledger      *billing.Ledger
	Orders      *orders.Service
	Idempotency *idempotency.Store
	Card        *cardpay.Service
	Policies    *policystore.Service
	// Legal is the legal pages (notice, terms, privacy, mediator).
	Legal *legal.Service
	// Subscriptions are plans customers pay for each period.
	Subscriptions *subscriptions.Service
	Claims        *claims.Service
	Desk          *desk.Service
	// Proof is the purchase notices (social proof).
	Proof *proof.Service
	// Invoices lists and renders invoices and credit notes.
	Invoices *invoices.Service
	// Disputes keeps card disputes and their evidence packs.
	Disputes *disputes.Service
	// Privacy exports and erases a customer's data.
	Privacy *privacy.Service
	// Blobs holds uploaded files (product files, evidence).
	Blobs blob.Store
	// FulfilmentSecret verifies delivery webhooks; nil refuses them.
	FulfilmentSecret webhooksig.Secret
	// Secrets seals what a page hands the browser to read back and no one
	// else must be able to write (the ticket the Contact form just
	// opened): the store's secret key (--secret-key), shared by every
	// node. Nil: New makes a key of its own, which only this process
	// knows.
	Secrets  *secretbox.Box
	Messages *locale.Catalog
	Clock    clock.Clock
	Logger   *slog.Logger
	// Ready reports whether the server can take traffic (the database
	// answers); /readyz fails otherwise.
	Ready func(ctx context.Context) error

	StoreName     string
	BaseURL       string
	SecureCookies bool
	// Zone is the store's time zone, where pages show times and dates;
	// the zero Zone is UTC.
	Zone localtime.Zone
	// SupportAddress is the store's contact address, shown in the legal
	// notice's trader identity.
	SupportAddress string
	// CheckoutOrigin is the origin of the card payment pages (Stripe
	// Checkout) that forms may be redirected to; ignored without Card.
	CheckoutOrigin string
	// CheckoutWait is how long a request waits for a payment's Checkout
	// page to be created (by a job) before answering without it (a page
	// that keeps waiting on its own); zero: 5 s (checkoutWait). Tests
	// that expect the page lengthen it: on a loaded machine the job can
	// take longer, and the wait ends as soon as the page exists. Requests'
	// budget grows by as much (see budget).
	CheckoutWait time.Duration
	// RequireStaffTOTP sends agents and admins without a second factor to
	// its enrolment before any console or admin page.
	RequireStaffTOTP bool
	// DefaultLang is used when nothing in the request names a language.
	DefaultLang string
	// Metrics is where request metrics are registered; nil disables them.
	Metrics *Metrics
	// MetricsToken is the bearer token /metrics asks for; empty: /metrics
	// answers loopback clients only.
	MetricsToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (see clientIP); the zero value trusts nobody.
	TrustedProxies clientaddr.Trusted
}

// Server is the HTTP surface of comptoir.
type Server struct {
	Deps
	pages  *pages
	static *staticFiles
	mux    *http.ServeMux
	// patterns is every pattern registered on mux (handle), for the
	// authorization tests: a route registered outside the route tables
	// has no permission of theirs.
	patterns []string
	csp      string
	// lockout refuses sign-ins on an email after repeated failures,
	// counted in Limiter like the per-address limits.
	lockout *account.SigninLockout
	// afterDeleteCheck, in tests only, runs on the deletion page between
	// the check of the balance given up and the erasure.
	afterDeleteCheck func()
	// afterPasswordCheck, in tests only, runs between a sign-in's
	// password (or second factor) check and the creation of its session.
	afterPasswordCheck func(account.User)
	// afterKeyLookup, in tests only, runs on a keyed API request whose
	// key its lookup found unused, before the request's effect.
	afterKeyLookup func(*http.Request)
	// facts keeps the product pages' blocks of each revision and
	// language (productFacts), factsCount of them at most.
	facts      sync.Map
	factsCount atomic.Int32
}

// perm is the permission a route needs.
type perm int

const (
	permAnyone perm = iota
	permSignedIn
	permStaff // agents and admins
	permAdmin
	// permCustomer: customers only. Buying is theirs (API.md: POST /orders
	// and POST /subscriptions are a customer's): staff accounts buy
	// nothing, as they give no proof consent.
	permCustomer
)

func (p perm) String() string {
	return [...]string{"anyone", "signed-in", "staff", "admin", "customer"}[p]
}

// route is one line of a route table.
type route struct {
	pattern string
	perm    perm
	handler http.HandlerFunc
}

// New builds the server and its route tables.
func New(d Deps) (*Server, error) {
	if d.DefaultLang == "" {
		d.DefaultLang = locale.FR
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.CheckoutWait <= 0 {
		d.CheckoutWait = checkoutWait
	}
	if d.Secrets == nil {
		box, err := secretbox.New(secretbox.NewKey())
		if err != nil {
			return nil, err
		}
		d.Secrets = box
	}
	st, err := loadStatic()
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: d, static: st, mux: http.NewServeMux(), lockout: account.NewSigninLockout(d.Limiter)}
	s.csp = contentSecurityPolicy(cardEnabled(d.Card), d.CheckoutOrigin)
	if s.pages, err = loadPages(st, d.Messages); err != nil {
		return nil, err
	}
	if s.pages.layouts != nil {
		s.pages.layouts.store = view{StoreName: d.StoreName, messages: d.Messages, zone: d.Zone}
		s.pages.layouts.logger = d.Logger
	}
	// What a form answers when its visitor is no longer signed in, where
	// that is not "sign in" (pageAuth).
	signedOut := map[string]func(http.ResponseWriter, *http.Request) bool{"POST /account/delete": s.accountDeletedAlready}
	for _, r := range s.pageRoutes() {
		s.handle(r.pattern, s.pageAuth(r.perm, r.handler, signedOut[r.pattern]))
	}
	for _, r := range s.apiRoutes() {
		s.handle(r.pattern, s.apiAuth(r.perm, r.handler))
	}
	st.missing = s.notFound
	s.handle("GET /static/", st)
	if d.Card != nil {
		// Stripe signs its requests; they carry no session and no
		// browser headers, so they pass the cross-origin check untouched.
		s.handle("POST /api/v1/webhooks/stripe", d.Card.WebhookHandler())
	}
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", http.HandlerFunc(s.readyz))
	if d.Metrics != nil {
		s.handle("GET /metrics", metricsAccess(d.MetricsToken, d.Metrics.Handler()))
	}
	s.handle("/api/", http.HandlerFunc(s.apiNotFound))
	s.handle("/", http.HandlerFunc(s.notFound))
	return s, nil
}

// handle registers h on the mux, and its pattern in s.patterns. Every
// route goes through it.
func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

// Patterns lists every pattern registered on the server's mux, the route
// tables' and the others (static files, probes, webhooks, the not-found
// answers), for the authorization tests.
func (s *Server) Patterns() []string { return slices.Clone(s.patterns) }

// Routes lists every route with its permission, for the authorization tests.
func (s *Server) Routes() (pages, api []RouteInfo) {
	for _, r := range s.pageRoutes() {
		pages = append(pages, RouteInfo{Pattern: r.pattern, Perm: r.perm.String()})
	}
	for _, r := range s.apiRoutes() {
		api = append(api, RouteInfo{Pattern: r.pattern, Perm: r.perm.String()})
	}
	return pages, api
}

// RouteInfo describes a route.
type RouteInfo struct{ Pattern, Perm string }

// Handler is the whole HTTP surface with its middleware.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.apiPathsAsSent(s.mux)
	if s.Metrics != nil {
		// Innermost, so that it sees the route pattern the mux sets on the
		// request.
		h = s.Metrics.instrument(h)
	}
	h = s.limitBodies(h)
	h = s.identify(h)
	h = s.budget(h)
	h = s.crossOrigin(h)
	h = s.securityHeaders(h)
	if !s.TrustedProxies.Empty() {
		h = s.forwardedClient(h)
	}
	h = s.recoverPanics(h)
	return h
}

func (s *Server) pageRoutes() []route {
	return []route{
		{"GET /{$}", permAnyone, s.home},
		{"POST /lang", permAnyone, s.switchLanguage},
		{"GET /signup", permAnyone, s.signupForm},
		{"POST /signup", permAnyone, s.signup},
		{"GET /signin", permAnyone, s.signinForm},
		{"POST /signin", permAnyone, s.signin},
		{"POST /signout", permSignedIn, s.signout},
		{"GET /signin/verify", permAnyone, s.signinVerifyForm},
		{"POST /signin/verify", permAnyone, s.signinVerify},
		{"GET /account/totp", permSignedIn, s.totpPage},
		{"POST /account/totp", permSignedIn, s.totpBegin},
		{"POST /account/totp/confirm", permSignedIn, s.totpConfirm},
		{"GET /reset", permAnyone, s.resetRequestForm},
		{"POST /reset", permAnyone, s.resetRequest},
		{"GET /reset/{token}", permAnyone, s.resetForm},
		{"POST /reset/{token}", permAnyone, s.reset},
		{"GET /account", permSignedIn, s.accountPage},
		{"POST /account/profile", permSignedIn, s.accountProfile},
		{"POST /account/address", permSignedIn, s.accountAddress},
		{"POST /account/password", permSignedIn, s.accountPassword},
		{"POST /account/sessions/{id}/revoke", permSignedIn, s.accountRevokeSession},
		{"POST /account/tokens", permSignedIn, s.accountCreateToken},
		{"POST /account/tokens/{id}/revoke", permSignedIn, s.accountRevokeToken},
		{"POST /account/proof-consent", permSignedIn, s.accountProofConsent},
		{"POST /account/surveys", permSignedIn, s.accountSurveys},
		{"GET /policy", permAnyone, s.policyPage},
		{"GET /legal/{page}", permAnyone, s.legalPage},
		{"GET /legal/withdrawal-form", permAnyone, s.withdrawalForm},
		{"GET /contact", permAnyone, s.contactForm},
		{"GET /contact/sent", permAnyone, s.contactSentPage},
		{"GET /survey/{token}", permAnyone, s.surveyForm},
		{"POST /survey/{token}", permAnyone, s.survey},
		{"GET /survey/{token}/stop", permAnyone, s.surveyStopForm},
		{"POST /survey/{token}/stop", permAnyone, s.surveyStop},
		{"GET /support/tickets", permSignedIn, s.myTickets},
		{"GET /support/tickets/{id}", permSignedIn, s.myTicket},
		{"POST /support/tickets/{id}", permSignedIn, s.ticketReply},
		{"GET /support/tickets/{id}/attachments/{aid}", permSignedIn, s.send(s.myTicketAttachment)},
		{"GET /support/t/{token}", permAnyone, s.guestTicket},
		{"POST /support/t/{token}", permAnyone, s.guestTicketReply},
		{"POST /support/t/{token}/confirm", permAnyone, s.guestTicketConfirm},
		{"GET /support/t/{token}/attachments/{aid}", permAnyone, s.send(s.guestTicketAttachment)},
		{"GET /console/tickets", permStaff, s.consoleQueue},
		{"GET /console/tickets/{id}", permStaff, s.consoleTicket},
		{"POST /console/tickets/{id}", permStaff, s.consoleTicketAction},
		{"POST /console/tickets/{id}/claim", permStaff, s.consoleClaimFromMessage},
		{"GET /console/tickets/{id}/attachments/{aid}", permStaff, s.send(s.consoleTicketAttachment)},
		{"POST /contact", permAnyone, s.contact},
		{"GET /shop", permAnyone, s.shop},
		{"GET /shop/{slug}", permAnyone, s.product},
		{"GET /cart", permAnyone, s.cart},
		{"POST /cart", permAnyone, s.cartAdd},
		{"POST /cart/remove", permAnyone, s.cartRemove},
		{"POST /cart/quantity", permAnyone, s.cartSetQuantity},
		{"POST /checkout", permCustomer, s.checkout},
		{"GET /orders", permSignedIn, s.myOrders},
		{"GET /orders/{id}", permSignedIn, s.orderPage},
		{"GET /orders/{id}/receipt", permSignedIn, s.receipt},
		{"GET /orders/{id}/pay", permSignedIn, s.orderPay},
		{"GET /orders/{id}/lines/{line}/download", permSignedIn, s.send(s.download)},
		{"POST /subscriptions", permCustomer, s.subscribe},
		{"GET /subscriptions", permSignedIn, s.mySubscriptions},
		{"GET /subscriptions/{id}", permSignedIn, s.subscriptionPage},
		{"POST /subscriptions/{id}/cancel", permSignedIn, s.subscriptionCancel},
		{"POST /subscriptions/{id}/undo", permSignedIn, s.subscriptionUndo},
		{"GET /subscriptions/{id}/authenticate", permSignedIn, s.subscriptionAuthenticatePage},
		{"POST /subscriptions/{id}/authenticate", permSignedIn, s.subscriptionAuthenticate},
		{"GET /subscriptions/{id}/authenticate/checkout", permSignedIn, s.subscriptionAuthenticateCheckout},
		{"POST /orders/{id}/claims", permSignedIn, s.fileClaim},
		{"GET /orders/{id}/withdraw", permSignedIn, s.withdrawConfirm},
		{"POST /orders/{id}/withdraw", permSignedIn, s.withdraw},
		{"GET /claims", permSignedIn, s.myClaims},
		{"GET /claims/{id}", permSignedIn, s.claimPage},
		{"POST /claims/{id}/evidence", permSignedIn, s.addEvidence},
		{"GET /claims/{id}/evidence/{eid}", permSignedIn, s.send(s.evidenceFile)},
		{"GET /balance", permSignedIn, s.balancePage},
		{"POST /balance/topup", permCustomer, s.topUp},
		{"GET /console", permStaff, s.console},
		{"GET /console/orders", permStaff, s.consoleOrders},
		{"GET /console/orders/{id}", permStaff, s.consoleOrder},
		{"POST /console/orders/{id}/delivery", permStaff, s.consoleDelivery},
		{"GET /console/claims", permStaff, s.consoleClaims},
		{"GET /console/claims/{id}", permStaff, s.consoleClaim},
		{"POST /console/claims/{id}/decision", permStaff, s.consoleDecide},
		{"GET /console/disputes", permStaff, s.consoleDisputes},
		{"GET /console/disputes/{id}", permStaff, s.consoleDispute},
		{"POST /console/disputes/{id}", permStaff, s.consoleDisputeAction},
		{"GET /console/disputes/{id}/evidence.pdf", permStaff, s.export(s.consoleDisputePDF)},
		{"GET /console/disputes/{id}/evidence.zip", permStaff, s.export(s.consoleDisputeZIP)},
		{"GET /admin", permAdmin, s.admin},
		{"POST /admin/credits", permAdmin, s.adminCredit},
		{"GET /admin/policies", permAdmin, s.adminPolicies},
		{"GET /admin/policies/edit", permAdmin, s.adminPolicyEdit},
		{"POST /admin/policies", permAdmin, s.adminPolicySave},
		{"POST /admin/policies/preview", permAdmin, s.adminPolicyPreview},
		{"POST /admin/policies/publish", permAdmin, s.adminPolicyPublish},
		{"GET /admin/legal", permAdmin, s.adminLegalList},
		{"GET /admin/legal/{page}", permAdmin, s.adminLegalEdit},
		{"POST /admin/legal/{page}", permAdmin, s.adminLegalSave},
		{"POST /admin/legal/{page}/publish", permAdmin, s.adminLegalPublish},
		{"GET /admin/products", permAdmin, s.adminProducts},
		{"GET /admin/products/new", permAdmin, s.adminProductNew},
		{"POST /admin/products", permAdmin, s.adminProductSave},
		{"GET /admin/products/{id}", permAdmin, s.adminProductEdit},
		{"POST /admin/products/{id}", permAdmin, s.adminProductSave},
		{"POST /admin/products/{id}/{action}", permAdmin, s.adminProductArchive},
		{"POST /admin/products/{id}/keys", permAdmin, s.adminProductKeys},
		{"POST /admin/products/{id}/file", permAdmin, s.adminProductFile},
		{"GET /admin/canned", permAdmin, s.adminCanned},
		{"POST /admin/canned", permAdmin, s.adminCannedSave},
		{"GET /admin/canned/{id}", permAdmin, s.adminCanned},
		{"POST /admin/canned/{id}", permAdmin, s.adminCannedSave},
		{"POST /admin/canned/{id}/delete", permAdmin, s.adminCannedDelete},
		{"GET /admin/staff", permAdmin, s.adminStaff},
		{"POST /admin/staff/{id}/{action}", permAdmin, s.adminStaffAction},
		{"GET /admin/proof", permAdmin, s.adminProof},
		{"POST /admin/proof", permAdmin, s.adminProofSave},
		{"POST /admin/proof/{order}/withdraw", permAdmin, s.adminProofWithdraw},
		{"GET /embed/proof.js", permAnyone, s.embedScript},
		{"GET /invoices", permSignedIn, s.myInvoices},
		{"GET /invoices/{file}", permSignedIn, s.invoicePage},
		{"GET /admin/vat", permAdmin, s.adminVAT},
		{"POST /admin/vat", permAdmin, s.adminVATAdd},
		{"GET /admin/invoices.csv", permAdmin, s.export(s.adminInvoicesCSV)},
		{"GET /account/export", permSignedIn, s.export(s.exportMe)},
		{"GET /account/delete", permSignedIn, s.accountDeleteForm},
		{"POST /account/delete", permSignedIn, s.accountDelete},
		{"GET /admin/privacy", permAdmin, s.adminPrivacy},
		{"GET /admin/customers/{id}/export", permAdmin, s.export(s.adminCustomerExport)},
		{"POST /admin/customers/{id}/erase", permAdmin, s.adminCustomerErase},
		{"POST /admin/guests/export", permAdmin, s.export(s.adminGuestExport)},
		{"POST /admin/guests/erase", permAdmin, s.adminGuestErase},
	}
}

func (s *Server) apiRoutes() []route {
	return []route{
		{"POST /api/v1/signup", permAnyone, s.apiSignup},
		{"POST /api/v1/login", permAnyone, s.apiLogin},
		{"GET /api/v1/me", permSignedIn, s.apiMe},
		{"GET /api/v1/products", permAnyone, s.apiProducts},
		{"POST /api/v1/orders", permCustomer, s.apiCreateOrder},
		{"GET /api/v1/orders", permSignedIn, s.apiOrders},
		{"GET /api/v1/orders/{id}", permSignedIn, s.apiOrder},
		// Agents with a token, or a fulfilment service with a Standard
		// Webhooks signature (checked in the handler).
		{"POST /api/v1/orders/{id}/delivery", permAnyone, s.apiDelivery},
		{"GET /api/v1/balance", permSignedIn, s.apiBalance},
		{"POST /api/v1/balance/credits", permAdmin, s.apiBalanceCredit},
		{"POST /api/v1/balance/topups", permCustomer, s.apiTopUp},
		{"POST /api/v1/claims", permSignedIn, s.apiFileClaim},
		{"GET /api/v1/claims", permSignedIn, s.apiClaims},
		{"GET /api/v1/claims/{id}", permSignedIn, s.apiClaim},
		{"POST /api/v1/claims/{id}/evidence", permSignedIn, s.apiAddEvidence},
		{"POST /api/v1/claims/{id}/decision", permStaff, s.apiDecideClaim},
		{"POST /api/v1/subscriptions", permCustomer, s.apiStartSubscription},
		{"GET /api/v1/subscriptions", permSignedIn, s.apiSubscriptions},
		{"GET /api/v1/subscriptions/{id}", permSignedIn, s.apiSubscription},
		{"POST /api/v1/subscriptions/{id}/cancel", permSignedIn, s.apiCancelSubscription},
		{"GET /api/v1/proof/recent", permAnyone, s.apiProofRecent},
		{"OPTIONS /api/v1/proof/recent", permAnyone, s.apiProofPreflight},
		{"GET /api/v1/invoices", permSignedIn, s.apiInvoices},
		{"GET /api/v1/invoices/{file}", permSignedIn, s.apiInvoice},
		{"GET /api/v1/me/export", permSignedIn, s.export(s.exportMe)},
		{"DELETE /api/v1/me", permSignedIn, s.apiEraseMe},
		{"POST /api/v1/tickets", permAnyone, s.apiOpenTicket},
		{"GET /api/v1/tickets", permSignedIn, s.apiTickets},
		{"GET /api/v1/tickets/{id}", permSignedIn, s.apiTicket},
		{"POST /api/v1/tickets/{id}/messages", permSignedIn, s.apiTicketReply},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			s.Logger.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}
