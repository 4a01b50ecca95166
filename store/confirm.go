package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Proving it is the person, again, within a session: before adding a
// passkey, and before the actions that would let a stolen session take
// the console over (tokens, users' roles and passwords, webhooks) once the
// session's last proof is older than ConfirmWindow.

// ConfirmWindow is how long a sign-in, or a confirmation, stands for the
// sensitive actions: the minutes of one task, not of a working day.
const ConfirmWindow = 5 * time.Minute

// Purposes of a proof, as the audit log names them.
const (
	ProofAddPasskey = "add passkey"
	ProofConfirm    = "confirm"
)

// CheckProof checks that the user is who the session says: a current code
// from their authenticator app (or an unused recovery code) when they have
// one, else their current password. A code is used up. A wrong proof is
// audited and refused with a ValidationError on "proof".
func (s *Store) CheckProof(ctx context.Context, userID, proof, purpose string) error {
	has, err := s.hasTOTP(ctx, userID)
	if err != nil {
		return err
	}
	if has {
		ok := false
		err = s.inTx(ctx, func(t *tx) error {
			if err := t.lock("user_factor", userID); err != nil {
				return err
			}
			ok, err = t.checkFactorCode(userID, proof, purpose)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: check proof: %w", err)
		}
		if !ok {
			return fmt.Errorf("store: check proof: %w", invalid("proof", "is not a current code from your app or an unused recovery code"))
		}
		return nil
	}
	var stored string
	if err := s.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&stored); err != nil {
		return fmt.Errorf("store: check proof: %w", err)
	}
	ok := false
	if stored != "" && checkable(proof) {
		if ok, err = checkPassword(stored, proof); err != nil {
			return fmt.Errorf("store: check proof: %w", err)
		}
	}
	if ok {
		return nil
	}
	if err := s.inTx(ctx, func(t *tx) error {
		t.record("user.proof_refused", "user", userID, nil, map[string]any{"purpose": purpose, "reason": "wrong password"})
		return nil
	}); err != nil {
		return fmt.Errorf("store: check proof: %w", err)
	}
	if stored == "" {
		return fmt.Errorf("store: check proof: %w", invalid("proof", "you sign in through single sign-on and have no Herald password to confirm with"))
	}
	return fmt.Errorf("store: check proof: %w", invalid("proof", "is not your current password"))
}

// ConfirmSession checks proof (as CheckProof) and, right, marks session
// raw as proven now, which stands for ConfirmWindow.
func (s *Store) ConfirmSession(ctx context.Context, raw, userID, proof string) error {
	if err := s.CheckProof(ctx, userID, proof, ProofConfirm); err != nil {
		return err
	}
	return s.markConfirmed(ctx, raw, userID, func(*tx) (bool, error) { return true, nil }, "code or password")
}

// ConfirmSessionPasskey is ConfirmSession with a passkey the web side
// verified; refused (the counter rule), ErrPasskeyRefused.
func (s *Store) ConfirmSessionPasskey(ctx context.Context, raw, userID string, use PasskeyUse) error {
	use.Purpose = ProofConfirm
	return s.markConfirmed(ctx, raw, userID, func(t *tx) (bool, error) { return t.usePasskey(userID, use) }, "passkey")
}

// ErrNotThem is a confirmation through the provider that came back as
// someone else than the session's user. It has been audited.
var ErrNotThem = errors.New("the provider confirmed someone else")

// ConfirmSessionSSO marks session raw confirmed after the provider signed
// its user in again: the identity it vouched for (issuer and subject) must
// be the one the user is linked to, else ErrNotThem.
func (s *Store) ConfirmSessionSSO(ctx context.Context, raw, userID, issuer, subject string) error {
	err := s.markConfirmed(ctx, raw, userID, func(t *tx) (bool, error) {
		var iss, sub string
		if err := t.QueryRowContext(t.ctx, `SELECT sso_issuer, sso_subject FROM users WHERE id = ?`, userID).Scan(&iss, &sub); err != nil {
			return false, err
		}
		if sub == "" || iss != issuer || sub != subject {
			t.record("user.proof_refused", "user", userID, nil, map[string]any{"purpose": ProofConfirm, "reason": "the provider confirmed another identity"})
			return false, nil
		}
		return true, nil
	}, "sso")
	if errors.Is(err, ErrPasskeyRefused) {
		return ErrNotThem
	}
	return err
}

func (s *Store) markConfirmed(ctx context.Context, raw, userID string, check func(*tx) (bool, error), method string) error {
	refused := false
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("user_factor", userID); err != nil {
			return err
		}
		ok, err := check(t)
		if err != nil {
			return err
		}
		if !ok {
			refused = true
			return nil
		}
		res, err := t.exec(`UPDATE sessions SET confirmed_at = ? WHERE id_hash = ? AND user_id = ?`, t.now, sessionKey(raw), userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrNoSession
		}
		t.record("user.confirmed", "user", userID, nil, map[string]any{"method": method})
		return nil
	})
	if err == nil && refused {
		return ErrPasskeyRefused
	}
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			return err
		}
		return fmt.Errorf("store: confirm session: %w", err)
	}
	return nil
}

// confirmedAt is when a session's person last proved it is them: its
// sign-in, or its latest confirmation.
func confirmedAt(created time.Time, confirmed sql.NullTime) time.Time {
	if confirmed.Valid && confirmed.Time.After(created) {
		return confirmed.Time.UTC()
	}
	return created
}
