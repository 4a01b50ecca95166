package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"errors"
	"math"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// Sign-in failures are counted per account, per client address (clientKey)
// and per account and address together. Past the address's limit, sign-in
// from it is refused. Past the account's limit, only addresses that have
// not failed on that account in the window may still try, once each, and
// at most signInSpareLimit of them: the limit is on guesses, not on the
// account's owner, whom five wrong posts from anywhere would otherwise lock
// out — but many addresses (an IPv6 /48 is 65,536 keys) must not each get
// a guess either, so past the spares the account is locked for everyone. A refused attempt takes as long
// as a checked one (without hashing: see store.RefuseSignIn) and gets the same message as a
// wrong password, so a guesser learns nothing, not even that it was
// refused.
const (
	signInWindow       = 15 * time.Minute
	signInAccountLimit = 5
	signInAddressLimit = 20
	signInSpareLimit   = 20
)

type signInLimit struct{ account, address, pair, spare store.Limit }

func signInLimits(email, addr string) signInLimit {
	account := strings.ToLower(strings.TrimSpace(email))
	return signInLimit{
		account: store.Limit{Key: "signin-account:" + account, Max: signInAccountLimit, Window: signInWindow},
		address: store.Limit{Key: "signin-address:" + addr, Max: signInAddressLimit, Window: signInWindow},
		// Counted always, limited only once the account is past its own
		// limit (then to none: this address has had its chance).
		pair: store.Limit{Key: "signin-pair:" + addr + " " + account, Max: math.MaxInt, Window: signInWindow},
		// The tries that fresh addresses get at a locked account.
		spare: store.Limit{Key: "signin-spare:" + account, Max: signInSpareLimit, Window: signInWindow},
	}
}

// beginSignIn reports whether a sign-in for email from the client keyed
// addr may be tried and, if so, counts it as a failure at once, before the
// password is checked, so that a burst of guesses cannot all pass while the
// first ones are still hashing.
func (s *Server) beginSignIn(ctx context.Context, email, addr string) (bool, error) {
	l := signInLimits(email, addr)
	ok, err := s.store.Attempt(ctx, l.account, l.address, l.pair)
	if ok || err != nil {
		return ok, err
	}
	// Refused by the account's limit or the address's: an address that
	// has not failed on this account may still try it.
	fresh := l.pair
	fresh.Max = 1
	return s.store.Attempt(ctx, l.address, fresh, l.spare)
}

// signedIn undoes what beginSignIn counted for a sign-in that was right:
// the account's failures are cleared (its owner got in), and so are this
// address's on it, and the address gets its attempt back. The address's
// other failures stay, so one good account does not launder guesses at
// others.
func (s *Server) signedIn(ctx context.Context, email, addr string) error {
	l := signInLimits(email, addr)
	return errors.Join(s.store.ForgetAttempts(ctx, l.account.Key), s.store.ForgetAttempts(ctx, l.pair.Key), s.store.RefundAttempt(ctx, l.address.Key))
}

// beginAllowed reports whether the client may begin another ceremony of a
// kind ("passkey", "sso"), counting it: anyone may begin one, and each is a
// row (a ceremony, a pending sign-in) until it is used or old. So many per
// browser (the pre-session or session cookie) and ten times that per
// address: an office behind one address has room at nine o'clock, and a
// flood from one address (or a page elsewhere making its visitors'
// browsers begin them, without our cookies) is still bounded, at the
// address's ten times.
func (s *Server) beginAllowed(c echo.Context, kind string) (bool, error) {
	addr := clientKey(c)
	seed, _ := c.Get(ctxCSRFSeed).(string)
	sum := sha256.Sum256([]byte(seed))
	window := 5 * time.Minute
	return s.store.Attempt(c.Request().Context(),
		store.Limit{Key: kind + "-begin:" + addr + ":" + hex.EncodeToString(sum[:8]), Max: signInBeginMax, Window: window},
		store.Limit{Key: kind + "-begin:" + addr, Max: 10 * signInBeginMax, Window: window})
}

// signInBeginMax is how many ceremonies of a kind one browser may begin in
// five minutes.
const signInBeginMax = 30

// tooManyProofs is the refusal of a proof past the sign-in limits.
const tooManyProofs = "there have been too many wrong tries; wait a few minutes and try again"

// limitedProof runs check, a signed-in user's proof that it is them (a
// password, an app code), counted against the sign-in limits as a sign-in
// would be, so that a stolen session guesses no faster than a stranger at
// the sign-in form. Past them check is not run, and the refusal is a
// ValidationError on field.
func (s *Server) limitedProof(c echo.Context, u store.User, field string, check func() error) error {
	ctx := c.Request().Context()
	allowed, err := s.beginSignIn(ctx, u.Email, clientKey(c))
	if err != nil {
		return err
	}
	if !allowed {
		s.log.Warn("proof refused: too many wrong tries", "user", u.ID, "ip", c.RealIP())
		return &store.ValidationError{Field: field, Message: tooManyProofs}
	}
	if err := check(); err != nil {
		return err
	}
	if err := s.signedIn(ctx, u.Email, clientKey(c)); err != nil {
		s.log.Error("clear counted sign-in failures", "err", err) // the proof itself stands
	}
	return nil
}
