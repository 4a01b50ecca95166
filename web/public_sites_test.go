package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-status/herald/store"
)

// pagesFixture is a Herald with the default page and a customer's page
// that shows the API and the Europe group, but not Billing; an incident on
// each, and one that names no component (news for everyone).
type pagesFixture struct {
	*testServer
	page                     store.Page
	api, paris, billing      store.Component
	onAPI, onBilling, forAll store.Incident
	mntAPI, mntBilling       store.Maintenance
}

func newPagesFixture(t *testing.T) pagesFixture {
	t.Helper()
	ts := newTestServer(t)
	f := pagesFixture{testServer: ts}
	var eu store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Europe"}, &eu)
	f.api = ts.createComponent(t, "Public API", nil)
	f.paris = ts.createComponent(t, "Paris", map[string]any{"group_id": eu.ID})
	f.billing = ts.createComponent(t, "Billing", nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "acme", "name": "Acme Corp", "host": "status.acme.example", "components": []string{f.api.ID}, "groups": []string{eu.ID},
	}, &f.page)
	f.onAPI = ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "components": map[string]string{f.api.ID: "major_outage"}})
	f.onBilling = ts.createIncident(t, map[string]any{"name": "Invoices late", "body": "Looking.", "components": map[string]string{f.billing.ID: "degraded_performance"}})
	f.forAll = ts.createIncident(t, map[string]any{"name": "Email delays", "body": "Looking."})
	from := time.Now().Add(48 * time.Hour)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "API upgrade", "message": "Soon.", "components": []string{f.api.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &f.mntAPI)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Ledger move", "message": "Soon.", "components": []string{f.billing.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &f.mntBilling)
	return f
}

// Each page shows what concerns its components, on every surface: the
// page, its incident and maintenance pages, the v2 API, the feeds, the
// calendar and the badges. What it does not show is not there at all.
func TestPageShowsWhatConcernsIt(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	shown := []string{"Public API", "Europe", "API errors", "Email delays", "API upgrade"}
	hidden := []string{"Billing", "Invoices late", "Ledger move"}
	check := func(t *testing.T, what, body string) {
		t.Helper()
		for _, s := range shown {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q", what, s)
			}
		}
		for _, s := range hidden {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q, which is not on the page", what, s)
			}
		}
	}

	t.Run("home", func(t *testing.T) {
		doc, status := f.getPage(t, "/p/acme/")
		if status != 200 {
			t.Fatalf("/p/acme/: %d", status)
		}
		check(t, "the page", doc.Find("main").Text())
		if got := doc.Find("header .brand").Text(); got != "Acme Corp" {
			t.Errorf("the page is headed %q, want Acme Corp", got)
		}
		// Its links stay on the page.
		for _, sel := range []string{`a[href="/p/acme/incidents/` + f.onAPI.ID + `"]`, `a[href="/p/acme/history"]`, `a[href="/p/acme/"]`, `link[href="/p/acme/history.atom"]`} {
			if doc.Find(sel).Length() == 0 {
				t.Errorf("no %s on the page", sel)
			}
		}
		if root, _ := doc.Find("body").Attr("data-root"); root != "/p/acme" {
			t.Errorf("body data-root = %q, want /p/acme (the page script's stream and refetches)", root)
		}
		// The default page still shows everything.
		doc, _ = f.getPage(t, "/")
		for _, s := range append(shown, hidden...) {
			if !strings.Contains(doc.Find("main").Text(), s) {
				t.Errorf("the default page lacks %q", s)
			}
		}
	})

	t.Run("by host", func(t *testing.T) {
		for _, host := range []string{"status.acme.example", "STATUS.acme.example:443"} {
			req, _ := http.NewRequest("GET", f.URL+"/", nil)
			req.Host = host
			f.waitFresh(t)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("Host %s: %d", host, resp.StatusCode)
			}
			check(t, "the page at "+host, string(body))
		}
	})

	t.Run("incident and maintenance pages", func(t *testing.T) {
		for path, want := range map[string]int{
			"/p/acme/incidents/" + f.onAPI.ID:                          200,
			"/p/acme/incidents/" + f.forAll.ID:                         200,
			"/p/acme/incidents/" + f.onBilling.ID:                      404,
			"/p/acme/maintenance/" + f.mntAPI.ID:                       200,
			"/p/acme/maintenance/" + f.mntBilling.ID:                   404,
			"/p/acme/maintenance/" + f.mntBilling.ID + "/calendar.ics": 404,
			"/p/acme/components/" + f.billing.ID + "/badge.svg":        404,
			"/p/acme/components/" + f.api.ID + "/badge.svg":            200,
			"/p/nosuch/":                    404,
			"/p/nosuch/api/v2/summary.json": 404,
			"/p/nosuch/events":              404,
		} {
			resp, body := f.fetch(t, "GET", path, nil)
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
			if want == 404 && (strings.Contains(string(body), "Invoices late") || strings.Contains(string(body), "Ledger move")) {
				t.Errorf("GET %s answers 404 with the content: %s", path, body)
			}
		}
	})

	t.Run("documents", func(t *testing.T) {
		for _, path := range []string{"/p/acme/api/v2/summary.json", "/p/acme/api/v2/incidents.json", "/p/acme/api/v2/scheduled-maintenances.json", "/p/acme/history.atom", "/p/acme/history.rss", "/p/acme/maintenance.ics"} {
			resp, body := f.fetch(t, "GET", path, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d", path, resp.StatusCode)
			}
			for _, s := range hidden {
				if strings.Contains(string(body), s) {
					t.Errorf("%s carries %q", path, s)
				}
			}
		}
		var summary struct {
			Page struct {
				Name, URL string
			}
			Components []struct{ Name string }
			Incidents  []struct{ Name string }
		}
		_, body := f.fetch(t, "GET", "/p/acme/api/v2/summary.json", nil)
		if err := json.Unmarshal(body, &summary); err != nil {
			t.Fatal(err)
		}
		if summary.Page.Name != "Acme Corp" || summary.Page.URL != "http://status.acme.example/p/acme" {
			t.Errorf("summary page = %+v, want Acme Corp at its own host", summary.Page)
		}
		var names []string
		for _, c := range summary.Components {
			names = append(names, c.Name)
		}
		if strings.Join(names, ",") != "Public API,Europe,Paris" && strings.Join(names, ",") != "Public API,Paris,Europe" && len(names) != 3 {
			t.Errorf("summary components %v, want the API and Europe's", names)
		}
		if len(summary.Incidents) != 2 {
			t.Errorf("summary incidents %+v, want the API's and the one for everyone", summary.Incidents)
		}
	})

	t.Run("history", func(t *testing.T) {
		for _, inc := range []store.Incident{f.onAPI, f.onBilling, f.forAll} {
			f.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
		}
		doc, status := f.getPage(t, "/p/acme/history")
		if status != 200 {
			t.Fatalf("history: %d", status)
		}
		text := doc.Find("main").Text()
		if !strings.Contains(text, "API errors") || !strings.Contains(text, "Email delays") || strings.Contains(text, "Invoices late") {
			t.Errorf("the page's history: %s", text)
		}
		if _, status := f.getPage(t, "/p/acme/history?page=2"); status != 404 {
			t.Errorf("a numbered history page of another page: %d, want 404", status)
		}
	})
}

// A page's live stream carries the changes to what it shows and nothing
// of what it does not; the default page's carries everything, and neither
// carries a page's own configuration.
func TestPageStreamCarriesWhatConcernsIt(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	f.waitFresh(t)
	page := openStreamAt(t, f.testServer, "/p/acme/events?types=json", nil)
	all := openStream(t, f.testServer, "?types=json", nil)
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+f.onBilling.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, nil)
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"name": "Acme Corporation"}, nil)
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+f.onAPI.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, nil)
	// The events come in order: the first the page's stream carries must
	// be the API incident's, posted last.
	ev := page.nextOf(t, "incident.updated")
	if !strings.Contains(ev.Data, f.onAPI.ID) || strings.Contains(ev.Data, f.onBilling.ID) {
		t.Errorf("the page's stream carried %s first, want the API incident", ev.Data)
	}
	var seen []string
	for len(seen) < 2 {
		ev := all.next(t)
		if ev.Event == "page.updated" {
			t.Errorf("the default stream carries the page's configuration: %s", ev.Data)
		}
		if ev.Event == "incident.updated" {
			seen = append(seen, ev.Data)
		}
	}
	if !strings.Contains(seen[0], f.onBilling.ID) || !strings.Contains(seen[1], f.onAPI.ID) {
		t.Errorf("the default stream carried %v, want both updates in order", seen)
	}
	// The rename reached the page.
	doc, _ := f.getPage(t, "/p/acme/")
	if got := doc.Find("header .brand").Text(); got != "Acme Corporation" {
		t.Errorf("after a rename the page is headed %q", got)
	}
}

// Admins make pages; others may read them only.
func TestPagesAPIRoles(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	commander := ts.addUser(t, "cmd@example.com", store.RoleCommander)
	_, token, err := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: "cmd", UserID: commander.ID, Role: store.RoleCommander})
	if err != nil {
		t.Fatal(err)
	}
	if resp := ts.callWithToken(t, token, "POST", "/api/v1/pages", map[string]any{"slug": "x", "name": "X"}); resp.Status != http.StatusForbidden {
		t.Errorf("a commander made a page: %d %s", resp.Status, resp.Body)
	}
	var p store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "x", "name": "X"}, &p)
	if resp := ts.callWithToken(t, token, "GET", "/api/v1/pages/"+p.ID, nil); resp.Status != 200 {
		t.Errorf("a commander reads a page: %d", resp.Status)
	}
	if _, status := ts.getPage(t, "/p/x/"); status != 200 {
		t.Errorf("/p/x/: %d", status)
	}
	ts.mustCall(t, http.StatusNoContent, "DELETE", "/api/v1/pages/"+p.ID, nil, nil)
	if _, status := ts.getPage(t, "/p/x/"); status != 404 {
		t.Errorf("/p/x/ after delete: %d, want 404", status)
	}
}

// An admin makes, changes and deletes a page in the console; bad input is
// shown on the form and changes nothing; a viewer reads the list only.
func TestConsolePages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "Public API", nil)
	ts.createComponent(t, "Billing", nil)
	admin := ts.signedIn(t, ts.addUser(t, "boss@example.com", store.RoleAdmin))

	bad := admin.post("/console/pages", url.Values{"name": {"Acme"}, "slug": {"Acme Corp"}, "components": {api.ID}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "is not a slug") {
		t.Errorf("a bad slug: %d, want 422 naming it", bad.Status)
	}
	if v, _ := bad.Doc.Find("#f-name").Attr("value"); v != "Acme" {
		t.Errorf("the form lost what was typed: name %q", v)
	}
	if pages, _ := ts.store.ListPages(t.Context()); len(pages) != 0 {
		t.Fatalf("a refused form made %d pages", len(pages))
	}
	if bad := admin.post("/console/pages", url.Values{"name": {"Acme"}, "slug": {"acme"}, "host": {"status.example.test"}}); bad.Status != http.StatusUnprocessableEntity {
		t.Errorf("the default page's host: %d, want 422", bad.Status)
	}

	saved := admin.post("/console/pages", url.Values{"name": {"Acme"}, "slug": {"acme"}, "components": {api.ID}})
	if saved.Status == http.StatusSeeOther {
		saved = admin.get(saved.Header.Get("Location"))
	}
	if saved.Status != 200 || !strings.Contains(saved.Body, "Page saved") || saved.Doc.Find(`a[href="/p/acme/"]`).Length() == 0 {
		t.Fatalf("saving a page: %d %s", saved.Status, saved.Doc.Find("main").Text())
	}
	pages, _ := ts.store.ListPages(t.Context())
	if len(pages) != 1 || len(pages[0].Components) != 1 {
		t.Fatalf("pages %+v", pages)
	}
	id := pages[0].ID
	doc, _ := ts.getPage(t, "/p/acme/")
	if text := doc.Find("main").Text(); !strings.Contains(text, "Public API") || strings.Contains(text, "Billing") {
		t.Errorf("the new page shows %s", text)
	}

	edit := admin.get("/console/pages/" + id)
	if _, ok := edit.Doc.Find(`input[name=components][value="` + api.ID + `"]`).Attr("checked"); !ok {
		t.Error("the edit form does not tick the page's component")
	}
	if r := admin.post("/console/pages/"+id, url.Values{"name": {"Acme Corp"}, "slug": {"acme"}, "host": {"status.acme.example"}}); r.Status != http.StatusSeeOther {
		t.Errorf("editing: %d", r.Status)
	}
	if p, _ := ts.store.GetPage(t.Context(), id); p.Name != "Acme Corp" || p.Host != "status.acme.example" || len(p.Components) != 0 {
		t.Errorf("after the edit: %+v", p)
	}
	if r := admin.post("/console/pages/"+id+"/delete", nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("delete unconfirmed: %d, want 422", r.Status)
	}

	viewer := ts.signedIn(t, ts.addUser(t, "view@example.com", store.RoleViewer))
	list := viewer.get("/console/pages")
	if list.Status != 200 || !strings.Contains(list.Body, "Acme Corp") || list.Doc.Find(`form[action="/console/pages"]`).Length() != 0 {
		t.Errorf("a viewer's list: %d, form shown %v", list.Status, list.Doc.Find(`form[action="/console/pages"]`).Length() != 0)
	}
	if r := viewer.post("/console/pages/"+id+"/delete", url.Values{"confirm": {"yes"}}); r.Status != http.StatusForbidden {
		t.Errorf("a viewer deleted a page: %d", r.Status)
	}
	if r := admin.post("/console/pages/"+id+"/delete", url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther || !strings.Contains(admin.get(r.Header.Get("Location")).Body, "Page deleted") {
		t.Errorf("delete: %d", r.Status)
	}
	if _, status := ts.getPage(t, "/p/acme/"); status != 404 {
		t.Errorf("/p/acme/ after delete: %d", status)
	}
}

// A change rebuilds the pages it is on and leaves the others' snapshots
// as they were: with many pages, one change costs one page.
func TestChangeRebuildsOnlyThePagesItIsOn(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	var beta store.Page
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "beta", "name": "Beta", "components": []string{f.billing.ID}}, &beta)
	f.waitFresh(t)
	snaps := func() (main, acme, beta *snapshot) {
		set := f.srv.others.Load()
		return f.srv.main.snap.Load(), set.bySlug["acme"].snap.Load(), set.bySlug["beta"].snap.Load()
	}
	step := func(what string, change func(), wantMain, wantAcme, wantBeta bool) {
		t.Helper()
		m0, a0, b0 := snaps()
		change()
		f.waitFresh(t)
		m1, a1, b1 := snaps()
		for _, c := range []struct {
			page          string
			before, after *snapshot
			want          bool
		}{{"the default page", m0, m1, wantMain}, {"acme", a0, a1, wantAcme}, {"beta", b0, b1, wantBeta}} {
			if rebuilt := c.before != c.after; rebuilt != c.want {
				t.Errorf("%s: %s rebuilt %v, want %v", what, c.page, rebuilt, c.want)
			}
		}
	}
	step("an update on Billing's incident", func() {
		f.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+f.onBilling.ID+"/updates", map[string]any{"status": "identified", "body": "Found."}, nil)
	}, true, false, true)
	step("a component added to acme's group", func() {
		f.createComponent(t, "Lyon", map[string]any{"group_id": f.paris.GroupID})
	}, true, true, false)
	step("acme renamed", func() {
		f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"name": "Acme Corporation"}, nil)
	}, false, true, false)
	step("the API incident moved to Billing", func() {
		f.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+f.onAPI.ID+"/updates", map[string]any{"status": "identified", "body": "It is billing.",
			"components": map[string]string{f.api.ID: "operational", f.billing.ID: "major_outage"}}, nil)
	}, true, true, true)
	step("news for everyone", func() {
		f.createIncident(t, map[string]any{"name": "Support line down", "body": "Call later."})
	}, true, true, true)
	doc, _ := f.getPage(t, "/p/beta/")
	if !strings.Contains(doc.Find("main").Text(), "Support line down") {
		t.Error("beta does not show the news for everyone")
	}
}

// In a browser, a page besides the default one goes live from its own
// stream: what concerns it appears without a reload, what does not never
// does.
func TestBrowserPageUpdatesLive(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	f.waitFresh(t)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.URL+"/p/acme/"), chromedp.WaitVisible(chromedp.CSS("#overall-status"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the Live indicator", `document.getElementById("live-status").textContent === "Live"`)
	if n := f.srv.others.Load().bySlug["acme"].hub.Clients(); n != 1 {
		t.Errorf("the page's own stream has %d clients, want the tab", n)
	}
	f.createIncident(t, map[string]any{"name": "Billing portal slow", "body": "Looking.", "components": map[string]string{f.billing.ID: "degraded_performance"}})
	f.createIncident(t, map[string]any{"name": "Webhooks delayed", "body": "Looking.", "components": map[string]string{f.api.ID: "degraded_performance"}})
	pollTrue(t, ctx, "the API's new incident on the page", `document.getElementById("main").innerText.includes("Webhooks delayed")`)
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "Billing portal slow") {
		t.Error("the page shows Billing's incident, which is not on it")
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); !kept {
		t.Error("the page reloaded instead of updating in place")
	}
}
