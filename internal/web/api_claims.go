package web

import (
	"errors"
	"net/http"
	"time"

	"comptoir/internal/claims"
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
}

func toClaimJSON(c claims.Claim) claimJSON {
	j := claimJSON{ID: c.ID, Kind: c.Kind, Status: c.Status, OrderID: c.OrderID, LineID: c.LineID,
		SubscriptionID: c.SubscriptionID, FiledAt: c.FiledAt, Decision: c.Decision}
	if c.Waiting() {
		due := c.AnswerPromiseAt
		j.AnswerDueAt = &due
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
	writeError(w, status, code, s.Messages.T(state(r).lang, "claim.error."+code))
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
	CustomerID string    `json:"customer_id"`
	FiledAt    time.Time `json:"filed_at"`
}

// apiFileClaim is POST /api/v1/claims: the decision is the one policy eval
// gives on the same facts.
func (s *Server) apiFileClaim(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	var in fileClaimJSON
	if !s.decodeJSON(w, r, &in) {
		return
	}
	fi := claims.FileInput{
		Kind: in.Kind, CustomerID: st.user.ID, OrderID: in.OrderID, LineID: in.LineID, SubscriptionID: in.SubscriptionID,
		Message: in.Message, Choice: in.Choice, RefundRequested: in.RefundRequested, Actor: st.user.Actor(),
	}
	if st.user.IsStaff() {
		fi.CustomerID, fi.FiledAt, fi.SourceMessageID = in.CustomerID, in.FiledAt, in.SourceMessageID
		if in.SourceMessageID != "" && !s.claimFromMessage(w, r, &fi) {
			return
		}
	}
	c, err := s.Claims.File(r.Context(), fi)
	if err != nil {
		s.apiClaimError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toClaimJSON(c))
}

func (s *Server) apiClaims(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	f := claims.ListFilter{After: r.URL.Query().Get("after"), Status: r.URL.Query().Get("status")}
	if !u.IsStaff() {
		f.CustomerID = u.ID
	}
	page, next, err := s.Claims.List(r.Context(), f)
	if err != nil {
		s.apiClaimError(w, r, err)
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
		writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
		return
	}
	defer r.MultipartForm.RemoveAll()
	in, done := evidenceInputs(r.MultipartForm)
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
}

func (s *Server) apiDecideClaim(w http.ResponseWriter, r *http.Request) {
	var in decisionJSON
	if !s.decodeJSON(w, r, &in) {
		return
	}
	c, err := s.Claims.Decide(r.Context(), claims.AgentDecision{
		ClaimID: r.PathValue("id"), Outcome: in.Outcome, Refund: in.Refund, ReasonCode: in.ReasonCode, Note: in.Note,
		Actor: state(r).user.Actor(), CustomerAcceptedCredit: in.CustomerAcceptedCredit,
	})
	if err != nil {
		s.apiClaimError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toClaimJSON(c))
}

// claimFromMessage completes an agent's filing that names the customer's
// message it comes from: that message's time is filed_at (API.md; POLICY.md
// "filed_at": an agent's delay never costs the customer their window), or
// the filed_at the agent gave when earlier, and the customer is the
// message's ticket's. A message that is not a customer's own on their
// ticket, or not the customer named, is a field error and nothing is filed.
func (s *Server) claimFromMessage(w http.ResponseWriter, r *http.Request, fi *claims.FileInput) bool {
	m, t, err := s.Desk.CustomerMessage(r.Context(), fi.SourceMessageID)
	field := ""
	switch {
	case errors.Is(err, desk.ErrNotFound):
		field = "not_found"
	case err != nil:
		s.serverError(w, r, err)
		return false
	case fi.CustomerID != "" && fi.CustomerID != t.CustomerID:
		field = "other_customer"
	}
	if field != "" {
		writeFieldErrors(w, http.StatusUnprocessableEntity, "invalid", s.Messages.T(state(r).lang, "claim.error.invalid"),
			map[string]string{"source_message_id": field})
		return false
	}
	fi.CustomerID = t.CustomerID
	if fi.Message == "" {
		fi.Message = m.Text // as the console files it
	}
	if fi.FiledAt.IsZero() || m.CreatedAt.Before(fi.FiledAt) {
		fi.FiledAt = m.CreatedAt
	}
	return true
}
