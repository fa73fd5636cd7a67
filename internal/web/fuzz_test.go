package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/cardpay/cardpaytest"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/webhooksig"
)

// The fuzz targets drive the whole HTTP surface in process (no socket per
// input): a store with card payments on (its Stripe API is never reached)
// and a fulfilment webhook secret. Whatever the input, the answer is never
// a 500 (a panic is turned into one by the middleware) and always carries
// the security headers. make test runs each briefly; make fuzz longer.

var fuzzFulfilmentSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("fuzzing fulfilment secret, 32 b!"))

type fuzzStore struct {
	h       *apptest.Harness
	handler http.Handler
	cookie  *http.Cookie // an admin's session
	orderID string
	lineID  string
}

func startFuzzStore(f *testing.F) *fuzzStore {
	h := apptest.StartWith(f, func(c *config.Config) {
		c.StripeSecretKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_comptoir", webhookSecret, "http://127.0.0.1:1"
		c.FulfilmentWebhookSecret = fuzzFulfilmentSecret
	})
	u, c := h.User(f, account.RoleAdmin, "fuzz@example.fr")
	fs := &fuzzStore{h: h, handler: h.App.Web.Handler()}
	base, _ := url.Parse(h.URL)
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == "comptoir_session" {
			fs.cookie = ck
		}
	}
	if fs.cookie == nil {
		f.Fatal("no session cookie")
	}
	ctx := context.Background()
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "fuzz", Kind: catalog.KindService, NameFR: "Fuzz", NameEN: "Fuzz", DescriptionFR: "F.", DescriptionEN: "F.",
		UnitPrice: money.MustNew(25, "EUR"), MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(100000, "EUR"), "fuzz"); err != nil {
		f.Fatal(err)
	}
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 100}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		f.Fatal(err)
	}
	fs.orderID, fs.lineID = o.ID, o.Lines[0].ID
	return fs
}

// serve answers one request in process and checks what every answer must be.
func (fs *fuzzStore) serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	fs.handler.ServeHTTP(w, req)
	if w.Code >= 500 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, w.Code, w.Body)
	}
	if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("%s %s: security headers missing: %v", req.Method, req.URL, w.Header())
	}
	return w
}

// fuzzFormPaths are the HTML forms posted by the form-decoding fuzz target.
var fuzzFormPaths = []string{
	"/signup", "/signin", "/reset", "/contact", "/cart", "/cart/remove", "/checkout", "/balance/topup",
	"/account/profile", "/account/password", "/account/tokens", "/subscriptions", "/lang",
	"/admin/products", "/admin/credits", "/admin/canned", "/admin/vat", "/admin/proof", "/admin/policies/preview", "/cart/quantity",
}

// FuzzFormPost posts arbitrary bodies, url-encoded or multipart, to every
// main form as a signed-in admin (who may post them all).
func FuzzFormPost(f *testing.F) {
	f.Add(uint8(0), false, []byte("email=a%40b.fr&password=12345678901&name=A&country=FR&city=Lyon"))
	f.Add(uint8(3), false, []byte("email=x%40y.fr&subject=%3Cscript%3E&body=hello"))
	f.Add(uint8(4), false, []byte("product_id=prd_x&quantity=99999999999999999999"))
	f.Add(uint8(7), false, []byte("amount=1e400"))
	f.Add(uint8(8), false, []byte("name=%00%0D%0A&language=xx&country=%FF"))
	f.Add(uint8(13), true, []byte("--B\r\nContent-Disposition: form-data; name=\"slug\"\r\n\r\n../../etc\r\n--B--\r\n"))
	f.Add(uint8(13), false, []byte("slug=a&kind=service&unit_price=-1&min_quantity=-5&max_quantity=1"))
	f.Add(uint8(18), false, []byte("document=%7B%7B&language=fr"))
	f.Add(uint8(3), true, []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../x.zip\"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04\r\n--B--\r\n"))
	fs := startFuzzStore(f)
	f.Fuzz(func(t *testing.T, which uint8, multipart bool, body []byte) {
		path := fuzzFormPaths[int(which)%len(fuzzFormPaths)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		if multipart {
			req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.AddCookie(fs.cookie)
		fs.serve(t, req)
	})
}

// FuzzStripeWebhook sends arbitrary payloads, correctly signed, to Stripe's
// webhook: a payload the store cannot use is a 400 (or a 200 for an event it
// ignores), never a 500 that would make Stripe retry it for days.
func FuzzStripeWebhook(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_1","object":"checkout.session","metadata":{"payment_id":"pay_x"}}}}`))
	f.Add([]byte(`{"id":"evt_2","object":"event","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","refunds":{"data":[{"id":"re_1"}]}}}}`))
	f.Add([]byte(`{"id":"evt_3","object":"event","type":"charge.dispute.created","data":{"object":{"id":"dp_1","object":"dispute","payment_intent":"pi_1"}}}`))
	f.Add([]byte(`{"id":"evt_4","object":"event","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"payment_id":""}}}}`))
	f.Add([]byte(`{"id":"","type":"","data":null}`))
	f.Add([]byte(`[]`))
	fs := startFuzzStore(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", cardpaytest.Sign(webhookSecret, payload, time.Now()))
		w := fs.serve(t, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("stripe webhook: %d %s", w.Code, w.Body)
		}
	})
}

// FuzzFulfilmentWebhook sends arbitrary bodies, correctly signed, to the
// delivery webhook of a real order (or of an arbitrary id).
func FuzzFulfilmentWebhook(f *testing.F) {
	f.Add(false, "", []byte(`{"line_id":"LINE","delivered":70}`))
	f.Add(false, "", []byte(`{"line_id":"LINE","delivered":-1}`))
	f.Add(false, "", []byte(`{"line_id":"LINE","delivered":1e300}`))
	f.Add(true, "ord_x", []byte(`{"delivered":1}`))
	f.Add(true, "../../admin", []byte(`{}`))
	secret, err := webhooksig.ParseSecret(fuzzFulfilmentSecret)
	if err != nil {
		f.Fatal(err)
	}
	fs := startFuzzStore(f)
	n := 0
	f.Fuzz(func(t *testing.T, otherOrder bool, orderID string, body []byte) {
		if !otherOrder {
			orderID = fs.orderID
			body = bytes.ReplaceAll(body, []byte("LINE"), []byte(fs.lineID))
		}
		n++
		msgID := "msg_" + strconv.Itoa(n)
		now := fs.h.Clock.Now()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/orders/x/delivery", bytes.NewReader(body))
		req.URL.Path = "/api/v1/orders/" + orderID + "/delivery"
		req.URL.RawPath = "/api/v1/orders/" + url.PathEscape(orderID) + "/delivery"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", msgID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", secret.Sign(msgID, now, body))
		w := fs.serve(t, req)
		if w.Code == http.StatusUnauthorized || (w.Code == http.StatusBadRequest && strings.Contains(w.Body.String(), "bad_signature")) {
			t.Fatalf("a correctly signed webhook refused: %d %s", w.Code, w.Body)
		}
	})
}
