package web

import (
	"net/http"
	"strings"
	"testing"
)

// An update's internal note is on the private page's HTML and nowhere
// public: not on the public page, its incident page, v2 API or feeds, nor
// in the change feed's events that every stream carries.
func TestInternalNoteIsOnThePrivatePageAlone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "inside", "name": "Inside", "components": []string{api.ID}, "access": "ip", "ip_ranges": []string{"127.0.0.1", "::1"}}, nil)
	const note = "Rolled back deploy 4812."
	inc := ts.createIncident(t, map[string]any{"name": "API errors", "body": "Investigating.", "internal_note": note, "components": map[string]string{api.ID: "partial_outage"}})
	if len(inc.Updates) != 1 || inc.Updates[0].InternalNote != note {
		t.Fatalf("the admin API's incident %+v, want its note", inc.Updates)
	}
	ts.waitFresh(t)
	for _, path := range []string{"/p/inside/", "/p/inside/incidents/" + inc.ID} {
		if resp, body := ts.fetch(t, "GET", path, nil); resp.StatusCode != 200 || !strings.Contains(string(body), note) {
			t.Errorf("GET %s: %d, without the note", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/", "/incidents/" + inc.ID, "/api/v2/incidents.json", "/api/v2/summary.json", feedAtom, feedRSS,
		"/p/inside/api/v2/incidents.json", "/p/inside" + feedAtom} {
		if resp, body := ts.fetch(t, "GET", path, nil); strings.Contains(string(body), "4812") {
			t.Errorf("GET %s (%d) carries the internal note", path, resp.StatusCode)
		}
	}
	s := openStream(t, ts, "", nil)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"body": "Fixing.", "internal_note": "Second note 9931."}, nil)
	for {
		e := s.next(t)
		if strings.Contains(e.Data, "9931") || strings.Contains(e.Data, "4812") {
			t.Fatalf("the public stream's %s event carries an internal note", e.Event)
		}
		if strings.Contains(e.Data, "Fixing.") {
			break
		}
	}
}
