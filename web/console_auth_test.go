package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

func TestConsoleSignInRotatesSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser(t, "ann@example.com", store.RoleCommander)
	b := ts.browser(t)

	// An id planted before sign-in (or left from an earlier session) must
	// not survive it.
	old, err := ts.store.CreateSession(t.Context(), store.SessionInput{UserID: ts.addUser(t, "old@example.com", store.RoleViewer).ID})
	if err != nil {
		t.Fatal(err)
	}
	b.setCookie("herald_session", old)
	p := b.signIn("ann@example.com", testPassword)
	if p.Status != http.StatusSeeOther || location(p) != "/console" {
		t.Fatalf("sign-in: %d to %q, want 303 to /console\n%s", p.Status, location(p), p.Body)
	}
	fresh := b.cookie("herald_session")
	if fresh == "" || fresh == old {
		t.Fatalf("session id after sign-in = %q, want a new one (was %q)", fresh, old)
	}
	if _, _, err := ts.store.SessionUser(t.Context(), old, store.SessionPolicy{}); err == nil {
		t.Error("the session id held before sign-in still works")
	}
	var set string
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "herald_session=") {
			set = c
		}
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, attr) {
			t.Errorf("session cookie %q lacks %s", set, attr)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("session cookie %q is Secure on an http base URL", set)
	}
	if d := b.get("/console"); d.Status != http.StatusOK || !strings.Contains(d.Body, "ann@example.com") {
		t.Fatalf("dashboard after sign-in: %d", d.Status)
	}
	// Sign out ends the session on the server, not only in the browser.
	if p := b.post("/console/logout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.Status)
	}
	if _, _, err := ts.store.SessionUser(t.Context(), fresh, store.SessionPolicy{}); err == nil {
		t.Error("the session still works after signing out")
	}
}

func TestConsoleSecureCookieOverHTTPS(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) { s.cfg.BaseURL = "https://status.example.test" })
	ts.addUser(t, "ann@example.com", store.RoleViewer)
	b := ts.browser(t)
	b.get("/console/login")
	p := b.post("/console/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}})
	var set string
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-herald_session=") {
			set = c
		}
	}
	if !strings.Contains(set, "Secure") || !strings.Contains(set, "HttpOnly") {
		t.Errorf("session cookie over https = %q, want __Host- prefixed, Secure and HttpOnly", set)
	}
}

func TestConsoleSignInFailsGenerically(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser(t, "ann@example.com", store.RoleAdmin)
	disabled := ts.addUser(t, "gone@example.com", store.RoleViewer)
	if _, err := ts.store.UpdateUser(t.Context(), disabled.ID, store.UserPatch{Disabled: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	cases := map[string][2]string{
		"wrong password": {"ann@example.com", "not the password"},
		"unknown email":  {"nobody@example.com", testPassword},
		"disabled user":  {"gone@example.com", testPassword},
		"empty":          {"", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := ts.browser(t)
			p := b.signIn(c[0], c[1])
			if p.Status != http.StatusUnauthorized || loginError(p) != signInFailed {
				t.Errorf("status %d, message %q; want 401 and the generic message", p.Status, loginError(p))
			}
			if b.cookie("herald_session") != "" {
				t.Error("a failed sign-in set a session cookie")
			}
		})
	}
}

func TestConsoleSignInRateLimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser(t, "ann@example.com", store.RoleAdmin)
	b := ts.browser(t)
	for range 5 {
		b.signIn("ann@example.com", "guess")
	}
	// Now even the right password is refused, with the same message.
	p := b.signIn("ANN@example.com", testPassword)
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, signInFailed) {
		t.Fatalf("sign-in after 5 failures: %d; want the generic refusal", p.Status)
	}
	// Another account from the same address is still allowed (per-account
	// limit), until the per-address limit is reached.
	ts.addUser(t, "bob@example.com", store.RoleViewer)
	if p := ts.browser(t).signIn("bob@example.com", testPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("another account: %d, want signed in", p.Status)
	}
	for i := range 15 {
		ts.browser(t).signIn("nobody"+string(rune('a'+i))+"@example.com", "guess")
	}
	if p := ts.browser(t).signIn("bob@example.com", testPassword); p.Status != http.StatusUnauthorized {
		t.Fatalf("after 20 failures from one address: %d, want refused", p.Status)
	}
}

// The per-account limit holds back guesses, not the account's owner: once
// one address has spent the account's five failures, the right password
// from an address that has not failed still signs in. Each new address
// gets one try while the account is locked; the guesser's own address none.
// A refused attempt answers in the same words as a tried one, without
// running a password check (anyone could burn the CPU with refusals).
func TestSignInLimitSparesTheOwner(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, behindProxy())
	ts.addUser(t, "admin@example.com", store.RoleAdmin)
	const guesser, owner = "203.0.113.66", "198.51.100.10"
	for i := range signInAccountLimit {
		if st := ts.signInForwarded(t, guesser, "admin@example.com", fmt.Sprintf("guess %d", i)); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	checks := ts.store.PasswordChecks()
	if p := ts.signInForwardedPage(t, guesser, "admin@example.com", testPassword); p.Status != http.StatusUnauthorized || loginError(p) != signInFailed {
		t.Errorf("the right password from the guesser's address while the account is locked: %d %q, want refused with %q", p.Status, loginError(p), signInFailed)
	}
	if got := ts.store.PasswordChecks() - checks; got != 0 {
		t.Errorf("a refused sign-in ran %d password checks, want none", got)
	}
	// Another address guessing gets one try, then none.
	if st := ts.signInForwarded(t, "192.0.2.77", "admin@example.com", "another guess"); st != http.StatusUnauthorized {
		t.Errorf("a wrong guess from a fresh address: %d", st)
	}
	if st := ts.signInForwarded(t, "192.0.2.77", "admin@example.com", testPassword); st != http.StatusUnauthorized {
		t.Errorf("a second try from an address that failed while the account is locked: %d, want refused", st)
	}
	if st := ts.signInForwarded(t, owner, "admin@example.com", testPassword); st != http.StatusSeeOther {
		t.Fatalf("the owner's right password from an address that has not failed: %d, want signed in", st)
	}
	// Their sign-in cleared the account's failures.
	if st := ts.signInForwarded(t, guesser, "admin@example.com", "guess again"); st != http.StatusUnauthorized {
		t.Errorf("a guess after the owner signed in: %d", st)
	}
}

func TestConsoleCSRF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	b := ts.signedIn(t, u)
	other := ts.signedIn(t, ts.addUser(t, "eve@example.com", store.RoleAdmin))
	form := url.Values{"name": {"Sneaky"}, "body": {"Forged."}, "status": {"investigating"}}
	for name, token := range map[string]string{"missing": "", "another session's": other.csrf(), "garbage": "abc"} {
		t.Run(name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set(csrfField, token)
			}
			p := b.postRaw("/console/incidents", f)
			if p.Status != http.StatusForbidden {
				t.Errorf("status %d, want 403", p.Status)
			}
			if list, _ := ts.store.ListIncidents(t.Context(), store.IncidentFilter{}); len(list) != 0 {
				t.Errorf("an incident was created without a valid CSRF token: %+v", list)
			}
		})
	}
	// The sign-in form is protected too (login CSRF).
	anon := ts.browser(t)
	anon.get("/console/login")
	if p := anon.postRaw("/console/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}); p.Status != http.StatusForbidden || anon.cookie("herald_session") != "" {
		t.Errorf("sign-in without the token: %d, want 403 and no session", p.Status)
	}
	// With the token it works, and the token changes at sign-in.
	before := anon.csrf()
	if p := anon.signIn("ann@example.com", testPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in with the token: %d", p.Status)
	}
	if anon.csrf() == before {
		t.Error("the CSRF token did not change at sign-in")
	}
}

func TestConsoleExpiredAndRevokedSessions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) { s.cfg.SessionIdle = time.Hour; s.cfg.SessionMax = 4 * time.Hour })
	u := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	refused := func(t *testing.T, b *browser) {
		t.Helper()
		p := b.get("/console/incidents")
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/console/login") {
			t.Errorf("GET /console/incidents: %d to %q, want a redirect to sign in", p.Status, location(p))
		}
	}
	now := time.Now()
	clock := func(d time.Duration) { ts.store.SetClock(func() time.Time { return now.Add(d) }) }
	defer ts.store.SetClock(time.Now)

	t.Run("idle", func(t *testing.T) {
		clock(0)
		b := ts.signedIn(t, u)
		clock(61 * time.Minute)
		refused(t, b)
	})
	t.Run("absolute", func(t *testing.T) {
		clock(0)
		b := ts.signedIn(t, u)
		for d := 50 * time.Minute; d < 4*time.Hour; d += 50 * time.Minute {
			clock(d)
			if p := b.get("/console"); p.Status != http.StatusOK {
				t.Fatalf("active session refused after %v: %d", d, p.Status)
			}
		}
		clock(4*time.Hour + time.Minute)
		refused(t, b)
	})
	t.Run("signed out everywhere", func(t *testing.T) {
		clock(0)
		b1, b2 := ts.signedIn(t, u), ts.signedIn(t, u)
		if p := b1.post("/console/account/sign-out-everywhere", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("sign out everywhere: %d", p.Status)
		}
		refused(t, b1)
		refused(t, b2)
	})
	t.Run("user disabled", func(t *testing.T) {
		clock(0)
		v := ts.addUser(t, "vic@example.com", store.RoleViewer)
		b := ts.signedIn(t, v)
		admin := ts.signedIn(t, u)
		if p := admin.post("/console/users/"+v.ID, url.Values{"name": {""}, "role": {"viewer"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("disable user: %d %s", p.Status, p.Body)
		}
		refused(t, b)
	})
	t.Run("made-up id", func(t *testing.T) {
		b := ts.browser(t)
		b.setCookie("herald_session", "made-up-session-id")
		refused(t, b)
	})
}

func TestConsoleOneTimePasswordMustBeChanged(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u, pw, err := ts.store.CreateUser(t.Context(), store.UserInput{Email: "new@example.com", Role: store.RoleCommander})
	if err != nil {
		t.Fatal(err)
	}
	b := ts.browser(t)
	if p := b.signIn(u.Email, pw); location(p) != "/console/account?msg=change-password" {
		t.Fatalf("sign-in with a one-time password goes to %q", location(p))
	}
	if p := b.get("/console/incidents"); location(p) != "/console/account?msg=change-password" {
		t.Errorf("other pages before the change: %d to %q", p.Status, location(p))
	}
	p := b.post("/console/account/password", url.Values{"current_password": {pw}, "new_password": {"short"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Doc.Find(".field-error").Text(), "at least 12") {
		t.Errorf("short password: %d %q", p.Status, p.Doc.Find(".field-error").Text())
	}
	if p := b.post("/console/account/password", url.Values{"current_password": {pw}, "new_password": {testPassword}}); p.Status != http.StatusSeeOther {
		t.Fatalf("change password: %d %s", p.Status, p.Body)
	}
	if p := b.get("/console/incidents"); p.Status != http.StatusOK {
		t.Errorf("after the change: %d", p.Status)
	}
}

func ptrTo[T any](v T) *T { return &v }

// Fresh addresses get a try each at a locked account, but only so many:
// past them the account is locked for everyone until the window passes,
// so a guesser with many addresses (an IPv6 /48 is 65,536 of them) gets
// signInSpareLimit more guesses, not one per address.
func TestSignInLimitSparesOnlySoManyAddresses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, behindProxy())
	ts.addUser(t, "admin@example.com", store.RoleAdmin)
	for i := range signInAccountLimit {
		if st := ts.signInForwarded(t, "203.0.113.66", "admin@example.com", fmt.Sprintf("guess %d", i)); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	for i := range signInSpareLimit {
		if st := ts.signInForwarded(t, fmt.Sprintf("2001:db8:%x::1", i), "admin@example.com", "a guess"); st != http.StatusUnauthorized {
			t.Fatalf("fresh address %d: %d", i, st)
		}
	}
	if st := ts.signInForwarded(t, "2001:db8:ffff::1", "admin@example.com", testPassword); st != http.StatusUnauthorized {
		t.Errorf("the right password from one more fresh address, after %d spares: %d, want refused", signInSpareLimit, st)
	}
}

// loginError is the message a sign-in page shows.
func loginError(p consolePage) string { return strings.TrimSpace(p.Doc.Find("#login-error").Text()) }
