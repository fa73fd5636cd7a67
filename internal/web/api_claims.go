package web

import (
	"context"
	"database/sql"
	"errors"
	"mime/multipart"
	"net/http"
	"slices"
	"time"

	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

type claimJSON struct {
	ID             string          `json:"id"`
	Kind           policy.Kind     `json:"kind"`
	Status         string          `json:"status"`
	OrderID        string          `json:"order_id,omitempty"`
	LineID         string          `json:"line_id,omitempty"`
	SubscriptionID string          `json:"subscription_id,omitempty"`
	FiledAt        time.Time       `json:"filed_at"`
	Decision       policy.Decision `json:"decision"`
	// AnswerDueAt is the promised first answer time while the claim waits
	// for an agent (POLICY.md "Customer service promise").
	AnswerDueAt *time.Time `json:"answer_due_at,omitempty"`
	// AnswerTargetAt is when it is aimed for: both clocks are visible on
	// every claim, as its pages show them.
	AnswerTargetAt *time.Time `json:"answer_target_at,omitempty"`
}

func toClaimJSON(c claims.Claim) claimJSON {
	j := claimJSON{ID: c.ID, Kind: c.Kind, Status: c.Status, OrderID: c.OrderID, LineID: c.LineID,
		SubscriptionID: c.SubscriptionID, FiledAt: c.FiledAt, Decision: c.Decision}
	if c.Waiting() {
		due, target := c.AnswerPromiseAt, c.AnswerTargetAt
		j.AnswerDueAt, j.AnswerTargetAt = &due, &target
	}
	return j
}

func (s *Server) apiClaimError(w http.ResponseWriter, r *http.Request, err error) {
	code := claims.Code(err)
	status := claimErrorStatus(code)
	if status >= 500 && code != "card_refund_unavailable" && code != "subscriptions_unavailable" && code != "busy" {
		s.serverError(w, r, err)
		return
	}
	// Which fields are wrong, as orders and sign-up say it: "invalid"
	// alone left a script guessing.
	var verr *claims.ValidationError
	if errors.As(err, &verr) {
		writeFieldErrors(w, status, code, s.Messages.T(state(r).lang, "claim.error."+code), verr.Fields)
		return
	}
	writeError(w, status, code, s.Messages.T(state(r).lang, claimErrorKey(err)))
}

type fileClaimJSON struct {
	Kind            policy.Kind   `json:"kind"`
	OrderID         string        `json:"order_id"`
	SubscriptionID  string        `json:"subscription_id"`
	LineID          string        `json:"line_id"`
	Message         string        `json:"message"`
	Choice          policy.Cancel `json:"choice"`
	RefundRequested *bool         `json:"refund_requested"`
	SourceMessageID string        `json:"source_message_id"`
	// CustomerID and FiledAt: an agent filing for a customer from their
	// message.
	CustomerID string  `json:"customer_id"`
	FiledAt    apiTime `json:"filed_at"`
}

// apiFileClaim is POST /api/v1/claims: the decision is the one policy eval
// gives on the same facts.
//
// Filing may refund at once, so it honours Idempotency-Key: a retry gets the
// first answer instead of a second claim.
func (s *Server) apiFileClaim(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in fileClaimJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	keyed, ok := s.keyedLookup(w, r, st.user.ID, body)
	if !ok {
		return
	}
	fi := claims.FileInput{
		Kind: in.Kind, CustomerID: st.user.ID, OrderID: in.OrderID, LineID: in.LineID, SubscriptionID: in.SubscriptionID,
		Message: in.Message, Choice: in.Choice, RefundRequested: in.RefundRequested, Actor: st.user.Actor(),
		Lang: st.lang, // the customer's, who writes through the API in it
	}
	if st.user.IsStaff() {
		// An agent's words for the customer: in a language nobody says,
		// unless they are the customer's message's (fromSourceMessage).
		fi.Lang = ""
		fi.CustomerID, fi.FiledAt, fi.SourceMessageID = in.CustomerID, in.FiledAt.Time, in.SourceMessageID
		if in.SourceMessageID != "" && !s.fromSourceMessage(w, r, &fi) {
			return
		}
	}
	fi.Then = func(ctx context.Context, tx *sql.Tx, c claims.Claim) error {
		return keyed.saveTx(ctx, tx, http.StatusCreated, toClaimJSON(c))
	}
	c, err := s.Claims.File(r.Context(), fi)
	out, err := keyed.recover(r.Context(), err)
	if s.writeKeyed(w, r, out, err) {
		return
	}
	if claims.Code(err) == "not_found" {
		// What was not found is what the claim is about, not a claim.
		key := "claim.error.order_not_found"
		if in.SubscriptionID != "" {
			key = "subscription.error.not_found"
		}
		writeError(w, http.StatusNotFound, "not_found", s.Messages.T(st.lang, key))
		return
	}
	if err != nil {
		s.apiClaimError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toClaimJSON(c))
}

// fromSourceMessage completes an agent's filing from the customer's message
// it comes from, as the console does: the message sets filed_at (API.md),
// so the agent's delay never costs the customer their window, and names
// the customer; its text is the claim's message unless the agent wrote
// one. A filed_at or customer_id that says otherwise is refused. It answers
// the client itself and returns false on failure.
func (s *Server) fromSourceMessage(w http.ResponseWriter, r *http.Request, fi *claims.FileInput) bool {
	var t desk.Ticket
	var m desk.Message
	err := desk.ErrNotFound // an id holding NUL or invalid UTF-8 names nothing, and PostgreSQL cannot compare it
	if db.ValidText(fi.SourceMessageID) {
		t, m, err = s.Desk.CustomerMessage(r.Context(), fi.SourceMessageID)
	}
	fields := map[string]string{}
	switch {
	case errors.Is(err, desk.ErrNotFound):
		fields["source_message_id"] = "unknown"
	case err != nil:
		s.serverError(w, r, err)
		return false
	case fi.CustomerID != "" && fi.CustomerID != t.CustomerID:
		fields["customer_id"] = "not_the_author"
	case !fi.FiledAt.IsZero() && !fi.FiledAt.Equal(m.CreatedAt):
		fields["filed_at"] = "set_by_source_message"
	}
	if len(fields) > 0 {
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(state(r).lang, "claim.error.invalid"), fields)
		return false
	}
	fi.CustomerID, fi.FiledAt = t.CustomerID, m.CreatedAt
	if fi.Message == "" {
		fi.Message, fi.Lang = m.Text, m.Lang
	}
	return true
}

func (s *Server) apiClaims(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	f := claims.ListFilter{After: r.URL.Query().Get("after"), Status: r.URL.Query().Get("status")}
	if !u.IsStaff() {
		f.CustomerID = u.ID
	}
	page, next, err := s.Claims.List(r.Context(), f)
	if err != nil {
		s.listFailed(w, r, err)
		return
	}
	items := make([]claimJSON, len(page))
	for i, c := range page {
		items[i] = toClaimJSON(c)
	}
	writeJSON(w, http.StatusOK, listJSON(items, next))
}

func (s *Server) apiClaim(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	var c claims.Claim
	var err error
	if u.IsStaff() {
		c, err = s.Claims.Get(r.Context(), r.PathValue("id"))
	} else {
		c, err = s.Claims.GetForCustomer(r.Context(), u.ID, r.PathValue("id"))
	}
	if err != nil {
		s.apiClaimError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClaimJSON(c))
}

func (s *Server) apiAddEvidence(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		// Past the upload limit (a body sent without its length, which the
		// limit could not refuse up front): 413, as the page says it.
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", s.Messages.T(state(r).lang, "error.too_large"))
			return
		}
		// As the other reasons after the message (decodeJSON), in
		// English: a client sending JSON, as to every other POST, was
		// told nothing of why.
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request")+
			" (evidence is sent as multipart/form-data, with parts text and files: "+err.Error()+")")
		return
	}
	defer r.MultipartForm.RemoveAll()
	// Parts other than text and files were dropped without a word, so a
	// file sent as "file" vanished while the request "succeeded".
	for _, part := range unknownParts(r.MultipartForm, "text", "files") {
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request")+
			" (unknown field \""+part+"\": evidence takes text and files)")
		return
	}
	in, done := evidenceInputs(r.MultipartForm, state(r).lang)
	defer done()
	c, _, err := s.Claims.AddEvidence(r.Context(), state(r).user.ID, r.PathValue("id"), in)
	if err != nil {
		s.apiClaimError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClaimJSON(c))
}

type decisionJSON struct {
	Outcome                policy.Outcome `json:"outcome"`
	Refund                 *money.Amount  `json:"refund"`
	ReasonCode             string         `json:"reason_code"`
	Note                   string         `json:"note"`
	CustomerAcceptedCredit bool           `json:"customer_accepted_credit"`
	// ProductID and Quantity: what the line is exchanged for (outcome
	// "switch", a dissatisfied claim only).
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// apiDecideClaim is an agent's decision. A claim may be decided again (a
// further partial refund), so a retry of the same decision would refund
// again: the Idempotency-Key makes it get the first answer instead.
func (s *Server) apiDecideClaim(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var in decisionJSON
	if !s.decodeJSONBytes(w, r, body, &in) {
		return
	}
	actor := state(r).user.Actor()
	keyed, ok := s.keyedLookup(w, r, actor.ID, body)
	if !ok {
		return
	}
	var switchTo *claims.SwitchTo
	if in.Outcome == claims.OutcomeSwitch {
		switchTo = &claims.SwitchTo{ProductID: in.ProductID, Quantity: in.Quantity}
	}
	c, err := s.Claims.Decide(r.Context(), claims.AgentDecision{
		ClaimID: r.PathValue("id"), Outcome: in.Outcome, Refund: in.Refund, ReasonCode: in.ReasonCode, Note: in.Note,
		Actor: actor, CustomerAcceptedCredit: in.CustomerAcceptedCredit, Switch: switchTo,
		Then: func(ctx context.Context, tx *sql.Tx, c claims.Claim) error {
			return keyed.saveTx(ctx, tx, http.StatusOK, toClaimJSON(c))
		},
	})
	out, err := keyed.recover(r.Context(), err)
	if s.writeKeyed(w, r, out, err) {
		return
	}
	if err != nil {
		s.apiClaimError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClaimJSON(c))
}

// unknownParts lists, sorted, the parts of a multipart form not named in
// known.
func unknownParts(form *multipart.Form, known ...string) []string {
	var out []string
	for name := range form.Value {
		if !slices.Contains(known, name) {
			out = append(out, name)
		}
	}
	for name := range form.File {
		if !slices.Contains(known, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
