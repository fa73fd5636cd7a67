package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/browsertest"
	"comptoir/internal/orders"
	"comptoir/internal/proof"
)

// The embeddable script shows the toast on another site of the store whose
// origin the admin allowed, in that page's language; on a site not allowed
// the browser refuses it the feed, and no toast appears.
func TestBrowserProofEmbedOnAllowedSitesOnly(t *testing.T) {
	h := apptest.Start(t)
	bg := context.Background()
	p := newService(t, h, "posts", 25)
	page := func(lang string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><html lang="` + lang + `"><head><title>Blog</title></head><body><p id="post">Blog</p>` +
				`<script src="` + h.URL + `/embed/proof.js" defer></script></body></html>`))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	allowed, other := page("fr-FR"), page("en")
	st := proof.DefaultSettings()
	st.Enabled, st.Origins = true, []string{allowed.URL}
	if err := h.App.Proof.SaveSettings(bg, st, adminActor); err != nil {
		t.Fatal(err)
	}
	u, _ := h.User(t, account.RoleCustomer, "lea@example.fr")
	credit(t, h, u, 10000)
	if _, err := h.App.Orders.Place(bg, orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 10}}, Payment: orders.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true, Lang: "fr",
	}, func(ctx context.Context, tx *sql.Tx, o orders.Order) error {
		return h.App.Proof.RecordChoiceTx(ctx, tx, o.ID, nil)
	}); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(11 * time.Minute)

	ctx := browsertest.New(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(allowed.URL+"/"), chromedp.WaitVisible(css("#comptoir-proof .comptoir-proof-text"))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.TextContent(css("#comptoir-proof .comptoir-proof-text")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "Quelqu’un a acheté «\u00A0Publications posts\u00A0» il y a environ 10\u00A0minutes") {
		t.Fatalf("toast on the allowed site: %q", text)
	}

	// The other site: the script loads, its request for the feed is
	// answered without Access-Control-Allow-Origin, so the browser keeps
	// the answer from the page and nothing shows.
	if err := chromedp.Do(ctx, chromedp.Navigate(other.URL+"/"), chromedp.WaitVisible(css("#post"))); err != nil {
		t.Fatal(err)
	}
	refused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`fetch('`+h.URL+`/api/v1/proof/recent').then(() => false, () => true)`, chromedp.EvalAwaitPromise))
	if err != nil || !refused {
		t.Fatalf("the browser let a site that is not allowed read the feed: %v %v", refused, err)
	}
	if present, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.getElementById('comptoir-proof')`)); err != nil || present {
		t.Fatalf("toast on a site that is not allowed: %v %v", present, err)
	}
}
