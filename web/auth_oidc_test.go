package web

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
)

// newestAudit is the newest audit entry with action, and its "after".
func newestAudit(t *testing.T, st *store.Store, action string) (store.AuditEntry, map[string]any) {
	t.Helper()
	all, err := st.QueryAuditLog(t.Context(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all { // newest first
		if e.Action == action {
			after := map[string]any{}
			_ = json.Unmarshal(e.After, &after)
			return e, after
		}
	}
	t.Fatalf("no %s in the audit log", action)
	return store.AuditEntry{}, nil
}

func countAudit(t *testing.T, st *store.Store, action string) int {
	t.Helper()
	all, err := st.QueryAuditLog(t.Context(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range all {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestSSOSignInThroughZitadelOP(t *testing.T) {
	r := newZitadelRig(t)
	r.users.add("ana", "ana@example.com", true, "staff", "sre")
	p := newPerson(t)
	resp, doc := r.signInAtOP(p, "ana")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/console" {
		t.Fatalf("landed at %s (%d): %s", resp.Request.URL, resp.StatusCode, text(doc.Find("main")))
	}
	u, err := r.ts.store.GetUserByEmail(t.Context(), "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// The highest role any rule gives, and no Herald password.
	if u.Role != store.RoleCommander || !u.SSO || u.LocalPassword || u.MustChangePassword {
		t.Fatalf("user %+v", u)
	}
	if _, after := newestAudit(t, r.ts.store, "user.signin"); after["method"] != "sso" {
		t.Fatalf("sign-in audited as %v", after)
	}
	if e, after := newestAudit(t, r.ts.store, "user.create"); after["sso"] != true || e.Actor.Name != "ana@example.com" {
		t.Fatalf("creation audited as %+v by %+v", after, e.Actor)
	}
	_, acct := p.open("GET", r.ts.URL+"/console/account", nil)
	if how := text(acct.Find("#how-heading").Parent()); !strings.Contains(how, "You sign in with Example ID") || !strings.Contains(how, "does not ask for a code") {
		t.Fatalf("account page says %q", how)
	}
	if acct.Find(`form[action="/console/account/password"]`).Length() != 0 {
		t.Fatal("an SSO user without a password is offered to change it")
	}
	admin := r.ts.addUser(t, "root@example.com", store.RoleAdmin)
	users := r.ts.signedIn(t, admin).get("/console/users")
	marked := 0
	users.Doc.Find("tbody tr").Each(func(_ int, row *goquery.Selection) {
		sso := strings.Contains(text(row), "Single sign-on")
		if mail := text(row.Find("td").First()); sso != (mail == "ana@example.com") {
			t.Errorf("Users page: %s marked single sign-on: %v", mail, sso)
		}
		if sso {
			marked++
		}
	})
	if marked != 1 {
		t.Errorf("Users page marks %d users single sign-on, want ana alone", marked)
	}

	t.Run("a replayed callback signs nobody in", func(t *testing.T) {
		var callback *url.URL
		for _, v := range p.visited {
			if v.Path == "/console/login/sso/callback" {
				callback = v
			}
		}
		if callback == nil {
			t.Fatal("no callback seen")
		}
		sessions := countSessions(t, r.ts.store, u.ID)
		thief := newPerson(t)
		resp, doc := thief.open("GET", callback.String(), nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(text(doc.Find("#login-error")), "(bad state)") {
			t.Fatalf("replay: %d %q", resp.StatusCode, text(doc.Find("#login-error")))
		}
		// The same browser again: the pending login is used up.
		resp, _ = p.open("GET", callback.String(), nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("replay in the same browser: %d", resp.StatusCode)
		}
		if n := countSessions(t, r.ts.store, u.ID); n != sessions {
			t.Fatalf("sessions %d → %d", sessions, n)
		}
	})

	t.Run("a code used once does not sign in another sign-in", func(t *testing.T) {
		var code string
		for _, v := range p.visited {
			if v.Path == "/console/login/sso/callback" {
				code = v.Query().Get("code")
			}
		}
		// Someone begins their own sign-in and brings ana's used code
		// with their own state: the provider refuses the code (used,
		// and not for their PKCE verifier).
		other := newPerson(t)
		other.open("GET", r.ts.URL+"/console/login/sso", nil)
		state := ""
		for _, v := range other.visited {
			if s := v.Query().Get("state"); s != "" && strings.HasPrefix(v.String(), r.issuer) {
				state = s
			}
		}
		if state == "" || code == "" {
			t.Fatalf("state %q, code %q", state, code)
		}
		sessions := countSessions(t, r.ts.store, u.ID)
		resp, doc := other.open("GET", r.ts.URL+"/console/login/sso/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(text(doc.Find("#login-error")), "(code refused)") {
			t.Fatalf("used code: %d %q", resp.StatusCode, text(doc.Find("#login-error")))
		}
		if n := countSessions(t, r.ts.store, u.ID); n != sessions {
			t.Fatalf("sessions %d → %d", sessions, n)
		}
		if _, after := newestAudit(t, r.ts.store, "user.sso_refused"); after["reason"] != "code refused" {
			t.Fatalf("audited %v", after)
		}
	})

	t.Run("the role follows the claims at every sign-in", func(t *testing.T) {
		r.users.setGroups("ana", "staff")
		resp, _ := r.signInAtOP(newPerson(t), "ana")
		if resp.Request.URL.Path != "/console" {
			t.Fatalf("landed at %s", resp.Request.URL)
		}
		if got, _ := r.ts.store.GetUser(t.Context(), u.ID); got.Role != store.RoleViewer {
			t.Fatalf("role %s after demotion at the provider", got.Role)
		}
		if _, after := newestAudit(t, r.ts.store, "user.role_from_claims"); after["role"] != "viewer" {
			t.Fatalf("role change audited as %v", after)
		}
	})

	t.Run("claims mapping to no role are refused, nothing created", func(t *testing.T) {
		r.users.add("bo", "bo@example.com", true, "marketing")
		r.refusedAtOP(t, "bo", "no role")
	})

	// The example OP leaves email_verified out when it is false (omitempty),
	// and a claim not sent is no refusal: TestSSORefusesBadTokensAndStates
	// sends a false one.
}

// refusedAtOP signs username in at the OP and checks that Herald refused
// them for reason, audited it, and created nobody.
func (r *ssoRig) refusedAtOP(t *testing.T, username, reason string) {
	t.Helper()
	before, _ := r.ts.store.CountUsers(t.Context())
	resp, doc := r.signInAtOP(newPerson(t), username)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(text(doc.Find("#login-error")), "("+reason+")") {
		t.Fatalf("%d %q, want refused (%s)", resp.StatusCode, text(doc.Find("#login-error")), reason)
	}
	if after, _ := r.ts.store.CountUsers(t.Context()); after != before {
		t.Fatalf("users %d → %d", before, after)
	}
	if _, after := newestAudit(t, r.ts.store, "user.sso_refused"); after["reason"] != reason || after["email"] == nil {
		t.Fatalf("refusal audited as %v", after)
	}
}

func countSessions(t *testing.T, st *store.Store, userID string) int {
	t.Helper()
	s, err := st.ListSessions(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return len(s)
}

func TestSSORequiredLeavesOnlyTheBreakGlassPassword(t *testing.T) {
	r := newZitadelRig(t, func(c *OIDCConfig) { c.RequireSSO, c.BreakGlass = true, "root@example.com" })
	root := r.ts.addUser(t, "root@example.com", store.RoleAdmin)
	local := r.ts.addUser(t, "local@example.com", store.RoleCommander)
	// Sessions from before single sign-on was required: the commander's
	// ends at its next request, the break-glass admin's stands.
	before, rootBefore := r.ts.signedIn(t, local), r.ts.signedIn(t, root)
	if _, err := r.ts.store.CreatePage(t.Context(), store.PageInput{Slug: "internal", Name: "Internal", Access: store.AccessSignedIn}); err != nil {
		t.Fatal(err)
	}
	r.ts.waitFresh(t)
	if p := before.get("/p/internal/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/console/login") {
		t.Fatalf("a private page to a password session from before SSO was required: %d %q", p.Status, location(p))
	}
	if p := rootBefore.get("/p/internal/"); p.Status != http.StatusOK {
		t.Fatalf("the private page to the break-glass admin: %d", p.Status)
	}
	if p := before.get("/console"); p.Status != http.StatusSeeOther || location(p) != "/console/login" || before.cookie("herald_session") != "" {
		t.Fatalf("a password session from before SSO was required: %d %q", p.Status, location(p))
	}
	if p := rootBefore.get("/console"); p.Status != http.StatusOK {
		t.Fatalf("the break-glass admin's session: %d", p.Status)
	}
	if got := countSessions(t, r.ts.store, local.ID); got != 0 {
		t.Fatalf("%d sessions of the commander left", got)
	}
	b := r.ts.browser(t)
	login := b.get("/console/login")
	if login.Doc.Find("details.break-glass form").Length() != 1 || login.Doc.Find("#sso-sign-in").Length() != 1 {
		t.Fatal("the sign-in page does not fold the password form away")
	}
	if p := b.signIn("local@example.com", testPassword); p.Status != http.StatusForbidden || !strings.Contains(text(p.Doc.Find("#login-error")), "Example ID only") {
		t.Fatalf("a local password was accepted: %d %q", p.Status, text(p.Doc.Find("#login-error")))
	}
	if b.cookie("herald_session") != "" {
		t.Fatal("a session was started")
	}
	if p := r.ts.browser(t).signIn("root@example.com", testPassword); p.Status != http.StatusSeeOther || location(p) != "/console" {
		t.Fatalf("break-glass admin: %d %s", p.Status, location(p))
	}
	// Not through the provider: their role would follow its claims.
	r.users.add("root", "root@example.com", true, "staff")
	r.refusedAtOP(t, "root", "break-glass account")
	if u, _ := r.ts.store.GetUserByEmail(t.Context(), "root@example.com"); u.Role != store.RoleAdmin || u.SSO {
		t.Fatalf("break-glass admin after a provider sign-in: %+v", u)
	}
}

func TestSSOCreationOnlyForAllowedDomains(t *testing.T) {
	r := newZitadelRig(t, func(c *OIDCConfig) { c.AllowDomains = []string{"example.com"} })
	r.users.add("eve", "eve@elsewhere.org", true, "sre")
	r.refusedAtOP(t, "eve", "domain not allowed")
	// An allowed domain is created.
	r.users.add("fin", "fin@example.com", true, "sre")
	if resp, _ := r.signInAtOP(newPerson(t), "fin"); resp.Request.URL.Path != "/console" {
		t.Fatalf("allowed domain landed at %s", resp.Request.URL)
	}
}

// The verifier's refusals, with tokens the test signs itself.
func TestSSORefusesBadTokensAndStates(t *testing.T) {
	f := newForgedOP(t)
	ln := listenLocal(t)
	cfg := defaultOIDC(f.URL)
	ts := newTestServer(t, withOIDC(ln, cfg))
	type spoil func(c map[string]any) map[string]any
	tokenCases := []struct {
		name, reason string
		spoil        spoil
		stranger     bool
	}{
		{name: "wrong audience", reason: "wrong audience", spoil: func(c map[string]any) map[string]any { c["aud"] = "someone-else"; return c }},
		{name: "wrong issuer", reason: "wrong issuer", spoil: func(c map[string]any) map[string]any { c["iss"] = "https://evil.example"; return c }},
		{name: "wrong nonce", reason: "bad nonce", spoil: func(c map[string]any) map[string]any { c["nonce"] = "not-the-nonce"; return c }},
		{name: "expired", reason: "expired", spoil: func(c map[string]any) map[string]any {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			return c
		}},
		{name: "signed by an unknown key", reason: "unknown key", stranger: true, spoil: func(c map[string]any) map[string]any { return c }},
		{name: "no role", reason: "no role", spoil: func(c map[string]any) map[string]any { c["groups"] = []string{"nobody"}; return c }},
		{name: "userinfo about another subject", reason: "userinfo mismatch", spoil: func(c map[string]any) map[string]any { delete(c, "groups"); return c }},
		{name: "email unverified", reason: "email unverified", spoil: func(c map[string]any) map[string]any { c["email_verified"] = false; return c }},
	}
	refusedWith := func(t *testing.T, p consolePage, b *browser, reason string) {
		t.Helper()
		if p.Status != http.StatusForbidden || !strings.Contains(text(p.Doc.Find("#login-error")), "("+reason+")") {
			t.Fatalf("answer %d %q, want refused (%s)", p.Status, text(p.Doc.Find("#login-error")), reason)
		}
		if b.cookie("herald_session") != "" {
			t.Fatal("a session was started")
		}
		if _, after := newestAudit(t, ts.store, "user.sso_refused"); after["reason"] != reason {
			t.Fatalf("audited %v, want reason %q", after, reason)
		}
		if n, _ := ts.store.CountUsers(t.Context()); n != 0 {
			t.Fatalf("%d users created", n)
		}
	}
	for _, tc := range tokenCases {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.token = func(nonce string) (map[string]any, *rsa.PrivateKey) {
				signer := f.key
				if tc.stranger {
					signer = f.stranger
				}
				return tc.spoil(f.goodClaims(nonce)), signer
			}
			f.mu.Unlock()
			b := ts.browser(t)
			state, _ := f.begin(t, b)
			p := b.get("/console/login/sso/callback?code=c1&state=" + url.QueryEscape(state))
			refusedWith(t, p, b, tc.reason)
		})
	}
	f.mu.Lock()
	f.token = func(nonce string) (map[string]any, *rsa.PrivateKey) { return f.goodClaims(nonce), f.key }
	f.mu.Unlock()
	t.Run("missing state", func(t *testing.T) {
		b := ts.browser(t)
		f.begin(t, b)
		refusedWith(t, b.get("/console/login/sso/callback?code=c1"), b, "bad state")
	})
	t.Run("wrong state", func(t *testing.T) {
		b := ts.browser(t)
		f.begin(t, b)
		refusedWith(t, b.get("/console/login/sso/callback?code=c1&state=made-up"), b, "bad state")
	})
	t.Run("state from another browser", func(t *testing.T) {
		state, _ := f.begin(t, ts.browser(t))
		b := ts.browser(t)
		refusedWith(t, b.get("/console/login/sso/callback?code=c1&state="+url.QueryEscape(state)), b, "bad state")
	})
	t.Run("a good token signs in once", func(t *testing.T) {
		b := ts.browser(t)
		state, _ := f.begin(t, b)
		cb := "/console/login/sso/callback?code=c1&state=" + url.QueryEscape(state)
		if p := b.get(cb); p.Status != http.StatusSeeOther || location(p) != "/console" {
			t.Fatalf("good token: %d %s %q", p.Status, location(p), text(p.Doc.Find("#login-error")))
		}
		u, err := ts.store.GetUserByEmail(t.Context(), "dana@example.com")
		if err != nil || u.Role != store.RoleCommander {
			t.Fatalf("%+v %v", u, err)
		}
		replay := ts.browser(t)
		p := replay.get(cb)
		if p.Status != http.StatusForbidden || countSessions(t, ts.store, u.ID) != 1 {
			t.Fatalf("replay: %d, %d sessions", p.Status, countSessions(t, ts.store, u.ID))
		}
	})
}

// Anyone may start a single sign-on, and each start is kept ten minutes:
// one address may start signInBeginMax in five minutes, then is told to
// wait, and is not sent to the provider.
func TestSSOStartsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	r := newZitadelRig(t)
	b := r.ts.browser(t)
	for i := 1; i <= signInBeginMax; i++ {
		if p := b.get("/console/login/sso"); p.Status != http.StatusSeeOther || !strings.HasPrefix(location(p), r.issuer) {
			t.Fatalf("start %d: %d %q", i, p.Status, location(p))
		}
	}
	p := b.get("/console/login/sso")
	if p.Status != http.StatusTooManyRequests || !strings.Contains(text(p.Doc.Find("#login-error")), "Too many sign-ins from your address") {
		t.Fatalf("start %d: %d %q", signInBeginMax+1, p.Status, text(p.Doc.Find("#login-error")))
	}
}

// Browsers without our cookies (a script, or a page elsewhere making its
// visitors' browsers start sign-ins) each count as new, and together
// against their address: ten times one browser's allowance, then refused.
func TestSSOStartsAreLimitedPerAddressToo(t *testing.T) {
	t.Parallel()
	r := newZitadelRig(t)
	for i := 1; i <= 10*signInBeginMax; i++ {
		if p := r.ts.browser(t).get("/console/login/sso"); p.Status != http.StatusSeeOther {
			t.Fatalf("cookie-less start %d: %d", i, p.Status)
		}
	}
	if p := r.ts.browser(t).get("/console/login/sso"); p.Status != http.StatusTooManyRequests {
		t.Fatalf("start %d from one address: %d", 10*signInBeginMax+1, p.Status)
	}
}

// A single sign-on user has no factor of Herald's: before a sensitive
// action on an old session, the provider is asked to sign them in again
// (prompt=login), and they come back to the form's page confirmed.
func TestSSOUserConfirmsThroughTheProvider(t *testing.T) {
	r := newZitadelRig(t)
	r.users.add("kim", "kim@example.com", true, "herald-admins")
	// Signed in ten minutes ago.
	r.ts.store.SetClock(func() time.Time { return time.Now().Add(-10 * time.Minute) })
	p := newPerson(t)
	if resp, _ := r.signInAtOP(p, "kim"); resp.Request.URL.Path != "/console" {
		t.Fatalf("sign-in landed at %s", resp.Request.URL)
	}
	r.ts.store.SetClock(time.Now)
	_, doc := p.open("GET", r.ts.URL+"/console/tokens", nil)
	csrf, _ := doc.Find(`form[action="/console/tokens"] input[name="csrf_token"]`).Attr("value")
	p.referer = r.ts.URL + "/console/tokens" // the form's page, as the browser sends it
	resp, doc := p.open("POST", r.ts.URL+"/console/tokens", url.Values{"csrf_token": {csrf}, "name": {"deploy"}, "role": {"viewer"}})
	p.referer = ""
	href, ok := doc.Find("#confirm-sso").Attr("href")
	if resp.StatusCode != http.StatusForbidden || !ok || hasToken(t, r.ts, "deploy") {
		t.Fatalf("a token on a ten-minute-old SSO session: %d, confirm link %v, made %v", resp.StatusCode, ok, hasToken(t, r.ts, "deploy"))
	}
	// A typed proof is not taken in its place.
	if resp, _ := p.open("POST", r.ts.URL+"/console/tokens", url.Values{"csrf_token": {csrf}, "name": {"deploy"}, "role": {"viewer"}, "confirm_proof": {"anything"}}); resp.StatusCode != http.StatusForbidden || hasToken(t, r.ts, "deploy") {
		t.Fatalf("a typed proof from an SSO user: %d", resp.StatusCode)
	}
	// Through the provider's login page, and back to the tokens page.
	resp, doc = p.open("GET", r.ts.URL+href, nil)
	if !strings.HasPrefix(resp.Request.URL.String(), r.issuer+"/login/") {
		t.Fatalf("the confirmation landed at %s, not the provider's login page", resp.Request.URL)
	}
	var sentPrompt bool
	for _, u := range p.visited {
		if u.Query().Get("prompt") == "login" && u.Query().Get("max_age") == "0" {
			sentPrompt = true
		}
	}
	id, _ := doc.Find(`input[name="id"]`).Attr("value")
	resp, doc = p.open("POST", r.issuer+"/login/username", url.Values{"id": {id}, "username": {"kim"}, "password": {opPassword}})
	if resp.Request.URL.Path != "/console/tokens" || !strings.Contains(text(doc.Find("p.flash")), "Confirmed") || !sentPrompt {
		t.Fatalf("back at %s, flash %q, prompt=login sent %v", resp.Request.URL, text(doc.Find("p.flash")), sentPrompt)
	}
	csrf, _ = doc.Find(`form[action="/console/tokens"] input[name="csrf_token"]`).Attr("value")
	if resp, _ := p.open("POST", r.ts.URL+"/console/tokens", url.Values{"csrf_token": {csrf}, "name": {"deploy"}, "role": {"viewer"}}); resp.StatusCode != http.StatusCreated || !hasToken(t, r.ts, "deploy") {
		t.Fatalf("the token once confirmed: %d", resp.StatusCode)
	}
	if _, after := newestAudit(t, r.ts.store, "user.confirmed"); after["method"] != "sso" {
		t.Fatalf("confirmation audited as %v", after)
	}

	// Confirmed as someone else at the provider: refused.
	r.users.add("eve", "eve@example.com", true, "herald-admins")
	r.ts.store.SetClock(func() time.Time { return time.Now().Add(6 * time.Minute) })
	resp, doc = p.open("POST", r.ts.URL+"/console/tokens", url.Values{"csrf_token": {csrf}, "name": {"other"}, "role": {"viewer"}})
	href, _ = doc.Find("#confirm-sso").Attr("href")
	r.ts.store.SetClock(time.Now)
	_, doc = p.open("GET", r.ts.URL+href, nil)
	id, _ = doc.Find(`input[name="id"]`).Attr("value")
	if resp, _ := p.open("POST", r.issuer+"/login/username", url.Values{"id": {id}, "username": {"eve"}, "password": {opPassword}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("confirmed as eve: %d at %s", resp.StatusCode, resp.Request.URL)
	}
}
