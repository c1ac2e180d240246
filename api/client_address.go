package api

import (
	"bytes"
	"net/netip"

	"github.com/gofiber/fiber/v2"
)

// clientAddresses tells the address of the client behind a request, for
// rate limits: the direct peer, or, when the peer is a trusted reverse
// proxy, the address it forwarded in X-Forwarded-For.
type clientAddresses struct {
	trusted []netip.Prefix
}

// of returns the client address of the request. The peer's own
// X-Forwarded-For is believed only when the peer is a trusted proxy; then
// the entries are read from the right (each proxy appends the address it
// received the request from) and the first that is not a trusted proxy is
// the client. Entries to its left were written by the client and are never
// believed. An entry that is not an address ends the walk at the last
// trusted hop.
func (ca clientAddresses) of(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !ca.isTrusted(peer) {
		return peer
	}
	client := peer
	// A request may carry the header more than once; proxies append to
	// the last line.
	lines := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	for l := len(lines) - 1; l >= 0; l-- {
		entries := bytes.Split(lines[l], []byte(","))
		for i := len(entries) - 1; i >= 0; i-- {
			addr, ok := parseForwarded(entries[i])
			if !ok {
				return client
			}
			client = addr
			if !ca.isTrusted(addr) {
				return client
			}
		}
	}
	return client
}

func (ca clientAddresses) isTrusted(a netip.Addr) bool {
	for _, p := range ca.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseForwarded reads one X-Forwarded-For entry: an address, possibly
// with a port ("203.0.113.7:4711", "[2001:db8::1]:4711").
func parseForwarded(b []byte) (netip.Addr, bool) {
	s := string(bytes.TrimSpace(b))
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// throttleKey is the part of a client address that rate limits count:
// the whole IPv4 address, or the /64 network of an IPv6 address (one
// subscriber's share, which it can spread over at will).
func throttleKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
