package web

// Benchmarks for the public hot path: serving / from the snapshot through the
// whole echo handler (middleware included), and rebuilding the snapshot.
//
//	go test -run '^$' -bench . -benchmem ./web
//
// The data set is dataset.Benchmark, the one from the performance target
// in issue 2, which cmd/herald-bench also uses to measure the same path over
// real connections with wrk.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
)

// newBenchServer builds the data set in b.TempDir() and a Server over it with
// its first snapshot. Its background loops are not started: nothing changes.
func newBenchServer(b *testing.B) *Server { return newScaledBenchServer(b, 30, 0) }

// newScaledBenchServer is newBenchServer over dataset.BenchmarkScaled with
// that many components, and years behind it: history resolved incidents
// older than the 90 days the page shows.
func newScaledBenchServer(b *testing.B, components, history int) *Server {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "herald.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := dataset.BenchmarkScaled(ctx, st, components); err != nil {
		b.Fatal(err)
	}
	if history > 0 {
		comps, err := st.ListComponents(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.ImportPastIncidents(ctx, store.PastHistory(st.Now(), comps, history)); err != nil {
			b.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(ctx, Config{BaseURL: "http://status.example.test", PageName: "Acme", Logger: logger}, st)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// serveBench runs req through h b.N times and checks the first answer.
func serveBench(b *testing.B, h http.Handler, req *http.Request, wantStatus int, wantEncoding string) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != wantStatus || rec.Header().Get("Content-Encoding") != wantEncoding {
		b.Fatalf("%s %s: status %d, Content-Encoding %q; want %d, %q", req.Method, req.URL, rec.Code, rec.Header().Get("Content-Encoding"), wantStatus, wantEncoding)
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkHomeGzip is what a crowd of browsers costs: / with gzip.
func BenchmarkHomeGzip(b *testing.B) {
	srv := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	serveBench(b, srv.Handler(), req, http.StatusOK, "gzip")
}

// BenchmarkHomeIdentity is / for a client that takes no compression.
func BenchmarkHomeIdentity(b *testing.B) {
	srv := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	serveBench(b, srv.Handler(), req, http.StatusOK, "")
}

// BenchmarkHomeNotModified is a browser revalidating a page it has.
func BenchmarkHomeNotModified(b *testing.B) {
	srv := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("If-None-Match", srv.main.snap.Load().home.etag)
	serveBench(b, srv.Handler(), req, http.StatusNotModified, "")
}

// BenchmarkIncidentPageGzip is an active incident's own page.
func BenchmarkIncidentPageGzip(b *testing.B) {
	srv := newBenchServer(b)
	// Any of the three active incidents; the lowest id, so runs compare.
	var id string
	for k := range srv.main.snap.Load().incidents {
		if id == "" || k < id {
			id = k
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/incidents/"+id, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	serveBench(b, srv.Handler(), req, http.StatusOK, "gzip")
}

// BenchmarkBareOK is the floor: a net/http handler writing "ok" through the
// same recorder, so the recorder's own cost can be subtracted from the others.
func BenchmarkBareOK(b *testing.B) {
	ok := []byte("ok")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(ok)
	})
	serveBench(b, h, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "")
}

// BenchmarkSnapshotRebuild is the cost of one change: read the public state,
// render every hot page, compress each once.
func BenchmarkSnapshotRebuild(b *testing.B) {
	srv := newBenchServer(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := srv.rebuildSnapshot(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotRebuildWithHistory is the rebuild over a new page and
// over one with 100,000 old incidents: none of them is shown, so the
// rebuild must cost the same.
func BenchmarkSnapshotRebuildWithHistory(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			srv := newScaledBenchServer(b, 30, n)
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.rebuildSnapshot(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHomeAtScale is the status page's cost as the page grows: one
// rebuild with nothing changed (ns/op, allocs/op, B/op), and the size of
// what it makes: the page's HTML (html-bytes), gzipped (gzip-bytes).
//
//	go test -run '^$' -bench HomeAtScale -benchmem -count 3 ./web
func BenchmarkHomeAtScale(b *testing.B) {
	for _, n := range []int{30, 300, 3000} {
		b.Run(fmt.Sprintf("components=%d", n), func(b *testing.B) {
			srv := newScaledBenchServer(b, n, 0)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := srv.rebuildSnapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
			home := srv.main.snap.Load().home
			b.ReportMetric(float64(len(home.body)), "html-bytes")
			b.ReportMetric(float64(len(home.gzip)), "gzip-bytes")
		})
	}
}
