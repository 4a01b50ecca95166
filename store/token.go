package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIToken is a credential for the admin API. Only a hash of its secret is
// stored; the token itself is shown once, when it is created.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// UserID owns the token; "" only for tokens made before the first admin
	// existed, which that admin adopts when created.
	UserID    string `json:"user_id"`
	UserEmail string `json:"user_email"`
	// Role narrows the owner's role; "" means the owner's role.
	Role Role `json:"role"`
	// EffectiveRole is what the token may do: the narrower of its role and
	// its owner's (an unowned token's owner counting as an admin, as only an
	// operator with the database could have made one).
	EffectiveRole Role `json:"effective_role"`
}

// ErrBadToken is any token that does not authenticate: malformed, unknown,
// wrong or revoked. Callers must not tell these apart to the client.
var ErrBadToken = errors.New("invalid or revoked API token")

const tokenPrefix = "hrld_"

// TokenInput makes a token for a user. Role "" acts with the user's role.
type TokenInput struct {
	Name   string
	UserID string
	Role   Role
}

// CreateToken makes a new API token owned by the first active admin (or by
// nobody until an admin exists) and returns it with its secret form,
// "hrld_<id>_<secret>", which is never stored.
func (s *Store) CreateToken(ctx context.Context, name string) (APIToken, string, error) {
	return s.CreateUserToken(ctx, TokenInput{Name: name})
}

// CreateUserToken makes a new API token for in.UserID (the first active
// admin when empty) and returns it with its secret form, shown once.
func (s *Store) CreateUserToken(ctx context.Context, in TokenInput) (APIToken, string, error) {
	var tok APIToken
	var raw string
	name := in.Name
	err := s.inTx(ctx, func(t *tx) error {
		n, err := checkLine("name", name, MaxNameLength, true)
		if err != nil {
			return err
		}
		if in.Role != "" && !in.Role.Valid() {
			return invalid("role", "unknown role %q; use one of %s", in.Role, joinValues(Roles))
		}
		owner, err := t.tokenOwner(in.UserID)
		if err != nil {
			return err
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return fmt.Errorf("random secret: %w", err)
		}
		enc := base64.RawURLEncoding.EncodeToString(secret)
		tok = APIToken{ID: newID(), Name: n, CreatedAt: t.now, UserID: owner.ID, UserEmail: owner.Email, Role: in.Role}
		tok.EffectiveRole = effectiveTokenRole(tok, owner.Role)
		raw = tokenPrefix + tok.ID + "_" + enc
		hash := sha256.Sum256([]byte(enc))
		if _, err := t.exec(`INSERT INTO api_tokens (id, name, secret_hash, created_at, user_id, role) VALUES (?, ?, ?, ?, nullif(?, ''), ?)`,
			tok.ID, tok.Name, hash[:], tok.CreatedAt, tok.UserID, tok.Role); err != nil {
			return err
		}
		t.record("token.create", "api_token", tok.ID, nil, tok)
		return nil
	})
	if err != nil {
		return APIToken{}, "", fmt.Errorf("store: create token: %w", err)
	}
	return tok, raw, nil
}

// AuthenticateToken returns the token raw stands for, or ErrBadToken.
func (s *Store) AuthenticateToken(ctx context.Context, raw string) (APIToken, error) {
	rest, ok := strings.CutPrefix(raw, tokenPrefix)
	if !ok {
		return APIToken{}, ErrBadToken
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 12 || secret == "" {
		return APIToken{}, ErrBadToken
	}
	var hash []byte
	var disabled sql.NullTime
	var ownerRole string
	row := s.read.QueryRowContext(ctx, `SELECT `+tokenColumns+`, t.secret_hash, coalesce(u.role, ''), u.disabled_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id)
	tok, err := scanToken(row, &hash, &ownerRole, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, ErrBadToken
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("store: authenticate token: %w", err)
	}
	got := sha256.Sum256([]byte(secret))
	// A disabled owner's tokens stop working with them.
	if subtle.ConstantTimeCompare(got[:], hash) != 1 || tok.RevokedAt != nil || disabled.Valid {
		return APIToken{}, ErrBadToken
	}
	tok.EffectiveRole = effectiveTokenRole(tok, Role(ownerRole))
	return tok, nil
}

// RecordTokenUse notes that tok was just used, at most once a minute: a busy
// integration must not turn every read into a write. It is bookkeeping, so
// callers log a failure and go on serving the request.
func (s *Store) RecordTokenUse(ctx context.Context, tok APIToken) error {
	now := s.now()
	if tok.LastUsedAt != nil && now.Sub(*tok.LastUsedAt) <= time.Minute {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, tok.ID, now.Add(-time.Minute)); err != nil {
		return fmt.Errorf("store: record use of token %s: %w", tok.ID, err)
	}
	return nil
}

// ListTokens returns every token, revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+`, coalesce(u.role, '') FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.created_at, t.id`)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var ownerRole string
		tok, err := scanToken(rows, &ownerRole)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		tok.EffectiveRole = effectiveTokenRole(tok, Role(ownerRole))
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken makes a token unusable. Revoking twice is not an error, and
// the second time changes (and audits) nothing.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getToken(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			return nil
		}
		if _, err := t.exec(`UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, t.now, id); err != nil {
			return err
		}
		after, err := getToken(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		t.record("token.revoke", "api_token", id, before, after)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	return nil
}

// CountTokens counts tokens ever created, revoked ones included.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count tokens: %w", err)
	}
	return n, nil
}

const tokenColumns = `t.id, t.name, t.created_at, t.last_used_at, t.revoked_at, coalesce(t.user_id, ''), coalesce(u.email, ''), t.role`

// scanToken reads tokenColumns, then extra columns into extra.
func scanToken(row interface{ Scan(...any) error }, extra ...any) (APIToken, error) {
	var tok APIToken
	var lastUsed, revoked sql.NullTime
	dest := append([]any{&tok.ID, &tok.Name, &tok.CreatedAt, &lastUsed, &revoked, &tok.UserID, &tok.UserEmail, &tok.Role}, extra...)
	if err := row.Scan(dest...); err != nil {
		return APIToken{}, err
	}
	tok.LastUsedAt, tok.RevokedAt = timePtr(lastUsed), timePtr(revoked)
	return tok, nil
}

// effectiveTokenRole: an unowned token acts as an admin would (only an
// operator with the database could have made one), narrowed by its own
// role all the same: a viewer token made before the first admin existed
// is a viewer token.
func effectiveTokenRole(tok APIToken, ownerRole Role) Role {
	if tok.UserID == "" {
		return RoleAdmin.Narrower(tok.Role)
	}
	return ownerRole.Narrower(tok.Role)
}

// tokenOwner is the user a new token belongs to: userID, or the first
// active admin when userID is empty (User{} when there is none yet).
func (t *tx) tokenOwner(userID string) (User, error) {
	if userID != "" {
		u, err := getUser(t.ctx, t.sqlTx, userID)
		if err != nil {
			return User{}, asFieldError("user_id", err)
		}
		if !u.Active() {
			return User{}, invalid("user_id", "user %s is disabled", u.Email)
		}
		return u, nil
	}
	u, err := scanUser(t.QueryRowContext(t.ctx, `SELECT `+userColumns+` FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY created_at, id LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, nil
	}
	return u, err
}

// GetToken returns one token.
func (s *Store) GetToken(ctx context.Context, id string) (APIToken, error) {
	tok, err := getToken(ctx, s.read, id)
	if err != nil {
		return APIToken{}, fmt.Errorf("store: get token: %w", err)
	}
	return tok, nil
}

func getToken(ctx context.Context, q querier, id string) (APIToken, error) {
	var ownerRole string
	tok, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+`, coalesce(u.role, '') FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id), &ownerRole)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, &NotFoundError{Kind: "API token", ID: id}
	}
	if err != nil {
		return APIToken{}, err
	}
	tok.EffectiveRole = effectiveTokenRole(tok, Role(ownerRole))
	return tok, nil
}
