package web

import (
	"strings"
	"sync"
	"time"
)

// signInLimiter counts failed sign-ins per account and per client address
// over a sliding window. Past the limit, sign-in is refused without even
// checking the password, with the same message as a wrong password, so a
// guesser learns nothing. Counts live in memory: per process, reset by a
// restart; replicas would share them through the database.
type signInLimiter struct {
	mu         sync.Mutex
	window     time.Duration
	perAccount int
	perIP      int
	accounts   map[string][]time.Time
	ips        map[string][]time.Time
	now        func() time.Time
}

// maxTracked bounds each map: an attacker cycling through made-up emails
// must not grow memory without end.
const maxTracked = 10000

func newSignInLimiter() *signInLimiter {
	return &signInLimiter{
		window:     15 * time.Minute,
		perAccount: 5,
		perIP:      20,
		accounts:   map[string][]time.Time{},
		ips:        map[string][]time.Time{},
		now:        time.Now,
	}
}

// allowed reports whether a sign-in for email from ip may be tried.
func (l *signInLimiter) allowed(email, ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return len(l.recent(l.accounts, accountKey(email), now)) < l.perAccount &&
		len(l.recent(l.ips, ip, now)) < l.perIP
}

// failed records a failed attempt against both the account and the address.
func (l *signInLimiter) failed(email, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, kv := range []struct {
		m   map[string][]time.Time
		key string
	}{{l.accounts, accountKey(email)}, {l.ips, ip}} {
		if len(kv.m) >= maxTracked {
			l.sweep(kv.m, now)
		}
		kv.m[kv.key] = append(l.recent(kv.m, kv.key, now), now)
	}
}

// succeeded clears the account's count: its owner got in. The address's
// count stays, so one good account does not launder guesses at others.
func (l *signInLimiter) succeeded(email string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, accountKey(email))
}

func (l *signInLimiter) recent(m map[string][]time.Time, key string, now time.Time) []time.Time {
	list := m[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) > l.window {
		i++
	}
	if i == len(list) {
		delete(m, key)
		return nil
	}
	list = list[i:]
	m[key] = list
	return list
}

// sweep drops expired entries; if the map is still full, the oldest half
// goes, which at worst forgets some attempts rather than running out of memory.
func (l *signInLimiter) sweep(m map[string][]time.Time, now time.Time) {
	for k := range m {
		l.recent(m, k, now)
	}
	if len(m) < maxTracked {
		return
	}
	n := 0
	for k := range m {
		delete(m, k)
		if n++; n >= maxTracked/2 {
			break
		}
	}
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
