package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Passkeys (WebAuthn). The web side runs the ceremonies and checks the
// signatures (go-webauthn); here are what outlives a request — the
// credentials and the ceremonies under way — and the rules that need the
// database: a credential id is registered once, a signature counter only
// goes up, and a challenge is good once, for minutes, in one browser.

// WebAuthnCeremonyTTL is how long a begun ceremony waits for the
// authenticator: time to touch a key or unlock a phone, no more.
const WebAuthnCeremonyTTL = 5 * time.Minute

// MaxPasskeys is how many passkeys one user may register.
const MaxPasskeys = 20

// ErrPasskeyRefused is every refused passkey step: unknown credential,
// used or expired challenge, a counter that went back, a signature that
// did not verify. It has been audited and nothing else changed; callers
// show one message for all of them.
var ErrPasskeyRefused = errors.New("the passkey was not accepted")

// Passkey is one registered WebAuthn credential.
type Passkey struct {
	ID              []byte
	UserID          string
	Name            string
	PublicKey       []byte
	SignCount       uint32
	Transports      []string
	Flags           uint8 // the authenticator data flags at registration (backup eligibility among them)
	AAGUID          []byte
	AttestationType string
	CreatedAt       time.Time
	LastUsedAt      *time.Time
}

// Key is the credential id as forms and URLs carry it.
func (p Passkey) Key() string { return base64.RawURLEncoding.EncodeToString(p.ID) }

const passkeyColumns = `id, user_id, name, public_key, sign_count, transports, flags, aaguid, attestation_type, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var transports string
	var count int64
	var flags int
	var used sql.NullTime
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &count, &transports, &flags, &p.AAGUID, &p.AttestationType, &p.CreatedAt, &used); err != nil {
		return Passkey{}, err
	}
	p.SignCount, p.Flags, p.LastUsedAt = uint32(count), uint8(flags), timePtr(used)
	p.CreatedAt = p.CreatedAt.UTC()
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	return p, nil
}

// ListPasskeys returns a user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM webauthn_credentials WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list passkeys: %w", err)
	}
	return out, nil
}

// PasskeyCounts is how many passkeys each user has, for the Users page.
func (s *Store) PasskeyCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT user_id, count(*) FROM webauthn_credentials GROUP BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: passkey counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: passkey counts: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: passkey counts: %w", err)
	}
	return out, nil
}

// PasskeyOwner returns the user a credential id belongs to and the
// credential, or ErrNotFound.
func (s *Store) PasskeyOwner(ctx context.Context, id []byte) (User, Passkey, error) {
	p, err := scanPasskey(s.read.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM webauthn_credentials WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Passkey{}, fmt.Errorf("store: passkey owner: %w", &NotFoundError{Kind: "passkey", ID: base64.RawURLEncoding.EncodeToString(id)})
	}
	if err != nil {
		return User{}, Passkey{}, fmt.Errorf("store: passkey owner: %w", err)
	}
	u, err := getUser(ctx, s.read, p.UserID)
	if err != nil {
		return User{}, Passkey{}, fmt.Errorf("store: passkey owner: %w", err)
	}
	return u, p, nil
}

func passkeyAudit(p Passkey) map[string]any {
	return map[string]any{"passkey": p.Name, "credential": p.Key()}
}

func (s *Store) hasTOTP(ctx context.Context, userID string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: has totp: %w", err)
	}
	return n > 0, nil
}

// AddPasskey registers a credential the web side has verified. A
// credential id registered before — to anyone — is refused (audited) and
// changes nothing: an authenticator's id names one credential.
func (s *Store) AddPasskey(ctx context.Context, p Passkey) (Passkey, error) {
	var err error
	if p.Name, err = CheckPasskeyName(p.Name); err != nil {
		return Passkey{}, fmt.Errorf("store: add passkey: %w", err)
	}
	if len(p.ID) == 0 || len(p.ID) > 1023 || len(p.PublicKey) == 0 {
		return Passkey{}, fmt.Errorf("store: add passkey: %w", invalid("credential", "is not a credential"))
	}
	var refused error
	err = s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", p.UserID); err != nil {
			return err
		}
		if _, err := getUser(t.ctx, t.sqlTx, p.UserID); err != nil {
			return err
		}
		var owner string
		err := t.QueryRowContext(t.ctx, `SELECT user_id FROM webauthn_credentials WHERE id = ?`, p.ID).Scan(&owner)
		if err == nil {
			t.record("user.passkey_refused", "user", p.UserID, nil, map[string]any{"purpose": "add passkey", "reason": "credential already registered", "credential": p.Key()})
			refused = &ConflictError{Message: "this passkey is already registered"}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var n int
		if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM webauthn_credentials WHERE user_id = ?`, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxPasskeys {
			refused = &ConflictError{Message: fmt.Sprintf("you have %d passkeys, the most one user may have; remove one first", n)}
			return nil
		}
		p.CreatedAt, p.LastUsedAt = t.now, nil
		if _, err := t.exec(`INSERT INTO webauthn_credentials (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.Name, p.PublicKey, int64(p.SignCount), strings.Join(p.Transports, ","), int(p.Flags), p.AAGUID, p.AttestationType, p.CreatedAt, nil); err != nil {
			return err
		}
		t.record("user.passkey_added", "user", p.UserID, map[string]any{"passkeys": n}, map[string]any{"passkeys": n + 1, "passkey": p.Name, "credential": p.Key()})
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return Passkey{}, fmt.Errorf("store: add passkey: %w", err)
	}
	return p, nil
}

// CheckPasskeyName is the rule for a passkey's name: trimmed, at most 60
// characters, "Passkey" when none is given.
func CheckPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if len([]rune(name)) > 60 {
		return "", invalid("name", "must be at most 60 characters")
	}
	return name, nil
}

// RemovePasskey takes away one of the user's own passkeys (key as
// Passkey.Key gives it). A role that requires a second factor keeps one:
// the last factor of such a user is refused.
func (s *Store) RemovePasskey(ctx context.Context, u User, key string) error {
	id, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return fmt.Errorf("store: remove passkey: %w", &NotFoundError{Kind: "passkey", ID: key})
	}
	err = s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", u.ID); err != nil {
			return err
		}
		p, err := scanPasskey(t.QueryRowContext(t.ctx, `SELECT `+passkeyColumns+` FROM webauthn_credentials WHERE id = ? AND user_id = ?`, id, u.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "passkey", ID: key}
		}
		if err != nil {
			return err
		}
		var others, totp int
		if err := t.QueryRowContext(t.ctx, `SELECT (SELECT count(*) FROM webauthn_credentials WHERE user_id = ? AND id <> ?), (SELECT count(*) FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL)`,
			u.ID, id, u.ID).Scan(&others, &totp); err != nil {
			return err
		}
		if others == 0 && totp == 0 && !u.SSOOnly() {
			var required int
			if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM factor_required_roles WHERE role = ?`, u.Role).Scan(&required); err != nil {
				return err
			}
			if required > 0 {
				return &ConflictError{Message: "your role must sign in with a second factor and this is your last one; add another first, or ask an admin to reset it"}
			}
		}
		if _, err := t.exec(`DELETE FROM webauthn_credentials WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("user.passkey_removed", "user", u.ID, passkeyAudit(p), map[string]any{"passkeys": others})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: remove passkey: %w", err)
	}
	return nil
}

// PasskeyUse is a signature the web side verified: the credential that
// made it and the counter it reported.
type PasskeyUse struct {
	ID        []byte
	SignCount uint32
	Purpose   string // "sign-in" or "second factor"
}

// usePasskey applies the counter rule and records the use. The counter
// must go up unless the authenticator keeps none (zero both times, as
// synced passkeys do); one that stays or goes back means a copy of the key
// signed: refused and audited as a possible clone. The caller holds the
// user_factor lock of the owner.
func (t *tx) usePasskey(userID string, use PasskeyUse) (bool, error) {
	var stored int64
	err := t.QueryRowContext(t.ctx, `SELECT sign_count FROM webauthn_credentials WHERE id = ? AND user_id = ?`, use.ID, userID).Scan(&stored)
	key := base64.RawURLEncoding.EncodeToString(use.ID)
	if errors.Is(err, sql.ErrNoRows) {
		t.record("user.passkey_refused", "user", userID, nil, map[string]any{"purpose": use.Purpose, "reason": "unknown credential", "credential": key})
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if int64(use.SignCount) <= stored && (use.SignCount != 0 || stored != 0) {
		t.record("user.passkey_refused", "user", userID, nil, map[string]any{"purpose": use.Purpose, "reason": "signature counter did not increase: possible cloned key",
			"credential": key, "stored_count": stored, "presented_count": use.SignCount})
		return false, nil
	}
	if _, err := t.exec(`UPDATE webauthn_credentials SET sign_count = ?, last_used_at = ? WHERE id = ?`, int64(use.SignCount), t.now, use.ID); err != nil {
		return false, err
	}
	t.record("user.second_factor_ok", "user", userID, nil, map[string]any{"purpose": use.Purpose, "method": "passkey", "credential": key})
	return true, nil
}

// SignInWithPasskey completes a sign-in by passkey alone (a discoverable
// credential with user verification: something held and something known
// or are, so it stands for password and second factor). Right, it returns
// the user for the caller to start a session; refused, ErrPasskeyRefused.
func (s *Store) SignInWithPasskey(ctx context.Context, userID string, use PasskeyUse) (User, error) {
	use.Purpose = "sign-in"
	return s.signInWith(ctx, userID, func(t *tx) (bool, error) { return t.usePasskey(userID, use) }, "passkey")
}

func (s *Store) signInWith(ctx context.Context, userID string, check func(*tx) (bool, error), method string) (User, error) {
	var u User
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		var err error
		if u, err = getUser(t.ctx, t.sqlTx, userID); err != nil {
			return err
		}
		t.ctx = WithActor(t.ctx, u.Actor())
		if !u.Active() {
			t.record("user.passkey_refused", "user", userID, nil, map[string]any{"purpose": "sign-in", "reason": "account disabled"})
			refused = ErrPasskeyRefused
			return nil
		}
		ok, err := check(t)
		if err != nil {
			return err
		}
		if !ok {
			refused = ErrPasskeyRefused
			return nil
		}
		if _, err := t.exec(`UPDATE users SET last_sign_in_at = ? WHERE id = ?`, t.now, userID); err != nil {
			return err
		}
		now := t.now
		u.LastSignInAt = &now
		t.record("user.signin", "user", userID, nil, map[string]any{"second_factor": true, "method": method})
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		if errors.Is(err, ErrPasskeyRefused) {
			return User{}, err
		}
		return User{}, fmt.Errorf("store: sign in with passkey: %w", err)
	}
	return u, nil
}

// RefusePasskey audits a passkey step the web side refused before the
// store was asked (a signature or origin that did not verify), for the
// user it names when one is known.
func (s *Store) RefusePasskey(ctx context.Context, userID, purpose, reason string) error {
	err := s.inTx(ctx, func(t *tx) error {
		if userID != "" {
			t.ctx = WithActor(t.ctx, Actor{Type: "user", ID: userID})
		}
		t.record("user.passkey_refused", "user", userID, nil, map[string]any{"purpose": purpose, "reason": reason})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: refuse passkey: %w", err)
	}
	return nil
}

// WebAuthn ceremony kinds.
const (
	CeremonyRegister     = "register"
	CeremonySignIn       = "sign-in"       // a passkey alone, discoverable
	CeremonySecondFactor = "second-factor" // after a right password
	CeremonyConfirm      = "confirm"       // before a sensitive action
)

// Ceremony is a begun WebAuthn ceremony as its finish needs it.
type Ceremony struct {
	Kind        string
	UserID      string // the registering user, or the pending sign-in's
	SessionData []byte // the library's, opaque here
}

func ceremonyKey(purpose, raw string) []byte {
	sum := sha256.Sum256([]byte("herald webauthn " + purpose + "\x00" + raw))
	return sum[:]
}

// BeginCeremony records a ceremony under browser (the random value of a
// cookie only that browser holds), replacing any that browser had begun.
func (s *Store) BeginCeremony(ctx context.Context, browser string, c Ceremony) error {
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM webauthn_ceremonies WHERE created_at < ?`, t.now.Add(-WebAuthnCeremonyTTL)); err != nil {
			return err
		}
		key := ceremonyKey("browser", browser)
		if _, err := t.exec(`DELETE FROM webauthn_ceremonies WHERE browser_hash = ?`, key); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO webauthn_ceremonies (browser_hash, kind, user_id, session_data, created_at) VALUES (?, ?, ?, ?, ?)`,
			key, c.Kind, c.UserID, string(c.SessionData), t.now)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: begin webauthn: %w", err)
	}
	return nil
}

// TakeCeremony returns the ceremony browser began, of kind, and ends it
// whatever the outcome: a challenge is good once. None, another kind, or
// one too old is refused (audited) with ErrPasskeyRefused.
func (s *Store) TakeCeremony(ctx context.Context, browser, kind string) (Ceremony, error) {
	var c Ceremony
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		key := ceremonyKey("browser", browser)
		var created time.Time
		var data string
		// Taken and ended in one statement: of two finishes racing with
		// one cookie, one gets the row and the other none.
		err := t.QueryRowContext(t.ctx, `DELETE FROM webauthn_ceremonies WHERE browser_hash = ? RETURNING kind, user_id, session_data, created_at`, key).
			Scan(&c.Kind, &c.UserID, &data, &created)
		reason := ""
		switch {
		case browser == "" || errors.Is(err, sql.ErrNoRows):
			reason = "challenge unknown, already used or begun in another browser"
		case err != nil:
			return err
		case c.Kind != kind:
			reason = "challenge for another ceremony"
		case t.now.Sub(created) > WebAuthnCeremonyTTL:
			reason = "challenge expired"
		}
		if reason != "" {
			if c.UserID != "" {
				t.ctx = WithActor(t.ctx, Actor{Type: "user", ID: c.UserID})
			}
			t.record("user.passkey_refused", "user", c.UserID, nil, map[string]any{"purpose": kind, "reason": reason})
			c, refused = Ceremony{}, ErrPasskeyRefused
			return nil
		}
		c.SessionData = []byte(data)
		return nil
	})
	if err != nil {
		return Ceremony{}, fmt.Errorf("store: take webauthn: %w", err)
	}
	return c, refused
}
