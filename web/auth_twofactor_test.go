package web

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
)

// tfAt is the moment two-factor tests start from; they move the store's
// clock in whole 30-second steps from there.
var tfAt = time.Date(2026, 12, 1, 10, 5, 3, 0, time.UTC)

// appCode is the code an authenticator app shows at when, computed by
// Python's standard library, not by Herald.
func appCode(t *testing.T, secret string, when time.Time) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("HERALD_REQUIRE_BROWSER") == "1" {
			t.Fatal("python3 is not installed; HERALD_REQUIRE_BROWSER=1 requires it for the independent TOTP check")
		}
		t.Skip("python3 is not installed")
	}
	out, err := exec.Command(py, "-c", `import base64, hmac, hashlib, struct, sys
s = sys.argv[1].replace(" ", "")
h = hmac.new(base64.b32decode(s + "=" * (-len(s) % 8)), struct.pack(">Q", int(sys.argv[2]) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o+4])[0] & 0x7fffffff) % 1000000))`, secret, strconv.FormatInt(when.Unix(), 10)).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// enrol adds an authenticator app through the account page and returns
// its key (as the page shows it) and the recovery codes.
func enrol(t *testing.T, ts *testServer, b *browser) (string, []string) {
	t.Helper()
	if p := b.post("/console/account/two-factor/begin", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("begin: %d %s", p.Status, p.Body)
	}
	p := b.get("/console/account/two-factor")
	secret := strings.ReplaceAll(text(p.Doc.Find("#totp-secret")), " ", "")
	if len(secret) != 32 || p.Doc.Find(`img.qr[src="/console/account/two-factor/qr.svg"]`).Length() != 1 {
		t.Fatalf("enrolment page: secret %q, QR %d", secret, p.Doc.Find("img.qr").Length())
	}
	p = b.post("/console/account/two-factor/confirm", url.Values{"code": {appCode(t, secret, ts.store.Now())}})
	var codes []string
	p.Doc.Find(".recovery-codes li").Each(func(_ int, s *goquery.Selection) { codes = append(codes, text(s)) })
	if p.Status != http.StatusOK || len(codes) != store.RecoveryCodeCount {
		t.Fatalf("confirm: %d, %d recovery codes", p.Status, len(codes))
	}
	return secret, codes
}

// signInStep posts the password and returns the code page's pending token.
func signInStep(t *testing.T, b *browser, email string) string {
	t.Helper()
	p := b.signIn(email, testPassword)
	tok, _ := p.Doc.Find(`input[name="pending"]`).Attr("value")
	if p.Status != http.StatusOK || tok == "" || b.cookie("herald_session") != "" {
		t.Fatalf("password step: %d, token %q, session %q", p.Status, tok, b.cookie("herald_session"))
	}
	return tok
}

func (b *browser) code(token, code string) consolePage {
	b.t.Helper()
	return b.post("/console/login/code", url.Values{"pending": {token}, "code": {code}, "next": {"/console/incidents"}})
}

// lastAudit is the newest audit entry's action and after-state.
func lastAudit(t *testing.T, ts *testServer) string {
	t.Helper()
	entries, err := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{Limit: 1})
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit log: %v", err)
	}
	return entries[0].Action + " " + string(entries[0].After)
}

func TestTwoFactorEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.at(t, tfAt)
	u := ts.addUser(t, "ada@example.com", store.RoleCommander)
	b := ts.signedIn(t, u)
	if p := b.get("/console/account"); !strings.Contains(text(p.Doc.Find("#tf-heading").Parent()), "Off") {
		t.Fatalf("account page before: %q", text(p.Doc.Find("#tf-heading").Parent()))
	}
	b.post("/console/account/two-factor/begin", nil)
	if p := b.get("/console/account/two-factor/qr.svg"); p.Status != http.StatusOK || p.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(p.Body, "<svg") {
		t.Fatalf("QR: %d %s %.40q", p.Status, p.Header.Get("Content-Type"), p.Body)
	}
	p := b.post("/console/account/two-factor/confirm", url.Values{"code": {"123456"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(text(p.Doc.Find(".field-error")), "not the code") {
		t.Fatalf("wrong enrolment code: %d %q", p.Status, text(p.Doc.Find(".field-error")))
	}
	if got := lastAudit(t, ts); !strings.HasPrefix(got, "user.totp_enrol_failed") {
		t.Errorf("audit after a wrong enrolment code: %s", got)
	}
	b.post("/console/account/two-factor/cancel", nil)
	secret, recovery := enrol(t, ts, b)
	if got := lastAudit(t, ts); !strings.HasPrefix(got, "user.totp_enrolled") {
		t.Errorf("audit after enrolment: %s", got)
	}
	if p := b.get("/console/account/two-factor"); p.Doc.Find(".recovery-codes").Length() != 0 || p.Doc.Find("#totp-secret").Length() != 0 {
		t.Error("the recovery codes or the key are shown again")
	}
	if p := b.get("/console/account/two-factor/qr.svg"); p.Status != http.StatusNotFound {
		t.Errorf("QR after enrolment: %d", p.Status)
	}

	step := func() time.Time { ts.at(t, ts.store.Now().Add(30*time.Second)); return ts.store.Now() }
	now := step()
	c := ts.browser(t)
	tok := signInStep(t, c, u.Email)
	if p := c.get("/console"); location(p) != "/console/login" {
		t.Fatalf("the password alone opened the console: %d %q", p.Status, location(p))
	}
	if p := c.code(tok, "000000"); p.Status != http.StatusUnauthorized || c.cookie("herald_session") != "" || p.Doc.Find(`input[name="pending"]`).Length() != 1 {
		t.Fatalf("wrong code: %d, session %q", p.Status, c.cookie("herald_session"))
	}
	code := appCode(t, secret, now)
	if p := c.code(tok, code); p.Status != http.StatusSeeOther || location(p) != "/console/incidents" || c.cookie("herald_session") == "" {
		t.Fatalf("right code: %d %q", p.Status, location(p))
	}
	if got := lastAudit(t, ts); got != `user.signin {"second_factor":true}` {
		t.Errorf("audit after signing in: %s", got)
	}

	refused := func(t *testing.T, tok, code, audit string) {
		t.Helper()
		d := ts.browser(t)
		d.get("/console/login")
		if p := d.code(tok, code); p.Status != http.StatusUnauthorized || d.cookie("herald_session") != "" {
			t.Fatalf("code %q: %d, session %q", code, p.Status, d.cookie("herald_session"))
		}
		if got := lastAudit(t, ts); !strings.Contains(got, audit) {
			t.Errorf("audit: %s, want %q", got, audit)
		}
	}
	t.Run("replayed token", func(t *testing.T) { refused(t, tok, appCode(t, secret, now), "already used") })
	t.Run("forged token", func(t *testing.T) { refused(t, "Zm9yZ2VkLXRva2VuLWZvcmdlZC10b2tlbi1mb3JnZWQtdG9rZW4", code, "unknown") })
	t.Run("reused code", func(t *testing.T) { refused(t, signInStep(t, ts.browser(t), u.Email), code, "code already used") })
	t.Run("expired token", func(t *testing.T) {
		tok := signInStep(t, ts.browser(t), u.Email)
		ts.at(t, ts.store.Now().Add(store.PendingSignInTTL+time.Second))
		refused(t, tok, appCode(t, secret, ts.store.Now()), "expired")
	})
	t.Run("recovery code twice", func(t *testing.T) {
		d := ts.browser(t)
		if p := d.code(signInStep(t, d, u.Email), recovery[0]); p.Status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d", p.Status)
		}
		refused(t, signInStep(t, ts.browser(t), u.Email), recovery[0], "recovery code already used")
	})
}

func TestTwoFactorRequiredByRoleAndReset(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.at(t, tfAt)
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	v := ts.addUser(t, "viewer@example.com", store.RoleViewer)
	if p := admin.post("/console/users/two-factor", url.Values{"role": {"viewer"}}); location(p) != "/console/users?msg=factor-roles-saved" {
		t.Fatalf("save roles: %d %q", p.Status, location(p))
	}
	if p := admin.get("/console/users"); p.Doc.Find(`input[name="role"][value="viewer"][checked]`).Length() != 1 {
		t.Error("the users page does not show viewer as required")
	}
	b := ts.browser(t)
	if p := b.signIn(v.Email, testPassword); location(p) != "/console/account/two-factor" {
		t.Fatalf("a viewer without a factor signs in to %q", location(p))
	}
	for _, path := range []string{"/console", "/console/incidents", "/console/account"} {
		if p := b.get(path); location(p) != "/console/account/two-factor" {
			t.Errorf("%s before enrolling: %d %q", path, p.Status, location(p))
		}
	}
	if p := b.get("/console/account/two-factor"); !strings.Contains(text(p.Doc.Find(".notice")), "must sign in with a second factor") {
		t.Errorf("enrol page says %q", text(p.Doc.Find(".notice")))
	}
	secret, _ := enrol(t, ts, b)
	if p := b.get("/console/incidents"); p.Status != http.StatusOK {
		t.Errorf("after enrolling: %d", p.Status)
	}
	if p := b.post("/console/account/two-factor/remove", url.Values{"code": {appCode(t, secret, ts.store.Now().Add(30*time.Second))}}); p.Status != http.StatusUnprocessableEntity {
		t.Errorf("a required factor removed by its owner: %d", p.Status)
	}

	if p := admin.post("/console/users/"+v.ID+"/reset-factors", nil); location(p) != "/console/users/"+v.ID+"?msg=factors-reset" {
		t.Fatalf("reset: %d %q", p.Status, location(p))
	}
	if got := lastAudit(t, ts); !strings.HasPrefix(got, "user.factors_reset") {
		t.Errorf("audit after reset: %s", got)
	}
	if p := ts.browser(t).signIn(v.Email, testPassword); location(p) != "/console/account/two-factor" {
		t.Errorf("after the reset the viewer signs in to %q, want to enrol again", location(p))
	}
}

// A person enrols with Chromium, signs out, and signs in with a code.
func TestBrowserTwoFactorEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.at(t, tfAt)
	ts.addUser(t, "ada@example.com", store.RoleCommander)
	ctx, problems := consoleBrowser(t, ts)
	signInWithBrowser(t, ctx, problems, ts, "ada@example.com", testPassword)
	browse(t, ctx, problems, "enrol",
		chromedp.Navigate(ts.URL+"/console/account"),
		chromedp.Click(chromedp.CSS(`a[href="/console/account/two-factor"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/account/two-factor/begin"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/console/account/two-factor/begin"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#totp-secret")),
	)
	pollTrue(t, ctx, "the QR code loaded", `(() => { const i = document.querySelector("img.qr"); return i.complete && i.naturalWidth > 0; })()`)
	secret := strings.ReplaceAll(read(t, ctx, "secret", chromedp.Text(chromedp.CSS("#totp-secret"))), " ", "")
	browse(t, ctx, problems, "confirm",
		chromedp.SendKeys(chromedp.CSS("#f-code"), appCode(t, secret, ts.store.Now())+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".recovery-codes")),
	)
	if n := read(t, ctx, "codes", chromedp.Evaluate[string](`String(document.querySelectorAll(".recovery-codes li").length)`)); n != "10" {
		t.Fatalf("%s recovery codes shown", n)
	}
	ts.at(t, ts.store.Now().Add(30*time.Second))
	browse(t, ctx, problems, "sign out", chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#f-email")))
	browse(t, ctx, problems, "password",
		chromedp.SendKeys(chromedp.CSS("#f-email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/login/code"] #f-code`)),
		chromedp.SendKeys(chromedp.CSS("#f-code"), appCode(t, secret, ts.store.Now())+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
	)
	if got := read(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); got != "Dashboard" {
		t.Fatalf("after the code the page reads %q", got)
	}
	noProblems(t, ctx, problems)
}
