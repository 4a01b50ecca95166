package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Single sign-on through the operator's OpenID provider. The web side
// talks to the provider and verifies what it says; here are the two
// records that outlive a request: the sign-in under way (sso_logins), and
// the users it signs in, linked to the provider by issuer and subject.

// SSOLoginTTL is how long a sign-in sent to the provider may take to come
// back: long enough to type a password and a second factor there.
const SSOLoginTTL = 10 * time.Minute

// ssoLink is a user's identity at the provider; zero for a local user.
type ssoLink struct{ Issuer, Subject string }

// SSOOnly reports whether u signs in through the provider and has no
// Herald password: the provider, not Herald, asks for their second factor.
func (u User) SSOOnly() bool { return u.SSO && !u.LocalPassword }

// SSOLogin is what a sign-in sent to the provider must find when it comes
// back: the nonce the ID token must carry, the PKCE verifier, and where
// in the console to go next.
type SSOLogin struct {
	Nonce    string
	Verifier string
	Next     string
	// ConfirmUser is set when the provider is asked to confirm it is this
	// signed-in user before a sensitive action, not to sign anyone in.
	ConfirmUser string
	BegunAt     time.Time // when it was sent (TakeSSOLogin fills it in)
}

// SSORefusal is a single sign-on refused, for Reason (a short phrase the
// audit log and the sign-in page both show). It has been audited and
// nothing else has changed.
type SSORefusal struct{ Reason string }

func (e *SSORefusal) Error() string { return "single sign-on refused: " + e.Reason }

// SSO refusal reasons decided here; the web side has its own for what it
// checks (state, token).
const (
	SSOReasonBadState      = "bad state"
	SSOReasonNoRole        = "no role"
	SSOReasonDisabled      = "account disabled"
	SSOReasonLinkedElse    = "email linked to another identity"
	SSOReasonLastAdmin     = "last admin"
	SSOReasonNotAllowed    = "domain not allowed"
	SSOReasonEmailMissing  = "no email"
	SSOReasonEmailUnverify = "email unverified"
)

func ssoKey(purpose, raw string) []byte {
	sum := sha256.Sum256([]byte("herald sso " + purpose + "\x00" + raw))
	return sum[:]
}

// BeginSSOLogin records a sign-in sent to the provider under its state,
// bound to browser (the random value of a cookie only that browser holds).
func (s *Store) BeginSSOLogin(ctx context.Context, state, browser string, l SSOLogin) error {
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM sso_logins WHERE created_at < ?`, t.now.Add(-SSOLoginTTL)); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO sso_logins (state_hash, browser_hash, nonce, verifier, next, confirm_user, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ssoKey("state", state), ssoKey("browser", browser), l.Nonce, l.Verifier, l.Next, l.ConfirmUser, t.now)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: begin sso login: %w", err)
	}
	return nil
}

// TakeSSOLogin returns the sign-in under way with state, and ends it
// whatever the outcome: a state is good once, so a replayed callback finds
// nothing. One from another browser, or too old, is refused (and audited)
// as a bad state.
func (s *Store) TakeSSOLogin(ctx context.Context, state, browser, issuer string) (SSOLogin, error) {
	var l SSOLogin
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		key := ssoKey("state", state)
		var bound []byte
		var created time.Time
		err := t.QueryRowContext(t.ctx, `SELECT browser_hash, nonce, verifier, next, confirm_user, created_at FROM sso_logins WHERE state_hash = ?`, key).
			Scan(&bound, &l.Nonce, &l.Verifier, &l.Next, &l.ConfirmUser, &created)
		l.BegunAt = created
		detail := ""
		switch {
		case state == "" || errors.Is(err, sql.ErrNoRows):
			detail = "unknown or already used"
		case err != nil:
			return err
		case subtle.ConstantTimeCompare(bound, ssoKey("browser", browser)) != 1:
			detail = "begun in another browser"
		case t.now.Sub(created) > SSOLoginTTL:
			detail = "expired"
		}
		if err == nil {
			if _, err := t.exec(`DELETE FROM sso_logins WHERE state_hash = ?`, key); err != nil {
				return err
			}
		}
		if detail != "" {
			l = SSOLogin{}
			t.refuseSSO(SSOIdentity{Issuer: issuer}, SSOReasonBadState, detail)
			refused = &SSORefusal{Reason: SSOReasonBadState}
		}
		return nil
	})
	if err != nil {
		return SSOLogin{}, fmt.Errorf("store: take sso login: %w", err)
	}
	return l, refused
}

// SSOIdentity is what a verified ID token (and the provider's userinfo)
// says about the person signing in, and what Herald's rules made of it.
type SSOIdentity struct {
	Issuer  string
	Subject string
	Email   string
	Name    string
	// Role is the highest role the operator's rules give the claims; ""
	// when none does, and the sign-in is refused.
	Role Role
	// CreateRefusal is why nobody may be created from these claims (a
	// reason such as SSOReasonNotAllowed); "" when a user may be.
	CreateRefusal string
}

func (id SSOIdentity) actor() Actor {
	name := id.Email
	if name == "" {
		name = id.Subject
	}
	if name == "" {
		name = "unknown"
	}
	return Actor{Type: "sso", ID: id.Subject, Name: name}
}

// RefuseSSO audits a single sign-on refused before the store was asked
// (a token that did not verify, say), and returns the refusal.
func (s *Store) RefuseSSO(ctx context.Context, id SSOIdentity, reason, detail string) error {
	err := s.inTx(ctx, func(t *tx) error {
		t.refuseSSO(id, reason, detail)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: refuse sso: %w", err)
	}
	return &SSORefusal{Reason: reason}
}

func (t *tx) refuseSSO(id SSOIdentity, reason, detail string) {
	t.ctx = WithActor(t.ctx, id.actor())
	after := map[string]any{"reason": reason, "issuer": id.Issuer}
	if detail != "" {
		after["detail"] = detail
	}
	if id.Email != "" {
		after["email"] = id.Email
	}
	t.record("user.sso_refused", "sso_login", id.Subject, nil, after)
}

// SignInSSO signs in the person a verified ID token names: the user linked
// to that subject, else the user with that email (linked now), else a new
// user when CreateRefusal allows one. Their role follows the claims at
// every sign-in. A refusal (*SSORefusal) is audited and changes nothing
// else; the caller starts the session.
func (s *Store) SignInSSO(ctx context.Context, id SSOIdentity) (User, error) {
	var u User
	var refused error
	refuse := func(t *tx, reason, detail string) error {
		t.refuseSSO(id, reason, detail)
		refused = &SSORefusal{Reason: reason}
		return nil
	}
	err := s.inTx(ctx, func(t *tx) error {
		if id.Role == "" {
			return refuse(t, SSOReasonNoRole, "no rule gives these claims a role")
		}
		if !id.Role.Valid() {
			return invalid("role", "unknown role %q", id.Role)
		}
		email, err := checkEmail(id.Email)
		if err != nil {
			return refuse(t, SSOReasonEmailMissing, "the provider sent no usable email")
		}
		if err := t.lock("user_email", email); err != nil {
			return err
		}
		before, found, err := t.ssoUser(id.Issuer, id.Subject, email)
		if err != nil {
			return err
		}
		if !found {
			if id.CreateRefusal != "" {
				return refuse(t, id.CreateRefusal, "no user is created for "+email)
			}
			// A name the provider sent that Herald would refuse is
			// left out: it is no reason to refuse the person.
			name, err := checkLine("name", id.Name, MaxNameLength, false)
			if err != nil {
				name = ""
			}
			u, err = t.createUser(UserInput{Email: email, Name: name, Role: id.Role}, "", ssoLink{Issuer: id.Issuer, Subject: id.Subject})
			if err != nil {
				return err
			}
			t.ctx = WithActor(t.ctx, u.Actor())
			return t.ssoSignedIn(&u, id)
		}
		t.ctx = WithActor(t.ctx, before.Actor())
		if !before.Active() {
			return refuse(t, SSOReasonDisabled, "")
		}
		u = before
		var linked ssoLink
		if err := t.QueryRowContext(t.ctx, `SELECT sso_issuer, sso_subject FROM users WHERE id = ?`, u.ID).Scan(&linked.Issuer, &linked.Subject); err != nil {
			return err
		}
		if linked.Subject != "" && linked != (ssoLink{Issuer: id.Issuer, Subject: id.Subject}) {
			return refuse(t, SSOReasonLinkedElse, "")
		}
		if u.Role != id.Role {
			u.Role = id.Role
			var conflict *ConflictError
			if err := t.keepAnAdmin(before, u); errors.As(err, &conflict) {
				return refuse(t, SSOReasonLastAdmin, "the claims no longer make the last active admin an admin")
			} else if err != nil {
				return err
			}
		}
		if linked.Subject == "" {
			if _, err := t.exec(`UPDATE users SET sso_issuer = ?, sso_subject = ? WHERE id = ?`, id.Issuer, id.Subject, u.ID); err != nil {
				return err
			}
			u.SSO = true
			t.record("user.sso_link", "user", u.ID, map[string]any{"sso": false}, map[string]any{"sso": true, "issuer": id.Issuer})
		}
		if u.Role != before.Role {
			u.UpdatedAt = t.now
			if _, err := t.exec(`UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, u.Role, u.UpdatedAt, u.ID); err != nil {
				return err
			}
			t.record("user.role_from_claims", "user", u.ID, map[string]any{"role": before.Role}, map[string]any{"role": u.Role})
		}
		return t.ssoSignedIn(&u, id)
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		var r *SSORefusal
		if errors.As(err, &r) {
			return User{}, err
		}
		return User{}, fmt.Errorf("store: sso sign-in: %w", err)
	}
	return u, nil
}

// ssoUser finds the user linked to the subject, else the one with email.
func (t *tx) ssoUser(issuer, subject, email string) (User, bool, error) {
	u, err := scanUser(t.QueryRowContext(t.ctx, `SELECT `+userColumns+` FROM users WHERE sso_issuer = ? AND sso_subject = ?`, issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		u, err = scanUser(t.QueryRowContext(t.ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}

func (t *tx) ssoSignedIn(u *User, id SSOIdentity) error {
	if _, err := t.exec(`UPDATE users SET last_sign_in_at = ? WHERE id = ?`, t.now, u.ID); err != nil {
		return err
	}
	now := t.now
	u.LastSignInAt = &now
	t.record("user.signin", "user", u.ID, nil, map[string]any{"method": "sso", "issuer": id.Issuer, "role": u.Role})
	return nil
}
