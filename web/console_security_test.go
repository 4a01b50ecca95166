package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

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
	t.Parallel()
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

// signInForwarded posts the sign-in form in a fresh browser through the
// trusted proxy (behindProxy), with X-Forwarded-For as given, and returns
// the status.
func (ts *testServer) signInForwarded(t *testing.T, xff, email, password string) int {
	t.Helper()
	return ts.signInForwardedPage(t, xff, email, password).Status
}

// signInForwardedPage is signInForwarded's answer in full.
func (ts *testServer) signInForwardedPage(t *testing.T, xff, email, password string) consolePage {
	t.Helper()
	b := ts.browser(t)
	b.get("/console/login")
	form := url.Values{"email": {email}, "password": {password}, csrfField: {csrfTokenFor(b.cookie(preSessionName))}}
	req, _ := http.NewRequest("POST", ts.URL+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", xff)
	return b.do(req)
}

// The per-address limit counts an IPv6 client by its /64: a host picks
// any address in it, so counting single addresses limits nothing.
func TestConsoleSignInLimitIPv6Prefix(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, behindProxy())
	ts.addUser(t, "bob@example.com", store.RoleViewer)
	signIn := func(addr, email, password string) int { return ts.signInForwarded(t, addr, email, password) }
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

// A route added to a signed-in group past guarded, so without a role, must
// be closed to all but admins, reading included: it may well be one that
// exports personal data.
func TestAccessUnruledRouteIsAdminOnly(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) {
		s.beforeServe = func(srv *Server) {
			g := srv.echo.Group("/api/v1", srv.requireToken, srv.authorize)
			g.GET("/no-rule-for-this", func(c echo.Context) error { return c.String(http.StatusOK, "secret") })
		}
	})
	for _, r := range store.Roles {
		u := ts.addUser(t, string(r)+"@example.com", r)
		_, raw, err := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: string(r), UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		resp := ts.callWithToken(t, raw, "GET", "/api/v1/no-rule-for-this", nil)
		if allowed := resp.Status == http.StatusOK; allowed != (r == store.RoleAdmin) {
			t.Errorf("as %s: %d, want only admins let through", r, resp.Status)
		}
	}
}

// The audit log repeats every object's data in its before/after values,
// including what only admins may read elsewhere (webhook URLs, which often
// carry credentials; subscribers' emails): reading it is for admins, in
// the console as in the API.
func TestConsoleAuditLogIsAdminOnly(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const hookURL = "https://hooks.example.com/services/T0/B0/s3cretpathtoken"
	if _, _, err := ts.store.CreateWebhook(t.Context(), store.WebhookInput{URL: hookURL}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "private.person@example.org"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range store.Roles {
		b := ts.signedIn(t, ts.addUser(t, string(r)+"@example.com", r))
		for _, path := range []string{"/console/audit", "/console/audit.csv"} {
			p := b.get(path)
			leaks := strings.Contains(p.Body, "s3cretpathtoken") || strings.Contains(p.Body, "private.person@example.org")
			if r == store.RoleAdmin {
				if p.Status != http.StatusOK || !leaks {
					t.Errorf("admin %s: %d, want the full log", path, p.Status)
				}
				continue
			}
			if p.Status != http.StatusForbidden || leaks {
				t.Errorf("%s %s: %d (shows admin-only data: %v), want 403", r, path, p.Status, leaks)
			}
		}
		nav := b.get("/console").Doc.Find(`nav a[href="/console/audit"]`).Length()
		if (nav > 0) != (r == store.RoleAdmin) {
			t.Errorf("%s: audit log in the navigation: %v", r, nav > 0)
		}
	}
}

// Revoking a token is audited with what changed, once.
func TestConsoleTokenRevokeAudited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	tok, _, err := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: "ci", UserID: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	b := ts.signedIn(t, admin)
	for range 2 {
		if p := b.post("/console/tokens/"+tok.ID+"/revoke", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", p.Status, p.Body)
		}
	}
	resp := ts.call(t, "GET", "/api/v1/audit-log?object_type=api_token&object_id="+tok.ID, nil)
	var entries []store.AuditEntry
	resp.decode(t, &entries)
	var revokes []store.AuditEntry
	for _, e := range entries {
		if e.Action == "token.revoke" {
			revokes = append(revokes, e)
		}
	}
	if len(revokes) != 1 {
		t.Fatalf("%d token.revoke entries, want 1 (revoking again changes nothing)", len(revokes))
	}
	e := revokes[0]
	var before, after struct {
		Name      string  `json:"name"`
		RevokedAt *string `json:"revoked_at"`
	}
	if len(e.Before) == 0 || len(e.After) == 0 {
		t.Fatalf("token.revoke before=%s after=%s, want both recorded", e.Before, e.After)
	}
	if err := json.Unmarshal(e.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.After, &after); err != nil {
		t.Fatal(err)
	}
	if before.Name != "ci" || before.RevokedAt != nil || after.RevokedAt == nil {
		t.Errorf("before %s, after %s: want the token, not revoked then revoked", e.Before, e.After)
	}
	if e.Actor.Type != "user" || e.Actor.ID != admin.ID {
		t.Errorf("actor %+v, want the admin", e.Actor)
	}
}
