package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
)

// Second factors for local accounts: TOTP (RFC 6238) as authenticator
// apps compute it — HMAC-SHA1, six digits, 30-second steps — with ten
// single-use recovery codes. A password alone, once a user has a factor,
// gets a pending sign-in (not a session) that a code turns into one.
const (
	totpPeriod = 30
	totpDigits = 6
	// totpSkew is how many steps either side of now a code may be from:
	// a phone's clock a little off still signs in.
	totpSkew = 1
	// RecoveryCodeCount is how many recovery codes an enrolment gives.
	RecoveryCodeCount = 10
	// PendingSignInTTL is how long a right password waits for its code.
	PendingSignInTTL = 5 * time.Minute
	// pendingSignInTries is how many wrong codes one pending sign-in
	// survives; then the password must be typed again.
	pendingSignInTries = 5
)

// ErrBadSecondFactor is every refused second step: a wrong, reused or
// malformed code, a used recovery code, an unknown, expired or used
// pending sign-in. Callers show one message for all of them.
var ErrBadSecondFactor = errors.New("the code is not right, or the sign-in has expired")

// hotp is RFC 4226's HOTP value of counter under key, digits long.
func hotp(newHash func() hash.Hash, key []byte, counter uint64, digits int) string {
	mac := hmac.New(newHash, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// decodeTOTPSecret reads a base32 secret as people copy it: any case,
// with spaces or padding.
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(secret))
	key, err := totpEncoding.DecodeString(s)
	if err != nil || len(key) < 10 {
		return nil, fmt.Errorf("not a TOTP secret")
	}
	return key, nil
}

// TOTPCode is the six-digit code an authenticator app shows at t for the
// base32 secret: for the command line and tests.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(sha1.New, key, uint64(totpStep(t)), totpDigits), nil
}

// normaliseCode strips what people type around a code: spaces, dashes.
func normaliseCode(code string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(code)))
}

// matchTOTP finds the step within the skew whose code is code. A match at
// or before last is a code already used; the step is returned either way.
func matchTOTP(key []byte, code string, now time.Time, last int64) (step int64, fresh, ok bool) {
	if len(code) != totpDigits {
		return 0, false, false
	}
	at := totpStep(now)
	for s := at - totpSkew; s <= at+totpSkew; s++ {
		if hmac.Equal([]byte(hotp(sha1.New, key, uint64(s), totpDigits)), []byte(code)) {
			return s, s > last, true
		}
	}
	return 0, false, false
}

// factorKey is the installation's key for sealing TOTP secrets, kept with
// the link-signing key and read once.
type factorKey struct {
	mu   sync.Mutex
	aead cipher.AEAD
}

func (k *factorKey) get(ctx context.Context, q querier) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.aead != nil {
		return k.aead, nil
	}
	var key []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM notify_settings WHERE key = 'factor_key'`).Scan(&key); err != nil {
		return nil, fmt.Errorf("read factor key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("read factor key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("factor key: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("factor key: %w", err)
	}
	return k.aead, nil
}

// seal encrypts a user's TOTP key; the user id is bound in, so a sealed
// secret copied onto another user's row does not open.
func (t *tx) seal(userID string, key []byte) ([]byte, error) {
	aead, err := t.store.factors.get(t.ctx, t.sqlTx)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("random nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, key, []byte(userID)), nil
}

func (s *Store) unseal(ctx context.Context, q querier, userID string, sealed []byte) ([]byte, error) {
	aead, err := s.factors.get(ctx, q)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("sealed TOTP secret of user %s is too short", userID)
	}
	key, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(userID))
	if err != nil {
		return nil, fmt.Errorf("open TOTP secret of user %s: %w", userID, err)
	}
	return key, nil
}

// TwoFactor is what a user has as a second factor.
type TwoFactor struct {
	Enrolled      bool       // a confirmed TOTP factor
	EnrolledAt    *time.Time // when it was confirmed
	Pending       bool       // enrolment begun, no code typed yet
	RecoveryLeft  int        // unused recovery codes
	Passkeys      int        // registered passkeys, each a second factor too
	Required      bool       // the user's role must have a second factor
	RequiredRoles []Role
}

// MustEnrol reports whether the user may do nothing but enrol.
func (f TwoFactor) MustEnrol() bool { return f.Required && !f.Enrolled && f.Passkeys == 0 }

// GetTwoFactor returns a user's second-factor state and whether their
// role requires one.
func (s *Store) GetTwoFactor(ctx context.Context, u User) (TwoFactor, error) {
	var f TwoFactor
	var confirmed sql.NullTime
	err := s.read.QueryRowContext(ctx, `SELECT confirmed_at FROM user_factors WHERE user_id = ?`, u.ID).Scan(&confirmed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return TwoFactor{}, fmt.Errorf("store: two factor of %s: %w", u.ID, err)
	default:
		f.Enrolled, f.Pending, f.EnrolledAt = confirmed.Valid, !confirmed.Valid, timePtr(confirmed)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, u.ID).Scan(&f.RecoveryLeft); err != nil {
		return TwoFactor{}, fmt.Errorf("store: recovery codes of %s: %w", u.ID, err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM webauthn_credentials WHERE user_id = ?`, u.ID).Scan(&f.Passkeys); err != nil {
		return TwoFactor{}, fmt.Errorf("store: passkeys of %s: %w", u.ID, err)
	}
	if f.RequiredRoles, err = s.FactorRequiredRoles(ctx); err != nil {
		return TwoFactor{}, err
	}
	for _, r := range f.RequiredRoles {
		// The provider asks for the second factor of a user who signs
		// in there only.
		f.Required = f.Required || (r == u.Role && !u.SSOOnly())
	}
	return f, nil
}

// MustEnrolFactor reports whether u's role requires a second factor that
// u has not got: such a user may only enrol. One query, as it runs on
// every console request.
func (s *Store) MustEnrolFactor(ctx context.Context, u User) (bool, error) {
	if u.SSOOnly() {
		return false, nil // see GetTwoFactor
	}
	var must bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM factor_required_roles WHERE role = ?)
		AND NOT EXISTS (SELECT 1 FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ?)`, u.Role, u.ID, u.ID).Scan(&must)
	if err != nil {
		return false, fmt.Errorf("store: must enrol factor: %w", err)
	}
	return must, nil
}

// HasFactor reports whether a user has a confirmed second factor (an
// authenticator app or a passkey), so that a right password is only half
// a sign-in.
func (s *Store) HasFactor(ctx context.Context, userID string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL)
		+ (SELECT count(*) FROM webauthn_credentials WHERE user_id = ?)`, userID, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: has factor: %w", err)
	}
	return n > 0, nil
}

// FactorRequiredRoles lists the roles whose users must have a second factor.
func (s *Store) FactorRequiredRoles(ctx context.Context) ([]Role, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT role FROM factor_required_roles`)
	if err != nil {
		return nil, fmt.Errorf("store: factor roles: %w", err)
	}
	defer rows.Close()
	have := map[Role]bool{}
	for rows.Next() {
		var r Role
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("store: factor roles: %w", err)
		}
		have[r] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: factor roles: %w", err)
	}
	var out []Role
	for _, r := range Roles {
		if have[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// SetFactorRequiredRoles says which roles must have a second factor. Their
// users without one are sent to enrol at their next request.
func (s *Store) SetFactorRequiredRoles(ctx context.Context, roles []Role) error {
	for _, r := range roles {
		if !r.Valid() {
			return fmt.Errorf("store: factor roles: %w", invalid("roles", "unknown role %q; use %s", r, joinValues(Roles)))
		}
	}
	before, err := s.FactorRequiredRoles(ctx)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM factor_required_roles`); err != nil {
			return err
		}
		seen := map[Role]bool{}
		var after []Role
		for _, r := range Roles {
			for _, want := range roles {
				if want == r && !seen[r] {
					seen[r] = true
					after = append(after, r)
					if _, err := t.exec(`INSERT INTO factor_required_roles (role) VALUES (?)`, r); err != nil {
						return err
					}
				}
			}
		}
		t.record("settings.factor_roles", "settings", "two_factor", map[string]any{"required_roles": rolesOrEmpty(before)}, map[string]any{"required_roles": rolesOrEmpty(after)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: factor roles: %w", err)
	}
	return nil
}

func rolesOrEmpty(r []Role) []Role {
	if r == nil {
		return []Role{}
	}
	return r
}

// TOTPEnrolment is a begun enrolment: the secret to show as a QR code
// and in text.
type TOTPEnrolment struct {
	Secret string // base32, no padding
}

// BeginTOTP starts (or restarts) a user's TOTP enrolment with a new
// secret. It signs nothing in until ConfirmTOTP sees a code from it. A
// user who has a factor must remove it first.
func (s *Store) BeginTOTP(ctx context.Context, userID string) (TOTPEnrolment, error) {
	key := make([]byte, 20) // 160 bits, RFC 4226's recommended length
	if _, err := rand.Read(key); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("store: begin totp: %w", err)
	}
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		if _, err := getUser(t.ctx, t.sqlTx, userID); err != nil {
			return err
		}
		var confirmed sql.NullTime
		err := t.QueryRowContext(t.ctx, `SELECT confirmed_at FROM user_factors WHERE user_id = ?`, userID).Scan(&confirmed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if confirmed.Valid {
			return &ConflictError{Message: "you already have an authenticator app; remove it before adding another"}
		}
		sealed, err := t.seal(userID, key)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM user_factors WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO user_factors (user_id, sealed_secret, created_at) VALUES (?, ?, ?)`, userID, sealed, t.now)
		return err
	})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("store: begin totp: %w", err)
	}
	return TOTPEnrolment{Secret: totpEncoding.EncodeToString(key)}, nil
}

// PendingTOTP returns the secret of a begun, unconfirmed enrolment, or
// ok false when there is none.
func (s *Store) PendingTOTP(ctx context.Context, userID string) (TOTPEnrolment, bool, error) {
	var sealed []byte
	err := s.read.QueryRowContext(ctx, `SELECT sealed_secret FROM user_factors WHERE user_id = ? AND confirmed_at IS NULL`, userID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return TOTPEnrolment{}, false, nil
	}
	if err != nil {
		return TOTPEnrolment{}, false, fmt.Errorf("store: pending totp: %w", err)
	}
	key, err := s.unseal(ctx, s.read, userID, sealed)
	if err != nil {
		return TOTPEnrolment{}, false, fmt.Errorf("store: pending totp: %w", err)
	}
	return TOTPEnrolment{Secret: totpEncoding.EncodeToString(key)}, true, nil
}

// ConfirmTOTP finishes an enrolment when code is right for its secret,
// and returns the ten recovery codes, shown once. A wrong code is
// audited, refused with a ValidationError on "code", and changes nothing.
func (s *Store) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		codes[i] = recoveryCode()
	}
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		var sealed []byte
		err := t.QueryRowContext(t.ctx, `SELECT sealed_secret FROM user_factors WHERE user_id = ? AND confirmed_at IS NULL`, userID).Scan(&sealed)
		if errors.Is(err, sql.ErrNoRows) {
			refused = &ConflictError{Message: "there is no enrolment to finish; start again"}
			return nil
		}
		if err != nil {
			return err
		}
		key, err := s.unseal(t.ctx, t.sqlTx, userID, sealed)
		if err != nil {
			return err
		}
		step, _, ok := matchTOTP(key, normaliseCode(code), t.now, 0)
		if !ok {
			t.record("user.totp_enrol_failed", "user", userID, nil, map[string]any{"reason": "wrong code"})
			refused = invalid("code", "is not the code the app shows now; check the phone's clock and type the newest code")
			return nil
		}
		if _, err := t.exec(`UPDATE user_factors SET confirmed_at = ?, last_step = ? WHERE user_id = ?`, t.now, step, userID); err != nil {
			return err
		}
		if err := t.replaceRecoveryCodes(userID, codes); err != nil {
			return err
		}
		t.record("user.totp_enrolled", "user", userID, map[string]any{"two_factor": false}, map[string]any{"two_factor": true, "recovery_codes": len(codes)})
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return nil, fmt.Errorf("store: confirm totp: %w", err)
	}
	return codes, nil
}

func (t *tx) replaceRecoveryCodes(userID string, codes []string) error {
	if _, err := t.exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := t.exec(`INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, recoveryHash(c)); err != nil {
			return err
		}
	}
	return nil
}

// recoveryCode is a random code for a person to write down: ten
// characters without look-alikes (about 49 bits), shown as xxxxx-xxxxx.
// Guessing one is bounded by the sign-in limits, not by its length alone.
func recoveryCode() string {
	c := randomChars("abcdefghjkmnpqrstuvwxyz23456789", 10)
	return c[:5] + "-" + c[5:]
}

func recoveryHash(code string) []byte {
	sum := sha256.Sum256([]byte("herald recovery code\x00" + normaliseCode(code)))
	return sum[:]
}

// RemoveTOTP takes away a user's own factor, or a begun enrolment, after
// a current code or an unused recovery code proves it is them.
func (s *Store) RemoveTOTP(ctx context.Context, userID, code string) error {
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		ok, err := t.checkFactorCode(userID, code, "remove")
		if err != nil {
			return err
		}
		if !ok {
			refused = invalid("code", "is not a current code from your app or an unused recovery code")
			return nil
		}
		return t.dropFactors(userID, "user.totp_removed", nil)
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return fmt.Errorf("store: remove totp: %w", err)
	}
	return nil
}

// CancelTOTP drops a begun enrolment that was never confirmed.
func (s *Store) CancelTOTP(ctx context.Context, userID string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM user_factors WHERE user_id = ? AND confirmed_at IS NULL`, userID)
	if err != nil {
		return fmt.Errorf("store: cancel totp: %w", err)
	}
	return nil
}

// ResetFactors is an admin taking away another user's second factors (a
// lost phone, a lost key): the authenticator app, its recovery codes, the
// passkeys and any half-finished sign-ins go. It reports whether the user
// had any.
func (s *Store) ResetFactors(ctx context.Context, userID string) (bool, error) {
	had := false
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		if _, err := getUser(t.ctx, t.sqlTx, userID); err != nil {
			return err
		}
		var n int
		if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL`, userID).Scan(&n); err != nil {
			return err
		}
		var keys int
		if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM webauthn_credentials WHERE user_id = ?`, userID).Scan(&keys); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM webauthn_credentials WHERE user_id = ?`, userID); err != nil {
			return err
		}
		had = n > 0 || keys > 0
		if had {
			// The user hears of it, in case it was not their asking.
			u, err := getUser(t.ctx, t.sqlTx, userID)
			if err != nil {
				return err
			}
			t.notifyAccount(JobAccountFactorsReset, userID, AccountNotice{Email: u.Email, By: ActorFrom(t.ctx).Name, At: t.now, App: n > 0, Passkeys: keys})
			// Whoever holds the lost phone or key may hold a session too.
			if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		return t.dropFactors(userID, "user.factors_reset", map[string]any{"two_factor": n > 0, "passkeys": keys})
	})
	if err != nil {
		return false, fmt.Errorf("store: reset factors: %w", err)
	}
	return had, nil
}

func (t *tx) dropFactors(userID, action string, before any) error {
	for _, q := range []string{`DELETE FROM user_factors WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`, `DELETE FROM pending_signins WHERE user_id = ?`} {
		if _, err := t.exec(q, userID); err != nil {
			return err
		}
	}
	if before == nil {
		before = map[string]any{"two_factor": true}
	}
	t.record(action, "user", userID, before, map[string]any{"two_factor": false})
	return nil
}

// checkFactorCode checks code — a TOTP code not used before, or an
// unused recovery code — for userID's confirmed factor, and uses it up.
// Every outcome is audited; the caller holds the user_factor lock.
func (t *tx) checkFactorCode(userID, code, purpose string) (bool, error) {
	var sealed []byte
	var last int64
	err := t.QueryRowContext(t.ctx, `SELECT sealed_secret, last_step FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL`, userID).Scan(&sealed, &last)
	if errors.Is(err, sql.ErrNoRows) {
		t.record("user.second_factor_failed", "user", userID, nil, map[string]any{"purpose": purpose, "reason": "no factor"})
		return false, nil
	}
	if err != nil {
		return false, err
	}
	key, err := t.store.unseal(t.ctx, t.sqlTx, userID, sealed)
	if err != nil {
		return false, err
	}
	c := normaliseCode(code)
	if step, fresh, ok := matchTOTP(key, c, t.now, last); ok {
		if !fresh {
			t.record("user.second_factor_failed", "user", userID, nil, map[string]any{"purpose": purpose, "reason": "code already used"})
			return false, nil
		}
		if _, err := t.exec(`UPDATE user_factors SET last_step = ? WHERE user_id = ?`, step, userID); err != nil {
			return false, err
		}
		t.record("user.second_factor_ok", "user", userID, nil, map[string]any{"purpose": purpose, "method": "totp"})
		return true, nil
	}
	if len(c) == 10 {
		res, err := t.exec(`UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, t.now, userID, recoveryHash(c))
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return false, err
		} else if n == 1 {
			var left int
			if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&left); err != nil {
				return false, err
			}
			t.record("user.recovery_code_used", "user", userID, nil, map[string]any{"purpose": purpose, "recovery_codes_left": left})
			return true, nil
		}
		var used int
		if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, recoveryHash(c)).Scan(&used); err != nil {
			return false, err
		}
		if used > 0 {
			t.record("user.second_factor_failed", "user", userID, nil, map[string]any{"purpose": purpose, "reason": "recovery code already used"})
			return false, nil
		}
	}
	t.record("user.second_factor_failed", "user", userID, nil, map[string]any{"purpose": purpose, "reason": "wrong code"})
	return false, nil
}

// PendingSignIn is a right password waiting for its second factor.
type PendingSignIn struct {
	Token string // raw, for the browser's form only; the database keeps a hash
	User  User
}

// BeginPendingSignIn records that userID's password was right and returns
// the token the code step must bring back. It is not a session: it
// admits nobody anywhere.
func (s *Store) BeginPendingSignIn(ctx context.Context, userID string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: begin pending sign-in: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM pending_signins WHERE created_at < ?`, t.now.Add(-PendingSignInTTL)); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO pending_signins (token_hash, user_id, created_at) VALUES (?, ?, ?)`, pendingKey(raw), userID, t.now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: begin pending sign-in: %w", err)
	}
	return raw, nil
}

func pendingKey(raw string) []byte {
	sum := sha256.Sum256([]byte("herald pending sign-in\x00" + raw))
	return sum[:]
}

// PendingSignInUser returns the user a pending sign-in is for, or
// ErrBadSecondFactor when it is unknown or expired. It changes nothing.
func (s *Store) PendingSignInUser(ctx context.Context, raw string) (User, error) {
	if raw == "" || len(raw) > 100 {
		return User{}, ErrBadSecondFactor
	}
	var created time.Time
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumnsOf("u")+`, p.created_at FROM pending_signins p JOIN users u ON u.id = p.user_id WHERE p.token_hash = ?`, pendingKey(raw)), &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrBadSecondFactor
	}
	if err != nil {
		return User{}, fmt.Errorf("store: pending sign-in: %w", err)
	}
	if s.now().Sub(created) > PendingSignInTTL || !u.Active() {
		return User{}, ErrBadSecondFactor
	}
	return u, nil
}

// CompletePendingSignIn checks the second step: the pending token and a
// code (TOTP or recovery). Right, it uses both up and returns the user,
// for the caller to start a session. Wrong, it returns ErrBadSecondFactor;
// the refusal is audited, the code is not used up, and after
// pendingSignInTries wrong codes the pending sign-in ends.
func (s *Store) CompletePendingSignIn(ctx context.Context, raw, code string) (User, error) {
	return s.completePendingSignIn(ctx, raw, "", func(t *tx, userID string) (bool, error) { return t.checkFactorCode(userID, code, "sign-in") })
}

// CompletePendingSignInPasskey is CompletePendingSignIn with a passkey,
// verified by the web side, as the second step; forUser is whom the
// passkey ceremony was begun for, which must be the pending sign-in's.
func (s *Store) CompletePendingSignInPasskey(ctx context.Context, raw, forUser string, use PasskeyUse) (User, error) {
	use.Purpose = "second factor"
	return s.completePendingSignIn(ctx, raw, forUser, func(t *tx, userID string) (bool, error) { return t.usePasskey(userID, use) })
}

func (s *Store) completePendingSignIn(ctx context.Context, raw, forUser string, check func(t *tx, userID string) (bool, error)) (User, error) {
	var u User
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		key := pendingKey(raw)
		var created time.Time
		var failures int
		var userID string
		err := t.QueryRowContext(t.ctx, `SELECT user_id, created_at, failures FROM pending_signins WHERE token_hash = ?`, key).Scan(&userID, &created, &failures)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && t.now.Sub(created) > PendingSignInTTL) {
			// Unknown (forged, or already used) or expired: nobody to
			// name, so the audit names the refusal only.
			reason := "unknown or already used"
			if err == nil {
				reason = "expired"
				if _, err := t.exec(`DELETE FROM pending_signins WHERE token_hash = ?`, key); err != nil {
					return err
				}
				t.ctx = WithActor(t.ctx, Actor{Type: "user", ID: userID})
			}
			t.record("user.second_factor_refused", "pending_signin", userID, nil, map[string]any{"reason": reason})
			refused = ErrBadSecondFactor
			return nil
		}
		if err != nil {
			return err
		}
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		if u, err = getUser(t.ctx, t.sqlTx, userID); err != nil {
			return err
		}
		t.ctx = WithActor(t.ctx, u.Actor())
		if !u.Active() {
			if _, err := t.exec(`DELETE FROM pending_signins WHERE token_hash = ?`, key); err != nil {
				return err
			}
			t.record("user.second_factor_refused", "pending_signin", userID, nil, map[string]any{"reason": "account disabled"})
			refused = ErrBadSecondFactor
			return nil
		}
		ok := false
		if forUser != "" && forUser != userID {
			t.record("user.second_factor_failed", "user", userID, nil, map[string]any{"purpose": "sign-in", "reason": "passkey ceremony begun for another user"})
		} else if ok, err = check(t, userID); err != nil {
			return err
		}
		if !ok {
			if failures+1 >= pendingSignInTries {
				_, err = t.exec(`DELETE FROM pending_signins WHERE token_hash = ?`, key)
			} else {
				_, err = t.exec(`UPDATE pending_signins SET failures = failures + 1 WHERE token_hash = ?`, key)
			}
			refused = ErrBadSecondFactor
			return err
		}
		if _, err := t.exec(`DELETE FROM pending_signins WHERE token_hash = ?`, key); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE users SET last_sign_in_at = ? WHERE id = ?`, t.now, userID); err != nil {
			return err
		}
		now := t.now
		u.LastSignInAt = &now
		t.record("user.signin", "user", userID, nil, map[string]any{"second_factor": true})
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		if errors.Is(err, ErrBadSecondFactor) {
			return User{}, err
		}
		return User{}, fmt.Errorf("store: complete sign-in: %w", err)
	}
	return u, nil
}
