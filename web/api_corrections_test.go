package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// Through the API a commander corrects an update (the public page and v2
// API show the new text, marked edited), withdraws a double post with a
// reason, and a webhook hears of a correction only when asked, as one.
func TestAPICorrectAnUpdate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	ts.registerWebhook(t, r, map[string]any{"events": []string{"incident.*"}})
	ts.startDispatcher(t)
	inc := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "We are investigatng."})
	var twice store.Incident
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, &twice)
	ts.drainOutbox(t)
	sent := len(r.requests())

	first := inc.Updates[0]
	var edited store.Incident
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID+"/updates/"+first.ID, map[string]any{"body": "We are investigating."}, &edited)
	if u := edited.Updates[len(edited.Updates)-1]; u.Body != "We are investigating." || u.EditedAt == nil {
		t.Errorf("edited update = %+v", u)
	}
	ts.mustCall(t, http.StatusOK, "DELETE", "/api/v1/incidents/"+inc.ID+"/updates/"+twice.Updates[0].ID, map[string]any{"reason": "Posted twice."}, &edited)
	if len(edited.Updates) != 2 {
		t.Errorf("%d updates after withdrawing one, want 2", len(edited.Updates))
	}
	ts.drainOutbox(t)
	if n := len(r.requests()); n != sent {
		t.Errorf("%d webhook calls after a quiet edit and a withdrawal, want %d", n, sent)
	}

	ts.waitFresh(t)
	doc, _ := ts.getPage(t, "/incidents/"+inc.ID)
	timeline := text(doc.Find("main"))
	if !strings.Contains(timeline, "We are investigating.") || strings.Contains(timeline, "investigatng") {
		t.Errorf("the public page does not show the corrected text: %s", timeline)
	}
	if !strings.Contains(strings.ToLower(timeline), "edited") {
		t.Errorf("the public page does not say the update was edited: %s", timeline)
	}
	if strings.Count(timeline, "Found it.") != 1 {
		t.Errorf("the withdrawn update is still public: %s", timeline)
	}
	var v2 struct {
		Incidents []struct {
			IncidentUpdates []struct {
				Body      string `json:"body"`
				CreatedAt string `json:"created_at"`
				UpdatedAt string `json:"updated_at"`
			} `json:"incident_updates"`
		} `json:"incidents"`
	}
	resp, body := ts.fetch(t, "GET", "/api/v2/incidents.json", nil)
	if resp.StatusCode != 200 || json.Unmarshal(body, &v2) != nil || len(v2.Incidents) != 1 || len(v2.Incidents[0].IncidentUpdates) != 2 {
		t.Fatalf("v2 incidents: %d %s", resp.StatusCode, body)
	}
	if u := v2.Incidents[0].IncidentUpdates[1]; u.Body != "We are investigating." || u.UpdatedAt == u.CreatedAt {
		t.Errorf("v2 update = %+v, want the corrected text with a later updated_at", u)
	}

	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID+"/updates/"+first.ID, map[string]any{"body": "We are investigating failed logins.", "notify": true}, nil)
	eventually(t, "the correction webhook", func() bool { return len(r.requests()) == sent+1 })
	got := r.requests()[sent]
	correction, _ := got.Body["correction"].(map[string]any)
	if !got.SigOK || correction["id"] != first.ID || correction["body"] != "We are investigating failed logins." {
		t.Errorf("correction webhook body %v", got.Body)
	}
}

func TestAPICorrectionsRefuseBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inc := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "Looking."})
	var later store.Incident
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"body": "Found it."}, &later)
	path := "/api/v1/incidents/" + inc.ID + "/updates/"
	for _, tt := range []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"empty message", "PATCH", path + inc.Updates[0].ID, map[string]any{"body": " "}, 422, "body"},
		{"unknown field", "PATCH", path + inc.Updates[0].ID, map[string]any{"text": "x"}, 400, ""},
		{"wrong JSON", "PATCH", path + inc.Updates[0].ID, `{"body":`, 400, ""},
		{"no such update", "PATCH", path + "nope", map[string]any{"body": "x"}, 404, ""},
		{"no reason", "DELETE", path + later.Updates[0].ID, map[string]any{}, 422, "reason"},
		{"the first update", "DELETE", path + inc.Updates[0].ID, map[string]any{"reason": "Oops."}, 409, ""},
		{"another incident's update", "DELETE", "/api/v1/incidents/nope/updates/" + later.Updates[0].ID, map[string]any{"reason": "Oops."}, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.call(t, tt.method, tt.path, tt.body)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
			}
			if tt.field != "" {
				var e apiErr
				resp.decode(t, &e)
				if e.Error.Field != tt.field || e.Error.Message == "" {
					t.Errorf("error %+v, want field %q with a message", e.Error, tt.field)
				}
			}
		})
	}
	var now store.Incident
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+inc.ID, nil, &now)
	if len(now.Updates) != 2 || now.Updates[0].EditedAt != nil || now.Updates[1].EditedAt != nil {
		t.Errorf("refused corrections changed the incident: %+v", now.Updates)
	}
}

// A client that retries a POST with the same Idempotency-Key gets what the
// first made; another client's same key is its own.
func TestAPIIdempotencyKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	post := func(token, path, key string, body map[string]any) (int, store.Incident) {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", ts.URL+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var inc store.Incident
		json.Unmarshal(raw, &inc)
		return resp.StatusCode, inc
	}
	_, a := post(ts.token, "/api/v1/incidents", "k1", map[string]any{"name": "Down", "body": "Looking."})
	_, b := post(ts.token, "/api/v1/incidents", "k1", map[string]any{"name": "Down", "body": "Looking."})
	if a.ID == "" || a.ID != b.ID {
		t.Fatalf("a retried create made %q then %q, want one incident", a.ID, b.ID)
	}
	for range 2 {
		post(ts.token, "/api/v1/incidents/"+a.ID+"/updates", "k2", map[string]any{"body": "Found it."})
	}
	var got store.Incident
	ts.mustCall(t, http.StatusOK, "GET", "/api/v1/incidents/"+a.ID, nil, &got)
	if len(got.Updates) != 2 {
		t.Errorf("%d updates after a retried post, want 2", len(got.Updates))
	}

	_, other, err := ts.store.CreateToken(t.Context(), "another client")
	if err != nil {
		t.Fatal(err)
	}
	if _, c := post(other, "/api/v1/incidents", "k1", map[string]any{"name": "Slow", "body": "Looking."}); c.ID == "" || c.ID == a.ID {
		t.Errorf("another client's key k1 returned %q: keys are per client", c.ID)
	}
}
