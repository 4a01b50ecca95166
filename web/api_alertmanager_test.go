package web

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

const alertmanagerPath = "/api/v1/integrations/alertmanager"

func withAlertmanager(cfg AlertmanagerConfig) testOption {
	return func(s *testSetup) { s.cfg.Alertmanager = cfg }
}

// fixture reads a payload from testdata/alertmanager.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "alertmanager", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// alert posts an Alertmanager payload as Alertmanager does.
func (ts *testServer) alert(t *testing.T, payload string) (apiResponse, store.AlertResult) {
	t.Helper()
	resp := ts.call(t, "POST", alertmanagerPath, payload)
	var res store.AlertResult
	if resp.Status == http.StatusOK {
		resp.decode(t, &res)
	}
	return resp, res
}

// adminIncidents is GET /api/v1/incidents.
func (ts *testServer) adminIncidents(t *testing.T) []store.Incident {
	t.Helper()
	var list []store.Incident
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents", nil, &list)
	return list
}

// publicSurfaces is every public address that could show an incident, and
// its body once the snapshot is current.
func (ts *testServer) publicSurfaces(t *testing.T, incidentID string, componentIDs ...string) map[string]string {
	t.Helper()
	paths := []string{"/", "/history", "/incidents/" + incidentID, "/history.atom", "/history.rss", "/badge.svg",
		"/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json", "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json"}
	for _, id := range componentIDs {
		paths = append(paths, "/components/"+id+"/badge.svg")
	}
	out := map[string]string{}
	for _, p := range paths {
		resp, body := ts.fetch(t, "GET", p, nil)
		out[p] = resp.Status + "\n" + string(body)
	}
	return out
}

func TestAlertmanagerDraftStaysOffEveryPublicSurface(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	db := ts.createComponent(t, "Database", nil)
	live := openStream(t, ts, "?types=json", nil)

	resp, res := ts.alert(t, fixture(t, "firing.json"))
	if resp.Status != http.StatusOK || !res.Draft || !res.Changed || res.IncidentID == "" {
		t.Fatalf("firing: %d %s, want a new draft", resp.Status, resp.Body)
	}

	// The commander sees it, marked as a draft.
	list := ts.adminIncidents(t)
	if len(list) != 1 || !list[0].Draft || list[0].ID != res.IncidentID || list[0].Name != "API error rate above 5%" {
		t.Fatalf("GET /api/v1/incidents = %+v, want the draft", list)
	}
	var one map[string]any
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+res.IncidentID, nil, &one)
	if one["draft"] != true {
		t.Errorf("GET /api/v1/incidents/{id}: draft = %v, want true", one["draft"])
	}

	// Nobody else does.
	for path, body := range ts.publicSurfaces(t, res.IncidentID, api.ID, db.ID) {
		for _, leak := range []string{res.IncidentID, "API error rate", "HighErrorRate", "major outage", "major_outage", "Major Outage"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s shows %q while the incident is a draft", path, leak)
			}
		}
		if path == "/incidents/"+res.IncidentID && !strings.HasPrefix(body, "404") {
			t.Errorf("%s: %s, want 404 while a draft", path, strings.SplitN(body, "\n", 2)[0])
		}
	}
	// Nor the live stream: the next event is the next public change.
	ts.createComponent(t, "Website", nil)
	if ev := live.next(t); ev.Event != "component.created" {
		t.Errorf("first live event after the draft: %s %s, want component.created", ev.Event, ev.Data)
	}

	// Only a real change for those updates that would change a draft.
	if r := ts.call(t, "POST", "/api/v1/incidents/"+res.IncidentID+"/updates", map[string]any{"status": "identified", "body": "x"}); r.Status != http.StatusConflict {
		t.Errorf("posting an update to a draft: %d %s, want 409", r.Status, r.Body)
	}

	// The same payload again changes nothing.
	if _, again := ts.alert(t, fixture(t, "firing.json")); again.Changed || again.IncidentID != res.IncidentID {
		t.Errorf("repeat: %+v, want unchanged", again)
	}

	// A second alert of the group joins the draft.
	if _, joined := ts.alert(t, fixture(t, "firing-second.json")); !joined.Changed || joined.IncidentID != res.IncidentID || !joined.Draft {
		t.Errorf("second alert: %+v, want it to join the draft", joined)
	}

	// Approved: it is a real incident everywhere, under the same id.
	var published store.Incident
	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+res.IncidentID+"/publish", nil, &published)
	if published.Draft || published.ID != res.IncidentID || published.Status != store.Investigating {
		t.Errorf("published = %+v", published)
	}
	if ev := live.nextOf(t, "incident.created"); !strings.Contains(ev.Data, res.IncidentID) {
		t.Errorf("incident.created carries %s", ev.Data)
	}
	surfaces := ts.publicSurfaces(t, res.IncidentID, api.ID)
	for _, path := range []string{"/", "/incidents/" + res.IncidentID, "/history.atom", "/history.rss", "/api/v2/summary.json", "/api/v2/incidents/unresolved.json"} {
		if !strings.Contains(surfaces[path], "API error rate above 5%") {
			t.Errorf("%s does not show the published incident", path)
		}
	}
	if !strings.Contains(surfaces["/components/"+api.ID+"/badge.svg"], "major outage") {
		t.Errorf("API badge after publishing: %s", surfaces["/components/"+api.ID+"/badge.svg"])
	}

	// All alerts resolved: monitoring, components back to operational.
	if _, end := ts.alert(t, fixture(t, "resolved.json")); end.Status != store.Monitoring || !end.Changed {
		t.Errorf("resolved: %+v, want monitoring", end)
	}
	var after store.Component
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+api.ID, nil, &after)
	if after.Status != store.Operational {
		t.Errorf("API is %s after its alert resolved, want operational", after.Status)
	}

	// The audit log names the integration.
	entries, err := ts.store.QueryAuditLog(t.Context(), store.AuditFilter{ObjectType: "incident_draft", ObjectID: res.IncidentID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || entries[len(entries)-1].Actor.Type != "integration" || !strings.Contains(entries[len(entries)-1].Actor.Name, "Alertmanager") {
		t.Errorf("draft audit entries = %+v, want the integration as actor", entries)
	}
}

func TestAlertmanagerBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	valid := fixture(t, "firing.json")
	edit := func(change func(p map[string]any)) string {
		var p map[string]any
		if err := json.Unmarshal([]byte(valid), &p); err != nil {
			t.Fatal(err)
		}
		change(p)
		b, _ := json.Marshal(p)
		return string(b)
	}
	firstAlert := func(p map[string]any) map[string]any { return p["alerts"].([]any)[0].(map[string]any) }
	tests := []struct {
		name       string
		body       string
		token      string
		header     string
		wantStatus int
		wantField  string
	}{
		{"unknown component", fixture(t, "unknown-component.json"), "", "", 422, "alerts[1].labels.component"},
		{"malformed JSON", fixture(t, "malformed.json"), "", "", 400, ""},
		{"not an object", `[1,2]`, "", "", 400, ""},
		{"wrong version", edit(func(p map[string]any) { p["version"] = "3" }), "", "", 422, "version"},
		{"no group key", edit(func(p map[string]any) { delete(p, "groupKey") }), "", "", 422, "groupKey"},
		{"bad status", edit(func(p map[string]any) { p["status"] = "burning" }), "", "", 422, "status"},
		{"no alerts", edit(func(p map[string]any) { p["alerts"] = []any{} }), "", "", 422, "alerts"},
		{"bad alert status", edit(func(p map[string]any) { firstAlert(p)["status"] = "pending" }), "", "", 422, "alerts[0].status"},
		{"bad time", edit(func(p map[string]any) { firstAlert(p)["startsAt"] = "yesterday" }), "", "", 422, "alerts[0].startsAt"},
		{"no labels", edit(func(p map[string]any) { firstAlert(p)["labels"] = map[string]any{} }), "", "", 422, "alerts[0].labels"},
		{"no component label", edit(func(p map[string]any) { delete(firstAlert(p)["labels"].(map[string]any), "component") }), "", "", 422, "alerts[0].labels.component"},
		{"labels of the wrong type", edit(func(p map[string]any) { firstAlert(p)["labels"] = "API" }), "", "", 400, "alerts.labels"},
		{"no token", valid, "none", "", 401, ""},
		{"wrong token", valid, "bogus", "", 401, ""},
		{"not JSON", valid, "", "text/plain", 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			api := ts.createComponent(t, "API", nil)
			token := ts.token
			switch tt.token {
			case "none":
				token = ""
			case "bogus":
				token = "h_bogus"
			}
			req, err := http.NewRequest("POST", ts.URL+alertmanagerPath, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				req.Header.Set("Content-Type", tt.header)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e apiErr
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (%+v)", resp.StatusCode, tt.wantStatus, e)
			}
			if e.Error.Message == "" || e.Error.Field != tt.wantField {
				t.Errorf("error = %+v, want a message about %q", e.Error, tt.wantField)
			}
			if list := ts.adminIncidents(t); len(list) != 0 {
				t.Errorf("%d incidents or drafts after a refused payload", len(list))
			}
			var c store.Component
			ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+api.ID, nil, &c)
			if c.Status != store.Operational {
				t.Errorf("API is %s after a refused payload", c.Status)
			}
		})
	}
}

func TestAlertmanagerConfiguration(t *testing.T) {
	t.Parallel()
	t.Run("publish at once, resolve on resolved", func(t *testing.T) {
		ts := newTestServer(t, withAlertmanager(AlertmanagerConfig{Publish: true, OnResolved: store.Resolved}))
		api := ts.createComponent(t, "API", nil)
		_, res := ts.alert(t, fixture(t, "firing.json"))
		if res.Draft {
			t.Fatalf("got a draft with Publish set: %+v", res)
		}
		_, body := ts.fetch(t, "GET", "/api/v2/incidents/unresolved.json", nil)
		if !strings.Contains(string(body), res.IncidentID) {
			t.Errorf("published incident missing from unresolved.json")
		}
		// firing.json has one alert; resolving it closes the group.
		resolved := strings.Replace(strings.Replace(fixture(t, "firing.json"), `"status": "firing"`, `"status": "resolved"`, -1), `"status": "firing"`, `"status": "resolved"`, -1)
		if _, end := ts.alert(t, resolved); end.Status != store.Resolved {
			t.Errorf("resolved: %+v, want resolved", end)
		}
		var inc store.Incident
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+res.IncidentID, nil, &inc)
		if inc.Status != store.Resolved || inc.ResolvedAt == nil {
			t.Errorf("incident is %s", inc.Status)
		}
		var c store.Component
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+api.ID, nil, &c)
		if c.Status != store.Operational {
			t.Errorf("API is %s", c.Status)
		}
	})
	t.Run("own label, mapping and severities", func(t *testing.T) {
		ts := newTestServer(t, withAlertmanager(AlertmanagerConfig{
			Publish:        true,
			ComponentLabel: "service",
			Components:     map[string]string{"checkout-svc": "Checkout"},
			Severity:       map[string]store.ComponentStatus{"page": store.PartialOutage},
		}))
		checkout := ts.createComponent(t, "Checkout", nil)
		payload := strings.NewReplacer(`"component": "API"`, `"service": "checkout-svc"`, `"severity": "critical"`, `"severity": "page"`).Replace(fixture(t, "firing.json"))
		if resp, res := ts.alert(t, payload); resp.Status != http.StatusOK || !res.Changed {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		var c store.Component
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+checkout.ID, nil, &c)
		if c.Status != store.PartialOutage {
			t.Errorf("Checkout is %s, want partial_outage from severity page", c.Status)
		}
	})
}

func TestAlertmanagerDraftDiscard(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	_, res := ts.alert(t, fixture(t, "firing.json"))
	ts.mustCall(t, http.StatusNoContent, "DELETE", "/api/v1/incidents/"+res.IncidentID, nil, nil)
	if list := ts.adminIncidents(t); len(list) != 0 {
		t.Errorf("%d incidents after discarding the draft", len(list))
	}
	ts.mustCall(t, http.StatusNotFound, "POST", "/api/v1/incidents/"+res.IncidentID+"/publish", nil, nil)
	inc := ts.createIncident(t, map[string]any{"name": "Real", "body": "Real."})
	ts.mustCall(t, http.StatusConflict, "DELETE", "/api/v1/incidents/"+inc.ID, nil, nil)
	ts.mustCall(t, http.StatusConflict, "POST", "/api/v1/incidents/"+inc.ID+"/publish", nil, nil)
}

func TestAlertmanagerConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  AlertmanagerConfig
	}{
		{"unknown status", AlertmanagerConfig{Severity: map[string]store.ComponentStatus{"critical": "down"}}},
		{"operational", AlertmanagerConfig{Severity: map[string]store.ComponentStatus{"critical": store.Operational}}},
		{"bad on-resolved", AlertmanagerConfig{OnResolved: store.Identified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Normalize(); err == nil {
				t.Error("accepted")
			}
		})
	}
	pairs, err := ParsePairs(" Critical=major_outage, warning = degraded_performance ,", true)
	if err != nil || pairs["critical"] != "major_outage" || pairs["warning"] != "degraded_performance" || len(pairs) != 2 {
		t.Errorf("ParsePairs = %v, %v", pairs, err)
	}
	if _, err := ParsePairs("critical", false); err == nil {
		t.Error("ParsePairs accepted a pair without =")
	}
}
