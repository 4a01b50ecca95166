package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// behindProxy trusts the test's client (127.0.0.1) as a proxy, so that a
// test can speak from any client address through X-Forwarded-For.
func behindProxy() testOption { return func(s *testSetup) { s.cfg.TrustedProxies = loopbackProxy } }

// subscribeFrom posts the subscribe form as the client at addr.
func (ts *testServer) subscribeFrom(t *testing.T, addr, email string) int {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+"/subscribe", strings.NewReader(url.Values{"email": {email}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// An IPv6 client picks any address in its /64, so the subscribe form
// counts the /64, as sign-in does.
func TestSubscribeLimitCountsIPv6Prefix(t *testing.T) {
	ts := newTestServer(t, withSubscriptions(), behindProxy())
	for i := range 5 {
		if st := ts.subscribeFrom(t, fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("user%d@example.com", i)); st != http.StatusOK {
			t.Fatalf("post %d: %d, want 200", i+1, st)
		}
	}
	if st := ts.subscribeFrom(t, "2001:db8:1:2:ffff::1", "late@example.com"); st != http.StatusTooManyRequests {
		t.Errorf("a sixth post from another address in the same /64: %d, want 429", st)
	}
	if st := ts.subscribeFrom(t, "2001:db8:1:3::1", "neighbour@example.com"); st != http.StatusOK {
		t.Errorf("a post from another /64: %d, want 200", st)
	}
	if st := ts.subscribeFrom(t, "192.0.2.7", "v4@example.com"); st != http.StatusOK {
		t.Errorf("a post from an IPv4 address: %d, want 200", st)
	}
	if n, _ := ts.store.CountSubscribers(t.Context(), ""); n != 7 {
		t.Errorf("%d subscribers, want the 7 within the limits", n)
	}
}

// The cap on live streams per address counts an IPv6 client by its /64 too.
func TestLiveStreamCapCountsIPv6Prefix(t *testing.T) {
	ts := newTestServer(t, behindProxy(), func(s *testSetup) { s.cfg.MaxStreamsPerIP = 2 })
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	for _, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if s := openStream(t, ts, "", from(addr)); s.resp.StatusCode != http.StatusOK {
			t.Fatalf("stream from %s: %d, want 200", addr, s.resp.StatusCode)
		}
	}
	if s := openStream(t, ts, "", from("2001:db8:1:2:abcd::3")); s.resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a third stream from another address in the same /64: %d, want 429", s.resp.StatusCode)
	}
	if s := openStream(t, ts, "", from("2001:db8:1:3::1")); s.resp.StatusCode != http.StatusOK {
		t.Errorf("a stream from another /64: %d, want 200", s.resp.StatusCode)
	}
}

func TestAddressKey(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"}, // an IPv4 client seen through a dual-stack socket
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		if got := addressKey(tt.addr); got != tt.want {
			t.Errorf("addressKey(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// Behind a trusted proxy that appends to X-Forwarded-For, a client in a
// private range must not choose its own address by sending the header
// itself: only the named proxy is trusted, so the client counts as the
// address the proxy saw, and the sign-in limit holds.
func TestSignInLimitIgnoresSpoofedForwardedFor(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, behindProxy())
	ts.addUser(t, "bob@example.com", store.RoleViewer)
	// The proxy (this test, at 127.0.0.1) appends the client it saw,
	// 10.1.2.3, after whatever the client claimed.
	signIn := func(claimed, email, password string) int {
		return ts.signInForwarded(t, claimed+", 10.1.2.3", email, password)
	}
	for i := range signInAddressLimit {
		if st := signIn(fmt.Sprintf("203.0.113.%d", i+1), fmt.Sprintf("user%d@example.com", i), "guess"); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if st := signIn("198.51.100.7", "bob@example.com", testPassword); st != http.StatusUnauthorized {
		t.Errorf("after %d failures from 10.1.2.3, a sign-in claiming yet another address: %d, want refused", signInAddressLimit, st)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.5, 10.0.1.7/24,::1,2001:db8::/32 ,::ffff:10.0.0.0/104")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.5/32", "10.0.1.0/24", "::1/128", "2001:db8::/32", "10.0.0.0/8"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"10.0.0.300", "proxy.internal", "10.0.0.0/33", "fe80::1%eth0", "0.0.0.0/0", "::/0", "10.0.0.0/7", "2000::/3"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
