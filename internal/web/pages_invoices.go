package web

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/eu"
	"comptoir/internal/invoices"
	"comptoir/internal/locale"
	"comptoir/internal/money"
)

// loadInvoice reads the document the route names ("inv_…" or
// "inv_….pdf"), for its owner or an admin. pdf tells which was asked.
func (s *Server) loadInvoice(r *http.Request) (inv invoices.Invoice, pdf bool, err error) {
	if s.Invoices == nil {
		return invoices.Invoice{}, false, invoices.ErrNotFound
	}
	name := r.PathValue("file")
	id, pdf := strings.CutSuffix(name, ".pdf")
	inv, err = s.Invoices.Get(r.Context(), id)
	if err != nil {
		return invoices.Invoice{}, false, err
	}
	u := state(r).user
	if u.Role != account.RoleAdmin && inv.CustomerID != u.ID {
		return invoices.Invoice{}, false, invoices.ErrNotFound
	}
	return inv, pdf, nil
}

// invoiceT translates in the document's language, which is the
// customer's, whoever looks at it.
func (s *Server) invoiceT(lang string) invoices.Translate {
	return func(id string, kv ...any) string { return s.Messages.TPairs(lang, id, kv...) }
}

type invoiceLineView struct {
	Description, Quantity, Net, Rate, VAT, Total string
}

// invoiceView is a document as printed: every word and amount already in
// the document's language.
type invoiceView struct {
	Inv       invoices.Invoice
	Lang      string
	Title     string
	IssuedOn  string
	OrderRef  string
	L         func(id string) string
	SellerVAT string
	BuyerVAT  string
	Lines     []invoiceLineView
	Net       string
	VAT       string
	Total     string
	Mentions  []string
}

func (s *Server) invoiceViewData(inv invoices.Invoice) invoiceView {
	t := s.invoiceT(inv.Lang)
	m := func(a money.Amount) string { return money.Format(a, inv.Lang) }
	v := invoiceView{
		Inv: inv, Lang: inv.Lang, Title: invoices.Title(inv, t) + " " + inv.Number,
		IssuedOn: t("invoice.issued_on", "Date", s.Invoices.IssuedOn(inv)),
		L:        func(id string) string { return t(id) },
		Net:      m(inv.Net), VAT: m(inv.VAT), Total: m(inv.Total), Mentions: invoices.Mentions(inv, t),
	}
	v.OrderRef = invoices.SourceRef(inv, t)
	if inv.Seller.VATNumber != "" {
		v.SellerVAT = t("invoice.vat_number", "Number", inv.Seller.VATNumber)
	}
	if inv.BuyerVATNumber != "" {
		v.BuyerVAT = t("invoice.vat_number", "Number", inv.BuyerVATNumber)
	}
	for _, l := range inv.Lines {
		desc, qty := invoices.LineText(inv, l, t)
		v.Lines = append(v.Lines, invoiceLineView{Description: desc, Quantity: qty, Net: m(l.Net),
			Rate: invoices.RatePercent(l.RateBP, inv.Lang), VAT: m(l.VAT), Total: m(l.Total)})
	}
	return v
}

// invoiceRow is a document in a list, with its date.
type invoiceRow struct {
	invoices.Invoice
	Date string
}

// myInvoicesPage is how many documents a page of "My invoices" shows.
const myInvoicesPage = 50

// myInvoices lists the signed-in customer's invoices and credit notes
// ("My invoices"); an admin sees everyone's.
func (s *Server) myInvoices(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	owner := u.ID
	if u.Role == account.RoleAdmin {
		owner = ""
	}
	// Pages as the API does (?after=): the list stopped at 200 documents,
	// with no way to the older ones.
	var list []invoices.Invoice
	var next string
	if s.Invoices != nil {
		var err error
		list, next, err = s.Invoices.Page(r.Context(), owner, r.URL.Query().Get("after"), myInvoicesPage)
		if errors.Is(err, invoices.ErrNotFound) {
			s.renderError(w, r, http.StatusBadRequest, "error.bad_request") // a cursor the page never gave
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	// An admin opens everyone's orders in the console: /orders/{id} is
	// the owner's page.
	// Each dated as its page and PDF are, in the zone it was issued in:
	// the store's zone of the moment put a document of a New Year's Eve
	// in another year than its own page.
	rows := make([]invoiceRow, len(list))
	for i, inv := range list {
		rows[i] = invoiceRow{Invoice: inv, Date: s.Invoices.DateIn(inv, state(r).lang)}
	}
	title := "invoices.title"
	if owner == "" {
		title = "admin.invoices.title" // everyone's, not "My invoices"
	}
	s.render(w, r, http.StatusOK, "invoices", s.newView(r, title, map[string]any{"Invoices": rows, "Console": owner == "", "Next": next}))
}

// invoicePage shows a document, printable, or sends its PDF.
func (s *Server) invoicePage(w http.ResponseWriter, r *http.Request) {
	inv, pdf, err := s.loadInvoice(r)
	if errors.Is(err, invoices.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if pdf {
		s.sendInvoicePDF(w, r, inv)
		return
	}
	data := s.invoiceViewData(inv)
	v := s.newView(r, "", data)
	v.Title = data.Title
	s.render(w, r, http.StatusOK, "invoice", v)
}

func (s *Server) sendInvoicePDF(w http.ResponseWriter, r *http.Request, inv invoices.Invoice) {
	b, err := s.Invoices.PDF(inv, s.invoiceT(inv.Lang))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", `attachment; filename="`+inv.Number+`.pdf"`)
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", inv.IssuedAt, bytes.NewReader(b))
}

type invoiceJSON struct {
	ID       string       `json:"id"`
	Number   string       `json:"number"`
	OrderID  string       `json:"order_id"`
	Kind     string       `json:"kind"`
	VAT      money.Amount `json:"vat"`
	Total    money.Amount `json:"total"`
	IssuedAt time.Time    `json:"issued_at"`
}

func toInvoiceJSON(inv invoices.Invoice) invoiceJSON {
	return invoiceJSON{ID: inv.ID, Number: inv.Number, OrderID: inv.OrderID, Kind: inv.Kind, VAT: inv.VAT, Total: inv.Total, IssuedAt: inv.IssuedAt}
}

// apiInvoicesPage is how many documents a page of GET /api/v1/invoices
// holds; next leads to the rest.
const apiInvoicesPage = 100

func (s *Server) apiInvoices(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	owner := u.ID
	if u.Role == account.RoleAdmin {
		owner = ""
	}
	var items []invoiceJSON
	var next string
	if s.Invoices != nil {
		list, n, err := s.Invoices.Page(r.Context(), owner, r.URL.Query().Get("after"), apiInvoicesPage)
		if errors.Is(err, invoices.ErrNotFound) {
			// ?after= names no document of the caller's: not a cursor
			// this API gave.
			writeError(w, http.StatusBadRequest, "bad_request", s.Messages.T(state(r).lang, "error.bad_request"))
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		for _, inv := range list {
			items = append(items, toInvoiceJSON(inv))
		}
		next = n
	}
	writeJSON(w, http.StatusOK, listJSON(items, next))
}

func (s *Server) apiInvoice(w http.ResponseWriter, r *http.Request) {
	inv, pdf, err := s.loadInvoice(r)
	if errors.Is(err, invoices.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", s.Messages.T(state(r).lang, "error.not_found.body"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if pdf {
		s.sendInvoicePDF(w, r, inv)
		return
	}
	writeJSON(w, http.StatusOK, toInvoiceJSON(inv))
}

// adminVAT shows the VAT rate table and the form to add a rate.
func (s *Server) adminVAT(w http.ResponseWriter, r *http.Request) {
	s.renderAdminVAT(w, r, http.StatusOK, nil)
}

func (s *Server) renderAdminVAT(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) {
	rates, err := s.Invoices.Rates(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	type row struct {
		Country, From, Rate string
	}
	var rows []row
	for _, rt := range rates {
		rows = append(rows, row{Country: rt.Country, From: calendarDate(rt.EffectiveFrom, state(r).lang), Rate: invoices.RatePercent(rt.RateBP, state(r).lang)})
	}
	v := s.newView(r, "admin.vat.title", map[string]any{"Rates": rows, "PricesIncludeVAT": s.Invoices.PricesIncludeVAT(), "Seller": s.Invoices.Seller()})
	v.Errors = errs
	if r.Method == http.MethodPost {
		v.Form = r.PostForm
	} else if errs != nil {
		// A refused export: its dates, under the names of its fields.
		v.Form.Set("export_from", r.URL.Query().Get("from"))
		v.Form.Set("export_to", r.URL.Query().Get("to"))
	}
	s.render(w, r, status, "admin_vat", v)
}

// adminVATAdd records a new rate for a country from a date.
func (s *Server) adminVATAdd(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	// Each field is checked here, so that the reason stands beside the
	// field at fault (AddRate checks them again, as one).
	errs := map[string]string{}
	country := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("country")))
	if !eu.Member(country) {
		errs["country"] = s.Messages.T(st.lang, "admin.vat.error.country")
	}
	bp, ok := parseRateBP(strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("rate")), ",", "."))
	if !ok {
		errs["rate"] = s.Messages.T(st.lang, "admin.vat.error.rate")
	}
	from := strings.TrimSpace(r.PostForm.Get("from"))
	if _, err := time.Parse(time.DateOnly, from); err != nil {
		errs["from"] = s.Messages.T(st.lang, "admin.vat.error.from")
	}
	if len(errs) > 0 {
		s.renderAdminVAT(w, r, http.StatusUnprocessableEntity, errs)
		return
	}
	err := s.Invoices.AddRate(r.Context(), country, from, bp, st.user.ID)
	switch {
	case errors.Is(err, invoices.ErrRateInvalid):
		s.renderAdminVAT(w, r, http.StatusUnprocessableEntity, map[string]string{"rate": s.Messages.T(st.lang, "admin.vat.invalid")})
		return
	case errors.Is(err, invoices.ErrRateExists):
		s.renderAdminVAT(w, r, http.StatusConflict, map[string]string{"from": s.Messages.T(st.lang, "admin.vat.exists")})
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "admin.vat.saved")
	http.Redirect(w, r, "/admin/vat", http.StatusSeeOther)
}

// parseRateBP reads "20", "5.5" or "25.50" as basis points.
func parseRateBP(s string) (int, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" || !digitsOnly(whole) || !digitsOnly(frac) {
		return 0, false // strconv.Atoi alone took signs: "5.+1" was 5.01 %
	}
	w, err := strconv.Atoi(whole)
	if err != nil || w < 0 || w >= 100 {
		return 0, false
	}
	f := 0
	if frac != "" {
		frac += strings.Repeat("0", 2-len(frac))
		if f, err = strconv.Atoi(frac); err != nil || f < 0 {
			return 0, false
		}
	}
	return w*100 + f, true
}

// digitsOnly reports whether s holds ASCII digits only ("" does).
func digitsOnly(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// adminInvoicesCSV is the accounting export of a period: from and to are
// dates (YYYY-MM-DD), to included, as the documents are dated (each in the
// seller's zone of its day: invoices.Service.Period).
func (s *Server) adminInvoicesCSV(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := time.Parse(time.DateOnly, q.Get("from"))
	to, err2 := time.Parse(time.DateOnly, q.Get("to"))
	if err1 != nil || err2 != nil || to.Before(from) {
		// The page of the form again, the dates kept and the reason at
		// the field at fault, rather than an error page to go back from.
		field := "export_to"
		if err1 != nil {
			field = "export_from"
		}
		s.renderAdminVAT(w, r, http.StatusBadRequest, map[string]string{field: s.Messages.T(state(r).lang, "admin.vat.bad_period")})
		return
	}
	docs, err := s.Invoices.Period(r.Context(), from, to)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := invoices.WriteCSV(&buf, docs); err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="invoices-`+from.Format(time.DateOnly)+`-`+to.Format(time.DateOnly)+`.csv"`)
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// calendarDate writes a calendar date stored as "2006-01-02" as lang
// writes dates (localtime.Zone.Date): "01/07/2025" in French; as stored
// in English, and when it is not such a date.
func calendarDate(iso, lang string) string {
	d, err := time.Parse(time.DateOnly, iso)
	if err != nil || lang != locale.FR {
		return iso
	}
	return d.Format("02/01/2006")
}
