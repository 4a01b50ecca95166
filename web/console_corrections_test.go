package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// A double click on "Open incident" or "Post update" — the same form sent
// twice — makes one incident and one update, and both answers lead to it.
func TestConsoleDoubleSubmitMakesOne(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))

	key, _ := b.get("/console/incidents/new").Doc.Find(`form[action="/console/incidents"] input[name=submission]`).Attr("value")
	if key == "" {
		t.Fatal("the new-incident form carries no submission key")
	}
	form := url.Values{"name": {"Logins failing"}, "status": {"investigating"}, "body": {"Looking."}, "notify": {"on"}, "submission": {key}}
	first, second := b.post("/console/incidents", form), b.post("/console/incidents", form)
	if first.Status != http.StatusSeeOther || second.Status != http.StatusSeeOther || location(first) != location(second) {
		t.Fatalf("two submits answered %d %q and %d %q, want the same incident", first.Status, location(first), second.Status, location(second))
	}
	list, _ := ts.store.ListIncidents(t.Context(), store.IncidentFilter{})
	if len(list) != 1 {
		t.Fatalf("%d incidents after a double submit, want 1", len(list))
	}
	inc := list[0]
	if jobs := pendingJobs(t, ts.store); jobs != 1 {
		t.Errorf("%d notification jobs, want 1: subscribers must not be told twice", jobs)
	}

	page := b.get("/console/incidents/" + inc.ID)
	key, _ = page.Doc.Find(`form[action$="/updates"] input[name=submission]`).Attr("value")
	if key == "" {
		t.Fatal("the update form carries no submission key")
	}
	update := url.Values{"status": {"identified"}, "body": {"Found it."}, "submission": {key}}
	b.post("/console/incidents/"+inc.ID+"/updates", update)
	b.post("/console/incidents/"+inc.ID+"/updates", update)
	got, _ := ts.store.GetIncident(t.Context(), inc.ID)
	if len(got.Updates) != 2 {
		t.Errorf("%d updates after a double submit, want 2", len(got.Updates))
	}
	// The next form is a new submission.
	next, _ := b.get("/console/incidents/" + inc.ID).Doc.Find(`form[action$="/updates"] input[name=submission]`).Attr("value")
	if next == key {
		t.Error("the form after a post reuses the last submission key: the next update would be swallowed")
	}
}

// A commander corrects a typo, withdraws a double post and renames the
// incident, each from its own page; bad input is refused in words and
// changes nothing; a viewer can do none of it.
func TestConsoleCorrections(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	inc := ts.createIncident(t, map[string]any{"name": "Logins failng", "body": "We are investigatng.", "notify": false})
	var posted store.Incident
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"body": "Found it.", "notify": false}, nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"body": "Found it.", "notify": false}, &posted)
	first, twice := inc.Updates[0], posted.Updates[0]
	base := "/console/incidents/" + inc.ID

	edit := b.get(base + "/updates/" + first.ID + "/edit")
	if edit.Status != http.StatusOK || edit.Doc.Find("#f-body").Text() != "We are investigatng." {
		t.Fatalf("edit page: %d, message %q", edit.Status, edit.Doc.Find("#f-body").Text())
	}
	p := b.post(base+"/updates/"+first.ID, url.Values{"body": {"  "}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(text(p.Doc.Find(".error-summary")), "required") {
		t.Fatalf("an empty correction: %d %s", p.Status, text(p.Doc.Find(".error-summary")))
	}
	p = b.post(base+"/updates/"+first.ID, url.Values{"body": {"We are investigating."}, "action": {"preview"}})
	if p.Status != http.StatusOK || !strings.Contains(text(p.Doc.Find(".preview")), "We are investigating.") {
		t.Fatalf("preview: %d", p.Status)
	}
	if got, _ := ts.store.GetIncident(t.Context(), inc.ID); got.Updates[2].EditedAt != nil {
		t.Fatal("a refused correction or a preview changed the update")
	}
	jobs := pendingJobs(t, ts.store)
	p = b.post(base+"/updates/"+first.ID, url.Values{"body": {"We are investigating."}})
	if p.Status != http.StatusSeeOther || location(p) != base+"?msg=update-corrected" {
		t.Fatalf("correct: %d %q", p.Status, location(p))
	}
	if n := pendingJobs(t, ts.store); n != jobs {
		t.Errorf("a quiet correction queued %d notification jobs", n-jobs)
	}
	p = b.post(base+"/updates/"+first.ID, url.Values{"body": {"We are investigating failed logins."}, "notify": {"on"}})
	if p.Status != http.StatusSeeOther || pendingJobs(t, ts.store) != jobs+1 {
		t.Errorf("a correction sent to subscribers: %d, %d jobs (had %d)", p.Status, pendingJobs(t, ts.store), jobs)
	}

	del := b.get(base + "/updates/" + twice.ID + "/delete")
	if del.Status != http.StatusOK || !strings.Contains(text(del.Doc.Find("main")), "Found it.") {
		t.Fatalf("delete page: %d", del.Status)
	}
	if p = b.post(base+"/updates/"+twice.ID+"/delete", url.Values{"reason": {""}}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a deletion without a reason: %d", p.Status)
	}
	if p = b.post(base+"/updates/"+first.ID+"/delete", url.Values{"reason": {"Oops."}}); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(text(p.Doc.Find(".error-summary")), "first update cannot be deleted") {
		t.Fatalf("deleting the first update: %d %s", p.Status, text(p.Doc.Find(".error-summary")))
	}
	if p = b.post(base+"/updates/"+twice.ID+"/delete", url.Values{"reason": {"Posted twice."}}); p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.Status)
	}

	if p = b.post(base+"/edit", url.Values{"name": {""}, "impact": {"major"}}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("an empty title: %d", p.Status)
	}
	if p = b.post(base+"/edit", url.Values{"name": {"Logins failing"}, "impact": {"catastrophic"}}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown impact: %d", p.Status)
	}
	if got, _ := ts.store.GetIncident(t.Context(), inc.ID); got.Name != "Logins failng" {
		t.Fatalf("a refused rename changed the title to %q", got.Name)
	}
	if p = b.post(base+"/edit", url.Values{"name": {"Logins failing"}, "impact": {"major"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("rename: %d", p.Status)
	}

	ts.waitFresh(t)
	doc, _ := ts.getPage(t, "/incidents/"+inc.ID)
	public := text(doc.Find("main"))
	for _, want := range []string{"Logins failing", "We are investigating failed logins.", "edited"} {
		if !strings.Contains(public, want) {
			t.Errorf("the public page lacks %q: %s", want, public)
		}
	}
	if strings.Contains(public, "investigatng") || strings.Count(public, "Found it.") != 1 {
		t.Errorf("the public page still shows the typo or the withdrawn update: %s", public)
	}
	entries, _ := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{ObjectType: "incident", ObjectID: inc.ID, Limit: 20})
	actions := map[string]bool{}
	for _, e := range entries {
		actions[e.Action] = true
	}
	for _, want := range []string{"incident.update_edited", "incident.update_deleted", "incident.update"} {
		if !actions[want] {
			t.Errorf("the audit log lacks %s: %v", want, actions)
		}
	}

	viewer := ts.signedIn(t, ts.addUser(t, "view@example.com", store.RoleViewer))
	for _, path := range []string{base + "/edit", base + "/updates/" + first.ID + "/edit", base + "/updates/" + first.ID + "/delete"} {
		if p := viewer.get(path); p.Status != http.StatusForbidden {
			t.Errorf("a viewer opening %s: %d, want 403", path, p.Status)
		}
	}
	if p := viewer.post(base+"/updates/"+first.ID, url.Values{"body": {"Vandalised."}}); p.Status != http.StatusForbidden {
		t.Errorf("a viewer's correction: %d, want 403", p.Status)
	}
}
