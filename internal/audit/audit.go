// Package audit appends to the audit log: who changed what, when, from what to
// what. Every service calls Record in the same transaction as the change it
// describes, so the log and the data never disagree. The table refuses
// updates and deletes on both engines.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"comptoir/internal/db"
)

// Actor is who made a change. ID is empty for the system itself (a job, a
// webhook).
type Actor struct {
	ID   string
	Role string // customer, agent, admin, system
}

// System is the actor for changes no person made.
var System = Actor{Role: "system"}

// Entry is one change. Before and After are marshalled to JSON; either may be
// nil. They must not hold personal data (names, emails, addresses): refer to
// people by id so that erasure never has to rewrite the log.
type Entry struct {
	At          time.Time
	Actor       Actor
	SubjectType string
	SubjectID   string
	Action      string
	Before      any
	After       any
}

// Record appends e in tx.
func Record(ctx context.Context, tx *sql.Tx, e Entry) error {
	if e.At.IsZero() || e.SubjectType == "" || e.SubjectID == "" || e.Action == "" || e.Actor.Role == "" {
		return fmt.Errorf("audit: incomplete entry %+v", e)
	}
	before, err := encode(e.Before)
	if err != nil {
		return err
	}
	after, err := encode(e.After)
	if err != nil {
		return err
	}
	// Nothing reads an audit line in the transaction that writes it, nor
	// refers to it: on PostgreSQL a transaction's lines are one statement.
	err = db.AppendRow(ctx, tx, insertLine,
		e.At.UTC(), textOrNull(e.Actor.ID), e.Actor.Role, e.SubjectType, e.SubjectID, e.Action, textOrNull(before.String), textOrNull(after.String))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// insertLine writes audit lines (Record).
var insertLine = db.NewRowInsert("audit_log", "at", "actor_id", "actor_role", "subject_type", "subject_id", "action", "before_state", "after_state")

// textOrNull is s as a statement argument, NULL when empty. A plain string
// or nil rather than a sql.NullString, which database/sql would box
// twice (as the argument, then its Value) on every audit line.
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func encode(v any) (sql.NullString, error) {
	if v == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("audit: encode state: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// Row is an entry as read back.
type Row struct {
	ID          int64
	At          time.Time
	ActorID     string
	ActorRole   string
	SubjectType string
	SubjectID   string
	Action      string
	Before      string
	After       string
}

// ForSubject lists the entries about one subject, oldest first.
func ForSubject(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, subjectType, subjectID string) ([]Row, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, at, actor_id, actor_role, subject_type, subject_id, action, before_state, after_state
		FROM audit_log WHERE subject_type = $1 AND subject_id = $2 ORDER BY id`, subjectType, subjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var actorID, before, after sql.NullString
		if err := rows.Scan(&r.ID, &r.At, &actorID, &r.ActorRole, &r.SubjectType, &r.SubjectID, &r.Action, &before, &after); err != nil {
			return nil, err
		}
		r.ActorID, r.Before, r.After = actorID.String, before.String, after.String
		out = append(out, r)
	}
	return out, rows.Err()
}
