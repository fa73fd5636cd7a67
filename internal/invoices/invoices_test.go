package invoices_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/catalog"
	"comptoir/internal/config"
	"comptoir/internal/invoices"
	"comptoir/internal/mail"
	"comptoir/internal/money"
	"comptoir/internal/orders"
	"comptoir/internal/pdftext"
	"comptoir/internal/testwait"
)

var adminActor = audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}

func product(t testing.TB, h *apptest.Harness, slug string, price int64) catalog.Product {
	t.Helper()
	p, err := h.App.Catalog.Create(context.Background(), adminActor, catalog.ProductInput{
		Slug: slug, Kind: catalog.KindService, NameFR: "Publications " + slug, NameEN: "Posts " + slug,
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(price, "EUR"),
		MinQuantity: 1, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// customer signs up a customer of a country and type, with balance.
func customer(t testing.TB, h *apptest.Harness, email, lang, country, ctype, vat string, balance int64) account.User {
	t.Helper()
	u, err := h.App.Accounts.SignUp(context.Background(), account.SignUpInput{
		Email: email, Password: apptest.Password, Name: "Zoé " + country, Language: lang, Country: country, City: "Ville",
		CustomerType: ctype, VATNumber: vat,
	})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	if balance > 0 {
		if _, err := h.App.Ledger.AdminCredit(context.Background(), adminActor, u.ID, money.MustNew(balance, "EUR"), "test"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func buy(h *apptest.Harness, u account.User, p catalog.Product, qty int) (orders.Order, error) {
	return h.App.Orders.Place(context.Background(), orders.PlaceInput{
		CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: qty}}, Payment: orders.PayBalance,
		ImmediatePerformance: true, WithdrawalWaiver: true,
	}, nil)
}

func invoiceOf(t *testing.T, h *apptest.Harness, orderID string) invoices.Invoice {
	t.Helper()
	docs, err := h.App.Invoices.ForOrder(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if d.Kind == invoices.KindInvoice {
			return d
		}
	}
	t.Fatalf("order %s has no invoice (%d documents)", orderID, len(docs))
	return invoices.Invoice{}
}

// checkSequence asserts that the series holds numbers 1..want for the
// year, each once, once the numberer (woken by the payments' commits) has
// numbered every pending document.
func checkSequence(t *testing.T, h *apptest.Harness, series string, want int) {
	t.Helper()
	q := h.App.DB.Read
	testwait.Until(t, "the numberer to number every pending document", func() bool {
		var pending int
		q.QueryRow(`SELECT COUNT(*) FROM invoices WHERE number IS NULL`).Scan(&pending)
		return pending == 0
	})
	rows, err := q.QueryContext(context.Background(), `SELECT year, seq FROM invoices WHERE series = $1 ORDER BY year, seq`, series)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var year, seq int
		if err := rows.Scan(&year, &seq); err != nil {
			t.Fatal(err)
		}
		n++
		if seq != n {
			t.Fatalf("series %s: number %d where %d was due (gap or duplicate)", series, seq, n)
		}
	}
	if n != want {
		t.Fatalf("series %s has %d numbers, want %d", series, n, want)
	}
}

func TestConcurrentCheckoutsNumberWithoutGap(t *testing.T) {
	h := apptest.Start(t)
	p := product(t, h, "posts", 100)
	// 50 buyers can pay, 10 cannot: their checkouts fail after the
	// invoice was numbered in the transaction, and must give the number
	// back.
	var buyers []account.User
	for i := range 60 {
		bal := int64(100)
		if i%6 == 5 {
			bal = 0
		}
		buyers = append(buyers, customer(t, h, fmt.Sprintf("c%d@example.fr", i), "fr", "FR", "consumer", "", bal))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(buyers))
	for i, u := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = buy(h, u, p, 1)
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, orders.ErrInsufficientBalance) && i%6 == 5:
		default:
			t.Fatalf("checkout %d: %v", i, err)
		}
	}
	if ok != 50 {
		t.Fatalf("%d checkouts went through, want 50", ok)
	}
	checkSequence(t, h, invoices.SeriesInvoice, 50)
	var last int
	h.App.DB.Read.QueryRow(`SELECT last FROM invoice_counters WHERE series = 'F' AND year = 2026`).Scan(&last)
	if last != 50 {
		t.Fatalf("counter at %d after 50 invoices", last)
	}
}

func pdfText(t *testing.T, inv invoices.Invoice, h *apptest.Harness) string {
	t.Helper()
	b, err := h.App.Invoices.PDF(inv, translator(h, inv.Lang))
	if err != nil {
		t.Fatal(err)
	}
	return pdftext.Text(t, b)
}

func translator(h *apptest.Harness, lang string) invoices.Translate {
	return func(id string, kv ...any) string {
		data := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			data[kv[i].(string)] = kv[i+1]
		}
		return h.App.Messages.T(lang, id, data)
	}
}

func TestVATByCountryReverseChargeAndPDF(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SellerName, c.SellerAddress, c.SellerVATNumber, c.SellerRegistration = "Éditions Zoé SAS", "12 rue de la Paix, 75002 Paris", "FR12345678901", "RCS Paris 123 456 789"
	})
	p := product(t, h, "posts", 1200) // 12.00 € VAT included
	for _, tc := range []struct {
		name, lang, country, ctype, vat string
		rate                            int
		vatMinor                        int64
		reverse                         bool
		reason                          string
		mention                         string
	}{
		{"French consumer", "fr", "FR", "consumer", "", 2000, 400, false, invoices.ReasonSellerCountry, "TVA facturée au taux en vigueur dans le pays d’imposition : France (pays du vendeur)"},
		{"Belgian consumer", "fr", "BE", "consumer", "", 2100, 417, false, invoices.ReasonBuyerCountry, "TVA facturée au taux en vigueur dans le pays d’imposition : Belgique (pays du client, guichet unique)"},
		{"Finnish consumer", "en", "FI", "consumer", "", 2550, 488, false, invoices.ReasonBuyerCountry, "VAT charged at the rate in force in the country of taxation: Finland (the customer’s country, one-stop shop)"},
		{"German business", "en", "DE", "business", "DE123456789", 0, 0, true, invoices.ReasonReverseCharge, "Reverse charge: VAT to be accounted for by the customer (Article 196 of Council Directive 2006/112/EC)"},
		{"Italian business, French words", "fr", "IT", "business", "IT12345678901", 0, 0, true, invoices.ReasonReverseCharge, "Autoliquidation : TVA due par le preneur (article 196 de la directive 2006/112/CE)"},
		{"Swiss consumer", "fr", "CH", "consumer", "", 0, 0, false, invoices.ReasonOutsideEU, "TVA non applicable : lieu de la prestation hors du territoire de TVA de l’Union européenne"},
		// In the Union (consumer law applies there) but outside its VAT
		// territory: the mention must not say "outside the European Union".
		{"Reunion consumer", "en", "RE", "consumer", "", 0, 0, false, invoices.ReasonOutsideEU, "VAT not applicable: the place of supply is outside the VAT territory of the European Union"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := customer(t, h, strings.ToLower(tc.country)+"@example.test", tc.lang, tc.country, tc.ctype, tc.vat, 10_000)
			o, err := buy(h, u, p, 2)
			if err != nil {
				t.Fatal(err)
			}
			inv := invoiceOf(t, h, o.ID)
			if inv.VATReason != tc.reason || inv.ReverseCharge != tc.reverse || inv.Lines[0].RateBP != tc.rate ||
				inv.VAT.Minor != tc.vatMinor || inv.Total.Minor != 2400 || inv.Net.Minor != 2400-tc.vatMinor {
				t.Fatalf("invoice: reason %s reverse %v rate %d, %d + %d = %d", inv.VATReason, inv.ReverseCharge, inv.Lines[0].RateBP,
					inv.Net.Minor, inv.VAT.Minor, inv.Total.Minor)
			}
			if inv.BillingCountry != tc.country || inv.Lang != tc.lang || inv.BuyerVATNumber != tc.vat {
				t.Fatalf("evidence: %+v", inv)
			}
			text := pdfText(t, inv, h)
			title := "Facture"
			if tc.lang == "en" {
				title = "Invoice"
			}
			date := "Issued on 2026-03-08"
			if tc.lang == "fr" {
				date = "Émise le 08/03/2026"
			}
			for _, want := range []string{title + " " + inv.Number, date, "Éditions Zoé SAS", "12 rue de la Paix, 75002 Paris", "FR12345678901",
				"RCS Paris 123 456 789", u.Name, tc.mention, o.ID} {
				if !strings.Contains(text, want) {
					t.Errorf("PDF text lacks %q:\n%s", want, text)
				}
			}
			if tc.vat != "" && !strings.Contains(text, tc.vat) {
				t.Errorf("PDF lacks the buyer's VAT number %s", tc.vat)
			}
			if late := strings.Contains(text, "40 €") || strings.Contains(text, "€40"); late != (tc.ctype == "business") {
				t.Errorf("late-payment terms shown: %v, for a %s", late, tc.ctype)
			}
			if tc.lang == "fr" && !strings.Contains(text, "24,00 €") {
				t.Errorf("PDF lacks the total in French with the euro sign:\n%s", text)
			}
		})
	}
	checkSequence(t, h, invoices.SeriesInvoice, 7)
}

func TestPricesExcludingVATAddTheRate(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) { c.PricesExcludeVAT = true })
	p := product(t, h, "posts", 1000)
	u := customer(t, h, "be@example.test", "fr", "BE", "consumer", "", 10_000)
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	inv := invoiceOf(t, h, o.ID)
	if inv.Net.Minor != 1000 || inv.VAT.Minor != 210 || inv.Total.Minor != 1210 || !strings.Contains(inv.VATReason, "buyer_country") {
		t.Fatalf("excl. VAT invoice %d + %d = %d (%s)", inv.Net.Minor, inv.VAT.Minor, inv.Total.Minor, inv.VATReason)
	}
	if o.Total.Minor != 1210 {
		t.Fatalf("the order charged %d, not the price plus VAT", o.Total.Minor)
	}
}

func TestRefundIssuesCreditNoteReferringToInvoice(t *testing.T) {
	h := apptest.Start(t)
	p := product(t, h, "posts", 1200)
	u := customer(t, h, "ana@example.fr", "fr", "FR", "consumer", "", 10_000)
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	inv := invoiceOf(t, h, o.ID)
	ctx := context.Background()
	refund := func(amount int64) error {
		return h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			return h.App.Orders.RefundLineTx(ctx, tx, o.ID, o.Lines[0].ID, money.MustNew(amount, "EUR"), adminActor)
		})
	}
	if err := refund(600); err != nil {
		t.Fatal(err)
	}
	// Too much: refused, and no credit note number is used.
	if err := refund(700); !errors.Is(err, orders.ErrOverRefund) {
		t.Fatalf("over-refund: %v", err)
	}
	if err := refund(600); err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d documents for the order, want the invoice and two credit notes", len(docs))
	}
	for i, cn := range docs[1:] {
		want := invoices.FormatNumber(invoices.SeriesCreditNote, 2026, i+1)
		if cn.Kind != invoices.KindCreditNote || cn.RefersTo != inv.ID || cn.RefersToNumber != inv.Number || cn.Number != want ||
			cn.Total.Minor != 600 || cn.VAT.Minor != 100 || cn.Lines[0].RateBP != 2000 {
			t.Fatalf("credit note %d: %+v", i, cn)
		}
	}
	checkSequence(t, h, invoices.SeriesCreditNote, 2)
	text := pdfText(t, docs[1], h)
	for _, want := range []string{"Avoir " + docs[1].Number, "Avoir sur la facture " + inv.Number, "6,00 €"} {
		if !strings.Contains(text, want) {
			t.Errorf("credit note PDF lacks %q:\n%s", want, text)
		}
	}
	// An invoice cannot be changed once issued.
	if _, err := h.App.DB.Write.Exec(`UPDATE invoices SET total = 1 WHERE id = $1`, inv.ID); err == nil {
		t.Fatal("an issued invoice was changed")
	}

	// The CSV export of the period: lines and totals, the credit notes
	// subtracted.
	_, adminClient := h.User(t, account.RoleAdmin, "admin@shop.test")
	r := adminClient.Get("/admin/invoices.csv?from=2026-03-01&to=2026-03-31")
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	for _, want := range []string{
		"line," + inv.Number + ",invoice,",
		"line," + docs[1].Number + ",credit_note,",
		",FR,seller_country,false,,,,20,0.00,0.00,0.00,EUR", // 12 - 6 - 6
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("CSV lacks %q:\n%s", want, r.Body)
		}
	}
	if r := adminClient.Get("/admin/invoices.csv?from=2026-04-01&to=2026-03-01"); r.Status != http.StatusBadRequest {
		t.Fatalf("backwards period: %d", r.Status)
	}
}

func TestCSVTotalsPerCountryAndRate(t *testing.T) {
	h := apptest.Start(t)
	p := product(t, h, "posts", 1200)
	fr := customer(t, h, "fr@example.test", "fr", "FR", "consumer", "", 100_000)
	be := customer(t, h, "be@example.test", "fr", "BE", "consumer", "", 100_000)
	de := customer(t, h, "de@example.test", "en", "DE", "business", "DE123456789", 100_000)
	for _, b := range []struct {
		u   account.User
		qty int
	}{{fr, 1}, {fr, 2}, {be, 1}, {de, 3}} {
		if _, err := buy(h, b.u, p, b.qty); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := h.App.Invoices.Period(context.Background(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]invoices.Total{}
	for _, tot := range invoices.Totals(docs) {
		got[tot.Country+"/"+tot.Reason] = tot
	}
	want := map[string][3]int64{
		"FR/seller_country": {3000, 600, 3600},
		"BE/buyer_country":  {992, 208, 1200},
		"/reverse_charge":   {3600, 0, 3600},
	}
	if len(got) != len(want) {
		t.Fatalf("totals %+v", got)
	}
	for k, w := range want {
		g := got[k]
		if g.Net != w[0] || g.VAT != w[1] || g.Gross != w[2] {
			t.Errorf("%s: %d + %d = %d, want %v", k, g.Net, g.VAT, g.Gross, w)
		}
	}
	var buf bytes.Buffer
	if err := invoices.WriteCSV(&buf, docs); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\nline,"); n != 4 {
		t.Fatalf("%d lines in the CSV:\n%s", n, buf.String())
	}
}

func TestInvoicePagesAndAPI(t *testing.T) {
	h := apptest.Start(t)
	p := product(t, h, "posts", 1200)
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	if _, err := h.App.Ledger.AdminCredit(context.Background(), adminActor, u.ID, money.MustNew(5000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	o, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	inv := invoiceOf(t, h, o.ID)
	if r := c.Get("/invoices"); r.Status != http.StatusOK || !strings.Contains(r.Body, inv.Number) {
		t.Fatalf("my invoices: %d", r.Status)
	}
	r := c.Get("/invoices/" + inv.ID)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Facture "+inv.Number) || !strings.Contains(r.Body, "Total TTC") {
		t.Fatalf("invoice page: %d\n%s", r.Status, r.Body)
	}
	r = c.Get("/invoices/" + inv.ID + ".pdf")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "%PDF-") {
		t.Fatalf("invoice PDF: %d %.20q", r.Status, r.Body)
	}
	r = c.Send("GET", "/api/v1/invoices", "", nil, nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"number":"`+inv.Number+`"`) || !strings.Contains(r.Body, `"kind":"invoice"`) ||
		!strings.Contains(r.Body, `"order_id":"`+o.ID+`"`) || !strings.Contains(r.Body, `"vat":{"amount":200,"currency":"EUR"}`) {
		t.Fatalf("API list: %d %s", r.Status, r.Body)
	}
	// The order page lists it; the console shows the VAT evidence.
	if r := c.Get("/orders/" + o.ID); r.Status != http.StatusOK || !strings.Contains(r.Body, "/invoices/"+inv.ID+".pdf") || strings.Contains(r.Body, "Pays de TVA") {
		t.Fatalf("order page: %d", r.Status)
	}
	_, agent := h.User(t, account.RoleAgent, "agent@shop.test")
	if r := agent.Get("/console/orders/" + o.ID); r.Status != http.StatusOK || !strings.Contains(r.Body, "Pays de TVA\u00a0: France (FR) — pays du vendeur\u00a0;") {
		t.Fatalf("console order page: %d", r.Status)
	}
	// Someone else's invoice does not exist for another customer.
	_, other := h.User(t, account.RoleCustomer, "bob@example.fr")
	for _, path := range []string{"/invoices/" + inv.ID, "/invoices/" + inv.ID + ".pdf", "/api/v1/invoices/" + inv.ID} {
		if r := other.Get(path); r.Status != http.StatusNotFound {
			t.Fatalf("%s for another customer: %d", path, r.Status)
		}
	}
	// The buyer gets one email: the order's confirmation links the
	// invoice and carries its PDF, queued before it had a number.
	ctx := context.Background()
	if sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "invoice_issued"}); err != nil || len(sent) != 0 {
		t.Fatalf("%d invoice emails beside the confirmation, %v", len(sent), err)
	}
	sent, err := h.App.Outbox.List(ctx, mail.Filter{UserID: u.ID, Kind: "order_confirmation"})
	if err != nil || len(sent) != 1 {
		t.Fatalf("%d confirmations, %v", len(sent), err)
	}
	full, err := h.App.Outbox.Get(ctx, sent[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.Text, "Votre facture est jointe en PDF") || !strings.Contains(full.Text, "/invoices/"+inv.ID) ||
		len(full.Attachments) != 1 || full.Attachments[0].Source != "invoice:"+inv.ID {
		t.Fatalf("confirmation: %q, %+v", full.Text, full.Attachments)
	}
	// The PDF is drawn when the message is sent, under the invoice's
	// number: the spooled message (no relay in tests) carries it, base64
	// of "%PDF-" first.
	eml := filepath.Join(mail.SpoolDir(h.App.Config.DataDir), sent[0].ID+".eml")
	var raw []byte
	testwait.Until(t, "the confirmation to be sent", func() bool {
		raw, err = os.ReadFile(eml)
		return err == nil
	})
	if !strings.Contains(string(raw), "Content-Type: application/pdf") || !strings.Contains(string(raw), `filename="`+inv.Number+`.pdf"`) ||
		!strings.Contains(string(raw), "JVBERi0") {
		t.Fatalf("the PDF is not attached in the MIME message:\n%.2000s", raw)
	}
	// Admin: the rate table takes a new rate from a date, refuses nonsense.
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	if r := admin.PostForm("/admin/vat", map[string][]string{"country": {"FR"}, "rate": {"21,5"}, "from": {"2026-03-08"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add rate: %d %s", r.Status, r.Body)
	}
	if r := admin.PostForm("/admin/vat", map[string][]string{"country": {"FR"}, "rate": {"abc"}, "from": {"2026-03-09"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad rate: %d", r.Status)
	}
	o2, err := buy(h, u, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if inv2 := invoiceOf(t, h, o2.ID); inv2.Lines[0].RateBP != 2150 {
		t.Fatalf("new rate not applied: %d", inv2.Lines[0].RateBP)
	}
	if r := admin.Get("/admin/vat"); r.Status != http.StatusOK || !strings.Contains(r.Body, "21,5") {
		t.Fatalf("rates page: %d", r.Status)
	}
}

func TestRenewalsAndTopUpsAreInvoiced(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u := customer(t, h, "be@example.test", "fr", "BE", "consumer", "", 10_000)
	sub := subscribedToPlan(t, h, u, 1200)
	h.Clock.Advance(32 * 24 * time.Hour)
	if err := h.App.Subscriptions.Renew(ctx, sub.ID, sub.CurrentPeriodEnd); err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("%d invoices for the subscription, want the first period and the renewal", len(docs))
	}
	for _, d := range docs {
		// Belgian consumer: 21 % inside the 12.00 € charged.
		if d.Source != invoices.SourceRenewal || d.Total.Minor != 1200 || d.VAT.Minor != 208 || d.VATCountry != "BE" {
			t.Fatalf("renewal invoice %+v", d)
		}
	}

	// A card top-up: credited and documented as a voucher, without VAT.
	pay := cardpayPayment(u.ID, 5000)
	err = h.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		return invoices.TopUpHandler{Next: topUpNext(h), Invoices: h.App.Invoices}.PaymentSucceeded(ctx, tx, pay)
	})
	if err != nil {
		t.Fatal(err)
	}
	top, err := h.App.Invoices.ForOrder(ctx, pay.ID)
	if err != nil || len(top) != 1 {
		t.Fatalf("top-up documents: %d %v", len(top), err)
	}
	if top[0].VAT.Minor != 0 || top[0].Total.Minor != 5000 || top[0].VATReason != invoices.ReasonVoucher {
		t.Fatalf("top-up invoice %+v", top[0])
	}
	if text := pdfText(t, top[0], h); !strings.Contains(text, "bon à usages multiples") {
		t.Fatalf("top-up PDF lacks the voucher mention:\n%s", text)
	}
	checkSequence(t, h, invoices.SeriesInvoice, 3)
}

func TestSubscriptionRefundIssuesCreditNote(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	u := customer(t, h, "ana@example.fr", "fr", "FR", "consumer", "", 10_000)
	sub := subscribedToPlan(t, h, u, 990)
	h.Clock.Advance(24 * time.Hour)
	c, err := fileCancel(h, u.ID, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := h.App.Invoices.ForOrder(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[1].Kind != invoices.KindCreditNote || docs[1].RefersTo != docs[0].ID || docs[1].Total.Minor != 990 {
		t.Fatalf("claim %s: documents %+v", c, docs)
	}
}

func TestNumbersStartAgainEachYear(t *testing.T) {
	h := apptest.Start(t)
	p := product(t, h, "posts", 500)
	u := customer(t, h, "ana@example.fr", "fr", "FR", "consumer", "", 10_000)
	var numbers []string
	for _, advance := range []time.Duration{0, 0, 300 * 24 * time.Hour, 0} { // 2026-03-08, 2026-03-08, 2027-01-02, 2027-01-02
		h.Clock.Advance(advance)
		o, err := buy(h, u, p, 1)
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, invoiceOf(t, h, o.ID).Number)
	}
	want := []string{"F-2026-000001", "F-2026-000002", "F-2027-000001", "F-2027-000002"}
	if strings.Join(numbers, " ") != strings.Join(want, " ") {
		t.Fatalf("numbers %v, want %v", numbers, want)
	}
	// The PDF from the API, for the owner.
	c := h.NewClient(t)
	inv, _ := h.App.Invoices.ListForCustomer(context.Background(), u.ID, 1)
	r := c.Send("GET", "/api/v1/invoices/"+inv[0].ID+".pdf", "", nil, h.Bearer(t, u.ID))
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "%PDF-") {
		t.Fatalf("API PDF: %d", r.Status)
	}
	r = c.Send("GET", "/api/v1/invoices/"+inv[0].ID, "", nil, h.Bearer(t, u.ID))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"number":"F-2027-000002"`) {
		t.Fatalf("API invoice: %d %s", r.Status, r.Body)
	}
}
