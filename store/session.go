package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in browser. Its id lives only in the browser's
// cookie; the database keeps a SHA-256 of it.
type Session struct {
	Key        string // hex of the id's hash: names a session without revealing it
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
	// ConfirmedAt is when its person last proved it is them: the sign-in,
	// or a later confirmation (ConfirmSession).
	ConfirmedAt time.Time
	// Method is how they signed in (SignInPassword, SignInPasskey,
	// SignInSSO).
	Method string
}

// How a session began.
const (
	SignInPassword = "password" // with its second factor, if any
	SignInPasskey  = "passkey"
	SignInSSO      = "sso"
)

// SessionPolicy says how long sessions last.
type SessionPolicy struct {
	Idle time.Duration // ended after this long without a request
	Max  time.Duration // ended this long after sign-in, however active
}

// touchEvery is how stale a session's last-seen time may grow before a
// request writes it again: a quarter of the idle timeout, so that a user
// active more often than that is never taken for idle, and at most a
// minute, so that a long timeout does not cost a write per request. (With
// a fixed minute, --session-idle 30s signed out people at work.)
func (p SessionPolicy) touchEvery() time.Duration {
	if p.Idle <= 0 {
		return time.Minute
	}
	return min(max(p.Idle/4, time.Second), time.Minute)
}

// SessionInput starts a session.
type SessionInput struct {
	UserID    string
	IP        string
	UserAgent string
	Method    string // SignInPassword when empty
	// Replace is the raw id the browser held before signing in, if any; it
	// is ended, so that an id planted before sign-in is worth nothing after.
	Replace string
}

// ErrNoSession is a session id that does not (or no longer) sign anyone in:
// unknown, expired, signed out, or its user disabled.
var ErrNoSession = errors.New("no such session")

func sessionKey(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

// CreateSession signs a user in and returns the new session's raw id, to be
// sent to the browser and never stored.
func (s *Store) CreateSession(ctx context.Context, in SessionInput) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: create session: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	ua := in.UserAgent
	if len(ua) > 300 {
		ua = ua[:300]
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("store: create session: %w", err)
	}
	defer tx.Rollback()
	if in.Replace != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, sessionKey(in.Replace)); err != nil {
			return "", fmt.Errorf("store: create session: %w", err)
		}
	}
	method := in.Method
	switch method {
	case "":
		method = SignInPassword
	case SignInPassword, SignInPasskey, SignInSSO:
	default:
		return "", fmt.Errorf("store: create session: unknown sign-in method %q", method)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, ip, user_agent, method) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sessionKey(raw), in.UserID, now, now, in.IP, ua, method); err != nil {
		return "", fmt.Errorf("store: create session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("store: create session: %w", err)
	}
	return raw, nil
}

// SessionUser returns the session raw names and its user, or ErrNoSession.
// It records activity at most every touchEvery, which keeps the idle clock
// right without a write per request.
func (s *Store) SessionUser(ctx context.Context, raw string, p SessionPolicy) (Session, User, error) {
	if raw == "" || len(raw) > 100 {
		return Session{}, User{}, ErrNoSession
	}
	key := sessionKey(raw)
	var sess Session
	var confirmed sql.NullTime
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumnsOf("u")+`, s.user_id, s.created_at, s.last_seen_at, s.ip, s.user_agent, s.confirmed_at, s.method
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, key),
		&sess.UserID, &sess.CreatedAt, &sess.LastSeenAt, &sess.IP, &sess.UserAgent, &confirmed, &sess.Method)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, ErrNoSession
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("store: session: %w", err)
	}
	sess.Key = hex.EncodeToString(key)
	sess.ConfirmedAt = confirmedAt(sess.CreatedAt, confirmed)
	now := s.now()
	if !u.Active() || (p.Idle > 0 && now.Sub(sess.LastSeenAt) > p.Idle) || (p.Max > 0 && now.Sub(sess.CreatedAt) > p.Max) {
		if _, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, key); err != nil {
			return Session{}, User{}, fmt.Errorf("store: end expired session: %w", err)
		}
		return Session{}, User{}, ErrNoSession
	}
	if now.Sub(sess.LastSeenAt) >= p.touchEvery() {
		if _, err := s.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, now, key); err != nil {
			return Session{}, User{}, fmt.Errorf("store: touch session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, u, nil
}

// EndSession signs one browser out. Ending an unknown session is not an error.
func (s *Store) EndSession(ctx context.Context, raw string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, sessionKey(raw)); err != nil {
		return fmt.Errorf("store: end session: %w", err)
	}
	return nil
}

// EndUserSessions signs a user out everywhere and returns how many sessions
// ended. It is audited: it is what one does after a lost laptop.
func (s *Store) EndUserSessions(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := getUser(t.ctx, t.sqlTx, userID); err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		t.record("user.sessions_ended", "user", userID, map[string]int64{"sessions": n}, map[string]int64{"sessions": 0})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: end user sessions: %w", err)
	}
	return int(n), nil
}

// ListSessions returns a user's sessions, most recently active first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id_hash, user_id, created_at, last_seen_at, ip, user_agent FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var sess Session
		var key []byte
		if err := rows.Scan(&key, &sess.UserID, &sess.CreatedAt, &sess.LastSeenAt, &sess.IP, &sess.UserAgent); err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		sess.Key = hex.EncodeToString(key)
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// PruneSessions deletes the sessions p says have expired.
func (s *Store) PruneSessions(ctx context.Context, p SessionPolicy) (int64, error) {
	now := s.now()
	idleBefore, maxBefore := time.Time{}, time.Time{}
	if p.Idle > 0 {
		idleBefore = now.Add(-p.Idle)
	}
	if p.Max > 0 {
		maxBefore = now.Add(-p.Max)
	}
	res, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?`, idleBefore, maxBefore)
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	return n, nil
}
