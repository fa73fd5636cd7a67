package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
)

// A VAT rate refused says which field is at fault, beside it and in the
// admin's language, and adds nothing; a rate already there for that date
// is refused at the date. A bad export period comes back on the page with
// its form, the reason at the date at fault. Before, every refusal was one
// sentence above the form tied to no field, and a bad period an error page.
func TestAdminVATRefusalsNameTheirField(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	for _, c := range []struct {
		form   url.Values
		fields map[string]string
		says   string
	}{
		{url.Values{"country": {"EL"}, "rate": {"24"}, "from": {"2027-01-01"}}, map[string]string{"country": "country"}, "État membre de l’UE dans la liste"},
		{url.Values{"country": {"FR"}, "rate": {"120"}, "from": {"2027-01-01"}}, map[string]string{"rate": "rate"}, "entre 0 et 99,99"},
		{url.Values{"country": {"FR"}, "rate": {"20"}, "from": {"1/1/2027"}}, map[string]string{"from": "from"}, "à partir de laquelle"},
		{url.Values{"country": {"XX"}, "rate": {"abc"}, "from": {""}}, map[string]string{"country": "country", "rate": "rate", "from": "from"}, "État membre"},
	} {
		r := admin.PostForm("/admin/vat", c.form)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d, want 422", c.form, r.Status)
			continue
		}
		mustMarkRefused(t, c.form.Encode(), r.Body, c.fields)
		mustContain(t, r, c.says)
	}
	rates, _ := h.App.Invoices.Rates(t.Context())
	if r := admin.PostForm("/admin/vat", url.Values{"country": {"FR"}, "rate": {"19,6"}, "from": {"2027-01-01"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("a good rate: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Invoices.Rates(t.Context()); len(got) != len(rates)+1 {
		t.Fatalf("%d rates after adding one to %d (refused ones added?)", len(got), len(rates))
	}
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	r := admin.PostForm("/admin/vat", url.Values{"country": {"fr"}, "rate": {"21"}, "from": {"2027-01-01"}})
	if r.Status != http.StatusConflict {
		t.Fatalf("a second rate for the same date: %d", r.Status)
	}
	mustMarkRefused(t, "same date", r.Body, map[string]string{"from": "from"})
	mustContain(t, r, "already has a rate from that date")

	r = admin.Get("/admin/invoices.csv?from=2027-02-01&to=2027-01-01")
	if r.Status != http.StatusBadRequest {
		t.Fatalf("a period ending before it starts: %d", r.Status)
	}
	mustMarkRefused(t, "period", r.Body, map[string]string{"to": "export_to"})
	mustContain(t, r, `value="2027-02-01"`, "the end not before the start")
}

// A balance movement refused says why beside the field at fault, in the
// admin's language, and moves nothing. Before, every reason stood above
// the form tied to no field, and an amount beyond the ledger's largest
// movement was answered "A reason is required." though one was given; a
// debit beyond the customer's balance told the admin "Your balance is
// insufficient for this order".
func TestAdminCreditRefusalsNameTheirField(t *testing.T) {
	h := apptest.Start(t)
	a, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	before := balanceOf(t, h, a)
	for _, c := range []struct {
		form   url.Values
		fields map[string]string
		says   string
	}{
		{url.Values{"email": {"nobody@example.fr"}, "amount": {"5"}, "reason": {"goodwill"}}, map[string]string{"email": "email"}, "No customer has this email address."},
		{url.Values{"email": {"admin@shop.test"}, "amount": {"5"}, "reason": {"goodwill"}}, map[string]string{"email": "email"}, "No customer has this email address."},
		{url.Values{"email": {a.Email}, "amount": {"-5"}, "reason": {"goodwill"}}, map[string]string{"amount": "amount"}, "Enter a positive amount"},
		{url.Values{"email": {a.Email}, "amount": {"100000000000"}, "reason": {"goodwill"}}, map[string]string{"amount": "amount"}, "beyond the largest movement"},
		{url.Values{"email": {a.Email}, "amount": {"5"}, "reason": {"  "}}, map[string]string{"reason": "reason"}, "A reason is required."},
		{url.Values{"email": {a.Email}, "amount": {"5000"}, "reason": {"correction"}, "direction": {"debit"}}, map[string]string{"amount": "amount"}, "This customer’s balance, €0.00, does not cover this debit"},
	} {
		c.form.Set("credit_key", formKey(t, admin.Get("/admin"), "credit_key"))
		r := admin.PostForm("/admin/credits", c.form)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d, want 422", c.form, r.Status)
			continue
		}
		mustMarkRefused(t, c.form.Encode(), r.Body, c.fields)
		mustContain(t, r, c.says)
	}
	if got := balanceOf(t, h, a); got != before {
		t.Fatalf("balance %d after refused movements, was %d", got, before)
	}
}
