package web

import (
	"net/netip"
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

// begin reports whether a sign-in for email from ip may be tried and, if
// so, counts it as a failure at once, before the password is checked.
// Checking and counting under one lock is what makes the limit hold
// against a burst: were they separate, a hundred concurrent guesses would
// all pass the check while the first ones were still hashing.
func (l *signInLimiter) begin(email, ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	account, addr := accountKey(email), ipKey(ip)
	if len(l.recent(l.accounts, account, now)) >= l.perAccount || len(l.recent(l.ips, addr, now)) >= l.perIP {
		return false
	}
	for _, kv := range []struct {
		m   map[string][]time.Time
		key string
	}{{l.accounts, account}, {l.ips, addr}} {
		if len(kv.m) >= maxTracked {
			l.sweep(kv.m, now)
		}
		kv.m[kv.key] = append(l.recent(kv.m, kv.key, now), now)
	}
	return true
}

// succeeded undoes what begin counted for a sign-in that was right: the
// account's count is cleared (its owner got in) and the address gets its
// attempt back. The address's failures stay, so one good account does not
// launder guesses at others.
func (l *signInLimiter) succeeded(email, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, accountKey(email))
	addr := ipKey(ip)
	if list := l.ips[addr]; len(list) > 0 {
		if len(list) == 1 {
			delete(l.ips, addr)
		} else {
			l.ips[addr] = list[:len(list)-1]
		}
	}
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

// ipKey is the address an attempt counts against. An IPv6 client usually
// holds a whole /64 and can pick a fresh address in it for every request,
// so IPv6 attempts count against their /64; IPv4 ones against the address.
func ipKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}
