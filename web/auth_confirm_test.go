package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

func tokenNames(t *testing.T, ts *testServer) []string {
	t.Helper()
	list, err := ts.store.ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tk := range list {
		out = append(out, tk.Name)
	}
	return out
}

func hasToken(t *testing.T, ts *testServer, name string) bool {
	t.Helper()
	for _, n := range tokenNames(t, ts) {
		if n == name {
			return true
		}
	}
	return false
}

// Once a sign-in is more than five minutes old, creating a token asks for
// the second factor again; the page carries the form, and the right code
// sends it on, once. Wrong, reused and too many codes are refused and
// change nothing.
func TestSensitiveActionsAskForTheFactorAgain(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	clock := tfAt
	ts.store.SetClock(func() time.Time { return clock })
	t.Cleanup(func() { ts.store.SetClock(time.Now) })
	admin := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	b := ts.signedIn(t, admin)
	secret, recovery := enrol(t, ts, b)
	create := func(name string, extra url.Values) consolePage {
		t.Helper()
		form := url.Values{"name": {name}, "role": {string(store.RoleViewer)}}
		for k, v := range extra {
			form[k] = v
		}
		return b.post("/console/tokens", form)
	}

	// Within five minutes of the sign-in: no question.
	clock = clock.Add(4 * time.Minute)
	if p := create("deploy", nil); p.Status != http.StatusCreated || !hasToken(t, ts, "deploy") {
		t.Fatalf("a token within five minutes: %d", p.Status)
	}

	clock = clock.Add(2 * time.Minute) // the sign-in is six minutes old
	p := create("ci", nil)
	if p.Status != http.StatusForbidden || text(p.Doc.Find("h1")) != "Confirm it is you" || hasToken(t, ts, "ci") {
		t.Fatalf("a token six minutes in: %d %q, created %v", p.Status, text(p.Doc.Find("h1")), hasToken(t, ts, "ci"))
	}
	form := p.Doc.Find(`form[action="/console/tokens"]`)
	if v, _ := form.Find(`input[name="name"]`).Attr("value"); v != "ci" || form.Find(`input[name="confirm_proof"]`).Length() != 1 {
		t.Fatalf("the confirm page carries name %q; proof field %d", v, form.Find(`input[name="confirm_proof"]`).Length())
	}
	if !strings.Contains(text(p.Doc.Find(".page-sub")), "To create an API token") {
		t.Fatalf("the confirm page says %q", text(p.Doc.Find(".page-sub")))
	}

	// A wrong code: asked again, nothing made, audited.
	p = create("ci", url.Values{"confirm_proof": {"000000"}})
	if p.Status != http.StatusForbidden || !strings.Contains(text(p.Doc.Find("#confirm-error")), "not a current code") || hasToken(t, ts, "ci") {
		t.Fatalf("a wrong code: %d %q", p.Status, text(p.Doc.Find("#confirm-error")))
	}
	if got := lastAudit(t, ts); !strings.Contains(got, "user.second_factor_failed") || !strings.Contains(got, `"purpose":"confirm"`) {
		t.Fatalf("audit after a wrong code: %s", got)
	}
	// The right code: the token is made, once, and the session stands
	// confirmed for the next five minutes.
	code := appCode(t, secret, clock)
	if p := create("ci", url.Values{"confirm_proof": {code}}); p.Status != http.StatusCreated || !hasToken(t, ts, "ci") {
		t.Fatalf("the right code: %d, created %v", p.Status, hasToken(t, ts, "ci"))
	}
	if got := lastAudit(t, ts); !strings.Contains(got, "token") {
		t.Fatalf("the last audit is %s, want the token's creation", got)
	}
	clock = clock.Add(4 * time.Minute)
	if p := create("nightly", nil); p.Status != http.StatusCreated {
		t.Fatalf("four minutes after confirming: %d", p.Status)
	}
	// Past that, the same code again is worth nothing.
	clock = clock.Add(2 * time.Minute)
	if p := create("reused", url.Values{"confirm_proof": {code}}); p.Status != http.StatusForbidden || hasToken(t, ts, "reused") {
		t.Fatalf("a reused code: %d", p.Status)
	}
	// A recovery code works, once.
	if p := create("recovered", url.Values{"confirm_proof": {recovery[0]}}); p.Status != http.StatusCreated {
		t.Fatalf("a recovery code: %d", p.Status)
	}

	// Other sensitive routes ask too: a role change carries its fields.
	clock = clock.Add(6 * time.Minute)
	viewer := ts.addUser(t, "vic@example.com", store.RoleViewer)
	p = b.post("/console/users/"+viewer.ID, url.Values{"name": {"Vic"}, "role": {string(store.RoleAdmin)}})
	if p.Status != http.StatusForbidden || text(p.Doc.Find("h1")) != "Confirm it is you" {
		t.Fatalf("a role change: %d %q", p.Status, text(p.Doc.Find("h1")))
	}
	if u, _ := ts.store.GetUser(t.Context(), viewer.ID); u.Role != store.RoleViewer {
		t.Fatalf("the role changed to %s before the confirmation", u.Role)
	}

	// Guessing is limited as sign-in is: past it, even the right code is
	// refused for a while.
	for range signInAccountLimit {
		create("guess", url.Values{"confirm_proof": {"111111"}})
	}
	code = appCode(t, secret, clock)
	if p := create("guess", url.Values{"confirm_proof": {code}}); p.Status != http.StatusForbidden ||
		!strings.Contains(text(p.Doc.Find("#confirm-error")), "too many wrong tries") || hasToken(t, ts, "guess") {
		t.Fatalf("the right code past the limit: %d %q", p.Status, text(p.Doc.Find("#confirm-error")))
	}
}

// Without a second factor, the password is asked, and the confirmation
// stands for the session that made it only.
func TestSensitiveActionsAskForThePasswordWithoutAFactor(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	clock := tfAt
	ts.store.SetClock(func() time.Time { return clock })
	t.Cleanup(func() { ts.store.SetClock(time.Now) })
	admin := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	b := ts.signedIn(t, admin)
	other := ts.signedIn(t, admin) // another browser of the same user
	clock = clock.Add(10 * time.Minute)
	p := b.post("/console/tokens", url.Values{"name": {"ci"}, "role": {string(store.RoleViewer)}})
	if p.Status != http.StatusForbidden || p.Doc.Find(`input[name="confirm_proof"][type="password"]`).Length() != 1 {
		t.Fatalf("without a factor: %d, password field %d", p.Status, p.Doc.Find(`input[type="password"]`).Length())
	}
	if p := b.post("/console/tokens", url.Values{"name": {"ci"}, "role": {string(store.RoleViewer)}, "confirm_proof": {"wrong password"}}); p.Status != http.StatusForbidden ||
		!strings.Contains(text(p.Doc.Find("#confirm-error")), "is not your current password") {
		t.Fatalf("a wrong password: %d %q", p.Status, text(p.Doc.Find("#confirm-error")))
	}
	if p := b.post("/console/tokens", url.Values{"name": {"ci"}, "role": {string(store.RoleViewer)}, "confirm_proof": {testPassword}}); p.Status != http.StatusCreated || !hasToken(t, ts, "ci") {
		t.Fatalf("the password: %d", p.Status)
	}
	// Adding an authenticator app asks too: else a stolen session would
	// add its own and confirm with it.
	if p := other.post("/console/account/two-factor/begin", nil); p.Status != http.StatusForbidden || text(p.Doc.Find("h1")) != "Confirm it is you" {
		t.Fatalf("adding an app on an old session: %d %q", p.Status, text(p.Doc.Find("h1")))
	}
	// The confirmation belongs to the session that made it.
	if p := other.post("/console/tokens", url.Values{"name": {"other"}, "role": {string(store.RoleViewer)}}); p.Status != http.StatusForbidden {
		t.Fatalf("another session of the same user: %d", p.Status)
	}
	// The current password, asked to change it, is guessed no faster
	// than at the sign-in form.
	for range signInAccountLimit {
		other.post("/console/account/password", url.Values{"current_password": {"guess"}, "new_password": {"a new long password"}})
	}
	p = other.post("/console/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a new long password"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "too many wrong tries") {
		t.Fatalf("the right password past the limit: %d", p.Status)
	}
}
