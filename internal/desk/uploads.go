package desk

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"

	"comptoir/internal/blob"
	"comptoir/internal/claims"
	"comptoir/internal/id"
)

// Bounds on the files a visitor attaches on the Contact page.
const (
	MaxContactFiles     = 5
	MaxContactFileBytes = 5 << 20
)

// contactTypes are the types a Contact attachment may have, as
// net/http.DetectContentType names them from the content (the same
// allow-list as claim evidence): documents and images a browser shows
// without running anything, and plain text. HTML, SVG, scripts, archives
// and executables are refused whatever their name says.
var contactTypes = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain; charset=utf-8": true, "text/plain; charset=utf-16be": true, "text/plain; charset=utf-16le": true,
}

// Upload is one file sent with the Contact form: its name as the browser
// gave it (shown only, never a path) and its content.
type Upload struct {
	Name string
	File io.Reader
}

// Upload error codes.
const (
	UploadTooMany   = "too_many"
	UploadTooLarge  = "too_large"
	UploadForbidden = "forbidden_type"
	UploadEmpty     = "empty"
)

// UploadError is a refused file: Code is one of the Upload* codes, Name the
// file's sanitized name (empty for UploadTooMany).
type UploadError struct {
	Name string
	Code string
}

func (e *UploadError) Error() string {
	return fmt.Sprintf("desk: attachment %q refused: %s", e.Name, e.Code)
}

// StoreUploads checks every file first (how many, size, type read from the
// content) and only then writes them to the blob store under generated
// keys, so that a refused file leaves nothing behind. It returns the
// attachments to pass to OpenFromContact and a discard function that
// removes the stored blobs, for when the ticket is not opened after all.
func StoreUploads(ctx context.Context, store blob.Store, ups []Upload) ([]Attachment, func(), error) {
	nothing := func() {}
	if len(ups) == 0 {
		return nil, nothing, nil
	}
	if len(ups) > MaxContactFiles {
		return nil, nothing, &UploadError{Code: UploadTooMany}
	}
	type checked struct {
		Attachment
		data *bytes.Buffer
	}
	var files []checked
	for _, u := range ups {
		name := claims.SanitizeFileName(u.Name)
		var buf bytes.Buffer
		// One byte over the limit tells a file at the limit from a larger
		// one without reading the rest of it.
		n, err := io.Copy(&buf, io.LimitReader(u.File, MaxContactFileBytes+1))
		if err != nil {
			return nil, nothing, fmt.Errorf("desk: read attachment: %w", err)
		}
		switch {
		case n > MaxContactFileBytes:
			return nil, nothing, &UploadError{Name: name, Code: UploadTooLarge}
		case n == 0:
			return nil, nothing, &UploadError{Name: name, Code: UploadEmpty}
		}
		// The type comes from the content, never from the name or what
		// the browser claimed: an .exe renamed .pdf is still refused.
		ctype := http.DetectContentType(buf.Bytes())
		if !contactTypes[ctype] {
			return nil, nothing, &UploadError{Name: name, Code: UploadForbidden}
		}
		files = append(files, checked{Attachment{FileName: name, ContentType: ctype, Size: n, BlobKey: id.New("att")}, &buf})
	}
	var stored []string
	discard := func() {
		// Best effort: an orphan blob is harmless, only unreferenced.
		for _, k := range stored {
			store.Delete(context.WithoutCancel(ctx), k)
		}
	}
	out := make([]Attachment, 0, len(files))
	for _, f := range files {
		if err := store.Put(ctx, f.BlobKey, f.data, f.Size); err != nil {
			discard()
			return nil, nothing, fmt.Errorf("desk: store attachment: %w", err)
		}
		stored = append(stored, f.BlobKey)
		out = append(out, f.Attachment)
	}
	return out, discard, nil
}

// Attachment returns a file attached to one of the ticket's messages. With
// customerView, files of internal notes and of flagged messages (from
// someone else than the customer) are ErrNotFound, as those messages are
// never shown to the customer.
func (s *Service) Attachment(ctx context.Context, ticketID, attachmentID string, customerView bool) (Attachment, error) {
	if !id.Valid("tat", attachmentID) {
		return Attachment{}, ErrNotFound
	}
	q := `SELECT a.id, a.file_name, a.content_type, a.size, a.blob_key FROM ticket_attachments a
		JOIN ticket_messages m ON m.id = a.message_id WHERE a.id = $1 AND m.ticket_id = $2`
	if customerView {
		q += ` AND m.direction <> 'note' AND m.flagged = FALSE`
	}
	var a Attachment
	err := s.db.Read.QueryRowContext(ctx, q, attachmentID, ticketID).Scan(&a.ID, &a.FileName, &a.ContentType, &a.Size, &a.BlobKey)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, ErrNotFound
	}
	return a, wrapDB("read attachment", err)
}
