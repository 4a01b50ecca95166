package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// An incident on a public and an internal component is on the public page
// naming the public one only: not in its pages, v2 API, feeds or stream,
// nor does the stream announce an internal component when it is made.
func TestInternalComponentNamedNowhereInPublic(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	s := openStream(t, ts, "", nil)
	ledger := ts.createComponent(t, "SecretLedger", map[string]any{"internal": true})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "inside", "name": "Inside", "components": []string{api.ID, ledger.ID}, "access": "ip", "ip_ranges": []string{"127.0.0.1", "::1"}}, nil)
	inc := ts.createIncident(t, map[string]any{"name": "Slow writes", "body": "Writes are slow.",
		"components": map[string]string{api.ID: "degraded_performance", ledger.ID: "major_outage"}})
	// The incident's event is the barrier: whatever came before it has come.
	for {
		ev := s.next(t)
		if strings.Contains(ev.Data, "SecretLedger") || strings.Contains(ev.Data, ledger.ID) {
			t.Fatalf("the public stream's %s event names the internal component: %s", ev.Event, ev.Data)
		}
		if ev.Event == "incident.created" {
			break
		}
	}
	ts.waitFresh(t)
	for _, path := range []string{"/", "/incidents/" + inc.ID, "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json", "/api/v2/summary.json",
		"/api/v2/components.json", feedAtom, feedRSS, "/history"} {
		resp, body := ts.fetch(t, "GET", path, nil)
		if resp.StatusCode != 200 || strings.Contains(string(body), "SecretLedger") || strings.Contains(string(body), ledger.ID) {
			t.Errorf("GET %s: %d, names the internal component: %v", path, resp.StatusCode, strings.Contains(string(body), "SecretLedger"))
		}
	}
	if _, body := ts.fetch(t, "GET", "/p/inside/incidents/"+inc.ID, nil); !strings.Contains(string(body), "SecretLedger") {
		t.Error("the inside page does not name the internal component its incident affects")
	}
}

// A component moved out of a page's group leaves the page, and one made
// internal leaves the default page: judged as they are now, not as the
// page last saw them.
func TestComponentLeavesThePagesThatShowedIt(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g)
	api := ts.createComponent(t, "Roaming API", map[string]any{"group_id": g.ID})
	ts.createComponent(t, "Website", nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "core", "name": "Core page", "groups": []string{g.ID}}, nil)
	ts.waitFresh(t)
	if _, body := ts.fetch(t, "GET", "/p/core/groups/"+g.ID, nil); !strings.Contains(string(body), "Roaming API") {
		t.Fatal("the page does not show its group's component")
	}
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+api.ID, map[string]any{"group_id": "", "internal": true}, nil)
	ts.waitFresh(t)
	for _, path := range []string{"/p/core/", "/p/core/api/v2/components.json", "/", "/api/v2/components.json"} {
		if _, body := ts.fetch(t, "GET", path, nil); strings.Contains(string(body), "Roaming API") {
			t.Errorf("GET %s still shows the component that left it", path)
		}
	}
}

// An internal component made in the same batch as an incident that names
// it (the loop rebuilds once for both, as under load) is judged as it is
// now, not as the page's last snapshot saw it: the snapshot knew no
// internal component, so it showed "every component".
func TestInternalComponentMadeInTheSameBatchStaysOffThePublicStream(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) { s.manualRefresh = true })
	ctx := t.Context()
	api, err := ts.store.CreateComponent(ctx, store.ComponentInput{Name: "API"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.rebuildSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, ts, "", nil)
	ledger, err := ts.store.CreateComponent(ctx, store.ComponentInput{Name: "SecretLedger", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.CreateIncident(ctx, store.IncidentInput{Name: "Slow writes", Body: "Writes are slow.",
		Components: map[string]store.ComponentStatus{api.ID: store.DegradedPerformance, ledger.ID: store.MajorOutage}}); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.rebuild(ctx, true); err != nil {
		t.Fatal(err)
	}
	for {
		ev := s.next(t)
		if strings.Contains(ev.Data, "SecretLedger") || strings.Contains(ev.Data, ledger.ID) {
			t.Fatalf("the public stream's %s event names the internal component: %s", ev.Event, ev.Data)
		}
		if ev.Event == "incident.created" {
			if !strings.Contains(ev.Data, api.ID) {
				t.Errorf("the public stream's incident does not name the public component: %s", ev.Data)
			}
			break
		}
	}
}
