package store

import (
	"strings"
	"testing"
)

// An update's internal note is kept with it and read back, but the change
// feed — what every page's live stream and every replica reads — never
// carries it; a note too long is refused, changing nothing.
func TestInternalNotesStayOutOfTheFeed(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		const note = "Replica db-3 is 40 s behind; failover runbook step 4."
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Slow sign-in", Body: "Some sign-ins are slow.", InternalNote: note})
		inc = mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Monitoring, Body: "A fix is in place.", InternalNote: "Failed over to db-4."})
		got, err := st.GetIncident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Updates) != 2 || got.Updates[0].InternalNote != "Failed over to db-4." || got.Updates[1].InternalNote != note {
			t.Fatalf("the notes read back: %+v", got.Updates)
		}
		if pub := got.Public(); pub.Updates[0].InternalNote != "" || pub.Updates[1].InternalNote != "" || got.Updates[1].InternalNote != note {
			t.Errorf("Public() left a note, or took it from the original: %+v", pub.Updates)
		}
		events, err := st.EventsSince(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if strings.Contains(string(e.Payload), "db-3") || strings.Contains(string(e.Payload), "db-4") || strings.Contains(string(e.Payload), "internal_note") {
				t.Errorf("event %d (%s) carries the internal note: %s", e.ID, e.Type, e.Payload)
			}
		}
		before := tableCounts(t, st)
		_, err = st.PostIncidentUpdate(ctx, inc.ID, IncidentUpdateInput{Body: "x", InternalNote: strings.Repeat("n", MaxBodyLength+1)})
		wantValidationError(t, err, "internal_note")
		wantUnchanged(t, st, before)
	})
}
