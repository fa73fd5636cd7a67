package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/mail"
)

// The welcome mail was written but never sent: a new customer heard
// nothing of the account made with their address, and the owner of an
// address someone else signed up with never learned it. Signing up, on the
// page or through the API, now mails it in the account's language: the
// store's name, where the account is, the Contact page, and how to take
// over an account one did not make (a password reset). It never holds the
// name typed at sign-up: the address is not proven.
func TestSignUpSendsTheWelcomeMail(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	const bait = "Visit evil.example"
	r := h.NewClient(t).PostForm("/signup", url.Values{"name": {bait}, "email": {"ines@example.fr"}, "password": {apptest.Password},
		"password_confirm": {apptest.Password}, "customer_type": {"consumer"}, "country": {"FR"}, "city": {"Rennes"}, "language": {"fr"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	body := `{"email":"ann@example.com","password":"` + apptest.Password + `","name":"` + bait + `","language":"en","country":"IE","city":"Cork"}`
	if r := postJSON(h.NewClient(t), "/api/v1/signup", body, nil); r.Status != http.StatusCreated {
		t.Fatalf("API sign-up: %d %s", r.Status, r.Body)
	}
	store := h.App.Config.StoreName
	for _, tc := range []struct {
		email, lang, subject string
		want                 []string
	}{
		{"ines@example.fr", "fr", "Bienvenue chez " + store, []string{"Bonjour,\n", "Votre compte " + store + " est prêt",
			"d’assistance\u00a0:\n" + h.URL + "/account\n", "page Contact\u00a0: " + h.URL + "/contact\n",
			"Vous n’avez pas créé ce compte\u00a0?", "toute autre personne\u00a0:\n" + h.URL + "/reset\n", "L’équipe " + store + "\n"}},
		{"ann@example.com", "en", "Welcome to " + store, []string{"Hello,\n", "Your " + store + " account is ready",
			"support team:\n" + h.URL + "/account\n", "Contact page: " + h.URL + "/contact\n", "You did not create this account?",
			"out of it:\n" + h.URL + "/reset\n", "The " + store + " team\n"}},
	} {
		u, err := h.App.Accounts.UserByEmail(ctx, tc.email)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "welcome"})
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: %d welcome mails (%v), want 1", tc.lang, len(ms), err)
		}
		m := ms[0]
		if m.To != tc.email || m.Lang != tc.lang || m.Subject != tc.subject || m.ToName != "" {
			t.Errorf("%s: welcome to %q (%q) in %s, subject %q", tc.lang, m.To, m.ToName, m.Lang, m.Subject)
		}
		for _, want := range tc.want {
			if !strings.Contains(m.Text, want) {
				t.Errorf("%s: the welcome mail lacks %q:\n%s", tc.lang, want, m.Text)
			}
		}
		if strings.Contains(m.Text, "evil.example") {
			t.Errorf("%s: the welcome mail carries the name typed:\n%s", tc.lang, m.Text)
		}
	}
	// A sign-up refused (the address taken) mails nothing.
	if r := postJSON(h.NewClient(t), "/api/v1/signup", body, nil); r.Status != http.StatusConflict {
		t.Fatalf("the same address again: %d", r.Status)
	}
	if ms, _ := h.App.Outbox.List(ctx, mail.Filter{Kind: "welcome"}); len(ms) != 2 {
		t.Fatalf("%d welcome mails after a refused sign-up, want 2", len(ms))
	}
}

// A sign-up whose two passwords differ names every other wrong field with
// it, and keeps what was typed. Before, it said only "the passwords do not
// match": once they did, the visitor learnt of the missing city and the
// country spelt out, one more round each.
func TestSignUpNamesEveryWrongFieldAtOnce(t *testing.T) {
	h := apptest.Start(t)
	for _, lang := range []string{"fr", "en"} {
		c := h.NewClient(t)
		c.PostForm("/lang", url.Values{"lang": {lang}})
		r := c.PostForm("/signup", url.Values{"name": {"Zoé Martin"}, "email": {"zoe@example.fr"}, "password": {apptest.Password},
			"password_confirm": {apptest.Password + "x"}, "customer_type": {"consumer"}, "country": {"France"}, "city": {""}, "language": {lang}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: sign-up with differing passwords: %d", lang, r.Status)
		}
		mustContain(t, r, `id="password_confirm-error"`, `id="country-error"`, `id="city-error"`, `value="Zoé Martin"`, `value="zoe@example.fr"`)
		if strings.Contains(r.Body, `id="password-error"`) || strings.Contains(r.Body, `id="email-error"`) {
			t.Errorf("%s: a right field is called wrong", lang)
		}
		want := map[string]string{"fr": "Choisissez votre pays dans la liste.", "en": "Choose your country from the list."}[lang]
		mustContain(t, r, want)
	}
	if _, err := h.App.Accounts.UserByEmail(context.Background(), "zoe@example.fr"); err == nil {
		t.Fatal("an account was opened")
	}
}
