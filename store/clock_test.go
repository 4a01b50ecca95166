package store

import (
	"strings"
	"testing"
	"time"
)

// An incident opened late counts the outage from when the impact began:
// its component's history, and so its uptime, start then; the clock says
// how long the public waited.
func TestIncidentStartedBeforeItWasPosted(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		clock.Advance(time.Hour)
		began := clock.Now().Add(-47 * time.Minute)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", StartedAt: began, Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		if !inc.StartedAt.Equal(began) || inc.CreatedAt.Equal(began) {
			t.Fatalf("started %s, created %s; want the impact to begin 47 min before the post", inc.StartedAt, inc.CreatedAt)
		}
		if h := historyOf(t, st, api.ID); len(h) != 2 || !h[1].At.Equal(began) || h[1].Status != MajorOutage {
			t.Errorf("history %+v: want the outage to count from when it began", h)
		}
		c, err := st.Clock(t.Context(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ToPublic() != 47*time.Minute || c.FirstDelivery != nil {
			t.Errorf("clock %+v: want 47 min to the first public post and no delivery yet", c)
		}
		h, _, err := st.ClockHistograms(t.Context())
		if err != nil || h.Count != 1 || h.Sum != 47*60 || h.Buckets[1800] != 0 || h.Buckets[3600] != 1 {
			t.Errorf("time-to-public histogram %+v, %v", h, err)
		}

		// Backdating further moves the history with it.
		earlier := began.Add(-10 * time.Minute)
		after, err := st.UpdateIncident(t.Context(), inc.ID, IncidentPatch{StartedAt: &earlier})
		if err != nil || !after.StartedAt.Equal(earlier) {
			t.Fatalf("backdate: %+v, %v", after.StartedAt, err)
		}
		if h := historyOf(t, st, api.ID); !h[len(h)-1].At.Equal(earlier) {
			t.Errorf("history after backdating %+v: want the outage from %s", h, earlier)
		}
		if c, _ := st.Clock(t.Context(), inc.ID); c.ToPublic() != 57*time.Minute {
			t.Errorf("time to public after backdating %s, want 57m", c.ToPublic())
		}
		entries := auditEntries(t, st)
		if last := entries[0]; last.Action != "incident.update" || !jsonHas(last.Before, began.Format(time.RFC3339Nano)) || !jsonHas(last.After, earlier.Format(time.RFC3339Nano)) {
			t.Errorf("the backdating is not audited with before and after: %s → %s", last.Before, last.After)
		}
	})
}

// Bad times are refused with the field named, and change nothing.
func TestIncidentTimesRefused(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down"})
		before := tableCounts(t, st)
		past, afterFirst := clock.Now().Add(-time.Minute), clock.Now().Add(time.Second)
		clock.Advance(2 * time.Second)
		for name, do := range map[string]func() error{
			"a start in the future": func() error {
				_, err := st.CreateIncident(t.Context(), IncidentInput{Name: "X", Body: "x", StartedAt: clock.Now().Add(time.Hour)})
				wantValidationError(t, err, "started_at")
				return nil
			},
			"a start after the first update": func() error {
				_, err := st.UpdateIncident(t.Context(), inc.ID, IncidentPatch{StartedAt: &afterFirst})
				wantValidationError(t, err, "started_at")
				return nil
			},
			"a promise in the past": func() error {
				_, err := st.PostIncidentUpdate(t.Context(), inc.ID, IncidentUpdateInput{Status: Identified, Body: "x", NextUpdateAt: &past})
				wantValidationError(t, err, "next_update_at")
				return nil
			},
		} {
			t.Run(name, func(t *testing.T) {
				if err := do(); err != nil {
					t.Fatal(err)
				}
				wantUnchanged(t, st, before)
			})
		}
	})
}

// An update may promise the next one; the next update keeps the promise
// (it clears) or makes a new one; resolving clears it.
func TestUpdatePromises(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		at := clock.Now().Add(30 * time.Minute)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", NextUpdateAt: &at})
		if inc.NextUpdateAt == nil || !inc.NextUpdateAt.Equal(at) {
			t.Fatalf("promise %v, want %s", inc.NextUpdateAt, at)
		}
		inc = mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified, Body: "Found it."})
		if inc.NextUpdateAt != nil {
			t.Errorf("an update without a promise left %v: it is the update that was promised", inc.NextUpdateAt)
		}
		later := clock.Now().Add(time.Hour)
		inc = mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed.", NextUpdateAt: &later})
		if inc.NextUpdateAt != nil {
			t.Errorf("a resolved incident promises %v", inc.NextUpdateAt)
		}
	})
}

// Alerts carry when they began: a draft starts at its earliest alert, and
// the published incident, its history and its clock keep it.
func TestDraftStartsAtItsEarliestAlert(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		clock.Advance(time.Hour)
		fired := clock.Now().Add(-5 * time.Minute)
		a := firing("a1", "API", MajorOutage)
		a.StartsAt, a.Labels = fired, map[string]string{"alertname": "HighErrorRate", "severity": "critical"}
		res := apply(t, st, AlertBatch{Alerts: []Alert{a}})
		alerts, err := st.Alerts(t.Context(), []string{res.IncidentID})
		if err != nil || len(alerts[res.IncidentID]) != 1 {
			t.Fatalf("alerts behind the draft: %v, %v", alerts, err)
		}
		got := alerts[res.IncidentID][0]
		if got.Labels["severity"] != "critical" || got.StartsAt == nil || !got.StartsAt.Equal(fired) || !got.Firing || got.ComponentID != api.ID {
			t.Errorf("alert %+v: want its labels, start and component", got)
		}
		draft, err := st.GetIncidentOrDraft(t.Context(), res.IncidentID)
		if err != nil || !draft.StartedAt.Equal(fired) || draft.Source != "alertmanager" {
			t.Fatalf("draft %+v, %v: want it to start at the alert", draft, err)
		}
		clock.Advance(7 * time.Minute)
		inc, err := st.PublishDraft(t.Context(), res.IncidentID, DraftPublication{})
		if err != nil || !inc.StartedAt.Equal(fired) {
			t.Fatalf("published %+v, %v", inc.StartedAt, err)
		}
		c, err := st.Clock(t.Context(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.FirstSignal == nil || !c.FirstSignal.Equal(fired) || c.DraftCreated == nil || c.ToPublic() != 12*time.Minute {
			t.Errorf("clock %+v: want the signal at the alert, the draft, and 12 min to public", c)
		}
		if h := historyOf(t, st, api.ID); !h[len(h)-1].At.Equal(fired) {
			t.Errorf("history %+v: want the outage from the alert's start", h)
		}
	})
}

// jsonHas reports whether a JSON document contains s as a string value.
func jsonHas(doc []byte, s string) bool { return strings.Contains(string(doc), `"`+s+`"`) }
