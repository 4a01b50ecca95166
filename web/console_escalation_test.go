package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
)

// An admin sets the escalation policy in the console; a policy that cannot
// work is refused by its field and nothing is saved; only admins see it.
func TestConsoleEscalationSettings(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	p := admin.get("/console/settings")
	if p.Status != http.StatusOK {
		t.Fatalf("settings: %d", p.Status)
	}
	if v, _ := p.Doc.Find(`input[name="remind_after"]`).Attr("value"); v != "5" {
		t.Errorf("remind_after shows %q, want the default 5 minutes", v)
	}
	if !strings.Contains(text(p.Doc.Find("main")), "the policy Herald was started with") {
		t.Error("the page does not say the policy comes from the start flags")
	}
	checkAccessible(t, "/console/settings", p.Doc)

	form := func(remind, critical, template string) url.Values {
		return url.Values{"remind_after": {remind}, "stale_after": {"60"}, "publish_after.critical": {critical}, "holding_template": {template}}
	}
	for name, tc := range map[string]struct {
		form  url.Values
		field string
		says  string
	}{
		"publish before the reminder":    {form("10", "5", ""), "publish_after.critical", "Critical impact is 5 min, shorter than “Remind the team of a draft after”"},
		"minutes that are not a number":  {form("soon", "", ""), "remind_after", "whole number of minutes"},
		"a template that does not exist": {form("5", "", "nope"), "holding_template", "no template"},
		"a reminder after a month":       {form("50000", "", ""), "remind_after", "between 1 minute and 7 days"},
	} {
		r := admin.post("/console/settings/escalation", tc.form)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", name, r.Status)
			continue
		}
		if msg := text(r.Doc.Find("#e-" + strings.ReplaceAll(tc.field, ".", "-"))); !strings.Contains(msg, tc.says) {
			t.Errorf("%s: the field says %q, want %q", name, msg, tc.says)
		}
	}
	if pol, _ := ts.store.EscalationPolicy(t.Context(), store.DefaultEscalationPolicy()); pol.Saved {
		t.Fatal("a refused policy was saved")
	}

	tp, err := ts.store.CreateIncidentTemplate(t.Context(), store.IncidentTemplateInput{Name: "Holding", Body: "We know {components} is failing."})
	if err != nil {
		t.Fatal(err)
	}
	if r := admin.post("/console/settings/escalation", form("3", "10", tp.ID)); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, text(r.Doc.Find(".error-summary")))
	}
	pol, err := ts.store.EscalationPolicy(t.Context(), store.DefaultEscalationPolicy())
	if err != nil || !pol.Saved || pol.RemindAfter != 3*time.Minute || pol.PublishAfter[store.ImpactCritical] != 10*time.Minute || pol.HoldingTemplate != tp.ID {
		t.Errorf("saved %+v, %v", pol, err)
	}
	if v, _ := admin.get("/console/settings").Doc.Find(`input[name="publish_after.critical"]`).Attr("value"); v != "10" {
		t.Errorf("publish_after.critical shows %q after saving, want 10", v)
	}
	cmd := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	if r := cmd.get("/console/settings"); r.Status != http.StatusForbidden {
		t.Errorf("a commander opening settings: %d, want 403", r.Status)
	}
	if r := cmd.post("/console/settings/escalation", form("5", "", "")); r.Status != http.StatusForbidden {
		t.Errorf("a commander saving the policy: %d, want 403", r.Status)
	}
}

// A commander holds a draft so the policy will not publish it, and lets go;
// holding a draft someone has just published is a 409 that says so.
func TestConsoleHoldDraft(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	_, res := ts.alert(t, fixture(t, "firing.json"))
	one := ts.signedIn(t, ts.addUser(t, "one@example.com", store.RoleCommander))
	two := ts.signedIn(t, ts.addUser(t, "two@example.com", store.RoleCommander))
	path := "/console/drafts/" + res.IncidentID

	if p := one.get(path); !strings.Contains(text(p.Doc.Find(".escalation")), "The commanders are reminded at") {
		t.Errorf("the draft page does not say when the team is reminded: %q", text(p.Doc.Find(".escalation")))
	}
	if r := one.post(path+"/hold", url.Values{"reason": {"checking with the database team"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("hold: %d", r.Status)
	}
	page := two.get(path)
	if got := text(page.Doc.Find(".escalation")); !strings.Contains(got, "Held by one@example.com") || !strings.Contains(got, "checking with the database team") {
		t.Errorf("the draft page reads %q: want who held it and why", got)
	}
	if got := text(two.get("/console").Doc.Find("#drafts .held")); got != "Held by one@example.com" {
		t.Errorf("the dashboard card says %q, want the hold", got)
	}
	entries, err := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{Limit: 5})
	if err != nil || entries[0].Action != "incident_draft.hold" || entries[0].Actor.Name != "one@example.com" {
		t.Errorf("the hold is not audited: %+v, %v", entries, err)
	}
	if r := two.post(path+"/release", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("release: %d", r.Status)
	}
	if got := text(two.get(path).Doc.Find(".escalation")); strings.Contains(got, "Held by") {
		t.Errorf("still held after release: %q", got)
	}

	if _, err := ts.store.PublishDraft(t.Context(), res.IncidentID, store.DraftPublication{}); err != nil {
		t.Fatal(err)
	}
	r := one.post(path+"/hold", url.Values{"reason": {"late"}})
	if r.Status != http.StatusConflict || !strings.Contains(text(r.Doc.Find("main")), "already been published") {
		t.Errorf("holding a published draft: %d %q, want 409 saying it is published", r.Status, text(r.Doc.Find("main")))
	}
}

// The dashboard counts down to each open incident's promised update and
// marks it overdue once missed; an incident page says the same.
func TestConsoleShowsOverdueIncidents(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	start := time.Now().UTC().Truncate(time.Second)
	ts.at(t, start)
	promised := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "Looking.", "next_update_in_minutes": 30})
	ts.createIncident(t, map[string]any{"name": "Slow search", "body": "Looking."})
	viewer := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))

	row := func(p consolePage, name string) string {
		return text(p.Doc.Find("#open-incidents tr").FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.Contains(text(s), name) }))
	}
	p := viewer.get("/console")
	if got := row(p, "Logins failing"); !strings.Contains(got, "Due in 30 min") {
		t.Errorf("the promised incident reads %q, want the countdown", got)
	}
	if p.Doc.Find("#open-incidents .overdue").Length() != 0 {
		t.Error("an incident is overdue at once")
	}

	ts.at(t, start.Add(61*time.Minute))
	frag := viewer.get("/console/dashboard/open")
	if got := row(frag, "Logins failing"); !strings.Contains(got, "Overdue by 31 min") {
		t.Errorf("the missed promise reads %q, want overdue by 31 min", got)
	}
	if got := row(frag, "Slow search"); !strings.Contains(got, "No update for 1 h 1 min") {
		t.Errorf("the silent incident reads %q, want no update for 1 h 1 min", got)
	}
	if n := frag.Doc.Find("#open-incidents .overdue").Length(); n != 2 {
		t.Errorf("%d incidents marked overdue, want 2", n)
	}
	if got := text(viewer.get("/console/incidents/" + promised.ID).Doc.Find(".facts .overdue")); !strings.Contains(got, "Overdue by 31 min") {
		t.Errorf("the incident page says %q, want overdue", got)
	}
}

// Commanders choose their team emails on their account page; a viewer is
// not offered them.
func TestConsoleTeamEmailChoices(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.addUser(t, "cmd@example.com", store.RoleCommander)
	cmd := ts.signedIn(t, u)
	p := cmd.get("/console/account")
	if _, on := p.Doc.Find(`input[name="notify_drafts"]`).Attr("checked"); !on {
		t.Error("draft emails are not on by default")
	}
	if r := cmd.post("/console/account/notifications", url.Values{"notify_overdue": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d", r.Status)
	}
	got, err := ts.store.GetUser(t.Context(), u.ID)
	if err != nil || got.NotifyDrafts || !got.NotifyOverdue {
		t.Errorf("after unticking drafts: %+v, %v", got, err)
	}
	viewer := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))
	if viewer.get("/console/account").Doc.Find(`input[name="notify_drafts"]`).Length() != 0 {
		t.Error("a viewer is offered team emails")
	}
	if r := viewer.post("/console/account/notifications", url.Values{"notify_drafts": {"on"}}); r.Status != http.StatusForbidden {
		t.Errorf("a viewer saving team emails: %d, want 403", r.Status)
	}
}

// A team webhook is registered through the API with its own events; public
// events, or an unknown audience, are refused with the field named.
func TestAPITeamWebhooks(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	w := ts.registerWebhook(t, r, map[string]any{"audience": "team", "events": []string{"team.*"}, "format": "slack"})
	got := ts.call(t, "GET", "/api/v1/webhooks/"+w.ID, nil)
	var hook store.Webhook
	got.decode(t, &hook)
	if hook.Audience != store.AudienceTeam {
		t.Errorf("audience %q, want team", hook.Audience)
	}
	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"a public event on a team webhook": {map[string]any{"url": r.URL, "audience": "team", "events": []string{"incident.created"}}, "events"},
		"a team event on a public webhook": {map[string]any{"url": r.URL, "events": []string{"team.draft_waiting"}}, "events"},
		"an unknown audience":              {map[string]any{"url": r.URL, "audience": "everyone"}, "audience"},
	} {
		resp := ts.call(t, "POST", "/api/v1/webhooks", tc.body)
		var e apiErr
		resp.decode(t, &e)
		if resp.Status != http.StatusUnprocessableEntity || e.Error.Field != tc.field {
			t.Errorf("%s: %d %s, want 422 on %s", name, resp.Status, resp.Body, tc.field)
		}
	}
	var list []store.Webhook
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/webhooks", nil, &list)
	if len(list) != 1 {
		t.Errorf("%d webhooks after the refusals, want 1", len(list))
	}
}

// The API holds and releases a draft too; holding one already published is
// a 409 with a clear message, and a reason too long is refused.
func TestAPIHoldDraft(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	_, res := ts.alert(t, fixture(t, "firing.json"))
	path := "/api/v1/incidents/" + res.IncidentID + "/hold"
	var held store.Incident
	ts.mustCall(t, http.StatusOK, "POST", path, map[string]any{"reason": "on it"}, &held)
	if held.Hold == nil || held.Hold.Reason != "on it" {
		t.Errorf("hold: %+v", held.Hold)
	}
	if r := ts.call(t, "POST", path, map[string]any{"reason": strings.Repeat("x", 5000)}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a 5000-character reason: %d, want 422", r.Status)
	}
	var released store.Incident
	ts.mustCall(t, http.StatusOK, "DELETE", path, nil, &released)
	if released.Hold != nil || !released.Draft {
		t.Errorf("after release: %+v", released.Hold)
	}
	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+res.IncidentID+"/publish", nil, nil)
	r := ts.call(t, "POST", path, nil)
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "already been published") {
		t.Errorf("holding a published draft: %d %s, want 409", r.Status, r.Body)
	}
}
