package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/blob"
	"comptoir/internal/catalog"
	"comptoir/internal/money"
	"comptoir/internal/testwait"
)

// productEditForm reads the edit form of a product as the browser would
// send it back untouched: its inputs, selects and textareas.
func productEditForm(t *testing.T, c *apptest.Client, productID string) url.Values {
	t.Helper()
	r := c.Get("/admin/products/" + productID)
	if r.Status != http.StatusOK {
		t.Fatalf("edit page: %d", r.Status)
	}
	return formValues(r.Body, `action="/admin/products/`+productID+`"`)
}

// Two admins open the same product; the first saves a new price, the
// second then saves a new name from the page opened before. The second
// save is refused, says why in the admin's language, keeps what they typed
// and changes nothing; a second press (having checked) goes through from
// the revision now in force. Before, the second save made a new revision
// with the old price: the first admin's change silently undone.
func TestAdminProductEditsDoNotUndoEachOther(t *testing.T) {
	h := apptest.Start(t)
	_, alice := h.User(t, account.RoleAdmin, "alice@shop.test")
	_, bob := h.User(t, account.RoleAdmin, "bob@shop.test")
	bob.PostForm("/lang", url.Values{"lang": {"en"}})
	create := url.Values{"kind": {"service"}, "slug": {"logo"}, "name_fr": {"Logo"}, "name_en": {"Logo design"},
		"description_fr": {"Un logo."}, "description_en": {"A logo."}, "unit_price": {"120,00"}, "currency": {"EUR"},
		"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"48"}}
	if r := alice.PostForm("/admin/products", create); r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	p, err := h.App.Catalog.GetBySlug(ctx, "logo")
	if err != nil {
		t.Fatal(err)
	}
	aliceForm := productEditForm(t, alice, p.ID)
	bobForm := productEditForm(t, bob, p.ID)
	if aliceForm.Get("base_revision") != "1" {
		t.Fatalf("the edit form does not carry the revision it shows: %v", aliceForm)
	}

	aliceForm.Set("unit_price", "150,00")
	if r := alice.PostForm("/admin/products/"+p.ID, aliceForm); r.Status != http.StatusSeeOther {
		t.Fatalf("alice's save: %d %s", r.Status, r.Body)
	}
	bobForm.Set("name_en", "Logo, designed")
	r := bob.PostForm("/admin/products/"+p.ID, bobForm)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bob's stale save: %d, want 422", r.Status)
	}
	mustContain(t, r, `id="revision-error"`, "Another admin saved this product", `value="Logo, designed"`)
	if got, _ := h.App.Catalog.Get(ctx, p.ID); got.Revision != 2 || got.UnitPrice.Minor != 15000 || got.NameEN != "Logo design" {
		t.Fatalf("after the stale save: revision %d, price %d, name %q", got.Revision, got.UnitPrice.Minor, got.NameEN)
	}

	// Saved again from the page that told them, bob's edit is the next
	// revision (his price field still says 120,00: he chose to keep it).
	again := formValues(r.Body, `action="/admin/products/`+p.ID+`"`)
	if again.Get("base_revision") != "2" {
		t.Fatalf("the refused page does not move the form to revision 2: %v", again)
	}
	again.Set("unit_price", "150,00")
	if r := bob.PostForm("/admin/products/"+p.ID, again); r.Status != http.StatusSeeOther {
		t.Fatalf("bob's second save: %d %s", r.Status, r.Body)
	}
	if got, _ := h.App.Catalog.Get(ctx, p.ID); got.Revision != 3 || got.UnitPrice.Minor != 15000 || got.NameEN != "Logo, designed" {
		t.Fatalf("after bob's second save: revision %d, price %d, name %q", got.Revision, got.UnitPrice.Minor, got.NameEN)
	}

	// In French, the same refusal in French.
	stale := productEditForm(t, alice, p.ID)
	fresh := productEditForm(t, alice, p.ID)
	fresh.Set("trial_days", "")
	fresh.Set("name_fr", "Logo neuf")
	if r := alice.PostForm("/admin/products/"+p.ID, fresh); r.Status != http.StatusSeeOther {
		t.Fatalf("alice's second save: %d %s", r.Status, r.Body)
	}
	stale.Set("name_en", "Logo again")
	mustContain(t, alice.PostForm("/admin/products/"+p.ID, stale), `id="revision-error"`, "Un autre administrateur a enregistré ce produit")
}

// A processing time or link lifetime the catalog refuses is reported at the
// field the admin typed it in (hours), in their language. Before, the
// catalog's reason was filed under processing_seconds, a field the form
// does not have: the page came back refused with no reason anywhere.
func TestAdminProductDurationErrorsShowAtTheirField(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	form := url.Values{"kind": {"service"}, "slug": {"logo"}, "name_fr": {"Logo"}, "name_en": {"Logo design"},
		"description_fr": {"Un logo."}, "description_en": {"A logo."}, "unit_price": {"120,00"}, "currency": {"EUR"},
		"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {""}}
	r := admin.PostForm("/admin/products", form)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("no processing time: %d", r.Status)
	}
	mustMarkRefused(t, "processing time", r.Body, map[string]string{"processing_hours": "processing_hours"})
	mustContain(t, r, "Obligatoire.")

	digital := url.Values{"kind": {"digital"}, "slug": {"guide"}, "name_fr": {"Guide"}, "name_en": {"Guide"},
		"description_fr": {"Un guide."}, "description_en": {"A guide."}, "unit_price": {"9,00"}, "currency": {"EUR"},
		"digital_delivery": {"file"}, "file_key": {"guide.pdf"}, "download_hours": {"100000"}}
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	r = admin.PostForm("/admin/products", digital)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a year-long link: %d", r.Status)
	}
	mustMarkRefused(t, "download link", r.Body, map[string]string{"download_hours": "download_hours"})
	mustContain(t, r, "Too large.")

	// A currency that is not one is said to be so, at the currency.
	form.Set("processing_hours", "24")
	form.Set("currency", "EURO")
	r = admin.PostForm("/admin/products", form)
	mustMarkRefused(t, "currency", r.Body, map[string]string{"currency": "currency"})
	mustContain(t, r, "three-letter currency code")
	for _, slug := range []string{"logo", "guide"} {
		if _, err := h.App.Catalog.GetBySlug(context.Background(), slug); err == nil {
			t.Errorf("a refused form made product %s", slug)
		}
	}
}

var (
	formInputRE    = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	formSelectRE   = regexp.MustCompile(`(?is)<select\b([^>]*)>(.*?)</select>`)
	formOptionRE   = regexp.MustCompile(`(?is)<option\b([^>]*)>`)
	formTextareaRE = regexp.MustCompile(`(?is)<textarea\b([^>]*)>(.*?)</textarea>`)
)

// formValues reads what the browser would send from the form of body whose
// opening tag holds marker: its inputs (files aside), the option selected
// in each select (else the first), its textareas.
func formValues(body, marker string) url.Values {
	i := strings.Index(body, marker)
	if i < 0 {
		return nil
	}
	form := body[i:]
	if j := strings.Index(form, "</form>"); j >= 0 {
		form = form[:j]
	}
	attrs := func(tag string) map[string]string {
		a := map[string]string{}
		for _, m := range formAttrRE.FindAllStringSubmatch(tag, -1) {
			a[strings.ToLower(m[1])] = html.UnescapeString(m[2])
		}
		return a
	}
	out := url.Values{}
	for _, tag := range formInputRE.FindAllString(form, -1) {
		a := attrs(tag)
		if a["name"] != "" && a["type"] != "file" && a["type"] != "submit" {
			out.Set(a["name"], a["value"])
		}
	}
	for _, m := range formSelectRE.FindAllStringSubmatch(form, -1) {
		name := attrs(m[1])["name"]
		value, first := "", true
		for _, o := range formOptionRE.FindAllStringSubmatch(m[2], -1) {
			oa := attrs(o[1])
			if first || strings.Contains(o[1], "selected") {
				value = oa["value"]
			}
			first = false
		}
		out.Set(name, value)
	}
	for _, m := range formTextareaRE.FindAllStringSubmatch(form, -1) {
		out.Set(attrs(m[1])["name"], html.UnescapeString(m[2]))
	}
	return out
}

// Licence keys refused (one too long) are refused on the product's page,
// the pasted list kept in its field with the reason beside it, in the
// admin's language; a list whose keys are all in the pool already says no
// key was added. Before, the refusal was an error page that lost the list,
// and a list of known keys was answered "Keys added."
func TestAdminLicenceKeysRefusedOnTheirField(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	form := url.Values{"kind": {"digital"}, "slug": {"app"}, "name_fr": {"Appli"}, "name_en": {"App"},
		"description_fr": {"Une appli."}, "description_en": {"An app."}, "unit_price": {"9,00"}, "currency": {"EUR"},
		"digital_delivery": {"licence_key"}}
	r := admin.PostForm("/admin/products", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	page := r.Location
	keys := "KEY-1\nKEY-2\n" + strings.Repeat("X", 501)
	r = admin.PostForm(page+"/keys", url.Values{"keys": {keys}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a key too long: %d", r.Status)
	}
	mustMarkRefused(t, "keys", r.Body, map[string]string{"keys": "keys"})
	mustContain(t, r, "Ces clés ne peuvent pas être ajoutées", "KEY-2")
	p, _ := h.App.Catalog.GetBySlug(context.Background(), "app")
	if n, _ := h.App.Catalog.AvailableKeys(context.Background(), p.ID); n != 0 {
		t.Fatalf("%d keys after a refused list", n)
	}

	if r := admin.PostForm(page+"/keys", url.Values{"keys": {"KEY-1\nKEY-2"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("keys: %d", r.Status)
	}
	mustContain(t, admin.Get(page), "Clés ajoutées.")
	if r := admin.PostForm(page+"/keys", url.Values{"keys": {"KEY-2\nKEY-1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("the same keys again: %d", r.Status)
	}
	mustContain(t, admin.Get(page), "Aucune clé ajoutée")
	if n, _ := h.App.Catalog.AvailableKeys(context.Background(), p.ID); n != 2 {
		t.Fatalf("%d keys, want 2", n)
	}
}

// Only "archive" and "unarchive" are actions on a product: any other word
// in their place is no page. Before, every word but "archive" put the
// product back on sale (POST /admin/products/{id}/delete unarchived it).
func TestAdminProductActionsAreOnlyArchiveAndUnarchive(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	create := url.Values{"kind": {"service"}, "slug": {"logo"}, "name_fr": {"Logo"}, "name_en": {"Logo design"},
		"description_fr": {"Un logo."}, "description_en": {"A logo."}, "unit_price": {"120,00"}, "currency": {"EUR"},
		"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"48"}}
	if r := admin.PostForm("/admin/products", create); r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.Status)
	}
	ctx := context.Background()
	p, _ := h.App.Catalog.GetBySlug(ctx, "logo")
	if r := admin.PostForm("/admin/products/"+p.ID+"/archive", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("archive: %d", r.Status)
	}
	for _, action := range []string{"delete", "restore", "Archive"} {
		if r := admin.PostForm("/admin/products/"+p.ID+"/"+action, nil); r.Status != http.StatusNotFound {
			t.Errorf("POST …/%s: %d, want 404", action, r.Status)
		}
	}
	if got, _ := h.App.Catalog.Get(ctx, p.ID); !got.Archived {
		t.Fatal("a made-up action put the product back on sale")
	}
	if r := admin.PostForm("/admin/products/"+p.ID+"/unarchive", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("unarchive: %d", r.Status)
	}
	if got, _ := h.App.Catalog.Get(ctx, p.ID); got.Archived {
		t.Fatal("still archived")
	}
}

// A catalog of more products than a page holds is listed page by page:
// the last product is reached by the next-page link. Before, the list
// stopped at the first 200 and the others could not be found from it.
func TestAdminProductListReachesEveryProduct(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	ctx := context.Background()
	existing, _, _ := h.App.Catalog.List(ctx, catalog.ListFilter{IncludeArchived: true, Limit: catalog.MaxListLimit})
	var last catalog.Product
	for i := len(existing); i <= catalog.MaxListLimit; i++ {
		p, err := h.App.Catalog.Create(ctx, audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}, catalog.ProductInput{
			Slug: fmt.Sprintf("guide-%d", i), Kind: catalog.KindDigital, NameFR: fmt.Sprintf("Guide %d", i), NameEN: fmt.Sprintf("Guide %d", i),
			DescriptionFR: "Un guide.", DescriptionEN: "A guide.", UnitPrice: money.MustNew(900, "EUR"), DigitalDelivery: catalog.DeliveryLicenceKey})
		if err != nil {
			t.Fatal(err)
		}
		last = p
	}
	page := admin.Get("/admin/products")
	if strings.Contains(page.Body, "/admin/products/"+last.ID+`"`) {
		t.Fatal("the last product is on the first page: the test needs more products")
	}
	m := regexp.MustCompile(`href="\?after=([^"]+)" id="products-next"`).FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatal("no next-page link on a full first page")
	}
	next := admin.Get("/admin/products?after=" + m[1])
	mustContain(t, next, "/admin/products/"+last.ID+`"`)
	if strings.Contains(next.Body, `id="products-next"`) {
		t.Error("a next-page link on the last page")
	}
	if r := admin.Get("/admin/products?after=nonsense"); r.Status != http.StatusNotFound {
		t.Errorf("a made-up cursor: %d", r.Status)
	}
}

// The edit form gives the price as the admin's language writes it: 120,00
// in French (as its own error message asks), 120.00 in English. Saved
// untouched either way, it makes no new revision.
func TestAdminProductPriceInTheAdminsLanguage(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	create := url.Values{"kind": {"service"}, "slug": {"logo"}, "name_fr": {"Logo"}, "name_en": {"Logo design"},
		"description_fr": {"Un logo."}, "description_en": {"A logo."}, "unit_price": {"1 120,00"}, "currency": {"EUR"},
		"min_quantity": {"1"}, "max_quantity": {"3"}, "processing_hours": {"48"}}
	r := admin.PostForm("/admin/products", create)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.Status)
	}
	p, _ := h.App.Catalog.GetBySlug(context.Background(), "logo")
	fr := productEditForm(t, admin, p.ID)
	if fr.Get("unit_price") != "1120,00" {
		t.Fatalf("French form's price %q, want 1120,00", fr.Get("unit_price"))
	}
	if r := admin.PostForm("/admin/products/"+p.ID, fr); r.Status != http.StatusSeeOther {
		t.Fatalf("saved untouched: %d", r.Status)
	}
	admin.PostForm("/lang", url.Values{"lang": {"en"}})
	en := productEditForm(t, admin, p.ID)
	if en.Get("unit_price") != "1120.00" {
		t.Fatalf("English form's price %q, want 1120.00", en.Get("unit_price"))
	}
	if r := admin.PostForm("/admin/products/"+p.ID, en); r.Status != http.StatusSeeOther {
		t.Fatalf("saved untouched: %d", r.Status)
	}
	if got, _ := h.App.Catalog.Get(context.Background(), p.ID); got.Revision != 1 || got.UnitPrice.Minor != 112000 {
		t.Fatalf("after saving untouched forms: revision %d, price %d", got.Revision, got.UnitPrice.Minor)
	}
}

// A new file for a digital product refused (empty) is refused on the
// product's page, the reason beside the file field in the admin's
// language, and the product keeps its file. Before, it was an error page.
func TestAdminProductFileRefusedOnItsField(t *testing.T) {
	h := apptest.Start(t)
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	upload := uploader(admin)
	r := upload("/admin/products", map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR", "download_hours": "48"}, "%PDF-1.4\n")
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	p, _ := h.App.Catalog.GetBySlug(context.Background(), "guide")
	r = upload("/admin/products/"+p.ID+"/file", nil, "")
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("an empty file: %d", r.Status)
	}
	mustMarkRefused(t, "file", r.Body, map[string]string{"file": "product_file"})
	mustContain(t, r, "Choisissez un fichier", `id="product-save"`)
	if got, _ := h.App.Catalog.Get(context.Background(), p.ID); got.Revision != 1 || got.FileKey != p.FileKey {
		t.Fatalf("after a refused file: revision %d, file %q", got.Revision, got.FileKey)
	}
}

// gatedBlobs holds each Put, once armed, until the test lets it go: the
// moment a long upload is still arriving.
type gatedBlobs struct {
	blob.Store
	started, release chan struct{}
}

func (g *gatedBlobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	g.started <- struct{}{}
	<-g.release
	return g.Store.Put(ctx, key, r, size)
}

// A new file for a product took the product as it was when the upload
// began: another admin's edit saved while the file was arriving was undone
// by it. The file now goes onto the product as it is once the upload is in.
func TestAdminProductFileUploadKeepsAnEditMadeMeanwhile(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, alice := h.User(t, account.RoleAdmin, "alice@shop.test")
	_, bob := h.User(t, account.RoleAdmin, "bob@shop.test")
	upload := uploader(alice)
	if r := upload("/admin/products", map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR", "download_hours": "48"}, "%PDF-1.4\n"); r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	p, err := h.App.Catalog.GetBySlug(ctx, "guide")
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedBlobs{Store: h.App.Web.Blobs, started: make(chan struct{}), release: make(chan struct{})}
	h.App.Web.Blobs = gate
	done := make(chan apptest.Response, 1)
	go func() { done <- upload("/admin/products/"+p.ID+"/file", nil, "%PDF-1.4 second edition\n") }()
	select {
	case <-gate.started:
	case <-time.After(testwait.Default):
		t.Fatal("the upload never reached the file store")
	}
	form := productEditForm(t, bob, p.ID)
	form.Set("name_en", "The guide, revised")
	if r := bob.PostForm("/admin/products/"+p.ID, form); r.Status != http.StatusSeeOther {
		t.Fatalf("bob's edit during the upload: %d %s", r.Status, r.Body)
	}
	close(gate.release)
	var r apptest.Response
	select {
	case r = <-done:
	case <-time.After(testwait.Default):
		t.Fatal("the upload did not finish")
	}
	if r.Status != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	got, err := h.App.Catalog.Get(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.NameEN != "The guide, revised" || got.FileKey == p.FileKey || got.Revision != 3 {
		t.Fatalf("after the upload: name %q, file %q (was %q), revision %d; want bob's name kept, the new file, revision 3", got.NameEN, got.FileKey, p.FileKey, got.Revision)
	}
}

// uploader posts a form with a file, guide.pdf, as c: an admin's product
// form or product file upload.
func uploader(c *apptest.Client) func(path string, fields map[string]string, content string) apptest.Response {
	return func(path string, fields map[string]string, content string) apptest.Response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "guide.pdf")
		fw.Write([]byte(content))
		mw.Close()
		return c.Send(http.MethodPost, path, mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	}
}
