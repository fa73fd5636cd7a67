package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/billing"
	"comptoir/internal/catalog"
	"comptoir/internal/id"
	"comptoir/internal/idempotency"
	"comptoir/internal/money"
	"comptoir/internal/policy"
)

// nonDeliveryWindow is the non-delivery claim window of policy p, the one
// in force, which the product form warns a processing time must fit in
// (POLICY.md non_delivery); zero when p takes no such claims. A calendar
// window of N days is at least N × 24 hours long whatever the hour of the
// order, so that is what a processing time must stay under.
func nonDeliveryWindow(p *policy.Policy) time.Duration {
	kr := p.Kind(policy.NonDelivery)
	switch {
	case !kr.Enabled:
		return 0
	case kr.Window.Counting == policy.Calendar:
		return time.Duration(kr.Window.Days) * 24 * time.Hour
	}
	return kr.Window.Length
}

type adminProductsData struct {
	Products []catalog.Product
	Keys     map[string]int // available licence keys per product
	Next     string         // cursor of the next page, "" on the last
}

// adminProducts lists the catalog a page at a time: a store with more
// products than a page holds reaches the others by the next-page link.
func (s *Server) adminProducts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page, next, err := s.Catalog.List(ctx, catalog.ListFilter{IncludeArchived: true, Limit: catalog.MaxListLimit, After: r.URL.Query().Get("after")})
	var verr *catalog.ValidationError
	if errors.As(err, &verr) {
		s.notFound(w, r) // a cursor no page gave
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := adminProductsData{Products: page, Keys: map[string]int{}, Next: next}
	for _, p := range page {
		if p.DigitalDelivery == catalog.DeliveryLicenceKey {
			if d.Keys[p.ID], err = s.Catalog.AvailableKeys(ctx, p.ID); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
	}
	s.render(w, r, http.StatusOK, "admin_products", s.newView(r, "admin.products.title", d))
}

type productFormData struct {
	Product  *catalog.Product // nil when creating
	Warnings []string
	Keys     int
}

// productForm fills the form values from a product (or defaults for a new one).
func productForm(p *catalog.Product) url.Values {
	f := url.Values{"kind": {catalog.KindService}, "currency": {"EUR"}, "min_quantity": {"1"}, "max_quantity": {"1"}}
	if p == nil {
		f.Set("product_key", id.New("pfk"))
		return f
	}
	// The revision and slug the page shows: a save from them is refused
	// once another admin has changed the product (catalog.CodeStale).
	f.Set("base_revision", strconv.Itoa(p.Revision))
	f.Set("base_slug", p.Slug)
	f.Set("slug", p.Slug)
	f.Set("kind", p.Kind)
	f.Set("name_fr", p.NameFR)
	f.Set("name_en", p.NameEN)
	f.Set("description_fr", p.DescriptionFR)
	f.Set("description_en", p.DescriptionEN)
	f.Set("unit_price", money.FormatPlain(p.UnitPrice))
	f.Set("currency", p.UnitPrice.Currency)
	f.Set("min_quantity", strconv.Itoa(p.MinQuantity))
	f.Set("max_quantity", strconv.Itoa(p.MaxQuantity))
	if p.ProcessingTime > 0 {
		f.Set("processing_hours", strconv.Itoa(int(p.ProcessingTime.Hours())))
	}
	f.Set("digital_delivery", p.DigitalDelivery)
	f.Set("file_key", p.FileKey)
	if p.DownloadTTL > 0 {
		f.Set("download_hours", strconv.Itoa(int(p.DownloadTTL.Hours())))
	}
	f.Set("plan_interval", p.PlanInterval)
	f.Set("trial_days", strconv.Itoa(p.TrialDays))
	return f
}

// productInput reads the form. Values that do not parse are reported by
// field; the catalog validates the rest.
func productInput(f url.Values) (catalog.ProductInput, map[string]string) {
	bad := map[string]string{}
	atoi := func(field string) int {
		v := strings.TrimSpace(f.Get(field))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad[field] = "number_invalid"
		}
		return n
	}
	in := catalog.ProductInput{
		Slug: strings.TrimSpace(f.Get("slug")), Kind: f.Get("kind"),
		NameFR: f.Get("name_fr"), NameEN: f.Get("name_en"), DescriptionFR: f.Get("description_fr"), DescriptionEN: f.Get("description_en"),
		MinQuantity: atoi("min_quantity"), MaxQuantity: atoi("max_quantity"),
		ProcessingTime:  time.Duration(atoi("processing_hours")) * time.Hour,
		DigitalDelivery: f.Get("digital_delivery"), FileKey: strings.TrimSpace(f.Get("file_key")),
		DownloadTTL:  time.Duration(atoi("download_hours")) * time.Hour,
		PlanInterval: f.Get("plan_interval"), TrialDays: atoi("trial_days"),
		BaseSlug: f.Get("base_slug"),
	}
	in.BaseRevision, _ = strconv.Atoi(f.Get("base_revision"))
	currency := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	price, err := money.Parse(f.Get("unit_price"), currency)
	switch {
	case currency == "":
		bad["currency"] = catalog.CodeRequired
	case money.CheckCurrency(currency) != nil:
		bad["currency"] = catalog.CodeCurrencyInvalid
	case err != nil:
		bad["unit_price"] = catalog.CodePriceNotPositive
	}
	in.UnitPrice = price
	return in, bad
}

// productFormField names the form field a catalog validation error is
// about: the form asks for durations in hours where the catalog speaks of
// seconds.
func productFormField(field string) string {
	switch field {
	case "processing_seconds":
		return "processing_hours"
	case "download_ttl_seconds":
		return "download_hours"
	}
	return field
}

func (s *Server) productFormView(r *http.Request, p *catalog.Product) (*view, error) {
	d := &productFormData{Product: p}
	v := s.newView(r, "admin.products.new", d)
	v.Form = productForm(p)
	if p != nil && strings.HasPrefix(v.Lang, "fr") {
		// The price as a French admin writes it (12,50), as the form's
		// messages ask; money.Parse reads either separator.
		v.Form.Set("unit_price", strings.Replace(v.Form.Get("unit_price"), ".", ",", 1))
	}
	if p != nil {
		v.Title = p.Name(v.Lang)
		inForce, err := s.Policies.Current(r.Context())
		if err != nil {
			return nil, err
		}
		for _, w := range catalog.Warnings(*p, nonDeliveryWindow(inForce)) {
			d.Warnings = append(d.Warnings, s.Messages.T(v.Lang, "admin.products.warning."+w.Code, map[string]any{"Days": int(w.Limit.Hours() / 24)}))
		}
		if p.DigitalDelivery == catalog.DeliveryLicenceKey {
			n, err := s.Catalog.AvailableKeys(r.Context(), p.ID)
			if err != nil {
				return nil, err
			}
			d.Keys = n
		}
	}
	return v, nil
}

func (s *Server) adminProductNew(w http.ResponseWriter, r *http.Request) {
	v, _ := s.productFormView(r, nil)
	s.render(w, r, http.StatusOK, "admin_product", v)
}

func (s *Server) adminProductEdit(w http.ResponseWriter, r *http.Request) {
	p, err := s.Catalog.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, catalog.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v, err := s.productFormView(r, &p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_product", v)
}

// adminProductSave creates a product (no id in the path) or saves a new
// revision of one.
func (s *Server) adminProductSave(w http.ResponseWriter, r *http.Request) {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(8 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		s.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	actor := state(r).user.Actor()
	// The new-product form's key: sent twice (a double click, a reload of
	// the answer), it makes one product, and the repeat goes to it. Looked
	// up before the file is stored, so that a repeat stores none.
	var keyed keyedRequest
	if r.PathValue("id") == "" {
		var replay *idempotency.Outcome
		keyed, replay = s.formKeyed(r, actor.ID, "page:product-create", "product_key")
		if replay != nil {
			s.productCreated(w, r, replay.Body)
			return
		}
	}
	in, bad := productInput(r.PostForm)
	// A file chosen in the form is what a digital product delivers.
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
		if f, fh, ferr := r.FormFile("file"); ferr == nil {
			defer f.Close()
			if fh.Size == 0 || fh.Size > maxProductFile {
				bad["file"] = "file_invalid"
			} else {
				key, err := s.storeProductFile(ctx, f, fh.Size)
				if err != nil {
					s.serverError(w, r, err)
					return
				}
				in.DeliverFile(key)
			}
		}
	}
	if len(bad) > 0 {
		// What the catalog would refuse too, each beside its field: the
		// form refused here stopped there, and the admin met the other
		// fields' errors one save after another. A field already refused
		// keeps the form's reason (a number that does not parse reads as
		// zero to the catalog), and a price the form could not read is
		// not the catalog's to refuse again, at the price or the currency.
		check := in
		if bad["unit_price"] != "" || bad["currency"] != "" {
			check.UnitPrice = money.Amount{Minor: 1, Currency: "EUR"}
		}
		for f, c := range catalog.Check(check) {
			if f = productFormField(f); bad[f] == "" {
				bad[f] = c
			}
		}
	}
	var current *catalog.Product
	if pid := r.PathValue("id"); pid != "" {
		p, err := s.Catalog.Get(ctx, pid)
		if errors.Is(err, catalog.ErrNotFound) {
			s.notFound(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		current = &p
	}
	var p catalog.Product
	if len(bad) == 0 {
		if current == nil {
			p, err = s.Catalog.CreateThen(ctx, actor, in, func(ctx context.Context, tx *sql.Tx, p catalog.Product) error {
				return keyed.saveTx(ctx, tx, http.StatusSeeOther, createdProduct{ID: p.ID})
			})
			if out, rerr := keyed.recover(ctx, err); rerr == nil && out.Replay {
				s.productCreated(w, r, out.Body)
				return
			}
		} else {
			p, err = s.Catalog.Update(ctx, actor, current.ID, in)
		}
	}
	var verr *catalog.ValidationError
	if len(bad) > 0 || errors.As(err, &verr) {
		if verr != nil {
			for f, c := range verr.Fields {
				bad[productFormField(f)] = c
			}
		}
		if bad["revision"] == catalog.CodeStale {
			// Show the product as it now is (its revision, its warnings)
			// under what this admin typed, which a second save makes the
			// next revision once they have checked it.
			p, err := s.Catalog.Get(ctx, current.ID)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			current = &p
		}
		v, ferr := s.productFormView(r, current)
		if ferr != nil {
			s.serverError(w, r, ferr)
			return
		}
		base := v.Form
		v.Form = r.PostForm
		if bad["revision"] == catalog.CodeStale {
			v.Form.Set("base_revision", base.Get("base_revision"))
			v.Form.Set("base_slug", base.Get("base_slug"))
		}
		v.Errors = map[string]string{}
		for f, c := range bad {
			v.Errors[f] = s.Messages.T(v.Lang, "admin.products.error."+c)
		}
		s.render(w, r, http.StatusUnprocessableEntity, "admin_product", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "admin.products.saved")
	http.Redirect(w, r, "/admin/products/"+p.ID, http.StatusSeeOther)
}

// createdProduct is the answer kept with a new-product form's key.
type createdProduct struct {
	ID string `json:"id"`
}

// productCreated answers a repeat of a new-product form as the first
// answer did: to the product it made.
func (s *Server) productCreated(w http.ResponseWriter, r *http.Request, body []byte) {
	var c createdProduct
	if err := json.Unmarshal(body, &c); err != nil || c.ID == "" {
		s.serverError(w, r, fmt.Errorf("admin: product form's stored answer %q: %v", body, err))
		return
	}
	s.flash(w, "admin.products.saved")
	http.Redirect(w, r, "/admin/products/"+c.ID, http.StatusSeeOther)
}

func (s *Server) adminProductArchive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := state(r).user.Actor()
	var err error
	switch r.PathValue("action") {
	case "archive":
		err = s.Catalog.Archive(ctx, actor, r.PathValue("id"))
	case "unarchive":
		err = s.Catalog.Unarchive(ctx, actor, r.PathValue("id"))
	default:
		// Any other word is no action: it must not put a product back on
		// sale.
		s.notFound(w, r)
		return
	}
	if errors.Is(err, catalog.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/products", http.StatusSeeOther)
}

func (s *Server) adminProductKeys(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	keys := strings.Fields(r.PostForm.Get("keys"))
	added, err := s.Catalog.AddLicenceKeys(r.Context(), state(r).user.Actor(), r.PathValue("id"), keys)
	var verr *catalog.ValidationError
	switch {
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, catalog.ErrNotLicenceProduct):
		s.notFound(w, r)
		return
	case errors.As(err, &verr):
		// The product's page again, the pasted keys kept in their field
		// with the reason beside them.
		p, err := s.Catalog.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.productRefused(w, r, p, "keys", r.PostForm.Get("keys"), "admin.products.error.keys_invalid")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if added == 0 {
		// All of them were in the pool already: say so, rather than that
		// keys were added.
		s.flash(w, "admin.products.keys_none_new")
	} else {
		s.flash(w, "admin.products.keys_added")
	}
	http.Redirect(w, r, "/admin/products/"+r.PathValue("id"), http.StatusSeeOther)
}

// adminCredit credits or debits a customer's balance, with a reason the
// customer sees on their statement.
func (s *Server) adminCredit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	f := r.PostForm
	lang := state(r).lang
	// fail shows the form again with the reason beside the field at fault
	// ("credit": the form as a whole).
	fail := func(field, key string, newKey bool, args ...any) {
		d := adminData{CreditKey: f.Get("credit_key")}
		if newKey || d.CreditKey == "" {
			d.CreditKey = id.New("crd")
		}
		v := s.newView(r, "nav.admin", d)
		v.Form = f
		v.Errors = map[string]string{field: s.Messages.T(lang, key, args...)}
		s.render(w, r, http.StatusUnprocessableEntity, "admin", v)
	}
	u, err := s.Accounts.UserByEmail(ctx, f.Get("email"))
	if errors.Is(err, account.ErrNotFound) || err == nil && u.Role != account.RoleCustomer {
		fail("email", "admin.credit.unknown_customer", false)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	amount, err := money.Parse(f.Get("amount"), billing.BalanceCurrency)
	if err != nil || amount.Minor <= 0 {
		fail("amount", "admin.credit.amount_invalid", false)
		return
	}
	if f.Get("direction") == "debit" {
		amount.Minor = -amount.Minor
	}
	// The form's key makes a second press of the button (or a reload of
	// the answer) record the movement once: the first answer is replayed.
	actor := state(r).user.Actor()
	keyed := keyedRequest{store: s.Idempotency, scope: idempotency.Scope(actor.ID, "page:admin-credit"), key: f.Get("credit_key"),
		hash: idempotency.RequestHash(r.Method, r.URL.Path, []byte(f.Encode()))}
	out, err := keyed.lookup(ctx)
	if err == nil && !out.Replay {
		_, err = s.Ledger.AdminAdjust(ctx, actor, u.ID, amount, f.Get("reason"), func(ctx context.Context, tx *sql.Tx, e billing.EntryRow) error {
			return keyed.saveTx(ctx, tx, http.StatusSeeOther, toEntryJSON(e))
		})
		_, err = keyed.recover(ctx, err)
	}
	var verr *billing.ValidationError
	var kerr *idempotency.ValidationError
	switch {
	case errors.Is(err, idempotency.ErrInProgress):
		fail("credit", "admin.credit.already_sent", false)
		return
	case errors.Is(err, idempotency.ErrKeyReused), errors.As(err, &kerr):
		fail("credit", "admin.credit.already_sent", true)
		return
	case errors.As(err, &verr) && verr.Fields["amount"] != "":
		// Beyond the largest movement the ledger takes.
		fail("amount", "admin.credit.amount_too_large", false)
		return
	case errors.As(err, &verr) && verr.Fields["reason"] == billing.CodeRequired:
		fail("reason", "admin.credit.reason_required", false)
		return
	case errors.As(err, &verr) && verr.Fields["reason"] != "":
		fail("reason", "admin.credit.reason_invalid", false)
		return
	case errors.Is(err, billing.ErrInsufficientBalance):
		// The admin's debit, not a customer's purchase: the customer's
		// balance, which it may not take below zero.
		balance, berr := s.Ledger.Balance(ctx, u.ID, billing.BalanceCurrency)
		if berr != nil {
			s.serverError(w, r, berr)
			return
		}
		fail("amount", "admin.credit.insufficient_balance", false, map[string]any{"Balance": money.Format(balance, lang)})
		return
	case errors.Is(err, billing.ErrAccountErased):
		fail("email", "admin.credit.customer_erased", false)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "admin.credit.done")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// productRefused shows product p's page again (422) with a refused
// field's reason beside it and, when not empty, what the admin had put in
// it kept.
func (s *Server) productRefused(w http.ResponseWriter, r *http.Request, p catalog.Product, field, value, reason string) {
	v, err := s.productFormView(r, &p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if value != "" {
		v.Form.Set(field, value)
	}
	v.Errors = map[string]string{field: s.Messages.T(v.Lang, reason)}
	s.render(w, r, http.StatusUnprocessableEntity, "admin_product", v)
}

// maxProductFile bounds a digital product's file.
const maxProductFile = 50 << 20

// storeProductFile keeps an uploaded product file under a new key: a file
// is never overwritten, so past orders keep downloading what they bought.
func (s *Server) storeProductFile(ctx context.Context, r io.Reader, size int64) (string, error) {
	key := id.New("file")
	return key, s.Blobs.Put(ctx, key, r, size)
}

// adminProductFile uploads the file a digital product delivers: it is
// stored under a new key, and the product gets a new revision pointing at
// it, so past orders keep downloading the file they bought.
func (s *Server) adminProductFile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.Catalog.Get(ctx, r.PathValue("id"))
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && p.Kind != catalog.KindDigital) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		s.badForm(w, r, err)
		return
	}
	defer r.MultipartForm.RemoveAll()
	f, fh, err := r.FormFile("file")
	if err != nil || fh.Size == 0 || fh.Size > maxProductFile {
		// The product's page again, the reason beside the file field.
		s.productRefused(w, r, p, "product_file", "", "admin.products.error.file_invalid")
		return
	}
	defer f.Close()
	key, err := s.storeProductFile(ctx, f, fh.Size)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// The product as it is once the upload is in, not as it was when the
	// request began: another admin's edit saved during a long upload
	// stays. Should one land between this read and the update, the update
	// is refused (BaseRevision) rather than undoing it.
	if p, err = s.Catalog.Get(ctx, p.ID); err == nil {
		in := p.Input()
		in.DeliverFile(key)
		in.BaseRevision = p.Revision
		_, err = s.Catalog.Update(ctx, state(r).user.Actor(), p.ID, in)
	}
	if err != nil {
		// Nothing points at the file: it goes, so as not to be kept for ever.
		if derr := s.Blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.Logger.Warn("admin product file: removing the unused upload", "key", key, "err", derr)
		}
		var verr *catalog.ValidationError
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			s.notFound(w, r)
		case errors.As(err, &verr) && verr.Fields["revision"] == catalog.CodeStale:
			if now, gerr := s.Catalog.Get(ctx, p.ID); gerr == nil {
				p = now // the page shows the product as the other edit left it
			}
			s.productRefused(w, r, p, "product_file", "", "admin.products.error.file_stale")
		case errors.As(err, &verr):
			s.productRefused(w, r, p, "product_file", "", "admin.products.error.file_invalid")
		default:
			s.serverError(w, r, err)
		}
		return
	}
	s.flash(w, "admin.products.file_saved")
	http.Redirect(w, r, "/admin/products/"+p.ID, http.StatusSeeOther)
}
