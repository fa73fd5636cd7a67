package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/config"
	"comptoir/internal/localtime"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/policy"
)

// buyAndDeliver places a paid order of 100 units at 0.25 € and delivers 40.
func buyAndDeliver(t *testing.T, h *apptest.Harness, u account.User, delivered int) orders.Order {
	t.Helper()
	p := newService(t, h, "posts-"+u.ID[len(u.ID)-6:], 25)
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(context.Background(), orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}}, Payment: orders.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if delivered > 0 {
		if o, err = h.App.Orders.RecordDelivery(context.Background(), deliveryOf(o.ID, o.Lines[0].ID, delivered)); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestNonDeliveryClaimRefundsTheUndeliveredPart(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	mustContain(t, c.Get("/orders/"+o.ID), `id="claim-submit"`, `id="withdraw-start"`)
	// Still inside the processing time: the claim waits for delivery.
	r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {"Only 40 posts so far."}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	mustContain(t, c.Get(r.Location), "Delivery still in progress")
	// Late: a new claim is refunded at once, pro rata.
	h.Clock.Advance(73 * time.Hour)
	if _, err := h.App.Claims.Redecide(context.Background(), strings.TrimPrefix(r.Location, "/claims/")); err != nil {
		t.Fatal(err)
	}
	page := c.Get(r.Location)
	mustContain(t, page, `id="claim-refund"`, "€15.00", "40 of 100 were delivered", "to your balance")
	if got := balanceOf(t, h, u); got != 7500+1500 {
		t.Fatalf("balance after the refund: %d", got)
	}
	read, _ := h.App.Orders.Get(context.Background(), o.ID)
	if read.Refunded.Minor != 1500 || read.Lines[0].Refunded.Minor != 1500 {
		t.Fatalf("order after the refund: %+v", read)
	}
	// Another customer cannot see the claim, nor file one on this order.
	_, other := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := other.Get(r.Location); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's claim: %d", r.Status)
	}
	if r := other.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}}); r.Status != http.StatusNotFound ||
		!strings.Contains(r.Body, "Cette commande ou cette ligne de commande n’existe pas.") {
		t.Fatalf("a claim on another customer's order: %d, the page says what was not found:\n%s", r.Status, r.Body)
	}
}

func multipartBody(t *testing.T, text string, files map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if text != "" {
		mw.WriteField("text", text)
	}
	for name, content := range files {
		fw, _ := mw.CreateFormFile("files", name)
		fw.Write(content)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestNotAsDescribedWithEvidenceThenAgentDecision(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 100)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Not what the page said."}`, auth)
	var cl struct {
		ID       string
		Status   string
		Decision struct{ Outcome, Rule string }
	}
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil || cl.Decision.Outcome != "awaiting_evidence" {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	if r := postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`"}`, auth); r.Status != http.StatusConflict {
		t.Fatalf("a second open claim of the same kind: %d %s", r.Status, r.Body)
	}
	// A forbidden file type is refused; the claim stays as it was.
	ct, body := multipartBody(t, "", map[string][]byte{"page.html": []byte("<html><script>alert(1)</script></html>")})
	hd := auth.Clone()
	r = c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", ct, body, hd)
	if r.Status != http.StatusUnsupportedMediaType || !strings.Contains(r.Body, "evidence_type_forbidden") {
		t.Fatalf("html evidence: %d %s", r.Status, r.Body)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	ct, body = multipartBody(t, "The posts are about another brand.", map[string][]byte{"screenshot.png": png})
	r = c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", ct, body, hd)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"outcome":"review"`) {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	// The customer cannot decide; an agent refuses with a reason from the policy.
	decision := `{"outcome":"refused","reason_code":"expectation_only","note":"checked the description"}`
	if r := postJSON(c, "/api/v1/claims/"+cl.ID+"/decision", decision, auth); r.Status != http.StatusNotFound {
		t.Fatalf("a customer deciding: %d", r.Status)
	}
	agent, agentClient := h.User(t, account.RoleAgent, "agent@shop.test")
	mustContain(t, agentClient.Get("/console/claims"), cl.ID)
	r = postJSON(c, "/api/v1/claims/"+cl.ID+"/decision", decision, h.Bearer(t, agent.ID))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"outcome":"refused"`) || !strings.Contains(r.Body, `"status":"decided"`) {
		t.Fatalf("agent decision: %d %s", r.Status, r.Body)
	}
	ev, _ := h.App.Claims.Evidence(context.Background(), cl.ID)
	if len(ev) != 2 {
		t.Fatalf("evidence kept: %d", len(ev))
	}
	var fileID string
	for _, e := range ev {
		if e.Kind == "file" {
			fileID = e.ID
		}
	}
	dl := c.Send(http.MethodGet, "/claims/"+cl.ID+"/evidence/"+fileID, "", nil, auth)
	if dl.Status != http.StatusOK || dl.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("evidence download: %d %v", dl.Status, dl.Header)
	}
	// The customer's page names their file as they sent it; the type as
	// stored ("(image/png)", "(text/plain; charset=utf-8)") is the
	// agent's, on the console.
	page := c.Send(http.MethodGet, "/claims/"+cl.ID, "", nil, auth)
	mustContain(t, page, `/evidence/`+fileID+`">screenshot.png</a>`)
	if strings.Contains(page.Body, "(image/png)") {
		t.Error("the customer's claim page shows the file's MIME type")
	}
	mustContain(t, agentClient.Get("/console/claims/"+cl.ID), "(image/png)")
	other, _ := h.User(t, account.RoleCustomer, "ben@example.fr")
	if r := c.Send(http.MethodGet, "/claims/"+cl.ID+"/evidence/"+fileID, "", nil, h.Bearer(t, other.ID)); r.Status != http.StatusNotFound {
		t.Fatalf("another customer's evidence: %d", r.Status)
	}
}

func TestWithdrawalButtonConfirmAndAcknowledgement(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	mustContain(t, c.Get("/orders/"+o.ID+"/withdraw"), `id="withdraw-confirm"`)
	r := c.PostForm("/orders/"+o.ID+"/withdraw", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	mustContain(t, c.Get(r.Location), "€15.00", "a right the law gives you")
	acks, _ := h.App.Outbox.List(context.Background(), mailFilter("claim_withdrawal"))
	if len(acks) != 1 {
		t.Fatalf("withdrawal acknowledgements: %d", len(acks))
	}
	// Past 14 days the button is gone.
	h.Clock.Advance(16 * 24 * time.Hour)
	if strings.Contains(c.Get("/orders/"+o.ID).Body, `id="withdraw-start"`) {
		t.Fatal("the withdrawal button shows after 14 days")
	}
	if r := c.Get("/orders/" + o.ID + "/withdraw"); r.Status != http.StatusOK || strings.Contains(r.Body, `id="withdraw-confirm"`) ||
		!strings.Contains(r.Body, `id="form-error">The withdrawal period of this order ended on `) {
		t.Fatalf("the confirm step after 14 days: %d\n%s", r.Status, r.Body)
	}
}

// A refused withdrawal answers with its confirm page, in the visitor's
// language: the reason, and the way back to the order (the form again only
// while the period lasts), not an error page that leaves the order behind.
// Nothing more is recorded.
func TestRefusedWithdrawalLeadsBackToTheOrder(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	o := buyAndDeliver(t, h, u, 40)
	if r := c.PostForm("/orders/"+o.ID+"/withdraw", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	ct := newCrawlTexts(h.App.Messages)
	again := c.PostForm("/orders/"+o.ID+"/withdraw", nil)
	if again.Status < 400 || again.Status >= 500 {
		t.Fatalf("withdrawing twice: %d", again.Status)
	}
	mustContain(t, again, `id="form-error"`, `href="/orders/`+o.ID+`"`, h.App.Messages.T("en", "claim.withdraw.title"))
	if p := ct.pageProblems(again.Body, "en"); len(p) != 0 {
		t.Errorf("refused withdrawal page: %q", p)
	}
	h.Clock.Advance(16 * 24 * time.Hour)
	late := c.PostForm("/orders/"+o.ID+"/withdraw", nil)
	if late.Status < 400 || late.Status >= 500 || strings.Contains(late.Body, `id="withdraw-confirm"`) {
		t.Fatalf("withdrawing after 14 days: %d, form shown %v", late.Status, strings.Contains(late.Body, `id="withdraw-confirm"`))
	}
	mustContain(t, late, `id="form-error"`, `href="/orders/`+o.ID+`" id="withdraw-back"`)
	cls, _, err := h.App.Claims.List(context.Background(), claims.ListFilter{CustomerID: u.ID})
	if err != nil || len(cls) != 1 {
		t.Fatalf("claims after two refusals: %d %v", len(cls), err)
	}
}

func mailFilter(kind string) mail.Filter { return mail.Filter{Kind: kind} }

// The withdrawal button shows only on eligible order pages (POLICY.md "The
// law comes first": the right is a consumer's): a business customer's order
// page has none, and its confirm step is not there, while their other
// claims still are.
func TestNoWithdrawalButtonForABusinessCustomer(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	f := signupForm("biz@example.fr")
	f.Set("customer_type", "business")
	f.Set("vat_number", "FR40303265045")
	if r := c.PostForm("/signup", f); r.Status != http.StatusSeeOther {
		t.Fatalf("business sign-up: %d %s", r.Status, r.Body)
	}
	u, err := h.App.Accounts.UserByEmail(context.Background(), "biz@example.fr")
	if err != nil || u.CustomerType != account.CustomerBusiness {
		t.Fatalf("user %+v %v", u, err)
	}
	o := buyAndDeliver(t, h, u, 0)
	page := c.Get("/orders/" + o.ID)
	mustContain(t, page, `id="claim-submit"`)
	if strings.Contains(page.Body, `id="withdraw-start"`) {
		t.Error("a business customer's order page offers a withdrawal")
	}
	if r := c.Get("/orders/" + o.ID + "/withdraw"); r.Status != http.StatusOK || strings.Contains(r.Body, `id="withdraw-confirm"`) ||
		!strings.Contains(r.Body, `<p class="error" role="alert" id="form-error">Le droit de rétractation protège les consommateurs`) {
		t.Errorf("withdrawal confirm step for a business customer: %d\n%s", r.Status, r.Body)
	}
}

// A NUL in what the API takes (escaped as \u0000 in JSON) was a server
// error on PostgreSQL: the ids name nothing, the words are refused on
// their field, and nothing is stored.
func TestClaimAPIRefusesNULAsBadInput(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 100)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	agent, _ := h.User(t, account.RoleAgent, "agent@shop.test")
	staff := h.Bearer(t, agent.ID)
	for _, tc := range []struct {
		body   string
		auth   http.Header
		status int
	}{
		{`{"kind":"not_as_described","order_id":"ord\u0000"}`, auth, http.StatusNotFound},
		{`{"kind":"subscription_cancel","subscription_id":"sub\u0000","choice":"now"}`, auth, http.StatusNotFound},
		{`{"kind":"not_as_described","order_id":"` + o.ID + `","customer_id":"` + u.ID + `","source_message_id":"msg\u0000"}`, staff, http.StatusUnprocessableEntity},
	} {
		if r := postJSON(c, "/api/v1/claims", tc.body, tc.auth); r.Status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.body, r.Status, r.Body, tc.status)
		}
	}
	r := postJSON(c, "/api/v1/claims", `{"kind":"dissatisfied","order_id":"`+o.ID+`"}`, auth)
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	r = postJSON(c, "/api/v1/claims/"+cl.ID+"/decision", `{"outcome":"refused","reason_code":"expectation_only","note":"called\u0000her"}`, staff)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"note":"invalid"`) {
		t.Errorf("note with NUL: %d %s", r.Status, r.Body)
	}
	ct, body := multipartBody(t, "no\x00posts", nil)
	if r := c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", ct, body, auth.Clone()); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("evidence text with NUL: %d %s", r.Status, r.Body)
	}
	if ds, err := h.App.Claims.Decisions(context.Background(), cl.ID); err != nil || len(ds) != 1 {
		t.Errorf("decisions after the refusals: %d %v", len(ds), err)
	}
}

func TestClaimListsRefuseAStatusNoClaimHas(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	if r := c.Send(http.MethodGet, "/api/v1/claims?status=opened", "", nil, h.Bearer(t, u.ID)); r.Status != http.StatusBadRequest {
		t.Errorf("API list with status opened: %d %s", r.Status, r.Body)
	}
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	if r := agent.Get("/console/claims?status=closed"); r.Status != http.StatusBadRequest {
		t.Errorf("console list with status closed: %d", r.Status)
	}
}

// The console's decision form said EUR whatever the order's currency, so
// an agent could not refund an order in pounds: "some details are not
// valid". The amount is now in the claimed line's currency.
func TestConsoleRefundsAClaimInTheOrdersCurrency(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "posts-gbp", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts",
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(25, "GBP"),
		MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(10000, "GBP"), "test"); err != nil {
		t.Fatal(err)
	}
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}}, Payment: orders.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en", IP: "192.0.2.1", UserAgent: "test",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Orders.RecordDelivery(ctx, deliveryOf(o.ID, o.Lines[0].ID, 100)); err != nil {
		t.Fatal(err)
	}
	filed := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Not what I hoped."}})
	claimID := strings.TrimPrefix(filed.Location, "/claims/")
	if filed.Status != http.StatusSeeOther || claimID == "" {
		t.Fatalf("file a claim: %d %q", filed.Status, filed.Location)
	}
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	page := agent.Get("/console/claims/" + claimID)
	form := url.Values{"decision_key": {formKey(t, page, "decision_key")}, "outcome": {"refund"}, "amount": {"5"}, "note": {"Partial refund"}}
	if r := agent.PostForm("/console/claims/"+claimID+"/decision", form); r.Status != http.StatusSeeOther {
		t.Fatalf("decision: %d %s", r.Status, r.Body)
	}
	b, err := h.App.Ledger.Balance(ctx, u.ID, "GBP")
	if err != nil || b.Minor != 10000-2500+500 {
		t.Fatalf("balance in GBP: %v %v", b, err)
	}
	// The form says which currency the amount is in.
	mustContain(t, page, `<span id="amount-currency">GBP</span>`)
}

// zeros is n zero bytes, read without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// Evidence past the upload limit, sent without its length (chunked), was
// answered 400 bad_request by the API; it is 413 too_large, as the page
// and a body with its length say.
func TestClaimAPIEvidencePastTheUploadLimitIsTooLarge(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 100)
	auth := h.Bearer(t, u.ID)
	c := h.NewClient(t)
	r := postJSON(c, "/api/v1/claims", `{"kind":"not_as_described","order_id":"`+o.ID+`"}`, auth)
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	const boundary = "b0und4ry"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n"
	tail := "\r\n--" + boundary + "--\r\n"
	body := io.MultiReader(strings.NewReader(head), &zeros{n: 65 << 20}, strings.NewReader(tail))
	r = c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", "multipart/form-data; boundary="+boundary, body, auth.Clone())
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, `"too_large"`) {
		t.Fatalf("evidence past the limit: %d %s", r.Status, r.Body)
	}
	if ev, err := h.App.Claims.Evidence(context.Background(), cl.ID); err != nil || len(ev) != 0 {
		t.Fatalf("evidence stored: %d %v", len(ev), err)
	}
}

// The same for orders: a status no order has ("shipped") answered an empty
// list, which reads as "no orders"; it is refused, and every status the
// console's filter offers still lists.
func TestOrderListsRefuseAStatusNoOrderHas(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	if r := c.Send(http.MethodGet, "/api/v1/orders?status=shipped", "", nil, h.Bearer(t, u.ID)); r.Status != http.StatusBadRequest {
		t.Errorf("API list with status shipped: %d %s", r.Status, r.Body)
	}
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	if r := agent.Get("/console/orders?status=Paid"); r.Status != http.StatusBadRequest {
		t.Errorf("console list with status Paid: %d", r.Status)
	}
	for _, status := range []string{"", "pending_payment", "paid", "processing", "partial", "completed", "canceled", "refunded"} {
		if r := agent.Get("/console/orders?status=" + status); r.Status != http.StatusOK {
			t.Errorf("console list with status %q: %d", status, r.Status)
		}
		if r := c.Send(http.MethodGet, "/api/v1/orders?status="+status, "", nil, h.Bearer(t, u.ID)); r.Status != http.StatusOK {
			t.Errorf("API list with status %q: %d", status, r.Status)
		}
	}
}

// A store that sends its mail From a no-reply address still gets the
// customer's answer to a claim's email, which the email asks for when they
// think a decision is wrong: it goes to the support address, which the desk
// reads.
func TestClaimMailAnswersReachTheDesk(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.MailFrom = "no-reply@shop.test" })
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	if r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Pas ce que j’attendais."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	ms := mailsOf(t, h, u, "claim_filed")
	if len(ms) != 1 || ms[0].From.Email != "no-reply@shop.test" || ms[0].ReplyTo != "<support@shop.test>" {
		t.Fatalf("claim mails: %+v", ms)
	}
}

// Within the 14 days, an order whose right of withdrawal has ended with its
// supply (a service asked to start at once and fully performed, a licence
// key asked for at once with the waiver and received) says so, instead of
// "You have 14 days after your order to withdraw" and a button that led to
// a refusal. An order still partly withdrawable keeps the button.
func TestOrderPageSaysWhenWithdrawalHasEnded(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	mustContain(t, c.Get("/orders/"+o.ID), `id="withdraw-start"`)
	if _, err := h.App.Orders.RecordDelivery(ctx, deliveryOf(o.ID, o.Lines[0].ID, 100)); err != nil {
		t.Fatal(err)
	}
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.App.Catalog.AddLicenceKeys(ctx, adminActor, p.ID, []string{"K-1"})
	key, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fr": "Le droit de rétractation a pris fin pour cette commande", "en": "The right of withdrawal has ended for this order"}
	for lang, text := range want {
		c.PostForm("/lang", url.Values{"lang": {lang}})
		for _, id := range []string{o.ID, key.ID} {
			page := c.Get("/orders/" + id)
			mustContain(t, page, `id="withdrawal-ended"`, text)
			if strings.Contains(page.Body, `id="withdraw-start"`) {
				t.Errorf("%s, %s: the withdrawal button shows on an order whose right has ended", lang, id)
			}
		}
	}
	// The policy agrees: a withdrawal sent anyway is refused, for this reason.
	cl, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.Withdrawal, CustomerID: u.ID, OrderID: key.ID, Actor: u.Actor()})
	if err != nil || cl.Decision.Rule != "withdrawal.digital_supply_begun" {
		t.Fatalf("withdrawal from the key: %+v %v", cl.Decision, err)
	}
	if cl, err = h.App.Claims.File(ctx, claims.FileInput{Kind: policy.Withdrawal, CustomerID: u.ID, OrderID: o.ID, Actor: u.Actor()}); err != nil ||
		cl.Decision.Rule != "withdrawal.service_performed" {
		t.Fatalf("withdrawal from the service: %+v %v", cl.Decision, err)
	}
}

// The withdrawal form offers the lines whose right has not ended: on an
// order of a service still running and a licence key received under the
// waiver, it offered both, and choosing the key filed a withdrawal refused
// at once. With one line left it is named, and sent with the form.
func TestWithdrawalFormOffersTheLinesStillWithdrawable(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	svc := newService(t, h, "posts", 25)
	key, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "licence", Kind: catalog.KindDigital, NameFR: "Logiciel", NameEN: "Software", DescriptionFR: "Une licence.", DescriptionEN: "One licence.",
		UnitPrice: money.MustNew(500, "EUR"), MinQuantity: 1, MaxQuantity: 1, DigitalDelivery: catalog.DeliveryLicenceKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.App.Catalog.AddLicenceKeys(ctx, adminActor, key.ID, []string{"K-1"})
	credit(t, h, u, 10000)
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: svc.ID, Quantity: 10}, {ProductID: key.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	page := c.Get("/orders/" + o.ID + "/withdraw")
	mustContain(t, page, `<input type="hidden" name="line_id" value="`+o.Lines[0].ID+`">`, `id="withdraw-line-name"`, "Posts posts")
	if strings.Contains(page.Body, o.Lines[1].ID) {
		t.Fatal("the form offers the licence key, whose right has ended")
	}
	r := c.PostForm("/orders/"+o.ID+"/withdraw", url.Values{"withdraw_key": {formKey(t, page, "withdraw_key")}, "line_id": {o.Lines[0].ID}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	cl, err := h.App.Claims.Get(ctx, strings.TrimPrefix(r.Location, "/claims/"))
	if err != nil || cl.LineID != o.Lines[0].ID || cl.Decision.Outcome == "refused" {
		t.Fatalf("withdrawal %+v %v", cl, err)
	}
}

// Withdrawn from an order (its service partly delivered, so not entirely
// refunded), the customer still read "You have 14 days after your order to
// withdraw" and the button on the order's page; the confirm step offered
// the withdrawal again and answered "this was already decided". The page
// now says when the withdrawal was received and links it; the confirm
// step, reached from a page kept open, leads to the order; on an order of
// several lines, only the lines not withdrawn yet are offered.
func TestOrderPageSaysTheWithdrawalWasReceived(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	o := buyAndDeliver(t, h, u, 40)
	r := c.PostForm("/orders/"+o.ID+"/withdraw", url.Values{"withdraw_key": {"wdk_1"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	claimPage := r.Location
	cl, err := h.App.Claims.Get(ctx, strings.TrimPrefix(claimPage, "/claims/"))
	if err != nil {
		t.Fatal(err)
	}
	page := c.Get("/orders/" + o.ID)
	mustContain(t, page, `<p id="withdrawal-received">Votre rétractation de cette commande a été reçue le `+localtime.UTC.Time(cl.FiledAt, "fr")+
		`. <a href="`+claimPage+`" id="withdrawal-claim">Voir sa décision</a></p>`)
	if strings.Contains(page.Body, `id="withdraw-start"`) {
		t.Fatalf("the order's page offers the withdrawal again:\n%s", page.Body)
	}
	if r := c.Get("/orders/" + o.ID + "/withdraw"); r.Status != http.StatusSeeOther || r.Location != "/orders/"+o.ID {
		t.Fatalf("the confirm step once withdrawn: %d %q", r.Status, r.Location)
	}
	again := c.PostForm("/orders/"+o.ID+"/withdraw", url.Values{"withdraw_key": {"wdk_2"}})
	if again.Status < 400 || strings.Contains(again.Body, `id="withdraw-confirm"`) {
		t.Fatalf("withdrawing again: %d, form shown %v", again.Status, strings.Contains(again.Body, `id="withdraw-confirm"`))
	}
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, c.Get("/orders/"+o.ID), `Your withdrawal from this order was received on `, `See its decision</a>`)

	// Two lines: the first withdrawn, the second is still offered, alone.
	a, ac := h.User(t, account.RoleCustomer, "ben@example.fr")
	svc, other := newService(t, h, "posts", 25), newService(t, h, "words", 25)
	credit(t, h, a, 10000)
	two, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: a.ID, Lines: []orders.LineInput{{ProductID: svc.ID, Quantity: 10}, {ProductID: other.ID, Quantity: 10}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "en"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Partly delivered: the withdrawals leave it paid in part.
	if two, err = h.App.Orders.RecordDelivery(ctx, deliveryOf(two.ID, two.Lines[0].ID, 4)); err != nil {
		t.Fatal(err)
	}
	if r := ac.PostForm("/orders/"+two.ID+"/withdraw", url.Values{"withdraw_key": {"wdk_3"}, "line_id": {two.Lines[0].ID}}); r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw from the first line: %d %s", r.Status, r.Body)
	}
	mustContain(t, ac.Get("/orders/"+two.ID), `id="withdraw-start"`)
	confirm := ac.Get("/orders/" + two.ID + "/withdraw")
	mustContain(t, confirm, `<input type="hidden" name="line_id" value="`+two.Lines[1].ID+`">`)
	if r := ac.PostForm("/orders/"+two.ID+"/withdraw", url.Values{"withdraw_key": {formKey(t, confirm, "withdraw_key")}, "line_id": {two.Lines[1].ID}}); r.Status != http.StatusSeeOther {
		t.Fatalf("withdraw from the second line: %d %s", r.Status, r.Body)
	}
	if p := ac.Get("/orders/" + two.ID); strings.Contains(p.Body, `id="withdraw-start"`) || !strings.Contains(p.Body, `id="withdrawal-received"`) {
		t.Fatalf("withdrawn from both lines, the order's page:\n%s", p.Body)
	}
}

// The console's claim page listed a claim's refunds as the customer's page
// does, "6,50 € — sur votre solde": the agent read that the money went to
// their own balance. The console now says whose: the customer's.
func TestConsoleClaimSaysWhoseBalanceWasRefunded(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(73 * time.Hour)
	r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"non_delivery"}, "message": {"Il en manque."}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	claimID := strings.TrimPrefix(r.Location, "/claims/")
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	mustContain(t, c.Get(r.Location), "15,00\u00a0€ — sur votre solde — ")
	_, agent := h.User(t, account.RoleAgent, "agent@example.fr")
	agent.PostForm("/lang", url.Values{"lang": {"fr"}})
	page := agent.Get("/console/claims/" + claimID)
	mustContain(t, page, "15,00\u00a0€ — sur le solde du client — ")
	if strings.Contains(page.Body, "votre solde") {
		t.Fatalf("the console calls the customer's balance the agent's:\n%s", page.Body)
	}
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, agent.Get("/console/claims/"+claimID), "€15.00 — to the customer’s balance — ")
}

// The confirm step of a withdrawal the order no longer allows (a page kept
// open past the period, a bookmark) answered "Page introuvable: the page
// you are looking for does not exist", though the order and the page did.
// It now says why, in the customer's language, with the way back to the
// order: the period's end, an order refunded in full. (A business
// customer's: TestNoWithdrawalButtonForABusinessCustomer.)
func TestWithdrawConfirmSaysWhyItIsClosed(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	o := buyAndDeliver(t, h, u, 40)
	full, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: o.Lines[0].ProductID, Quantity: 10}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "fr"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Claims.File(ctx, claims.FileInput{Kind: policy.Withdrawal, CustomerID: u.ID, OrderID: full.ID, Actor: u.Actor()}); err != nil {
		t.Fatal(err)
	}
	back := func(id string) string { return `<a href="/orders/` + id + `" id="withdraw-back">` }
	r := c.Get("/orders/" + full.ID + "/withdraw")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `id="withdraw-confirm"`) {
		t.Fatalf("an order refunded in full: %d\n%s", r.Status, r.Body)
	}
	mustContain(t, r, `id="form-error">Cette commande est entièrement remboursée`+"\u00a0"+`: il ne reste rien dont vous rétracter.</p>`, back(full.ID))

	deadline := claims.WithdrawalDeadline(nil, o.PlacedAt)
	h.Clock.Advance(16 * 24 * time.Hour)
	r = c.Get("/orders/" + o.ID + "/withdraw")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `id="withdraw-confirm"`) {
		t.Fatalf("past the period: %d\n%s", r.Status, r.Body)
	}
	mustContain(t, r, `id="form-error">Le délai de rétractation de cette commande a pris fin le `+localtime.UTC.Time(deadline, "fr")+`.`, back(o.ID))
	if r := c.Get("/orders/ord_00000000000000000000000000/withdraw"); r.Status != http.StatusNotFound {
		t.Fatalf("an order that does not exist: %d", r.Status)
	}
}

// A claim sent while one of its kind is open on that line was refused with
// "A claim of this kind is already open for this order." and the text kept,
// but no way to that claim, where the customer could add to it. The
// refusal now links it.
func TestDuplicateClaimLinksTheOpenOne(t *testing.T) {
	h := apptest.Start(t)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	c.PostForm("/lang", url.Values{"lang": {"fr"}})
	o := buyAndDeliver(t, h, u, 40)
	r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Pas satisfaite."}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	first := r.Location
	again := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Texte à garder."}})
	if again.Status != http.StatusConflict {
		t.Fatalf("a second open claim of one kind: %d", again.Status)
	}
	mustContain(t, again, `Une réclamation de ce type est déjà ouverte pour cette commande. <a href="`+first+`" id="claim-open-link">Compléter cette réclamation</a></p>`,
		`>Texte à garder.</textarea>`)
	c.PostForm("/lang", url.Values{"lang": {"en"}})
	mustContain(t, c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"dissatisfied"}, "message": {"Again."}}),
		`<a href="`+first+`" id="claim-open-link">Add to that claim</a>`)
	// Another kind is filed as before.
	if r := c.PostForm("/orders/"+o.ID+"/claims", url.Values{"kind": {"not_as_described"}, "message": {"Not as described."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("another kind: %d %s", r.Status, r.Body)
	}
}
