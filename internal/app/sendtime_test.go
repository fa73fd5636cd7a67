package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"comptoir/internal/account"
	"comptoir/internal/app"
	"comptoir/internal/apptest"
	"comptoir/internal/audit"
	"comptoir/internal/money"
	"comptoir/internal/orders"
)

// A download, or an export, still being sent when the server's write
// timeout (a minute from the request) has passed is sent whole. The
// timeout cut it: a 20 MB product file read at 100 kB/s by a customer on a
// slow line stopped after 12 MB. Here the timeout has passed before the
// first byte, as for the last bytes of such a download.
func TestSendingAFileOutlastsTheWriteTimeout(t *testing.T) {
	h := apptest.Start(t)
	ctx := context.Background()
	_, admin := h.User(t, account.RoleAdmin, "admin@shop.test")
	u, _ := h.User(t, account.RoleCustomer, "ana@example.fr")
	if _, err := h.App.Ledger.AdminCredit(ctx, audit.Actor{ID: "usr_admin", Role: account.RoleAdmin}, u.ID, money.MustNew(10000, "EUR"), "test"); err != nil {
		t.Fatal(err)
	}
	guide := append([]byte("%PDF-1.4\n"), rand.Text()...)
	for len(guide) < 1<<20 {
		guide = append(guide, rand.Text()...)
	}
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
	if r := admin.Send(http.MethodPost, "/admin/products", mw.FormDataContentType(), &buf, http.Header{"Sec-Fetch-Site": {"same-origin"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("create a file product: %d %s", r.Status, r.Body)
	}
	p, err := h.App.Catalog.GetBySlug(ctx, "guide")
	if err != nil {
		t.Fatal(err)
	}
	o, err := h.App.Orders.Place(ctx, orders.PlaceInput{CustomerID: u.ID, Lines: []orders.LineInput{{ProductID: p.ID, Quantity: 1}},
		Payment: orders.PayBalance, ImmediatePerformance: true, WithdrawalWaiver: true}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The store's own server, as serve runs it, with its write timeout
	// already passed when an answer is written.
	app.SetWriteTimeout(t, time.Nanosecond)
	srv := app.HTTPServer(h.App)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	auth := h.Bearer(t, u.ID)
	get := func(path string) (int, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+path, nil)
		req.Header = auth.Clone()
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	status, body, err := get("/orders/" + o.ID + "/lines/" + o.Lines[0].ID + "/download")
	if err != nil || status != http.StatusOK || !bytes.Equal(body, guide) {
		t.Errorf("download past the write timeout: %d, %d of %d bytes, %v; want the whole file", status, len(body), len(guide), err)
	}
	status, body, err = get("/api/v1/me/export")
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), o.ID) || !strings.HasSuffix(strings.TrimSpace(string(body)), "}") {
		t.Errorf("export past the write timeout: %d %.100q, %v; want the whole export", status, body, err)
	}
}
