package web

import (
	"testing"
)

// The commander's "notify" switch in the API: false posts without telling
// anyone; absent or true tells subscribers.
func TestAPINotifySwitch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	ts.registerWebhook(t, r, map[string]any{"events": []string{"incident.*", "maintenance.*"}})
	ts.startDispatcher(t)

	inc := ts.createIncident(t, map[string]any{"name": "Quiet", "body": "Looking.", "notify": false})
	ts.mustCall(t, 201, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"body": "Still looking.", "notify": false}, nil)
	ts.mustCall(t, 201, "POST", "/api/v1/maintenances", map[string]any{"name": "DB", "message": "Upgrade.",
		"scheduled_for": "2030-01-01T10:00:00Z", "scheduled_until": "2030-01-01T11:00:00Z", "notify": false}, nil)
	ts.mustCall(t, 201, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)

	ts.drainOutbox(t)
	got := r.requests()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want only the resolution", len(got))
	}
	if meta, _ := got[0].Body["meta"].(map[string]any); meta["event"] != "incident.resolved" {
		t.Errorf("delivered %v", got[0].Body["meta"])
	}
	if resp := ts.call(t, "POST", "/api/v1/incidents", map[string]any{"name": "X", "body": "Y", "notify": "no"}); resp.Status != 400 {
		t.Errorf("notify as a string: %d", resp.Status)
	}
}
