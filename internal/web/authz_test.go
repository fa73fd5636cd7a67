package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay"
	"comptoir/internal/id"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// The authorization matrix: every route of both route tables, requested by
// every kind of visitor, must give the outcome its permission and its
// owner imply. The routes come from Server.Routes(), so a route added
// without a line in authzFixtures fails this test by name, and a route
// whose path names an object must say whose it is (owned, or unowned and
// why): a new ID route cannot slip in without customer B asking for A's.
//
// Around every request the whole database is read: a refused request
// (sign-in, 404, 403) and a form refused as malformed (4xx) change
// nothing, and a GET changes nothing but what getWrites says it records.
// Every state-changing route is also sent from another site with the
// session of a visitor it would let in, and must be refused unchanged.
// Besides customers and staff, the visitors are a guest (no account, the
// Contact form's cookie of their ticket), and a disabled agent and admin
// with the session and token they had; the console and admin pages are
// also requested with API tokens rather than sessions.

// outcome is the class of an answer, not its exact status: a handler may
// refuse an empty form (400, 422) and still have let the visitor in.
type outcome string

const (
	allowed   outcome = "allowed"   // the handler ran
	toSignIn  outcome = "sign-in"   // page: 303 to /signin?next=…; API: 401 unauthorized
	notFound  outcome = "not-found" // 404, nothing revealed
	forbidden outcome = "forbidden" // 403
)

// The visitors.
const (
	anon  = "anonymous"
	custA = "customer A"
	custB = "customer B"
	agent = "agent"
	admin = "admin"
)

var visitors = []string{anon, custB, agent, admin, custA}

// authzFixture says how to request one route and what to expect beyond
// what its permission implies.
type authzFixture struct {
	path string // the pattern's path with its parameters filled
	// owned: the path names customer A's objects; another customer gets
	// 404, as do staff unless staff says otherwise.
	owned bool
	staff outcome
	// body of the request: JSON for the API ("{}" by default), form for
	// pages (empty by default).
	body string
	// fresh: each visitor gets a new session for this request (the route
	// ends the session it is called with).
	fresh bool
	// multipart sends the body's fields (URL-encoded in body) as
	// multipart/form-data, with a small text file.
	multipart bool
	// except overrides the expectation for some visitors, with the reason.
	except map[string]outcome
	// throwaway: a customer visitor calls the route as a customer made for
	// this request alone (the route erases its caller).
	throwaway bool
	// unowned: the path has a parameter that names no customer's object
	// (a public slug, a credential that is its own proof, a staff-only
	// object), and why. A path parameter on a route customers reach must
	// be owned or unowned.
	unowned string
	// mismatched are paths that pair an object of the visitor's with a
	// part of another (a file of another ticket, a line of another
	// order): nobody gets them, whoever may use the route.
	mismatched []string
	why        string
}

// authzObjects are the real objects the paths name, owned by customer A.
type authzObjects struct {
	order, fileOrder, fileLine      string
	claim, evidence                 string
	ticket, surveyToken, resetToken string
	attachment, canned, invoice     string
	// otherAttachment is a file of A's other ticket; otherEvidence a
	// file of A's other claim.
	otherAttachment, otherEvidence string
	sub                            string
	guestToken, guestAttachment    string
	guestCookie                    string
	session, token                 string
	product, archiveProduct, slug  string
	customer                       string
	dispute                        string
	// staffMember is an agent that no visitor is: the staff page's
	// action enables it (already enabled, nothing changes).
	staffMember string
}

func authzFixtures(o authzObjects) map[string]authzFixture {
	return map[string]authzFixture{
		// Pages.
		"GET /{$}":                           {path: "/"},
		"POST /lang":                         {path: "/lang"},
		"GET /signup":                        {path: "/signup"},
		"POST /signup":                       {path: "/signup"},
		"GET /signin":                        {path: "/signin"},
		"POST /signin":                       {path: "/signin"},
		"POST /signout":                      {path: "/signout", fresh: true},
		"GET /signin/verify":                 {path: "/signin/verify"},
		"POST /signin/verify":                {path: "/signin/verify"},
		"GET /account/totp":                  {path: "/account/totp", except: map[string]outcome{custA: notFound, custB: notFound}, why: "staff only"},
		"POST /account/totp":                 {path: "/account/totp", except: map[string]outcome{custA: notFound, custB: notFound}, why: "staff only"},
		"POST /account/totp/confirm":         {path: "/account/totp/confirm", except: map[string]outcome{custA: notFound, custB: notFound}, why: "staff only"},
		"GET /reset":                         {path: "/reset"},
		"POST /reset":                        {path: "/reset"},
		"GET /reset/{token}":                 {path: "/reset/" + o.resetToken, unowned: "the link is its own credential"},
		"POST /reset/{token}":                {path: "/reset/" + o.resetToken, unowned: "the link is its own credential"},
		"GET /account":                       {path: "/account"},
		"POST /account/profile":              {path: "/account/profile"},
		"POST /account/address":              {path: "/account/address"},
		"POST /account/password":             {path: "/account/password"},
		"POST /account/sessions/{id}/revoke": {path: "/account/sessions/" + o.session + "/revoke", owned: true},
		"POST /account/tokens":               {path: "/account/tokens"},
		"POST /account/tokens/{id}/revoke":   {path: "/account/tokens/" + o.token + "/revoke", owned: true},
		"POST /account/proof-consent":        {path: "/account/proof-consent", except: map[string]outcome{agent: notFound, admin: notFound}, why: "customers only: staff buy nothing"},
		"POST /account/surveys":              {path: "/account/surveys", except: map[string]outcome{agent: notFound, admin: notFound}, why: "customers only: staff are sent no surveys"},
		"GET /policy":                        {path: "/policy"},
		"GET /contact":                       {path: "/contact"},
		"GET /contact/sent":                  {path: "/contact/sent"},
		"GET /survey/{token}":                {path: "/survey/" + o.surveyToken, unowned: "the link is its own credential"},
		"POST /survey/{token}":               {path: "/survey/" + o.surveyToken, unowned: "the link is its own credential"},
		"GET /survey/{token}/stop":           {path: "/survey/" + o.surveyToken + "/stop", unowned: "the link is its own credential"},
		"POST /survey/{token}/stop":          {path: "/survey/" + o.surveyToken + "/stop", unowned: "the link is its own credential"},
		"GET /support/tickets":               {path: "/support/tickets"},
		"GET /support/tickets/{id}":          {path: "/support/tickets/" + o.ticket, owned: true},
		"POST /support/tickets/{id}":         {path: "/support/tickets/" + o.ticket, owned: true, body: "text=Any+news%3F"},
		"GET /console/tickets":               {path: "/console/tickets"},
		"GET /console/tickets/{id}":          {path: "/console/tickets/" + o.ticket},
		"POST /console/tickets/{id}":         {path: "/console/tickets/" + o.ticket},
		"POST /console/tickets/{id}/claim":   {path: "/console/tickets/" + o.ticket + "/claim"},
		"GET /support/tickets/{id}/attachments/{aid}": {path: "/support/tickets/" + o.ticket + "/attachments/" + o.attachment, owned: true,
			mismatched: []string{"/support/tickets/" + o.ticket + "/attachments/" + o.guestAttachment, "/support/tickets/" + o.ticket + "/attachments/" + o.otherAttachment}},
		// A guest link is its own credential: whoever holds it gets the
		// ticket, signed in or not.
		"GET /support/t/{token}":          {path: "/support/t/" + o.guestToken, unowned: "the link is its own credential"},
		"POST /support/t/{token}":         {path: "/support/t/" + o.guestToken, body: "text=Any+news%3F", unowned: "the link is its own credential"},
		"POST /support/t/{token}/confirm": {path: "/support/t/" + o.guestToken + "/confirm", unowned: "the link is its own credential"},
		"GET /support/t/{token}/attachments/{aid}": {path: "/support/t/" + o.guestToken + "/attachments/" + o.guestAttachment, unowned: "the link is its own credential",
			mismatched: []string{"/support/t/" + o.guestToken + "/attachments/" + o.attachment}},
		"GET /console/tickets/{id}/attachments/{aid}": {path: "/console/tickets/" + o.ticket + "/attachments/" + o.attachment,
			mismatched: []string{"/console/tickets/" + o.ticket + "/attachments/" + o.guestAttachment, "/console/tickets/" + o.ticket + "/attachments/" + o.otherAttachment}},
		"GET /admin/canned":                  {path: "/admin/canned"},
		"GET /admin/proof":                   {path: "/admin/proof"},
		"GET /invoices":                      {path: "/invoices"},
		"GET /invoices/{file}":               {path: "/invoices/" + o.invoice, owned: true, except: map[string]outcome{admin: allowed}, why: "admins see every invoice"},
		"GET /admin/vat":                     {path: "/admin/vat"},
		"POST /admin/vat":                    {path: "/admin/vat"},
		"GET /admin/invoices.csv":            {path: "/admin/invoices.csv?from=2026-01-01&to=2026-12-31"},
		"GET /legal/{page}":                  {path: "/legal/terms", unowned: "a public page"},
		"GET /legal/withdrawal-form":         {path: "/legal/withdrawal-form"},
		"GET /admin/legal":                   {path: "/admin/legal"},
		"GET /admin/legal/{page}":            {path: "/admin/legal/terms"},
		"POST /admin/legal/{page}":           {path: "/admin/legal/terms"},
		"POST /admin/legal/{page}/publish":   {path: "/admin/legal/terms/publish", body: "version=1"},
		"POST /admin/proof":                  {path: "/admin/proof"},
		"POST /admin/proof/{order}/withdraw": {path: "/admin/proof/" + o.order + "/withdraw"},
		"GET /embed/proof.js":                {path: "/embed/proof.js"},
		"POST /admin/canned":                 {path: "/admin/canned"},
		"GET /admin/canned/{id}":             {path: "/admin/canned/" + o.canned},
		"POST /admin/canned/{id}":            {path: "/admin/canned/" + o.canned},
		"POST /admin/canned/{id}/delete":     {path: "/admin/canned/" + o.canned + "/delete"},
		"GET /admin/staff":                   {path: "/admin/staff"},
		"POST /admin/staff/{id}/{action}":    {path: "/admin/staff/" + o.staffMember + "/enable"},
		"POST /contact":                      {path: "/contact"},
		"GET /shop":                          {path: "/shop"},
		"GET /shop/{slug}":                   {path: "/shop/" + o.slug, unowned: "a public product"},
		"GET /cart":                          {path: "/cart"},
		"POST /cart":                         {path: "/cart", body: "quantity=1&product_id=" + o.product},
		"POST /cart/remove":                  {path: "/cart/remove"},
		"POST /cart/quantity":                {path: "/cart/quantity"},
		"POST /checkout":                     {path: "/checkout"},
		"GET /orders":                        {path: "/orders"},
		"GET /orders/{id}":                   {path: "/orders/" + o.order, owned: true},
		"GET /orders/{id}/receipt":           {path: "/orders/" + o.order + "/receipt", owned: true},
		"GET /orders/{id}/pay":               {path: "/orders/" + o.order + "/pay", owned: true},
		"GET /orders/{id}/lines/{line}/download": {path: "/orders/" + o.fileOrder + "/lines/" + o.fileLine + "/download", owned: true,
			mismatched: []string{"/orders/" + o.order + "/lines/" + o.fileLine + "/download"}},
		"POST /subscriptions":     {path: "/subscriptions"},
		"GET /subscriptions":      {path: "/subscriptions"},
		"GET /subscriptions/{id}": {path: "/subscriptions/" + o.sub, owned: true},
		// A's subscription is paid: there is nothing to authenticate, so
		// even its owner gets 404 (the flow is in authenticate_test.go).
		"GET /subscriptions/{id}/authenticate":          {path: "/subscriptions/" + o.sub + "/authenticate", owned: true, except: map[string]outcome{custA: notFound}, why: "nothing to authenticate"},
		"POST /subscriptions/{id}/authenticate":         {path: "/subscriptions/" + o.sub + "/authenticate", owned: true, except: map[string]outcome{custA: notFound}, why: "nothing to authenticate"},
		"GET /subscriptions/{id}/authenticate/checkout": {path: "/subscriptions/" + o.sub + "/authenticate/checkout", owned: true, except: map[string]outcome{custA: notFound}, why: "nothing to authenticate"},
		"POST /subscriptions/{id}/cancel":               {path: "/subscriptions/" + o.sub + "/cancel", owned: true, body: "mode=period_end"},
		"POST /subscriptions/{id}/undo":                 {path: "/subscriptions/" + o.sub + "/undo", owned: true},
		"POST /orders/{id}/claims":                      {path: "/orders/" + o.order + "/claims", owned: true, body: "kind=dissatisfied&message=Not+for+me"},
		"GET /orders/{id}/withdraw":                     {path: "/orders/" + o.order + "/withdraw", owned: true},
		"POST /orders/{id}/withdraw":                    {path: "/orders/" + o.order + "/withdraw", owned: true},
		"GET /claims":                                   {path: "/claims"},
		"GET /claims/{id}":                              {path: "/claims/" + o.claim, owned: true},
		"POST /claims/{id}/evidence":                    {path: "/claims/" + o.claim + "/evidence", owned: true, multipart: true},
		"GET /claims/{id}/evidence/{eid}": {path: "/claims/" + o.claim + "/evidence/" + o.evidence, owned: true, staff: allowed,
			mismatched: []string{"/claims/" + o.claim + "/evidence/" + o.otherEvidence},
			why:        "agents read the evidence of the claims they decide"},
		"GET /balance": {path: "/balance"},
		"POST /balance/topup": {path: "/balance/topup", body: "amount=20", except: map[string]outcome{custA: notFound, custB: notFound, agent: notFound, admin: notFound},
			why: "card payments are off in this store: the top-up is absent for everyone"},
		"GET /console":                            {path: "/console"},
		"GET /console/orders":                     {path: "/console/orders"},
		"GET /console/orders/{id}":                {path: "/console/orders/" + o.order},
		"POST /console/orders/{id}/delivery":      {path: "/console/orders/" + o.order + "/delivery"},
		"GET /console/claims":                     {path: "/console/claims"},
		"GET /console/claims/{id}":                {path: "/console/claims/" + o.claim},
		"POST /console/claims/{id}/decision":      {path: "/console/claims/" + o.claim + "/decision"},
		"GET /console/disputes":                   {path: "/console/disputes"},
		"GET /console/disputes/{id}":              {path: "/console/disputes/" + o.dispute},
		"POST /console/disputes/{id}":             {path: "/console/disputes/" + o.dispute, body: "statement=noted&action=save"},
		"GET /console/disputes/{id}/evidence.pdf": {path: "/console/disputes/" + o.dispute + "/evidence.pdf"},
		"GET /console/disputes/{id}/evidence.zip": {path: "/console/disputes/" + o.dispute + "/evidence.zip"},
		"GET /admin":                              {path: "/admin"},
		"GET /account/export":                     {path: "/account/export"},
		"GET /account/delete":                     {path: "/account/delete"},
		"POST /account/delete":                    {path: "/account/delete", body: "password=wrong"},
		"GET /admin/privacy":                      {path: "/admin/privacy"},
		"GET /admin/customers/{id}/export":        {path: "/admin/customers/" + o.customer + "/export"},
		"POST /admin/customers/{id}/erase":        {path: "/admin/customers/" + o.customer + "/erase", body: "confirm_email=someone@example.fr"},
		"POST /admin/guests/export":               {path: "/admin/guests/export", body: "email=guest@example.fr"},
		"POST /admin/guests/erase":                {path: "/admin/guests/erase", body: "email=guest@example.fr&confirm_email=guest@example.fr"},
		"GET /api/v1/me/export":                   {path: "/api/v1/me/export"},
		"DELETE /api/v1/me":                       {path: "/api/v1/me", throwaway: true, why: "erases its caller: customers call it as a throwaway customer"},
		"POST /admin/credits":                     {path: "/admin/credits"},
		"GET /admin/policies":                     {path: "/admin/policies"},
		"GET /admin/policies/edit":                {path: "/admin/policies/edit"},
		"POST /admin/policies":                    {path: "/admin/policies"},
		"POST /admin/policies/preview":            {path: "/admin/policies/preview"},
		"POST /admin/policies/publish":            {path: "/admin/policies/publish", body: "version=default@1"},
		"GET /admin/products":                     {path: "/admin/products"},
		"GET /admin/products/new":                 {path: "/admin/products/new"},
		"POST /admin/products":                    {path: "/admin/products"},
		"GET /admin/products/{id}":                {path: "/admin/products/" + o.product},
		"POST /admin/products/{id}":               {path: "/admin/products/" + o.product},
		"POST /admin/products/{id}/{action}":      {path: "/admin/products/" + o.archiveProduct + "/archive"},
		"POST /admin/products/{id}/keys":          {path: "/admin/products/" + o.product + "/keys"},
		"POST /admin/products/{id}/file":          {path: "/admin/products/" + o.product + "/file"},
		"POST /api/v1/signup":                     {path: "/api/v1/signup"},
		"POST /api/v1/login":                      {path: "/api/v1/login", body: `{"email":"nobody@example.fr","password":"wrong password"}`},
		"GET /api/v1/me":                          {path: "/api/v1/me"},
		"GET /api/v1/products":                    {path: "/api/v1/products"},
		"GET /api/v1/proof/recent":                {path: "/api/v1/proof/recent"},
		"GET /api/v1/invoices":                    {path: "/api/v1/invoices"},
		"GET /api/v1/invoices/{file}":             {path: "/api/v1/invoices/" + o.invoice + ".pdf", owned: true, except: map[string]outcome{admin: allowed}, why: "admins see every invoice"},
		"OPTIONS /api/v1/proof/recent":            {path: "/api/v1/proof/recent"},
		"POST /api/v1/orders":                     {path: "/api/v1/orders"},
		"GET /api/v1/orders":                      {path: "/api/v1/orders"},
		"GET /api/v1/orders/{id}":                 {path: "/api/v1/orders/" + o.order, owned: true, staff: allowed, why: "API.md: owner, agent"},
		"POST /api/v1/orders/{id}/delivery":       {path: "/api/v1/orders/" + o.order + "/delivery", except: staffOnly, unowned: "staff only", why: "open to signed webhooks, otherwise staff only (checked in the handler)"},
		"GET /api/v1/balance":                     {path: "/api/v1/balance"},
		"POST /api/v1/balance/credits":            {path: "/api/v1/balance/credits", body: `{"customer_id":"` + o.customer + `","amount":{"amount":100,"currency":"EUR"},"reason":"matrix"}`},
		"POST /api/v1/balance/topups":             {path: "/api/v1/balance/topups"},
		"POST /api/v1/claims":                     {path: "/api/v1/claims"},
		"GET /api/v1/claims":                      {path: "/api/v1/claims"},
		"GET /api/v1/claims/{id}":                 {path: "/api/v1/claims/" + o.claim, owned: true, staff: allowed, why: "agents read the claims they decide"},
		"POST /api/v1/claims/{id}/evidence":       {path: "/api/v1/claims/" + o.claim + "/evidence", owned: true, multipart: true},
		"POST /api/v1/claims/{id}/decision":       {path: "/api/v1/claims/" + o.claim + "/decision"},
		"POST /api/v1/subscriptions":              {path: "/api/v1/subscriptions"},
		"GET /api/v1/subscriptions":               {path: "/api/v1/subscriptions"},
		"GET /api/v1/subscriptions/{id}":          {path: "/api/v1/subscriptions/" + o.sub, owned: true},
		"POST /api/v1/subscriptions/{id}/cancel":  {path: "/api/v1/subscriptions/" + o.sub + "/cancel", owned: true, body: `{"mode":"period_end","refund":false}`},
		"POST /api/v1/tickets":                    {path: "/api/v1/tickets"},
		"GET /api/v1/tickets":                     {path: "/api/v1/tickets", why: "staff: the queue; a customer: their own tickets"},
		"GET /api/v1/tickets/{id}":                {path: "/api/v1/tickets/" + o.ticket, owned: true, staff: allowed, why: "API.md: owner, agent"},
		"POST /api/v1/tickets/{id}/messages":      {path: "/api/v1/tickets/" + o.ticket + "/messages", owned: true, staff: allowed, body: `{"message":"Any news?"}`, why: "API.md: owner, agent"},
	}
}

var staffOnly = map[string]outcome{anon: toSignIn, custA: notFound, custB: notFound, agent: allowed, admin: allowed}

// getWrites are the GET routes that record something, by design, and the
// tables they write; any other GET changes nothing, and these change
// nothing when they refuse.
var getWrites = map[string][]string{
	// The owner's view of their order (or its receipt) is evidence in a
	// card dispute.
	"GET /orders/{id}":         {"customer_activity"},
	"GET /orders/{id}/receipt": {"customer_activity"},
	// Downloads are counted (the limit) and audited.
	"GET /orders/{id}/lines/{line}/download": {"download_events", "audit_log"},
	// Every export of personal data is audited.
	"GET /account/export":              {"audit_log"},
	"GET /api/v1/me/export":            {"audit_log"},
	"GET /admin/customers/{id}/export": {"audit_log"},
}

// outsideTables are the routes registered on the mux beside the route
// tables, and why they need no permission of the tables'.
var outsideTables = map[string]string{
	"GET /static/":                 "stylesheets, scripts and images, the same for everyone",
	"POST /api/v1/webhooks/stripe": "Stripe's events, refused unless signed (cards on only)",
	"GET /healthz":                 "the process is up: nothing of anyone's",
	"GET /readyz":                  "the database answers: nothing of anyone's",
	"GET /metrics":                 "counters only, for its own token or loopback (metricsAccess)",
	"/api/":                        "the API's 404 for any other path",
	"/":                            "the pages' 404 for any other path",
}

// The disabled staff: their session and API token were made before an
// admin disabled them, and now open nothing an anonymous visitor's would
// not.
const (
	disabledAgent = "disabled agent"
	disabledAdmin = "disabled admin"
)

// pathParam is a parameter of a route's path ({$} is none).
var pathParam = regexp.MustCompile(`\{[a-z]+\}`)

func disabled(visitor string) bool { return visitor == disabledAgent || visitor == disabledAdmin }

// guest is a visitor without an account who wrote to the desk: their
// browser holds the Contact form's cookie of their ticket, and their
// ticket link (a path of its own, in the fixtures); elsewhere they are
// anonymous.
const guest = "guest"

// expected is the outcome the route's permission and fixture imply.
func expected(perm string, f authzFixture, visitor string) outcome {
	if disabled(visitor) || visitor == guest {
		visitor = anon
	}
	if o, ok := f.except[visitor]; ok {
		return o
	}
	if perm == "anyone" {
		return allowed
	}
	if visitor == anon {
		return toSignIn
	}
	staff := visitor == agent || visitor == admin
	switch perm {
	case "signed-in":
		switch {
		case !f.owned || visitor == custA:
			return allowed
		case staff && f.staff != "":
			return f.staff
		}
		return notFound
	case "staff":
		if staff {
			return allowed
		}
		return notFound
	case "admin":
		if visitor == admin {
			return allowed
		}
		return notFound
	case "customer":
		if staff {
			return notFound
		}
		return allowed
	}
	panic("unknown permission " + perm)
}

func classify(api bool, r apptest.Response) (outcome, bool) {
	switch {
	case r.Status >= 500:
		return "", false
	case r.Status == http.StatusNotFound:
		return notFound, true
	case r.Status == http.StatusForbidden:
		return forbidden, true
	case !api && r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location, "/signin?next="):
		return toSignIn, true
	case api && r.Status == http.StatusUnauthorized && strings.Contains(r.Body, `"code":"unauthorized"`):
		return toSignIn, true
	}
	return allowed, true
}

func TestAuthorizationMatrix(t *testing.T) {
	h := apptest.Start(t)
	users := authzUsers(t, h)
	o := authzSetup(t, h, users)

	sessions := map[string]string{}
	bearers := map[string]http.Header{}
	for who, u := range users {
		sessions[who] = newSession(t, h, u.ID)
		bearers[who] = h.Bearer(t, u.ID)
	}
	c := h.NewClient(t)
	for _, v := range []struct{ who, role, email string }{
		{disabledAgent, account.RoleAgent, "left@shop.test"}, {disabledAdmin, account.RoleAdmin, "old-boss@shop.test"},
	} {
		u, _ := h.User(t, v.role, v.email)
		users[v.who] = u
		sessions[v.who], bearers[v.who] = newSession(t, h, u.ID), h.Bearer(t, u.ID)
		if r := c.Send(http.MethodPost, "/admin/staff/"+u.ID+"/disable", "application/x-www-form-urlencoded", nil,
			http.Header{"Cookie": {"comptoir_session=" + sessions[admin]}, "Sec-Fetch-Site": {"same-origin"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("disable %s: %d", v.email, r.Status)
		}
	}
	all := append(slices.Clone(visitors), disabledAgent, disabledAdmin, guest)
	fixtures := authzFixtures(o)
	pages, api := h.App.Web.Routes()
	seen := map[string]bool{}
	sr := newStateReader(t, h.App.DB)
	// last is the state after the last request when it changed nothing;
	// after a change, what the change started in the background (the
	// numbering of an invoice it issued) is finished first.
	var last dbState
	send := func(method, path, ctype string, body io.Reader, header http.Header) (apptest.Response, map[string][]string) {
		before := last
		if before == nil {
			if _, err := h.App.Invoices.NumberPending(context.Background()); err != nil {
				t.Fatal(err)
			}
			before = sr.current(t)
		}
		r := c.Send(method, path, ctype, body, header)
		last = sr.current(t)
		ch := before.changes(last)
		if len(ch) > 0 {
			last = nil
		}
		return r, ch
	}
	check := func(isAPI bool, pattern, perm string) {
		seen[pattern] = true
		f, ok := fixtures[pattern]
		if !ok {
			t.Errorf("route %q (%s) has no line in authzFixtures: say how to request it and who may", pattern, perm)
			return
		}
		method, _, _ := strings.Cut(pattern, " ")
		if pathParam.MatchString(pattern) && perm != "staff" && perm != "admin" && !f.owned && f.unowned == "" {
			t.Errorf("route %q (%s) names an object in its path: say whose it is in authzFixtures (owned, or unowned and why)", pattern, perm)
		}
		for _, who := range all {
			header := http.Header{}
			if isAPI {
				if who != anon && who != guest {
					header = bearers[who].Clone()
				}
				if f.throwaway && (who == custA || who == custB) {
					last = nil
					u, err := h.App.Accounts.CreateUser(context.Background(), account.CreateUserInput{Email: "throwaway-" + strings.ReplaceAll(who, " ", "") + "@example.fr",
						Role: account.RoleCustomer, Password: apptest.Password, Language: "fr", Country: "FR", City: "Lyon"})
					if err != nil {
						t.Fatal(err)
					}
					header = h.Bearer(t, u.ID)
				}
			} else {
				if who == guest {
					header.Set("Cookie", "comptoir_contact_sent="+o.guestCookie)
				} else if who != anon {
					s := sessions[who]
					if f.fresh && !disabled(who) {
						last = nil
						s = newSession(t, h, users[who].ID)
					}
					header.Set("Cookie", "comptoir_session="+s)
				}
				if method == http.MethodPost {
					header.Set("Origin", h.URL)
					header.Set("Sec-Fetch-Site", "same-origin")
				}
			}
			var body io.Reader
			ctype := ""
			switch {
			case method != http.MethodPost:
			case f.multipart:
				fields, _ := url.ParseQuery(f.body)
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				for k, vs := range fields {
					for _, v := range vs {
						mw.WriteField(k, v)
					}
				}
				fw, _ := mw.CreateFormFile("files", "note.txt")
				fw.Write([]byte("more details"))
				mw.Close()
				body, ctype = &buf, mw.FormDataContentType()
			case isAPI:
				b := f.body
				if b == "" {
					b = "{}"
				}
				body, ctype = strings.NewReader(b), "application/json"
			default:
				body, ctype = strings.NewReader(f.body), "application/x-www-form-urlencoded"
			}
			r, ch := send(method, f.path, ctype, body, header)
			got, ok := classify(isAPI, r)
			want := expected(perm, f, who)
			if !ok {
				t.Errorf("%s as %s (%s): server error %d: %.300s", pattern, who, f.path, r.Status, r.Body)
				continue
			}
			// Reading what one may read works outright.
			if got == allowed && want == allowed && method == http.MethodGet && r.Status >= 400 {
				t.Errorf("%s as %s (%s): %d, want a page or a redirect", pattern, who, f.path, r.Status)
			}
			if got != want {
				t.Errorf("%s (%s) as %s: %s (%d %s), want %s", pattern, perm, who, got, r.Status, r.Location, want)
			}
			// A refusal reveals nothing of customer A.
			if got != allowed && who != custA && strings.Contains(r.Body, users[custA].Email) {
				t.Errorf("%s as %s: the refusal shows customer A's details", pattern, who)
			}
			// A refusal, a refused form and a GET change nothing (but
			// what getWrites says a GET records when it answers).
			switch {
			case len(ch) == 0:
			case got != allowed || r.Status >= 400:
				t.Errorf("%s as %s: refused (%d) but the database changed:%s", pattern, who, r.Status, describe(ch))
			case method == http.MethodGet || method == http.MethodOptions:
				for _, table := range tablesOf(ch) {
					if !slices.Contains(getWrites[pattern], table) {
						t.Errorf("%s as %s: a GET changed %s (getWrites says what a GET may record):%s", pattern, who, table, describe(ch))
					}
				}
			}
		}
		// The console and admin pages with an API token rather than a
		// session: a customer's, an agent's on admin pages, a disabled
		// agent's, are refused as their sessions are.
		if !isAPI && (perm == "staff" || perm == "admin") {
			for _, who := range []string{custB, agent, disabledAgent} {
				header := bearers[who].Clone()
				header.Set("Sec-Fetch-Site", "same-origin")
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader(f.body)
				}
				r, ch := send(method, f.path, "application/x-www-form-urlencoded", body, header)
				got, ok := classify(false, r)
				if want := expected(perm, f, who); want != allowed && (!ok || got != want || len(ch) > 0) {
					t.Errorf("%s with the API token of %s: %d %s, want %s, nothing changed:%s", pattern, who, r.Status, got, want, describe(ch))
				}
			}
		}
		// A path pairing A's object with a part of another's: whoever
		// passes the route's permission gets 404.
		for _, p := range f.mismatched {
			for _, who := range all {
				header := http.Header{}
				if who == guest {
					header.Set("Cookie", "comptoir_contact_sent="+o.guestCookie)
				} else if who != anon {
					header.Set("Cookie", "comptoir_session="+sessions[who])
				}
				r, ch := send(method, p, "", nil, header)
				got, ok := classify(false, r)
				want := expected(perm, f, who)
				if want == allowed {
					want = notFound
				}
				if !ok || got != want {
					t.Errorf("%s as %s (%s): %d %s, want %s", pattern, who, p, r.Status, got, want)
				}
				if len(ch) > 0 {
					t.Errorf("%s as %s (%s): %d, but the database changed:%s", pattern, who, p, r.Status, describe(ch))
				}
			}
		}
		// From another site's page, with the session of a visitor the
		// route lets in: refused, nothing changed. (A GET needs no such
		// check: it changes nothing, as checked above.)
		if method == http.MethodGet || method == http.MethodOptions {
			return
		}
		who := custA // when nobody is let in (a route absent in this store)
		for _, v := range []string{custA, admin, agent, anon} {
			if expected(perm, f, v) == allowed {
				who = v
				break
			}
		}
		for _, site := range []http.Header{
			{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}},
			{"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://shop.evil.example"}},
			{"Origin": {"https://evil.example"}}, // an older browser: no Sec-Fetch-Site
		} {
			header := site.Clone()
			if who != anon {
				header.Set("Cookie", "comptoir_session="+sessions[who])
			}
			r, ch := send(method, f.path, "application/x-www-form-urlencoded", strings.NewReader(f.body), header)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s from another site (%v) as %s: %d, want 403", pattern, site, who, r.Status)
			}
			if len(ch) > 0 {
				t.Errorf("%s from another site (%v) as %s: %d, but the database changed:%s", pattern, site, who, r.Status, describe(ch))
			}
		}
	}
	for _, r := range pages {
		check(false, r.Pattern, r.Perm)
	}
	for _, r := range api {
		check(true, r.Pattern, r.Perm)
	}
	for pattern := range fixtures {
		if !seen[pattern] {
			t.Errorf("authzFixtures has %q, which is no longer a route", pattern)
		}
	}
	// A route registered on the mux outside the route tables has no
	// permission of theirs: each must be known here.
	for _, pattern := range h.App.Web.Patterns() {
		if _, ok := fixtures[pattern]; !ok && outsideTables[pattern] == "" {
			t.Errorf("route %q is registered outside the route tables: put it in a table with its permission, or in outsideTables with why it needs none", pattern)
		}
	}
	if len(pages) < 50 || len(api) < 15 {
		t.Fatalf("route tables look empty: %d pages, %d api", len(pages), len(api))
	}
}

// newSession signs the user in without the sign-in form (whose rate limit
// the matrix would exhaust) and returns the session cookie's value.
func newSession(t *testing.T, h *apptest.Harness, userID string) string {
	t.Helper()
	token, _, err := h.App.Accounts.CreateSession(context.Background(), userID, "127.0.0.1", "authz test")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// authzSetup makes customer A's objects the matrix requests: an order of a
// service (partly delivered), an order of a file with its download, a
// claim with an evidence file, a support ticket, a subscription, a spare
// session and token, a survey and a password reset link; and the products
// the admin pages edit.
// authzUsers makes the matrix's users: two customers, an agent and an
// admin, keyed by who they are in the fixture table.
func authzUsers(t *testing.T, h *apptest.Harness) map[string]account.User {
	users := map[string]account.User{}
	for _, v := range []struct{ who, role, email string }{
		{custA, account.RoleCustomer, "ana@example.fr"}, {custB, account.RoleCustomer, "ben@example.fr"},
		{agent, account.RoleAgent, "agent@shop.test"}, {admin, account.RoleAdmin, "admin@shop.test"},
	} {
		u, _ := h.User(t, v.role, v.email)
		users[v.who] = u
	}
	return users
}

func authzSetup(t *testing.T, h *apptest.Harness, users map[string]account.User) authzObjects {
	t.Helper()
	ctx := context.Background()
	a := users[custA]
	o := authzObjects{customer: a.ID}
	_, ac := signedInClient(t, h, a)
	_, adminc := signedInClient(t, h, users[admin])
	_, agentc := signedInClient(t, h, users[agent])

	order := buyAndDeliver(t, h, a, 40)
	o.order = order.ID
	invs, err := h.App.Invoices.ListForCustomer(ctx, a.ID, 1)
	if err != nil || len(invs) != 1 {
		t.Fatalf("A's invoice: %v %v", invs, err)
	}
	o.invoice = invs[0].ID
	o.dispute = authzDispute(t, h, a.ID, order.ID)

	// A file product, uploaded by the admin, bought by A.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR",
		"min_quantity": "1", "max_quantity": "1", "download_hours": "48"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "guide.pdf")
	fw.Write([]byte("%PDF-1.4\n% the guide\n"))
	mw.Close()
	if r := adminc.Send(http.MethodPost, "/admin/products", mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("create a file product: %d %s", r.Status, r.Body)
	}
	guide, err := h.App.Catalog.GetBySlug(ctx, "guide")
	if err != nil {
		t.Fatal(err)
	}
	o.product, o.slug = guide.ID, guide.Slug
	fo, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: a.ID, Lines: []orders.LineInput{{ProductID: guide.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil || fo.Status != orders.StatusCompleted {
		t.Fatalf("file order %+v %v", fo, err)
	}
	o.fileOrder, o.fileLine = fo.ID, fo.Lines[0].ID
	spare := newService(t, h, "spare", 100)
	o.archiveProduct = spare.ID

	// A claim with a file.
	auth := h.Bearer(t, a.ID)
	r := postJSON(ac, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.order+`","message":"Not what the page said."}`, auth)
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("file a claim: %d %s", r.Status, r.Body)
	}
	o.claim = cl.ID
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	ct, body := multipartBody(t, "", map[string][]byte{"screenshot.png": png})
	if r := ac.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", ct, body, auth); r.Status != http.StatusOK {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	ev, err := h.App.Claims.Evidence(ctx, cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev {
		if e.Kind == "file" {
			o.evidence = e.ID
		}
	}
	// Another claim of A's, on the file, with a file of its own.
	r = postJSON(ac, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.fileOrder+`","message":"The guide is empty."}`, auth)
	var other struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &other) != nil {
		t.Fatalf("file another claim: %d %s", r.Status, r.Body)
	}
	ct, body = multipartBody(t, "", map[string][]byte{"empty.png": png})
	if r := ac.Send(http.MethodPost, "/api/v1/claims/"+other.ID+"/evidence", ct, body, auth); r.Status != http.StatusOK {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	if ev, err = h.App.Claims.Evidence(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	for _, e := range ev {
		if e.Kind == "file" {
			o.otherEvidence = e.ID
		}
	}
	if o.evidence == "" || o.otherEvidence == "" {
		t.Fatalf("evidence files: %q %q", o.evidence, o.otherEvidence)
	}

	// Two tickets: one stays open, the other is closed for its survey.
	ticketRE := regexp.MustCompile(`/support/tickets/(tkt_[0-9A-Z]+)`)
	for _, msg := range []string{"Where is my order?", "Thanks, all good."} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range map[string]string{"name": "Ana", "email": a.Email, "topic": "order", "message": msg} {
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("files", "receipt.png")
		fw.Write(png)
		mw.Close()
		if r := ac.Send(http.MethodPost, "/contact", mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("contact: %d %s", r.Status, r.Body)
		}
	}
	ids := ticketRE.FindAllStringSubmatch(ac.Get("/support/tickets").Body, -1)
	var tickets []string
	for _, m := range ids {
		if !slices.Contains(tickets, m[1]) {
			tickets = append(tickets, m[1])
		}
	}
	if len(tickets) != 2 {
		t.Fatalf("tickets of A: %v", tickets)
	}
	o.ticket = tickets[0]
	attRE := regexp.MustCompile(`/attachments/([^"/]+)"`)
	m := attRE.FindStringSubmatch(ac.Get("/support/tickets/" + o.ticket).Body)
	if m == nil {
		t.Fatal("no attachment link on A's ticket")
	}
	o.attachment = m[1]
	if m = attRE.FindStringSubmatch(ac.Get("/support/tickets/" + tickets[1]).Body); m == nil || m[1] == o.attachment {
		t.Fatalf("attachment of A's other ticket: %v", m)
	}
	o.otherAttachment = m[1]
	// A guest's ticket with a file, reached by the link of its
	// acknowledgement.
	var gbuf bytes.Buffer
	gmw := multipart.NewWriter(&gbuf)
	for k, v := range map[string]string{"name": "Gus", "email": "gus@example.org", "topic": "question", "message": "Do you ship abroad?"} {
		gmw.WriteField(k, v)
	}
	gfw, _ := gmw.CreateFormFile("files", "question.png")
	gfw.Write(png)
	gmw.Close()
	gr := h.NewClient(t).Send(http.MethodPost, "/contact", gmw.FormDataContentType(), &gbuf, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if gr.Status != http.StatusSeeOther {
		t.Fatalf("guest contact: %d %s", gr.Status, gr.Body)
	}
	o.guestToken = guestToken(t, h, "ticket_ack", "gus@example.org")
	// The guest is whoever holds the cookie the form set: it names the
	// ticket, sealed.
	for _, c := range (&http.Response{Header: gr.Header}).Cookies() {
		if c.Name == "comptoir_contact_sent" {
			o.guestCookie = c.Value
		}
	}
	if o.guestCookie == "" {
		t.Fatal("guest contact: no comptoir_contact_sent cookie")
	}
	if m = attRE.FindStringSubmatch(h.NewClient(t).Get("/support/t/" + o.guestToken).Body); m == nil {
		t.Fatal("no attachment link on the guest's ticket")
	}
	o.guestAttachment = m[1]
	canned, err := h.App.Desk.CannedReplies(ctx)
	if err != nil || len(canned) == 0 {
		t.Fatalf("canned replies: %v %v", canned, err)
	}
	o.canned = canned[0].ID
	member, _ := h.User(t, account.RoleAgent, "member@shop.test")
	o.staffMember = member.ID
	agentc.PostForm("/console/tickets/"+tickets[1], url.Values{"action": {"reply"}, "text": {"Glad to hear it."}})
	if r := agentc.PostForm("/console/tickets/"+tickets[1], url.Values{"action": {"close"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("close: %d", r.Status)
	}
	o.surveyToken = linkToken(t, h, "ticket_survey", "/survey/")

	// A subscription.
	plan := newPlan(t, h, "pro", 990, 0)
	r = ac.PostForm("/subscriptions", url.Values{"plan_id": {plan.ID}, "payment": {"balance"}, "accept_policy": {"default@1"},
		"immediate_performance": {"yes"}, "withdrawal_waiver": {"yes"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/subscriptions/sub_") {
		t.Fatalf("subscribe: %d %q", r.Status, r.Location)
	}
	o.sub = strings.TrimPrefix(r.Location, "/subscriptions/")

	// A spare session and token, and a password reset link.
	_, sess, err := h.App.Accounts.CreateSession(ctx, a.ID, "192.0.2.9", "other browser")
	if err != nil {
		t.Fatal(err)
	}
	o.session = sess.ID
	_, tok, err := h.App.Accounts.CreateToken(ctx, a.ID, "spare")
	if err != nil {
		t.Fatal(err)
	}
	o.token = tok.ID
	if err := h.App.Accounts.RequestPasswordReset(ctx, a.Email, "en"); err != nil {
		t.Fatal(err)
	}
	h.Mails(t, "password_reset", 1)
	o.resetToken = linkToken(t, h, "password_reset", "/reset/")
	return o
}

func signedInClient(t *testing.T, h *apptest.Harness, u account.User) (account.User, *apptest.Client) {
	t.Helper()
	c := h.NewClient(t)
	jarURL, _ := url.Parse(h.URL)
	c.Jar.SetCookies(jarURL, []*http.Cookie{{Name: "comptoir_session", Value: newSession(t, h, u.ID), Path: "/"}})
	return u, c
}

// linkToken is the token of the last link to prefix in a mail of the kind.
func linkToken(t *testing.T, h *apptest.Harness, kind, prefix string) string {
	t.Helper()
	msgs, err := h.App.Outbox.List(context.Background(), mail.Filter{Kind: kind})
	if err != nil || len(msgs) == 0 {
		t.Fatalf("%s mails: %d %v", kind, len(msgs), err)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `([A-Za-z0-9_-]+)`).FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		t.Fatalf("no %s link in %q", prefix, msgs[len(msgs)-1].Text)
	}
	return m[1]
}

// authzDispute opens a card dispute case on A's order. Card payments are
// off in the matrix's store, so the payment row is written as the card
// service would have, and the case as Stripe's webhook would open it.
func authzDispute(t *testing.T, h *apptest.Harness, customerID, orderID string) string {
	t.Helper()
	ctx := context.Background()
	now := h.Clock.Now()
	p := cardpay.Payment{ID: id.New("pay"), Purpose: cardpay.PurposeOrder, ReferenceID: orderID, CustomerID: customerID,
		Amount: money.MustNew(1000, "EUR"), Status: cardpay.StatusSucceeded}
	err := h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_payments (id, purpose, reference_id, customer_id, amount, currency, status,
			payment_intent_id, created_at, updated_at) VALUES ($1, 'order', $2, $3, 1000, 'EUR', 'succeeded', $4, $5, $5)`,
			p.ID, orderID, customerID, "pi_authz_"+p.ID, now); err != nil {
			return err
		}
		_, _, _, err := h.App.Disputes.DisputeEventTx(ctx, tx, p, cardpay.Dispute{StripeID: "dp_authz", Event: "created",
			Amount: p.Amount, Reason: "fraudulent", StripeStatus: "needs_response"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := h.App.Disputes.ForReference(ctx, orderID)
	if err != nil || len(cases) != 1 {
		t.Fatalf("A's dispute: %v %v", cases, err)
	}
	return cases[0].ID
}
