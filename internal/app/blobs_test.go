package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/blob"
	"comptoir/internal/blob/s3test"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/config"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// With --blob-url, product files and claim evidence go to the bucket and
// come back from it through the pages, and nothing lands in the data
// directory.
func TestUploadsGoToTheS3Bucket(t *testing.T) {
	s3 := s3test.Start(t)
	var dataDir string
	h := apptest.StartWith(t, func(c *config.Config) {
		c.BlobURL = s3.URL("shop1")
		c.BlobAccessKey, c.BlobSecretKey = "AKTEST", "secret"
		dataDir = c.DataDir
	})
	if _, ok := h.App.Blobs.(*blob.S3); !ok {
		t.Fatalf("blob store is %T, want *blob.S3", h.App.Blobs)
	}
	ctx := context.Background()
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	u, c := h.User(t, account.RoleCustomer, "ana@example.fr")
	actor := audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}
	if _, err := h.App.Ledger.AdminCredit(ctx, actor, u.ID, money.MustNew(10000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}

	// A file product, its file uploaded through the admin form.
	guide := []byte("%PDF-1.4\n% the guide, from the bucket\n")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"kind": "digital", "slug": "guide", "name_fr": "Guide", "name_en": "Guide",
		"description_fr": "Un guide.", "description_en": "A guide.", "unit_price": "9,00", "currency": "EUR",
		"min_quantity": "1", "max_quantity": "1", "download_hours": "48"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "guide.pdf")
	fw.Write(guide)
	mw.Close()
	r := admin.Send(http.MethodPost, "/admin/products", mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create a file product: %d %s", r.Status, r.Body)
	}
	p, err := h.App.Catalog.GetBySlug(ctx, "guide")
	if err != nil || p.FileKey == "" {
		t.Fatalf("product %+v %v", p, err)
	}
	if objs := s3.Objects(t, "shop1/"); len(objs) != 1 || objs[0] != "shop1/"+p.FileKey {
		t.Fatalf("objects after the product upload: %v (file key %s)", objs, p.FileKey)
	}
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil || o.Status != orders.StatusCompleted {
		t.Fatalf("order %+v %v", o, err)
	}
	dl := c.Get("/orders/" + o.ID + "/lines/" + o.Lines[0].ID + "/download")
	if dl.Status != http.StatusOK || dl.Body != string(guide) {
		t.Fatalf("download: %d %q", dl.Status, dl.Body)
	}

	// Claim evidence sent through the API, read back from the claim page's link.
	svc, err := h.App.Catalog.Create(ctx, actor, catalog.ProductInput{
		Slug: "posts", Kind: catalog.KindService, NameFR: "Publications", NameEN: "Posts",
		DescriptionFR: "Des publications.", DescriptionEN: "Some posts.", UnitPrice: money.MustNew(25, "EUR"),
		MinQuantity: 10, MaxQuantity: 1000, ProcessingTime: 72 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	o, err = h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: svc.ID, Quantity: 100}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Orders.RecordDelivery(ctx, orders.DeliveryInput{OrderID: o.ID, LineID: o.Lines[0].ID, Delivered: 100,
		Source: orders.SourceAgent, Actor: actor}); err != nil {
		t.Fatal(err)
	}
	auth := h.Bearer(t, u.ID)
	r = c.Send(http.MethodPost, "/api/v1/claims", "application/json",
		strings.NewReader(`{"kind":"not_as_described","order_id":"`+o.ID+`","message":"Not what the page said."}`), auth)
	var cl struct{ ID string }
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &cl) != nil {
		t.Fatalf("file a claim: %d %s", r.Status, r.Body)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 300)...)
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	mw.WriteField("text", "Another brand.")
	fw, _ = mw.CreateFormFile("files", "screenshot.png")
	fw.Write(png)
	mw.Close()
	if r := c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", mw.FormDataContentType(), &buf, auth); r.Status != http.StatusOK {
		t.Fatalf("evidence: %d %s", r.Status, r.Body)
	}
	ev, err := h.App.Claims.Evidence(ctx, cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var fileID string
	for _, e := range ev {
		if e.Kind == "file" {
			fileID = e.ID
		}
	}
	page := c.Get("/claims/" + cl.ID)
	link := "/claims/" + cl.ID + "/evidence/" + fileID
	if fileID == "" || !strings.Contains(page.Body, link) {
		t.Fatalf("the claim page does not link the evidence %q: %d", link, page.Status)
	}
	got := c.Get(link)
	if got.Status != http.StatusOK || got.Body != string(png) || got.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("evidence read back: %d %v %d bytes", got.Status, got.Header, len(got.Body))
	}
	if objs := s3.Objects(t, "shop1/"); len(objs) != 2 {
		t.Fatalf("objects after the evidence: %v", objs)
	}
	// The limits hold with a bucket too: a file over the evidence limit,
	// or of a forbidden type, is refused and leaves no object behind.
	for name, content := range map[string][]byte{
		"huge.png":  append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, claims.DefaultMaxEvidenceBytes)...),
		"page.html": []byte("<html><script>alert(1)</script></html>"),
	} {
		buf.Reset()
		mw = multipart.NewWriter(&buf)
		fw, _ = mw.CreateFormFile("files", name)
		fw.Write(content)
		mw.Close()
		r := c.Send(http.MethodPost, "/api/v1/claims/"+cl.ID+"/evidence", mw.FormDataContentType(), &buf, auth)
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("evidence %s: %d %s", name, r.Status, r.Body)
		}
		if objs := s3.Objects(t, "shop1/"); len(objs) != 2 {
			t.Fatalf("objects after the refused %s: %v", name, objs)
		}
	}
	// Nothing was written to the local uploads directory.
	filepath.WalkDir(filepath.Join(dataDir, "uploads"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a file was stored locally: %s", path)
		}
		return nil
	})
}
