package web

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
)

// The console, like the public page, never shows a status by its icon
// alone: the dashboard and the components pages write it in words.
func TestConsoleShowsComponentStatusInWords(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Website", nil)
	ts.createIncident(t, map[string]any{"name": "Down", "body": "x", "components": map[string]string{api.ID: "major_outage"}})
	b := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))

	for _, tc := range []struct{ path, sel string }{
		{"/console", ".glance li"},
		{"/console/components", ".component-admin li"},
		{"/console/components/" + api.ID, ".page-head"},
	} {
		p := b.get(tc.path)
		if p.Status != 200 {
			t.Fatalf("%s: status %d", tc.path, p.Status)
		}
		var found bool
		p.Doc.Find(tc.sel).Each(func(_ int, s *goquery.Selection) {
			// The status, not the choices of a status menu next to it.
			label := strings.TrimSpace(s.Find(".chip").First().Text())
			if label == "Major Outage" && strings.Contains(s.Text(), "API") {
				found = true
			}
		})
		if !found {
			t.Errorf("%s: no %q entry reads both the component and its status in words", tc.path, tc.sel)
		}
	}
}
