package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"comptoir/internal/money"
)

// orderJSONSample is an order answer with every field set, for the tests
// of marshalOrderJSON.
func orderJSONSample() orderJSONBody {
	until := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	return orderJSONBody{
		ID: "ord_1", Status: "paid", CustomerID: "usr_1",
		Lines: []lineJSON{{
			ID: "oln_1", ProductID: "prd_1", ProductRevision: 3, Kind: "service", Name: "Posts", Quantity: 2, Delivered: 1,
			Amount: money.MustNew(5000, "EUR"), Refunded: money.MustNew(0, "EUR"), ProcessingUntil: &until, Overdue: true,
			LicenceKey: "KEY-1",
		}, {
			ID: "oln_2", ProductID: "prd_2", Kind: "licence", Name: "Clé", Quantity: 1,
			Amount: money.MustNew(-12, "USD"), Refunded: money.MustNew(12, "USD"),
		}},
		Total: money.MustNew(5000, "EUR"), Paid: money.MustNew(5000, "EUR"), Refunded: money.MustNew(0, "EUR"),
		Payment: "balance", PolicyVersion: "default@1", PlacedAt: time.Date(2026, 11, 27, 8, 0, 0, 123456789, time.UTC),
		CheckoutURL: "https://checkout.stripe.com/c/pay/cs_test?a=1&b=<2>",
	}
}

// The checkout's answer is written without reflection (marshalOrderJSON);
// it must stay json.Marshal's, byte for byte, which clients and the
// stored answers of Idempotency-Keys (replayed as they are) rely on.
func TestOrderJSONAsEncodingJSON(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	strs := []string{"", "ord_1", "Café crème", "a<b>&c", `quote " and \ back`, "tab\tnew\nline\x01", "line\u2028sep\u2029",
		"bad\xffutf8", "emoji 🙂", "\x7f", "ümlaut/ü"}
	times := []time.Time{{}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC),
		time.Date(2026, 7, 2, 3, 4, 5, 0, paris), time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("odd", 3600+30)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	amounts := []money.Amount{money.MustNew(0, "EUR"), money.MustNew(-9223372036854775808, "JPY"), {Minor: 5, Currency: "eur"}, {}}
	rng := rand.New(rand.NewPCG(9, 9))
	pick := func(n int) int { return rng.IntN(n) }
	cases := []orderJSONBody{orderJSONSample(), {}, {Lines: []lineJSON{}}}
	for range 2000 {
		o := orderJSONSample()
		o.ID, o.Status, o.CustomerID = strs[pick(len(strs))], strs[pick(len(strs))], strs[pick(len(strs))]
		o.Payment, o.PolicyVersion, o.CheckoutURL = strs[pick(len(strs))], strs[pick(len(strs))], strs[pick(len(strs))]
		o.Overdue = pick(2) == 0
		o.PlacedAt = times[pick(len(times))]
		if pick(10) == 0 {
			o.Total = amounts[pick(len(amounts))]
		}
		switch pick(3) {
		case 0:
			o.Lines = nil
		case 1:
			o.Lines = o.Lines[:1]
		}
		for i := range o.Lines {
			l := &o.Lines[i]
			l.Name, l.Kind, l.LicenceKey = strs[pick(len(strs))], strs[pick(len(strs))], strs[pick(len(strs))]
			l.Quantity, l.Delivered, l.ProductRevision = rng.Int()-rng.Int(), pick(3), -pick(3)
			if pick(2) == 0 {
				l.ProcessingUntil = nil
			} else {
				at := times[pick(len(times))]
				l.ProcessingUntil = &at
			}
			if pick(10) == 0 {
				l.Refunded = amounts[pick(len(amounts))]
			}
		}
		cases = append(cases, o)
	}
	for _, o := range cases {
		want, wantErr := json.Marshal(o)
		got, err := marshalOrderJSON(o)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("marshalOrderJSON(%+v)\n = %s (%v)\nwant %s (%v)", o, got, err, want, wantErr)
		}
	}
}

func FuzzOrderJSONAsEncodingJSON(f *testing.F) {
	f.Add("Posts", "paid", int64(5000), int64(1_700_000_000_000_000_000))
	f.Add("a<b>\u2028\xff", "pending_payment", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, name, status string, minor, nanos int64) {
		o := orderJSONSample()
		o.Status, o.Lines[0].Name, o.Lines[1].Amount.Minor = status, name, minor
		o.PlacedAt = time.Unix(0, nanos).UTC()
		want, wantErr := json.Marshal(o)
		got, err := marshalOrderJSON(o)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("marshalOrderJSON = %s (%v), want %s (%v)", got, err, want, wantErr)
		}
	})
}

// Regression guards for the work the checkout's request path does per
// request (issue #9), outside the database.
func TestCheckoutAnswerAllocations(t *testing.T) {
	// As long as a real one: ids of 30 characters, a product's name.
	o := orderJSONSample()
	o.CheckoutURL, o.Lines[1].Name = "", "Publications"
	o.ID, o.CustomerID = "ord_01M8MVADCD6GEQR0G4EZR9SB7R", "usr_01M8MVADBRKFR8KNJHM6DAGABZ"
	for i := range o.Lines {
		o.Lines[i].ID, o.Lines[i].ProductID = "oln_01M8MVADCD6GEQR0G4F1FV81A1", "prd_01M8MVADBQXJZWKRHKZFZDFWPE"
	}
	t.Logf("json.Marshal: %v allocations", testing.AllocsPerRun(100, func() { json.Marshal(o) }))
	if n := testing.AllocsPerRun(100, func() { marshalOrderJSON(o) }); n > 1 {
		t.Errorf("marshalOrderJSON: %v allocations, want 1 (json.Marshal took 11)", n)
	}
	body := []byte(`{"lines":[{"product_id":"prd_0123456789","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`)
	if n := testing.AllocsPerRun(100, func() {
		if duplicateKey(body) != "" {
			t.Fatal("a duplicate key in a body without one")
		}
	}); n > 1 {
		t.Errorf("duplicateKey on a checkout's body: %v allocations, want at most 1 (a string per key took 12)", n)
	}
	s := &Server{csp: contentSecurityPolicy(false, "")}
	h := s.securityHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("POST", "/api/v1/orders", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	}); n > 1 {
		t.Errorf("securityHeaders: %v allocations, want 1 (one per header took 6)", n)
	}
}

// securityHeaders sets its six headers as h.Set does, each value on its
// own: adding to one leaves the others as they were.
func TestSecurityHeadersEachTheirOwn(t *testing.T) {
	s := &Server{csp: contentSecurityPolicy(false, "")}
	w := httptest.NewRecorder()
	s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Add("X-Content-Type-Options", "added")
	})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	want := http.Header{}
	want.Set("Content-Security-Policy", s.csp)
	want.Set("X-Content-Type-Options", "nosniff")
	want.Add("X-Content-Type-Options", "added")
	want.Set("X-Frame-Options", "DENY")
	want.Set("Referrer-Policy", "same-origin")
	want.Set("Cross-Origin-Opener-Policy", "same-origin")
	want.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	var got, wanted strings.Builder
	w.Header().Write(&got)
	want.Write(&wanted)
	if got.String() != wanted.String() {
		t.Fatalf("headers:\n%s\nwant\n%s", got.String(), wanted.String())
	}
}

// instrument looks a route's series up once, not on every request, and
// counts them as before: by route pattern and status code.
func TestInstrumentSeriesLookedUpOnce(t *testing.T) {
	m := NewMetrics()
	h := m.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Pattern = "POST /api/v1/orders"
		w.WriteHeader(http.StatusCreated)
	}))
	r := httptest.NewRequest("POST", "/api/v1/orders", nil)
	w := httptest.NewRecorder()
	n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) })
	var got strings.Builder
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "comptoir_http_") {
			continue
		}
		for _, mt := range mf.GetMetric() {
			fmt.Fprintf(&got, "%s %v %v %v\n", mf.GetName(), mt.GetLabel(), mt.GetCounter().GetValue(), mt.GetHistogram().GetSampleCount())
		}
	}
	want := `comptoir_http_request_duration_seconds [name:"route" value:"POST /api/v1/orders"] 0 101
comptoir_http_requests_total [name:"code" value:"201" name:"route" value:"POST /api/v1/orders"] 101 0
`
	if strings.ReplaceAll(got.String(), "  ", " ") != want {
		t.Errorf("series:\n%s\nwant\n%s", got.String(), want)
	}
	if n > 1 {
		t.Errorf("instrument: %v allocations a request, want 1 (its status recorder; the label lookups took one more, and hashed the labels each time)", n)
	}
}
