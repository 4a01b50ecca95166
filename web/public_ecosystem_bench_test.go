package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Benchmarks for what other tools poll: the Statuspage summary (embed.js on
// customers' sites reads it), the overall badge, and a second snapshot
// request for the history documents rendered on demand.
//
//	go test -run '^$' -bench 'Summary|Badge|IncidentsJSON' -benchmem ./web

func BenchmarkSummaryJSONGzip(b *testing.B) {
	srv := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/api/v2/summary.json", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	serveBench(b, srv.Handler(), req, http.StatusOK, "gzip")
}

func BenchmarkBadge(b *testing.B) {
	srv := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/badge.svg", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	serveBench(b, srv.Handler(), req, http.StatusOK, "gzip")
}

// BenchmarkIncidentsJSONGzip is the history list once rendered for the
// snapshot: served from memory like the rest.
func BenchmarkIncidentsJSONGzip(b *testing.B) {
	srv := newBenchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/api/v2/incidents.json", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	serveBench(b, srv.Handler(), req, http.StatusOK, "gzip")
}
