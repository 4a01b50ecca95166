package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/statuspage"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/ from the current output")

// ecosystemPage is a status page with a bit of everything the public
// documents show: a group, an ungrouped component with a description, an
// open incident whose second update changed no component, a resolved
// incident, a maintenance under way and one to come.
type ecosystemPage struct {
	*testServer
	api, db, website  store.Component
	backend           store.ComponentGroup
	login, slow       store.Incident
	upgrade, failover store.Maintenance
	labels            map[string]string // object id → name used in goldens
}

func newEcosystemPage(t *testing.T) *ecosystemPage {
	t.Helper()
	ts := newTestServer(t)
	p := &ecosystemPage{testServer: ts}
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Backend"}, &p.backend)
	p.website = ts.createComponent(t, "Website", map[string]any{"description": "The marketing site"})
	p.api = ts.createComponent(t, "API", map[string]any{"group_id": p.backend.ID})
	p.db = ts.createComponent(t, "Database", map[string]any{"group_id": p.backend.ID})

	p.slow = ts.createIncident(t, map[string]any{"name": "Slow dashboard", "body": "Pages load slowly.", "components": map[string]string{p.website.ID: "degraded_performance"}})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+p.slow.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, &p.slow)
	p.login = ts.createIncident(t, map[string]any{"name": "Login failures", "impact": "major", "body": "We are investigating.", "components": map[string]string{p.api.ID: "partial_outage"}})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+p.login.ID+"/updates", map[string]any{"status": "identified", "body": "A bad deploy; rolling back."}, &p.login)

	now := time.Now().UTC()
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Database upgrade", "message": "We will upgrade the database.", "components": []string{p.db.ID},
		"scheduled_for": now.Add(24 * time.Hour), "scheduled_until": now.Add(26 * time.Hour),
	}, &p.upgrade)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Network failover", "message": "Failing over the network.", "components": []string{p.website.ID},
		"scheduled_for": now, "scheduled_until": now.Add(time.Hour), "auto_transition": false,
	}, &p.failover)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+p.failover.ID+"/updates", map[string]any{"status": "in_progress", "body": "Under way."}, &p.failover)

	p.labels = map[string]string{
		statuspage.PageID(ts.srv.cfg.BaseURL): "PAGE",
		p.api.ID:                              "API", p.db.ID: "DATABASE", p.website.ID: "WEBSITE", p.backend.ID: "BACKEND",
		p.login.ID: "LOGIN", p.slow.ID: "SLOW", p.upgrade.ID: "UPGRADE", p.failover.ID: "FAILOVER",
	}
	return p
}

// getJSON fetches a public document once the snapshot is current.
func (p *ecosystemPage) getJSON(t *testing.T, path string) (*http.Response, any) {
	t.Helper()
	resp, body := p.fetch(t, "GET", path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
	return resp, v
}

var (
	spTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	spDateRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d$`)
)

// normalize makes a document comparable across runs: known ids become
// their labels, update ids "UPDATE", times "TIME" (after checking their
// format). Everything else, including every null, stays as sent.
func (p *ecosystemPage) normalize(t *testing.T, key string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = p.normalize(t, k, x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = p.normalize(t, key, x)
		}
		return out
	case string:
		switch {
		case strings.HasSuffix(key, "_at") || key == "scheduled_for" || key == "scheduled_until":
			if !spTimeRE.MatchString(v) {
				t.Errorf("%s = %q: want Statuspage's time format, 2006-01-02T15:04:05.000Z", key, v)
			}
			return "TIME"
		case key == "start_date":
			if !spDateRE.MatchString(v) {
				t.Errorf("start_date = %q: want a date, 2006-01-02", v)
			}
			return "DATE"
		}
		if label, ok := p.labels[v]; ok {
			return label
		}
		if key == "id" {
			return "UPDATE" // update ids are the only ones the test did not create by name
		}
		for id, label := range p.labels {
			v = strings.ReplaceAll(v, id, label)
		}
		return v
	}
	return v
}

// Statuspage's documented fields for each kind of object, with the JSON
// types each may have: every object of the kind must carry exactly these.
var statuspageFields = map[string]map[string]string{
	"page":   {"id": "string", "name": "string", "url": "string", "time_zone": "string", "updated_at": "string"},
	"status": {"indicator": "string", "description": "string"},
	"component": {
		"id": "string", "name": "string", "status": "string", "created_at": "string", "updated_at": "string", "position": "number",
		"description": "string|null", "showcase": "bool", "start_date": "string|null", "group_id": "string|null", "page_id": "string",
		"group": "bool", "only_show_if_degraded": "bool",
	},
	"incident": {
		"id": "string", "name": "string", "status": "string", "impact": "string", "created_at": "string", "updated_at": "string",
		"monitoring_at": "string|null", "resolved_at": "string|null", "started_at": "string", "shortlink": "string", "page_id": "string",
		"incident_updates": "array", "components": "array",
	},
	"update": {
		"id": "string", "incident_id": "string", "status": "string", "body": "string", "created_at": "string", "updated_at": "string",
		"display_at": "string", "affected_components": "array|null",
		"deliver_notifications": "bool", "custom_tweet": "string|null", "tweet_id": "string|null",
	},
	"affected": {"code": "string", "name": "string", "old_status": "string", "new_status": "string"},
}

func init() {
	// A group is a component that lists its members; a scheduled
	// maintenance is an incident with a window.
	group := map[string]string{"components": "array"}
	maint := map[string]string{"scheduled_for": "string", "scheduled_until": "string"}
	for k, v := range statuspageFields["component"] {
		group[k] = v
	}
	for k, v := range statuspageFields["incident"] {
		maint[k] = v
	}
	statuspageFields["group"], statuspageFields["maintenance"] = group, maint
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	}
	return "object"
}

// checkKeys checks every object in a document against statuspageFields.
func checkKeys(t *testing.T, doc map[string]any) {
	t.Helper()
	want := func(where, kind string, obj any) {
		m, ok := obj.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, want an object", where, obj)
			return
		}
		fields := statuspageFields[kind]
		for k, v := range m {
			types, ok := fields[k]
			if !ok {
				t.Errorf("%s (%s) has field %q, which Statuspage does not", where, kind, k)
				continue
			}
			if !slices.Contains(strings.Split(types, "|"), jsonType(v)) {
				t.Errorf("%s.%s is %s, want %s", where, k, jsonType(v), types)
			}
		}
		for k := range fields {
			if _, ok := m[k]; !ok {
				t.Errorf("%s (%s) lacks field %q", where, kind, k)
			}
		}
	}
	component := func(where string, c any) {
		kind := "component"
		if m, _ := c.(map[string]any); m["group"] == true {
			kind = "group"
		}
		want(where, kind, c)
	}
	incidentLike := func(where, kind string, inc any) {
		want(where, kind, inc)
		m, _ := inc.(map[string]any)
		for _, u := range asList(m["incident_updates"]) {
			want(where+".incident_updates[]", "update", u)
			for _, a := range asList(u.(map[string]any)["affected_components"]) {
				want(where+".affected_components[]", "affected", a)
			}
		}
		for _, c := range asList(m["components"]) {
			component(where+".components[]", c)
		}
	}
	for k, v := range doc {
		switch k {
		case "page", "status":
			want(k, k, v)
		case "components":
			for _, c := range asList(v) {
				component("components[]", c)
			}
		case "incidents":
			for _, inc := range asList(v) {
				incidentLike("incidents[]", "incident", inc)
			}
		case "scheduled_maintenances":
			for _, m := range asList(v) {
				incidentLike("scheduled_maintenances[]", "maintenance", m)
			}
		default:
			t.Errorf("unexpected top-level key %q", k)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestStatuspageDocuments(t *testing.T) {
	t.Parallel()
	p := newEcosystemPage(t)
	tests := []struct {
		path, golden string
		keys         []string // top-level keys
	}{
		{"/api/v2/summary.json", "summary.json", []string{"page", "components", "incidents", "scheduled_maintenances", "status"}},
		{"/api/v2/status.json", "status.json", []string{"page", "status"}},
		{"/api/v2/components.json", "components.json", []string{"page", "components"}},
		{"/api/v2/incidents.json", "incidents.json", []string{"page", "incidents"}},
		{"/api/v2/incidents/unresolved.json", "incidents-unresolved.json", []string{"page", "incidents"}},
		{"/api/v2/scheduled-maintenances.json", "scheduled-maintenances.json", []string{"page", "scheduled_maintenances"}},
		{"/api/v2/scheduled-maintenances/upcoming.json", "scheduled-maintenances-upcoming.json", []string{"page", "scheduled_maintenances"}},
		{"/api/v2/scheduled-maintenances/active.json", "scheduled-maintenances-active.json", []string{"page", "scheduled_maintenances"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, v := p.getJSON(t, tt.path)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			doc := v.(map[string]any)
			var top []string
			for k := range doc {
				top = append(top, k)
			}
			slices.Sort(top)
			want := slices.Clone(tt.keys)
			slices.Sort(want)
			if !slices.Equal(top, want) {
				t.Errorf("top-level keys %v, want %v", top, want)
			}
			checkKeys(t, doc)

			got, err := json.MarshalIndent(p.normalize(t, "", v), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "statuspage", tt.golden)
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantBody, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./web -run TestStatuspageDocuments -update to create it)", err)
			}
			if !bytes.Equal(got, wantBody) {
				t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", tt.path, path, got, wantBody)
			}
		})
	}
}

func TestStatuspageCachingAndCORS(t *testing.T) {
	t.Parallel()
	p := newEcosystemPage(t)
	resp, _ := p.fetch(t, "GET", "/api/v2/summary.json", map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding = %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if again, _ := p.fetch(t, "GET", "/api/v2/summary.json", map[string]string{"If-None-Match": etag}); again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", again.StatusCode)
	}
	pre, _ := p.fetch(t, "OPTIONS", "/api/v2/summary.json", map[string]string{"Origin": "https://customer.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match"})
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	// A change shows in the document, with a new ETag.
	p.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+p.login.ID+"/updates", map[string]any{"status": "resolved", "body": "Rolled back."}, nil)
	changed, body := p.fetch(t, "GET", "/api/v2/incidents/unresolved.json", nil)
	if changed.Header.Get("ETag") == etag || strings.Contains(string(body), p.login.ID) {
		t.Errorf("after resolving, unresolved.json still lists the incident: %s", body)
	}
}
