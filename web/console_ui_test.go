package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// The incidents list names each incident's components.
func TestConsoleIncidentsListNamesComponents(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	db := ts.createComponent(t, "Database", nil)
	ts.createIncident(t, map[string]any{"name": "Slow", "body": "Looking.", "components": map[string]string{api.ID: "degraded_performance", db.ID: "partial_outage"}})
	b := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))

	row := b.get("/console/incidents").Doc.Find("tbody tr").First()
	if got := text(row); !strings.Contains(got, "API, Database") {
		t.Errorf("the incidents list's row reads %q, want its components", got)
	}
}

// A form's errors name the field as the form labels it, not as the store
// calls it, and the field stays filled in.
func TestConsoleErrorsNameTheFieldsLabel(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	admin := ts.addUser(t, "root@example.com", store.RoleAdmin)
	b := ts.signedIn(t, admin)
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "Looking."})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)

	for _, tc := range []struct {
		name, path string
		form       url.Values
		field      string
		want       string
	}{
		{"an incident without a title", "/console/incidents",
			url.Values{"name": {""}, "status": {"investigating"}, "body": {"Logins fail."}}, "name", "Title is required"},
		{"maintenance that ends before it starts", "/console/maintenances",
			url.Values{"name": {"Upgrade"}, "body": {"Planned."}, "scheduled_for": {"2099-01-02T10:00"}, "scheduled_until": {"2099-01-02T09:00"}},
			"scheduled_until", "Ends must be after “Starts”"},
		{"maintenance without a start", "/console/maintenances",
			url.Values{"name": {"Upgrade"}, "body": {"Planned."}, "scheduled_until": {"2099-01-02T09:00"}}, "scheduled_for", "Starts is required"},
		{"maintenance with a negative reminder", "/console/maintenances",
			url.Values{"name": {"Upgrade"}, "body": {"Planned."}, "scheduled_for": {"2099-01-02T09:00"}, "scheduled_until": {"2099-01-02T10:00"}, "remind_before_minutes": {"-5"}},
			"remind_before_minutes", "Remind subscribers before it starts must be between 0 (no reminder) and 10080 minutes"},
		{"maintenance with a reminder that is not a number", "/console/maintenances",
			url.Values{"name": {"Upgrade"}, "body": {"Planned."}, "scheduled_for": {"2099-01-02T09:00"}, "scheduled_until": {"2099-01-02T10:00"}, "remind_before_minutes": {"an hour"}},
			"remind_before_minutes", "must be a whole number of minutes"},
		{"a token without a purpose", "/console/tokens", url.Values{"name": {""}, "user_id": {admin.ID}}, "name", "What it is for is required"},
		{"a corrective action with a bad date", "/console/incidents/" + inc.ID + "/postmortem",
			url.Values{"action": {"save"}, "body": {"Summary."}, "actions.0.description": {"Add an index"}, "actions.0.due_date": {"soon"}},
			"actions.0.due_date", "Action 1 due date: \"soon\" is not a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post(tc.path, tc.form)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422\n%.400s", p.Status, p.Body)
			}
			field := text(p.Doc.Find("#e-" + strings.NewReplacer(".", "-").Replace(tc.field)))
			if !strings.Contains(field, tc.want) {
				t.Errorf("the field says %q, want %q", field, tc.want)
			}
			if summary := text(p.Doc.Find(".error-summary")); !strings.Contains(summary, tc.want) {
				t.Errorf("the summary says %q, want %q", summary, tc.want)
			}
		})
	}
}

// The maintenance form takes its times in the zone it names (the page
// script names the browser's; without it, UTC), and refuses a zone it does
// not know without scheduling anything.
func TestConsoleMaintenanceTimesInTheCommandersZone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))

	for _, tc := range []struct {
		tz          string
		from, until string // as stored, UTC
	}{
		{"", "2099-01-15T10:00:00Z", "2099-01-15T12:00:00Z"},
		{"UTC", "2099-01-15T10:00:00Z", "2099-01-15T12:00:00Z"},
		{"America/New_York", "2099-01-15T15:00:00Z", "2099-01-15T17:00:00Z"}, // EST, UTC-5
		{"Asia/Kolkata", "2099-01-15T04:30:00Z", "2099-01-15T06:30:00Z"},     // UTC+5:30
		{"Europe/Berlin", "2099-01-15T09:00:00Z", "2099-01-15T11:00:00Z"},    // CET, UTC+1
	} {
		t.Run(tc.tz, func(t *testing.T) {
			p := b.post("/console/maintenances", url.Values{"name": {"Upgrade " + tc.tz}, "body": {"Planned."},
				"scheduled_for": {"2099-01-15T10:00"}, "scheduled_until": {"2099-01-15T12:00"}, "tz": {tc.tz}})
			if p.Status != http.StatusSeeOther {
				t.Fatalf("schedule: %d\n%.400s", p.Status, p.Body)
			}
			m, err := ts.store.GetMaintenance(t.Context(), strings.TrimPrefix(strings.Split(location(p), "?")[0], "/console/maintenances/"))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ScheduledFor.UTC().Format(time.RFC3339); got != tc.from {
				t.Errorf("starts %s, want %s", got, tc.from)
			}
			if got := m.ScheduledUntil.UTC().Format(time.RFC3339); got != tc.until {
				t.Errorf("ends %s, want %s", got, tc.until)
			}
		})
	}

	before, err := ts.store.ListMaintenances(t.Context(), store.MaintenanceFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, tz := range []string{"Mars/Olympus_Mons", "Local"} {
		p := b.post("/console/maintenances", url.Values{"name": {"Upgrade"}, "body": {"Planned."},
			"scheduled_for": {"2099-01-15T10:00"}, "scheduled_until": {"2099-01-15T12:00"}, "tz": {tz}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("tz %q: %d, want 422", tz, p.Status)
		}
		if got := text(p.Doc.Find("#e-tz")); !strings.Contains(got, "Time zone") || !strings.Contains(got, tz) {
			t.Errorf("tz %q: the field says %q, want the zone named", tz, got)
		}
		if v, _ := p.Doc.Find("#f-scheduled_for").Attr("value"); v != "2099-01-15T10:00" {
			t.Errorf("tz %q: the start reads %q after the error, want what was typed", tz, v)
		}
	}
	after, _ := ts.store.ListMaintenances(t.Context(), store.MaintenanceFilter{Limit: 100})
	if len(after) != len(before) {
		t.Errorf("an unknown zone scheduled maintenance: %d windows, then %d", len(before), len(after))
	}

	// Changing the schedule reads the zone the same way.
	m := before[0]
	p := b.post("/console/maintenances/"+m.ID, url.Values{"name": {m.Name}, "scheduled_for": {"2099-02-01T08:00"},
		"scheduled_until": {"2099-02-01T09:00"}, "tz": {"America/New_York"}, "components": m.Components})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("change the schedule: %d\n%.400s", p.Status, p.Body)
	}
	m, _ = ts.store.GetMaintenance(t.Context(), m.ID)
	if got := m.ScheduledFor.UTC().Format(time.RFC3339); got != "2099-02-01T13:00:00Z" {
		t.Errorf("changed start %s, want 13:00 UTC", got)
	}
}

// "Use template" keeps what was typed: the template's text follows it, the
// form comes back to be read over, and nothing is posted until the
// commander posts it. A template picked and posted with an empty message
// (no page script to insert it) fills the message in the same way.
func TestConsoleUseTemplateKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})
	tp, err := ts.store.CreateIncidentTemplate(t.Context(), store.IncidentTemplateInput{Name: "Fixed", Title: "Fixed title",
		Status: store.Monitoring, Body: "A fix is in place; we are watching."})
	if err != nil {
		t.Fatal(err)
	}
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	updates := func() int {
		got, err := ts.store.GetIncident(t.Context(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(got.Updates)
	}
	path := "/console/incidents/" + inc.ID + "/updates"
	form := func(action, template, body string) url.Values {
		return url.Values{"action": {action}, "template": {template}, "body": {body}, "status": {"identified"}, "impact": {"major"}}
	}

	for _, tc := range []struct {
		name, action, template, typed, body, note string
	}{
		{"use it after typing", "template", tp.ID, "We rolled back the deploy.\n",
			"We rolled back the deploy.\n\nA fix is in place; we are watching.", "after your message"},
		{"use it on an empty message", "template", tp.ID, "", "A fix is in place; we are watching.", "Filled in from the template"},
		{"post an empty message with it picked", "submit", tp.ID, "", "A fix is in place; we are watching.", "Filled in from the template"},
		{"use none", "template", "", "We rolled back.", "We rolled back.", "Choose a template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post(path, form(tc.action, tc.template, tc.typed))
			if p.Status != http.StatusOK {
				t.Fatalf("%d, want the form again\n%.400s", p.Status, p.Body)
			}
			if got := p.Doc.Find("#f-body").Text(); got != tc.body {
				t.Errorf("the message reads %q, want %q", got, tc.body)
			}
			if got := text(p.Doc.Find("main .notice")); !strings.Contains(got, tc.note) {
				t.Errorf("the form says %q, want %q", got, tc.note)
			}
			if tc.template != "" {
				if v, _ := p.Doc.Find("input[name=status][checked]").Attr("value"); v != "monitoring" {
					t.Errorf("status %q after the template, want the template's", v)
				}
				if p.Doc.Find("#f-template option[selected]").Length() != 0 {
					t.Error("the template is still chosen: posting would add it twice")
				}
			}
			if n := updates(); n != 1 {
				t.Errorf("%d updates: the template step posted", n)
			}
		})
	}

	// Opening an incident, the template gives the title the form lacks.
	p := b.post("/console/incidents", url.Values{"action": {"template"}, "template": {tp.ID}, "name": {""}, "body": {""}})
	if v, _ := p.Doc.Find("#f-name").Attr("value"); p.Status != http.StatusOK || v != "Fixed title" {
		t.Errorf("new incident with a template: %d, title %q", p.Status, v)
	}
	// Posting after reading it over posts it, as written.
	if p := b.post(path, form("submit", tp.ID, "We rolled back.\n\nA fix is in place.")); p.Status != http.StatusSeeOther || updates() != 2 {
		t.Errorf("posting after the template: %d, %d updates", p.Status, updates())
	}
	if got, _ := ts.store.GetIncident(t.Context(), inc.ID); got.Updates[0].Body != "We rolled back.\n\nA fix is in place." {
		t.Errorf("posted %q, want the message as written", got.Updates[0].Body)
	}
}

// The incident page puts its latest updates before the update form (beside
// it on a wide screen) and the components it affects first, highlighted;
// the others are folded away.
func TestConsoleIncidentPageLeadsWithWhatMatters(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Website", nil)
	ts.createComponent(t, "Email", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "First words.", "components": map[string]string{api.ID: "major_outage"}})
	for _, body := range []string{"Second.", "Third.", "Fourth."} {
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": body}, nil)
	}
	b := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))
	p := b.get("/console/incidents/" + inc.ID)

	layout := p.Doc.Find(".incident-layout").Children()
	if first, _ := layout.First().Attr("class"); !strings.Contains(first, "latest") || !strings.Contains(text(layout.First()), "Fourth.") {
		t.Errorf("the page's first part is %q (%q), want the latest updates", first, text(layout.First()))
	}
	if got := text(p.Doc.Find(".latest .entries").First()); !strings.Contains(got, "Fourth.") || strings.Contains(got, "First words.") {
		t.Errorf("latest updates read %q: want the newest three, the first folded", got)
	}
	if got := text(p.Doc.Find(".latest details.earlier")); !strings.Contains(got, "First words.") {
		t.Errorf("earlier updates read %q", got)
	}
	pinned := p.Doc.Find(".update-panel .comp-list li.pinned")
	if pinned.Length() != 1 || pinned.Find("select[name='component."+api.ID+"']").Length() != 1 {
		t.Errorf("%d pinned components, want API alone", pinned.Length())
	}
	if folded := p.Doc.Find(".update-panel details.comp-more select"); folded.Length() != 2 {
		t.Errorf("%d components folded away, want the 2 others", folded.Length())
	}
	if _, open := p.Doc.Find("details.comp-more").Attr("open"); open {
		t.Error("the other components are unfolded with nothing chosen among them")
	}
}

// The delivery log says each attempt's outcome once, and where the
// delivery stands only when that adds something.
func TestConsoleDeliveryLogSaysItOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	w := ts.registerWebhook(t, r, nil)
	ts.startDispatcher(t, noRetries)
	ts.createIncident(t, map[string]any{"name": "Outage", "body": "Investigating."})
	ts.drainOutbox(t)
	admin := ts.signedIn(t, ts.addUser(t, "root@example.com", store.RoleAdmin))

	row := admin.get("/console/webhooks/" + w.ID).Doc.Find("table.deliveries tbody tr")
	if got := text(row); row.Length() != 1 || strings.Count(got, "Delivered") != 1 {
		t.Errorf("the log row reads %q, want Delivered once", got)
	}
}

// Audit entries name what they changed: by the entry's own record, else by
// another entry about the same object, else by its id.
func TestConsoleAuditNamesObjects(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	c := ts.createComponent(t, "Payments API", nil)
	w := ts.registerWebhook(t, newReceiver(t), map[string]any{"description": "Ops chat"})
	admin := ts.signedIn(t, ts.addUser(t, "root@example.com", store.RoleAdmin))
	if p := admin.post("/console/webhooks/"+w.ID+"/rotate-secret", nil); p.Status >= 400 {
		t.Fatalf("rotate: %d", p.Status)
	}
	p := admin.get("/console/audit")
	object := func(action string) string {
		for _, tr := range p.Doc.Find("table.audit tbody tr").EachIter() {
			if strings.Contains(text(tr.Find("td").Eq(2)), action) {
				return text(tr.Find("td").Eq(3))
			}
		}
		return ""
	}
	for action, want := range map[string]string{
		"component.create":      "Payments API",
		"webhook.create":        "Ops chat",
		"webhook.rotate_secret": "Ops chat", // the entry holds nothing; its create entry names it
		"user.create":           "root@example.com",
	} {
		if got := object(action); !strings.HasPrefix(got, want) {
			t.Errorf("%s: the object reads %q, want %q", action, got, want)
		}
	}
	if got := object("component.create"); !strings.Contains(got, c.ID) {
		t.Errorf("the component's entry reads %q: the id should stay, beside the name", got)
	}
}
