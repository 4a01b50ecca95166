package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/herald-status/herald/store"
)

// BenchmarkConsoleDashboard is a commander's dashboard with 20 open
// incidents, without drafts (as before drafts reached the console) and
// with 50 drafts waiting, each with its alerts:
//
//	go test -run '^$' -bench ConsoleDashboard -benchmem ./web
func BenchmarkConsoleDashboard(b *testing.B) {
	for _, drafts := range []int{0, 50} {
		b.Run(fmt.Sprintf("incidents=20/drafts=%d", drafts), func(b *testing.B) {
			ts := newTestServer(b)
			ctx := b.Context()
			comps := make([]store.Component, 10)
			for i := range comps {
				c, err := ts.store.CreateComponent(ctx, store.ComponentInput{Name: fmt.Sprintf("Service %d", i)})
				if err != nil {
					b.Fatal(err)
				}
				comps[i] = c
			}
			for i := range 20 {
				if _, err := ts.store.CreateIncident(ctx, store.IncidentInput{Name: fmt.Sprintf("Incident %d", i), Body: "Looking into it.",
					Components: map[string]store.ComponentStatus{comps[i%len(comps)].ID: store.PartialOutage}}); err != nil {
					b.Fatal(err)
				}
			}
			for i := range drafts {
				alerts := make([]store.Alert, 3)
				for j := range alerts {
					alerts[j] = store.Alert{Fingerprint: fmt.Sprintf("f%d-%d", i, j), Title: fmt.Sprintf("Alert%d", j), Summary: "Error rate above 5%",
						Labels:    map[string]string{"alertname": fmt.Sprintf("Alert%d", j), "severity": "critical"},
						Component: comps[(i+j)%len(comps)].ID, Status: store.MajorOutage, Firing: true}
				}
				if _, err := ts.store.ApplyAlerts(ctx, store.AlertBatch{GroupKey: fmt.Sprintf("group-%d", i), Name: fmt.Sprintf("Draft %d", i),
					OnResolved: store.Resolved, Alerts: alerts}); err != nil {
					b.Fatal(err)
				}
			}
			u, _, err := ts.store.CreateUser(ctx, store.UserInput{Email: "cmd@example.com", Role: store.RoleCommander})
			if err != nil {
				b.Fatal(err)
			}
			if err := ts.store.SetPassword(ctx, u.ID, "a good long password"); err != nil { // no one-time password to change first
				b.Fatal(err)
			}
			raw, err := ts.store.CreateSession(ctx, store.SessionInput{UserID: u.ID})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/console", nil)
			req.AddCookie(&http.Cookie{Name: "herald_session", Value: raw})
			serveBench(b, ts.srv.Handler(), req, http.StatusOK, "")
		})
	}
}
