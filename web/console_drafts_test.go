package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-status/herald/store"
)

// A draft from Alertmanager is the first thing on the console dashboard,
// with its age and the alerts behind it, and the navigation counts it.
func TestConsoleDashboardShowsDraftsFirst(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Database", nil)
	_, res := ts.alert(t, fixture(t, "firing.json"))
	viewer := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))

	p := viewer.get("/console")
	if p.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.Status)
	}
	first := p.Doc.Find("main section").First()
	if id, _ := first.Attr("id"); id != "drafts" {
		t.Fatalf("the dashboard's first section is %q, want the drafts", id)
	}
	card := first.Find(".draft-card")
	if card.Length() != 1 || !strings.Contains(text(card), "Opened by Alertmanager") || !strings.Contains(text(card), "ago") && !strings.Contains(text(card), "just now") {
		t.Errorf("draft card reads %q: want who opened it and how long ago", text(card))
	}
	for _, want := range []string{"HighErrorRate", "API error rate above 5%", "severity=critical", "Affects: API", "since"} {
		if !strings.Contains(text(card), want) {
			t.Errorf("draft card lacks %q: %q", want, text(card))
		}
	}
	if nav := text(p.Doc.Find(`nav[aria-label="Console"]`)); !strings.Contains(nav, "1 draft") {
		t.Errorf("navigation reads %q, want the number of drafts", nav)
	}
	if card.Find(`a.button`).Length() != 0 {
		t.Error("a viewer is offered to publish")
	}
	// The section the page script refreshes is the same alone.
	frag := viewer.get("/console/dashboard/drafts")
	if frag.Status != http.StatusOK || frag.Doc.Find("#drafts .draft-card").Length() != 1 {
		t.Errorf("the refreshed drafts section: %d, %d cards", frag.Status, frag.Doc.Find("#drafts .draft-card").Length())
	}
	// The draft's id in the incidents area opens the draft.
	if r := viewer.get("/console/incidents/" + res.IncidentID); r.Status != http.StatusSeeOther || location(r) != "/console/drafts/"+res.IncidentID {
		t.Errorf("/console/incidents/<draft>: %d to %q, want the draft's page", r.Status, location(r))
	}
	if r := viewer.post("/console/drafts/"+res.IncidentID+"/publish", url.Values{"name": {"X"}, "body": {"x"}}); r.Status != http.StatusForbidden {
		t.Errorf("a viewer publishing: %d, want 403", r.Status)
	}
}

// A commander publishes a draft in one step with their own words: the
// public page then shows the incident, from when its alert began, and a
// second commander publishing the same draft is told it is done.
func TestConsolePublishDraftWithEdits(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Database", nil)
	_, res := ts.alert(t, fixture(t, "firing.json"))
	one := ts.signedIn(t, ts.addUser(t, "one@example.com", store.RoleCommander))
	two := ts.signedIn(t, ts.addUser(t, "two@example.com", store.RoleCommander))

	page := one.get("/console/drafts/" + res.IncidentID)
	if page.Status != http.StatusOK || page.Doc.Find(`form[action$="/publish"]`).Length() != 1 {
		t.Fatalf("draft page: %d", page.Status)
	}
	if v, _ := page.Doc.Find(`select[name="component.` + api.ID + `"] option[selected]`).Attr("value"); v != "major_outage" {
		t.Errorf("the form proposes %q for API, want the alert's major_outage", v)
	}
	form := url.Values{"name": {"Logins failing"}, "status": {"identified"}, "impact": {"major"},
		"body": {"Logins fail for many users. We are rolling back a change."}, "component." + api.ID: {"partial_outage"},
		"next_update_in": {"30"}, "notify": {"on"}}
	var wg sync.WaitGroup
	var first, second consolePage
	wg.Go(func() { first = one.post("/console/drafts/"+res.IncidentID+"/publish", maps.Clone(form)) })
	wg.Go(func() { second = two.post("/console/drafts/"+res.IncidentID+"/publish", maps.Clone(form)) })
	wg.Wait()
	published, refused := first, second
	if second.Status == http.StatusSeeOther {
		published, refused = second, first
	}
	if published.Status != http.StatusSeeOther || location(published) != "/console/incidents/"+res.IncidentID+"?msg=draft-published" {
		t.Fatalf("publish: %d to %q", published.Status, location(published))
	}
	if refused.Status != http.StatusConflict || !strings.Contains(refused.Body, "published") {
		t.Errorf("the second publish: %d %q, want 409 saying it is already published", refused.Status, refused.Body)
	}
	inc, err := ts.store.GetIncident(t.Context(), res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Name != "Logins failing" || inc.Status != store.Identified || inc.Impact != store.ImpactMajor || len(inc.Updates) != 1 ||
		inc.Updates[0].Body != "Logins fail for many users. We are rolling back a change." {
		t.Errorf("published %+v: want the commander's words, once", inc)
	}
	if want := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC); !inc.StartedAt.Equal(want) || inc.NextUpdateAt == nil {
		t.Errorf("started %s, next update %v: want the alert's start and the promise", inc.StartedAt, inc.NextUpdateAt)
	}
	home, _ := ts.page(t, "/incidents/"+inc.ID)
	if got := text(home.Find(".facts")); !strings.Contains(got, "Impact began") || !strings.Contains(got, "Next update") {
		t.Errorf("the public incident page reads %q: want when the impact began and the next update", got)
	}
	if drafts, _ := ts.store.CountDrafts(t.Context()); drafts != 0 {
		t.Errorf("%d drafts left", drafts)
	}
}

// A false alarm is discarded from its page; nothing is published.
func TestConsoleDiscardDraft(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Database", nil)
	_, res := ts.alert(t, fixture(t, "firing.json"))
	cmd := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	if r := cmd.post("/console/drafts/"+res.IncidentID+"/discard", nil); r.Status != http.StatusSeeOther || location(r) != "/console?msg=draft-discarded" {
		t.Fatalf("discard: %d to %q", r.Status, location(r))
	}
	if n, _ := ts.store.CountDrafts(t.Context()); n != 0 {
		t.Errorf("%d drafts after discarding", n)
	}
	if list := ts.adminIncidents(t); len(list) != 0 {
		t.Errorf("discarding published %d incidents", len(list))
	}
	if r := cmd.get("/console"); strings.Contains(text(r.Doc.Find("nav")), "draft") {
		t.Error("the navigation still counts a draft")
	}
}

// In a real browser: a draft appears on an open dashboard without a
// reload, and is published from there.
func TestBrowserDraftAppearsAndIsPublished(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Database", nil)
	ts.addUser(t, "cmd@example.com", store.RoleCommander)
	ctx, problems := consoleBrowser(t, ts)
	signInWithBrowser(t, ctx, problems, ts, "cmd@example.com", testPassword)
	browse(t, ctx, problems, "the empty dashboard", chromedp.WaitVisible(chromedp.CSS("#drafts")))
	if n := read(t, ctx, "cards", chromedp.Evaluate[string](`String(document.querySelectorAll("#drafts .draft-card").length)`)); n != "0" {
		t.Fatalf("%s drafts before any alert", n)
	}
	// The page's own marker survives only if the page is not reloaded.
	browse(t, ctx, problems, "mark the page", chromedp.Evaluate[chromedp.Void](`window.heraldMarker = "same page"`))
	_, res := ts.alert(t, fixture(t, "firing.json"))
	browse(t, ctx, problems, "the draft to appear", chromedp.WaitVisible(chromedp.CSS("#drafts .draft-card a.button")))
	if m := read(t, ctx, "marker", chromedp.Evaluate[string](`String(window.heraldMarker)`)); m != "same page" {
		t.Error("the dashboard reloaded to show the draft")
	}
	browse(t, ctx, problems, "review",
		chromedp.Click(chromedp.CSS("#drafts .draft-card a.button")),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/publish"] textarea[name=body]`)),
		chromedp.Clear(chromedp.CSS("#f-body")),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "Logins are failing for some users. We are on it."),
		chromedp.Click(chromedp.CSS(`form[action$="/publish"] button[value=submit]`)),
		waitFlash("draft-published"),
	)
	if got := read(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(got, "Draft published") {
		t.Errorf("after publishing the console says %q", got)
	}
	inc, err := ts.store.GetIncident(t.Context(), res.IncidentID)
	if err != nil || inc.Updates[0].Body != "Logins are failing for some users. We are on it." {
		t.Fatalf("published %+v, %v", inc, err)
	}
	noProblems(t, ctx, problems)
}

// The incident's console page tells its time to tell, and the report sums
// the months up.
func TestConsoleTimeToTell(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withPublicMetrics())
	api := ts.createComponent(t, "API", nil)
	began := time.Now().UTC().Add(-47 * time.Minute).Truncate(time.Second)
	inc := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "Looking.", "started_at": began,
		"components": map[string]string{api.ID: "major_outage"}})
	viewer := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))
	p := viewer.get("/console/incidents/" + inc.ID)
	clock := text(p.Doc.Find(".clock"))
	for _, want := range []string{"First public update 47 min after the impact began", "no subscriber reached yet", "Impact began", "First public post", "+47 min"} {
		if !strings.Contains(clock, want) {
			t.Errorf("time to tell reads %q, want %q", clock, want)
		}
	}
	r := viewer.get("/console/report")
	if r.Status != http.StatusOK || r.Doc.Find("svg[role=img]").Length() != 1 {
		t.Fatalf("report: %d, chart %d", r.Status, r.Doc.Find("svg").Length())
	}
	row := text(r.Doc.Find("tbody tr").First())
	for _, want := range []string{"1", "47 min", "Logins failing"} {
		if !strings.Contains(row, want) {
			t.Errorf("report row %q lacks %q", row, want)
		}
	}
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	cmd := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	editor := text(cmd.get("/console/incidents/" + inc.ID + "/postmortem").Doc.Find("#f-body"))
	if !strings.Contains(editor, "Communication timeline") || !strings.Contains(editor, "first public update (47 min after the impact began)") {
		t.Errorf("the postmortem's first draft reads %q: want the communication timeline", editor)
	}
	h := sample(scrape(t, ts, ""), "herald_incident_time_to_public_seconds", nil).GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 47*60 {
		t.Errorf("/metrics time to public: %d incidents, %v s; want 1 and 2820", h.GetSampleCount(), h.GetSampleSum())
	}
}

// In an alert storm the dashboard keeps every draft in sight: the newest
// as cards with their alerts, the rest one row each.
func TestConsoleDashboardManyDrafts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	for i := range 12 {
		if _, err := ts.store.ApplyAlerts(t.Context(), store.AlertBatch{GroupKey: fmt.Sprint("g", i), Name: fmt.Sprint("Alert storm ", i), OnResolved: store.Resolved,
			Alerts: []store.Alert{{Fingerprint: fmt.Sprint("f", i), Title: "Errors", Component: api.ID, Status: store.PartialOutage, Firing: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	viewer := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))
	p := viewer.get("/console")
	if n := p.Doc.Find("#drafts .draft-card").Length(); n != 10 {
		t.Errorf("%d draft cards, want the 10 newest", n)
	}
	rows := p.Doc.Find("#drafts .more-drafts tbody tr")
	if rows.Length() != 2 || !strings.Contains(text(p.Doc.Find("#drafts .more-drafts caption")), "2 more drafts") {
		t.Errorf("%d compact rows (%q), want the 2 oldest", rows.Length(), text(p.Doc.Find("#drafts .more-drafts caption")))
	}
	if href, _ := rows.First().Find("a").Attr("href"); !strings.HasPrefix(href, "/console/drafts/") {
		t.Errorf("a compact row links to %q, want its draft page", href)
	}
	checkAccessible(t, "/console", p.Doc)
}
