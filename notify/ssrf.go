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

// blockedRanges are the special-purpose ranges netip's predicates miss.
var blockedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "'this network'"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"}, // also Alibaba's metadata 100.100.100.200
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"}, // may translate to any internal IPv4 address
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
}

// blockReason says why addr may not be called, "" when it may.
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
