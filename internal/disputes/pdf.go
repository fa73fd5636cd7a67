package disputes

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"comptoir/internal/blob"
	"comptoir/internal/invoices"
	"comptoir/internal/money"
)

// Section is one titled part of the pack, as the page, the PDF and the ZIP
// show it.
type Section struct {
	Key   string // file name in the ZIP, and the Stripe field it feeds
	Title string
	Text  string
}

// Sections lists the pack's parts in reading order; empty ones are kept
// (with "none recorded") so that a reader sees what is missing.
//
// The licence keys part is there only for an order that got keys, right
// after the delivery record it completes.
func (p *Pack) Sections() []Section {
	out := []Section{
		{"statement", "Statement", p.Case.Statement},
		{"product_description", "Product as described when bought", p.ProductText()},
		{"refund_policy_disclosure", "Refund policy", p.PolicyText()},
		{"consent_record", "Consent record", p.ConsentText()},
		{"service_documentation", "Delivery record", p.DeliveryText()},
	}
	if len(p.Keys) > 0 {
		out = append(out, Section{"licence_keys", "Licence keys delivered (masked)", p.KeysText()})
	}
	return append(out,
		Section{"access_activity_log", "Customer activity log", p.ActivityText()},
		Section{"customer_communication", "Confirmation email and support thread", p.ThreadText()},
		Section{"refund_refusal_explanation", "Claim decisions", p.ClaimsText()},
		Section{"files", "Files", p.FilesText()},
	)
}

// Summary is the case in a few lines.
func (p *Pack) Summary() []string {
	c := p.Case
	out := []string{
		"Dispute " + c.ID + " (Stripe " + c.StripeDisputeID + ")",
		"Amount: " + money.Format(c.Amount, "en") + ", reason: " + c.Reason + ", status: " + c.Status + " (" + c.StripeStatus + ")",
		"Customer: " + p.customerText(),
	}
	if !c.DueBy.IsZero() {
		out = append(out, "Evidence due by: "+ts(c.DueBy))
	}
	if p.Order != nil {
		o := p.Order
		out = append(out, "Order "+o.ID+": "+money.Format(o.Total, "en")+", placed "+ts(o.PlacedAt)+", paid "+ts(o.PaidAt)+", status "+o.Status)
	}
	out = append(out, "Pack assembled: "+ts(p.AssembledAt))
	return out
}

// PDF renders the pack as an A4 document, in English (the language of the
// card networks' reviewers); the customer's own words stay as written.
func (p *Pack) PDF() ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Dispute evidence "+p.Case.ID, true)
	pdf.SetCreator("comptoir", true)
	// The same pack makes the same file (a retried upload must not
	// differ): dated by the pack, not by the moment it is rendered, and
	// its fonts listed in order, not in a map's.
	pdf.SetCatalogSort(true)
	if !p.AssembledAt.IsZero() {
		pdf.SetCreationDate(p.AssembledAt)
		pdf.SetModificationDate(p.AssembledAt)
	}
	pdf.SetCompression(false)
	enc := func(s string) string {
		s = strings.NewReplacer("\u202F", "\u00A0", "\r", "").Replace(s)
		return invoices.CP1252(s)
	}
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, enc("Card dispute evidence"), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range p.Summary() {
		pdf.MultiCell(0, 5, enc(l), "", "L", false)
	}
	for _, s := range p.Sections() {
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 12)
		pdf.CellFormat(0, 7, enc(s.Title), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		text := s.Text
		if text == "" {
			text = "None recorded."
		}
		pdf.MultiCell(0, 4.5, enc(text), "", "L", false)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("disputes: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// ZIP bundles the PDF, each section as a text file (UTF-8, as recorded),
// the refund policy's document, and the files of the order (files/: the
// delivered product files, the customer's claim evidence, the support
// thread's attachments) read from store, for an upload by hand or the
// bank. Every file is listed in files.txt and in the PDF, the ones left
// out with the reason (erased at the customer's request, missing, too
// large). A nil store leaves every file out as missing.
func (p *Pack) ZIP(ctx context.Context, store blob.Store) ([]byte, error) {
	contents := make([][]byte, len(p.Files))
	for i := range p.Files {
		if p.Files[i].Withheld != "" {
			continue
		}
		if store == nil {
			p.Files[i].Withheld = WithheldMissing
			continue
		}
		data, err := p.fetch(ctx, store, i)
		if err != nil {
			return nil, err
		}
		contents[i] = data
	}
	doc, err := p.PDF()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	mod := p.AssembledAt
	if mod.IsZero() {
		mod = time.Now()
	}
	add := func(name string, data []byte) error {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := add("evidence-"+p.Case.ID+".pdf", doc); err != nil {
		return nil, err
	}
	if err := add("summary.txt", []byte(strings.Join(p.Summary(), "\n")+"\n")); err != nil {
		return nil, err
	}
	for i, s := range p.Sections() {
		if s.Text == "" {
			continue
		}
		if err := add(fmt.Sprintf("%02d-%s.txt", i+1, s.Key), []byte(s.Text+"\n")); err != nil {
			return nil, err
		}
	}
	if p.Policy.Document != "" {
		if err := add("refund-policy-"+strings.ReplaceAll(p.Policy.Version, "@", "-")+".toml", []byte(p.Policy.Document)); err != nil {
			return nil, err
		}
	}
	manifest := p.FilesText()
	if manifest == "" {
		manifest = "No file exists for this order."
	}
	if err := add("files.txt", []byte(manifest+"\n")); err != nil {
		return nil, err
	}
	for i, f := range p.Files {
		if f.Withheld != "" {
			continue
		}
		if err := add(p.filePath(i), contents[i]); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
