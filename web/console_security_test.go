package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/herald-status/herald/store"
)

// countingHandler counts log records by message.
type countingHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// A burst of concurrent guesses must not get more password checks than
// the per-account limit allows: the limit has to hold when the guesses
// arrive together, not only one after another.
func TestConsoleSignInLimitHoldsAgainstBurst(t *testing.T) {
	logs := &countingHandler{n: map[string]int{}}
	ts := newTestServer(t, func(s *testSetup) { s.logHandler = logs })
	ts.addUser(t, "ann@example.com", store.RoleAdmin)

	const burst = 30
	browsers := make([]*browser, burst)
	for i := range browsers {
		browsers[i] = ts.browser(t)
		browsers[i].get("/console/login") // the pre-session cookie
	}
	var wg sync.WaitGroup
	var refused atomic.Int32
	start := make(chan struct{})
	for i, b := range browsers {
		wg.Go(func() {
			<-start
			form := url.Values{"email": {"ann@example.com"}, "password": {fmt.Sprintf("guess number %d", i)},
				csrfField: {csrfTokenFor(b.cookie(preSessionName))}}
			req, _ := http.NewRequest("POST", ts.URL+"/console/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				refused.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if refused.Load() != burst {
		t.Fatalf("%d of %d wrong guesses refused", refused.Load(), burst)
	}
	if checked := logs.count("sign-in failed"); checked > 5 {
		t.Errorf("%d of %d concurrent guesses had their password checked; the per-account limit is 5", checked, burst)
	}
}

// The per-address limit counts an IPv6 client by its /64: a host picks
// any address in it, so counting single addresses limits nothing.
func TestConsoleSignInLimitIPv6Prefix(t *testing.T) {
	ts := newTestServer(t, func(s *testSetup) { s.cfg.TrustProxy = true })
	ts.addUser(t, "bob@example.com", store.RoleViewer)
	signIn := func(addr, email, password string) int {
		b := ts.browser(t)
		b.get("/console/login")
		form := url.Values{"email": {email}, "password": {password}, csrfField: {csrfTokenFor(b.cookie(preSessionName))}}
		req, _ := http.NewRequest("POST", ts.URL+"/console/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", addr)
		return b.do(req).Status
	}
	for i := range 20 {
		if st := signIn(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("user%d@example.com", i), "guess"); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if st := signIn("2001:db8:1:2::ffff", "bob@example.com", testPassword); st != http.StatusUnauthorized {
		t.Errorf("after 20 failures from one /64, a sign-in from another address in it: %d, want refused", st)
	}
	if st := signIn("2001:db8:1:3::1", "bob@example.com", testPassword); st != http.StatusSeeOther {
		t.Errorf("a sign-in from another /64: %d, want signed in", st)
	}
}
