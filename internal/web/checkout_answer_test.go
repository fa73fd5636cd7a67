package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
)

// The checkout's answer (POST /api/v1/orders) is written without
// encoding/json's reflection and without reading its status back (issue
// #9): it is the order as GET /api/v1/orders/{id} shows it, byte for byte,
// with the same headers, the first time and on a replay of its key.
func TestCheckoutAnswerAsTheOrderReads(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	p, err := h.App.Catalog.Create(ctx, adminActor, catalog.ProductInput{
		Slug: "answer-service", Kind: catalog.KindService, NameFR: "Publications <soignées> & cie", NameEN: "Posts <careful> & co",
		DescriptionFR: "Des publications.", DescriptionEN: "Posts.",
		UnitPrice: money.MustNew(25, "EUR"), MinQuantity: 1, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	if _, err := h.App.Ledger.AdminCredit(ctx, adminActor, u.ID, money.MustNew(100_000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	auth := h.Bearer(t, u.ID).Get("Authorization")
	handler := h.App.Web.Handler()
	do := func(method, path, body, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	headers := func(rec *httptest.ResponseRecorder) []string {
		var out []string
		for k, vs := range rec.Header() {
			out = append(out, k+": "+strings.Join(vs, " | "))
		}
		slices.Sort(out)
		return out
	}
	body := `{"lines":[{"product_id":"` + p.ID + `","quantity":2}],"payment":"balance","consent":{"immediate_performance":true,"withdrawal_waiver":true},"accept_policy":"default@1"}`
	for _, key := range []string{"answer-1", ""} {
		first := do(http.MethodPost, "/api/v1/orders", body, key)
		if first.Code != http.StatusCreated {
			t.Fatalf("POST /api/v1/orders (key %q): %d %s", key, first.Code, first.Body)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(first.Body.String(), `{"id":"`), first.Body.String()[strings.Index(first.Body.String(), `","status"`):])
		got := do(http.MethodGet, "/api/v1/orders/"+id, "", "")
		if got.Code != http.StatusOK || got.Body.String() != first.Body.String() {
			t.Fatalf("POST answered\n%s\nGET /api/v1/orders/%s answers\n%s", first.Body, id, got.Body)
		}
		for _, want := range []string{`"status":"processing"`, `"name":"Publications \u003csoignées\u003e \u0026 cie"`, `"processing_until":"`} {
			if !strings.Contains(first.Body.String(), want) {
				t.Errorf("answer %s: no %s", first.Body, want)
			}
		}
		wantHeaders := []string{
			"Cache-Control: no-store",
			"Content-Security-Policy: " + first.Header().Get("Content-Security-Policy"),
			"Content-Type: application/json; charset=utf-8",
			"Cross-Origin-Opener-Policy: same-origin",
			"Permissions-Policy: camera=(), microphone=(), geolocation=()",
			"Referrer-Policy: same-origin",
			"X-Content-Type-Options: nosniff",
			"X-Frame-Options: DENY",
		}
		if hs := headers(first); !slices.Equal(hs, wantHeaders) || !strings.HasPrefix(first.Header().Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("headers:\n%s\nwant\n%s", strings.Join(hs, "\n"), strings.Join(wantHeaders, "\n"))
		}
		if key == "" {
			continue
		}
		again := do(http.MethodPost, "/api/v1/orders", body, key)
		wantHeaders = append(wantHeaders, "Idempotent-Replayed: true")
		slices.Sort(wantHeaders)
		if again.Code != http.StatusCreated || again.Body.String() != first.Body.String() || !slices.Equal(headers(again), wantHeaders) {
			t.Errorf("replay: %d %s\n%s\nwant the first answer %s\n%s", again.Code, again.Body, strings.Join(headers(again), "\n"), first.Body, strings.Join(wantHeaders, "\n"))
		}
	}
}
