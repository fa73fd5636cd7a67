// Package policystore keeps the refund policy's versions in the database
// (POLICY.md, "A policy is a versioned document"): drafts that an admin
// edits, published versions that never change, and the one version in force.
//
// An order records the ID of the version its customer accepted ("default@1")
// and its claims are decided under that version, whatever was published
// since: Get returns any published version, Current the one new orders
// accept. The built-in default policy (policy.Default, default@1) is in force
// until something else is published; it is written to the table on first
// use, so that the table alone says what every order accepted.
//
// The rules themselves live in package policy, which is pure; this package
// adds storage, publication and the cache that keeps Current off the
// database on the hot path.
package policystore

import (
	"context"
	"database/sql"
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
	"comptoir/internal/policy"
)

// Error is a refusal to show to the person who asked: Code is stable (the
// API's error code), Msg says it in words. Err, when set, is the cause (a
// *policy.ParseError for CodeInvalid).
type Error struct {
	Code string
	Msg  string
	Err  error
}

// Error codes.
const (
	CodeNotFound         = "not_found"
	CodeVersionPublished = "version_published"
	CodeInvalid          = "invalid_policy"
	CodeDraftChanged     = "draft_changed"
)

func (e *Error) Error() string {
	if e.Err != nil {
		return "policystore: " + e.Code + ": " + e.Msg + ": " + e.Err.Error()
	}
	return "policystore: " + e.Code + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for every *Error of that code,
// whatever its message says about the version concerned.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errors callers tell apart with errors.Is.
var (
	// ErrNotFound: no published version has that ID (or the ID is not of
	// the form name@N).
	ErrNotFound = &Error{Code: CodeNotFound, Msg: "no such policy version"}
	// ErrVersionPublished: a draft was saved under a name@version that is
	// already published. A published version never changes: give the
	// draft a new version number.
	ErrVersionPublished = &Error{Code: CodeVersionPublished, Msg: "this version is published and never changes: give the document a new version"}
	// ErrInvalid: a stored draft no longer parses (the format grew a
	// requirement since it was saved), so it cannot be published.
	ErrInvalid = &Error{Code: CodeInvalid, Msg: "the document is not a valid policy"}
	// ErrDraftChanged: the draft was saved again (by another admin, in
	// another tab) since its text was read: publishing it would put in
	// force a text its publisher has not seen, saving over it would lose
	// the other text unseen.
	ErrDraftChanged = &Error{Code: CodeDraftChanged, Msg: "the draft was changed since it was read: read it again before publishing"}
)

// refreshEvery is how stale Current may be on a node that did not publish.
// See Service.Current.
const refreshEvery = time.Second

// Service is the policy versions' use cases. It is safe for concurrent use;
// make one per process and share it, since it holds the cache.
type Service struct {
	db    *db.DB
	clock clock.Clock

	// cur is the version in force as this node last saw it. Readers load it
	// without a lock: Current runs for every checkout and policy page.
	cur atomic.Pointer[snapshot]
	// mu serializes the refreshes of cur (and the seeding they may cause),
	// so that a burst of requests after the second has passed makes one
	// query, not one each, and so that a refresh cannot overwrite a newer
	// snapshot stored by Publish.
	mu sync.Mutex
	// seeded is set once policy_current is known to have its row.
	seeded atomic.Bool
	// published caches parsed published versions by ID. They never change,
	// so an entry never goes stale; there are as many as an admin has
	// published, a handful.
	published sync.Map // string → *policy.Policy
	// publishedAt caches when published versions were published, by ID
	// (PublishedAt): that never changes either.
	publishedAt sync.Map // string → time.Time
}

// snapshot is the version in force at generation, as read at checked.
type snapshot struct {
	policy     *policy.Policy
	generation int64
	checked    time.Time
}

// New returns the service.
func New(d *db.DB, c clock.Clock) *Service {
	return &Service{db: d, clock: c}
}

// Current returns the version in force: the one a customer accepts when
// ordering today, and the one the policy page shows. On an empty table it
// is the built-in default@1, which it writes to the table first (once, in a
// transaction; concurrent first calls on any number of nodes write it once).
//
// Current is on the hot path, so it parses nothing and usually reads
// nothing: the parsed policy is cached. Publish on this node replaces the
// cache at once. Another node learns of a publish through
// policy_current.generation, a number that goes up at each change: once the
// cache is a second old, the next call reads that one row and parses again
// only when the number moved. So a publish reaches every node within about a
// second, at the cost of one primary-key read per second per node, and no
// node needs to talk to another (no node is special). A second is harmless
// here: an order placed during that second records the version it was shown
// and accepted, which is the one that binds it.
func (s *Service) Current(ctx context.Context) (*policy.Policy, error) {
	if snap := s.cur.Load(); snap != nil && fresh(snap.checked, s.clock.Now()) {
		return snap.policy, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	snap := s.cur.Load()
	if snap != nil && fresh(snap.checked, now) {
		return snap.policy, nil // another caller refreshed while we waited
	}
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	var name string
	var version, generation int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT name, version, generation FROM policy_current WHERE id = 1`).
		Scan(&name, &version, &generation)
	if err != nil {
		return nil, fmt.Errorf("policystore: read the version in force: %w", err)
	}
	if snap != nil && snap.generation == generation {
		s.cur.Store(&snapshot{policy: snap.policy, generation: generation, checked: now})
		return snap.policy, nil
	}
	p, err := s.Get(ctx, versionID(name, version))
	if err != nil {
		return nil, fmt.Errorf("policystore: the version in force, %s: %w", versionID(name, version), err)
	}
	s.cur.Store(&snapshot{policy: p, generation: generation, checked: now})
	return p, nil
}

// fresh tells whether a snapshot checked at checked may still be used at
// now. A clock that went backwards (a test or demo clock set back) makes it
// stale rather than fresh for ever.
func fresh(checked, now time.Time) bool {
	return !now.Before(checked) && now.Sub(checked) < refreshEvery
}

// ensureSeeded writes the built-in default@1, published and in force, when
// no version is in force yet. It is idempotent and safe to run from several
// nodes at once: both inserts do nothing when the row exists (on PostgreSQL
// the second transaction waits for the first and then finds its rows), and
// only the transaction that actually inserted the row in force records it
// in the audit log.
func (s *Service) ensureSeeded(ctx context.Context) error {
	if s.seeded.Load() {
		return nil
	}
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM policy_current`).Scan(&n); err != nil {
		return fmt.Errorf("policystore: read the version in force: %w", err)
	}
	if n == 0 {
		def := policy.Default()
		now := s.clock.Now()
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO policies (name, version, document, digest, created_at, created_by, published_at)
				VALUES ($1, $2, $3, $4, $5, NULL, $5) ON CONFLICT (name, version) DO NOTHING`,
				def.Name, def.Version, string(def.Source()), def.Digest, now); err != nil {
				return fmt.Errorf("policystore: seed %s: %w", def.ID(), err)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO policy_current (id, name, version, generation, changed_at)
				VALUES (1, $1, $2, 1, $3) ON CONFLICT (id) DO NOTHING`, def.Name, def.Version, now)
			if err != nil {
				return fmt.Errorf("policystore: put %s in force: %w", def.ID(), err)
			}
			if inserted, err := res.RowsAffected(); err != nil || inserted == 0 {
				return err // another node seeded first
			}
			return audit.Record(ctx, tx, audit.Entry{
				At: now, Actor: audit.System, SubjectType: "policy", SubjectID: def.ID(), Action: "policy.seed",
				After: stateOf(def.ID(), def.Digest),
			})
		})
		if err != nil {
			return err
		}
	}
	s.seeded.Store(true)
	return nil
}

// Get returns a published version by its ID, "name@N": the version an order
// recorded. It returns ErrNotFound for an unknown ID and for a draft (a
// draft binds nobody, and the customer-facing page must not show one).
// default@1 always resolves, even before the table is seeded.
func (s *Service) Get(ctx context.Context, id string) (*policy.Policy, error) {
	if p, ok := s.published.Load(id); ok {
		return p.(*policy.Policy), nil
	}
	name, version, ok := splitID(id)
	if !ok {
		return nil, notFound(id)
	}
	var doc, digest string
	var published sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT document, digest, published_at FROM policies WHERE name = $1 AND version = $2`,
		name, version).Scan(&doc, &digest, &published)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Not cached: once seeding writes default@1, the table's copy is the
		// one to use (it is the same document unless it was seeded by
		// another build, and then the table's is what customers accepted).
		if def := policy.Default(); id == def.ID() {
			return def, nil
		}
		return nil, notFound(id)
	case err != nil:
		return nil, fmt.Errorf("policystore: read %s: %w", id, err)
	case !published.Valid:
		return nil, notFound(id)
	}
	p, err := parseStored(id, doc, digest)
	if err != nil {
		return nil, err
	}
	s.published.Store(id, p)
	return p, nil
}

// PublishedAt is when the published version id was published: what a
// customer page names the version by ("Refund policy of 12 March 2026").
// It is ErrNotFound for a draft or an unknown ID.
func (s *Service) PublishedAt(ctx context.Context, id string) (time.Time, error) {
	if t, ok := s.publishedAt.Load(id); ok {
		return t.(time.Time), nil
	}
	name, version, ok := splitID(id)
	if !ok {
		return time.Time{}, notFound(id)
	}
	var published sql.NullTime
	err := s.db.Read.QueryRowContext(ctx, `SELECT published_at FROM policies WHERE name = $1 AND version = $2`,
		name, version).Scan(&published)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && !published.Valid:
		return time.Time{}, notFound(id)
	case err != nil:
		return time.Time{}, fmt.Errorf("policystore: read %s: %w", id, err)
	}
	t := published.Time.UTC()
	s.publishedAt.Store(id, t)
	return t, nil
}

// parseStored parses a document read from the table and checks it against
// its stored digest.
func parseStored(id, doc, digest string) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Msg: id + " as stored does not parse", Err: err}
	}
	if p.Digest != digest || p.ID() != id {
		// Only a write that went around this package can cause it; refuse
		// to decide claims under a text nobody published.
		return nil, fmt.Errorf("policystore: %s as stored is %s with digest %s, but its row says %s", id, p.ID(), p.Digest, digest)
	}
	return p, nil
}

func notFound(id string) error {
	return &Error{Code: CodeNotFound, Msg: fmt.Sprintf("no published policy version %q", id)}
}

// versionID is the ID of name's version n, as policy.Policy.ID writes it.
func versionID(name string, version int64) string {
	return name + "@" + strconv.FormatInt(version, 10)
}

// splitID reads "name@N".
func splitID(id string) (string, int64, bool) {
	i := strings.LastIndexByte(id, '@')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != id[i+1:] {
		return "", 0, false // "x@01" is not x@1: IDs are compared as strings
	}
	return id[:i], n, true
}

// state is what the audit log keeps about a version: its ID and digest, so
// that the log says exactly which text was saved or put in force without
// copying it.
type state struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

func stateOf(id, digest string) *state { return &state{Version: id, Digest: digest} }

// Draft is what SaveDraft made of a document. A document with Errors was
// not saved (Policy is nil): the editing page shows them beside the lines
// they name, with the text as the admin typed it. Otherwise the draft is
// saved and Warnings say what the store should know before publishing
// (where it promises less than the law, wording it left to the default).
type Draft struct {
	Policy   *policy.Policy
	Warnings []policy.Warning
	Errors   []policy.ParseError
}

// SaveDraft parses document and saves it as a draft of its name@version.
// Problems with the document are data, in Draft.Errors, with their line and
// key; the error return is for what the page cannot fix by editing the
// text: ErrVersionPublished when that version is already published, or a
// database failure.
//
// A draft may be saved again, with another text, until it is published.
// Saving the same text again changes nothing.
func (s *Service) SaveDraft(ctx context.Context, actor audit.Actor, document []byte) (Draft, error) {
	return s.SaveDraftOver(ctx, actor, document, "")
}

// SaveDraftOver is SaveDraft from an editor opened on the text whose
// digest is read (the version it started from, or the draft it last
// saved): when a draft of the document's name@version already exists with
// another text, that draft is someone else's work (another admin, another
// tab), and it is not rewritten unseen: ErrDraftChanged, with Draft.Policy
// the document that was not saved. An empty read checks nothing.
func (s *Service) SaveDraftOver(ctx context.Context, actor audit.Actor, document []byte, read string) (Draft, error) {
	// default@1 must be in the table before anyone drafts under its name,
	// or a draft could take the built-in version's place.
	if err := s.ensureSeeded(ctx); err != nil {
		return Draft{}, err
	}
	p, err := policy.Parse(document)
	if err != nil {
		var pe *policy.ParseError
		if errors.As(err, &pe) {
			return Draft{Errors: []policy.ParseError{*pe}}, nil
		}
		return Draft{}, err
	}
	checked := policy.Check(p)
	d := Draft{Policy: p, Warnings: checked}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		d.Warnings = checked[:len(checked):len(checked)] // a rerun (see db.Tx) warns afresh
		var oldDigest string
		var published sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT digest, published_at FROM policies WHERE name = $1 AND version = $2`,
			p.Name, p.Version).Scan(&oldDigest, &published)
		exists := err == nil
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("policystore: read %s: %w", p.ID(), err)
		case published.Valid:
			return versionPublished(p.ID())
		case oldDigest == p.Digest:
			return nil // the same text: nothing to save, nothing to log
		case read != "" && oldDigest != read:
			return ErrDraftChanged
		}
		var latest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM policies WHERE name = $1 AND published_at IS NOT NULL`,
			p.Name).Scan(&latest); err != nil {
			return fmt.Errorf("policystore: read %s's versions: %w", p.Name, err)
		}
		if latest.Valid && latest.Int64 > p.Version {
			// Allowed (the number is only a name), but almost always a
			// copy that forgot to raise it.
			d.Warnings = append(d.Warnings, policy.Warning{Path: "version", Msg: fmt.Sprintf(
				"%s is already published and this draft is numbered below it; did you mean version = %d?",
				versionID(p.Name, latest.Int64), latest.Int64+1),
				Code: policy.CodeVersionBelowLatest, Arg: policy.Args{Name: versionID(p.Name, latest.Int64), Number: latest.Int64 + 1}})
		}
		// One statement for "insert, or rewrite the draft": a version
		// published between the read above and here (another admin, another
		// node) matches no row to update, and is reported as such.
		res, err := tx.ExecContext(ctx, `INSERT INTO policies (name, version, document, digest, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (name, version) DO UPDATE SET document = excluded.document, digest = excluded.digest,
				created_at = excluded.created_at, created_by = excluded.created_by
			WHERE policies.published_at IS NULL`,
			p.Name, p.Version, string(p.Source()), p.Digest, now, nullable(actor.ID))
		if err != nil {
			return fmt.Errorf("policystore: save %s: %w", p.ID(), err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return versionPublished(p.ID())
		}
		e := audit.Entry{At: now, Actor: actor, SubjectType: "policy", SubjectID: p.ID(), Action: "policy.draft",
			After: stateOf(p.ID(), p.Digest)}
		if exists {
			e.Before = stateOf(p.ID(), oldDigest)
		}
		return audit.Record(ctx, tx, e)
	})
	if errors.Is(err, ErrDraftChanged) {
		return Draft{Policy: p}, err
	}
	if err != nil {
		return Draft{}, err
	}
	return d, nil
}

func versionPublished(id string) error {
	return &Error{Code: CodeVersionPublished, Msg: id + " is published and never changes: give the document a new version"}
}

func nullable(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// Publish publishes a draft and puts it in force, in one transaction
// recorded in the audit log: from then on new orders accept it, and its
// text never changes. The draft must still parse (the format may have grown
// a requirement since it was saved): otherwise ErrInvalid, with the
// *policy.ParseError inside.
//
// Publishing a version that is already published puts it back in force (an
// admin going back to an earlier version); publishing the version in force
// changes nothing, so a repeated click is harmless.
func (s *Service) Publish(ctx context.Context, actor audit.Actor, id string) error {
	return s.PublishAsRead(ctx, actor, id, "")
}

// PublishAsRead is Publish of the text whose digest the publisher read
// (the page they pressed Publish on): ErrDraftChanged, and nothing done,
// when the draft has been saved again with another text since. An empty
// digest checks nothing.
func (s *Service) PublishAsRead(ctx context.Context, actor audit.Actor, id, read string) error {
	if err := s.ensureSeeded(ctx); err != nil {
		return err
	}
	name, version, ok := splitID(id)
	if !ok {
		return notFound(id)
	}
	now := s.clock.Now()
	var p *policy.Policy
	var generation int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Publish and read the text in one statement, so that what is
		// published is exactly what is parsed below, even if the draft is
		// being saved again at this moment (on PostgreSQL the row is locked
		// from here to commit; on SQLite the writer is alone).
		var doc, digest string
		err := tx.QueryRowContext(ctx, `UPDATE policies SET published_at = $1
			WHERE name = $2 AND version = $3 AND published_at IS NULL RETURNING document, digest`,
			now, name, version).Scan(&doc, &digest)
		newlyPublished := err == nil
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT document, digest FROM policies WHERE name = $1 AND version = $2`,
				name, version).Scan(&doc, &digest)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound(id)
			}
		}
		if err != nil {
			return fmt.Errorf("policystore: publish %s: %w", id, err)
		}
		if read != "" && digest != read {
			// Another text than the one read: rolls the publication back
			// (or, published by someone else already, is not that text).
			return ErrDraftChanged
		}
		if p, err = parseStored(id, doc, digest); err != nil {
			return err // rolls back the publication
		}
		var curName string
		var curVersion int64
		if err := tx.QueryRowContext(ctx, `SELECT name, version, generation FROM policy_current WHERE id = 1`).
			Scan(&curName, &curVersion, &generation); err != nil {
			return fmt.Errorf("policystore: read the version in force: %w", err)
		}
		before := versionID(curName, curVersion)
		if before == id {
			return nil // already in force (and so already published)
		}
		if err := tx.QueryRowContext(ctx, `UPDATE policy_current SET name = $1, version = $2, generation = generation + 1, changed_at = $3
			WHERE id = 1 RETURNING generation`, name, version, now).Scan(&generation); err != nil {
			return fmt.Errorf("policystore: put %s in force: %w", id, err)
		}
		action, err := inForceAction(ctx, tx, id, newlyPublished)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			At: now, Actor: actor, SubjectType: "policy", SubjectID: id, Action: action,
			Before: map[string]string{"in_force": before},
			After:  map[string]string{"in_force": id, "digest": digest},
		})
	})
	if err != nil {
		return err
	}
	s.published.Store(id, p)
	// Under mu, so that a refresh that read the previous generation before
	// this commit cannot store its older snapshot after this one.
	s.mu.Lock()
	if old := s.cur.Load(); old == nil || old.generation <= generation {
		s.cur.Store(&snapshot{policy: p, generation: generation, checked: now})
	}
	s.mu.Unlock()
	return nil
}

// inForceAction names in the audit log the putting in force of version id:
// policy.publish when it was published by this very step (a draft),
// policy.reinstate when it was in force before (going back to it), and
// policy.put_in_force when it was published without ever being in force
// (the built-in default@2, which a migration publishes in every store).
// The audit log holds every change of the version in force since the
// first (policy.seed), so it tells which versions ever were.
func inForceAction(ctx context.Context, tx *sql.Tx, id string, newlyPublished bool) (string, error) {
	if newlyPublished {
		return "policy.publish", nil
	}
	var was bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log WHERE subject_type = 'policy' AND subject_id = $1
		AND action IN ('policy.seed', 'policy.publish', 'policy.reinstate', 'policy.put_in_force'))`, id).Scan(&was); err != nil {
		return "", fmt.Errorf("policystore: was %s in force: %w", id, err)
	}
	if was {
		return "policy.reinstate", nil
	}
	return "policy.put_in_force", nil
}

// Version is one row of the policy table, for the admin pages.
type Version struct {
	ID      string // name@version
	Name    string
	Number  int64
	Digest  string
	Created time.Time
	// CreatedBy is the user who saved this text; "" for the system (the
	// seeded default).
	CreatedBy string
	// Published is when the version was published; zero for a draft.
	Published time.Time
	// InForce: this is the version new orders accept.
	InForce bool
	// Document is the text; List leaves it nil, Version fills it.
	Document []byte
}

// IsDraft tells whether v can still be edited.
func (v Version) IsDraft() bool { return v.Published.IsZero() }

const versionColumns = `p.name, p.version, p.digest, p.created_at, p.created_by, p.published_at,
	CASE WHEN c.id IS NULL THEN 0 ELSE 1 END`

const versionFrom = ` FROM policies p LEFT JOIN policy_current c ON c.name = p.name AND c.version = p.version`

func scanVersion(row interface{ Scan(...any) error }, extra ...any) (Version, error) {
	var v Version
	var by sql.NullString
	var published sql.NullTime
	var inForce int
	if err := row.Scan(append([]any{&v.Name, &v.Number, &v.Digest, &v.Created, &by, &published, &inForce}, extra...)...); err != nil {
		return Version{}, err
	}
	v.ID = versionID(v.Name, v.Number)
	v.Created = v.Created.UTC()
	v.CreatedBy = by.String
	if published.Valid {
		v.Published = published.Time.UTC()
	}
	v.InForce = inForce == 1
	return v, nil
}

// List returns every version, drafts included, newest first (by when its
// text was saved; the highest version first among equals). An empty table
// is seeded first, so the list always shows the version in force.
func (s *Service) List(ctx context.Context) ([]Version, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+versionColumns+versionFrom+`
		ORDER BY p.created_at DESC, p.version DESC, p.name`)
	if err != nil {
		return nil, fmt.Errorf("policystore: list: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("policystore: list: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Version returns one version with its text, draft or published: what the
// admin's editing and reading pages start from. Customer-facing pages use
// Get, which never returns a draft.
func (s *Service) Version(ctx context.Context, id string) (Version, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return Version{}, err
	}
	return VersionTx(ctx, s.db.Read, id)
}

// VersionTx is Version in the caller's transaction, for a reader that needs
// the text consistent with other records of the same snapshot (the dispute
// evidence). Unlike Version it never seeds the table: it only reads, so the
// built-in default@1 is ErrNotFound until something wrote it.
func VersionTx(ctx context.Context, q db.Querier, id string) (Version, error) {
	name, version, ok := splitID(id)
	if !ok {
		return Version{}, notFound(id)
	}
	var doc string
	v, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionColumns+`, p.document`+versionFrom+`
		WHERE p.name = $1 AND p.version = $2`, name, version), &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("no policy version %q", id)}
	}
	if err != nil {
		return Version{}, fmt.Errorf("policystore: read %s: %w", id, err)
	}
	v.Document = []byte(doc)
	return v, nil
}

// Preview decides facts (API.md's JSON) under a document that need not be
// saved, as of at (zero: the facts' filed_at): what the admin's preview
// shows beside the editor. It is exactly policy.Evaluate, so the preview
// cannot disagree with what the store will decide. A document that does not
// parse gives its *policy.ParseError, facts that do not decode their
// *policy.FactsError.
func Preview(document, factsJSON []byte, at time.Time) (policy.Decision, error) {
	p, err := policy.Parse(document)
	if err != nil {
		return policy.Decision{}, err
	}
	f, err := policy.DecodeFacts(factsJSON)
	if err != nil {
		return policy.Decision{}, err
	}
	return policy.Evaluate(p, f, at), nil
}
