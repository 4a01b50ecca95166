package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"

	"github.com/herald-status/herald/store"
)

// Page tests read the public pages the way a visitor (or a screen reader)
// does: they parse the HTML and look for words, landmarks and links, not for
// markup details that could change without the visitor noticing.

// okPage is ts.page for a page that must exist, checked for the rules every
// public page follows.
func (ts *testServer) okPage(t *testing.T, path string) *goquery.Document {
	t.Helper()
	doc, resp := ts.page(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", path, resp.StatusCode)
	}
	checkAccessible(t, path, doc)
	checkHarmless(t, path, doc)
	return doc
}

// checkHarmless fails if the page carries anything that could run script:
// inline or foreign scripts, event-handler attributes, javascript: URLs,
// frames and plugins. Our own page has exactly one script, from /static/.
func checkHarmless(t *testing.T, path string, doc *goquery.Document) {
	t.Helper()
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		src, _ := s.Attr("src")
		if !strings.HasPrefix(src, "/static/") || strings.TrimSpace(s.Text()) != "" {
			t.Errorf("%s: unexpected script element %s", path, outer(s))
		}
	})
	if n := doc.Find("iframe, frame, object, embed, applet, form, base, meta[http-equiv]").Length(); n > 0 {
		t.Errorf("%s: %d iframe/object/embed/form/base/meta-refresh elements", path, n)
	}
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			name := strings.ToLower(a.Key)
			if strings.HasPrefix(name, "on") {
				t.Errorf("%s: event-handler attribute %s=%q on <%s>", path, a.Key, a.Val, goquery.NodeName(s))
			}
			switch name {
			case "href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data":
				v := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
				if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") || strings.HasPrefix(v, "data:text/html") {
					t.Errorf("%s: script URL %s=%q on <%s>", path, a.Key, a.Val, goquery.NodeName(s))
				}
			case "style":
				// The CSP forbids inline styles; one would be both blocked and a sign of unescaped input.
				t.Errorf("%s: inline style attribute on <%s>", path, goquery.NodeName(s))
			}
		}
	})
	if n := doc.Find("style").Length(); n > 0 {
		t.Errorf("%s: %d inline <style> elements, which the CSP blocks", path, n)
	}
}

func outer(s *goquery.Selection) string {
	var b bytes.Buffer
	_ = html.Render(&b, s.Nodes[0])
	return b.String()
}

// texts is the normalised text of each element of the selection.
func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, e *goquery.Selection) { out = append(out, text(e)) })
	return out
}

func TestPageBanner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []string
		want     string
	}{
		{"no components", nil, "All Systems Operational"},
		{"all operational", []string{"operational", "operational"}, "All Systems Operational"},
		{"one degraded", []string{"operational", "degraded_performance"}, "Degraded Performance"},
		{"one partial outage", []string{"operational", "degraded_performance", "partial_outage"}, "Partial System Outage"},
		{"one major outage", []string{"partial_outage", "major_outage", "operational"}, "Major System Outage"},
		{"maintenance only", []string{"operational", "under_maintenance"}, "Service Under Maintenance"},
		{"degradation outranks maintenance", []string{"under_maintenance", "degraded_performance"}, "Degraded Performance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			for i, st := range tt.statuses {
				ts.createComponent(t, fmt.Sprintf("Component %d", i), map[string]any{"status": st})
			}
			doc := ts.okPage(t, "/")
			banner := doc.Find("#overall-status")
			if got := text(banner); got != tt.want {
				t.Errorf("banner reads %q, want %q", got, tt.want)
			}
			// The banner's colour is backed by an icon that screen readers skip
			// and by the words above.
			if doc.Find(".banner svg[aria-hidden=true]").Length() != 1 {
				t.Errorf("banner has no decorative icon beside its text")
			}
		})
	}
}

func TestPageComponentsShowStatusInWords(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var core, edge map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core services"}, &core)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Edge"}, &edge)
	ts.createComponent(t, "Website", nil)
	ts.createComponent(t, "API", map[string]any{"group_id": core["id"], "status": "partial_outage"})
	ts.createComponent(t, "Database", map[string]any{"group_id": core["id"], "status": "degraded_performance"})
	ts.createComponent(t, "CDN", map[string]any{"group_id": edge["id"], "status": "major_outage"})
	ts.createComponent(t, "DNS", map[string]any{"group_id": edge["id"], "status": "under_maintenance"})

	doc := ts.okPage(t, "/")

	want := map[string]string{
		"Website":  "Operational",
		"API":      "Partial Outage",
		"Database": "Degraded Performance",
		"CDN":      "Major Outage",
		"DNS":      "Under Maintenance",
	}
	seen := map[string]bool{}
	doc.Find(".components .component").Each(func(_ int, c *goquery.Selection) {
		name := text(c.Find(".component-name"))
		seen[name] = true
		status := c.Find(".status")
		if got := text(status); got != want[name] {
			t.Errorf("%s: status reads %q, want %q", name, got, want[name])
		}
		// Never colour alone: a decorative icon next to the words.
		if status.Find("svg[aria-hidden=true]").Length() != 1 {
			t.Errorf("%s: status %q has no aria-hidden icon beside it", name, text(status))
		}
	})
	for name := range want {
		if !seen[name] {
			t.Errorf("component %s not on the page", name)
		}
	}

	// Groups are headings followed by their own components.
	groups := map[string][]string{}
	doc.Find(".components .group").Each(func(_ int, g *goquery.Selection) {
		heading := text(g.Find("h3"))
		groups[heading] = texts(g.Find(".component-name"))
	})
	for heading, members := range map[string][]string{
		"":              {"Website"},
		"Core services": {"API", "Database"},
		"Edge":          {"CDN", "DNS"},
	} {
		if got := strings.Join(groups[heading], ","); got != strings.Join(members, ",") {
			t.Errorf("group %q lists %q, want %q", heading, got, strings.Join(members, ","))
		}
	}
	if got := texts(doc.Find(".components h3")); strings.Join(got, ",") != "Core services,Edge" {
		t.Errorf("group headings %q, want Core services, Edge", got)
	}
}

// A page named "Acme Status" is called that everywhere it names itself,
// not "Acme Status Status".
func TestPageNamedStatus(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions(), func(s *testSetup) { s.cfg.PageName = "Acme Status" })
	home := ts.okPage(t, "/")
	if got := text(home.Find("head title")); got != "Acme Status" {
		t.Errorf("title %q", got)
	}
	if got := text(home.Find("h1")); got != "Acme Status" {
		t.Errorf("h1 %q", got)
	}
	if got, _ := home.Find(`link[type="application/atom+xml"]`).Attr("title"); got != "Acme Status history (Atom)" {
		t.Errorf("feed link %q", got)
	}
	subscribe, _ := ts.getPage(t, "/subscribe") // a form, which okPage refuses
	if got := text(subscribe.Find("h1")); got != "Get Acme Status updates by email" {
		t.Errorf("subscribe h1 %q", got)
	}
	_, feed := ts.fetch(t, "GET", "/history.atom", nil)
	if !strings.Contains(string(feed), "<title>Acme Status history</title>") {
		t.Errorf("the feed's title is not Acme Status history:\n%.300s", feed)
	}
	for _, doc := range []*goquery.Document{home, ts.okPage(t, "/history"), subscribe} {
		if html, _ := doc.Html(); strings.Contains(strings.ToLower(html), "status status") {
			t.Errorf("a page says \"Status Status\": %q", text(doc.Find("title")))
		}
	}
}

// outage has an incident take the component down at from and resolve it
// lasted later, the store's clock moved to each; the clock is left at the
// end (realClock puts it back).
func (ts *testServer) outage(t *testing.T, componentID string, from time.Time, lasted time.Duration) {
	t.Helper()
	ts.at(t, from)
	inc := ts.createIncident(t, map[string]any{"name": "Outage", "body": "Down.", "components": map[string]string{componentID: "major_outage"}})
	ts.at(t, from.Add(lasted))
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Back."}, nil)
}

// The 90-day bar is a day a bar, each with its date and worst status in
// words: what a screen reader reads, and what a hover or a tap shows.
func TestPageUptimeBarHasTextAlternative(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	now := time.Now().UTC()
	ts.at(t, now.AddDate(0, 0, -100))
	steady := ts.createComponent(t, "Steady", nil)
	ts.at(t, now.AddDate(0, 0, -10))
	flaky := ts.createComponent(t, "Flaky", nil)
	// Early in the day, so that the six hours end on the day they began
	// whatever the hour the test runs at.
	outageStart := time.Date(now.Year(), now.Month(), now.Day()-3, 2, 0, 0, 0, time.UTC)
	ts.outage(t, flaky.ID, outageStart, 6*time.Hour)
	ts.realClock()
	// A change made now rebuilds the page by today's clock.
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+steady.ID, map[string]any{"description": "Never down"}, nil)

	doc := ts.okPage(t, "/")
	for _, c := range []struct {
		id, name string
		days     int    // list items: one a day, and one for the days before it existed
		legend   string // the middle of the legend
	}{
		{steady.ID, "Steady", 90, "100.00% uptime"},
		// Six hours of major outage in eleven whole days.
		{flaky.ID, "Flaky", 1 + 11, fmt.Sprintf("%.2f%% uptime since %s", 100*(1-6.0/(11*24)), now.AddDate(0, 0, -10).Format("Jan 2"))},
	} {
		bar := doc.Find("#component-" + c.id + " ol.days")
		if bar.Length() != 1 {
			t.Fatalf("%s: no uptime bar", c.name)
		}
		if label, _ := bar.Attr("aria-label"); !strings.Contains(label, c.name) {
			t.Errorf("%s: the bar's label %q does not name the component", c.name, label)
		}
		days := bar.Children()
		if days.Length() != c.days {
			t.Errorf("%s: %d bars, want %d", c.name, days.Length(), c.days)
		}
		days.Each(func(i int, d *goquery.Selection) {
			// Focusable, so that a tap shows its words without a script.
			if ti, _ := d.Attr("tabindex"); ti != "-1" || text(d) == "" {
				t.Errorf("%s: day %d is %s, want a focusable item with its words", c.name, i, outer(d))
			}
		})
		if got := text(doc.Find("#component-" + c.id + " .uptime-legend")); !strings.Contains(got, c.legend) {
			t.Errorf("%s: legend %q, want %q", c.name, got, c.legend)
		}
		if today := text(days.Last()); today != now.Format("Jan 2, 2006")+": Operational" {
			t.Errorf("%s: today reads %q", c.name, today)
		}
	}
	flakyDays := doc.Find("#component-" + flaky.ID + " ol.days").Children()
	if got, want := text(flakyDays.First()), "No data before "+now.AddDate(0, 0, -10).Format("Jan 2"); got != want {
		t.Errorf("Flaky's days before it existed read %q, want one segment %q", got, want)
	}
	bad := outageStart.Format("Jan 2, 2006") + ": Major Outage, major outage 6 h"
	if !strings.Contains(text(flakyDays), bad) {
		t.Errorf("Flaky's bar does not say %q: %q", bad, text(flakyDays))
	}
	if bad := doc.Find("#component-" + flaky.ID + " ol.days li.st-major_outage"); bad.Length() != 1 || !strings.HasPrefix(text(bad), outageStart.Format("Jan 2, 2006")) {
		t.Errorf("the outage day is not drawn as a major outage: %d such days", bad.Length())
	}
}

// The brief's alarm: a 4-minute outage on a component added 9 minutes ago
// read "51.73% uptime". A component younger than a day gives no
// percentage; it says since when it exists, as the Statuspage API's
// start_date does.
func TestPageUptimeOfAYoungComponent(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	now := time.Now().UTC()
	ts.at(t, now.Add(-9*time.Minute))
	c := ts.createComponent(t, "New search", nil)
	ts.outage(t, c.ID, now.Add(-6*time.Minute), 4*time.Minute)
	ts.realClock()
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+c.ID, map[string]any{"description": "Full-text search"}, nil)

	doc := ts.okPage(t, "/")
	uptime := doc.Find("#component-" + c.ID + " .uptime")
	since := now.Add(-9 * time.Minute).Format("Jan 2")
	if got := text(uptime.Find(".uptime-legend")); got != "90 days ago Since "+since+" Today" {
		t.Errorf("legend reads %q, want only since when it exists", got)
	}
	if strings.Contains(text(uptime), "%") {
		t.Errorf("a 9-minute-old component shows a percentage: %q", text(uptime))
	}
	days := uptime.Find("ol.days").Children()
	if days.Length() != 2 || !days.First().HasClass("nodata") {
		t.Fatalf("%d items, want the days before it existed as one, then today", days.Length())
	}
	if got, want := text(days.Last()), now.Format("Jan 2, 2006")+": Major Outage, major outage 4 min"; got != want {
		t.Errorf("today reads %q, want %q", got, want)
	}

	var comps struct {
		Components []struct {
			ID        string `json:"id"`
			StartDate string `json:"start_date"`
		} `json:"components"`
	}
	ts.mustCall(t, http.StatusOK, "GET", "/api/v2/components.json", nil, &comps)
	for _, sc := range comps.Components {
		if start, _ := time.Parse(time.DateOnly, sc.StartDate); sc.ID == c.ID && start.Format("Jan 2") != since {
			t.Errorf("the API's start_date %s and the page's since %s disagree", sc.StartDate, since)
		}
	}
}

func TestPageActiveIncidentsNewestUpdateFirst(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	web := ts.createComponent(t, "Web app", nil)
	inc := ts.createIncident(t, map[string]any{
		"name": "Logins failing", "body": "We are investigating failed logins.",
		"components": map[string]string{api.ID: "major_outage", web.ID: "partial_outage"},
	})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates",
		map[string]any{"status": "identified", "body": "A database change is the cause."}, nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates",
		map[string]any{"status": "monitoring", "body": "The change is rolled back; logins recover.", "components": map[string]string{api.ID: "degraded_performance"}}, nil)
	gone := ts.createIncident(t, map[string]any{"name": "Old blip", "body": "Blip."})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+gone.ID+"/updates", map[string]any{"status": "resolved", "body": "Gone."}, nil)

	doc := ts.okPage(t, "/")
	active := doc.Find(".incidents article")
	if active.Length() != 1 {
		t.Fatalf("%d active incidents shown, want 1: %q", active.Length(), texts(active.Find("h3")))
	}
	if got := text(active.Find("h3")); got != "Logins failing" {
		t.Errorf("active incident heading %q", got)
	}
	if href, _ := active.Find("h3 a").Attr("href"); href != "/incidents/"+inc.ID {
		t.Errorf("active incident links to %q", href)
	}
	meta := text(active.Find(".meta"))
	for _, want := range []string{"Impact: Critical", "API", "Web app"} {
		if !strings.Contains(meta, want) {
			t.Errorf("incident meta %q lacks %q", meta, want)
		}
	}
	updates := active.Find(".timeline > li")
	wantOrder := []struct{ status, body string }{
		{"Monitoring", "The change is rolled back; logins recover."},
		{"Identified", "A database change is the cause."},
		{"Investigating", "We are investigating failed logins."},
	}
	if updates.Length() != len(wantOrder) {
		t.Fatalf("%d updates shown, want %d", updates.Length(), len(wantOrder))
	}
	updates.Each(func(i int, u *goquery.Selection) {
		if got := text(u.Find(".update-head strong")); got != wantOrder[i].status {
			t.Errorf("update %d status %q, want %q (newest first)", i, got, wantOrder[i].status)
		}
		if got := text(u.Find(".md")); got != wantOrder[i].body {
			t.Errorf("update %d reads %q, want %q", i, got, wantOrder[i].body)
		}
		if u.Find(".update-head time[datetime]").Length() != 1 {
			t.Errorf("update %d has no <time datetime>", i)
		}
	})
	if got := text(updates.First().Find(".changes")); got != "API: Major Outage → Degraded Performance" {
		t.Errorf("newest update's component change reads %q", got)
	}
	// The incident is critical, worse than Web app's partial outage: the
	// banner says what /api/v2/status.json and webhooks say (store.RollUp).
	if got := text(doc.Find("#overall-status")); got != "Major Service Outage" {
		t.Errorf("banner %q, want Major Service Outage (the open incident is critical)", got)
	}
}

func TestPageMaintenanceInProgressAndUpcoming(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	db := ts.createComponent(t, "Database", nil)
	api := ts.createComponent(t, "API", nil)
	now := time.Now().UTC().Truncate(time.Second)
	var running, upcoming, done map[string]any
	// Both earlier windows were announced ahead, a day ago.
	ts.at(t, now.Add(-24*time.Hour))
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Database upgrade", "message": "Upgrading the primary.", "components": []string{db.ID},
		"scheduled_for": now.Add(-30 * time.Minute), "scheduled_until": now.Add(time.Hour), "auto_transition": false,
	}, &running)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Finished work", "message": "Done before.", "components": []string{api.ID},
		"scheduled_for": now.Add(-3 * time.Hour), "scheduled_until": now.Add(-2 * time.Hour), "auto_transition": false,
	}, &done)
	ts.realClock()
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+running["id"].(string)+"/updates",
		map[string]any{"status": "in_progress", "body": "The upgrade has started."}, nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Network switch swap", "message": "Brief API blips expected.", "components": []string{api.ID},
		"scheduled_for": now.Add(48 * time.Hour), "scheduled_until": now.Add(50 * time.Hour),
	}, &upcoming)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+done["id"].(string)+"/updates",
		map[string]any{"status": "completed", "body": "Completed."}, nil)

	doc := ts.okPage(t, "/")
	list := doc.Find(".maintenance article")
	if got := texts(list.Find("h3")); strings.Join(got, ",") != "Database upgrade,Network switch swap" {
		t.Fatalf("maintenance shown %q, want the running one, then the upcoming one", got)
	}
	first, second := list.Eq(0), list.Eq(1)
	if got := text(first.Find(".maint-status")); got != "In progress" {
		t.Errorf("running maintenance status %q", got)
	}
	if got := text(first.Find(".md")); got != "The upgrade has started." {
		t.Errorf("running maintenance shows %q, want its latest message", got)
	}
	if got := text(second.Find(".maint-status")); got != "Scheduled" {
		t.Errorf("upcoming maintenance status %q", got)
	}
	times := second.Find("time")
	if times.Length() != 2 {
		t.Fatalf("upcoming maintenance shows %d times, want start and end", times.Length())
	}
	if dt, _ := times.Eq(0).Attr("datetime"); dt != now.Add(48*time.Hour).Format(time.RFC3339) {
		t.Errorf("upcoming maintenance starts at %q", dt)
	}
	if !strings.Contains(text(second.Find(".meta")), "Affects: API") {
		t.Errorf("upcoming maintenance meta %q does not name API", text(second.Find(".meta")))
	}
	if got := text(doc.Find("#component-" + db.ID + " .status")); got != "Under Maintenance" {
		t.Errorf("Database reads %q during its maintenance", got)
	}
	if got := text(doc.Find("#overall-status")); got != "Service Under Maintenance" {
		t.Errorf("banner %q", got)
	}
	if href, _ := first.Find("h3 a").Attr("href"); href != "/maintenance/"+running["id"].(string) {
		t.Errorf("maintenance links to %q", href)
	}
	mp := ts.okPage(t, "/maintenance/"+running["id"].(string))
	if got := text(mp.Find("h1")); got != "Database upgrade" {
		t.Errorf("maintenance page h1 %q", got)
	}
	if got := texts(mp.Find(".timeline .md")); strings.Join(got, "|") != "The upgrade has started.|Upgrading the primary." {
		t.Errorf("maintenance timeline %q", got)
	}
}

func TestPagePastIncidentsFourteenDays(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	// The page's "today" is the store's: pinned, the days are exact.
	now := time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)
	today := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	start := now.AddDate(0, 0, -3)
	ts.at(t, start)
	inc := ts.createIncident(t, map[string]any{"name": "Slow API", "body": "Requests are slow.", "components": map[string]string{api.ID: "degraded_performance"}})
	// Resolved "now", so that the snapshot the page comes from is built
	// after the clock reached now.
	ts.at(t, now)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Speed is back to normal."}, nil)

	doc := ts.okPage(t, "/")
	past := doc.Find(".past")
	if got := text(past.Find("h2")); got != "Past incidents" {
		t.Errorf("past incidents heading %q", got)
	}
	days := past.Find(".day")
	if days.Length() != 14 {
		t.Fatalf("%d days listed, want 14", days.Length())
	}
	var prev time.Time
	found := false
	days.Each(func(i int, d *goquery.Selection) {
		dt, _ := d.Find("h3 time").Attr("datetime")
		date, err := time.Parse(time.RFC3339, dt)
		if err != nil {
			t.Fatalf("day %d: heading datetime %q: %v", i, dt, err)
		}
		if i == 0 {
			if !date.Equal(today) {
				t.Errorf("first day listed is %s, want today, %s", dt, today.Format(time.DateOnly))
			}
		} else if !date.Equal(prev.AddDate(0, 0, -1)) {
			t.Errorf("day %d is %s, want the day before %s", i, dt, prev.Format(time.DateOnly))
		}
		prev = date
		if date.Format(time.DateOnly) == start.Format(time.DateOnly) {
			found = true
			if got := text(d.Find(".past-incident h4")); got != "Slow API" {
				t.Errorf("%s lists %q, want Slow API", dt, got)
			}
			if href, _ := d.Find(".past-incident h4 a").Attr("href"); href != "/incidents/"+inc.ID {
				t.Errorf("past incident links to %q", href)
			}
			if got := text(d.Find(".past-incident .md")); got != "Speed is back to normal." {
				t.Errorf("past incident shows %q, want its last update", got)
			}
			if d.Find(".quiet").Length() != 0 {
				t.Errorf("%s says no incidents but had one", dt)
			}
			return
		}
		if got := text(d.Find(".quiet")); got != "No incidents reported." {
			t.Errorf("quiet day %s reads %q", dt, text(d))
		}
	})
	if !found {
		t.Errorf("the day of the resolved incident (%s) is not listed", start.Format(time.DateOnly))
	}
	if doc.Find(".incidents article").Length() != 0 {
		t.Errorf("a resolved incident is listed as active")
	}
	if href, _ := past.Find(`a[href="/history"]`).Attr("href"); href != "/history" {
		t.Errorf("no link to the history")
	}
}

func TestPageLayoutAndAccessibility(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var g map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g)
	api := ts.createComponent(t, "API", map[string]any{"group_id": g["id"]})
	// Commanders write headings in their Markdown; they must fit under the
	// page's own (one h1, no skipped level), wherever the text is shown.
	const withHeadings = "# Summary\n\nErrors on checkout.\n\n### Details\n\nOnly card payments.\n\n###### Tiny"
	inc := ts.createIncident(t, map[string]any{"name": "Errors", "body": withHeadings, "components": map[string]string{api.ID: "partial_outage"}})
	now := time.Now().UTC()
	var m map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Upgrade", "message": withHeadings, "components": []string{api.ID},
		"scheduled_for": now.Add(24 * time.Hour), "scheduled_until": now.Add(25 * time.Hour),
	}, &m)

	// okPage checks landmarks, the single h1, heading order and times.
	doc := ts.okPage(t, "/")
	if got := text(doc.Find("h1")); got != "Acme Status" {
		t.Errorf("h1 %q", got)
	}
	if got := text(doc.Find("head title")); got != "Acme Status" {
		t.Errorf("title %q", got)
	}
	if doc.Find("main time[datetime]").Length() < 14+2+1 {
		t.Errorf("expected every day, maintenance time and update time as <time datetime>")
	}
	if doc.Find(`a.skip[href="#main"]`).Length() != 1 {
		t.Errorf("no skip link to the main content")
	}
	if got := texts(doc.Find(".incidents .md h4")); strings.Join(got, ",") != "Summary" {
		t.Errorf("an update's top heading under the incident's h3 should be h4, got h4s %q", got)
	}
	ip := ts.okPage(t, "/incidents/"+inc.ID)
	if got := texts(ip.Find(".timeline .md h3")); strings.Join(got, ",") != "Summary" {
		t.Errorf("on the incident page an update's top heading should be h3 under Updates (h2), got h3s %q", got)
	}
	ts.okPage(t, "/maintenance/"+m["id"].(string))
	ts.okPage(t, "/history")
}

func TestPageIncident(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	web := ts.createComponent(t, "Web app", nil)
	ts.createComponent(t, "Billing", nil)
	inc := ts.createIncident(t, map[string]any{
		"name": "Logins failing for 75% of users", "impact": "major", "body": "We are investigating.",
		"components": map[string]string{api.ID: "major_outage", web.ID: "partial_outage"},
	})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "A schema change locked the users table."}, nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "monitoring", "body": "Rolled back."}, nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{
		"status": "resolved", "body": "Logins work again.", "components": map[string]string{api.ID: "operational", web.ID: "operational"},
	}, nil)

	path := "/incidents/" + inc.ID
	doc := ts.okPage(t, path)
	if got := text(doc.Find("h1")); got != "Logins failing for 75% of users" {
		t.Errorf("h1 %q", got)
	}
	facts := map[string]string{}
	doc.Find(".facts dt").Each(func(_ int, dt *goquery.Selection) { facts[text(dt)] = text(dt.Next()) })
	for k, want := range map[string]string{"Status": "Resolved", "Impact": "Major"} {
		if facts[k] != want {
			t.Errorf("%s reads %q, want %q", k, facts[k], want)
		}
	}
	affected := strings.Split(facts["Affected components"], ", ")
	slices.Sort(affected)
	if got := strings.Join(affected, ", "); got != "API, Web app" {
		t.Errorf("Affected components reads %q, want API and Web app (not Billing)", facts["Affected components"])
	}
	if !strings.Contains(facts["Resolved"], "after") {
		t.Errorf("Resolved reads %q, want a time and a duration", facts["Resolved"])
	}
	if got := strings.Join(texts(doc.Find(".timeline > li .update-head strong")), ","); got != "Resolved,Monitoring,Identified,Investigating" {
		t.Errorf("timeline statuses %q, want the whole timeline newest first", got)
	}
	if got := strings.Join(texts(doc.Find(".timeline > li .md")), "|"); got != "Logins work again.|Rolled back.|A schema change locked the users table.|We are investigating." {
		t.Errorf("timeline bodies %q", got)
	}
	if doc.Find(".postmortem").Length() != 0 {
		t.Errorf("postmortem section shown before one is published")
	}

	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/postmortem", map[string]any{
		"body": "# What happened\n\nA migration took an **exclusive lock**.\n\n## Actions\n\n- Review migrations for locks\n- Page on login errors",
	}, nil)
	doc = ts.okPage(t, path)
	pm := doc.Find(".postmortem")
	if got := text(pm.Find("h2").First()); got != "Postmortem" {
		t.Fatalf("no postmortem section after publishing (got heading %q)", got)
	}
	if got := text(pm.Find("strong")); got != "exclusive lock" {
		t.Errorf("postmortem Markdown not rendered: strong %q", got)
	}
	if got := strings.Join(texts(pm.Find("li")), "|"); got != "Review migrations for locks|Page on login errors" {
		t.Errorf("postmortem actions %q", got)
	}
	// Its headings sit under "Postmortem" (h2), whatever level they were written at.
	if got := text(pm.Find(".md h3")); got != "What happened" {
		t.Errorf("postmortem h3 %q, want What happened", got)
	}
	if got := text(pm.Find(".md h4")); got != "Actions" {
		t.Errorf("postmortem h4 %q, want Actions", got)
	}
	if pm.Find(".meta time[datetime]").Length() != 1 {
		t.Errorf("postmortem has no publication <time>")
	}
}

func TestPageIncidentUnknownIs404(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, path := range []string{"/incidents/doesnotexist", "/maintenance/doesnotexist", "/no/such/page"} {
		doc, resp := ts.page(t, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q, want an HTML page", path, ct)
		}
		checkAccessible(t, path, doc)
		if got := text(doc.Find("h1")); got == "" {
			t.Errorf("GET %s: 404 page has no heading", path)
		}
		if doc.Find(`main a[href="/"]`).Length() == 0 {
			t.Errorf("GET %s: 404 page has no way back to the status page", path)
		}
	}
	doc, _ := ts.page(t, "/incidents/doesnotexist")
	if got := text(doc.Find("h1")); got != "No such incident" {
		t.Errorf("unknown incident page says %q", got)
	}
}

func TestPageHistoryByMonthPaged(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	resolvedAt := func(name string, when time.Time) string {
		ts.at(t, when)
		inc := ts.createIncident(t, map[string]any{"name": name, "body": "Investigating.", "components": map[string]string{api.ID: "partial_outage"}})
		ts.at(t, when.Add(90*time.Minute))
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Resolved."}, nil)
		return inc.ID
	}
	// 15 incidents in March 2025, 12 in February, and a maintenance on
	// February 20th: 28 entries, newest first.
	for d := 1; d <= 12; d++ {
		resolvedAt(fmt.Sprintf("February incident %02d", d), time.Date(2025, 2, d, 10, 0, 0, 0, time.UTC))
	}
	ts.at(t, time.Date(2025, 2, 19, 9, 0, 0, 0, time.UTC))
	var m map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "February maintenance", "message": "Planned.", "components": []string{api.ID}, "auto_transition": false,
		"scheduled_for": time.Date(2025, 2, 20, 10, 0, 0, 0, time.UTC), "scheduled_until": time.Date(2025, 2, 20, 12, 0, 0, 0, time.UTC),
	}, &m)
	ts.at(t, time.Date(2025, 2, 20, 10, 0, 0, 0, time.UTC))
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+m["id"].(string)+"/updates", map[string]any{"status": "in_progress", "body": "Started."}, nil)
	ts.at(t, time.Date(2025, 2, 20, 11, 0, 0, 0, time.UTC))
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+m["id"].(string)+"/updates", map[string]any{"status": "completed", "body": "Done."}, nil)
	var march15 string
	for d := 1; d <= 15; d++ {
		march15 = resolvedAt(fmt.Sprintf("March incident %02d", d), time.Date(2025, 3, d, 10, 0, 0, 0, time.UTC))
	}
	ts.realClock()
	// Neither an open incident nor scheduled maintenance belongs in the history.
	ts.createIncident(t, map[string]any{"name": "Still open", "body": "Ongoing."})

	type month struct {
		heading string
		items   []string
	}
	readPage := func(doc *goquery.Document) []month {
		var out []month
		doc.Find("main section.month").Each(func(_ int, s *goquery.Selection) {
			out = append(out, month{heading: text(s.Find("h2")), items: texts(s.Find(".history-list > li > h3 > a"))})
		})
		return out
	}
	names := func(prefix string, from, to int) []string {
		var out []string
		for d := from; d >= to; d-- {
			out = append(out, fmt.Sprintf("%s incident %02d", prefix, d))
		}
		return out
	}

	page1 := ts.okPage(t, "/history")
	got := readPage(page1)
	want := []month{
		{"March 2025", names("March", 15, 1)},
		{"February 2025", append([]string{"February maintenance"}, names("February", 12, 4)...)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history page 1:\n got %v\nwant %v", got, want)
	}
	if n := page1.Find(".history-list > li").Length(); n != 25 {
		t.Errorf("page 1 lists %d entries, want 25", n)
	}
	if href, _ := page1.Find(`.history-list a:contains("March incident 15")`).Attr("href"); href != "/incidents/"+march15 {
		t.Errorf("history links March incident 15 to %q", href)
	}
	if li := page1.Find(`.history-list > li:contains("March incident 15")`); !strings.Contains(text(li), "Lasted 1 h 30 min") {
		t.Errorf("history entry reads %q, want how long it lasted", text(li))
	}
	pager := page1.Find("nav.pager")
	if got := text(pager); got != "Older" {
		t.Errorf("page 1 pager reads %q, want only Older", got)
	}
	// Older pages are reached by a keyset, not a page number: each costs
	// the same however deep it lies.
	older, _ := pager.Find(`a[rel="next"]`).Attr("href")
	if !strings.HasPrefix(older, "/history?before=") {
		t.Fatalf("Older links to %q, want a keyset", older)
	}

	page2 := ts.okPage(t, older)
	got = readPage(page2)
	want = []month{{"February 2025", names("February", 3, 1)}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history page 2:\n got %v\nwant %v", got, want)
	}
	pager = page2.Find("nav.pager")
	if got := text(pager); got != "Newest Newer" {
		t.Errorf("page 2 pager reads %q, want Newest and Newer", got)
	}
	if newest, _ := pager.Find("a").First().Attr("href"); newest != "/history" {
		t.Errorf("Newest links to %q", newest)
	}
	// Newer than the second page is the first.
	newer, _ := pager.Find(`a[rel="prev"]`).Attr("href")
	if back := ts.okPage(t, newer); fmt.Sprint(readPage(back)) != fmt.Sprint(readPage(page1)) {
		t.Errorf("Newer (%s) from page 2 lists %v, want page 1", newer, readPage(back))
	}
	// The numbered pages of old links still answer, the same entries.
	numbered := ts.okPage(t, "/history?page=2")
	if fmt.Sprint(readPage(numbered)) != fmt.Sprint(want) {
		t.Errorf("/history?page=2:\n got %v\nwant %v", readPage(numbered), want)
	}
	if newer, _ := numbered.Find(`nav.pager a[rel="prev"]`).Attr("href"); newer != "/history?page=1" {
		t.Errorf("Newer on ?page=2 links to %q", newer)
	}
	// A month starts at its end.
	feb := readPage(ts.okPage(t, "/history?month=2025-02"))
	if len(feb) != 1 || feb[0].heading != "February 2025" || len(feb[0].items) != 13 || feb[0].items[0] != "February maintenance" {
		t.Errorf("/history?month=2025-02 = %v, want February from its maintenance down", feb)
	}

	for _, path := range []string{"/history?page=3", "/history?page=0", "/history?page=-1", "/history?page=abc",
		"/history?before=yesterday~x", "/history?before=2025-02-01T00:00:00Z", "/history?month=2025-13", "/history?before=2000-01-01T00:00:00Z~a",
		"/history?after=yesterday~x", "/history?after=2025-02-01T00:00:00Z"} {
		doc, resp := ts.page(t, path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
		checkAccessible(t, path, doc)
	}
}

// Older to the end and Newer back to the top are the same pages.
func TestPageHistoryNewerWalksBack(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c := ts.createComponent(t, "API", nil)
	if err := ts.store.ImportPastIncidents(t.Context(), store.PastHistory(ts.store.Now(), []store.Component{c}, 2*HistoryPageSize+10)); err != nil {
		t.Fatal(err)
	}
	ts.waitFresh(t)
	entries := func(doc *goquery.Document) string {
		return strings.Join(texts(doc.Find(".history-list > li > h3 > a")), ", ")
	}
	var down []string
	path := "/history"
	for path != "" {
		doc := ts.okPage(t, path)
		down = append(down, entries(doc))
		path, _ = doc.Find(`nav.pager a[rel="next"]`).Attr("href")
	}
	if len(down) != 3 || !strings.HasPrefix(down[0], "Old incident 60, ") || !strings.HasSuffix(down[2], ", Old incident 1") {
		t.Fatalf("walking Older read %d pages: %q", len(down), down)
	}
	last := ts.okPage(t, "/history?page=3")
	path, _ = last.Find(`nav.pager a[rel="prev"]`).Attr("href")
	if path != "/history?page=2" {
		t.Errorf("Newer on ?page=3 links to %q", path)
	}
	// From the last page reached by its cursor, Newer twice.
	second, _ := ts.okPage(t, "/history").Find(`nav.pager a[rel="next"]`).Attr("href")
	lastByCursor, _ := ts.okPage(t, second).Find(`nav.pager a[rel="next"]`).Attr("href")
	up := []string{down[2]}
	path, _ = ts.okPage(t, lastByCursor).Find(`nav.pager a[rel="prev"]`).Attr("href")
	for path != "" {
		doc := ts.okPage(t, path)
		up = append([]string{entries(doc)}, up...)
		path, _ = doc.Find(`nav.pager a[rel="prev"]`).Attr("href")
	}
	if fmt.Sprint(up) != fmt.Sprint(down) {
		t.Errorf("walking Newer back read\n%q\nwant the pages walking Older read\n%q", up, down)
	}
}

func TestPageHistoryEmpty(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	doc := ts.okPage(t, "/history")
	if got := text(doc.Find("main p").First()); got != "No incidents or maintenance recorded yet." {
		t.Errorf("empty history reads %q", got)
	}
	if got := text(doc.Find("nav.pager")); got != "" {
		t.Errorf("empty history has pager links %q", got)
	}
}

func TestPageHealthAndReady(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, body := ts.fetch(t, "GET", path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, body %s", path, resp.StatusCode, body)
		}
	}
}

func TestSnapshotETagAndNotModified(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	for _, path := range []string{"/", "/history"} {
		resp, body := ts.fetch(t, "GET", path, nil)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || etag == "" || len(body) == 0 {
			t.Fatalf("GET %s: status %d, ETag %q, %d bytes", path, resp.StatusCode, etag, len(body))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=0") && !strings.Contains(cc, "no-cache") {
			t.Errorf("GET %s: Cache-Control %q lets browsers show stale status", path, cc)
		}
		for _, inm := range []string{etag, `"other", ` + etag, strings.TrimPrefix(etag, "W/")} {
			resp, body = ts.fetch(t, "GET", path, map[string]string{"If-None-Match": inm})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("GET %s If-None-Match %s: status %d, want 304", path, inm, resp.StatusCode)
			}
			if len(body) != 0 {
				t.Errorf("GET %s: 304 with a %d-byte body", path, len(body))
			}
			if resp.Header.Get("ETag") != etag {
				t.Errorf("GET %s: 304 carries ETag %q, want %q", path, resp.Header.Get("ETag"), etag)
			}
		}
		resp, _ = ts.fetch(t, "GET", path, map[string]string{"If-None-Match": `"stale"`})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a stale ETag: status %d, want 200", path, resp.StatusCode)
		}
	}

	// A change makes a new page with a new ETag: the old one no longer matches.
	resp, _ := ts.fetch(t, "GET", "/", nil)
	old := resp.Header.Get("ETag")
	ts.createIncident(t, map[string]any{"name": "New trouble", "body": "Looking."})
	resp, body := ts.fetch(t, "GET", "/", map[string]string{"If-None-Match": old})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after a change, If-None-Match with the old ETag: status %d, want 200", resp.StatusCode)
	}
	if resp.Header.Get("ETag") == old {
		t.Errorf("ETag did not change with the page")
	}
	if !bytes.Contains(body, []byte("New trouble")) {
		t.Errorf("page does not show the new incident")
	}
}

func TestSnapshotGzip(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Slow", "body": "Slow.", "components": map[string]string{api.ID: "degraded_performance"}})
	for _, path := range []string{"/", "/incidents/" + inc.ID, "/history"} {
		plainResp, plain := ts.fetch(t, "GET", path, map[string]string{"Accept-Encoding": "identity"})
		if plainResp.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s identity: Content-Encoding %q", path, plainResp.Header.Get("Content-Encoding"))
		}
		for _, ae := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"} {
			resp, body := ts.fetch(t, "GET", path, map[string]string{"Accept-Encoding": ae})
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("GET %s Accept-Encoding %q: Content-Encoding %q, want gzip", path, ae, resp.Header.Get("Content-Encoding"))
				continue
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s: Vary %q lacks Accept-Encoding", path, resp.Header.Get("Vary"))
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("GET %s: Content-Length %s, body %d bytes", path, cl, len(body))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("GET %s: body is not gzip: %v", path, err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("GET %s: gunzip: %v", path, err)
			}
			if !bytes.Equal(unzipped, plain) {
				t.Errorf("GET %s: gunzipped body (%d bytes) differs from the plain page (%d bytes)", path, len(unzipped), len(plain))
			}
			if len(body) >= len(plain) {
				t.Errorf("GET %s: gzip body %d bytes, plain %d", path, len(body), len(plain))
			}
			if resp.Header.Get("ETag") != plainResp.Header.Get("ETag") {
				t.Errorf("GET %s: gzip and plain ETags differ", path)
			}
		}
		resp, _ := ts.fetch(t, "GET", path, map[string]string{"Accept-Encoding": "gzip;q=0"})
		if resp.Header.Get("Content-Encoding") == "gzip" {
			t.Errorf("GET %s: gzip sent to a client that refused it (q=0)", path)
		}
	}
}

func TestSnapshotHead(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	for _, path := range []string{"/", "/history", "/healthz"} {
		getResp, getBody := ts.fetch(t, "GET", path, map[string]string{"Accept-Encoding": "identity"})
		resp, body := ts.fetch(t, "HEAD", path, map[string]string{"Accept-Encoding": "identity"})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: status %d", path, resp.StatusCode)
		}
		if len(body) != 0 {
			t.Errorf("HEAD %s: %d-byte body", path, len(body))
		}
		if resp.Header.Get("Content-Type") != getResp.Header.Get("Content-Type") || resp.Header.Get("ETag") != getResp.Header.Get("ETag") {
			t.Errorf("HEAD %s: headers differ from GET", path)
		}
		if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(getBody)) {
			t.Errorf("HEAD %s: Content-Length %s, GET body is %d bytes", path, cl, len(getBody))
		}
	}
}

func TestSnapshotSameOriginAssetsAndCSP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	resp, body := ts.fetch(t, "GET", "/", map[string]string{"Accept-Encoding": "identity"})
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows inline script or eval", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", resp.Header.Get("X-Content-Type-Options"))
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var assets []string
	doc.Find("script[src], link[href], img[src], source[src], use[href]").Each(func(_ int, s *goquery.Selection) {
		ref, ok := s.Attr("src")
		if !ok {
			ref, _ = s.Attr("href")
		}
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "//") {
			t.Errorf("page loads %q from another origin (%s)", ref, goquery.NodeName(s))
			return
		}
		if rel, _ := s.Attr("rel"); rel == "alternate" {
			return // a feed a reader may subscribe to, not something the page loads
		}
		assets = append(assets, ref)
	})
	wantTypes := map[string]string{".css": "text/css", ".js": "javascript", ".svg": "image/svg+xml"}
	if len(assets) < 3 {
		t.Errorf("page references %v, want the stylesheet, the script and the icon", assets)
	}
	for _, ref := range assets {
		if !strings.HasPrefix(ref, "/static/") {
			t.Errorf("asset %q is not under /static/", ref)
			continue
		}
		resp, body := ts.fetch(t, "GET", ref, nil)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: status %d, %d bytes", ref, resp.StatusCode, len(body))
			continue
		}
		cc := resp.Header.Get("Cache-Control")
		if !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want a year and immutable", ref, cc)
		}
		for ext, ct := range wantTypes {
			if strings.HasSuffix(ref, ext) && !strings.Contains(resp.Header.Get("Content-Type"), ct) {
				t.Errorf("GET %s: Content-Type %q, want %s", ref, resp.Header.Get("Content-Type"), ct)
			}
		}
		if strings.HasSuffix(ref, ".css") && (bytes.Contains(body, []byte("@import")) || regexp.MustCompile(`url\(\s*['"]?(https?:)?//`).Match(body)) {
			t.Errorf("stylesheet %s pulls in something from another host", ref)
		}
		resp, _ = ts.fetch(t, "GET", ref, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: status %d, want 304", ref, resp.StatusCode)
		}
	}
	for _, bad := range []string{"/static/app.css", "/static/app.0000000000.css", "/static/../go.mod"} {
		resp, _ := ts.fetch(t, "GET", bad, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", bad, resp.StatusCode)
		}
	}
	resp, _ = ts.fetch(t, "GET", "/favicon.ico", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/static/") {
		t.Errorf("GET /favicon.ico: status %d, Location %q, want a redirect to our icon", resp.StatusCode, loc)
	}
	// Error pages carry the policy too.
	resp, _ = ts.fetch(t, "GET", "/incidents/nope", nil)
	if resp.Header.Get("Content-Security-Policy") != csp {
		t.Errorf("404 page Content-Security-Policy %q", resp.Header.Get("Content-Security-Policy"))
	}
}

// hostileMarkdown tries every way Markdown or raw HTML could carry script.
const hostileMarkdown = "Working on it **now**.\n\n" +
	"<script>alert(1)</script>\n\n" +
	"[click me](javascript:alert(1)) and [again](JaVaScRiPt:alert(2)) and [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n\n" +
	"<img src=x onerror=alert(1)>\n\n" +
	"![pic](javascript:alert(3))\n\n" +
	"<iframe src=\"https://evil.example/\"></iframe>\n\n" +
	"<a href=\"javascript:alert(4)\" onclick=\"alert(5)\">raw link</a>\n\n" +
	"<svg onload=alert(6)><circle/></svg>\n\n" +
	"<javascript:alert(7)>\n\n" +
	"<div style=\"background:url(javascript:alert(8))\" onmouseover=\"alert(9)\">hover</div>\n\n" +
	"inline <b onclick=alert(10)>bold</b> and <form action=\"https://evil.example/\"><input name=x></form>\n\n" +
	"[safe link](https://example.com/status)"

func TestHostileInputRendersHarmless(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const (
		componentName = `<b>HTML</b> "><script>alert('c')</script>`
		groupName     = `<i>group</i>"><img src=x onerror=alert(1)>`
		incidentName  = `"><script>alert('i')</script><b>HTML</b>`
		pastName      = `<b>HTML</b> past' onmouseover='alert(1)`
		maintName     = `<b>maint</b>"><iframe src=javascript:alert(1)>`
	)
	var g map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": groupName}, &g)
	comp := ts.createComponent(t, componentName, map[string]any{"group_id": g["id"], "description": "<script>alert('d')</script>"})

	active := ts.createIncident(t, map[string]any{"name": incidentName, "body": hostileMarkdown, "components": map[string]string{comp.ID: "major_outage"}})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+active.ID+"/updates", map[string]any{"status": "identified", "body": hostileMarkdown}, nil)

	past := ts.createIncident(t, map[string]any{"name": pastName, "body": hostileMarkdown})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+past.ID+"/updates", map[string]any{"status": "resolved", "body": hostileMarkdown}, nil)
	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+past.ID+"/postmortem", map[string]any{"body": hostileMarkdown}, nil)

	now := time.Now().UTC()
	var m map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": maintName, "message": hostileMarkdown, "components": []string{comp.ID},
		"scheduled_for": now.Add(time.Hour), "scheduled_until": now.Add(2 * time.Hour),
	}, &m)

	pages := []string{"/", "/incidents/" + active.ID, "/incidents/" + past.ID, "/maintenance/" + m["id"].(string), "/history"}
	for _, path := range pages {
		// okPage fails on any script element, event handler, javascript:
		// URL, frame or form in the parsed page.
		doc := ts.okPage(t, path)
		if n := doc.Find("main b, main i, main img[onerror], main svg:not(.icon):not(.bar)").Length(); n != 0 {
			t.Errorf("%s: %d elements made from user input", path, n)
		}
		resp, body := ts.fetch(t, "GET", path, map[string]string{"Accept-Encoding": "identity"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		// Tags from user input arrive escaped (&lt;), never as markup.
		for _, raw := range []string{"<script>alert", "<iframe", "<img src=x", "<b>", "<i>", "<svg onload"} {
			if bytes.Contains(bytes.ToLower(body), []byte(strings.ToLower(raw))) {
				t.Errorf("%s: raw %q in the served HTML", path, raw)
			}
		}
	}

	// Names are shown as the literal text the commander typed.
	home := ts.okPage(t, "/")
	if got := text(home.Find("#component-" + comp.ID + " .component-name")); got != componentName {
		t.Errorf("component name reads %q, want %q", got, componentName)
	}
	if got := text(home.Find(".components h3")); got != groupName {
		t.Errorf("group name reads %q, want %q", got, groupName)
	}
	if got := text(home.Find("#inc-" + active.ID)); got != incidentName {
		t.Errorf("incident name reads %q, want %q", got, incidentName)
	}
	if got := text(home.Find("#past-" + past.ID)); got != pastName {
		t.Errorf("past incident name reads %q, want %q", got, pastName)
	}
	if got := text(home.Find("#mnt-" + m["id"].(string))); got != maintName {
		t.Errorf("maintenance name reads %q, want %q", got, maintName)
	}
	if label, _ := home.Find("#component-" + comp.ID + " ol.days").Attr("aria-label"); !strings.HasPrefix(label, componentName+":") {
		t.Errorf("uptime label %q does not start with the literal name", label)
	}
	// Markdown still works: the harmless parts survive.
	upd := home.Find("#inc-" + active.ID).Parent().Find(".timeline .md").First()
	if got := text(upd.Find("strong")); got != "now" {
		t.Errorf("Markdown emphasis lost: %q", got)
	}
	if href, _ := upd.Find(`a:contains("safe link")`).Attr("href"); href != "https://example.com/status" {
		t.Errorf("safe link href %q", href)
	}

	inc := ts.okPage(t, "/incidents/"+active.ID)
	if got := text(inc.Find("h1")); got != incidentName {
		t.Errorf("incident page h1 %q, want %q", got, incidentName)
	}
	if got := text(inc.Find("head title")); got != incidentName+" · Acme" {
		t.Errorf("incident page title %q", got)
	}
	if got := text(inc.Find(".facts dt:contains('Affected components') + dd")); got != componentName {
		t.Errorf("affected components read %q", got)
	}
	if got := text(inc.Find(".changes li").First()); !strings.HasPrefix(got, componentName+":") {
		t.Errorf("component change reads %q", got)
	}
	hist := ts.okPage(t, "/history")
	if got := text(hist.Find(".history-list a")); got != pastName {
		t.Errorf("history lists %q, want %q", got, pastName)
	}
}

// A live update carries the parts of the page that changed; every part an
// open page shows already travels as a placeholder naming its key. The bars
// are most of the page, and every open page receives every update.
func TestLiveUpdateSendsOnlyChangedParts(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g)
	api := ts.createComponent(t, "API", map[string]any{"group_id": g.ID})
	web := ts.createComponent(t, "Website", map[string]any{"group_id": g.ID})
	quiet := ts.createComponent(t, "Search", nil) // in no group: always shown
	ts.createIncident(t, map[string]any{"name": "Website slow", "body": "Slow.", "components": map[string]string{web.ID: "degraded_performance"}})
	ts.waitFresh(t)
	shown := ts.okPage(t, "/")
	key := func(doc *goquery.Selection, sel string) string {
		k, _ := doc.Find(sel).Attr("data-k")
		return k
	}
	row := func(id string) string { return "#component-" + id }
	bar := func(id string) string { return "#component-" + id + " .uptime" }
	for _, sel := range []string{row(api.ID), bar(api.ID), row(web.ID), bar(web.ID), row(quiet.ID), ".banner", ".past"} {
		if key(shown.Selection, sel) == "" {
			t.Fatalf("%s has no key on the page", sel)
		}
	}

	st := openStream(t, ts, "?types=html&parts=1&last_event_id="+strconv.FormatInt(ts.lastEventID(t), 10), nil)
	ts.createIncident(t, map[string]any{"name": "API down", "body": "Down.", "components": map[string]string{api.ID: "major_outage"}})
	var frag struct{ HTML string }
	if err := json.Unmarshal([]byte(st.nextOf(t, "page").Data), &frag); err != nil {
		t.Fatal(err)
	}
	sent, err := goquery.NewDocumentFromReader(strings.NewReader(frag.HTML))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(frag.HTML, "API down") || !strings.Contains(text(sent.Find(row(api.ID))), "Major Outage") {
		t.Fatalf("the update does not carry the new incident and API's row:\n%s", frag.HTML)
	}
	// What did not change is a placeholder naming what the page shows: a
	// row in the group that changed, and the unchanged group of
	// components that belong to none.
	for _, part := range []struct{ sel, placeholder string }{{row(web.ID), row(web.ID)}, {row(quiet.ID), ".ungrouped"}} {
		k := key(shown.Selection, part.placeholder)
		if sent.Find(part.sel).Length() != 0 || sent.Find(`template[data-k~="`+k+`"]`).Length() != 1 {
			t.Errorf("%s did not change, yet the update sends it (or no placeholder for the key of %s, %s):\n%s", part.sel, part.placeholder, k, frag.HTML)
		}
	}
	// The page itself always has every part whole, under the keys it sent.
	ts.waitFresh(t)
	page := ts.okPage(t, "/")
	days := bar(web.ID) + " ol.days li"
	if key(page.Selection, row(web.ID)) != key(shown.Selection, row(web.ID)) || page.Find(days).Length() == 0 || page.Find(days).Length() != shown.Find(days).Length() {
		t.Error("the page lost Website's row, or its key changed")
	}
	if page.Find("template").Length() != 0 {
		t.Error("the page holds placeholders")
	}
	if key(page.Selection, row(api.ID)) == key(shown.Selection, row(api.ID)) {
		t.Error("API's row changed and kept its key")
	}

	// A problem opens a closed group: the update carries its components,
	// and their bars as slots the page script fills from the group's page
	// (ninety days each would make the update most of a page).
	var closed store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Data"}, &closed)
	db := ts.createComponent(t, "Database", map[string]any{"group_id": closed.ID})
	ts.waitFresh(t)
	st = openStream(t, ts, "?types=html&parts=1&last_event_id="+strconv.FormatInt(ts.lastEventID(t), 10), nil)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+db.ID, map[string]any{"status": "partial_outage"}, nil)
	if err := json.Unmarshal([]byte(st.nextOf(t, "page").Data), &frag); err != nil {
		t.Fatal(err)
	}
	if sent, err = goquery.NewDocumentFromReader(strings.NewReader(frag.HTML)); err != nil {
		t.Fatal(err)
	}
	slot := sent.Find(row(db.ID) + " .uptime")
	if _, open := sent.Find("#group-" + closed.ID).Attr("open"); !open || slot.AttrOr("data-lazy", "") != "/groups/"+closed.ID || slot.Children().Length() != 0 {
		t.Errorf("Data opened: want it open, Database's bar a slot to load from /groups/%s; got %s", closed.ID, outer(sent.Find("#group-"+closed.ID)))
	}
}

// A group whose components are all operational is closed, and shows no
// more than its name, its status in words and a link to its own page: a
// page of thousands of components stays small. A group with a problem is
// open, every component and its bar shown. Without a script, the link
// leads to the group's own page, which shows it whole.
func TestGroupsAreClosedUnlessSomethingInThemIsNot(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	group := func(name string) store.ComponentGroup {
		var g store.ComponentGroup
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": name, "description": "All of " + name + "."}, &g)
		return g
	}
	quiet, troubled := group("Data"), group("Core")
	db := ts.createComponent(t, "Database", map[string]any{"group_id": quiet.ID, "description": "The primary."})
	ts.createComponent(t, "Backups", map[string]any{"group_id": quiet.ID})
	api := ts.createComponent(t, "API", map[string]any{"group_id": troubled.ID})
	ts.createComponent(t, "Website", map[string]any{"group_id": troubled.ID, "status": "under_maintenance"})
	ts.waitFresh(t)

	home := ts.okPage(t, "/")
	closed, open := home.Find("details#group-"+quiet.ID), home.Find("details#group-"+troubled.ID)
	if closed.Length() != 1 || closed.AttrOr("open", "none") != "none" {
		t.Fatalf("Data is all operational: want a closed <details>, got %s", outer(closed))
	}
	if got := text(closed.Find("summary")); got != "DataOperational" {
		t.Errorf("Data's summary reads %q, want its name and status", got)
	}
	if closed.Find("#component-"+db.ID).Length() != 0 || closed.Find(".uptime").Length() != 0 {
		t.Error("the closed group carries its components")
	}
	link := closed.Find(`a[href="/groups/` + quiet.ID + `"]`)
	if text(link) != "See its 2 components" {
		t.Errorf("the closed group's link reads %q", text(link))
	}
	if _, ok := open.Attr("open"); !ok || open.Find("#component-"+api.ID+" .uptime ol.days li").Length() == 0 {
		t.Errorf("Core has a component under maintenance: want it open, its bars shown; got %s", outer(open.Find("summary")))
	}
	if got := text(open.Find("summary .status")); got != "Under Maintenance" {
		t.Errorf("Core's summary says %q, want its worst status", got)
	}

	page := ts.okPage(t, "/groups/"+quiet.ID)
	if got := text(page.Find("h1")); got != "Data" {
		t.Errorf("the group page's heading reads %q", got)
	}
	if got := text(page.Find("#component-" + db.ID + " .desc")); got != "The primary." {
		t.Errorf("the group page shows Database's description as %q", got)
	}
	if page.Find("#component-"+db.ID+" .uptime ol.days li").Length() == 0 || page.Find(".group-body > .desc").Length() != 1 {
		t.Error("the group page lacks Database's bar or the group's description")
	}
	if _, status := ts.getPage(t, "/groups/nope"); status != http.StatusNotFound {
		t.Errorf("an unknown group's page answered %d, want 404", status)
	}
}
