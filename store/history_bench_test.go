package store

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// seedHistory writes n resolved incidents, all older than 90 days, the way
// years of use leave them: each with two updates (the first taking one of
// the components down, the second resolving), their component changes and
// the status history they wrote.
func seedHistory(tb testing.TB, st *Store, comps []Component, n int) {
	tb.Helper()
	if err := st.ImportPastIncidents(tb.Context(), PastHistory(st.Now(), comps, n)); err != nil {
		tb.Fatalf("seed %d incidents: %v", n, err)
	}
}

// historySizes are the histories the benchmarks compare: a new page and
// one with years of incidents behind it.
var historySizes = []int{0, 100_000}

// onBackends runs bench on each backend, as sub-benchmarks named by it.
func onBackends(b *testing.B, bench func(b *testing.B, backend string)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) { bench(b, backend) })
	}
}

// storeWithHistory is a store on backend with 20 components and n old
// incidents.
func storeWithHistory(b *testing.B, backend string, n int) (*Store, []Component) {
	b.Helper()
	var st *Store
	if backend == "postgres" {
		st = openTestStore(b, pgtest.Start(b).NewDatabase(b))
	} else {
		st = openTestStore(b, filepath.Join(b.TempDir(), "herald.db"))
	}
	comps := make([]Component, 20)
	for i := range comps {
		comps[i] = mustCreateComponent(b, st, fmt.Sprintf("Component %02d", i))
	}
	seedHistory(b, st, comps, n)
	if backend == "postgres" {
		// The statistics autovacuum would have gathered over the years
		// the rows took to arrive.
		if _, err := st.write.ExecContext(b.Context(), "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return st, comps
}

// Resolving an incident hands its components back: with years of history
// behind them it must cost what it costs on a new page.
func BenchmarkResolveWithHistory(b *testing.B) {
	onBackends(b, func(b *testing.B, backend string) {
		for _, n := range historySizes {
			for _, width := range []int{1, 20} {
				b.Run(fmt.Sprintf("history=%d/components=%d", n, width), func(b *testing.B) {
					st, comps := storeWithHistory(b, backend, n)
					down := map[string]ComponentStatus{}
					for _, c := range comps[:width] {
						down[c.ID] = MajorOutage
					}
					for b.Loop() {
						b.StopTimer()
						inc := mustCreateIncident(b, st, IncidentInput{Name: "Down", Body: "Looking.", Components: down, SkipNotify: true})
						b.StartTimer()
						if _, err := st.PostIncidentUpdate(b.Context(), inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed.", SkipNotify: true}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	})
}

// What the snapshot reads on every rebuild: the open incidents and the
// 90 days of status history. Neither may grow with older history.
func BenchmarkSnapshotReadsWithHistory(b *testing.B) {
	onBackends(b, func(b *testing.B, backend string) {
		for _, n := range historySizes {
			b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
				st, comps := storeWithHistory(b, backend, n)
				mustCreateIncident(b, st, IncidentInput{Name: "Down", Body: "Looking.", Components: map[string]ComponentStatus{comps[0].ID: MajorOutage}, SkipNotify: true})
				since := st.Now().AddDate(0, 0, -90)
				for b.Loop() {
					open, err := st.ListIncidents(b.Context(), IncidentFilter{Unresolved: true, Limit: 100})
					if err != nil || len(open) != 1 {
						b.Fatalf("open incidents: %d, %v", len(open), err)
					}
					if _, err := st.StatusHistory(b.Context(), since); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// A history page by keyset costs the same at the end of 100,000 incidents
// as at the start; finding where an old numbered page starts reads times
// and ids alone.
func BenchmarkHistoryPageWithHistory(b *testing.B) {
	onBackends(b, func(b *testing.B, backend string) {
		st, _ := storeWithHistory(b, backend, 100_000)
		last, ok, err := st.HistoryPlace(b.Context(), 100_000-25)
		if err != nil || !ok {
			b.Fatalf("HistoryPlace: %v, %v", ok, err)
		}
		for _, bc := range []struct {
			name          string
			before, after *Keyset
		}{{"first", nil, nil}, {"last", &last, nil}, {"newer-than-the-last", nil, &last}} {
			b.Run(bc.name, func(b *testing.B) {
				for b.Loop() {
					list, err := st.ListIncidents(b.Context(), IncidentFilter{Resolved: true, Before: bc.before, After: bc.after, Limit: 26})
					if err != nil || len(list) < 25 {
						b.Fatalf("%d incidents, %v", len(list), err)
					}
				}
			})
		}
		b.Run("place-of-the-last-page", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := st.HistoryPlace(b.Context(), 100_000-25); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
