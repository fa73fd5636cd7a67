package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/clock"
	"comptoir/internal/db"
	"comptoir/internal/id"
	"comptoir/internal/jobs"
)

// ErrNotFound is returned when no stored message has the given id.
var ErrNotFound = errors.New("mail not found")

// Status is where a stored message is in its life.
type Status string

const (
	// Queued: stored, its sending job pending or retrying.
	Queued Status = "queued"
	// Sent: a relay accepted it (or it was written to the spool).
	Sent Status = "sent"
	// Failed: given up on, after the last attempt or a permanent refusal.
	Failed Status = "failed"
)

// Limits that keep one message from filling the table or a relay's
// patience. Real messages are far below them.
const (
	maxSubject = 998 // the longest line RFC 5322 allows
	maxBody    = 1 << 20
)

// Stored is a message as kept in outgoing_mail.
type Stored struct {
	ID     string // "msg_…", also the sending job's argument
	Kind   string
	UserID string // empty when the recipient has no account
	From   Address
	To     string // a bare address
	ToName string
	Lang   string
	// Subject, Text and HTML are what was sent: the record of what we told
	// the recipient.
	Subject    string
	Text       string
	HTML       string
	ReplyTo    string   // formatted address, or empty
	InReplyTo  string   // "<id>", or empty
	References []string // "<id>" each
	// ListUnsubscribe is the List-Unsubscribe link (Message.ListUnsubscribe),
	// or empty.
	ListUnsubscribe string
	// MessageID is the Message-ID header, "<msg_…@domain>", fixed when the
	// message is queued so that every attempt sends the same one.
	MessageID string
	Status    Status
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time // zero until sent
	// Attachments are loaded for sending (Get), not by List.
	Attachments []Attachment
}

// Outbox stores messages and schedules their sending.
type Outbox struct {
	db    *db.DB
	jobs  BatchInserter
	clock clock.Clock
	from  Address
	// wake tells the dispatcher (Dispatch) that a transaction holding new
	// messages has committed.
	wake *jobs.Waker
	// gather pauses the dispatcher after a pass that dispatched messages
	// (dispatchGather), until ctx ends.
	gather func(ctx context.Context)
}

// gatherFor waits d or until ctx ends.
func gatherFor(d time.Duration) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// BatchInserter inserts many jobs in one statement (River's client does).
type BatchInserter interface {
	InsertManyFastTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) (int, error)
}

// NewOutbox returns the outbox that sends from the given address. The
// address's domain names every Message-ID, so it must have one. Messages
// are sent once Dispatch runs somewhere (comptoir serve runs it).
func NewOutbox(d *db.DB, ins BatchInserter, c clock.Clock, from Address) (*Outbox, error) {
	if err := from.validate("From address"); err != nil {
		return nil, err
	}
	return &Outbox{db: d, jobs: ins, clock: c, from: from, wake: jobs.NewWaker(), gather: gatherFor(dispatchGather)}, nil
}

// From is the address messages are sent from.
func (o *Outbox) From() Address { return o.from }

var kindPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]{0,63}$`)

// EnqueueTx validates m and stores it in tx: if the caller's change rolls
// back, the message was never queued, and if it commits, the message will be
// sent. Its sending job is inserted by the dispatcher, woken when tx
// commits, together with those of other messages: one insert here, the
// job's cost shared and out of the caller's transaction.
func (o *Outbox) EnqueueTx(ctx context.Context, tx *sql.Tx, m Message) (string, error) {
	p, err := o.Prepare(m)
	if err != nil {
		return "", err
	}
	return o.storePreparedTx(ctx, tx, p, false)
}

// AppendTx is EnqueueTx for a caller that neither reads the message back
// nor refers to it later in tx (a checkout's confirmation): its rows are
// written with db.Append, on PostgreSQL in the pipeline sent with the
// commit rather than a round trip each. An error in them fails tx as
// EnqueueTx's would have ("store mail: …").
func (o *Outbox) AppendTx(ctx context.Context, tx *sql.Tx, m Message) (string, error) {
	p, err := o.Prepare(m)
	if err != nil {
		return "", err
	}
	return o.storePreparedTx(ctx, tx, p, true)
}

// Prepared is a message validated and made into the row it is stored as
// (its id, Message-ID and queuing time given), not stored yet: what
// EnqueueTx does before its inserts, done by Prepare outside the
// transaction that queues it, so that a caller on SQLite's single writer
// (a checkout's confirmation) does not hold the writer while it is done.
type Prepared struct {
	s           Stored
	attachments []Attachment
}

// ID is the id the message will be stored under.
func (p Prepared) ID() string { return p.s.ID }

// Prepare validates m and makes its row, as EnqueueTx does first; the
// message is queued by EnqueuePreparedTx or AppendPreparedTx, once. Its
// queuing time is now, when it is prepared.
func (o *Outbox) Prepare(m Message) (Prepared, error) {
	s, err := o.prepare(m)
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{s: s, attachments: m.Attachments}, nil
}

// EnqueuePreparedTx stores a message Prepare made, in tx, as EnqueueTx
// does. Each Prepared is queued once: a second time fails on its id.
func (o *Outbox) EnqueuePreparedTx(ctx context.Context, tx *sql.Tx, p Prepared) (string, error) {
	return o.storePreparedTx(ctx, tx, p, false)
}

// AppendPreparedTx stores a message Prepare made, in tx, as AppendTx does.
func (o *Outbox) AppendPreparedTx(ctx context.Context, tx *sql.Tx, p Prepared) (string, error) {
	return o.storePreparedTx(ctx, tx, p, true)
}

// storePreparedTx writes p's rows in tx: at once, or appended (db.Append).
func (o *Outbox) storePreparedTx(ctx context.Context, tx *sql.Tx, p Prepared, appended bool) (string, error) {
	s := p.s
	if s.ID == "" {
		return "", fmt.Errorf("%w: message not prepared", ErrInvalid)
	}
	// exec writes one row: at once, or appended, with the error the
	// caller gets either way.
	exec := func(wrap func(error) error, query string, args ...any) error {
		if appended {
			return db.AppendWrapped(ctx, tx, wrap, query, args...)
		}
		_, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return wrap(err)
		}
		return nil
	}
	storeMail := func(err error) error { return fmt.Errorf("store mail: %w", err) }
	var err error
	var userID sql.NullString
	if s.UserID != "" {
		userID = sql.NullString{String: s.UserID, Valid: true}
	}
	// Mail to an erased customer is kept as failed, never sent: the
	// placeholder address leads nowhere, and the row keeps callers' links.
	status, lastErr, erased := string(Queued), "", strings.EqualFold(s.To, ErasedAddress)
	if erased {
		status, lastErr = string(Failed), "recipient erased"
	}
	args := []any{s.ID, s.Kind, userID, s.From.Email, s.From.Name, s.To, s.ToName, s.Lang,
		s.ReplyTo, s.InReplyTo, s.MessageID, status, lastErr, s.CreatedAt, nullIfEmpty(s.ListUnsubscribe),
		s.Subject, s.Text, s.HTML, strings.Join(s.References, " ")}
	attachments := p.attachments
	switch {
	case o.db.Engine == db.Postgres:
		// The content, the row, its place in the queue and its
		// attachments in one statement (the references between them are
		// checked at the statement's end).
		query := `WITH c AS (` + insertContent + ` RETURNING content_id),
			m AS (` + insertMail + `(SELECT content_id FROM c)) RETURNING id, created_at)`
		if !erased {
			query += `, q AS (INSERT INTO outgoing_mail_queue (mail_id, queued_at) SELECT id, created_at FROM m)`
		}
		if len(attachments) > 0 {
			query += ` INSERT INTO outgoing_mail_attachments (mail_id, position, filename, content_type, content, source) VALUES ` +
				attachmentValues(len(args)+1, len(attachments))
			for _, a := range attachments {
				args = append(args, a.Filename, a.ContentType, attachmentData(a), a.Source)
			}
			attachments = nil
		} else {
			query += ` SELECT 1`
		}
		err = exec(storeMail, query, args...)
	default:
		// The content first: the row names it, by the rowid SQLite gave it.
		if err = exec(storeMail, insertContentAlone, args[15:19]...); err == nil {
			err = exec(storeMail, insertMail+`last_insert_rowid())`, args[:15]...)
		}
		if err == nil && !erased {
			err = exec(storeMail, `INSERT INTO outgoing_mail_queue (mail_id, queued_at) VALUES ($1, $2)`, s.ID, s.CreatedAt)
		}
	}
	if err != nil {
		return "", err
	}
	storeAttachment := func(err error) error { return fmt.Errorf("store attachment: %w", err) }
	for i, a := range attachments {
		if err := exec(storeAttachment, `INSERT INTO outgoing_mail_attachments (mail_id, position, filename, content_type, content, source)
			VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, i+1, a.Filename, a.ContentType, attachmentData(a), a.Source); err != nil {
			return "", err
		}
	}
	if !erased {
		o.db.AfterCommit(tx, o.Wake)
	}
	return s.ID, nil
}

// attachmentData is what an attachment stores: a rendered-later one
// (Source) no bytes, the column being NOT NULL.
func attachmentData(a Attachment) []byte {
	if a.Data == nil {
		return []byte{}
	}
	return a.Data
}

// attachmentValues is the VALUES list of n attachments of the message $1,
// at positions 1 to n, their filename, content type, content and source
// from parameter $first on, four each.
func attachmentValues(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		p := first + 4*i
		fmt.Fprintf(&b, "($1, %d, $%d, $%d, $%d, $%d)", i+1, p, p+1, p+2, p+3)
	}
	return b.String()
}

// insertMail stores a message. A message to be sent also gets its row in
// outgoing_mail_queue, which the dispatcher and the sending jobs work on
// until its status leaves 'queued' (a trigger then deletes the row:
// migration 0032).
//
// Its subject, bodies and References go to outgoing_mail_content, written
// once (migration 0057): the status changes that follow rewrite only the
// small row of outgoing_mail, which names its content (content_id, the
// last value, which the caller appends with the closing parenthesis).
// insertMail takes $1 to $15, insertContent $16 to $19.
const insertMail = `INSERT INTO outgoing_mail (id, kind, user_id, from_addr, from_name, to_addr, to_name, lang,
	reply_to, in_reply_to, message_id, status, attempts, last_error, created_at, list_unsubscribe, content_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15, `

const insertContent = `INSERT INTO outgoing_mail_content (subject, text_body, html_body, refs) VALUES ($16, $17, $18, $19)`

// insertContentAlone is insertContent in a statement of its own (SQLite).
const insertContentAlone = `INSERT INTO outgoing_mail_content (subject, text_body, html_body, refs) VALUES ($1, $2, $3, $4)`

// nullIfEmpty stores "" as NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// prepare validates m and turns it into the row to store.
func (o *Outbox) prepare(m Message) (Stored, error) {
	if !kindPattern.MatchString(m.Kind) {
		return Stored{}, fmt.Errorf("%w: kind %q (want lower-case letters, digits, _ and .)", ErrInvalid, m.Kind)
	}
	// Every header field first: a line break anywhere refuses the message.
	for _, f := range []struct{ name, v string }{
		{"To", m.To}, {"ToName", m.ToName}, {"Subject", m.Subject}, {"Lang", m.Lang},
		{"ReplyTo", m.ReplyTo}, {"InReplyTo", m.InReplyTo}, {"UserID", m.UserID}, {"ListUnsubscribe", m.ListUnsubscribe},
	} {
		if err := checkHeader(f.name, f.v); err != nil {
			return Stored{}, err
		}
	}
	for _, r := range m.References {
		if err := checkHeader("References", r); err != nil {
			return Stored{}, err
		}
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return Stored{}, fmt.Errorf("%w: To %q: %v", ErrInvalid, m.To, err)
	}
	if to.Name != "" {
		// One place for the name: a "Name <addr>" in To would be ambiguous
		// beside ToName.
		return Stored{}, fmt.Errorf("%w: To must be a bare address; put the name in ToName", ErrInvalid)
	}
	if IsAddressLiteral(to.Address) {
		return Stored{}, fmt.Errorf("%w: To %q names a host by its IP address", ErrInvalid, m.To)
	}
	subject := strings.TrimSpace(m.Subject)
	if subject == "" || len(subject) > maxSubject {
		return Stored{}, fmt.Errorf("%w: Subject must have 1 to %d bytes", ErrInvalid, maxSubject)
	}
	if strings.TrimSpace(m.Text) == "" {
		return Stored{}, fmt.Errorf("%w: Text is required (HTML is only an alternative)", ErrInvalid)
	}
	if len(m.Text) > maxBody || len(m.HTML) > maxBody {
		return Stored{}, fmt.Errorf("%w: body larger than %d bytes", ErrInvalid, maxBody)
	}
	if err := checkBody("Text", m.Text); err != nil {
		return Stored{}, err
	}
	if err := checkBody("HTML", m.HTML); err != nil {
		return Stored{}, err
	}
	if err := checkAttachments(m); err != nil {
		return Stored{}, err
	}
	if m.Lang != "" && !langPattern.MatchString(m.Lang) {
		return Stored{}, fmt.Errorf("%w: Lang %q is not a language tag", ErrInvalid, m.Lang)
	}
	if m.ListUnsubscribe != "" {
		if u, err := url.Parse(m.ListUnsubscribe); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			strings.ContainsAny(m.ListUnsubscribe, " <>") {
			return Stored{}, fmt.Errorf("%w: ListUnsubscribe %q is not an http or https URL", ErrInvalid, m.ListUnsubscribe)
		}
	}
	var replyTo string
	if m.ReplyTo != "" {
		a, err := netmail.ParseAddress(m.ReplyTo)
		if err != nil {
			return Stored{}, fmt.Errorf("%w: ReplyTo %q: %v", ErrInvalid, m.ReplyTo, err)
		}
		replyTo = a.String()
	}
	var inReplyTo string
	if m.InReplyTo != "" {
		if inReplyTo, err = normalizeMsgID("InReplyTo", m.InReplyTo); err != nil {
			return Stored{}, err
		}
	}
	var refs []string
	for _, r := range m.References {
		n, err := normalizeMsgID("References", r)
		if err != nil {
			return Stored{}, err
		}
		refs = append(refs, n)
	}
	msgID := id.New("msg")
	return Stored{
		ID:              msgID,
		Kind:            m.Kind,
		UserID:          m.UserID,
		From:            o.from,
		To:              to.Address,
		ToName:          m.ToName,
		Lang:            m.Lang,
		Subject:         subject,
		Text:            m.Text,
		HTML:            m.HTML,
		ReplyTo:         replyTo,
		InReplyTo:       inReplyTo,
		References:      refs,
		ListUnsubscribe: m.ListUnsubscribe,
		MessageID:       "<" + msgID + "@" + o.from.Domain() + ">",
		Status:          Queued,
		CreatedAt:       o.clock.Now(),
	}, nil
}

var langPattern = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// storedColumns are read from storedTables (whose names are distinct but
// content_id, which they do not read).
const storedColumns = `id, kind, user_id, from_addr, from_name, to_addr, to_name, lang, subject, text_body, html_body,
	reply_to, in_reply_to, refs, message_id, status, attempts, last_error, created_at, sent_at, list_unsubscribe`

// storedTables is a message's row and its content (migration 0057).
const storedTables = `outgoing_mail JOIN outgoing_mail_content c ON c.content_id = outgoing_mail.content_id`

func scanStored(row interface{ Scan(...any) error }) (Stored, error) {
	var s Stored
	var userID sql.NullString
	var refs string
	var sentAt sql.NullTime
	var unsubscribe sql.NullString
	err := row.Scan(&s.ID, &s.Kind, &userID, &s.From.Email, &s.From.Name, &s.To, &s.ToName, &s.Lang,
		&s.Subject, &s.Text, &s.HTML, &s.ReplyTo, &s.InReplyTo, &refs, &s.MessageID,
		&s.Status, &s.Attempts, &s.LastError, &s.CreatedAt, &sentAt, &unsubscribe)
	if err != nil {
		return Stored{}, err
	}
	s.UserID, s.ListUnsubscribe = userID.String, unsubscribe.String
	s.References = strings.Fields(refs)
	s.CreatedAt = s.CreatedAt.UTC()
	if sentAt.Valid {
		s.SentAt = sentAt.Time.UTC()
	}
	return s, nil
}

// Get returns the stored message with the given id, or ErrNotFound.
func (o *Outbox) Get(ctx context.Context, msgID string) (Stored, error) {
	return get(ctx, o.db.Read, msgID)
}

// GetByMessageID finds a message by its Message-ID header ("<…>"), as an
// incoming reply's In-Reply-To names it.
func (o *Outbox) GetByMessageID(ctx context.Context, messageID string) (Stored, error) {
	s, err := scanStored(o.db.Read.QueryRowContext(ctx,
		`SELECT `+storedColumns+` FROM `+storedTables+` WHERE message_id = $1`, messageID))
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, fmt.Errorf("%w: Message-ID %s", ErrNotFound, messageID)
	}
	return s, err
}

func get(ctx context.Context, q db.Querier, msgID string) (Stored, error) {
	s, err := scanStored(q.QueryRowContext(ctx, `SELECT `+storedColumns+` FROM `+storedTables+` WHERE id = $1`, msgID))
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, fmt.Errorf("%w: %s", ErrNotFound, msgID)
	}
	if err != nil {
		return Stored{}, fmt.Errorf("read mail %s: %w", msgID, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT filename, content_type, content, source FROM outgoing_mail_attachments WHERE mail_id = $1 ORDER BY position`, msgID)
	if err != nil {
		return Stored{}, fmt.Errorf("read attachments of %s: %w", msgID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.Filename, &a.ContentType, &a.Data, &a.Source); err != nil {
			return Stored{}, fmt.Errorf("read attachments of %s: %w", msgID, err)
		}
		s.Attachments = append(s.Attachments, a)
	}
	return s, rows.Err()
}

// mentioningQuery is MentioningTx's: the user's messages come in order
// from outgoing_mail_by_user (user_id, created_at, id), nothing sorted.
const mentioningQuery = `SELECT ` + storedColumns + ` FROM ` + storedTables + `
	WHERE user_id = $1 AND kind = $2 AND text_body LIKE $3 ESCAPE $4 ORDER BY created_at, id`

// MentioningTx returns the messages of a kind sent to a user whose text
// names ref (the order a confirmation is about), oldest first, without
// their attachments, in the caller's transaction: the dispute evidence
// reads them in one snapshot with the order. ref is matched as a
// substring of the text, literally: its _ and % (ids hold underscores) are
// escaped, or ord_ab would also find the mail about ordXab.
func MentioningTx(ctx context.Context, q db.Querier, userID, kind, ref string) ([]Stored, error) {
	rows, err := q.QueryContext(ctx, mentioningQuery, userID, kind, "%"+db.EscapeLike(ref)+"%", db.LikeEscape)
	if err != nil {
		return nil, fmt.Errorf("mail mentioning %s: %w", ref, err)
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		s, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("mail mentioning %s: %w", ref, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Filter selects stored messages for List. Empty fields match everything.
type Filter struct {
	UserID string
	Kind   string
	Status Status
	// Limit caps the result; 0 means 50, and more than 500 is 500.
	Limit int
}

// List returns stored messages, newest first.
func (o *Outbox) List(ctx context.Context, f Filter) ([]Stored, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	q := `SELECT ` + storedColumns + ` FROM ` + storedTables
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += ` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := o.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list mail: %w", err)
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		s, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("list mail: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

var sourcePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}:[A-Za-z0-9_-]{1,100}$`)

var attachmentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// maxAttachments bounds what one message carries: an invoice is a few
// kilobytes; a mail server refuses much more than a few megabytes.
const maxAttachments = 5 << 20

// checkAttachments refuses names that would need quoting in a header,
// content types that are not type/subtype, and attachments beside an HTML
// body (the message has one fixed boundary, which nested multiparts cannot
// share).
func checkAttachments(m Message) error {
	total := 0
	for _, a := range m.Attachments {
		if !attachmentName.MatchString(a.Filename) {
			return fmt.Errorf("%w: attachment name %q", ErrInvalid, a.Filename)
		}
		if a.Source != "" && (len(a.Data) > 0 || !sourcePattern.MatchString(a.Source)) {
			return fmt.Errorf("%w: attachment source %q (kind:reference, and no data beside it)", ErrInvalid, a.Source)
		}
		if t, sub, ok := strings.Cut(a.ContentType, "/"); !ok || !kindPattern.MatchString(t) || sub == "" || strings.ContainsAny(sub, " \r\n;") {
			return fmt.Errorf("%w: attachment type %q", ErrInvalid, a.ContentType)
		}
		total += len(a.Data)
	}
	if total > maxAttachments {
		return fmt.Errorf("%w: attachments larger than %d bytes", ErrInvalid, maxAttachments)
	}
	if len(m.Attachments) > 0 && m.HTML != "" {
		return fmt.Errorf("%w: attachments go with a plain-text message only", ErrInvalid)
	}
	return nil
}
