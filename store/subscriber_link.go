package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
)

// Link tokens are "<subscriber id>.<MAC>": an HMAC over the purpose, the id
// and the subscriber's random nonce, keyed with the installation's random
// token key. No token is stored, so none can leak from the subscribers
// table; checking one is a constant-time comparison; changing the nonce
// revokes every link a subscriber was sent. A confirmation token also
// carries when it expires, signed with the rest: "<id>.<expiry><MAC>",
// as long as the others, since emails are cut to a token's length.
const (
	purposeConfirm = "confirm"
	purposeManage  = "manage"
)

// ConfirmLinkLifetime is how long a confirmation link works after the email
// carrying it was made: long enough for a weekend away, short enough that
// an old email found later does not subscribe anyone.
const ConfirmLinkLifetime = 7 * 24 * time.Hour

// ErrLinkExpired is a genuine confirmation link that no longer confirms:
// older than ConfirmLinkLifetime, or for a subscription that has ended
// since. Subscribing again sends a new one.
var ErrLinkExpired = errors.New("this confirmation link has expired")

func signToken(key []byte, purpose, id, nonce string) string {
	return newLinkSigner(key).sign(purpose, id, nonce)
}

func signConfirmToken(key []byte, id, nonce string, now time.Time) string {
	return newLinkSigner(key).signConfirm(id, nonce, now)
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

// signConfirm signs a confirmation token that expires ConfirmLinkLifetime
// after now: 4 bytes of expiry (Unix seconds) and 14 of MAC over the
// purpose, id, nonce and those 4 bytes.
func (l *linkSigner) signConfirm(id, nonce string, now time.Time) string {
	return l.signExpiring(purposeConfirm, id, nonce, now)
}

// signExpiring is signConfirm for a confirmation of another kind (a chat
// subscription's), whose purpose keeps its tokens from passing for a
// subscriber's.
func (l *linkSigner) signExpiring(purpose, id, nonce string, now time.Time) string {
	var exp [4]byte
	binary.BigEndian.PutUint32(exp[:], uint32(now.Add(ConfirmLinkLifetime).Unix()))
	return id + "." + base64.RawURLEncoding.EncodeToString(l.confirmMAC(purpose, id, nonce, exp))
}

func (l *linkSigner) confirmMAC(purpose, id, nonce string, exp [4]byte) []byte {
	l.mac.Reset()
	l.buf = append(append(append(append(append(append(l.buf[:0], purpose...), 0), id...), 0), nonce...), 0)
	l.buf = append(l.buf, exp[:]...)
	l.mac.Write(l.buf)
	sum := l.mac.Sum(nil)
	return append(exp[:], sum[:14]...)
}

// checkExpiring reports whether token is the expiring token (signConfirm,
// signExpiring) of purpose, id and nonce, and if so whether it has expired
// by now.
func (l *linkSigner) checkExpiring(purpose, token, id, nonce string, now time.Time) (ok, expired bool) {
	_, enc, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) != 18 {
		return false, false
	}
	exp := [4]byte(raw[:4])
	if !hmac.Equal(l.confirmMAC(purpose, id, nonce, exp), raw) {
		return false, false
	}
	return true, now.Unix() > int64(binary.BigEndian.Uint32(exp[:]))
}

func (t *tx) subscriberByToken(token, purpose string) (Subscriber, error) {
	return subscriberByToken(t.ctx, t.sqlTx, &t.store.links, token, purpose, t.now)
}

// subscriberByToken is the subscriber a link names. A confirmation link
// works only while it has not expired and the subscription it confirms is
// still wanted (pending, or confirmed already): after an unsubscription,
// only a fresh subscription — which changes the nonce — confirms again.
func subscriberByToken(ctx context.Context, q querier, k *linkKey, token, purpose string, now time.Time) (Subscriber, error) {
	id, expired, err := checkLink(ctx, q, k, `SELECT token_nonce FROM subscribers WHERE id = ?`, token, purpose, purpose == purposeConfirm, now)
	if err != nil {
		return Subscriber{}, err
	}
	list, err := querySubscribers(ctx, q, `WHERE s.id = ?`, id)
	if err != nil {
		return Subscriber{}, err
	}
	if len(list) == 0 {
		return Subscriber{}, ErrBadLink
	}
	sub := list[0]
	if purpose == purposeConfirm && sub.Status != SubscriberConfirmed && (expired || sub.Status != SubscriberPending) {
		return Subscriber{}, ErrLinkExpired
	}
	return sub, nil
}

// checkLink checks a link token — "<id>.<MAC>", its MAC over purpose, the
// id and the nonce that nonceSQL reads for the id — and returns the id and,
// for an expiring token (signExpiring), whether it has expired. A token
// that is malformed, forged or for no row is ErrBadLink.
func checkLink(ctx context.Context, q querier, k *linkKey, nonceSQL, token, purpose string, expiring bool, now time.Time) (string, bool, error) {
	id, _, ok := strings.Cut(token, ".")
	if !ok || len(id) != 12 || len(token) > 64 {
		return "", false, ErrBadLink
	}
	var nonce string
	err := q.QueryRowContext(ctx, nonceSQL, id).Scan(&nonce)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, ErrBadLink
	}
	if err != nil {
		return "", false, err
	}
	key, err := k.get(ctx, q)
	if err != nil {
		return "", false, err
	}
	signer := newLinkSigner(key)
	if expiring {
		ok, expired := signer.checkExpiring(purpose, token, id, nonce, now)
		if !ok {
			return "", false, ErrBadLink
		}
		return id, expired, nil
	}
	if !hmac.Equal([]byte(signer.sign(purpose, id, nonce)), []byte(token)) {
		return "", false, ErrBadLink
	}
	return id, false, nil
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
	return signToken(key, purposeManage, id, nonce), signConfirmToken(key, id, nonce, s.now()), nil
}
