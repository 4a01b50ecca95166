package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
)

// A commander's incident, from the form to the public page: two components
// in one form, a preview that changes nothing, bad input that changes
// nothing, an update, resolution, and a published postmortem.
func TestConsoleIncidentLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	web := ts.createComponent(t, "Website", nil)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))

	form := url.Values{
		"name": {"Logins failing"}, "status": {"investigating"}, "impact": {""},
		"body":                {"We are **investigating** failed logins. <script>alert(1)</script>"},
		"component." + api.ID: {"major_outage"}, "component." + web.ID: {"degraded_performance"},
	}
	preview := url.Values{"action": {"preview"}}
	for k, v := range form {
		preview[k] = v
	}
	p := b.post("/console/incidents", preview)
	if p.Status != http.StatusOK || p.Doc.Find("#preview-body strong").Text() != "investigating" || strings.Contains(p.Body, "<script>alert") {
		t.Fatalf("preview: %d, preview %q", p.Status, p.Doc.Find("#preview-body").Text())
	}
	if got, _ := p.Doc.Find("#f-component-" + api.ID + " option[selected]").Attr("value"); got != "major_outage" {
		t.Errorf("preview lost the component choice: %q", got)
	}
	if list, _ := ts.store.ListIncidents(t.Context(), store.IncidentFilter{}); len(list) != 0 {
		t.Fatal("preview created an incident")
	}

	bad := url.Values{"name": {""}, "status": {"investigating"}, "body": {"x"}, "component." + api.ID: {"on_fire"}}
	p = b.post("/console/incidents", bad)
	if p.Status != http.StatusUnprocessableEntity || p.Doc.Find(".error-summary").Length() == 0 {
		t.Fatalf("bad form: %d", p.Status)
	}
	if list, _ := ts.store.ListIncidents(t.Context(), store.IncidentFilter{}); len(list) != 0 {
		t.Fatal("a bad form created an incident")
	}

	p = b.post("/console/incidents", form)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/console/incidents/") {
		t.Fatalf("create: %d %q\n%s", p.Status, location(p), p.Body)
	}
	id := strings.TrimPrefix(strings.Split(location(p), "?")[0], "/console/incidents/")
	inc, err := ts.store.GetIncident(t.Context(), id)
	if err != nil || len(inc.Components) != 2 || inc.Impact != store.ImpactCritical {
		t.Fatalf("incident %+v, %v: want two components and the impact derived (critical)", inc, err)
	}
	doc, _ := ts.page(t, "/")
	if got := text(doc.Find("#inc-" + id)); got != "Logins failing" {
		t.Errorf("public page shows %q for the incident", got)
	}
	if got := text(doc.Find("#component-" + web.ID + " .status")); got != "Degraded Performance" {
		t.Errorf("Website on the public page: %q", got)
	}

	// "Notify subscribers" is ticked by default; unticked, no job is queued.
	if f := b.get("/console/incidents/" + id); f.Doc.Find(`input[name=notify][checked]`).Length() != 1 {
		t.Error("the update form's notify box is not ticked by default")
	}
	p = b.post("/console/incidents/"+id+"/updates", url.Values{"status": {"identified"}, "impact": {"major"}, "body": {"Found a bad migration."}, "component." + web.ID: {"operational"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("post update: %d\n%s", p.Status, p.Body)
	}
	jobsBefore, _ := ts.store.PendingJobs(t.Context())
	p = b.post("/console/incidents/"+id+"/updates", url.Values{"status": {"identified"}, "body": {"Quiet note."}})
	if jobs, _ := ts.store.PendingJobs(t.Context()); p.Status != http.StatusSeeOther || jobs != jobsBefore {
		t.Errorf("an update posted with notify unticked: %d, %d jobs queued, want none", p.Status, jobs-jobsBefore)
	}
	p = b.post("/console/incidents/"+id+"/updates", url.Values{"status": {"identified"}, "body": {"Still on it."}, "notify": {"on"}})
	if jobs, _ := ts.store.PendingJobs(t.Context()); p.Status != http.StatusSeeOther || jobs != jobsBefore+1 {
		t.Errorf("an update posted with notify ticked: %d, %d jobs queued, want 1", p.Status, jobs-jobsBefore)
	}
	p = b.post("/console/incidents/"+id+"/updates", url.Values{"status": {"resolved"}, "impact": {"major"}, "body": {"Rolled back; logins work."}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("resolve: %d", p.Status)
	}
	inc, _ = ts.store.GetIncident(t.Context(), id)
	if inc.Status != store.Resolved || inc.Impact != store.ImpactMajor || len(inc.Updates) != 5 {
		t.Fatalf("after resolving: status %s impact %s, %d updates", inc.Status, inc.Impact, len(inc.Updates))
	}
	if c, _ := ts.store.GetComponent(t.Context(), api.ID); c.Status != store.Operational {
		t.Errorf("API after resolving: %s, want operational", c.Status)
	}

	pm := url.Values{"body": {"Logins failed for 4 hours."}, "root_cause": {"A migration locked the users table."}, "resolution": {"Rolled back."},
		"actions.0.description": {"Test migrations on a copy"}, "actions.0.owner": {"Dana"}, "actions.0.due_date": {"2026-12-15"},
		"actions.1.description": {""}, "action": {"save"}}
	if p := b.post("/console/incidents/"+id+"/postmortem", pm); p.Status != http.StatusSeeOther {
		t.Fatalf("save postmortem: %d\n%s", p.Status, p.Body)
	}
	doc, _ = ts.page(t, "/incidents/"+id)
	if doc.Find(".postmortem").Length() != 0 {
		t.Error("a draft postmortem shows on the public page")
	}
	pm.Set("actions.0.due_date", "soon")
	pm.Set("action", "publish")
	if p := b.post("/console/incidents/"+id+"/postmortem", pm); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "2026-12-31") {
		t.Fatalf("bad due date: %d", p.Status)
	}
	pm.Set("actions.0.due_date", "2026-12-15")
	if p := b.post("/console/incidents/"+id+"/postmortem", pm); p.Status != http.StatusSeeOther {
		t.Fatalf("publish postmortem: %d", p.Status)
	}
	doc, _ = ts.page(t, "/incidents/"+id)
	got := text(doc.Find(".postmortem"))
	for _, want := range []string{"Root cause", "A migration locked the users table.", "Resolution", "Test migrations on a copy", "Due 2026-12-15", "To do:"} {
		if !strings.Contains(got, want) {
			t.Errorf("public postmortem lacks %q: %s", want, got)
		}
	}
	// Owners are the team's: the console shows them, the public page not.
	if strings.Contains(got, "Dana") {
		t.Errorf("the public postmortem names the owner: %s", got)
	}
	if p := b.get("/console/incidents/" + id + "/postmortem"); !strings.Contains(p.Body, "Dana") {
		t.Error("the console's postmortem lost the owner")
	}
	checkAccessible(t, "/incidents/"+id, doc)
}

// Each kind of change is in the audit log with the right actor and its
// before and after.
func TestConsoleAuditLogRecordsChanges(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.addUser(t, "root@example.com", store.RoleAdmin)
	b := ts.signedIn(t, admin)
	comp := ts.createComponent(t, "API", nil) // through the API: the test token

	steps := []struct {
		name       string
		do         func() consolePage
		action     string
		objectType string
		before     string // a substring of before ("" = absent)
		after      string
	}{
		{"set status", func() consolePage {
			return b.post("/console/components/"+comp.ID+"/status", url.Values{"status": {"partial_outage"}})
		}, "component.update", "component", `"status":"operational"`, `"status":"partial_outage"`},
		{"create template", func() consolePage {
			return b.post("/console/templates", url.Values{"name": {"Errors"}, "body": {"Investigating."}, "status": {"investigating"}})
		}, "template.create", "incident_template", "", `"name":"Errors"`},
		{"create group", func() consolePage {
			return b.post("/console/groups", url.Values{"name": {"Core"}})
		}, "component_group.create", "component_group", "", `"name":"Core"`},
		{"create user", func() consolePage {
			return b.post("/console/users", url.Values{"email": {"new@example.com"}, "role": {"viewer"}})
		}, "user.create", "user", "", `"role":"viewer"`},
		{"create token", func() consolePage {
			return b.post("/console/tokens", url.Values{"name": {"ci"}, "user_id": {admin.ID}, "role": {"viewer"}})
		}, "token.create", "api_token", "", `"role":"viewer"`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if p := s.do(); p.Status >= 400 {
				t.Fatalf("status %d\n%s", p.Status, p.Body)
			}
			entries, err := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{Limit: 1})
			if err != nil || len(entries) != 1 {
				t.Fatal(err)
			}
			e := entries[0]
			if e.Action != s.action || e.ObjectType != s.objectType || e.Actor != admin.Actor() {
				t.Errorf("entry %s %s by %+v; want %s %s by %+v", e.Action, e.ObjectType, e.Actor, s.action, s.objectType, admin.Actor())
			}
			if (s.before == "") != (e.Before == nil) || !strings.Contains(string(e.Before), s.before) || !strings.Contains(string(e.After), s.after) {
				t.Errorf("before %s / after %s; want %q / %q", e.Before, e.After, s.before, s.after)
			}
			if strings.Contains(string(e.After), "password") && !strings.Contains(string(e.After), "must_change_password") {
				t.Errorf("the audit log holds a password: %s", e.After)
			}
		})
	}
	// The API token's change is recorded against the token and its owner.
	entries, _ := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{ObjectType: "component", ObjectID: comp.ID})
	first := entries[len(entries)-1]
	if first.Action != "component.create" || first.Actor.Type != "token" {
		t.Errorf("component creation recorded as %s by %+v, want by the token", first.Action, first.Actor)
	}

	// The page filters by actor and object; the CSV has the same entries.
	p := b.get("/console/audit?actor=user:" + admin.ID + "&object_type=component")
	if p.Status != http.StatusOK || p.Doc.Find("table.audit tbody tr").Length() != 1 {
		t.Fatalf("filtered page: %d, %d rows", p.Status, p.Doc.Find("table.audit tbody tr").Length())
	}
	p = b.get("/console/audit.csv?actor=user:" + admin.ID)
	rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
	if err != nil || p.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != len(steps)+1 || rows[0][5] != "action" {
		t.Fatalf("CSV: %v, %d rows, type %q", err, len(rows), p.Header.Get("Content-Type"))
	}
	if p := b.get("/console/audit?from=yesterday"); p.Status != http.StatusBadRequest || p.Doc.Find(".error-summary").Length() == 0 {
		t.Errorf("bad date filter: %d", p.Status)
	}

	// Admins read it as JSON; the API can neither change nor delete it.
	_, adminToken, _ := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: "audit", UserID: admin.ID})
	resp := ts.callWithToken(t, adminToken, "GET", "/api/v1/audit-log?object_type=user&limit=10", nil)
	var list []map[string]any
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &list) != nil || len(list) == 0 {
		t.Fatalf("GET /api/v1/audit-log: %d %s", resp.Status, resp.Body)
	}
	for _, k := range []string{"actor", "action", "object_type", "object_id", "before", "after", "at"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("audit entry lacks %q: %v", k, list[0])
		}
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if resp := ts.callWithToken(t, adminToken, m, "/api/v1/audit-log", "{}"); resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/v1/audit-log: %d, want no such endpoint", m, resp.Status)
		}
	}
	if resp := ts.callWithToken(t, adminToken, "GET", "/api/v1/audit-log?since=nope", nil); resp.Status != http.StatusBadRequest {
		t.Errorf("bad since: %d", resp.Status)
	}
}

// Every console page renders for an admin, with landmarks, one h1 and
// headings in order, and no inline script or style.
func TestConsolePagesAccessible(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.addUser(t, "root@example.com", store.RoleAdmin)
	c := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "Looking.", "components": map[string]string{c.ID: "major_outage"}})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{"name": "Upgrade", "body": "Planned.", "components": []string{c.ID},
		"scheduled_for": "2099-01-01T00:00:00Z", "scheduled_until": "2099-01-01T02:00:00Z"}, &m)
	tp, _ := ts.store.CreateIncidentTemplate(t.Context(), store.IncidentTemplateInput{Name: "Errors", Body: "Investigating."})
	g, _ := ts.store.CreateComponentGroup(t.Context(), store.ComponentGroupInput{Name: "Core"})
	b := ts.signedIn(t, admin)
	for _, path := range []string{"/console", "/console/account", "/console/incidents", "/console/incidents/new", "/console/incidents/" + inc.ID,
		"/console/incidents/" + inc.ID + "/postmortem", "/console/templates", "/console/templates/new", "/console/templates/" + tp.ID,
		"/console/maintenances", "/console/maintenances/new", "/console/maintenances/" + m.ID, "/console/components", "/console/components/" + c.ID,
		"/console/groups/" + g.ID, "/console/audit", "/console/users", "/console/users/" + admin.ID, "/console/tokens"} {
		p := b.get(path)
		if p.Status != http.StatusOK {
			t.Errorf("%s: %d", path, p.Status)
			continue
		}
		if p.Header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("%s: Cache-Control %q", path, p.Header.Get("Cache-Control"))
		}
		checkAccessible(t, path, p.Doc)
		p.Doc.Find("script").Each(func(_ int, s *goquery.Selection) {
			if src, _ := s.Attr("src"); !strings.HasPrefix(src, "/static/") {
				t.Errorf("%s: inline script", path)
			}
		})
		if p.Doc.Find("[style], style").Length() > 0 {
			t.Errorf("%s: inline style", path)
		}
		p.Doc.Find("input:not([type=hidden]), select, textarea").Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("id")
			label, _ := s.Attr("aria-label")
			if label == "" && (id == "" || p.Doc.Find(`label[for="`+id+`"]`).Length() == 0) && s.ParentFiltered("label").Length() == 0 {
				name, _ := s.Attr("name")
				t.Errorf("%s: field %q has no label", path, name)
			}
		})
		p.Doc.Find("form[method=post]").Each(func(_ int, f *goquery.Selection) {
			if f.Find(`input[name="csrf_token"]`).Length() != 1 {
				action, _ := f.Attr("action")
				t.Errorf("%s: form to %s has no CSRF token", path, action)
			}
		})
	}
}
