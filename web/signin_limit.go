package web

import (
	"strings"
	"time"
)

// signInLimiter counts failed sign-ins per account and per client address
// (clientKey). Past either limit, sign-in is refused without even checking
// the password, with the same message as a wrong password, so a guesser
// learns nothing.
type signInLimiter struct {
	*limiter
	accounts, addresses *window
}

func newSignInLimiter(now func() time.Time) *signInLimiter {
	accounts, addresses := newWindow(15*time.Minute, 5), newWindow(15*time.Minute, 20)
	return &signInLimiter{limiter: newLimiter(now, accounts, addresses), accounts: accounts, addresses: addresses}
}

// begin reports whether a sign-in for email from the client keyed addr may
// be tried and, if so, counts it as a failure at once, before the password
// is checked, so that a burst of guesses cannot all pass while the first
// ones are still hashing.
func (l *signInLimiter) begin(email, addr string) bool {
	return l.allow(accountKey(email), addr)
}

// succeeded undoes what begin counted for a sign-in that was right: the
// account's count is cleared (its owner got in) and the address gets its
// attempt back. The address's failures stay, so one good account does not
// launder guesses at others.
func (l *signInLimiter) succeeded(email, addr string) {
	l.adjust(func() {
		l.accounts.forget(accountKey(email))
		l.addresses.refund(addr)
	})
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
