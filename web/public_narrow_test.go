package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// An incident narrowed to a private page — one that names no component,
// news for everyone otherwise — is on that page and on nothing of the
// public one: not its HTML, v2 API, feeds or live stream. Narrowed to both,
// the public stream's event does not say which other pages it is on. An
// unknown page is refused, and nothing is made.
func TestIncidentNarrowedToAPrivatePage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	var inside store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "inside", "name": "Inside", "components": []string{api.ID}, "access": "ip", "ip_ranges": []string{"127.0.0.1", "::1"}}, &inside)

	resp := ts.call(t, "POST", "/api/v1/incidents", map[string]any{"name": "Payroll late", "body": "x", "pages": []string{"nosuch"}})
	var e apiErr
	resp.decode(t, &e)
	if resp.Status != http.StatusUnprocessableEntity || e.Error.Field != "pages" {
		t.Fatalf("an unknown page: %d %s", resp.Status, resp.Body)
	}
	if list, _ := ts.store.ListIncidents(t.Context(), store.IncidentFilter{}); len(list) != 0 {
		t.Fatalf("a refused incident was made: %+v", list)
	}

	s := openStream(t, ts, "", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Payroll run late", "body": "The payroll run is an hour late.", "pages": []string{inside.ID}})
	ts.waitFresh(t)
	if _, body := ts.fetch(t, "GET", "/p/inside/", nil); !strings.Contains(string(body), "Payroll run late") {
		t.Error("the inside page does not show the incident narrowed to it")
	}
	for _, path := range []string{"/", "/incidents/" + inc.ID, "/api/v2/incidents.json", "/api/v2/summary.json", feedAtom, feedRSS} {
		if resp, body := ts.fetch(t, "GET", path, nil); strings.Contains(string(body), "Payroll") {
			t.Errorf("GET %s (%d) shows the incident narrowed to the inside page", path, resp.StatusCode)
		}
	}
	// Widened to the default page too: its stream has it, without the
	// other page's id.
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID, map[string]any{"pages": []string{store.DefaultPageID, inside.ID}}, nil)
	for {
		ev := s.next(t)
		if ev.Event == "incident.created" && strings.Contains(ev.Data, inc.ID) {
			t.Fatalf("the public stream carried the incident narrowed to the inside page: %s", ev.Data)
		}
		if ev.Event == "incident.updated" && strings.Contains(ev.Data, inc.ID) {
			if strings.Contains(ev.Data, inside.ID) || !strings.Contains(ev.Data, "Payroll run late") {
				t.Errorf("the public stream's event names the inside page, or not the incident: %s", ev.Data)
			}
			break
		}
	}
	ts.waitFresh(t)
	if _, body := ts.fetch(t, "GET", "/", nil); !strings.Contains(string(body), "Payroll run late") {
		t.Error("narrowed to the default page too, the incident is not on it")
	}
}

// The console's new-incident form narrows it to the pages ticked, and
// carries an internal note once there is a private page; with no other
// page it asks neither.
func TestConsoleNarrowsAnIncidentAndAddsANote(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	if form := b.get("/console/incidents/new"); form.Doc.Find(`input[name=pages]`).Length() != 0 || form.Doc.Find(`textarea[name=internal_note]`).Length() != 0 {
		t.Fatal("with no other page the form asks where to show the incident, or for an internal note")
	}
	var inside store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "inside", "name": "Inside", "access": "signed_in"}, &inside)
	form := b.get("/console/incidents/new")
	if form.Doc.Find(`input[name=pages][value="`+inside.ID+`"]`).Length() != 1 || form.Doc.Find(`input[name=pages][value="default"]`).Length() != 1 ||
		!strings.Contains(text(form.Doc.Find(`label[for=f-internal_note]`)), "Inside") {
		t.Fatal("the form does not offer the pages, or the note naming the private page")
	}
	key, _ := form.Doc.Find(`input[name=submission]`).Attr("value")
	bad := b.post("/console/incidents", url.Values{"name": {"Payroll late"}, "status": {"investigating"}, "body": {"x"}, "pages": {"nosuch"}, "submission": {key}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(text(bad.Doc.Find(".error-summary")), "no page") {
		t.Fatalf("an unknown page: %d", bad.Status)
	}
	p := b.post("/console/incidents", url.Values{"name": {"Payroll late"}, "status": {"investigating"}, "body": {"The run is late."},
		"internal_note": {"Batch host hung."}, "pages": {inside.ID}, "submission": {key}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	list, _ := ts.store.ListIncidents(t.Context(), store.IncidentFilter{})
	if len(list) != 1 || len(list[0].Pages) != 1 || list[0].Pages[0] != inside.ID || list[0].Updates[0].InternalNote != "Batch host hung." {
		t.Fatalf("the incident made: %+v", list)
	}
	if view := b.get(location(p)); !strings.Contains(text(view.Doc.Find(".internal-note")), "Batch host hung.") {
		t.Error("the console's incident page does not show the note")
	}
}

// A maintenance narrowed to the private page in the console is on its
// calendar and not on the public one's; an edit that ticks nothing widens
// it again.
func TestMaintenanceNarrowedInTheConsole(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	var inside store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "inside", "name": "Inside", "components": []string{api.ID}, "access": "ip", "ip_ranges": []string{"127.0.0.1", "::1"}}, &inside)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	from := time.Now().Add(48 * time.Hour).UTC()
	form := url.Values{"name": {"Ledger vacuum night"}, "body": {"Soon."}, "scheduled_for": {from.Format("2006-01-02T15:04")},
		"scheduled_until": {from.Add(time.Hour).Format("2006-01-02T15:04")}, "tz": {"UTC"}, "auto": {"on"}, "components": {api.ID},
		"pages_shown": {"1"}, "pages": {inside.ID}}
	p := b.post("/console/maintenances", form)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("schedule: %d\n%s", p.Status, p.Body)
	}
	ts.waitFresh(t)
	if _, body := ts.fetch(t, "GET", "/p/inside"+calendarPath, nil); !strings.Contains(string(body), "Ledger vacuum night") {
		t.Error("the inside page's calendar lacks the maintenance narrowed to it")
	}
	for _, path := range []string{"/", calendarPath, "/api/v2/scheduled-maintenances.json"} {
		if _, body := ts.fetch(t, "GET", path, nil); strings.Contains(string(body), "Ledger vacuum") {
			t.Errorf("GET %s shows the maintenance narrowed to the inside page", path)
		}
	}
	list, _ := ts.store.ListMaintenances(t.Context(), store.MaintenanceFilter{})
	if len(list) != 1 {
		t.Fatalf("%d maintenances", len(list))
	}
	edit := b.get("/console/maintenances/" + list[0].ID)
	if _, ok := edit.Doc.Find(`input[name=pages][value="` + inside.ID + `"]`).Attr("checked"); !ok {
		t.Fatal("the edit form does not show where it is narrowed to")
	}
	delete(form, "pages")
	if p := b.post("/console/maintenances/"+list[0].ID, form); p.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", p.Status, p.Body)
	}
	if m, _ := ts.store.GetMaintenance(t.Context(), list[0].ID); len(m.Pages) != 0 {
		t.Errorf("an edit with nothing ticked left it narrowed to %v", m.Pages)
	}
}

// The console's rename form changes where an incident is shown: ticked,
// narrowed; nothing ticked, widened again.
func TestConsoleChangesAnIncidentsPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	var inside store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "inside", "name": "Inside"}, &inside)
	inc := ts.createIncident(t, map[string]any{"name": "Payroll late", "body": "x"})
	edit := "/console/incidents/" + inc.ID + "/edit"
	if b.get(edit).Doc.Find(`input[name=pages][value="`+inside.ID+`"]`).Length() != 1 {
		t.Fatal("the rename form does not offer the pages")
	}
	for _, c := range []struct {
		pages []string
		want  int
	}{{[]string{inside.ID}, 1}, {nil, 0}} {
		form := url.Values{"name": {"Payroll late"}, "impact": {string(inc.Impact)}, "pages_shown": {"1"}, "pages": c.pages}
		if p := b.post(edit, form); p.Status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", p.Status, p.Body)
		}
		if got, _ := ts.store.GetIncident(t.Context(), inc.ID); len(got.Pages) != c.want {
			t.Errorf("after saving %v the incident is narrowed to %v", c.pages, got.Pages)
		}
	}
}

// A maintenance narrowed to a private page, cancelled, is not news on the
// public page's stream; one on the public page is, by its id alone.
func TestCancellationToldWhereItWasShown(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	var inside store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "inside", "name": "Inside", "components": []string{api.ID}, "access": "ip", "ip_ranges": []string{"127.0.0.1", "::1"}}, &inside)
	from := time.Now().Add(48 * time.Hour)
	schedule := func(name string, pages []string) store.Maintenance {
		var m store.Maintenance
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{"name": name, "message": "Soon.", "components": []string{api.ID},
			"pages": pages, "scheduled_for": from, "scheduled_until": from.Add(time.Hour)}, &m)
		return m
	}
	hidden, shown := schedule("Ledger vacuum", []string{inside.ID}), schedule("API upgrade", nil)
	s := openStream(t, ts, "", nil)
	for _, m := range []store.Maintenance{hidden, shown} {
		if err := ts.store.CancelMaintenance(t.Context(), m.ID); err != nil {
			t.Fatal(err)
		}
	}
	for {
		ev := s.next(t)
		if ev.Event != "maintenance.deleted" {
			continue
		}
		if strings.Contains(ev.Data, hidden.ID) {
			t.Fatalf("the public stream was told of the inside page's cancellation: %s", ev.Data)
		}
		if ev.Data != `{"id":"`+shown.ID+`"}` {
			t.Errorf("the public cancellation's event is %s, want its id alone", ev.Data)
		}
		break
	}
}
