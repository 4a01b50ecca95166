package web

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ResponseWriteTimeout bounds how long an ordinary response may take to
// leave, from the end of its request: a client that never reads (or reads
// a byte now and then) is cut off instead of holding its connection and a
// goroutine forever. Live streams take their connection over and set their
// own deadline on every write (live_stream.go).
const ResponseWriteTimeout = 60 * time.Second

// NewHTTPServer is the http.Server Herald runs behind, shared by `herald
// serve`, the benchmarks and tests so that all measure the same thing. Serve
// it on Server.Listener(ln) (or CoalescingListener(ln)).
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      ResponseWriteTimeout,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(webLogger(logger).Handler(), slog.LevelWarn),
		ConnContext:       connContext,
	}
}

// DefaultMaxConnsPerIP is how many ordinary connections herald serve lets
// one client address hold at once. A browser opens about six per site, so
// this leaves room for an office behind one address, while one client
// cannot hold thousands of sockets open. Live streams are not counted here
// once they begin: MaxStreamsPerIP caps them.
const DefaultMaxConnsPerIP = 256

// CheckMaxConnsPerIP refuses a negative cap, as CheckMaxStreamsPerIP does.
func CheckMaxConnsPerIP(n int) error {
	if n < 0 {
		return fmt.Errorf("%d is not a number of connections; use 0 for no cap", n)
	}
	return nil
}

// Listener wraps ln as `herald serve` serves it: single-write responses
// (CoalescingListener) and the cap on connections per client address.
func (s *Server) Listener(ln net.Listener) net.Listener {
	if s.cfg.MaxConnsPerIP > 0 {
		ln = &connLimitListener{Listener: ln, max: s.cfg.MaxConnsPerIP, exempt: s.cfg.TrustedProxies, open: map[string]int{}, log: s.log}
	}
	return CoalescingListener(ln)
}

// connLimitListener counts open connections by client address (addressKey,
// so an IPv6 /64 is one client) and turns away those over the cap at once.
// The proxies Herald trusts are exempt: every client behind them shares
// their address, and their clients are told apart per request instead.
type connLimitListener struct {
	net.Listener
	max    int
	exempt []netip.Prefix
	log    *slog.Logger

	mu   sync.Mutex
	open map[string]int
}

// tooManyConns is the whole answer to a connection over the cap, sent
// before its request is read: the client learns why, and nothing of it is
// parsed.
const tooManyConns = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 57\r\n\r\ntoo many connections from your address; try again shortly\n"

func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, counted := l.key(c)
		if !counted {
			return c, nil
		}
		l.mu.Lock()
		full := l.open[key] >= l.max
		if !full {
			l.open[key]++
		}
		l.mu.Unlock()
		if !full {
			return &countedConn{Conn: c, l: l, key: key}, nil
		}
		l.log.Warn("connection refused: too many from one address", "remote", key, "max", l.max)
		go func() {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(tooManyConns))
			_ = c.Close()
		}()
	}
}

// key is the client c counts against, and whether it is counted at all.
func (l *connLimitListener) key(c net.Conn) (string, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return "", false // not TCP/IP (a test's pipe): nothing to count by
	}
	addr := ap.Addr().Unmap()
	for _, p := range l.exempt {
		if p.Contains(addr) {
			return "", false
		}
	}
	return addressKey(addr.String()), true
}

func (l *connLimitListener) release(key string) {
	l.mu.Lock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
	l.mu.Unlock()
}

// countedConn gives its place back once, when it closes or becomes a live
// stream.
type countedConn struct {
	net.Conn
	l    *connLimitListener
	key  string
	once sync.Once
}

func (c *countedConn) release() { c.once.Do(func() { c.l.release(c.key) }) }

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// uncountConn takes a connection a live stream has taken over out of the
// count of ordinary connections: the cap on streams counts it from now on.
func uncountConn(c net.Conn) {
	for {
		switch v := c.(type) {
		case *countedConn:
			v.release()
			return
		case *coalescingConn:
			c = v.Conn
		default:
			return
		}
	}
}

// ParseTrustedProxies reads --trust-proxy: a comma-separated list of
// addresses and CIDR ranges of the proxies whose X-Forwarded-For Herald
// believes. "" trusts none.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			if p.Addr().Zone() != "" {
				return nil, fmt.Errorf("%q: give the range without a zone", item)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			// Trusting a range that wide trusts clients, who then choose
			// their own address and pass every per-address limit.
			if minBits := p.Addr().BitLen() / 4; p.Bits() < minBits {
				return nil, fmt.Errorf("%q is too wide to be proxies: every client in it could choose its own address (at most /%d)", item, minBits)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not an IP address or CIDR range", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
