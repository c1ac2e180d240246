package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/api"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address local (any 127.0.0.0/8 address is this host's).
// Its exchanges are checked against the contract on t.
func clientFrom(t testing.TB, local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return validating(t, &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}})
}

// The client address that rate limits count is the direct peer, unless
// the peer is a trusted proxy: then it is the rightmost X-Forwarded-For
// entry that is not itself a trusted proxy. X-Forwarded-For from anyone
// else, and what a client writes to the left of its proxy's entry, are
// ignored. Seen through the per-address limit (3 attempts) over real
// connections from two loopback addresses: 127.0.0.1 is the proxy,
// 127.0.0.2 is not.
func TestClientAddressBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) {
		c.AuthPerAddress = api.Limit{Burst: 3, Per: time.Hour}
		c.LoginAccountCeiling = api.Limit{} // the per-address limit alone
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	base := h.serve(t)
	proxy, direct := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	defer proxy.CloseIdleConnections()
	defer direct.CloseIdleConnections()
	login := func(c *http.Client, xff ...string) int {
		t.Helper()
		req, err := http.NewRequest("POST", base+"/v1/auth/login", strings.NewReader(`{"email":"nobody@example.org","password":"wrong password"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for _, v := range xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	steps := []struct {
		name   string
		client *http.Client
		xff    []string
		want   int
	}{
		// An untrusted peer's X-Forwarded-For is ignored: each spoofed
		// address still counts against 127.0.0.2.
		{"direct 1", direct, []string{"198.51.100.1"}, 401},
		{"direct 2", direct, []string{"198.51.100.2"}, 401},
		{"direct 3", direct, []string{"198.51.100.3"}, 401},
		{"direct spoofing a fourth address", direct, []string{"198.51.100.4"}, 429},
		// Through the proxy, the forwarded client is counted.
		{"client A 1", proxy, []string{"203.0.113.10"}, 401},
		{"client A 2, via an inner proxy", proxy, []string{"203.0.113.10, 10.1.2.3"}, 401},
		{"client A 3, header twice", proxy, []string{"192.0.2.99", "203.0.113.10"}, 401},
		{"client A 4", proxy, []string{"203.0.113.10"}, 429},
		// A prepends an address of its choice; the proxy appends A's.
		{"client A spoofing on the left", proxy, []string{"192.0.2.1, 203.0.113.10"}, 429},
		{"client A with a port", proxy, []string{"203.0.113.10:4711"}, 429},
		// Another client behind the proxy is not held back by A.
		{"client B", proxy, []string{"203.0.113.20"}, 401},
		// The proxy's own requests (no header) count against the proxy.
		{"proxy itself", proxy, nil, 401},
		// IPv6 clients count by /64 network: one subscriber's share.
		{"IPv6 client 1", proxy, []string{"2001:db8:1:2::1"}, 401},
		{"IPv6 client 2, same /64", proxy, []string{"2001:db8:1:2::2"}, 401},
		{"IPv6 client 3, same /64", proxy, []string{"2001:db8:1:2:aaaa::3"}, 401},
		{"IPv6 client 4, same /64", proxy, []string{"[2001:db8:1:2::4]:4711"}, 429},
		{"IPv6 client, another /64", proxy, []string{"2001:db8:1:3::1"}, 401},
	}
	for _, s := range steps {
		if got := login(s.client, s.xff...); got != s.want {
			t.Errorf("%s (X-Forwarded-For %q): %d, want %d", s.name, s.xff, got, s.want)
		}
	}
}
