package notify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Guard keeps webhooks from reaching into the network Herald runs in: a
// registered URL could otherwise make Herald POST to its own admin ports,
// the cloud metadata service or an internal host. It checks a URL's
// addresses at registration, and again the address actually dialled, so a
// DNS answer that changes in between (DNS rebinding) does not get through.
type Guard struct {
	allowNets  []netip.Prefix
	allowHosts map[string]bool
	// lookup resolves names at registration; tests replace it.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// BlockedError is a webhook target Herald refuses to call.
type BlockedError struct {
	Host   string
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	if e.Addr.IsValid() && e.Addr.String() != e.Host {
		return fmt.Sprintf("%s resolves to %s, a %s address; webhooks may not call it unless an operator allows it (HERALD_WEBHOOK_ALLOW)", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("%s is a %s address; webhooks may not call it unless an operator allows it (HERALD_WEBHOOK_ALLOW)", e.Host, e.Reason)
}

// NewGuard parses an allow list: comma-separated host names, IP addresses
// or CIDR prefixes that webhooks may reach although they are internal.
func NewGuard(allow string) (*Guard, error) {
	g := &Guard{allowHosts: map[string]bool{}, lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}}
	for _, item := range strings.Split(allow, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case item == "":
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("webhook allow list: %q is not a CIDR prefix: %w", item, err)
			}
			g.allowNets = append(g.allowNets, p.Masked())
		default:
			if a, err := netip.ParseAddr(strings.Trim(item, "[]")); err == nil {
				g.allowNets = append(g.allowNets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			g.allowHosts[item] = true
		}
	}
	return g, nil
}

// blockedRanges are the special-purpose ranges netip's predicates miss,
// from IANA's IPv4 and IPv6 special-purpose address registries: every
// range that is not globally reachable, or that carries an address of
// another network which cannot be checked (tunnels, deprecated forms).
var blockedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "'this network'"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"}, // also Alibaba's metadata 100.100.100.200
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay (deprecated)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	// IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d)
	// forms are deprecated or for translators only: nothing public uses
	// them, and a stack may still route them to the IPv4 address inside.
	// (IPv4-mapped ::ffff:a.b.c.d is unmapped and checked as IPv4.)
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "IPv4-translated IPv6"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"}, // tunnels to an IPv4 address hidden in the rest
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking"},
	{netip.MustParsePrefix("2001:10::/28"), "ORCHID"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("5f00::/16"), "segment routing (SRv6)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
}

// embeddingRanges are IPv6 ranges that reach an IPv4 address written into
// the IPv6 one: such an address is as internal as the one inside it.
var embeddingRanges = []struct {
	prefix netip.Prefix
	name   string
	at     int // the byte where the IPv4 address starts
}{
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64", 12},
	{netip.MustParsePrefix("2002::/16"), "6to4", 2},
}

// blockReason says why addr may not be called, "" when it may. It is the
// one check, at registration (CheckURL) and at dial (DialContext).
func blockReason(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr == netip.MustParseAddr("169.254.169.254"):
		return "cloud metadata"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		if addr.Is6() {
			return "unique local"
		}
		return "private"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "link-local"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	for _, r := range embeddingRanges {
		if r.prefix.Contains(addr) {
			b := addr.As16()
			inner := netip.AddrFrom4([4]byte(b[r.at : r.at+4]))
			if reason := blockReason(inner); reason != "" {
				return r.name + " form of a " + reason
			}
		}
	}
	return ""
}

func (g *Guard) allowedAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range g.allowNets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (g *Guard) allowedHost(host string) bool {
	return g.allowHosts[strings.ToLower(strings.TrimSuffix(host, "."))]
}

// CheckURL refuses a URL whose host is, or resolves to, an address webhooks
// may not call. It is the registration-time check; DialContext checks again.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse %q: %w", raw, err)
	}
	host := u.Hostname()
	if g.allowedHost(host) {
		return nil
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = g.lookup(ctx, host)
		if err != nil {
			return &BlockedError{Host: host, Reason: "unresolvable"}
		}
	}
	// Every address must pass: a name with one public and one internal
	// address would otherwise be let through half the time.
	for _, a := range addrs {
		if g.allowedAddr(a) {
			continue
		}
		if reason := blockReason(a); reason != "" {
			return &BlockedError{Host: host, Addr: a.Unmap(), Reason: reason}
		}
	}
	return nil
}

// DialContext dials for the webhook client. Unless the host is allowed by
// name, the connection is refused in the dialer's Control hook when the
// address it is about to connect to is internal: that is the address that
// counts, whatever DNS said at registration.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !g.allowedHost(host) {
		d.Control = func(_, addr string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return fmt.Errorf("webhook guard: %w", err)
			}
			if g.allowedAddr(ap.Addr()) {
				return nil
			}
			if reason := blockReason(ap.Addr()); reason != "" {
				return &BlockedError{Host: host, Addr: ap.Addr().Unmap(), Reason: reason}
			}
			return nil
		}
	}
	return d.DialContext(ctx, network, address)
}
