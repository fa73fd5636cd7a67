package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"comptoir/internal/audit"
	"comptoir/internal/db"
)

// Session is a signed-in browser. Its ID is the SHA-256 of the cookie
// token, so it can be shown and posted in a "sign out that device" form
// without giving away the cookie.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
}

// maxTokenLen bounds what is hashed and looked up: our tokens are 43 or 47
// characters, anything much longer is not one of ours.
const maxTokenLen = 128

// CreateSession signs userID in and returns the cookie token, which exists
// only in the caller's hands from now on. An account disabled or erased
// since its password check is refused with ErrInvalidCredentials, as a
// wrong password is (holdEnabledTx).
func (s *Service) CreateSession(ctx context.Context, userID, ip, userAgent string) (string, Session, error) {
	token := newSecret()
	now := s.clock.Now()
	sess := Session{
		ID: hashSecret(token), UserID: userID, CreatedAt: now, LastSeenAt: now,
		IP: clip(ip, 64), UserAgent: clip(userAgent, 512),
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := holdEnabledTx(ctx, tx, userID); err != nil {
			return err
		}
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		sess.ExpiresAt = s.sessionExpiry(u, now, now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES ($1, $2, $3, $3, $4, $5, $6)`, sess.ID, userID, now, sess.ExpiresAt, sess.IP, sess.UserAgent); err != nil {
			return fmt.Errorf("account: create session: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "login", After: map[string]string{"session_id": sess.ID}})
	})
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

// holdEnabledTx holds the account row of userID for the rest of tx, if
// it is neither disabled nor erased: ErrInvalidCredentials when it is
// (disabled or erased between its password check and now: the caller
// answers as to a wrong password), ErrNotFound when there is no such
// account. Its conditional update is what makes the check hold until the
// commit: DisableStaff's update of the row, and an erasure's
// (BeginErasureTx), wait for a sign-in holding it, then end the session
// it created; a sign-in reaching the row after theirs waits for them and
// finds the account disabled or erased. Before, the row was only read: on
// PostgreSQL a sign-in that read the account enabled inserted its session
// after the disabling had ended the others, and that session came back to
// life when the account was enabled again; one that passed its password
// check as the account was being erased opened a session on the erased
// account, after the erasure had deleted the others.
func holdEnabledTx(ctx context.Context, tx *sql.Tx, userID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = updated_at
		WHERE id = $1 AND disabled_at IS NULL AND erased_at IS NULL`, userID)
	if err != nil {
		return fmt.Errorf("account: hold %s: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	if _, err := userByID(ctx, tx, userID); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// clip makes request metadata safe to store: valid UTF-8 without control
// characters (PostgreSQL refuses NUL bytes), at most max bytes.
func clip(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > max {
		// Cut on a rune boundary.
		s = strings.ToValidUTF8(s[:max], "")
	}
	return s
}

const sessionColumns = `s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent`

func sessionDest(sess *Session) []any {
	return []any{&sess.ID, &sess.UserID, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &sess.IP, &sess.UserAgent}
}

func (sess *Session) utc() {
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.LastSeenAt.UTC(), sess.ExpiresAt.UTC()
}

// maxSessionAge is how long u's sessions live at most from sign-in.
func (s *Service) maxSessionAge(u User) time.Duration {
	if u.IsStaff() {
		return s.opts.StaffSessionMaxAge
	}
	return s.opts.SessionMaxAge
}

// sessionExpiry is when a session of u opened at created and last used at
// now expires: SessionTTL after now, but never past its maximum age.
func (s *Service) sessionExpiry(u User, created, now time.Time) time.Time {
	expires, limit := now.Add(s.opts.SessionTTL), created.Add(s.maxSessionAge(u))
	if limit.Before(expires) {
		return limit
	}
	return expires
}

// SessionUser returns who a cookie token signs in: ErrNoSession when the
// token is unknown or was revoked, or its account disabled (refused by the
// same query, at no cost to every page), ErrSessionExpired when it ran out: unused
// for SessionTTL, or older than its maximum age (SessionMaxAge, or
// StaffSessionMaxAge for staff), however much it is used. Each use pushes
// the expiry SessionTTL ahead, up to that age, but writes at most once a
// minute per session, so that browsing stays read-only almost always.
func (s *Service) SessionUser(ctx context.Context, token string) (User, Session, error) {
	if token == "" || len(token) > maxTokenLen {
		return User{}, Session{}, ErrNoSession
	}
	var sess Session
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, `SELECT `+joinedUserColumns+`, `+sessionColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND u.disabled_at IS NULL`, hashSecret(token)), sessionDest(&sess)...)
	if errors.Is(err, ErrNotFound) {
		return User{}, Session{}, ErrNoSession
	}
	if err != nil {
		return User{}, Session{}, fmt.Errorf("account: read session: %w", err)
	}
	sess.utc()
	now := s.clock.Now()
	// The age is checked apart from expires_at: a session opened before
	// the maximum age existed has an expiry beyond it, and a user made
	// staff since sign-in has a shorter one now.
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.CreatedAt.Add(s.maxSessionAge(u))) {
		return User{}, Session{}, ErrSessionExpired
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		// Conditional, so that of the requests of one page (or of several
		// nodes) arriving together, one writes and the others do nothing.
		expires := s.sessionExpiry(u, sess.CreatedAt, now)
		_, err := s.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $2
			WHERE id = $3 AND last_seen_at <= $4`, now, expires, sess.ID, now.Add(-touchEvery))
		switch {
		case err == nil:
			sess.LastSeenAt, sess.ExpiresAt = now, expires
		case db.IsUnavailable(err):
			// A database that takes no writes for now (full, read-only)
			// still lets the visitor read their pages: the session stays
			// as it was, and the next request refreshes it.
		default:
			return User{}, Session{}, fmt.Errorf("account: refresh session: %w", err)
		}
	}
	return u, sess, nil
}

// ListSessions lists the user's sessions that have not expired, most
// recently used first.
func (s *Service) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions s
		WHERE s.user_id = $1 AND s.expires_at > $2 ORDER BY s.last_seen_at DESC, s.id`, userID, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("account: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var sess Session
		if err := rows.Scan(sessionDest(&sess)...); err != nil {
			return nil, fmt.Errorf("account: list sessions: %w", err)
		}
		sess.utc()
		out = append(out, sess)
	}
	return out, rows.Err()
}

// RevokeSession signs out one of the user's own sessions. A session id that
// is not theirs is ErrNotFound, exactly as one that does not exist.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, sessionID, userID)
		if err != nil {
			return fmt.Errorf("account: revoke session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "session_revoke", After: map[string]string{"session_id": sessionID}})
	})
}

// RevokeOtherSessions signs out every session of the user but keepSessionID
// (the one making the request), and voids the sign-ins waiting for their
// second factor.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, keepSessionID string) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		n, err := endSessions(ctx, tx, userID, keepSessionID)
		if err != nil || n == 0 {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{At: now, Actor: u.Actor(), SubjectType: "user", SubjectID: userID,
			Action: "sessions_revoke_others", After: map[string]int64{"sessions_revoked": n}})
	})
}

// endSessions deletes the user's sessions except keep (none when keep is
// empty) and tells how many went. It also voids the user's pending
// sign-in challenges: a sign-in half-way (password given, second factor
// awaited) is a session to be, and whoever knew the password before a
// reset or a change must not finish it after.
func endSessions(ctx context.Context, tx *sql.Tx, userID, keep string) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("account: revoke sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM signin_challenges WHERE user_id = $1`, userID); err != nil {
		return 0, fmt.Errorf("account: void sign-in challenges: %w", err)
	}
	return res.RowsAffected()
}

// PruneArgs is the periodic job that runs PruneExpired.
type PruneArgs struct{}

// Kind names the job for River.
func (PruneArgs) Kind() string { return "account.prune" }

// PruneJob runs PruneExpired every hour (and at start): expired sessions
// and reset links are refused anyway, but a reset request whose job never
// ran holds an address, which must not stay longer than a link's lifetime.
func PruneJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{ID: "account.prune", RunOnStart: true})
}

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	s *Service
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	return w.s.PruneExpired(ctx)
}

// PruneExpired deletes expired sessions, reset links and reset requests,
// which can never be used again; a periodic job calls it so the tables do
// not grow forever.
func (s *Service) PruneExpired(ctx context.Context) error {
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now); err != nil {
			return fmt.Errorf("account: prune sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE expires_at <= $1`, now); err != nil {
			return fmt.Errorf("account: prune reset links: %w", err)
		}
		// A request whose job never ran (cancelled, given up) holds an
		// address: it goes when a link made from it would have expired.
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_reset_requests WHERE created_at <= $1`, now.Add(-s.opts.ResetTTL)); err != nil {
			return fmt.Errorf("account: prune reset requests: %w", err)
		}
		return nil
	})
}
