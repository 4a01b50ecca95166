package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// A subscriber's webhook and /api/v2/status.json describe every moment the
// same way: for each component status, with no open incident and with an
// open incident of each impact, the page object a webhook carries matches
// the API's roll-up (and the page's banner).
func TestWebhookPageStatusAgreesWithStatusAPI(t *testing.T) {
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	ts.registerWebhook(t, r, map[string]any{"events": []string{"incident.*"}})
	ts.startDispatcher(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Something", "body": "Looking.", "impact": "none"})

	type moment struct {
		status       store.ComponentStatus
		impact       store.Impact // "" for no open incident
		incidentOpen string       // the update's status
	}
	var moments []moment
	for _, st := range store.ComponentStatuses {
		moments = append(moments, moment{st, "", "resolved"})
		for _, imp := range store.Impacts {
			moments = append(moments, moment{st, imp, "investigating"})
		}
	}
	for i, m := range moments {
		name := fmt.Sprintf("%s with %s", m.status, m.impact)
		if m.impact == "" {
			name = string(m.status) + " and no open incident"
		}
		t.Run(name, func(t *testing.T) {
			ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+api.ID, map[string]any{"status": m.status}, nil)
			marker := fmt.Sprintf("moment %d", i)
			if m.impact != "" {
				ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID, map[string]any{"impact": m.impact}, nil)
			}
			ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": m.incidentOpen, "body": marker}, nil)

			var hook map[string]any
			eventually(t, "the webhook for "+marker, func() bool {
				for _, req := range r.requests() {
					incident, _ := req.Body["incident"].(map[string]any)
					updates, _ := incident["incident_updates"].([]any)
					if len(updates) > 0 && updates[0].(map[string]any)["body"] == marker {
						hook, _ = req.Body["page"].(map[string]any)
						return true
					}
				}
				return false
			})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := ts.srv.WaitFresh(ctx); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(ts.URL + "/api/v2/status.json")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc struct {
				Status struct{ Indicator, Description string } `json:"status"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if hook["status_indicator"] != doc.Status.Indicator || hook["status_description"] != doc.Status.Description {
				t.Errorf("webhook says %v / %q, /api/v2/status.json says %s / %q",
					hook["status_indicator"], hook["status_description"], doc.Status.Indicator, doc.Status.Description)
			}
			home, _ := ts.page(t, "/")
			if got := text(home.Find("#overall-status")); got != doc.Status.Description {
				t.Errorf("the banner says %q, the API %q", got, doc.Status.Description)
			}
		})
	}
}
