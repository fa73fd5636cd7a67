package disputes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"comptoir/internal/blob"
	"comptoir/internal/catalog"
	"comptoir/internal/claims"
	"comptoir/internal/db"
	"comptoir/internal/desk"
	"comptoir/internal/orders"
)

// Where a file of the pack comes from.
const (
	// FileDelivered is the product file the customer bought and could
	// download (as it was in the revision they bought): what was supplied.
	FileDelivered = "delivered_file"
	// FileClaimEvidence is a file the customer gave as evidence for a claim
	// about the order.
	FileClaimEvidence = "claim_evidence"
	// FileTicketAttachment is a file sent with a message of the support
	// thread about the order, by the customer or the store.
	FileTicketAttachment = "ticket_attachment"
)

// MaxBundledFile is the largest file copied into the ZIP; a larger one is
// listed with its size and SHA-256 (the ZIP is built in memory, and a bank
// or Stripe takes a few megabytes at most).
const MaxBundledFile = 25 << 20

// File is one file that exists for the order. The ZIP carries its content
// unless Withheld says why not (the customer's data were erased, the
// store no longer has it, it is too large); the manifest lists every one.
type File struct {
	Source      string
	Ref         string // the claim, the ticket's reference, or the order line
	From        string // "customer" or "store"
	Name        string
	ContentType string
	Size        int64 // 0 when unknown (a product file: read from the store)
	SHA256      string
	At          time.Time
	Withheld    string
	blobKey     string
}

// Reasons a file is listed without its content.
const (
	WithheldErased   = "erased at the customer's request (GDPR): not included"
	WithheldMissing  = "no longer in the file store: not included"
	WithheldTooLarge = "larger than the bundle's limit: not included"
)

// readFiles lists the files of the order: the delivered product files,
// the claim evidence and the support thread's attachments. Files the
// customer gave are withheld once their data were erased, whatever is
// left in the store.
func (p *Pack) readFiles(ctx context.Context, q db.Querier, o orders.Order) error {
	for _, l := range o.Lines {
		r, err := catalog.RevisionTx(ctx, q, l.ProductID, l.ProductRevision)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("disputes: delivered files: %w", err)
		}
		if r.DigitalDelivery != catalog.DeliveryFile || r.FileKey == "" {
			continue
		}
		p.Files = append(p.Files, File{Source: FileDelivered, Ref: l.ID, From: "store", Name: r.Slug, At: o.PaidAt, blobKey: r.FileKey})
	}
	evidence, err := claims.OrderEvidenceFilesTx(ctx, q, o.ID)
	if err != nil {
		return fmt.Errorf("disputes: evidence files: %w", err)
	}
	for _, e := range evidence {
		f := File{Source: FileClaimEvidence, Ref: e.ClaimID, From: "customer", Name: e.FileName, ContentType: e.ContentType,
			Size: e.Size, SHA256: e.SHA256, At: e.AddedAt, blobKey: e.BlobKey}
		if e.Erased || p.CustomerErased {
			f.Name, f.Withheld, f.blobKey = "", WithheldErased, ""
		}
		p.Files = append(p.Files, f)
	}
	atts, err := desk.OrderAttachmentsTx(ctx, q, o.ID, p.Case.CustomerID, p.guestEmail())
	if err != nil {
		return fmt.Errorf("disputes: attachments: %w", err)
	}
	for _, a := range atts {
		f := File{Source: FileTicketAttachment, Ref: a.Ticket, From: "store", Name: a.FileName, ContentType: a.ContentType,
			Size: a.Size, At: a.At, blobKey: a.BlobKey}
		if a.Direction == "in" {
			f.From = "customer"
			if p.CustomerErased {
				f.Name, f.Withheld, f.blobKey = "", WithheldErased, ""
			}
		}
		p.Files = append(p.Files, f)
	}
	return nil
}

// FilesText lists the files, with where each sits in the ZIP or why it is
// not there.
func (p *Pack) FilesText() string {
	var b strings.Builder
	for i, f := range p.Files {
		fmt.Fprintf(&b, "%s  %s from the %s (%s)", ts(f.At), fileSourceTitle(f.Source), f.From, f.Ref)
		if f.Name != "" {
			fmt.Fprintf(&b, ": %s", f.Name)
		}
		if f.ContentType != "" {
			fmt.Fprintf(&b, ", %s", f.ContentType)
		}
		if f.Size > 0 {
			fmt.Fprintf(&b, ", %d bytes", f.Size)
		}
		if f.SHA256 != "" {
			fmt.Fprintf(&b, ", SHA-256 %s", f.SHA256)
		}
		if f.Withheld != "" {
			fmt.Fprintf(&b, ". %s.", upperFirst(f.Withheld))
		} else {
			fmt.Fprintf(&b, ". Bundled in the ZIP as %s.", p.filePath(i))
		}
		b.WriteString("\n")
	}
	if p.CustomerErased {
		b.WriteString("The customer's personal data were erased at their request: the files they sent are not included, and attachments of their support messages no longer exist.\n")
	}
	return strings.TrimSpace(b.String())
}

func fileSourceTitle(source string) string {
	switch source {
	case FileDelivered:
		return "Delivered product file"
	case FileClaimEvidence:
		return "Claim evidence"
	default:
		return "Support attachment"
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// filePath is where file i sits in the ZIP: a numbered name under files/,
// from the sanitized display name (never a path the customer chose).
func (p *Pack) filePath(i int) string {
	f := p.Files[i]
	name := f.Name
	if name == "" {
		name = "file"
	}
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	return fmt.Sprintf("files/%02d-%s-%s", i+1, f.Source, name)
}

// extensionOf names a product file's type for the bundle, read from its
// first bytes (a product file's key and slug carry none).
func extensionOf(head []byte) (string, string) {
	ctype := http.DetectContentType(head)
	switch {
	case strings.HasPrefix(ctype, "application/pdf"):
		return ctype, ".pdf"
	case strings.HasPrefix(ctype, "application/zip"):
		return ctype, ".zip"
	case strings.HasPrefix(ctype, "image/png"):
		return ctype, ".png"
	case strings.HasPrefix(ctype, "image/jpeg"):
		return ctype, ".jpg"
	case strings.HasPrefix(ctype, "text/plain"):
		return ctype, ".txt"
	}
	return ctype, ""
}

// fetch reads file i from the store, at most MaxBundledFile bytes; a larger
// file is withheld with its size and SHA-256, read through.
func (p *Pack) fetch(ctx context.Context, store blob.Store, i int) ([]byte, error) {
	f := &p.Files[i]
	rc, err := store.Get(ctx, f.blobKey)
	if errors.Is(err, blob.ErrNotFound) {
		f.Withheld = WithheldMissing
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("disputes: read %s: %w", f.Source, err)
	}
	defer rc.Close()
	h := sha256.New()
	data, err := io.ReadAll(io.LimitReader(io.TeeReader(rc, h), MaxBundledFile+1))
	if err != nil {
		return nil, fmt.Errorf("disputes: read %s: %w", f.Source, err)
	}
	size := int64(len(data))
	if size > MaxBundledFile {
		n, err := io.Copy(h, rc)
		if err != nil {
			return nil, fmt.Errorf("disputes: read %s: %w", f.Source, err)
		}
		size += n
		data = nil
		f.Withheld = WithheldTooLarge
	}
	f.Size = size
	if f.SHA256 == "" {
		f.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if f.Source == FileDelivered && data != nil {
		ctype, ext := extensionOf(data[:min(len(data), 512)])
		f.ContentType = ctype
		if !strings.HasSuffix(f.Name, ext) {
			f.Name += ext
		}
	}
	return data, nil
}
