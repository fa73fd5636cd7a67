package web_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"comptoir/internal/apptest"
	"comptoir/internal/browsertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Close()
	os.Exit(code)
}

type css = chromedp.CSS

// signIn signs a user made by apptest in through the sign-in page.
func signIn(h *apptest.Harness, email string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(h.URL+"/signin"),
		chromedp.WaitVisible(css("#signin-submit")),
		chromedp.SendKeys(css("#email"), email),
		chromedp.SendKeys(css("#password"), apptest.Password),
		chromedp.Click(css("#signin-submit")),
		chromedp.WaitVisible(css("#signout")),
	)
}

// visibleLabels reads the texts a visitor sees on the page's chrome: the
// navigation, headings, labels and buttons.
const visibleLabels = `Array.from(document.querySelectorAll('nav a:not(.brand), h1, label, legend, button, footer a')).map(e => e.innerText.trim())`

func TestBrowserSignUpSwitchLanguageSignOutSignIn(t *testing.T) {
	h := apptest.Start(t)
	ctx := browsertest.New(t, 60*time.Second)

	if err := chromedp.Do(ctx, chromedp.Navigate(h.URL+"/signup"), chromedp.WaitVisible(css("#signup-submit"))); err != nil {
		t.Fatal(err)
	}
	// Headless Chromium asks for English; the switcher offers French.
	if lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || lang != "en" {
		t.Fatalf("first visit in %q (%v), want en", lang, err)
	}
	english, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](visibleLabels))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(css("#lang-switch")), chromedp.WaitVisible(css(`html[lang="fr"] #signup-submit`))); err != nil {
		t.Fatal(err)
	}
	french, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](visibleLabels))
	if err != nil {
		t.Fatal(err)
	}
	if len(english) != len(french) || len(english) < 15 {
		t.Fatalf("label lists differ in length: %q vs %q", english, french)
	}
	for i := range english {
		if english[i] == french[i] {
			t.Errorf("label %d did not change with the language: %q", i, english[i])
		}
	}

	err = chromedp.Do(ctx,
		chromedp.SendKeys(css("#name"), "Léa Dubois"),
		chromedp.SendKeys(css("#email"), "lea@example.fr"),
		chromedp.SendKeys(css("#password"), "correct horse battery"),
		chromedp.SendKeys(css("#password_confirm"), "correct horse battery"),
		chromedp.SetValue(css("#country"), "FR"), // a <select> of countries by name
		chromedp.SendKeys(css("#city"), "Lyon"),
		chromedp.Click(css("#signup-submit")),
		chromedp.WaitVisible(css("#account-email")),
	)
	if err != nil {
		t.Fatal(err)
	}
	account, err := chromedp.Run(ctx, chromedp.Text(css("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(account, "lea@example.fr") || !strings.Contains(account, "Mon compte") {
		t.Fatalf("account page after sign-up (in French):\n%s", account)
	}

	if err := chromedp.Do(ctx, chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#nav-signin"))); err != nil {
		t.Fatal(err)
	}
	if flash, err := chromedp.Run(ctx, chromedp.Text(css(".flash"))); err != nil || flash == "" {
		t.Fatalf("no confirmation after signing out (%v)", err)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(css("#nav-signin")),
		chromedp.WaitVisible(css("#signin-submit")),
		chromedp.SendKeys(css("#email"), "lea@example.fr"),
		chromedp.SendKeys(css("#password"), "wrong password"),
		chromedp.Click(css("#signin-submit")),
		chromedp.WaitVisible(css("#form-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	errText, err := chromedp.Run(ctx, chromedp.Text(css("#form-error")))
	if err != nil || !strings.Contains(errText, "incorrect") {
		t.Fatalf("wrong-password message: %q (%v)", errText, err)
	}

	err = chromedp.Do(ctx,
		chromedp.SendKeys(css("#password"), "correct horse battery"),
		chromedp.Click(css("#signin-submit")),
		chromedp.WaitVisible(css("#signout")),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowserBuyServiceWithBalanceAndWatchProgress(t *testing.T) {
	h := apptest.Start(t)
	newService(t, h, "posts", 25)
	u, _ := h.User(t, "customer", "lea@example.fr")
	credit(t, h, u, 10000)
	ctx := browsertest.New(t, 60*time.Second)

	err := chromedp.Do(ctx,
		signIn(h, "lea@example.fr"),
		chromedp.Navigate(h.URL+"/shop/posts"),
		chromedp.WaitVisible(css("#quantity")),
		chromedp.SetValue(css("#quantity"), "100"),
		chromedp.Click(css("#add-to-cart")),
		chromedp.WaitVisible(css("#checkout-submit")),
		chromedp.Click(css("#accept_policy")),
		chromedp.Click(css("#checkout-submit")),
		chromedp.WaitVisible(css("#consent-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The customer's language is French: so is the error.
	msg, err := chromedp.Run(ctx, chromedp.Text(css("#consent-error")))
	if err != nil || !strings.Contains(msg, "cocher les deux cases") {
		t.Fatalf("consent error %q (%v)", msg, err)
	}
	if balanceOf(t, h, u) != 10000 {
		t.Fatal("the refused checkout charged the balance")
	}
	// The policy box the customer ticked is still ticked: only the two
	// consent boxes remain.
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(css("#accept_policy:checked")),
		chromedp.Click(css("#immediate_performance")),
		chromedp.Click(css("#withdrawal_waiver")),
		chromedp.Click(css("#checkout-submit")),
		chromedp.WaitVisible(css("#order-status")),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text(css("#order-status")))
	if status != "En cours" || balanceOf(t, h, u) != 7500 {
		t.Fatalf("after paying: status %q, balance %d", status, balanceOf(t, h, u))
	}
	orders, _, err := h.App.Orders.List(context.Background(), orderFilter(u.ID))
	if err != nil || len(orders) != 1 {
		t.Fatalf("orders: %v %v", orders, err)
	}
	o := orders[0]
	if _, err := h.App.Orders.RecordDelivery(context.Background(), deliveryOf(o.ID, o.Lines[0].ID, 40)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(css(`progress[value="40"]`))); err != nil {
		t.Fatal(err)
	}
	progress, _ := chromedp.Run(ctx, chromedp.Text(css(".progress-text")))
	if !strings.Contains(progress, "40 sur 100") {
		t.Fatalf("progress text %q", progress)
	}
}

func TestBrowserStartAndCancelSubscription(t *testing.T) {
	h := apptest.Start(t)
	newPlan(t, h, "pro", 990, 0)
	u, _ := h.User(t, "customer", "lea@example.fr")
	credit(t, h, u, 5000)
	ctx := browsertest.New(t, 60*time.Second)
	err := chromedp.Do(ctx,
		signIn(h, "lea@example.fr"),
		chromedp.Navigate(h.URL+"/shop/pro"),
		chromedp.WaitVisible(css("#subscribe-submit")),
		chromedp.Click(css("#immediate_performance")),
		chromedp.Click(css("#withdrawal_waiver")),
		chromedp.Click(css("#accept_policy")),
		chromedp.Click(css("#subscribe-submit")),
		chromedp.WaitVisible(css("#cancel-submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	subURL, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	// Inside 7 days of the payment: the page says, before confirming, that
	// the payment comes back.
	inside, _ := chromedp.Run(ctx, chromedp.Text(css("#if-period-end")))
	if !strings.Contains(inside, "9,90") {
		t.Fatalf("inside 7 days the page offers: %q", inside)
	}
	// Without asking for the refund, "keep until <date>" is scheduled and
	// can be undone.
	err = chromedp.Do(ctx,
		chromedp.Click(css("#refund-requested")),
		chromedp.Click(css("#mode-period-end")),
		chromedp.Click(css("#cancel-submit")),
		chromedp.WaitVisible(css("#claim-outcome")),
		chromedp.Navigate(subURL),
		chromedp.WaitVisible(css("#undo")),
		chromedp.Click(css("#undo")),
		chromedp.WaitVisible(css("#cancel-submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Outside the store's 7 days and the consumer's 14 days of withdrawal
	// (TestConsumerWithdrawsFromASubscriptionWithinFourteenDays): no
	// refund is offered; stop now.
	h.Clock.Advance(15 * 24 * time.Hour)
	err = chromedp.Do(ctx, chromedp.Navigate(subURL), chromedp.WaitVisible(css("#if-now")))
	if err != nil {
		t.Fatal(err)
	}
	outside, _ := chromedp.Run(ctx, chromedp.Text(css("#if-now")))
	if strings.Contains(outside, "9,90") || outside == "" {
		t.Fatalf("outside 14 days the page offers: %q", outside)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(css("#mode-now")),
		chromedp.Click(css("#cancel-submit")),
		chromedp.WaitVisible(css("#claim-outcome")),
		chromedp.Navigate(subURL),
		chromedp.WaitVisible(css("#subscription-status")),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text(css("#subscription-status")))
	if status != "Terminé" || balanceOf(t, h, u) != 5000-990 {
		t.Fatalf("after stopping now: status %q, balance %d", status, balanceOf(t, h, u))
	}
}

func TestBrowserNonDeliveryClaimShowsRefundAndReason(t *testing.T) {
	h := apptest.Start(t)
	u, _ := h.User(t, "customer", "lea@example.fr")
	o := buyAndDeliver(t, h, u, 40)
	h.Clock.Advance(73 * time.Hour) // past the 3-day processing time, inside the 7-day window
	ctx := browsertest.New(t, 60*time.Second)
	err := chromedp.Do(ctx,
		signIn(h, "lea@example.fr"),
		chromedp.Navigate(h.URL+"/orders/"+o.ID),
		chromedp.WaitVisible(css("#claim-submit")),
		chromedp.SetValue(css("#claim-kind"), "non_delivery"),
		chromedp.SendKeys(css("#claim-message"), "Seulement 40 publications."),
		chromedp.Click(css("#claim-submit")),
		chromedp.WaitVisible(css("#claim-refund")),
	)
	if err != nil {
		t.Fatal(err)
	}
	refund, _ := chromedp.Run(ctx, chromedp.Text(css("#claim-refund")))
	why, _ := chromedp.Run(ctx, chromedp.Text(css("#claim-reason")))
	if !strings.Contains(refund, "15,00") || !strings.Contains(why, "40 sur 100") {
		t.Fatalf("refund %q, reason %q", refund, why)
	}
	if balanceOf(t, h, u) != 7500+1500 {
		t.Fatalf("balance %d", balanceOf(t, h, u))
	}
}

func TestBrowserContactAgentAnswersCustomerSeesIt(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, "customer", "lea@example.fr")
	h.User(t, "agent", "agent@shop.test")
	customer := browsertest.New(t, 60*time.Second)
	err := chromedp.Do(customer,
		signIn(h, "lea@example.fr"),
		chromedp.Navigate(h.URL+"/contact"),
		chromedp.WaitVisible(css("#contact-submit")),
		chromedp.SetValue(css("#topic"), "non_delivery"),
		chromedp.SendKeys(css("#message"), "Ma commande n’est pas arrivée."),
		chromedp.Click(css("#contact-submit")),
		chromedp.WaitVisible(css("#contact-promise")),
	)
	if err != nil {
		t.Fatal(err)
	}
	agent := browsertest.New(t, 60*time.Second)
	err = chromedp.Do(agent,
		signIn(h, "agent@shop.test"),
		chromedp.Navigate(h.URL+"/console/tickets"),
		chromedp.WaitVisible(css("#queue a")),
		chromedp.Click(css("#queue a")),
		chromedp.WaitVisible(css("#reply-submit")),
		chromedp.SendKeys(css("#text"), "Elle part demain matin."),
		chromedp.Click(css("#reply-submit")),
		chromedp.WaitVisible(css(".flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(customer,
		chromedp.Navigate(h.URL+"/support/tickets"),
		chromedp.WaitVisible(css("main table a")),
		chromedp.Click(css("main table a")),
		chromedp.WaitVisible(css("#customer-reply")),
	)
	if err != nil {
		t.Fatal(err)
	}
	thread, _ := chromedp.Run(customer, chromedp.Text(css("main")))
	if !strings.Contains(thread, "Elle part demain matin.") || !strings.Contains(thread, "Ma commande n’est pas arrivée.") {
		t.Fatalf("the customer's thread:\n%s", thread)
	}
}

func TestBrowserSLABadgeTurnsLateWithTheClock(t *testing.T) {
	h := apptest.Start(t)
	h.User(t, "agent", "agent@shop.test")
	c := h.NewClient(t)
	c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Bonjour"}})
	ctx := browsertest.New(t, 60*time.Second)
	if err := chromedp.Do(ctx, signIn(h, "agent@shop.test"), chromedp.Navigate(h.URL+"/console/tickets"), chromedp.WaitVisible(css("#queue .badge"))); err != nil {
		t.Fatal(err)
	}
	if late, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#queue .badge.bad').length`)); late != 0 {
		t.Fatal("late before the promised time")
	}
	h.Clock.Advance(49 * time.Hour)
	if _, err := h.App.Desk.MarkBreaches(context.Background(), h.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(css("#queue .badge.bad"))); err != nil {
		t.Fatal(err)
	}
}
