package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// The admin API through real HTTP: every endpoint in routes.go, the shape of
// what it answers, and the rules a commander relies on (component statuses
// applied, restored on resolve, maintenance lifecycle). Bad input lives in
// api_badinput_test.go.

func TestAPIComponentGroups(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "  API  ", "description": "Public REST API"}, &g)
	if g.ID == "" || g.Name != "API" || g.Description != "Public REST API" || g.Position != 0 {
		t.Fatalf("created group %+v: want an id, the trimmed name, the description, position 0", g)
	}
	var g2 store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Web"}, &g2)
	if g2.Position != 1 {
		t.Errorf("second group has position %d, want 1 (after the others)", g2.Position)
	}
	c := ts.createComponent(t, "Login", map[string]any{"group_id": g.ID})

	var list []store.ComponentGroup
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/component-groups", nil, &list)
	if len(list) != 2 || list[0].ID != g.ID || list[1].ID != g2.ID {
		t.Fatalf("list %+v: want both groups in position order", list)
	}
	if !slices.Equal(list[0].Components, []string{c.ID}) || len(list[1].Components) != 0 {
		t.Errorf("group components %v / %v: want [%s] / []", list[0].Components, list[1].Components, c.ID)
	}

	var got store.ComponentGroup
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/component-groups/"+g.ID, nil, &got)
	if got.ID != g.ID || got.Name != "API" || !slices.Equal(got.Components, []string{c.ID}) {
		t.Errorf("get %+v", got)
	}

	t.Run("patch changes only what is sent", func(t *testing.T) {
		var p store.ComponentGroup
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/component-groups/"+g.ID, map[string]any{"name": "Public API"}, &p)
		if p.Name != "Public API" || p.Description != "Public REST API" || p.Position != 0 {
			t.Errorf("patched %+v", p)
		}
		if !p.UpdatedAt.After(g.UpdatedAt) && !p.UpdatedAt.Equal(g.UpdatedAt) {
			t.Errorf("updated_at went backwards: %v then %v", g.UpdatedAt, p.UpdatedAt)
		}
	})
	t.Run("put", func(t *testing.T) {
		var p store.ComponentGroup
		ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/component-groups/"+g.ID, map[string]any{"description": "", "position": 5}, &p)
		if p.Name != "Public API" || p.Description != "" || p.Position != 5 {
			t.Errorf("put %+v", p)
		}
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/component-groups/"+g.ID, nil, &p)
		if p.Position != 5 || p.Description != "" {
			t.Errorf("after put, get %+v", p)
		}
	})
	t.Run("delete keeps its components, ungrouped", func(t *testing.T) {
		resp := ts.call(t, "DELETE", "/api/v1/component-groups/"+g.ID, nil)
		if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
			t.Fatalf("delete: %d %q, want 204 and no body", resp.Status, resp.Body)
		}
		wantError(t, ts.call(t, "GET", "/api/v1/component-groups/"+g.ID, nil), http.StatusNotFound, "not_found", "")
		var comp store.Component
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+c.ID, nil, &comp)
		if comp.GroupID != "" {
			t.Errorf("component still in deleted group %q", comp.GroupID)
		}
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/component-groups", nil, &list)
		if len(list) != 1 || list[0].ID != g2.ID {
			t.Errorf("after delete, list %+v", list)
		}
	})
}

func TestAPIComponents(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var g1, g2 store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g1)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Edge"}, &g2)

	api := ts.createComponent(t, "API", map[string]any{"group_id": g1.ID, "description": "REST and GraphQL"})
	if api.ID == "" || api.Status != store.Operational || api.GroupID != g1.ID || api.Position != 0 || api.Description != "REST and GraphQL" {
		t.Fatalf("created %+v: want an id, operational, in group, position 0", api)
	}
	db := ts.createComponent(t, "Database", map[string]any{"group_id": g1.ID, "status": "degraded_performance"})
	if db.Status != store.DegradedPerformance || db.Position != 1 {
		t.Errorf("created %+v: want degraded_performance at position 1", db)
	}
	cdn := ts.createComponent(t, "CDN", map[string]any{"position": 7})
	if cdn.GroupID != "" || cdn.Position != 7 {
		t.Errorf("created %+v: want ungrouped at position 7", cdn)
	}

	var list []store.Component
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components", nil, &list)
	// Page order: ungrouped components first, then each group's by position.
	if ids := componentIDs(list); !slices.Equal(ids, []string{cdn.ID, api.ID, db.ID}) {
		t.Errorf("list %v, want %v", ids, []string{cdn.ID, api.ID, db.ID})
	}
	var got store.Component
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+db.ID, nil, &got)
	if got.Name != "Database" || got.Status != store.DegradedPerformance {
		t.Errorf("get %+v", got)
	}

	t.Run("status change", func(t *testing.T) {
		for _, st := range store.ComponentStatuses {
			var c store.Component
			ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+api.ID, map[string]any{"status": st}, &c)
			if c.Status != st || c.Name != "API" || c.GroupID != g1.ID {
				t.Errorf("patch status %s: %+v", st, c)
			}
			ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+api.ID, nil, &c)
			if c.Status != st {
				t.Errorf("after patch to %s, get says %s", st, c.Status)
			}
		}
	})
	t.Run("move to another group", func(t *testing.T) {
		var c store.Component
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+db.ID, map[string]any{"group_id": g2.ID}, &c)
		if c.GroupID != g2.ID || c.Status != store.DegradedPerformance {
			t.Errorf("moved %+v", c)
		}
		var a, b store.ComponentGroup
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/component-groups/"+g1.ID, nil, &a)
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/component-groups/"+g2.ID, nil, &b)
		if !slices.Equal(a.Components, []string{api.ID}) || !slices.Equal(b.Components, []string{db.ID}) {
			t.Errorf("groups hold %v and %v after the move", a.Components, b.Components)
		}
	})
	t.Run("leave the group", func(t *testing.T) {
		var c store.Component
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+db.ID, map[string]any{"group_id": ""}, &c)
		if c.GroupID != "" {
			t.Errorf("still in group %q", c.GroupID)
		}
	})
	t.Run("put renames and repositions", func(t *testing.T) {
		var c store.Component
		ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/components/"+cdn.ID, map[string]any{"name": "Edge CDN", "description": "Static files", "position": 2}, &c)
		if c.Name != "Edge CDN" || c.Description != "Static files" || c.Position != 2 || c.Status != store.Operational {
			t.Errorf("put %+v", c)
		}
	})
	t.Run("name of exactly 255 characters is accepted", func(t *testing.T) {
		name := strings.Repeat("é", store.MaxNameLength) // runes, not bytes
		c := ts.createComponent(t, name, nil)
		if c.Name != name {
			t.Errorf("name came back %d runes long", len([]rune(c.Name)))
		}
	})
	t.Run("delete", func(t *testing.T) {
		resp := ts.call(t, "DELETE", "/api/v1/components/"+cdn.ID, nil)
		if resp.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", resp.Status, resp.Body)
		}
		wantError(t, ts.call(t, "GET", "/api/v1/components/"+cdn.ID, nil), http.StatusNotFound, "not_found", "")
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components", nil, &list)
		if slices.Contains(componentIDs(list), cdn.ID) {
			t.Errorf("deleted component still listed")
		}
	})
}

func TestAPIIncidentLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	login := ts.createComponent(t, "Login", nil)
	web := ts.createComponent(t, "Website", nil)

	inc := ts.createIncident(t, map[string]any{
		"name":       "Logins failing",
		"body":       "We are investigating failed logins.",
		"components": map[string]string{login.ID: "major_outage", api.ID: "degraded_performance"},
	})
	t.Run("create", func(t *testing.T) {
		if inc.ID == "" || inc.Name != "Logins failing" || inc.Status != store.Investigating {
			t.Errorf("created %+v: want an id, the name, investigating", inc)
		}
		if inc.Impact != store.ImpactCritical {
			t.Errorf("impact %q, want critical (derived from major_outage)", inc.Impact)
		}
		if want := sortedIDs(api.ID, login.ID); !slices.Equal(inc.Components, want) {
			t.Errorf("components %v, want %v", inc.Components, want)
		}
		if len(inc.Updates) != 1 || inc.Updates[0].Body != "We are investigating failed logins." || inc.Updates[0].Status != store.Investigating {
			t.Fatalf("updates %+v", inc.Updates)
		}
		affected := map[string]store.AffectedComponent{}
		for _, a := range inc.Updates[0].AffectedComponents {
			affected[a.ComponentID] = a
		}
		if a := affected[login.ID]; a.Name != "Login" || a.OldStatus != store.Operational || a.NewStatus != store.MajorOutage {
			t.Errorf("affected login %+v", a)
		}
		if a := affected[api.ID]; a.OldStatus != store.Operational || a.NewStatus != store.DegradedPerformance {
			t.Errorf("affected api %+v", a)
		}
		wantStatuses(t, ts, map[string]store.ComponentStatus{login.ID: store.MajorOutage, api.ID: store.DegradedPerformance, web.ID: store.Operational})
	})
	t.Run("get", func(t *testing.T) {
		var got store.Incident
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID, nil, &got)
		if got.ID != inc.ID || got.Name != inc.Name || len(got.Updates) != 1 || got.ResolvedAt != nil || got.Postmortem != nil {
			t.Errorf("get %+v", got)
		}
	})
	t.Run("patch name and impact", func(t *testing.T) {
		var got store.Incident
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID, map[string]any{"name": "Logins failing for 75% of users"}, &got)
		if got.Name != "Logins failing for 75% of users" || got.Impact != store.ImpactCritical {
			t.Errorf("patched name: %+v", got)
		}
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID, map[string]any{"impact": "major"}, &got)
		if got.Name != "Logins failing for 75% of users" || got.Impact != store.ImpactMajor {
			t.Errorf("patched impact: %+v", got)
		}
		ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/incidents/"+inc.ID, map[string]any{"name": "Login outage", "impact": "critical"}, &got)
		if got.Name != "Login outage" || got.Impact != store.ImpactCritical || got.Status != store.Investigating || len(got.Updates) != 1 {
			t.Errorf("put: %+v", got)
		}
	})
	t.Run("post updates", func(t *testing.T) {
		var got store.Incident
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{
			"status": "identified", "body": "A database change is the cause.", "components": map[string]string{web.ID: "partial_outage"},
		}, &got)
		if got.Status != store.Identified || len(got.Updates) != 2 || got.Updates[0].Body != "A database change is the cause." {
			t.Errorf("after update: status %s, %d updates", got.Status, len(got.Updates))
		}
		if want := sortedIDs(api.ID, login.ID, web.ID); !slices.Equal(got.Components, want) {
			t.Errorf("components %v, want %v (the update adds the website)", got.Components, want)
		}
		// An update without status keeps the current one.
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{
			"body": "Rolling the change back.", "components": map[string]string{login.ID: "partial_outage"},
		}, &got)
		if got.Status != store.Identified {
			t.Errorf("status %s after an update without status, want identified", got.Status)
		}
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "monitoring", "body": "Fix deployed."}, &got)
		if got.Status != store.Monitoring || got.MonitoringAt == nil {
			t.Errorf("monitoring: %+v", got)
		}
		wantStatuses(t, ts, map[string]store.ComponentStatus{login.ID: store.PartialOutage, api.ID: store.DegradedPerformance, web.ID: store.PartialOutage})

		var updates []store.IncidentUpdate
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID+"/updates", nil, &updates)
		var bodies []string
		for _, u := range updates {
			bodies = append(bodies, u.Body)
			if u.ID == "" || u.IncidentID != inc.ID {
				t.Errorf("update %+v: want an id and incident_id %s", u, inc.ID)
			}
		}
		want := []string{"Fix deployed.", "Rolling the change back.", "A database change is the cause.", "We are investigating failed logins."}
		if !slices.Equal(bodies, want) {
			t.Errorf("updates %q, want newest first %q", bodies, want)
		}
	})
	t.Run("resolve returns components to operational", func(t *testing.T) {
		var got store.Incident
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "All logins work again."}, &got)
		if got.Status != store.Resolved || got.ResolvedAt == nil {
			t.Errorf("resolved: %+v", got)
		}
		wantStatuses(t, ts, map[string]store.ComponentStatus{login.ID: store.Operational, api.ID: store.Operational, web.ID: store.Operational})
		changed := map[string]store.ComponentStatus{}
		for _, a := range got.Updates[0].AffectedComponents {
			changed[a.ComponentID] = a.NewStatus
		}
		if len(changed) != 3 {
			t.Errorf("the resolving update records %v, want all three components back to operational", changed)
		}
	})
	t.Run("created already resolved", func(t *testing.T) {
		got := ts.createIncident(t, map[string]any{"name": "Blip", "status": "resolved", "impact": "none", "body": "A short blip; already over."})
		if got.Status != store.Resolved || got.ResolvedAt == nil || got.Impact != store.ImpactNone {
			t.Errorf("%+v", got)
		}
	})
}

func TestAPIIncidentResolveKeepsComponentsStillAffected(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	db := ts.createComponent(t, "Database", nil)
	api := ts.createComponent(t, "API", nil)
	batch := ts.createComponent(t, "Batch jobs", nil)

	// batch is under maintenance in progress; two incidents touch db and api.
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Batch upgrade", "message": "Upgrading batch workers.", "components": []string{batch.ID},
		"scheduled_for": time.Now().Add(time.Hour), "scheduled_until": time.Now().Add(2 * time.Hour),
	}, &m)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+m.ID+"/updates", map[string]any{"status": "in_progress", "body": "Started early."}, nil)

	first := ts.createIncident(t, map[string]any{"name": "Slow queries", "body": "Queries are slow.",
		"components": map[string]string{db.ID: "degraded_performance", api.ID: "degraded_performance", batch.ID: "partial_outage"}})
	second := ts.createIncident(t, map[string]any{"name": "Database down", "body": "The primary is down.",
		"components": map[string]string{db.ID: "major_outage"}})
	wantStatuses(t, ts, map[string]store.ComponentStatus{db.ID: store.MajorOutage, api.ID: store.DegradedPerformance, batch.ID: store.PartialOutage})

	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+first.ID+"/updates", map[string]any{"status": "resolved", "body": "Queries are fast again."}, nil)
	wantStatuses(t, ts, map[string]store.ComponentStatus{
		db.ID:    store.MajorOutage,      // the second incident still has it down
		api.ID:   store.Operational,      // nothing else holds it
		batch.ID: store.UnderMaintenance, // the maintenance in progress still holds it
	})

	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+second.ID+"/updates", map[string]any{"status": "resolved", "body": "Failover done."}, nil)
	wantStatuses(t, ts, map[string]store.ComponentStatus{db.ID: store.Operational, api.ID: store.Operational, batch.ID: store.UnderMaintenance})

	var open []store.Incident
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents?unresolved=true", nil, &open)
	if len(open) != 0 {
		t.Errorf("%d incidents still open", len(open))
	}
}

func TestAPIIncidentList(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	// An empty list is [], not null.
	if resp := ts.call(t, "GET", "/api/v1/incidents", nil); resp.Status != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "[]" {
		t.Errorf("empty list: %d %s, want 200 []", resp.Status, resp.Body)
	}

	c := ts.createComponent(t, "API", nil)
	// Oldest first: resolved, open, open, resolved.
	i0 := ts.createIncident(t, map[string]any{"name": "Zero", "status": "resolved", "body": "Over."})
	i1 := ts.createIncident(t, map[string]any{"name": "One", "body": "Looking.", "components": map[string]string{c.ID: "partial_outage"}})
	i2 := ts.createIncident(t, map[string]any{"name": "Two", "status": "identified", "body": "Found it."})
	i3 := ts.createIncident(t, map[string]any{"name": "Three", "status": "resolved", "body": "Over."})

	since := func(tm time.Time) string { return url.QueryEscape(tm.Format(time.RFC3339Nano)) }
	plus2 := time.FixedZone("+02", 2*3600)
	tests := []struct {
		query string
		want  []store.Incident
	}{
		{"", []store.Incident{i3, i2, i1, i0}},
		{"?unresolved=true", []store.Incident{i2, i1}},
		{"?unresolved=false", []store.Incident{i3, i2, i1, i0}},
		{"?since=" + since(i2.CreatedAt), []store.Incident{i3, i2}},
		{"?since=" + since(i2.CreatedAt.In(plus2)), []store.Incident{i3, i2}}, // any offset, same instant
		{"?since=" + since(i0.CreatedAt.Add(-time.Hour)), []store.Incident{i3, i2, i1, i0}},
		{"?since=" + since(time.Now().Add(time.Hour)), nil},
		{"?since=" + since(i1.CreatedAt) + "&unresolved=true", []store.Incident{i2, i1}},
		{"?limit=2", []store.Incident{i3, i2}},
		{"?limit=2&offset=2", []store.Incident{i1, i0}},
		{"?limit=500&offset=3", []store.Incident{i0}},
		{"?offset=4", nil},
		{"?unresolved=true&limit=1", []store.Incident{i2}},
		{"?unresolved=true&limit=1&offset=1", []store.Incident{i1}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got []store.Incident
			ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents"+tt.query, nil, &got)
			if g, w := incidentNames(got), incidentNames(tt.want); !slices.Equal(g, w) {
				t.Errorf("got %v, want %v", g, w)
			}
			for _, inc := range got {
				if len(inc.Updates) == 0 {
					t.Errorf("%s listed without its timeline", inc.Name)
				}
			}
		})
	}
}

func TestAPIPostmortem(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inc := ts.createIncident(t, map[string]any{"name": "Login outage", "body": "Investigating."})
	pm := "## What happened\n\nA migration locked the sessions table."

	wantError(t, ts.call(t, "GET", "/api/v1/incidents/"+inc.ID+"/postmortem", nil), http.StatusNotFound, "not_found", "")
	for _, method := range []string{"POST", "PUT"} {
		wantError(t, ts.call(t, method, "/api/v1/incidents/"+inc.ID+"/postmortem", map[string]any{"body": pm}), http.StatusConflict, "conflict", "")
	}
	var got store.Incident
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID, nil, &got)
	if got.Postmortem != nil {
		t.Fatalf("a refused postmortem was stored: %+v", got.Postmortem)
	}

	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/postmortem", map[string]any{"body": pm}, &got)
	if got.Postmortem == nil || got.Postmortem.Body != pm || got.Postmortem.PublishedAt.IsZero() {
		t.Fatalf("published: %+v", got.Postmortem)
	}
	first := got.Postmortem.PublishedAt

	var p store.Postmortem
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID+"/postmortem", nil, &p)
	if p.Body != pm || !p.PublishedAt.Equal(first) {
		t.Errorf("get postmortem %+v", p)
	}

	revised := pm + "\n\n## Actions\n\n- Review migrations for locks."
	ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/incidents/"+inc.ID+"/postmortem", map[string]any{"body": revised}, &got)
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID+"/postmortem", nil, &p)
	if p.Body != revised {
		t.Errorf("revised body not kept: %q", p.Body)
	}
	if !p.PublishedAt.Equal(first) {
		t.Errorf("revising moved published_at from %v to %v", first, p.PublishedAt)
	}
}

func TestAPIMaintenanceLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	db := ts.createComponent(t, "Database", nil)
	api := ts.createComponent(t, "API", nil)
	web := ts.createComponent(t, "Website", nil)
	from := time.Now().Add(24 * time.Hour).Truncate(time.Second).UTC()
	until := from.Add(2 * time.Hour)

	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Database upgrade", "message": "We will upgrade the database to the next major version.",
		"components": []string{db.ID, api.ID}, "scheduled_for": from, "scheduled_until": until,
	}, &m)
	t.Run("create", func(t *testing.T) {
		if m.ID == "" || m.Name != "Database upgrade" || m.Status != store.MaintenanceScheduled || !m.AutoTransition {
			t.Errorf("created %+v", m)
		}
		if !m.ScheduledFor.Equal(from) || !m.ScheduledUntil.Equal(until) {
			t.Errorf("window %v–%v, want %v–%v", m.ScheduledFor, m.ScheduledUntil, from, until)
		}
		if want := sortedIDs(db.ID, api.ID); !slices.Equal(m.Components, want) {
			t.Errorf("components %v, want %v", m.Components, want)
		}
		if len(m.Updates) != 1 || m.Updates[0].Body != "We will upgrade the database to the next major version." || m.Updates[0].Status != store.MaintenanceScheduled {
			t.Errorf("updates %+v", m.Updates)
		}
		if m.StartedAt != nil || m.CompletedAt != nil {
			t.Errorf("started_at/completed_at set on a scheduled window")
		}
		wantStatuses(t, ts, map[string]store.ComponentStatus{db.ID: store.Operational, api.ID: store.Operational})
	})
	t.Run("body is a synonym of message", func(t *testing.T) {
		var other store.Maintenance
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
			"name": "Network work", "body": "Switch replacement.", "scheduled_for": from.Add(48 * time.Hour), "scheduled_until": from.Add(49 * time.Hour), "auto_transition": false,
		}, &other)
		if len(other.Updates) != 1 || other.Updates[0].Body != "Switch replacement." || other.AutoTransition || len(other.Components) != 0 {
			t.Errorf("created %+v", other)
		}
	})
	t.Run("get", func(t *testing.T) {
		var got store.Maintenance
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances/"+m.ID, nil, &got)
		if got.ID != m.ID || got.Name != m.Name || !slices.Equal(got.Components, m.Components) {
			t.Errorf("get %+v", got)
		}
	})
	t.Run("patch", func(t *testing.T) {
		var got store.Maintenance
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/maintenances/"+m.ID, map[string]any{"name": "Database 17 upgrade", "scheduled_until": until.Add(time.Hour)}, &got)
		if got.Name != "Database 17 upgrade" || !got.ScheduledUntil.Equal(until.Add(time.Hour)) || !got.ScheduledFor.Equal(from) {
			t.Errorf("patched %+v", got)
		}
		ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/maintenances/"+m.ID, map[string]any{"components": []string{db.ID, api.ID, web.ID}}, &got)
		if want := sortedIDs(db.ID, api.ID, web.ID); !slices.Equal(got.Components, want) || got.Name != "Database 17 upgrade" {
			t.Errorf("put components: %+v", got)
		}
		wantStatuses(t, ts, map[string]store.ComponentStatus{web.ID: store.Operational}) // not started: nothing held yet
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/maintenances/"+m.ID, map[string]any{"components": []string{db.ID, api.ID}}, &got)
	})

	listNames := func(t *testing.T, query string) []string {
		t.Helper()
		var list []store.Maintenance
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances"+query, nil, &list)
		var names []string
		for _, x := range list {
			names = append(names, x.Name)
		}
		return names
	}
	if got := listNames(t, ""); !slices.Equal(got, []string{"Network work", "Database 17 upgrade"}) {
		t.Errorf("list %v, want latest scheduled first", got)
	}

	post := func(t *testing.T, status, body string) store.Maintenance {
		t.Helper()
		var got store.Maintenance
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+m.ID+"/updates", map[string]any{"status": status, "body": body}, &got)
		return got
	}
	held := map[string]store.ComponentStatus{db.ID: store.UnderMaintenance, api.ID: store.UnderMaintenance, web.ID: store.Operational}
	t.Run("in_progress puts its components under maintenance", func(t *testing.T) {
		got := post(t, "in_progress", "The upgrade has started.")
		if got.Status != store.MaintenanceInProgress || got.StartedAt == nil || len(got.Updates) != 2 || got.Updates[0].Body != "The upgrade has started." {
			t.Errorf("%+v", got)
		}
		wantStatuses(t, ts, held)
		if got := listNames(t, "?status=in_progress"); !slices.Equal(got, []string{"Database 17 upgrade"}) {
			t.Errorf("?status=in_progress lists %v", got)
		}
		if got := listNames(t, "?status=scheduled"); !slices.Equal(got, []string{"Network work"}) {
			t.Errorf("?status=scheduled lists %v", got)
		}
	})
	t.Run("verifying keeps them under maintenance", func(t *testing.T) {
		got := post(t, "verifying", "Checking replication.")
		if got.Status != store.MaintenanceVerifying {
			t.Errorf("status %s", got.Status)
		}
		got = post(t, "", "Still checking.") // no status: stays where it is
		if got.Status != store.MaintenanceVerifying || len(got.Updates) != 4 {
			t.Errorf("status %s with %d updates", got.Status, len(got.Updates))
		}
		wantStatuses(t, ts, held)
	})
	t.Run("going backwards is refused and changes nothing", func(t *testing.T) {
		for _, st := range []string{"in_progress", "scheduled"} {
			wantError(t, ts.call(t, "POST", "/api/v1/maintenances/"+m.ID+"/updates", map[string]any{"status": st, "body": "Back."}), http.StatusConflict, "conflict", "")
		}
		var got store.Maintenance
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances/"+m.ID, nil, &got)
		if got.Status != store.MaintenanceVerifying || len(got.Updates) != 4 {
			t.Errorf("after refused moves: %s with %d updates", got.Status, len(got.Updates))
		}
		wantStatuses(t, ts, held)
	})
	t.Run("completed returns them to operational", func(t *testing.T) {
		got := post(t, "completed", "The upgrade is done.")
		if got.Status != store.MaintenanceCompleted || got.CompletedAt == nil {
			t.Errorf("%+v", got)
		}
		wantStatuses(t, ts, map[string]store.ComponentStatus{db.ID: store.Operational, api.ID: store.Operational, web.ID: store.Operational})
		if got := listNames(t, "?status=completed,scheduled"); !slices.Equal(got, []string{"Network work", "Database 17 upgrade"}) {
			t.Errorf("?status=completed,scheduled lists %v", got)
		}
		for _, st := range []string{"scheduled", "in_progress", "verifying"} {
			wantError(t, ts.call(t, "POST", "/api/v1/maintenances/"+m.ID+"/updates", map[string]any{"status": st, "body": "Again."}), http.StatusConflict, "conflict", "")
		}
		wantError(t, ts.call(t, "PATCH", "/api/v1/maintenances/"+m.ID, map[string]any{"name": "Renamed"}), http.StatusConflict, "conflict", "")
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances/"+m.ID, nil, &got)
		if got.Name != "Database 17 upgrade" || got.Status != store.MaintenanceCompleted {
			t.Errorf("a refused change was applied: %+v", got)
		}
	})
}

// An outage outranks maintenance: a component an open incident has down
// stays down while its maintenance runs, and after it.
func TestAPIMaintenanceDoesNotHideAnOutage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	db := ts.createComponent(t, "Database", nil)
	ts.createIncident(t, map[string]any{"name": "Database down", "body": "Down.", "components": map[string]string{db.ID: "major_outage"}})
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Emergency patch", "message": "Patching.", "components": []string{db.ID},
		"scheduled_for": time.Now().Add(time.Hour), "scheduled_until": time.Now().Add(2 * time.Hour),
	}, &m)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+m.ID+"/updates", map[string]any{"status": "in_progress", "body": "Started."}, nil)
	wantStatuses(t, ts, map[string]store.ComponentStatus{db.ID: store.MajorOutage})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+m.ID+"/updates", map[string]any{"status": "completed", "body": "Done."}, nil)
	wantStatuses(t, ts, map[string]store.ComponentStatus{db.ID: store.MajorOutage})
}

// Windows that transition automatically start and complete at their
// scheduled times; the API shows the result.
func TestAPIMaintenanceScheduledTimes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	c := ts.createComponent(t, "Batch", nil)
	manual := ts.createComponent(t, "Reports", nil)
	// Both due now (a start "now" reaches the store a moment later).
	now := time.Now()
	var auto, byHand store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Auto", "message": "Automatic.", "components": []string{c.ID},
		"scheduled_for": now, "scheduled_until": now.Add(time.Hour),
	}, &auto)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Manual", "message": "By hand.", "components": []string{manual.ID}, "auto_transition": false,
		"scheduled_for": now, "scheduled_until": now.Add(time.Hour),
	}, &byHand)

	if _, err := ts.store.AdvanceMaintenances(ctx); err != nil {
		t.Fatal(err)
	}
	var got store.Maintenance
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances/"+auto.ID, nil, &got)
	if got.Status != store.MaintenanceInProgress {
		t.Errorf("automatic window is %s after its start, want in_progress", got.Status)
	}
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances/"+byHand.ID, nil, &got)
	if got.Status != store.MaintenanceScheduled {
		t.Errorf("manual window is %s, want scheduled", got.Status)
	}
	wantStatuses(t, ts, map[string]store.ComponentStatus{c.ID: store.UnderMaintenance, manual.ID: store.Operational})

	// Move the window into the past: the next tick completes it.
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/maintenances/"+auto.ID, map[string]any{
		"scheduled_for": now.Add(-2 * time.Hour), "scheduled_until": now.Add(-time.Minute),
	}, nil)
	if _, err := ts.store.AdvanceMaintenances(ctx); err != nil {
		t.Fatal(err)
	}
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/maintenances/"+auto.ID, nil, &got)
	if got.Status != store.MaintenanceCompleted {
		t.Errorf("automatic window is %s after its end, want completed", got.Status)
	}
	wantStatuses(t, ts, map[string]store.ComponentStatus{c.ID: store.Operational})
}

// Every object the API returns uses snake_case keys and string ids, as in
// Statuspage's API.
func TestAPIJSONShape(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g)
	c := ts.createComponent(t, "API", map[string]any{"group_id": g.ID})
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "Down.", "components": map[string]string{c.ID: "major_outage"}})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Up."}, nil)
	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/postmortem", map[string]any{"body": "Why."}, nil)
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Upgrade", "message": "Soon.", "components": []string{c.ID},
		"scheduled_for": time.Now().Add(time.Hour), "scheduled_until": time.Now().Add(2 * time.Hour),
	}, &m)

	wantKeys := map[string][]string{
		"/api/v1/component-groups/" + g.ID:            {"id", "name", "description", "position", "components", "created_at", "updated_at"},
		"/api/v1/components/" + c.ID:                  {"id", "group_id", "name", "description", "position", "status", "internal", "created_at", "updated_at"},
		"/api/v1/incidents/" + inc.ID:                 {"id", "name", "status", "impact", "created_at", "updated_at", "started_at", "next_update_at", "monitoring_at", "resolved_at", "components", "pages", "incident_updates", "postmortem", "draft"},
		"/api/v1/incidents/" + inc.ID + "/postmortem": {"body", "published_at"},
		"/api/v1/maintenances/" + m.ID:                {"id", "name", "status", "scheduled_for", "scheduled_until", "auto_transition", "created_at", "updated_at", "started_at", "completed_at", "components", "pages", "maintenance_updates", "remind_before_minutes", "reminded_at"},
	}
	paths := []string{"/api/v1/component-groups", "/api/v1/components", "/api/v1/incidents", "/api/v1/incidents/" + inc.ID + "/updates", "/api/v1/maintenances"}
	for p := range wantKeys {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			resp := ts.call(t, "GET", p, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var v any
			resp.decode(t, &v)
			checkJSONShape(t, "$", v)
			if want, ok := wantKeys[p]; ok {
				obj, _ := v.(map[string]any)
				var keys []string
				for k := range obj {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				slices.Sort(want)
				if !slices.Equal(keys, want) {
					t.Errorf("keys %v, want %v", keys, want)
				}
			}
		})
	}
	t.Run("times are RFC 3339 in UTC", func(t *testing.T) {
		var v map[string]any
		ts.call(t, "GET", "/api/v1/incidents/"+inc.ID, nil).decode(t, &v)
		for _, k := range []string{"created_at", "updated_at", "resolved_at"} {
			s, _ := v[k].(string)
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || !strings.HasSuffix(s, "Z") || tm.IsZero() {
				t.Errorf("%s = %q: want an RFC 3339 UTC time", k, s)
			}
		}
	})
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkJSONShape walks a decoded JSON value: every key is snake_case, every
// id (and *_id) is a non-empty string, and the lists of component ids hold
// strings.
func checkJSONShape(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := path + "." + k
			if !snakeCase.MatchString(k) {
				t.Errorf("%s: key %q is not snake_case", p, k)
			}
			if k == "id" || strings.HasSuffix(k, "_id") {
				if s, ok := val.(string); !ok || s == "" {
					t.Errorf("%s = %#v: ids must be non-empty strings", p, val)
				}
			}
			if k == "components" {
				list, ok := val.([]any)
				if !ok {
					t.Errorf("%s = %#v: want a list of component ids", p, val)
				}
				for i, id := range list {
					if s, ok := id.(string); !ok || s == "" {
						t.Errorf("%s[%d] = %#v: want a component id string", p, i, id)
					}
				}
			}
			checkJSONShape(t, p, val)
		}
	case []any:
		for i, val := range x {
			checkJSONShape(t, fmt.Sprintf("%s[%d]", path, i), val)
		}
	}
}

// wantError checks that resp is the API's error shape with this status, code
// and field.
func wantError(t *testing.T, resp apiResponse, status int, code, field string) {
	t.Helper()
	body := string(resp.Body)
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	if resp.Status != status {
		t.Errorf("status %d, want %d; body %s", resp.Status, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json; body %s", ct, body)
	}
	var e apiErr
	var raw map[string]map[string]any
	if err := json.Unmarshal(resp.Body, &e); err != nil || json.Unmarshal(resp.Body, &raw) != nil {
		t.Errorf("body %s is not the error shape: %v", body, err)
		return
	}
	if len(raw) != 1 || raw["error"] == nil {
		t.Errorf("body %s: want exactly {\"error\":{…}}", body)
	}
	for k := range raw["error"] {
		if k != "code" && k != "message" && k != "field" {
			t.Errorf("error has unexpected key %q", k)
		}
	}
	if e.Error.Code != code {
		t.Errorf("error.code %q, want %q; body %s", e.Error.Code, code, body)
	}
	if e.Error.Field != field {
		t.Errorf("error.field %q, want %q; body %s", e.Error.Field, field, body)
	}
	if strings.TrimSpace(e.Error.Message) == "" {
		t.Errorf("error.message is empty")
	}
	// Messages are for people: no Go type names.
	for _, leak := range []string{"store.", "web.", "map[", "json:", "[]string", "time.Time"} {
		if strings.Contains(e.Error.Message, leak) {
			t.Errorf("error.message %q leaks %q", e.Error.Message, leak)
		}
	}
}

// wantStatuses checks the components' statuses as the API reports them.
func wantStatuses(t *testing.T, ts *testServer, want map[string]store.ComponentStatus) {
	t.Helper()
	for id, st := range want {
		var c store.Component
		ts.mustCall(t, http.StatusOK, "GET", "/api/v1/components/"+id, nil, &c)
		if c.Status != st {
			t.Errorf("component %s (%s) is %s, want %s", c.Name, id, c.Status, st)
		}
	}
}

func componentIDs(list []store.Component) []string {
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

func incidentNames(list []store.Incident) []string {
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	return names
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// A maintenance takes a reminder lead in minutes through the API and shows
// it back; a negative or absurd one is refused naming the field, and a
// PATCH changes it.
func TestAPIMaintenanceReminder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	from := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	body := func(remind any) map[string]any {
		return map[string]any{"name": "Upgrade", "message": "Work.", "scheduled_for": from, "scheduled_until": from.Add(time.Hour), "remind_before_minutes": remind}
	}
	for _, bad := range []any{-1, store.MaxRemindBefore + 1, 1e12} {
		r := ts.call(t, "POST", "/api/v1/maintenances", body(bad))
		var e apiErr
		r.decode(t, &e)
		if r.Status/100 != 4 || e.Error.Field != "remind_before_minutes" {
			t.Errorf("remind_before_minutes %v: %d %s, want a 4xx naming the field", bad, r.Status, r.Body)
		}
	}
	if list, _ := ts.store.ListMaintenances(t.Context(), store.MaintenanceFilter{}); len(list) != 0 {
		t.Fatalf("refused requests scheduled %d maintenances", len(list))
	}
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", body(90), &m)
	if m.RemindBefore != 90 {
		t.Errorf("created with remind_before_minutes %d, want 90", m.RemindBefore)
	}
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/maintenances/"+m.ID, map[string]any{"remind_before_minutes": 0}, &m)
	if m.RemindBefore != 0 {
		t.Errorf("after PATCH to 0: %d, want no reminder", m.RemindBefore)
	}
}
