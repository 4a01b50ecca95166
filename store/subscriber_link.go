package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// Link tokens are "<subscriber id>.<MAC>": an HMAC over the purpose, the id
// and the subscriber's random nonce, keyed with the installation's random
// token key. No token is stored, so none can leak from the subscribers
// table; checking one is a constant-time comparison; changing the nonce
// revokes every link a subscriber was sent.
const (
	purposeConfirm = "confirm"
	purposeManage  = "manage"
)

func signToken(key []byte, purpose, id, nonce string) string {
	return newLinkSigner(key).sign(purpose, id, nonce)
}

// linkSigner signs many tokens with one key, with one HMAC reset between
// them: a claim of a few hundred recipients signs two tokens each.
type linkSigner struct {
	mac hash.Hash
	buf []byte
}

func newLinkSigner(key []byte) *linkSigner { return &linkSigner{mac: hmac.New(sha256.New, key)} }

func (l *linkSigner) sign(purpose, id, nonce string) string {
	l.mac.Reset()
	l.buf = append(append(append(append(append(l.buf[:0], purpose...), 0), id...), 0), nonce...)
	l.mac.Write(l.buf)
	l.buf = l.mac.Sum(l.buf[:0])
	return id + "." + base64.RawURLEncoding.EncodeToString(l.buf[:18])
}

func (t *tx) subscriberByToken(token, purpose string) (Subscriber, error) {
	return subscriberByToken(t.ctx, t.sqlTx, &t.store.links, token, purpose)
}

func subscriberByToken(ctx context.Context, q querier, k *linkKey, token, purpose string) (Subscriber, error) {
	id, _, ok := strings.Cut(token, ".")
	if !ok || len(id) != 12 || len(token) > 64 {
		return Subscriber{}, ErrBadLink
	}
	var nonce string
	err := q.QueryRowContext(ctx, `SELECT token_nonce FROM subscribers WHERE id = ?`, id).Scan(&nonce)
	if errors.Is(err, sql.ErrNoRows) {
		return Subscriber{}, ErrBadLink
	}
	if err != nil {
		return Subscriber{}, err
	}
	key, err := k.get(ctx, q)
	if err != nil {
		return Subscriber{}, err
	}
	if !hmac.Equal([]byte(signToken(key, purpose, id, nonce)), []byte(token)) {
		return Subscriber{}, ErrBadLink
	}
	list, err := querySubscribers(ctx, q, `WHERE s.id = ?`, id)
	if err != nil {
		return Subscriber{}, err
	}
	if len(list) == 0 {
		return Subscriber{}, ErrBadLink
	}
	return list[0], nil
}

func (t *tx) tokenKey() ([]byte, error) { return t.store.links.get(t.ctx, t.sqlTx) }

// linkKey is the installation's link-signing key, read from the database
// once and then kept: it never changes.
type linkKey struct {
	mu  sync.Mutex
	key []byte
}

func (k *linkKey) get(ctx context.Context, q querier) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	var key []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM notify_settings WHERE key = 'token_key'`).Scan(&key); err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("read token key: %d bytes, want 32", len(key))
	}
	k.key = key
	return key, nil
}

// SubscriberLinks returns the tokens for a subscriber's links, for tests
// and for the admin who needs to hand one out.
func (s *Store) SubscriberLinks(ctx context.Context, id string) (manage, confirm string, err error) {
	var nonce string
	if err := s.read.QueryRowContext(ctx, `SELECT token_nonce FROM subscribers WHERE id = ?`, id).Scan(&nonce); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = &NotFoundError{Kind: "subscriber", ID: id}
		}
		return "", "", fmt.Errorf("store: subscriber links: %w", err)
	}
	key, err := s.links.get(ctx, s.read)
	if err != nil {
		return "", "", fmt.Errorf("store: subscriber links: %w", err)
	}
	return signToken(key, purposeManage, id, nonce), signToken(key, purposeConfirm, id, nonce), nil
}
