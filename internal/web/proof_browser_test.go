package web_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/browsertest"
	"comptoir/internal/orders"
	"comptoir/internal/proof"
)

// A visitor sees the toast of a real purchase, announced politely, without
// motion when they ask for none, and closes it.
func TestBrowserProofToastShowsAndCloses(t *testing.T) {
	h := apptest.Start(t)
	bg := context.Background()
	p := newService(t, h, "posts", 25)
	st := proof.DefaultSettings()
	st.Enabled = true
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
	reduceMotion := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
	if err := chromedp.Do(ctx, reduceMotion, chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(css("#comptoir-proof .comptoir-proof-text"))); err != nil {
		t.Fatal(err)
	}
	type toastState struct{ Text, Role, Label, Transition string }
	toast, err := chromedp.Run(ctx, chromedp.Evaluate[toastState](`(() => {
		const b = document.getElementById('comptoir-proof');
		return {Text: b.querySelector('.comptoir-proof-text').textContent, Role: b.getAttribute('role'),
			Label: b.querySelector('button').getAttribute('aria-label'), Transition: b.style.transition};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if toast.Text != "Someone bought “Posts posts” about 10 minutes ago" || toast.Role != "status" ||
		toast.Label != "Close this notice" || toast.Transition != "" {
		t.Fatalf("toast %+v", toast)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css("#comptoir-proof .comptoir-proof-close")), chromedp.WaitNotPresent(css("#comptoir-proof"))); err != nil {
		t.Fatal(err)
	}
	closed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('comptoir-proof-closed') || ''`))
	if err != nil || closed != "1" {
		t.Fatalf("closing is not remembered for the session: %q %v", closed, err)
	}
}
