package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
)

// The commander's main path in a real browser, as in the worst hour: open
// an incident from the dashboard (Enter in the title posts it, though a
// template is on offer), post an update, correct a typo in it, resolve,
// and write the postmortem; each step leaves the public page saying the
// right thing. Each step's page is kept as a screenshot (see screenshotDir).
func TestBrowserCommanderMainPath(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Website", nil)
	if _, err := ts.store.CreateIncidentTemplate(t.Context(), store.IncidentTemplateInput{Name: "Investigating", Title: "Degraded service",
		Status: store.Investigating, Body: "We are investigating."}); err != nil {
		t.Fatal(err)
	}
	ts.addUser(t, "cmd@example.com", store.RoleCommander)
	dir := screenshotDir(t)
	ctx, problems := consoleBrowser(t, ts)
	step := func(name string) {
		t.Helper()
		browse(t, ctx, problems, "viewport", chromedp.EmulateViewport(1280, 900))
		shoot(t, ctx, dir, "path-"+name+"-1280.png")
		browse(t, ctx, problems, "viewport", chromedp.EmulateViewport(390, 900))
		shoot(t, ctx, dir, "path-"+name+"-390.png")
		browse(t, ctx, problems, "viewport", chromedp.EmulateViewport(1280, 900))
	}

	signInWithBrowser(t, ctx, problems, ts, "cmd@example.com", testPassword)
	browse(t, ctx, problems, "open the incident form from the dashboard",
		chromedp.Click(chromedp.CSS(`main a[href="/console/incidents/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "We are investigatng failed logins."),
		chromedp.SetValue(chromedp.CSS("#f-component-"+api.ID), "major_outage"),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Logins failing\r"),
		waitFlash("incident-created"),
	)
	loc := read(t, ctx, "location", chromedp.Location())
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], ts.URL+"/console/incidents/")
	inc, err := ts.store.GetIncident(t.Context(), id)
	if err != nil || inc.Name != "Logins failing" || inc.Updates[0].Body != "We are investigatng failed logins." {
		t.Fatalf("Enter in the title did not open the incident as typed: %q %+v, %v", id, inc, err)
	}
	step("opened")

	browse(t, ctx, problems, "post an update",
		chromedp.Click(chromedp.CSS(`input[name=status][value=identified]`)),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "A schema change locked the sessions table; rolling back."),
		chromedp.Click(chromedp.CSS(`.actions button[value="submit"]`)),
		waitFlash("update-posted"),
	)
	first := inc.Updates[0]
	browse(t, ctx, problems, "correct the first update",
		chromedp.Click(chromedp.CSS(`#update-`+first.ID+` a[href$="/edit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-body")),
		chromedp.Clear(chromedp.CSS("#f-body")),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "We are investigating failed logins."),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		waitFlash("update-corrected"),
	)
	if got := read(t, ctx, "entry", chromedp.Text(chromedp.CSS("#update-"+first.ID))); !strings.Contains(got, "We are investigating failed logins.") || !strings.Contains(got, "edited") {
		t.Errorf("the corrected entry reads %q", got)
	}
	step("corrected")
	ts.waitFresh(t)
	browse(t, ctx, problems, "the public incident page", chromedp.Navigate(ts.URL+"/incidents/"+id), chromedp.WaitVisible(chromedp.CSS(".timeline")))
	if got := read(t, ctx, "timeline", chromedp.Text(chromedp.CSS(".timeline"))); !strings.Contains(got, "We are investigating failed logins.") ||
		strings.Contains(got, "investigatng") || !strings.Contains(got, "edited") {
		t.Errorf("the public timeline reads %q: want the correction, marked edited", got)
	}

	browse(t, ctx, problems, "resolve",
		chromedp.Navigate(ts.URL+"/console/incidents/"+id),
		chromedp.WaitVisible(chromedp.CSS("#f-body")),
		chromedp.Click(chromedp.CSS(`input[name=status][value=resolved]`)),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "Rolled back; logins work again."),
		chromedp.Click(chromedp.CSS(`.actions button[value="submit"]`)),
		waitFlash("update-posted"),
	)
	step("resolved")
	browse(t, ctx, problems, "write the postmortem",
		chromedp.Click(chromedp.CSS(`a[href="/console/incidents/`+id+`/postmortem"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-root_cause")),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "Logins failed for 40 minutes."),
		chromedp.SendKeys(chromedp.CSS("#f-root_cause"), "A schema change took a lock on the sessions table."),
		chromedp.Click(chromedp.CSS(`button[value="publish"]`)),
		waitFlash("postmortem-published"),
	)
	step("postmortem")
	ts.waitFresh(t)
	browse(t, ctx, problems, "the public postmortem", chromedp.Navigate(ts.URL+"/incidents/"+id), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := read(t, ctx, "public page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(got, "A schema change took a lock on the sessions table.") || !strings.Contains(got, "Resolved") {
		t.Errorf("the public page after the postmortem reads %q", got)
	}
	step("public")
	noProblems(t, ctx, problems)
}
