package web

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// Sign-in failures are counted per account and per client address
// (clientKey). Past either limit, sign-in is refused without even checking
// the password, with the same message as a wrong password, so a guesser
// learns nothing.
const (
	signInWindow       = 15 * time.Minute
	signInAccountLimit = 5
	signInAddressLimit = 20
)

func signInLimits(email, addr string) (account, address store.Limit) {
	return store.Limit{Key: "signin-account:" + strings.ToLower(strings.TrimSpace(email)), Max: signInAccountLimit, Window: signInWindow},
		store.Limit{Key: "signin-address:" + addr, Max: signInAddressLimit, Window: signInWindow}
}

// beginSignIn reports whether a sign-in for email from the client keyed
// addr may be tried and, if so, counts it as a failure at once, before the
// password is checked, so that a burst of guesses cannot all pass while the
// first ones are still hashing.
func (s *Server) beginSignIn(ctx context.Context, email, addr string) (bool, error) {
	account, address := signInLimits(email, addr)
	return s.store.Attempt(ctx, account, address)
}

// signedIn undoes what beginSignIn counted for a sign-in that was right:
// the account's failures are cleared (its owner got in) and the address
// gets its attempt back. The address's failures stay, so one good account
// does not launder guesses at others.
func (s *Server) signedIn(ctx context.Context, email, addr string) error {
	account, address := signInLimits(email, addr)
	return errors.Join(s.store.ForgetAttempts(ctx, account.Key), s.store.RefundAttempt(ctx, address.Key))
}
