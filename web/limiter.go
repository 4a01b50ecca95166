package web

import (
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Every per-address limit (sign-in, the subscribe form, live streams) counts
// a client by clientKey, so that no limit can be passed by a route another
// one closes. Counts live in memory: per process, reset by a restart;
// replicas would share them through the database.

// clientKey is the address a request counts against. An IPv6 client usually
// holds a whole /64 and can pick a fresh address in it for every request,
// so IPv6 clients count by their /64; IPv4 ones by the address.
func clientKey(c echo.Context) string { return addressKey(c.RealIP()) }

func addressKey(ip string) string {
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

// maxTracked bounds each window's keys: an attacker cycling through made-up
// emails or addresses must not grow memory without end.
const maxTracked = 10000

// window counts attempts per key over a sliding span of time: at most limit
// in any span. It has no lock of its own; the limiter that owns it locks.
type window struct {
	span  time.Duration
	limit int
	hits  map[string][]time.Time // per key, oldest first
}

func newWindow(span time.Duration, limit int) *window {
	return &window{span: span, limit: limit, hits: map[string][]time.Time{}}
}

// recent drops key's attempts older than the span and returns the rest.
func (w *window) recent(key string, now time.Time) []time.Time {
	list := w.hits[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= w.span {
		i++
	}
	if i == len(list) {
		delete(w.hits, key)
		return nil
	}
	list = list[i:]
	w.hits[key] = list
	return list
}

func (w *window) full(key string, now time.Time) bool { return len(w.recent(key, now)) >= w.limit }

func (w *window) count(key string, now time.Time) {
	if len(w.hits) >= maxTracked {
		w.sweep(now)
	}
	w.hits[key] = append(w.recent(key, now), now)
}

// refund takes back key's latest attempt.
func (w *window) refund(key string) {
	switch list := w.hits[key]; len(list) {
	case 0:
	case 1:
		delete(w.hits, key)
	default:
		w.hits[key] = list[:len(list)-1]
	}
}

func (w *window) forget(key string) { delete(w.hits, key) }

// sweep drops expired attempts; if the window still tracks too many keys,
// half of them go, which at worst forgets some attempts rather than running
// out of memory.
func (w *window) sweep(now time.Time) {
	for k := range w.hits {
		w.recent(k, now)
	}
	if len(w.hits) < maxTracked {
		return
	}
	n := 0
	for k := range w.hits {
		delete(w.hits, k)
		if n++; n >= maxTracked/2 {
			break
		}
	}
}

// limiter lets an attempt through only while every one of its windows has
// room for the attempt's key there, and then counts it in all of them.
// Checking and counting under one lock is what makes a limit hold against a
// burst: were they separate, a hundred concurrent attempts would all pass
// the check before the first was counted.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	windows []*window
}

func newLimiter(now func() time.Time, windows ...*window) *limiter {
	return &limiter{now: now, windows: windows}
}

// allow reports whether an attempt keyed keys[i] in the i-th window may go
// ahead and, if so, counts it. A refused attempt is not counted.
func (l *limiter) allow(keys ...string) bool {
	if len(keys) != len(l.windows) {
		panic("web: limiter.allow needs one key per window")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for i, w := range l.windows {
		if w.full(keys[i], now) {
			return false
		}
	}
	for i, w := range l.windows {
		w.count(keys[i], now)
	}
	return true
}

// adjust runs f with the windows locked, to take back what allow counted.
func (l *limiter) adjust(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}
