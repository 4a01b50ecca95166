package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An imported incident reads back as one resolved through the console
// would: its two updates, its component and the status history it wrote.
func TestImportPastIncidents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		web := mustCreateComponent(t, st, "Web")
		incs := PastHistory(t0.AddDate(2, 0, -1), []Component{api, web}, 3) // the newest a day before t0
		if err := st.ImportPastIncidents(t.Context(), incs); err != nil {
			t.Fatal(err)
		}
		got, err := st.ListIncidents(t.Context(), IncidentFilter{Resolved: true, Limit: 10})
		if err != nil || len(got) != 3 {
			t.Fatalf("%d resolved incidents, %v", len(got), err)
		}
		newest, err := st.GetIncident(t.Context(), got[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		want := incs[2]
		if newest.Name != want.Name || newest.Status != Resolved || newest.Impact != ImpactMajor ||
			!newest.StartedAt.Equal(want.Start) || newest.ResolvedAt == nil || !newest.ResolvedAt.Equal(want.End) {
			t.Errorf("newest incident = %+v; want %+v resolved", newest, want)
		}
		if len(newest.Components) != 1 || newest.Components[0] != api.ID || len(newest.Updates) != 2 ||
			newest.Updates[0].Status != Resolved || newest.Updates[1].Status != Investigating {
			t.Errorf("newest incident's components %v, updates %+v", newest.Components, newest.Updates)
		}
		history, err := st.StatusHistory(t.Context(), want.Start.Add(-time.Second))
		if err != nil {
			t.Fatal(err)
		}
		// Before the window, the change before it (the first incident's end);
		// after, the component's creation at t0.
		if h := history[api.ID]; len(h) != 4 || h[1].Status != MajorOutage || !h[1].At.Equal(want.Start) ||
			h[2].Status != Operational || !h[2].At.Equal(want.End) {
			t.Errorf("API's status history %+v; want down at %v, up at %v", h, want.Start, want.End)
		}
		if c, err := st.GetComponent(t.Context(), api.ID); err != nil || c.Status != Operational {
			t.Errorf("API is %q after the import (%v); it stays operational", c.Status, err)
		}
	})
}

// One bad incident refuses the lot, with the field that is wrong.
func TestImportPastIncidentsRefuses(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		good := PastHistory(t0.AddDate(2, 0, -1), []Component{api}, 300)[299] // in the second batch of 200
		for _, bc := range []struct {
			field string
			edit  func(*PastIncident)
		}{
			{"name", func(p *PastIncident) { p.Name = " " }},
			{"impact", func(p *PastIncident) { p.Impact = "huge" }},
			{"component_id", func(p *PastIncident) { p.ComponentID = "nope" }},
			{"status", func(p *PastIncident) { p.Down = Operational }},
			{"resolved_at", func(p *PastIncident) { p.End = p.Start }},
			{"resolved_at", func(p *PastIncident) { p.End = t0.Add(time.Hour) }},
		} {
			incs := PastHistory(t0.AddDate(2, 0, -1), []Component{api}, 300)
			bad := good
			bc.edit(&bad)
			incs[299] = bad
			err := st.ImportPastIncidents(t.Context(), incs)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != bc.field {
				t.Errorf("%s: err = %v; want a validation error on %s", bc.field, err, bc.field)
			}
		}
		if got, err := st.ListIncidents(t.Context(), IncidentFilter{Resolved: true, Limit: 10}); err != nil || len(got) != 0 {
			t.Errorf("%d incidents after refused imports (%v); want none", len(got), err)
		}
	})
}

// A bulk import leaves SQLite's write-ahead log folded back into the
// database file: left as large as the import, it slowed every later read
// and commit until a checkpoint could complete.
func TestImportPastIncidentsFoldsTheLog(t *testing.T) {
	t.Parallel()
	where := filepath.Join(t.TempDir(), "herald.db")
	st := openTestStore(t, where)
	useClock(st, t0)
	api := mustCreateComponent(t, st, "API")
	if err := st.ImportPastIncidents(t.Context(), PastHistory(t0, []Component{api}, 2_000)); err != nil {
		t.Fatal(err)
	}
	wal, err := os.Stat(where + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.Stat(where)
	if err != nil {
		t.Fatal(err)
	}
	if wal.Size() > db.Size()/10 {
		t.Errorf("after importing 2,000 incidents the log is %d bytes, the database %d", wal.Size(), db.Size())
	}
}
