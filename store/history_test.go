package store

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Keyset paging walks the whole history, newest first, each entry once,
// ties in time broken by id; HistoryPlace finds where a numbered page
// starts, among incidents and maintenance alike.
func TestHistoryKeyset(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		var want []string
		for i := range 12 {
			if i%3 != 0 {
				clk.Advance(time.Minute) // the rest share a time
			}
			inc := mustCreateIncident(t, st, IncidentInput{Name: fmt.Sprintf("Incident %d", i)})
			mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed."})
			want = append(want, inc.ID)
		}
		all, err := st.ListIncidents(t.Context(), IncidentFilter{Resolved: true, Limit: 100})
		if err != nil || len(all) != 12 {
			t.Fatalf("%d incidents, %v", len(all), err)
		}
		var walked []string
		var before *Keyset
		for {
			page, err := st.ListIncidents(t.Context(), IncidentFilter{Resolved: true, Before: before, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, inc := range page {
				walked = append(walked, inc.ID)
			}
			last := page[len(page)-1]
			before = &Keyset{At: last.CreatedAt, ID: last.ID}
		}
		var order []string
		for _, inc := range all {
			order = append(order, inc.ID)
		}
		if !slices.Equal(walked, order) {
			t.Errorf("walked %v, want the list's order %v", walked, order)
		}
		// And back up from the oldest, by After: each page the nearest
		// newer ones, newest first, until nothing is newer.
		var back []string
		after := &Keyset{At: all[len(all)-1].CreatedAt, ID: all[len(all)-1].ID}
		for {
			page, err := st.ListIncidents(t.Context(), IncidentFilter{Resolved: true, After: after, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			back = append(pageIDs(page), back...)
			after = &Keyset{At: page[0].CreatedAt, ID: page[0].ID}
		}
		if !slices.Equal(back, order[:len(order)-1]) {
			t.Errorf("walked back %v, want the list's order %v without the oldest", back, order[:len(order)-1])
		}
		slices.Sort(want)
		slices.Sort(walked)
		if !slices.Equal(walked, want) {
			t.Errorf("walked %v, want each incident once", walked)
		}
		for _, skip := range []int{1, 5, 11} {
			k, ok, err := st.HistoryPlace(t.Context(), skip)
			if err != nil || !ok || k.ID != order[skip-1] || !k.At.Equal(all[skip-1].CreatedAt) {
				t.Errorf("HistoryPlace(%d) = %+v %v %v, want after %s", skip, k, ok, err, order[skip-1])
			}
		}
		if _, ok, err := st.HistoryPlace(t.Context(), 12); err != nil || !ok {
			t.Errorf("HistoryPlace(12) = %v, %v", ok, err)
		}
		if _, ok, err := st.HistoryPlace(t.Context(), 13); err != nil || ok {
			t.Errorf("HistoryPlace(13) = %v, %v: the history is 12 long", ok, err)
		}
	})
}

func pageIDs(incs []Incident) []string {
	ids := make([]string, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	return ids
}
