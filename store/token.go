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
}

// ErrBadToken is any token that does not authenticate: malformed, unknown,
// wrong or revoked. Callers must not tell these apart to the client.
var ErrBadToken = errors.New("invalid or revoked API token")

const tokenPrefix = "hrld_"

// CreateToken makes a new API token and returns it with its secret form,
// "hrld_<id>_<secret>", which is never stored.
func (s *Store) CreateToken(ctx context.Context, name string) (APIToken, string, error) {
	var tok APIToken
	var raw string
	err := s.inTx(ctx, func(t *tx) error {
		n, err := checkText("name", name, MaxNameLength, true)
		if err != nil {
			return err
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return fmt.Errorf("random secret: %w", err)
		}
		enc := base64.RawURLEncoding.EncodeToString(secret)
		tok = APIToken{ID: newID(), Name: n, CreatedAt: t.now}
		raw = tokenPrefix + tok.ID + "_" + enc
		hash := sha256.Sum256([]byte(enc))
		if _, err := t.exec(`INSERT INTO api_tokens (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)`, tok.ID, tok.Name, hash[:], tok.CreatedAt); err != nil {
			return err
		}
		return t.audit("token.create", "api_token", tok.ID, nil, tok)
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
	var tok APIToken
	var hash []byte
	var lastUsed, revoked sql.NullTime
	err := s.read.QueryRowContext(ctx, `SELECT id, name, secret_hash, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = ?`, id).
		Scan(&tok.ID, &tok.Name, &hash, &tok.CreatedAt, &lastUsed, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, ErrBadToken
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("store: authenticate token: %w", err)
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], hash) != 1 || revoked.Valid {
		return APIToken{}, ErrBadToken
	}
	tok.LastUsedAt = timePtr(lastUsed)
	// Record use at most once a minute: a busy integration must not turn
	// every read into a write.
	now := s.now()
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) > time.Minute {
		if _, err := s.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, tok.ID); err != nil {
			return APIToken{}, fmt.Errorf("store: record token use: %w", err)
		}
		tok.LastUsedAt = &now
	}
	return tok, nil
}

// ListTokens returns every token, revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var tok APIToken
		var lastUsed, revoked sql.NullTime
		if err := rows.Scan(&tok.ID, &tok.Name, &tok.CreatedAt, &lastUsed, &revoked); err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		tok.LastUsedAt, tok.RevokedAt = timePtr(lastUsed), timePtr(revoked)
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken makes a token unusable. Revoking twice is not an error.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, t.now, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &NotFoundError{Kind: "API token", ID: id}
		}
		return t.audit("token.revoke", "api_token", id, nil, nil)
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
