package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
)

// consoleBrowser opens Chromium on the server, collecting console problems
// (script errors, CSP violations) for the end of the test.
func consoleBrowser(t *testing.T, ts *testServer) (context.Context, *consoleProblems) {
	t.Helper()
	ctx := newBrowser(t)
	var problems consoleProblems
	if err := problems.listen(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, &problems
}

// waitFlash waits for the confirmation the redirect after a form asks for
// by code (flashes): not any .flash, which the page the form was on may
// show too, so that the next step does not act on the page being left.
func waitFlash(code string) chromedp.Action[chromedp.Void] {
	text, ok := flashes[code]
	if !ok || strings.Contains(text, `"`) {
		panic("waitFlash: no flash " + code + " an XPath string can name")
	}
	return chromedp.WaitVisible(chromedp.Search(`//p[@class="flash" and normalize-space(.)="` + text + `"]`))
}

func browse(t *testing.T, ctx context.Context, problems *consoleProblems, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v (console: %q)", what, err, problems.get())
	}
}

func read(t *testing.T, ctx context.Context, what string, a chromedp.Action[string]) string {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return strings.Join(strings.Fields(v), " ")
}

// signInWithBrowser fills the sign-in form from the keyboard.
func signInWithBrowser(t *testing.T, ctx context.Context, problems *consoleProblems, ts *testServer, email, password string) {
	t.Helper()
	browse(t, ctx, problems, "sign in",
		chromedp.Navigate(ts.URL+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password+"\r"),
		// The next page has either the signed-in header or the form's error.
		chromedp.WaitVisible(chromedp.CSS(".whoami, #login-error")),
	)
}

func noProblems(t *testing.T, ctx context.Context, problems *consoleProblems, expected ...string) {
	t.Helper()
	read(t, ctx, "ready state", chromedp.Evaluate[string](`document.readyState`))
next:
	for _, p := range problems.get() {
		for _, e := range expected {
			if strings.Contains(p, e) {
				continue next
			}
		}
		t.Errorf("browser reported a problem: %s", p)
	}
}

func TestBrowserConsoleIncidentFromFormToPublicPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	web := ts.createComponent(t, "Website", nil)
	ts.createComponent(t, "Email", nil)
	ts.addUser(t, "cmd@example.com", store.RoleCommander)
	ctx, problems := consoleBrowser(t, ts)

	signInWithBrowser(t, ctx, problems, ts, "cmd@example.com", testPassword)
	browse(t, ctx, problems, "dashboard", chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := read(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); got != "Dashboard" {
		t.Fatalf("after sign-in the page reads %q, want the dashboard", got)
	}

	browse(t, ctx, problems, "open the incident form",
		chromedp.Navigate(ts.URL+"/console/incidents/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Logins failing"),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "We are investigating failed logins."),
		chromedp.SetValue(chromedp.CSS("#f-component-"+api.ID), "major_outage"),
		chromedp.SetValue(chromedp.CSS("#f-component-"+web.ID), "partial_outage"),
		// The script previews the message as it is typed.
		chromedp.WaitVisible(chromedp.CSS("#preview-body p")),
		chromedp.Click(chromedp.CSS(`button[value="submit"]`)),
		waitFlash("incident-created"),
	)
	loc := read(t, ctx, "location", chromedp.Location())
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], ts.URL+"/console/incidents/")
	inc, err := ts.store.GetIncident(t.Context(), id)
	if err != nil || len(inc.Components) != 2 {
		t.Fatalf("incident %q from the form: %+v, %v; want two components", id, inc, err)
	}

	ts.waitFresh(t)
	browse(t, ctx, problems, "public page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#inc-"+id)))
	if got := read(t, ctx, "incident", chromedp.Text(chromedp.CSS("#inc-"+id))); got != "Logins failing" {
		t.Errorf("public page shows %q", got)
	}
	if got := read(t, ctx, "API status", chromedp.Text(chromedp.CSS("#component-"+api.ID+" .status"))); got != "Major Outage" {
		t.Errorf("API on the public page: %q", got)
	}

	post := func(status, body string) {
		browse(t, ctx, problems, "post "+status,
			chromedp.Navigate(ts.URL+"/console/incidents/"+id),
			chromedp.WaitVisible(chromedp.CSS("#f-body")),
			chromedp.Click(chromedp.CSS(`input[name=status][value=`+status+`]`)),
			chromedp.SendKeys(chromedp.CSS("#f-body"), body),
			chromedp.Click(chromedp.CSS(`button[value="submit"]`)),
			waitFlash("update-posted"),
		)
	}
	post("identified", "A database migration locked the users table.")
	post("resolved", "Rolled back; logins work again.")
	inc, _ = ts.store.GetIncident(t.Context(), id)
	if inc.Status != store.Resolved || len(inc.Updates) != 3 {
		t.Fatalf("after resolving in the browser: %s with %d updates", inc.Status, len(inc.Updates))
	}
	ts.waitFresh(t)
	browse(t, ctx, problems, "public incident page", chromedp.Navigate(ts.URL+"/incidents/"+id), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := read(t, ctx, "timeline", chromedp.Text(chromedp.CSS(".timeline"))); !strings.Contains(got, "Resolved") || !strings.Contains(got, "Rolled back") {
		t.Errorf("public timeline reads %q", got)
	}
	browse(t, ctx, problems, "public page again", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#overall-status")))
	if got := read(t, ctx, "banner", chromedp.Text(chromedp.CSS("#overall-status"))); got != "All Systems Operational" {
		t.Errorf("banner after resolving: %q", got)
	}
	noProblems(t, ctx, problems)
}

func TestBrowserConsoleCommanderCannotOpenUsers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser(t, "cmd@example.com", store.RoleCommander)
	ctx, problems := consoleBrowser(t, ts)
	signInWithBrowser(t, ctx, problems, ts, "cmd@example.com", testPassword)
	browse(t, ctx, problems, "dashboard", chromedp.WaitVisible(chromedp.CSS("nav")))
	if got := read(t, ctx, "nav", chromedp.Text(chromedp.CSS("header nav"))); strings.Contains(got, "Users") {
		t.Errorf("a commander's navigation offers Users: %q", got)
	}
	browse(t, ctx, problems, "users page", chromedp.Navigate(ts.URL+"/console/users"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := read(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); got != "Not allowed" {
		t.Errorf("a commander opening /console/users reads %q, want Not allowed", got)
	}
	if got := read(t, ctx, "users table", chromedp.Evaluate[string](`String(document.querySelectorAll("table").length)`)); got != "0" {
		t.Errorf("the refused page lists %s tables", got)
	}
}

func TestBrowserConsoleWrongPasswordGenericMessage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser(t, "ann@example.com", store.RoleAdmin)
	ctx, problems := consoleBrowser(t, ts)
	for _, email := range []string{"ann@example.com", "nobody@example.com"} {
		signInWithBrowser(t, ctx, problems, ts, email, "wrong password")
		browse(t, ctx, problems, "error", chromedp.WaitVisible(chromedp.CSS("#login-error")))
		if got := read(t, ctx, "message", chromedp.Text(chromedp.CSS("#login-error"))); got != signInFailed {
			t.Errorf("%s: message %q, want the generic one", email, got)
		}
	}
	// A failed sign-in answers 401, which Chromium logs; nothing else may appear.
	noProblems(t, ctx, problems, "status of 401 (Unauthorized)")
}
