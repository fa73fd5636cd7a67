// Package legal keeps the store's legal pages — the legal notice, the terms
// of sale, the privacy notice and the consumer mediator page — as versioned
// documents in French and English, the way policystore keeps the refund
// policy: drafts an admin edits, published versions that never change, and
// one version in force per kind.
//
// An order records the terms version its buyer accepted ("terms@2"), so the
// text that binds it can always be shown again (Get). The shipped first
// versions (defaults/) are written to the table on first use, published and
// in force, with placeholders ([[…]]) where only the store knows the answer;
// the admin pages warn while one remains in force.
package legal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"comptoir/internal/audit"
	"comptoir/internal/clock"
	"comptoir/internal/db"
)

// Kind is a legal page.
type Kind string

// The kinds, in the order pages list them.
const (
	Notice   Kind = "legal_notice"
	Terms    Kind = "terms"
	Privacy  Kind = "privacy"
	Mediator Kind = "mediator"
)

// Kinds lists every kind.
var Kinds = []Kind{Notice, Terms, Privacy, Mediator}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// MaxText bounds one language's text: far above any real legal page, low
// enough that a form cannot fill the database.
const MaxText = 200_000

// Errors callers tell apart with errors.Is.
var (
	// ErrNotFound: no such version (or, for customer pages, not published).
	ErrNotFound = errors.New("legal: no such document version")
	// ErrVersionPublished: the version is published and never changes.
	ErrVersionPublished = errors.New("legal: this version is published and never changes")
	// ErrConcurrentEdit: another admin saved a draft of the same kind at the
	// same moment; saving again works.
	ErrConcurrentEdit = errors.New("legal: another draft was saved at the same time")
	// ErrDraftChanged: the draft's text is no longer the one its publisher
	// read (saved again since, by another admin or in another tab).
	ErrDraftChanged = errors.New("legal: the draft was changed since it was read")
)

// InvalidError says which text of a draft cannot be saved, and why: Field
// is "body_fr" or "body_en", Code "required", "too_long" or "invalid_text".
type InvalidError struct{ Field, Code string }

func (e *InvalidError) Error() string { return "legal: " + e.Field + ": " + e.Code }

// Document is one version of one kind.
type Document struct {
	Kind    Kind
	Version int64
	FR, EN  string
	Digest  string
	Created time.Time
	// CreatedBy is the admin who saved the text; "" for the shipped version.
	CreatedBy string
	// Published is zero for a draft.
	Published time.Time
	InForce   bool
}

// ID names the version as orders record it: "terms@2".
func (d *Document) ID() string { return VersionID(d.Kind, d.Version) }

// IsDraft tells whether the version can still be edited.
func (d *Document) IsDraft() bool { return d.Published.IsZero() }

// Text is the text in lang ("fr" or "en"; anything else reads French, the
// store's legal language).
func (d *Document) Text(lang string) string {
	if lang == "en" {
		return d.EN
	}
	return d.FR
}

// Placeholders lists what is left to fill in either language.
func (d *Document) Placeholders() []string { return Placeholders(d.FR, d.EN) }

// VersionID is the ID of kind's version n.
func VersionID(k Kind, n int64) string { return string(k) + "@" + strconv.FormatInt(n, 10) }

// ParseVersion reads a version as a page link names it: "3" or "terms@3"
// (which must then be of kind k).
func ParseVersion(k Kind, s string) (int64, bool) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		if s[:i] != string(k) {
			return 0, false
		}
		s = s[i+1:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

func digest(fr, en string) string {
	h := sha256.New()
	// Lengths first, so that moving text from one language to the other
	// changes the digest.
	fmt.Fprintf(h, "%d:%s%d:%s", len(fr), fr, len(en), en)
	return hex.EncodeToString(h.Sum(nil))
}

//go:embed defaults/*.txt
var defaultsFS embed.FS

// Default returns the shipped first version of a kind.
func Default(k Kind) (fr, en string) {
	read := func(lang string) string {
		b, err := defaultsFS.ReadFile("defaults/" + string(k) + "." + lang + ".txt")
		if err != nil {
			panic("legal: shipped text missing: " + err.Error()) // a build error, caught by the tests
		}
		return string(b)
	}
	return read("fr"), read("en")
}

// refreshEvery is how stale the documents in force may be on a node that
// did not publish (see Service.Current).
const refreshEvery = time.Second

// Service is the legal pages' use cases. Make one per process and share it:
// it holds the cache.
type Service struct {
	db    *db.DB
	clock clock.Clock

	cur    atomic.Pointer[snapshot]
	mu     sync.Mutex // serializes refreshes of cur
	seeded atomic.Bool
	// published caches published versions by ID; they never change.
	published sync.Map // string → *Document
}

// snapshot is the documents in force, with the generation of each, as
// read at checked.
type snapshot struct {
	docs    map[Kind]*Document
	gens    map[Kind]int64
	checked time.Time
}

// New returns the service.
func New(d *db.DB, c clock.Clock) *Service { return &Service{db: d, clock: c} }

// Current returns the version of k in force: the one the pages show and
// the one a buyer accepts today.
//
// It runs for every checkout and legal page, so it usually reads nothing:
// the documents in force are cached. Publish on this node replaces the
// cache at once; another node learns of it within a second, by reading
// legal_current's four generation numbers once the cache is a second old
// and reading again only the documents whose number moved. An order placed
// during that second records the version its buyer was shown.
func (s *Service) Current(ctx context.Context, k Kind) (*Document, error) {
	if _, ok := ParseKind(string(k)); !ok {
		return nil, ErrNotFound
	}
	if snap := s.cur.Load(); snap != nil && fresh(snap.checked, s.clock.Now()) {
		return snap.docs[k], nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	old := s.cur.Load()
	if old != nil && fresh(old.checked, now) {
		return old.docs[k], nil
	}
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT kind, version, generation FROM legal_current`)
	if err != nil {
		return nil, fmt.Errorf("legal: read the versions in force: %w", err)
	}
	type row struct {
		version, gen int64
	}
	inForce := map[Kind]row{}
	for rows.Next() {
		var kind string
		var r row
		if err := rows.Scan(&kind, &r.version, &r.gen); err != nil {
			rows.Close()
			return nil, fmt.Errorf("legal: read the versions in force: %w", err)
		}
		inForce[Kind(kind)] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("legal: read the versions in force: %w", err)
	}
	snap := &snapshot{docs: map[Kind]*Document{}, gens: map[Kind]int64{}, checked: now}
	for _, kind := range Kinds {
		r, ok := inForce[kind]
		if !ok {
			return nil, fmt.Errorf("legal: no %s version in force", kind)
		}
		if old != nil && old.gens[kind] == r.gen {
			snap.docs[kind], snap.gens[kind] = old.docs[kind], r.gen
			continue
		}
		d, err := s.Get(ctx, kind, r.version)
		if err != nil {
			return nil, fmt.Errorf("legal: the version in force, %s: %w", VersionID(kind, r.version), err)
		}
		in := *d
		in.InForce = true
		snap.docs[kind], snap.gens[kind] = &in, r.gen
	}
	s.cur.Store(snap)
	return snap.docs[k], nil
}

// CurrentID is the ID of the version of k in force ("terms@1").
func (s *Service) CurrentID(ctx context.Context, k Kind) (string, error) {
	d, err := s.Current(ctx, k)
	if err != nil {
		return "", err
	}
	return d.ID(), nil
}

// fresh tells whether a snapshot checked at checked may be used at now; a
// clock set back makes it stale rather than fresh for ever.
func fresh(checked, now time.Time) bool {
	return !now.Before(checked) && now.Sub(checked) < refreshEvery
}

// ensureSeeded writes the shipped first version of every kind that has
// none in force, published and in force. Idempotent and safe on several
// nodes at once: the inserts do nothing when the rows exist, and only the
// transaction that put a version in force records it in the audit log.
func (s *Service) ensureSeeded(ctx context.Context) error {
	if s.seeded.Load() {
		return nil
	}
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM legal_current`).Scan(&n); err != nil {
		return fmt.Errorf("legal: read the versions in force: %w", err)
	}
	if n < len(Kinds) {
		now := s.clock.Now()
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			for _, k := range Kinds {
				fr, en := Default(k)
				dg := digest(fr, en)
				if _, err := tx.ExecContext(ctx, `INSERT INTO legal_documents (kind, version, body_fr, body_en, digest, created_at, created_by, published_at)
					VALUES ($1, 1, $2, $3, $4, $5, NULL, $5) ON CONFLICT (kind, version) DO NOTHING`, string(k), fr, en, dg, now); err != nil {
					return fmt.Errorf("legal: seed %s: %w", k, err)
				}
				res, err := tx.ExecContext(ctx, `INSERT INTO legal_current (kind, version, generation, changed_at)
					VALUES ($1, 1, 1, $2) ON CONFLICT (kind) DO NOTHING`, string(k), now)
				if err != nil {
					return fmt.Errorf("legal: put %s in force: %w", k, err)
				}
				if inserted, err := res.RowsAffected(); err != nil {
					return err
				} else if inserted == 0 {
					continue // already in force (another node, or an earlier run)
				}
				if err := audit.Record(ctx, tx, audit.Entry{
					At: now, Actor: audit.System, SubjectType: "legal", SubjectID: VersionID(k, 1), Action: "legal.seed",
					After: map[string]string{"version": VersionID(k, 1), "digest": dg},
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	s.seeded.Store(true)
	return nil
}

const docColumns = `d.kind, d.version, d.body_fr, d.body_en, d.digest, d.created_at, d.created_by, d.published_at,
	CASE WHEN c.kind IS NULL THEN 0 ELSE 1 END`

const docFrom = ` FROM legal_documents d LEFT JOIN legal_current c ON c.kind = d.kind AND c.version = d.version`

func scanDoc(row interface{ Scan(...any) error }) (*Document, error) {
	var d Document
	var kind string
	var by sql.NullString
	var published sql.NullTime
	var inForce int
	if err := row.Scan(&kind, &d.Version, &d.FR, &d.EN, &d.Digest, &d.Created, &by, &published, &inForce); err != nil {
		return nil, err
	}
	d.Kind = Kind(kind)
	d.Created = d.Created.UTC()
	d.CreatedBy = by.String
	if published.Valid {
		d.Published = published.Time.UTC()
	}
	d.InForce = inForce == 1
	if d.Digest != digest(d.FR, d.EN) {
		// Only a write around this package can cause it: refuse to show
		// a text nobody published as if it were.
		return nil, fmt.Errorf("legal: %s as stored does not match its digest", d.ID())
	}
	return &d, nil
}

// Get returns a published version: the one an order recorded, or the one a
// page link names. A draft is ErrNotFound, since it binds nobody. The
// result's InForce is false: ask Current for what is in force.
func (s *Service) Get(ctx context.Context, k Kind, version int64) (*Document, error) {
	id := VersionID(k, version)
	if d, ok := s.published.Load(id); ok {
		return d.(*Document), nil
	}
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	d, err := s.version(ctx, k, version)
	if err != nil {
		return nil, err
	}
	if d.IsDraft() {
		return nil, ErrNotFound
	}
	d.InForce = false
	s.published.Store(id, d)
	return d, nil
}

// Version returns any version, draft or published, with its text: what the
// admin pages read. Customer pages use Get.
func (s *Service) Version(ctx context.Context, k Kind, version int64) (*Document, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	return s.version(ctx, k, version)
}

func (s *Service) version(ctx context.Context, k Kind, version int64) (*Document, error) {
	d, err := scanDoc(s.db.Read.QueryRowContext(ctx, `SELECT `+docColumns+docFrom+` WHERE d.kind = $1 AND d.version = $2`, string(k), version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("legal: read %s: %w", VersionID(k, version), err)
	}
	return d, nil
}

// List returns every version of k, drafts included, newest first.
func (s *Service) List(ctx context.Context, k Kind) ([]*Document, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+docColumns+docFrom+` WHERE d.kind = $1 ORDER BY d.version DESC`, string(k))
	if err != nil {
		return nil, fmt.Errorf("legal: list %s: %w", k, err)
	}
	defer rows.Close()
	var out []*Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("legal: list %s: %w", k, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// checkText refuses a text that cannot be a page.
func checkText(field, text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return &InvalidError{Field: field, Code: "required"}
	case len(text) > MaxText:
		return &InvalidError{Field: field, Code: "too_long"}
	case !db.ValidText(text):
		return &InvalidError{Field: field, Code: "invalid_text"}
	}
	return nil
}

// SaveDraft keeps fr and en as the draft of k's next version. There is at
// most one draft per kind, the version after the newest published one:
// saving again rewrites it, until it is published. Saving the same texts
// again changes nothing.
func (s *Service) SaveDraft(ctx context.Context, actor audit.Actor, k Kind, fr, en string) (*Document, error) {
	return s.SaveDraftOver(ctx, actor, k, fr, en, "")
}

// NoDraft is SaveDraftOver's draftRead when the editor was opened while
// kind had no draft.
const NoDraft = "none"

// SaveDraftOver is SaveDraft from an editor opened when k's draft had the
// digest draftRead (NoDraft: when there was none): ErrDraftChanged, and
// nothing saved, when another draft has been saved since, rather than
// rewriting it unseen. An empty draftRead checks nothing.
func (s *Service) SaveDraftOver(ctx context.Context, actor audit.Actor, k Kind, fr, en, draftRead string) (*Document, error) {
	if _, ok := ParseKind(string(k)); !ok {
		return nil, ErrNotFound
	}
	fr, en = strings.ReplaceAll(fr, "\r\n", "\n"), strings.ReplaceAll(en, "\r\n", "\n")
	if err := checkText("body_fr", fr); err != nil {
		return nil, err
	}
	if err := checkText("body_en", en); err != nil {
		return nil, err
	}
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	dg := digest(fr, en)
	var version int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var newest int64
		var published sql.NullTime
		var oldDigest string
		err := tx.QueryRowContext(ctx, `SELECT version, published_at, digest FROM legal_documents WHERE kind = $1
			ORDER BY version DESC LIMIT 1`, string(k)).Scan(&newest, &published, &oldDigest)
		if err != nil {
			return fmt.Errorf("legal: read %s's versions: %w", k, err)
		}
		action := "legal.draft"
		switch {
		case draftRead == "":
		case published.Valid && draftRead != NoDraft, !published.Valid && draftRead != oldDigest:
			// A draft saved, or published, since the editor was opened.
			return ErrDraftChanged
		}
		if published.Valid {
			version = newest + 1
			if _, err := tx.ExecContext(ctx, `INSERT INTO legal_documents (kind, version, body_fr, body_en, digest, created_at, created_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, string(k), version, fr, en, dg, now, nullable(actor.ID)); err != nil {
				if db.IsUniqueViolation(err) {
					return ErrConcurrentEdit
				}
				return fmt.Errorf("legal: save %s: %w", VersionID(k, version), err)
			}
		} else {
			version = newest
			if oldDigest == dg {
				return nil // the same texts: nothing to save, nothing to log
			}
			// Conditional: a publish between the read and here matches
			// no row, and the trigger would refuse it anyway.
			res, err := tx.ExecContext(ctx, `UPDATE legal_documents SET body_fr = $1, body_en = $2, digest = $3, created_at = $4, created_by = $5
				WHERE kind = $6 AND version = $7 AND published_at IS NULL`, fr, en, dg, now, nullable(actor.ID), string(k), version)
			if err != nil {
				return fmt.Errorf("legal: save %s: %w", VersionID(k, version), err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return ErrConcurrentEdit
			}
		}
		return audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: actor, SubjectType: "legal", SubjectID: VersionID(k, version), Action: action,
			After: map[string]string{"version": VersionID(k, version), "digest": dg},
		})
	})
	if err != nil {
		return nil, err
	}
	return s.version(ctx, k, version)
}

// Publish puts a draft in force: from now on it never changes, the pages
// show it and buyers accept it.
func (s *Service) Publish(ctx context.Context, actor audit.Actor, k Kind, version int64) error {
	return s.PublishAsRead(ctx, actor, k, version, "")
}

// errAlreadyInForce ends PublishAsRead's transaction, changing nothing,
// when the texts read are those of the version in force.
var errAlreadyInForce = errors.New("legal: already in force")

// PublishAsRead is Publish of the texts whose digest the publisher read
// (the preview they pressed Publish under): ErrDraftChanged, and nothing
// done, when the draft was saved again with other texts since; nil, and
// nothing done, when those texts are in force already (the button pressed
// twice). An empty digest checks nothing.
func (s *Service) PublishAsRead(ctx context.Context, actor audit.Actor, k Kind, version int64, read string) error {
	if _, ok := ParseKind(string(k)); !ok {
		return ErrNotFound
	}
	if err := s.ensureSeeded(ctx); err != nil {
		return err
	}
	now := s.clock.Now()
	var generation int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE legal_documents SET published_at = $1
			WHERE kind = $2 AND version = $3 AND published_at IS NULL AND ($4 = '' OR digest = $4)`,
			now, string(k), version, read)
		if err != nil {
			return fmt.Errorf("legal: publish %s: %w", VersionID(k, version), err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var dg string
			err := tx.QueryRowContext(ctx, `SELECT digest FROM legal_documents WHERE kind = $1 AND version = $2`, string(k), version).Scan(&dg)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			if read != "" && dg != read {
				// Saved over, or published by someone else with other texts.
				return ErrDraftChanged
			}
			if read != "" {
				// The texts read, published already: a second press of the
				// button (a double click) is answered as the first, as long
				// as that version is still the one in force.
				var inForce int64
				if err := tx.QueryRowContext(ctx, `SELECT version FROM legal_current WHERE kind = $1`, string(k)).Scan(&inForce); err != nil {
					return fmt.Errorf("legal: read %s in force: %w", k, err)
				}
				if inForce == version {
					return errAlreadyInForce
				}
			}
			return ErrVersionPublished
		}
		if err := tx.QueryRowContext(ctx, `UPDATE legal_current SET version = $1, generation = generation + 1, changed_at = $2
			WHERE kind = $3 RETURNING generation`, version, now, string(k)).Scan(&generation); err != nil {
			return fmt.Errorf("legal: put %s in force: %w", VersionID(k, version), err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: actor, SubjectType: "legal", SubjectID: VersionID(k, version), Action: "legal.publish",
			After: map[string]any{"version": VersionID(k, version), "generation": generation},
		})
	})
	if errors.Is(err, errAlreadyInForce) {
		return nil
	}
	if err != nil {
		return err
	}
	// Forget the cache: the next Current reads the new version at once on
	// this node (others within refreshEvery).
	s.mu.Lock()
	s.cur.Store(nil)
	s.mu.Unlock()
	return nil
}

// nullable stores "" as NULL (the system, not a user).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
