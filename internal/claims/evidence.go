package claims

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"comptoir/internal/account"
	"comptoir/internal/audit"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/policy"
)

// EvidenceInput is one piece of evidence: a text, or a file (Name as
// uploaded, for display only, and its content).
type EvidenceInput struct {
	Text string
	// Lang is the language Text is written in ("fr", "en"), or "" when
	// it is not known.
	Lang string
	Name string
	File io.Reader
}

// Bounds on evidence beyond Options' file limits.
const (
	maxEvidenceText  = 20_000 // bytes of one text
	maxTextsPerBatch = 10
	maxFileName      = 120 // runes of a display name
)

// allowedTypes are the file types evidence may have, as
// net/http.DetectContentType names them from the content: documents and
// images a browser shows without running anything, and plain text. HTML,
// SVG, scripts and executables are refused whatever their name says.
var allowedTypes = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"text/plain; charset=utf-8": true, "text/plain; charset=utf-16be": true, "text/plain; charset=utf-16le": true,
}

// preparedEvidence is a checked piece of evidence; for a file, its blob
// is written before the transaction (no I/O to a blob store inside it).
type preparedEvidence struct {
	Evidence
	stored bool
}

// AddEvidence adds text and files to an open claim of customerID's and
// decides the claim again on the new facts (awaiting_evidence → review), in
// one transaction. Files are checked by content against an allow-list
// (ErrEvidenceTypeForbidden) and by size (ErrEvidenceTooLarge), and a claim
// holds at most MaxEvidenceFiles files (ErrTooManyEvidence); a refused piece
// comes back as an *EvidenceError, the claim is kept as it was and nothing
// of the batch is stored. A claim that is no longer open is ErrClaimNotOpen.
func (s *Service) AddEvidence(ctx context.Context, customerID, claimID string, in []EvidenceInput) (Claim, []Evidence, error) {
	return s.AddEvidenceThen(ctx, customerID, claimID, in, nil)
}

// AddEvidenceThen is AddEvidence with then, when set, run in its
// transaction with the claim once the evidence is in: the page stores its
// form key's answer there, so that the form sent twice adds its evidence
// once (an error from then stores nothing of the batch).
func (s *Service) AddEvidenceThen(ctx context.Context, customerID, claimID string, in []EvidenceInput,
	then func(ctx context.Context, tx *sql.Tx, c Claim) error) (Claim, []Evidence, error) {
	c, err := s.GetForCustomer(ctx, customerID, claimID)
	if err != nil {
		return Claim{}, nil, err
	}
	if !c.Open() {
		return Claim{}, nil, ErrClaimNotOpen
	}
	if len(in) == 0 {
		return Claim{}, nil, invalid("evidence", "required")
	}
	existing, err := s.Evidence(ctx, c.ID)
	if err != nil {
		return Claim{}, nil, err
	}
	files, texts, newFiles := 0, 0, 0
	for _, e := range existing {
		if e.Kind == "file" {
			files++
		}
	}
	for _, e := range in {
		if e.File != nil {
			newFiles++
		} else {
			texts++
		}
	}
	// Checked here to refuse at once, before any file is read; checked
	// again in the transaction, which alone sees concurrent uploads.
	if files += newFiles; files > s.opts.MaxEvidenceFiles {
		return Claim{}, nil, ErrTooManyEvidence
	}
	if texts > maxTextsPerBatch {
		return Claim{}, nil, invalid("evidence", "too_many_texts")
	}

	// Check and store each piece in turn, holding one file in memory at a
	// time; on any failure the blobs already written are removed again.
	var prepared []preparedEvidence
	cleanup := func() {
		for _, p := range prepared {
			if p.stored {
				// Best effort: a blob left behind by a crash here is an
				// orphan no row points to, never evidence of another claim.
				s.blobs.Delete(context.WithoutCancel(ctx), p.blobKey)
			}
		}
	}
	for i, e := range in {
		p, err := s.prepareEvidence(ctx, i, c.ID, customerID, e)
		if err != nil {
			cleanup()
			return Claim{}, nil, err
		}
		prepared = append(prepared, p)
	}

	var added []Evidence
	err = s.retry(ctx, func() error {
		cur, err := s.Get(ctx, c.ID)
		if err != nil {
			return err
		}
		if !cur.Open() {
			return ErrClaimNotOpen
		}
		subj, err := s.gather(ctx, cur)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		added = added[:0]
		for _, p := range prepared {
			e := p.Evidence
			e.AddedAt = now
			added = append(added, e)
			subj.facts.Evidence = append(subj.facts.Evidence, policy.Evidence{Kind: e.Kind, At: now})
		}
		before := cur
		add := func(d policy.Decision) error {
			cur = before
			return s.db.Tx(ctx, func(tx *sql.Tx) error {
				return s.addEvidenceTx(ctx, tx, subj, &cur, before, d, added, newFiles, customerID, now, then)
			})
		}
		err = add(s.evaluate(subj, now))
		if paymentDisputed(err) && before.Decision.Rule == RuleRefundHeld {
			// The refund the engine gives is still held by the payment's
			// dispute: the evidence joins the held claim, which the
			// scheduled re-decisions decide on it once the bank has.
			err = add(before.Decision)
		}
		c = cur
		return err
	})
	if err != nil {
		cleanup()
		return Claim{}, nil, err
	}
	return c, added, nil
}

// addEvidenceTx stores the pieces added to claim cur (as read before,
// with subj its subject) and makes d its decision if it is another.
func (s *Service) addEvidenceTx(ctx context.Context, tx *sql.Tx, subj *subject, cur *Claim, before Claim, d policy.Decision,
	added []Evidence, newFiles int, customerID string, now time.Time, then func(ctx context.Context, tx *sql.Tx, c Claim) error) error {
	changed := !reflect.DeepEqual(d, cur.Decision)
	notified := subj
	if changed {
		var err error
		if notified, err = s.applyAutomaticTx(ctx, tx, subj, cur, d, now, cur.Revision); err != nil {
			return err
		}
	} else if err := touchClaimTx(ctx, tx, cur, now, cur.Revision); err != nil {
		return err
	}
	// The claim's row is locked by the update above, so the
	// positions cannot be taken twice, and the files counted here
	// are all there are: the count made before the transaction
	// let uploads arriving together each see room for theirs.
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM claim_evidence WHERE claim_id = $1 AND kind = 'file'`, cur.ID).Scan(&have); err != nil {
		return wrapDB("evidence count", err)
	}
	if have+newFiles > s.opts.MaxEvidenceFiles {
		return ErrTooManyEvidence
	}
	var last int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM claim_evidence WHERE claim_id = $1`, cur.ID).Scan(&last); err != nil {
		return wrapDB("evidence position", err)
	}
	for i, e := range added {
		if err := insertEvidenceTx(ctx, tx, e, last+i+1); err != nil {
			return err
		}
	}
	actor := audit.Actor{ID: customerID, Role: account.RoleCustomer}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: actor, SubjectType: "claim", SubjectID: cur.ID,
		Action: "evidence.add", After: evidenceState(added)}); err != nil {
		return err
	}
	if then != nil {
		if err := then(ctx, tx, *cur); err != nil {
			return err
		}
	}
	if !changed {
		return nil
	}
	if err := audit.Record(ctx, tx, audit.Entry{At: now, Actor: audit.System, SubjectType: "claim", SubjectID: cur.ID,
		Action: "redecide", Before: decisionState(before), After: decisionState(*cur)}); err != nil {
		return err
	}
	return s.notifyTx(ctx, tx, "claim_decided", notified, *cur)
}

// prepareEvidence checks one piece and, for a file, writes its blob.
func (s *Service) prepareEvidence(ctx context.Context, i int, claimID, by string, in EvidenceInput) (preparedEvidence, error) {
	p := preparedEvidence{Evidence: Evidence{ID: id.New("evd"), ClaimID: claimID, AddedBy: by}}
	if in.File == nil {
		text := strings.TrimSpace(in.Text)
		switch {
		case text == "":
			return p, &EvidenceError{Index: i, Err: ErrEvidenceEmpty}
		case len(text) > maxEvidenceText:
			return p, &EvidenceError{Index: i, Err: ErrEvidenceTooLarge}
		case !db.ValidText(text):
			// Not text (NUL, invalid UTF-8): PostgreSQL would refuse it
			// with a server error.
			return p, &EvidenceError{Index: i, Err: ErrEvidenceTypeForbidden}
		}
		sum := sha256.Sum256([]byte(text))
		p.Kind, p.Text, p.Size, p.SHA256, p.Lang = "text", text, int64(len(text)), hex.EncodeToString(sum[:]), knownLang(in.Lang)
		return p, nil
	}
	name := SanitizeFileName(in.Name)
	// One byte more than the limit tells a file at the limit from a larger
	// one without reading the rest of it.
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(in.File, s.opts.MaxEvidenceBytes+1))
	if err != nil {
		return p, &EvidenceError{Index: i, Name: name, Err: err}
	}
	switch {
	case n > s.opts.MaxEvidenceBytes:
		return p, &EvidenceError{Index: i, Name: name, Err: ErrEvidenceTooLarge}
	case n == 0:
		return p, &EvidenceError{Index: i, Name: name, Err: ErrEvidenceEmpty}
	}
	// The type comes from the content, never from the name or the type
	// the browser claimed: an .exe renamed .pdf is still refused.
	ctype := http.DetectContentType(buf.Bytes())
	if !allowedTypes[ctype] {
		return p, &EvidenceError{Index: i, Name: name, Err: ErrEvidenceTypeForbidden}
	}
	sum := sha256.Sum256(buf.Bytes())
	p.Kind, p.FileName, p.ContentType, p.Size, p.SHA256 = "file", name, ctype, n, hex.EncodeToString(sum[:])
	// The key is the evidence's generated id: nothing the customer typed
	// reaches a path.
	p.blobKey = p.ID
	if err := s.blobs.Put(ctx, p.blobKey, &buf, n); err != nil {
		return p, err
	}
	p.stored = true
	return p, nil
}

func insertEvidenceTx(ctx context.Context, tx *sql.Tx, e Evidence, position int) error {
	var text, key, name, ctype any
	if e.Kind == "text" {
		text = e.Text
	} else {
		key, name, ctype = e.blobKey, e.FileName, e.ContentType
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO claim_evidence (id, claim_id, position, kind, text, blob_key, file_name, content_type, size, sha256, added_at, added_by, lang)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.ID, e.ClaimID, position, e.Kind, text, key, name, ctype, e.Size, e.SHA256, e.AddedAt, e.AddedBy, e.Lang)
	return wrapDB("insert evidence", err)
}

// evidenceState is what the audit log keeps of added evidence: ids, kinds,
// types, sizes and digests, not the words or file names (personal data).
func evidenceState(es []Evidence) []map[string]any {
	out := make([]map[string]any, len(es))
	for i, e := range es {
		out[i] = map[string]any{"id": e.ID, "kind": e.Kind, "size": e.Size, "sha256": e.SHA256}
		if e.ContentType != "" {
			out[i]["content_type"] = e.ContentType
		}
	}
	return out
}

// SanitizeFileName turns an uploaded file's name into a display name: the
// last path element only (whichever separator the client used), without
// control and invisible formatting characters (a right-to-left override
// can make "exe.pdf" read as "fdp.exe"), quotes or leading dots, at most
// 120 characters; "file" when nothing is left. It is only ever shown:
// files are stored under generated keys.
func SanitizeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	count := 0
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune("\"<>:|?*", r) {
			continue
		}
		if unicode.IsSpace(r) {
			r = ' '
		}
		if count == maxFileName {
			break
		}
		b.WriteRune(r)
		count++
	}
	out := strings.TrimLeft(strings.TrimSpace(b.String()), ". ")
	if out == "" {
		return "file"
	}
	return out
}
