package web

import (
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
