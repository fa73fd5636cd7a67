package desk

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/id"
)

// MaxCannedTitleLen caps a canned reply's title.
const MaxCannedTitleLen = 120

// CannedReply is a ready-made answer agents insert into a reply, written
// once per language: the ticket's language picks the body.
type CannedReply struct {
	ID        string
	TitleFR   string
	TitleEN   string
	BodyFR    string
	BodyEN    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Title is the title in lang (French unless "en").
func (c CannedReply) Title(lang string) string {
	if lang == "en" {
		return c.TitleEN
	}
	return c.TitleFR
}

// Body is the body in lang (French unless "en"), placeholders unfilled.
func (c CannedReply) Body(lang string) string {
	if lang == "en" {
		return c.BodyEN
	}
	return c.BodyFR
}

// CannedInput is what an admin types for a canned reply.
type CannedInput struct {
	TitleFR, TitleEN, BodyFR, BodyEN string
	// After, when set, runs in CreateCanned's transaction once the reply
	// is stored: an error undoes it (a form's key stored with it, so that
	// the form sent twice makes one reply).
	After func(ctx context.Context, tx *sql.Tx, c CannedReply) error
	// Read, when set, is the Digest of the reply as the editor showed it:
	// UpdateCanned refuses with ErrCannedChanged once another edit has
	// changed it, rather than putting its old words back unseen.
	Read string
}

// ErrCannedChanged: the canned reply was changed by another edit since the
// editor read it (CannedInput.Read).
var ErrCannedChanged = errors.New("desk: canned reply changed since it was read")

// Digest names the words of a canned reply, for an editor to say which
// version it edits.
func (c CannedReply) Digest() string {
	h := sha256.New()
	for _, s := range []string{c.TitleFR, c.TitleEN, c.BodyFR, c.BodyEN} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Placeholders a canned reply's body may hold, filled in by Fill.
const (
	PlaceholderName      = "{name}"
	PlaceholderReference = "{reference}"
	PlaceholderStore     = "{store}"
)

// Fill returns the canned reply's body in the ticket's language with its
// placeholders filled in for the ticket. A guest who left no name is
// greeted without one rather than with an empty gap: "Hello {name}," reads
// "Hello," then; so is the owner of an address a mail the trusted mail
// server did not vouch for came under (Ticket.mailName).
func (s *Service) Fill(c CannedReply, t Ticket) string {
	body := c.Body(t.Lang)
	name := strings.TrimSpace(t.mailName())
	if name == "" {
		body = strings.ReplaceAll(body, " "+PlaceholderName, "")
	}
	return strings.NewReplacer(PlaceholderName, name, PlaceholderReference, t.Reference,
		PlaceholderStore, s.opts.StoreName).Replace(body)
}

const cannedColumns = `id, title_fr, title_en, body_fr, body_en, created_at, updated_at`

func scanCanned(row interface{ Scan(...any) error }) (CannedReply, error) {
	var c CannedReply
	err := row.Scan(&c.ID, &c.TitleFR, &c.TitleEN, &c.BodyFR, &c.BodyEN, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

// CannedReplies lists the canned replies, by French title (the admin page
// and the agents' picker show them in a stable order).
func (s *Service) CannedReplies(ctx context.Context) ([]CannedReply, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+cannedColumns+` FROM canned_replies ORDER BY title_fr, id LIMIT 500`)
	if err != nil {
		return nil, wrapDB("list canned replies", err)
	}
	defer rows.Close()
	var out []CannedReply
	for rows.Next() {
		c, err := scanCanned(rows)
		if err != nil {
			return nil, wrapDB("list canned replies", err)
		}
		out = append(out, c)
	}
	return out, wrapDB("list canned replies", rows.Err())
}

// CannedReply returns one canned reply.
func (s *Service) CannedReply(ctx context.Context, cannedID string) (CannedReply, error) {
	if !id.Valid("cnr", cannedID) {
		return CannedReply{}, ErrNotFound
	}
	c, err := scanCanned(s.db.Read.QueryRowContext(ctx, `SELECT `+cannedColumns+` FROM canned_replies WHERE id = $1`, cannedID))
	if errors.Is(err, sql.ErrNoRows) {
		return CannedReply{}, ErrNotFound
	}
	return c, wrapDB("read canned reply", err)
}

func checkCanned(in CannedInput) error {
	fields := map[string]string{}
	checkLine(fields, "title_fr", in.TitleFR, true, MaxCannedTitleLen)
	checkLine(fields, "title_en", in.TitleEN, true, MaxCannedTitleLen)
	checkText(fields, "body_fr", in.BodyFR)
	checkText(fields, "body_en", in.BodyEN)
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

func isAdmin(a audit.Actor) bool { return a.ID != "" && a.Role == account.RoleAdmin }

// cannedState is what the audit log keeps of a canned reply: its titles
// and the size of its bodies (the words are in the table).
func cannedState(in CannedInput) map[string]any {
	return map[string]any{"title_fr": in.TitleFR, "title_en": in.TitleEN,
		"body_fr_len": utf8.RuneCountInString(in.BodyFR), "body_en_len": utf8.RuneCountInString(in.BodyEN)}
}

func trimCanned(in CannedInput) CannedInput {
	return CannedInput{After: in.After, Read: in.Read, TitleFR: strings.TrimSpace(in.TitleFR), TitleEN: strings.TrimSpace(in.TitleEN),
		BodyFR: strings.TrimSpace(in.BodyFR), BodyEN: strings.TrimSpace(in.BodyEN)}
}

// CreateCanned adds a canned reply (admins only).
func (s *Service) CreateCanned(ctx context.Context, admin audit.Actor, in CannedInput) (CannedReply, error) {
	if !isAdmin(admin) {
		return CannedReply{}, ErrForbidden
	}
	in = trimCanned(in)
	if err := checkCanned(in); err != nil {
		return CannedReply{}, err
	}
	now := s.clock.Now()
	c := CannedReply{ID: id.New("cnr"), TitleFR: in.TitleFR, TitleEN: in.TitleEN, BodyFR: in.BodyFR, BodyEN: in.BodyEN, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO canned_replies (`+cannedColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			c.ID, c.TitleFR, c.TitleEN, c.BodyFR, c.BodyEN, now); err != nil {
			return wrapDB("store canned reply", err)
		}
		if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: admin, SubjectType: "canned_reply", SubjectID: c.ID,
			Action: "canned_reply.created", After: cannedState(in)}); err != nil {
			return err
		}
		if in.After != nil {
			return in.After(ctx, tx, c)
		}
		return nil
	})
	if err != nil {
		return CannedReply{}, err
	}
	return c, nil
}

// UpdateCanned rewrites a canned reply (admins only).
func (s *Service) UpdateCanned(ctx context.Context, admin audit.Actor, cannedID string, in CannedInput) (CannedReply, error) {
	if !isAdmin(admin) {
		return CannedReply{}, ErrForbidden
	}
	in = trimCanned(in)
	if err := checkCanned(in); err != nil {
		return CannedReply{}, err
	}
	before, err := s.CannedReply(ctx, cannedID)
	if err != nil {
		return CannedReply{}, err
	}
	if in.Read != "" && before.Digest() != in.Read {
		return CannedReply{}, ErrCannedChanged
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Conditional on the words just read, so that an edit committed
		// between that read and here is not overwritten either.
		res, err := tx.ExecContext(ctx, `UPDATE canned_replies SET title_fr = $1, title_en = $2, body_fr = $3, body_en = $4, updated_at = $5
			WHERE id = $6 AND title_fr = $7 AND title_en = $8 AND body_fr = $9 AND body_en = $10`,
			in.TitleFR, in.TitleEN, in.BodyFR, in.BodyEN, now, cannedID, before.TitleFR, before.TitleEN, before.BodyFR, before.BodyEN)
		if err != nil {
			return wrapDB("update canned reply", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return wrapDB("update canned reply", err)
			}
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM canned_replies WHERE id = $1`, cannedID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound // deleted meanwhile
			} else if err != nil {
				return wrapDB("update canned reply", err)
			}
			return ErrCannedChanged // another edit committed since the read above
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: admin, SubjectType: "canned_reply", SubjectID: cannedID,
			Action: "canned_reply.updated", Before: cannedState(CannedInput{TitleFR: before.TitleFR, TitleEN: before.TitleEN, BodyFR: before.BodyFR, BodyEN: before.BodyEN}),
			After: cannedState(in)})
	})
	if err != nil {
		return CannedReply{}, err
	}
	return CannedReply{ID: cannedID, TitleFR: in.TitleFR, TitleEN: in.TitleEN, BodyFR: in.BodyFR, BodyEN: in.BodyEN,
		CreatedAt: before.CreatedAt, UpdatedAt: now}, nil
}

// DeleteCanned removes a canned reply (admins only). Replies already sent
// with it keep their words: they were copied into the message.
func (s *Service) DeleteCanned(ctx context.Context, admin audit.Actor, cannedID string) error {
	if !isAdmin(admin) {
		return ErrForbidden
	}
	before, err := s.CannedReply(ctx, cannedID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM canned_replies WHERE id = $1`, cannedID)
		if err != nil {
			return wrapDB("delete canned reply", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return wrapDB("delete canned reply", err)
			}
			return ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: admin, SubjectType: "canned_reply", SubjectID: cannedID,
			Action: "canned_reply.deleted", Before: cannedState(CannedInput{TitleFR: before.TitleFR, TitleEN: before.TitleEN, BodyFR: before.BodyFR, BodyEN: before.BodyEN})})
	})
}
