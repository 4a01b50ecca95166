package web

import (
	"net"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// Every per-address limit (sign-in, the subscribe form, live streams) counts
// a client by clientKey, so that no limit can be passed by a route another
// one closes. Attempts are counted in the database (store.Attempt), so that
// every replica counts the same ones; open live streams are counted by the
// replica that holds them.

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

// trustOnly is echo's trust options for exactly the proxies named: echo
// trusts loopback, link-local and private ranges unless told otherwise,
// which would let a client in such a range behind an appending proxy put
// any address it liked in X-Forwarded-For.
func trustOnly(proxies []netip.Prefix) []echo.TrustOption {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return opts
}
