package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/web"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	const out = `Running 10s test @ http://127.0.0.1:33119/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.87ms    3.02ms  47.09ms   90.64%
    Req/Sec    20.35k     7.62k   36.29k    75.00%
  Latency Distribution
     50%  803.00us
     75%    2.16ms
     90%    4.67ms
     99%   14.73ms
  409260 requests in 10.03s, 45.70MB read
  Socket errors: connect 0, read 0, write 0, timeout 5
  Non-2xx or 3xx responses: 12
Requests/sec:  39835.46
Transfer/sec:      4.44MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 39835.46 || r.requests != 409260 || r.transfer != "4.44MB/s" {
		t.Errorf("rps %v, requests %d, transfer %q", r.rps, r.requests, r.transfer)
	}
	if r.latAvg != 1870*time.Microsecond || r.latMax != 47090*time.Microsecond || r.p50 != 803*time.Microsecond || r.p99 != 14730*time.Microsecond {
		t.Errorf("latency avg %v max %v p50 %v p99 %v", r.latAvg, r.latMax, r.p50, r.p99)
	}
	if r.errors != "Socket errors: connect 0, read 0, write 0, timeout 5; 12 non-2xx/3xx responses" {
		t.Errorf("errors %q", r.errors)
	}

	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("no error for a report without Requests/sec")
	}
}

func TestParseWrkDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"312.45us": 312450 * time.Nanosecond,
		"1.02ms":   1020 * time.Microsecond,
		"1.20s":    1200 * time.Millisecond,
		"2.00m":    2 * time.Minute,
	} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWrkDuration("3furlongs"); err == nil {
		t.Error("no error for an unknown unit")
	}
}

func TestWrkDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{time.Second: "1s", 10 * time.Second: "10s", 2500 * time.Millisecond: "3s"} {
		if got := wrkDuration(d); got != want {
			t.Errorf("wrkDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// The check run before measuring passes on the data set the README's
// figures are quoted for (its shape is store/dataset's to test).
func TestHomeCheckPassesOnTheDataSet(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := dataset.Benchmark(ctx, st); err != nil {
		t.Fatal(err)
	}

	srv, err := web.New(ctx, web.Config{BaseURL: "http://127.0.0.1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	check, err := checkHome(ctx, hs.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if check.etag == "" || check.gzipLen >= check.htmlLen {
		t.Errorf("ETag %q, %d bytes gzip for %d bytes HTML", check.etag, check.gzipLen, check.htmlLen)
	}
}

// The history mode finds its way to the last page by the links the pages
// give: a change to them must not leave it measuring nothing.
func TestHistoryModeReachesTheLastPage(t *testing.T) {
	t.Parallel()
	p, err := openHistoryPage(t.Context(), filepath.Join(t.TempDir(), "herald.db"), 3*web.HistoryPageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	var s historySample
	if err := p.round(t.Context(), 2, 0, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.resolve) != 1 || len(s.fresh) != 1 || len(s.first) != 1 || len(s.last) != 1 || len(s.numbered) != 1 {
		t.Errorf("one round measured %d resolves, %d fresh pages, %d first, %d last and %d numbered pages; want one each",
			len(s.resolve), len(s.fresh), len(s.first), len(s.last), len(s.numbered))
	}
}
