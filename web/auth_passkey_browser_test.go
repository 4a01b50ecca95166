package web

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
)

// withLocalhost serves the test's Herald at http://localhost:port, its
// --base-url too: WebAuthn binds a passkey to a domain name, never to an
// IP address, and localhost is the one a browser trusts over plain HTTP.
func withLocalhost(ln net.Listener) testOption {
	return func(s *testSetup) {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		s.cfg.BaseURL = "http://localhost:" + port
		s.wrapListener = func(given net.Listener) net.Listener {
			given.Close()
			return ln
		}
	}
}

// virtualAuthenticator gives the browser a platform authenticator (as a
// laptop's fingerprint reader is) that says yes to every touch.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	var id webauthn.AuthenticatorID
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
		id = res.AuthenticatorID
		return err
	}))
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
	return id
}

func heldCredentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	var out []*webauthn.Credential
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		out = res.Credentials
		return err
	}))
	if err != nil {
		t.Fatalf("authenticator's credentials: %v", err)
	}
	return out
}

// signedInHere reports whether the browser's cookies open the console.
func signedInHere(t *testing.T, ctx context.Context) bool {
	t.Helper()
	got := read(t, ctx, "signed in?", chromedp.Evaluate[string](`fetch("/console", {redirect: "manual"}).then(r => r.type === "opaqueredirect" ? "no" : String(r.status))`, chromedp.EvalAwaitPromise))
	return got == "200"
}

// hasAudit reports whether the audit log holds an entry of action whose
// after-state contains want.
func hasAudit(t *testing.T, ts *testServer, action, want string) bool {
	t.Helper()
	entries, err := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	for _, e := range entries {
		if e.Action == action && strings.Contains(string(e.After), want) {
			return true
		}
	}
	return false
}

// A commander adds a passkey from their account page (after proving it is
// them with their password), then signs in with it alone, and with it as
// the second step after their password. A replayed answer, a copy of the
// key whose counter fell behind and a forged signature are refused with
// the one message, and audited.
func TestBrowserPasskeys(t *testing.T) {
	ln := listenLocal(t)
	ts := newTestServer(t, withLocalhost(ln))
	base := ts.srv.cfg.BaseURL
	ada := ts.addUser(t, "ada@example.com", store.RoleAdmin)
	ctx, problems := consoleBrowser(t, ts)
	auth := virtualAuthenticator(t, ctx)
	dir := screenshotDir(t) // at a phone's width, for a person to look at

	browse(t, ctx, problems, "sign in with the password",
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")), // shown: this browser can
		chromedp.SendKeys(chromedp.CSS("#f-email"), ada.Email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
		chromedp.Navigate(base+"/console/account#passkeys"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")),
	)
	// A wrong password: refused before the browser is asked for anything.
	browse(t, ctx, problems, "add a passkey with a wrong password",
		chromedp.SendKeys(chromedp.CSS("#f-passkey-name"), "Work laptop"),
		chromedp.SendKeys(chromedp.CSS("#f-proof"), "not my password"),
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys [data-passkey-error]")),
	)
	if msg := read(t, ctx, "error", chromedp.Text(chromedp.CSS("#passkeys [data-passkey-error]"))); !strings.Contains(msg, "is not your current password") {
		t.Fatalf("wrong password says %q", msg)
	}
	if held := heldCredentials(t, ctx, auth); len(held) != 0 {
		t.Fatalf("the authenticator made %d credentials after a refused proof", len(held))
	}
	browse(t, ctx, problems, "add a passkey",
		chromedp.SetValue(chromedp.CSS("#f-proof"), testPassword),
		chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS(".passkeys .passkey-name")),
	)
	browse(t, ctx, problems, "scroll to the passkeys", chromedp.ScrollIntoView(chromedp.CSS("#passkeys")))
	shoot(t, ctx, dir, "passkeys-account.png")
	if name := read(t, ctx, "passkey", chromedp.Text(chromedp.CSS(".passkeys li"))); !strings.Contains(name, "Work laptop") || !strings.Contains(name, "never used") {
		t.Fatalf("the account page lists %q", name)
	}
	held := heldCredentials(t, ctx, auth)
	keys, err := ts.store.ListPasskeys(t.Context(), ada.ID)
	if err != nil || len(held) != 1 || len(keys) != 1 || !bytes.Equal(held[0].CredentialID, keys[0].ID) || !held[0].IsResidentCredential {
		t.Fatalf("authenticator holds %d, Herald keeps %d (%v); want the same one discoverable credential", len(held), len(keys), err)
	}
	if !bytes.Equal(held[0].UserHandle, []byte(ada.ID)) || held[0].RpID != "localhost" {
		t.Fatalf("credential for user handle %q at %q, want %q at localhost", held[0].UserHandle, held[0].RpID, ada.ID)
	}

	signOut := func() {
		t.Helper()
		browse(t, ctx, problems, "sign out", chromedp.Click(chromedp.CSS(".whoami button")), chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")))
	}
	// The answers the browser sends to finish, kept across the page loads
	// of this tab, for the replay below.
	const keepFinish = `(() => { const f = window.fetch; window.fetch = function (u, o) {
		if (String(u).endsWith("/finish")) { sessionStorage.setItem("finish", o.body); }
		return f.apply(this, arguments); }; return "" })()`
	refusedWithTheMessage := func(what string) {
		t.Helper()
		browse(t, ctx, problems, what, chromedp.WaitVisible(chromedp.CSS("[data-passkey-error]")))
		if msg := read(t, ctx, what, chromedp.Text(chromedp.CSS("[data-passkey-error]"))); msg != passkeyRefused {
			t.Fatalf("%s: the page says %q, want %q", what, msg, passkeyRefused)
		}
		if signedInHere(t, ctx) {
			t.Fatalf("%s: a session began", what)
		}
	}

	// Sign in with the passkey alone: no email, no password.
	signOut()
	read(t, ctx, "keep the finish", chromedp.Evaluate[string](keepFinish))
	browse(t, ctx, problems, "sign in with the passkey",
		chromedp.Click(chromedp.CSS("#passkey-sign-in")),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
	)
	if here := read(t, ctx, "location", chromedp.Location()); here != base+"/console" {
		t.Fatalf("signed in with a passkey, landed at %s", here)
	}
	if !hasAudit(t, ts, "user.signin", `"method":"passkey"`) {
		t.Fatal("no audit entry for the passkey sign-in")
	}
	keys, _ = ts.store.ListPasskeys(t.Context(), ada.ID)
	if keys[0].LastUsedAt == nil || keys[0].SignCount == 0 {
		t.Fatalf("after a sign-in the passkey has count %d, last used %v", keys[0].SignCount, keys[0].LastUsedAt)
	}

	// The same answer again, from the sign-in page: its challenge is used.
	signOut()
	replay := read(t, ctx, "replay", chromedp.Evaluate[string](`fetch("/console/login/passkey/finish", {method: "POST", body: sessionStorage.getItem("finish"),
		headers: {"Content-Type": "application/json", "X-CSRF-Token": document.querySelector("input[name=csrf_token]").value}})
		.then(r => r.json().then(j => r.status + " " + j.error.message))`, chromedp.EvalAwaitPromise))
	if replay != "401 "+passkeyRefused {
		t.Fatalf("a replayed answer got %q", replay)
	}
	if signedInHere(t, ctx) || !hasAudit(t, ts, "user.passkey_refused", "challenge unknown, already used") {
		t.Fatal("the replay signed in, or was not audited")
	}

	// After the password, the passkey is the second step: the page asks
	// for it, and for no app code, as ada has no app.
	browse(t, ctx, problems, "password, then passkey",
		chromedp.SendKeys(chromedp.CSS("#f-email"), ada.Email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-second-factor")),
	)
	shoot(t, ctx, dir, "passkeys-second-step.png")
	if h1 := read(t, ctx, "heading", chromedp.Text(chromedp.CSS("h1"))); h1 != "Use your passkey" {
		t.Fatalf("second step heading %q", h1)
	}
	if n := read(t, ctx, "code field", chromedp.Evaluate[string](`String(document.querySelectorAll("#f-code").length)`)); n != "0" {
		t.Fatalf("a code field is offered to a user without an app")
	}
	browse(t, ctx, problems, "the second step",
		chromedp.Click(chromedp.CSS("#passkey-second-factor")),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
	)
	if !hasAudit(t, ts, "user.second_factor_ok", `"method":"passkey"`) {
		t.Fatal("no audit entry for the passkey as second factor")
	}

	// Six minutes on, creating a token asks for the passkey again, and
	// the token is made once it is given: one touch, no form lost.
	ts.store.SetClock(func() time.Time { return time.Now().Add(6 * time.Minute) })
	browse(t, ctx, problems, "a token, confirmed with the passkey",
		chromedp.Navigate(base+"/console/tokens"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "deploy bot\r"),
		chromedp.WaitVisible(chromedp.CSS("#confirm-passkey")),
	)
	shoot(t, ctx, dir, "passkeys-confirm.png")
	// The password is not a second factor: neither offered nor taken.
	sneaky := read(t, ctx, "password instead", chromedp.Evaluate[string](`String(document.querySelectorAll("[name=confirm_proof]").length) + " " +
		String(0)`))
	posted := read(t, ctx, "post the password", chromedp.Evaluate[string](`fetch("/console/tokens", {method: "POST", body: new URLSearchParams({
		csrf_token: document.querySelector("input[name=csrf_token]").value, name: "sneaky", role: "viewer", confirm_proof: "`+testPassword+`"})}).then(r => String(r.status))`, chromedp.EvalAwaitPromise))
	if sneaky != "0 0" || posted != "403" || hasToken(t, ts, "sneaky") {
		t.Fatalf("a passkey user confirming with the password: fields %q, answer %s, made %v", sneaky, posted, hasToken(t, ts, "sneaky"))
	}
	browse(t, ctx, problems, "confirm", chromedp.Click(chromedp.CSS("#confirm-passkey")), chromedp.WaitVisible(chromedp.CSS(".secret-value")))
	if !hasToken(t, ts, "deploy bot") || !hasAudit(t, ts, "user.confirmed", `"method":"passkey"`) {
		t.Fatal("the token was not made, or the confirmation not audited")
	}
	ts.store.SetClock(time.Now)

	// A copy of the key that fell behind: its counter is below Herald's.
	signOut()
	browse(t, ctx, problems, "wind the counter back", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		zero := 0.0
		_, err := chromedp.Call(ctx, webauthn.SetCredentialProperties, webauthn.SetCredentialPropertiesParams{AuthenticatorID: auth, CredentialID: held[0].CredentialID, SignCount: &zero})
		return err
	}), chromedp.Click(chromedp.CSS("#passkey-sign-in")))
	refusedWithTheMessage("a cloned key")
	shoot(t, ctx, dir, "passkeys-refused.png")
	if !hasAudit(t, ts, "user.passkey_refused", "possible cloned key") {
		t.Fatal("the cloned key's refusal is not audited")
	}

	// A forged signature.
	browse(t, ctx, problems, "forge the signature", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		bogus, far := true, 1000.0
		if _, err := chromedp.Call(ctx, webauthn.SetCredentialProperties, webauthn.SetCredentialPropertiesParams{AuthenticatorID: auth, CredentialID: held[0].CredentialID, SignCount: &far}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBogusSignature: &bogus})
		return err
	}), chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")), chromedp.Click(chromedp.CSS("#passkey-sign-in")))
	refusedWithTheMessage("a forged signature")
	keys, _ = ts.store.ListPasskeys(t.Context(), ada.ID)
	if keys[0].SignCount >= 1000 {
		t.Fatalf("a refused signature moved the counter to %d", keys[0].SignCount)
	}

	// An answer made for another site: its client data names another
	// origin (rewritten on its way, as a phishing proxy would relay it).
	browse(t, ctx, problems, "another origin", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		no := false
		_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBogusSignature: &no})
		return err
	}), chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")))
	read(t, ctx, "relay from elsewhere", chromedp.Evaluate[string](`(() => { const f = window.fetch; window.fetch = function (u, o) {
		if (String(u).endsWith("/finish")) {
			const b = JSON.parse(o.body), r = b.credential.response;
			const cd = JSON.parse(atob(r.clientDataJSON.replace(/-/g, "+").replace(/_/g, "/")));
			cd.origin = "https://status.example.evil";
			r.clientDataJSON = btoa(JSON.stringify(cd)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
			o = Object.assign({}, o, {body: JSON.stringify(b)});
		}
		return f.call(this, u, o); }; return "" })()`))
	browse(t, ctx, problems, "sign in from another origin", chromedp.Click(chromedp.CSS("#passkey-sign-in")))
	refusedWithTheMessage("another origin")
	if !hasAudit(t, ts, "user.passkey_refused", "origin") {
		t.Fatal("the other origin's refusal is not audited with its reason")
	}

	// Removed, it signs in no more.
	browse(t, ctx, problems, "the real key again", chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")), chromedp.Click(chromedp.CSS("#passkey-sign-in")),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
		chromedp.Navigate(base+"/console/account#passkeys"),
		chromedp.Click(chromedp.CSS(".passkeys button.danger")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if keys, _ := ts.store.ListPasskeys(t.Context(), ada.ID); len(keys) != 0 {
		t.Fatalf("%d passkeys left after removing the one", len(keys))
	}
	signOut()
	browse(t, ctx, problems, "a removed key", chromedp.Click(chromedp.CSS("#passkey-sign-in")))
	refusedWithTheMessage("a removed passkey")
	// The refusals above, as the browser logs them.
	noProblems(t, ctx, problems, "status of 401 (Unauthorized) "+base+"/console/login/passkey/finish", "status of 422 (Unprocessable Entity) "+base+"/console/account/passkeys/begin",
		"status of 403 (Forbidden) "+base+"/console/tokens")
}
