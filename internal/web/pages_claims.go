package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/id"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
	"comptoir/internal/subscriptions"
)

// maxUploadBytes bounds a request carrying evidence files (the claims
// service bounds each file and their number).
const maxUploadBytes = 64 << 20

// claimKindsFromOrder are the claims a customer files from an order page;
// withdrawal has its own button, subscription_cancel its own page.
var claimKindsFromOrder = []policy.Kind{policy.NonDelivery, policy.NotAsDescribed, policy.Dissatisfied}

// claimKindsFromMessage are the order claims an agent files from a
// customer's message: a withdrawal too, which a customer may state in
// any words, by mail or on the contact form (its topic "withdraw from an
// order"), dated from that message (Directive 2011/83/EU art. 11(1)).
var claimKindsFromMessage = []policy.Kind{policy.NonDelivery, policy.NotAsDescribed, policy.Dissatisfied, policy.Withdrawal}

// reason is the decision's sentence in the reader's language.
func reason(d policy.Decision, lang string) string {
	if lang == "fr" {
		return d.Reason.FR
	}
	return d.Reason.EN
}

// claimErrorKey is the message key of a claims error: its code's
// ("claim.error."+code), or a more precise one where one code covers
// several cases (a withdrawal received already is claim_already_decided
// to the API, told as such to the visitor; a switch or store credit
// refused by a dispute is payment_disputed, as a card refund, but says
// what it refused).
func claimErrorKey(err error) string {
	if errors.Is(err, claims.ErrAlreadyWithdrawn) {
		return "claim.error.already_withdrawn"
	}
	if errors.Is(err, claims.ErrSwitchDisputed) {
		return "claim.error.switch_payment_disputed"
	}
	if errors.Is(err, claims.ErrCreditDisputed) {
		return "claim.error.credit_payment_disputed"
	}
	return "claim.error." + claims.Code(err)
}

// claimError turns a claims error into a page message key and status.
func claimErrorStatus(code string) int {
	switch code {
	case "not_found":
		return http.StatusNotFound
	case "forbidden":
		return http.StatusForbidden
	case "claim_already_open", "claim_already_decided", "claim_not_open", "not_decidable", "order_not_paid", "over_refund", "payment_disputed",
		"customer_erased", "account_erased", "customer_erased_reopen", "claim_not_reopened":
		return http.StatusConflict
	case "evidence_too_large":
		return http.StatusRequestEntityTooLarge
	case "evidence_type_forbidden":
		return http.StatusUnsupportedMediaType
	case "card_refund_unavailable", "subscriptions_unavailable", "busy":
		return http.StatusServiceUnavailable
	case "internal", "policy_unknown":
		return http.StatusInternalServerError
	}
	return http.StatusUnprocessableEntity
}

// fileClaim files a claim from an order page.
func (s *Server) fileClaim(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	// The form's key: the claim sent twice (a double click, a reload of
	// its answer) is filed once, and the repeat leads to it rather than
	// saying a claim is already open.
	claimID, err := s.keyedClaimForm(r, st.user.ID, "page:file-claim", "claim_key", func(then func(context.Context, *sql.Tx, claims.Claim) error) (claims.Claim, error) {
		return s.Claims.File(r.Context(), claims.FileInput{
			Kind: policy.Kind(r.PostForm.Get("kind")), CustomerID: st.user.ID, OrderID: r.PathValue("id"),
			LineID: r.PostForm.Get("line_id"), Message: r.PostForm.Get("message"), Lang: st.lang, Actor: st.user.Actor(), Then: then,
		})
	})
	if err != nil {
		s.fileClaimFailed(w, r, err)
		return
	}
	http.Redirect(w, r, "/claims/"+claimID, http.StatusSeeOther)
}

// claimKeyed is what a claim form's key keeps: the claim it filed or
// decided.
type claimKeyed struct {
	ClaimID string `json:"claim_id"`
}

// keyedClaimForm runs a claim form's effect under the form's key (field,
// scoped to caller and route): run files or decides with then as the
// claim's Then hook, which stores the claim's id with the effect. A repeat
// of the form is not run again and answers with the claim the first one
// made, so the handler answers as it did.
func (s *Server) keyedClaimForm(r *http.Request, caller, route, field string,
	run func(then func(ctx context.Context, tx *sql.Tx, c claims.Claim) error) (claims.Claim, error)) (claimID string, err error) {
	keyed, replay := s.formKeyed(r, caller, route, field)
	if replay == nil {
		c, err := run(func(ctx context.Context, tx *sql.Tx, c claims.Claim) error {
			return keyed.saveTx(ctx, tx, http.StatusSeeOther, claimKeyed{ClaimID: c.ID})
		})
		out, rerr := keyed.recover(r.Context(), err)
		if rerr != nil || !out.Replay {
			return c.ID, err
		}
		replay = &out
	}
	var k claimKeyed
	if err := json.Unmarshal(replay.Body, &k); err != nil || k.ClaimID == "" {
		return "", fmt.Errorf("web: the first answer of a claim form: %q %v", replay.Body, err)
	}
	return k.ClaimID, nil
}

// fileClaimFailed shows the order page again, the form as the customer
// left it and the reason above it: an error page would lose what they
// wrote and leave them nowhere.
func (s *Server) fileClaimFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := claims.Code(err)
	status := claimErrorStatus(code)
	if code == "not_found" {
		// What was not found is the order or its line, not a claim: the
		// page said "This claim does not exist".
		s.renderError(w, r, http.StatusNotFound, "claim.error.order_not_found")
		return
	}
	if status >= 500 || code == "forbidden" {
		s.claimFailed(w, r, err)
		return
	}
	v, verr := s.orderView(r, false)
	if errors.Is(verr, orders.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if verr != nil {
		s.serverError(w, r, verr)
		return
	}
	v.Form = r.PostForm
	v.Errors = map[string]string{"claim": s.Messages.T(v.Lang, claimErrorKey(err))}
	if code == "claim_already_open" {
		d := v.Data.(orderData)
		line := r.PostForm.Get("line_id")
		if line == "" && len(d.Order.Lines) == 1 {
			line = d.Order.Lines[0].ID
		}
		for _, c := range d.Claims {
			if c.Status == claims.StatusOpen && string(c.Kind) == r.PostForm.Get("kind") && c.LineID == line {
				d.OpenClaim = c.ID
				break
			}
		}
		v.Data = d
	}
	s.render(w, r, status, "order", v)
}

func (s *Server) claimFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := claims.Code(err)
	status := claimErrorStatus(code)
	if status >= 500 {
		s.serverError(w, r, err)
		return
	}
	s.renderError(w, r, status, claimErrorKey(err))
}

type withdrawData struct {
	Order orders.Order
	// Open: the withdrawal can still be asked for (the form shows); a
	// refusal past the period shows its reason and the way back only.
	Open bool
	// Lines are the lines offered (withdrawLines).
	Lines []orders.Line
}

// withdrawLines are the lines of o the withdrawal form offers: those whose
// right has not ended with their supply (claims.WithdrawalEnded). The form
// offered a licence key received under the waiver beside a service still
// running, and choosing it filed a withdrawal refused at once. When every
// line's right has ended all are offered: the customer may still send
// their notice, and hear why it is refused.
func (s *Server) withdrawLines(ctx context.Context, o orders.Order) ([]orders.Line, error) {
	c, err := s.Orders.ConsentOf(ctx, o.ID)
	if err != nil && !errors.Is(err, orders.ErrNotFound) {
		return nil, err
	}
	cls, _, err := s.Claims.List(ctx, claims.ListFilter{OrderID: o.ID})
	if err != nil {
		return nil, err
	}
	withdrawn := withdrawalsByLine(cls)
	var open []orders.Line
	for _, l := range o.Lines {
		if _, done := withdrawn[l.ID]; !done && !claims.WithdrawalEnded(l, c) {
			open = append(open, l)
		}
	}
	if len(open) == 0 {
		return o.Lines, nil
	}
	return open, nil
}

// withdrawalOpen reports whether the withdrawal button shows to customer u
// on their order o: the right is a consumer's (POLICY.md "The law comes
// first"), so a business customer's order page has none, and it lasts the
// withdrawal period of the policy the order was bought under.
func (s *Server) withdrawalOpen(u *account.User, o orders.Order) bool {
	return u != nil && u.CustomerType != account.CustomerBusiness && s.Claims.WithdrawalOpen(o, s.Clock.Now())
}

// withdrawClosedReason says, in lang, why customer u cannot withdraw from
// o (withdrawalOpen is false).
func (s *Server) withdrawClosedReason(lang string, u *account.User, o orders.Order) string {
	if u.CustomerType == account.CustomerBusiness {
		return s.Messages.T(lang, "claim.withdraw.business")
	}
	why, deadline := s.Claims.WithdrawalClosed(o, s.Clock.Now())
	switch why {
	case claims.WithdrawalNotPaid:
		return s.Messages.T(lang, "claim.error.order_not_paid")
	case claims.WithdrawalRefunded:
		return s.Messages.T(lang, "claim.withdraw.refunded")
	case claims.WithdrawalPeriodOver:
		return s.Messages.TPairs(lang, "claim.withdraw.period_over", "Date", s.Zone.Time(deadline, lang))
	}
	return s.Messages.T(lang, "claim.withdraw.no_right")
}

// withdrawConfirm is the confirm step of the withdrawal button.
func (s *Server) withdrawConfirm(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	o, err := s.Orders.GetForCustomer(r.Context(), u.ID, r.PathValue("id"))
	if errors.Is(err, orders.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !s.withdrawalOpen(u, o) {
		// The page exists, the right does not (any more): say why, with
		// the way back to the order, rather than "page not found" (a page
		// kept open past the period, a bookmark).
		v := s.newView(r, "claim.withdraw.title", withdrawData{Order: o})
		v.Errors = map[string]string{"form": s.withdrawClosedReason(v.Lang, u, o)}
		s.render(w, r, http.StatusOK, "withdraw", v)
		return
	}
	cls, _, err := s.Claims.List(r.Context(), claims.ListFilter{OrderID: o.ID})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if _, ok := withdrawnFromAll(o, cls); ok {
		// Withdrawn already (a page kept open, the browser's back): the
		// order's page says when, and links the withdrawal.
		http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
		return
	}
	lines, err := s.withdrawLines(r.Context(), o)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "claim.withdraw.title", withdrawData{Order: o, Open: true, Lines: lines})
	v.Form.Set("withdraw_key", id.New("wdk"))
	s.render(w, r, http.StatusOK, "withdraw", v)
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	// The form's key: the withdrawal sent twice is one claim, and the
	// repeat leads to it as the first answer did.
	u := state(r).user
	claimID, err := s.keyedClaimForm(r, u.ID, "page:withdraw", "withdraw_key", func(then func(context.Context, *sql.Tx, claims.Claim) error) (claims.Claim, error) {
		return s.Claims.File(r.Context(), claims.FileInput{
			Kind: policy.Withdrawal, CustomerID: u.ID, OrderID: r.PathValue("id"), LineID: r.PostForm.Get("line_id"), Actor: u.Actor(), Then: then,
		})
	})
	if err != nil {
		s.withdrawRefused(w, r, err)
		return
	}
	s.flash(w, "claim.withdraw.received")
	http.Redirect(w, r, "/claims/"+claimID, http.StatusSeeOther)
}

// withdrawRefused answers a refused withdrawal with its confirm page: the
// reason, the line as chosen, the form again while the period lasts, and
// the way back to the order, rather than an error page that leaves the
// order behind.
func (s *Server) withdrawRefused(w http.ResponseWriter, r *http.Request, err error) {
	status := claimErrorStatus(claims.Code(err))
	if status >= 500 {
		s.serverError(w, r, err)
		return
	}
	o, oerr := s.Orders.GetForCustomer(r.Context(), state(r).user.ID, r.PathValue("id"))
	if errors.Is(oerr, orders.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if oerr != nil {
		s.serverError(w, r, oerr)
		return
	}
	lines, lerr := s.withdrawLines(r.Context(), o)
	if lerr != nil {
		s.serverError(w, r, lerr)
		return
	}
	open := s.withdrawalOpen(state(r).user, o)
	if open {
		cls, _, err := s.Claims.List(r.Context(), claims.ListFilter{OrderID: o.ID})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		_, withdrawn := withdrawnFromAll(o, cls)
		open = !withdrawn
	}
	v := s.newView(r, "claim.withdraw.title", withdrawData{Order: o, Open: open, Lines: lines})
	v.Form = r.PostForm
	v.Errors = map[string]string{"form": s.Messages.T(v.Lang, claimErrorKey(err))}
	s.render(w, r, status, "withdraw", v)
}

type claimData struct {
	Claim     claims.Claim
	Reason    string
	Evidence  []claims.Evidence
	Decisions []claims.Decision
	Refunds   []claims.Refund
	Console   bool
	Reasons   []string
	// BusinessHours: the answer clocks count these hours only (the page
	// says so, as ticket pages do); empty for wall-clock hours.
	BusinessHours string
	// Currency is the claimed line's, for the amount of an agent's
	// refund (console, order claims).
	Currency string
	// Context is the customer beside the claim (console): who they are,
	// their orders, subscriptions, balance and other claims.
	Context *customerContext
	// Subject is what the claim is about: the product of its order line,
	// or its subscription's plan (claims.Service.Subjects).
	Subject string
	// CancelUndone: the claim is a subscription's cancellation, and the
	// subscription renews again (the customer undid it).
	CancelUndone bool
	// Switches: what the claimed line was exchanged for (a dissatisfied
	// claim's switch to another product).
	Switches []claims.Switched
	// Products are those an agent may exchange the claimed line for
	// (console, a dissatisfied claim): for sale, in the line's currency,
	// not the line's own.
	Products []catalog.Product
}

func (s *Server) claimView(r *http.Request, console bool) (*view, error) {
	ctx := r.Context()
	var c claims.Claim
	var err error
	if console {
		c, err = s.Claims.Get(ctx, r.PathValue("id"))
	} else {
		c, err = s.Claims.GetForCustomer(ctx, state(r).user.ID, r.PathValue("id"))
	}
	if err != nil {
		return nil, err
	}
	d := &claimData{Claim: c, Console: console, Reasons: policy.AgentReasons}
	if s.Desk != nil {
		d.BusinessHours = s.Desk.BusinessHours()
	}
	if d.Evidence, err = s.Claims.Evidence(ctx, c.ID); err != nil {
		return nil, err
	}
	if d.Refunds, err = s.Claims.Refunds(ctx, c.ID); err != nil {
		return nil, err
	}
	if d.Switches, err = s.Claims.Switches(ctx, c.ID); err != nil {
		return nil, err
	}
	if console {
		if d.Decisions, err = s.Claims.Decisions(ctx, c.ID); err != nil {
			return nil, err
		}
		if d.Currency, err = s.Claims.RefundCurrency(ctx, c); err != nil {
			return nil, err
		}
		if c.Kind == policy.Dissatisfied && c.OrderID != "" {
			if d.Products, err = s.switchProducts(ctx, c); err != nil {
				return nil, err
			}
		}
		d.Context = &customerContext{}
		u, err := s.Accounts.UserByID(ctx, c.CustomerID)
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			if d.Context, err = s.accountContext(ctx, d.Context, u, state(r).lang); err != nil {
				return nil, err
			}
		}
	}
	v := s.newView(r, "", d)
	if console {
		v.Form.Set("decision_key", id.New("dck"))
	} else {
		v.Form.Set("evidence_key", id.New("evk"))
	}
	d.Reason = reason(c.Decision, v.Lang)
	subjects, err := s.Claims.Subjects(ctx, []claims.Claim{c}, v.Lang)
	if err != nil {
		return nil, err
	}
	d.Subject = subjects[c.ID]
	if c.Kind == policy.SubscriptionCancel && c.SubscriptionID != "" {
		// The decision still reads "your subscription is canceled: it
		// ends on …" once the customer kept it after all.
		sub, err := s.Subscriptions.Get(ctx, c.SubscriptionID)
		if err != nil && !errors.Is(err, subscriptions.ErrNotFound) {
			return nil, err
		}
		d.CancelUndone = err == nil && sub.Renews()
	}
	v.Title = s.Messages.T(v.Lang, "claim.title", map[string]any{"Kind": s.Messages.T(v.Lang, "claim.kind."+string(c.Kind))})
	return v, nil
}

func (s *Server) showClaim(w http.ResponseWriter, r *http.Request, console bool) {
	v, err := s.claimView(r, console)
	if errors.Is(err, claims.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "claim", v)
}

func (s *Server) claimPage(w http.ResponseWriter, r *http.Request)    { s.showClaim(w, r, false) }
func (s *Server) consoleClaim(w http.ResponseWriter, r *http.Request) { s.showClaim(w, r, true) }

type claimsData struct {
	Claims []claims.Claim
	// Subjects name what each claim is about, by claim id.
	Subjects map[string]string
	Next     string
	// NextFrom is the console's next page (it lists by promise: a
	// position, see claims.PromiseCursor).
	NextFrom string
	Status   string
}

func (s *Server) myClaims(w http.ResponseWriter, r *http.Request) {
	page, next, err := s.Claims.List(r.Context(), claims.ListFilter{CustomerID: state(r).user.ID, After: r.URL.Query().Get("after")})
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	subjects, err := s.Claims.Subjects(r.Context(), page, state(r).lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "claims", s.newView(r, "claims.title", claimsData{Claims: page, Subjects: subjects, Next: next}))
}

func (s *Server) consoleClaims(w http.ResponseWriter, r *http.Request) {
	// Claims waiting for an agent first, nearest promised answer first.
	f := claims.ListFilter{Status: r.URL.Query().Get("status"), ByPromise: true}
	if f.Status == "" {
		f.Status = claims.StatusOpen
	}
	// ?from= is a position this list gave (claims.PromiseCursor); anything
	// else is refused (listFailed) rather than read as the first page.
	f.After = r.URL.Query().Get("from")
	page, next, err := s.Claims.List(r.Context(), f)
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	subjects, err := s.Claims.Subjects(r.Context(), page, state(r).lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "console.claims.title", claimsData{Claims: page, Subjects: subjects, NextFrom: next, Status: f.Status})
	s.render(w, r, http.StatusOK, "console_claims", v)
}

// evidenceInputs reads the text and files of a multipart evidence form.
func evidenceInputs(form *multipart.Form, lang string) ([]claims.EvidenceInput, func()) {
	var in []claims.EvidenceInput
	var opened []io.Closer
	if t := strings.TrimSpace(strings.Join(form.Value["text"], "\n")); t != "" {
		in = append(in, claims.EvidenceInput{Text: t, Lang: lang})
	}
	for _, fh := range form.File["files"] {
		f, err := fh.Open()
		if err != nil {
			continue
		}
		opened = append(opened, f)
		in = append(in, claims.EvidenceInput{Name: fh.Filename, File: f})
	}
	return in, func() {
		for _, c := range opened {
			c.Close()
		}
	}
}

func (s *Server) addEvidence(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		s.badForm(w, r, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	in, done := evidenceInputs(r.MultipartForm, state(r).lang)
	defer done()
	// The form's key: evidence sent twice (a double click, a reload of the
	// answer) is added once; the repeat answers as the first did.
	u := state(r).user
	_, err := s.keyedClaimForm(r, u.ID, "page:claim-evidence", "evidence_key", func(then func(context.Context, *sql.Tx, claims.Claim) error) (claims.Claim, error) {
		c, _, err := s.Claims.AddEvidenceThen(r.Context(), u.ID, r.PathValue("id"), in, then)
		return c, err
	})
	if err != nil {
		code := claims.Code(err)
		if code == "not_found" {
			s.notFound(w, r)
			return
		}
		if claimErrorStatus(code) >= 500 {
			s.serverError(w, r, err)
			return
		}
		v, verr := s.claimView(r, false)
		if verr != nil {
			s.serverError(w, r, verr)
			return
		}
		if text := r.MultipartForm.Value["text"]; len(text) > 0 {
			v.Form.Set("text", text[0])
		}
		v.Errors = map[string]string{"evidence": s.Messages.T(v.Lang, "claim.error."+code)}
		s.render(w, r, claimErrorStatus(code), "claim", v)
		return
	}
	s.flash(w, "claim.evidence_added")
	http.Redirect(w, r, "/claims/"+r.PathValue("id"), http.StatusSeeOther)
}

// evidenceFile serves a file of a claim to its owner or to staff, always as
// a download with the type detected at upload, never rendered as a page.
func (s *Server) evidenceFile(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	ctx := r.Context()
	var err error
	if st.user.IsStaff() {
		_, err = s.Claims.Get(ctx, r.PathValue("id"))
	} else {
		_, err = s.Claims.GetForCustomer(ctx, st.user.ID, r.PathValue("id"))
	}
	if err == nil {
		var rc io.ReadCloser
		var meta claims.Evidence
		rc, meta, err = s.Claims.OpenEvidence(ctx, r.PathValue("id"), r.PathValue("eid"))
		if err == nil {
			defer rc.Close()
			w.Header().Set("Content-Type", meta.ContentType)
			w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(meta.FileName, `"`, "")+`"`)
			w.Header().Set("Cache-Control", "private, no-store")
			io.Copy(w, rc)
			return
		}
	}
	if errors.Is(err, claims.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	s.serverError(w, r, err)
}

// switchProducts are the products the claimed line may be exchanged for
// (claims.SwitchableTo).
func (s *Server) switchProducts(ctx context.Context, c claims.Claim) ([]catalog.Product, error) {
	o, err := s.Orders.Get(ctx, c.OrderID)
	if err != nil {
		return nil, err
	}
	line, _ := o.Line(c.LineID)
	page, _, err := s.Catalog.List(ctx, catalog.ListFilter{Limit: catalog.MaxListLimit})
	if err != nil {
		return nil, err
	}
	var out []catalog.Product
	for _, p := range page {
		if claims.SwitchableTo(line, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// consoleDecide records an agent's decision on a claim.
func (s *Server) consoleDecide(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	f := r.PostForm
	in := claims.AgentDecision{
		ClaimID: r.PathValue("id"), Outcome: policy.Outcome(f.Get("outcome")), ReasonCode: f.Get("reason_code"),
		Note: f.Get("note"), Actor: state(r).user.Actor(), CustomerAcceptedCredit: f.Get("credit_accepted") == "yes",
	}
	if in.Outcome == claims.OutcomeSwitch {
		in.Switch = &claims.SwitchTo{ProductID: f.Get("product_id")}
		if q := strings.TrimSpace(f.Get("quantity")); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 {
				n = -1 // refused as out of range
			}
			in.Switch.Quantity = n
		}
	}
	// A refusal shows the claim again with the form as the agent left it
	// and the reason, by its field when it has one.
	refuseAll := func(status int, keys map[string]string) {
		v, err := s.claimView(r, true)
		if errors.Is(err, claims.ErrNotFound) {
			s.notFound(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Form = f
		v.Errors = map[string]string{}
		for field, key := range keys {
			v.Errors[field] = s.Messages.T(v.Lang, key)
		}
		s.render(w, r, status, "claim", v)
	}
	refuse := func(status int, field, key string) { refuseAll(status, map[string]string{field: key}) }
	if amount := strings.TrimSpace(f.Get("amount")); amount != "" {
		// The amount is in the claimed line's currency, read here rather
		// than from the form: the form said EUR whatever the order's
		// currency, and an order in another one could not be refunded.
		c, err := s.Claims.Get(r.Context(), in.ClaimID)
		if errors.Is(err, claims.ErrNotFound) {
			s.notFound(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		currency, err := s.Claims.RefundCurrency(r.Context(), c)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		a, err := money.Parse(amount, currency)
		if err != nil {
			refuse(http.StatusUnprocessableEntity, "amount", "claim.error.amount_invalid")
			return
		}
		in.Refund = &a
	}
	// The form's key: a decision sent twice (a double click, a reload of
	// its answer) is taken once. A claim may be decided again, so without
	// it each send was another decision, and a refund another refund.
	_, err := s.keyedClaimForm(r, in.Actor.ID, "page:claim-decision", "decision_key", func(then func(context.Context, *sql.Tx, claims.Claim) error) (claims.Claim, error) {
		in.Then = then
		return s.Claims.Decide(r.Context(), in)
	})
	if err != nil {
		code := claims.Code(err)
		if code == "not_found" {
			s.notFound(w, r)
			return
		}
		if claimErrorStatus(code) >= 500 {
			s.serverError(w, r, err)
			return
		}
		var verr *claims.ValidationError
		if errors.As(err, &verr) {
			refuseAll(http.StatusUnprocessableEntity, decisionFieldKeys(verr))
			return
		}
		refuse(claimErrorStatus(code), "decide", claimErrorKey(err))
		return
	}
	s.flash(w, "claim.decided")
	http.Redirect(w, r, "/console/claims/"+r.PathValue("id"), http.StatusSeeOther)
}

// decisionFieldKeys says, by the decision form's field, what is wrong with
// an agent's decision: a refusal without its reason, or a refund without
// its amount, said only "Some details of the claim are not valid", above
// the form. What has no field of its own stays there (decide).
func decisionFieldKeys(verr *claims.ValidationError) map[string]string {
	out := map[string]string{}
	for field, code := range verr.Fields {
		switch {
		case field == "outcome" && code == "not_redeliverable":
			out["outcome"] = "claim.error.not_redeliverable"
		case field == "outcome" && code == "not_switchable":
			out["outcome"] = "claim.error.not_switchable"
		case field == "product_id" && code == "same_product":
			out["product_id"] = "claim.error.switch_product_same_product"
		case field == "product_id" && code == "unavailable":
			out["product_id"] = "claim.error.switch_product_unavailable"
		case field == "product_id" && code == "other_currency":
			out["product_id"] = "claim.error.switch_product_other_currency"
		case field == "product_id":
			out["product_id"] = "claim.error.switch_product_required"
		case field == "quantity":
			out["quantity"] = "claim.error.switch_quantity"
		case field == "outcome":
			out["outcome"] = "claim.error.invalid"
		case field == "reason_code":
			out["reason_code"] = "claim.error.reason_required"
		case strings.HasPrefix(field, "refund") && code == "not_applicable":
			out["amount"] = "claim.error.amount_not_applicable"
		case strings.HasPrefix(field, "refund") && code != "not_full":
			out["amount"] = "claim.error.amount_invalid"
		case field == "note" && code == "too_long":
			out["note"] = "claim.error.note_too_long"
		default:
			out["decide"] = "claim.error.invalid"
		}
	}
	return out
}
