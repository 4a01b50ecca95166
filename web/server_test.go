package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// 0 streams per address means no cap, in web.Config as on the command line.
func TestMaxStreamsPerIPZeroIsNoCap(t *testing.T) {
	ts := newTestServer(t, func(s *testSetup) { s.cfg.MaxStreamsPerIP = 0 })
	for i := range DefaultMaxStreamsPerIP + 1 {
		if s := openStream(t, ts, "?types=json", nil); s.resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d from one address: %d, want 200 (no cap)", i+1, s.resp.StatusCode)
		}
	}
}

// A negative cap means nothing, and the server refuses to start with it.
func TestMaxStreamsPerIPNegativeRefused(t *testing.T) {
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := New(t.Context(), Config{MaxStreamsPerIP: -1}, st); err == nil || !strings.Contains(err.Error(), "MaxStreamsPerIP") {
		t.Errorf("New with MaxStreamsPerIP -1: %v, want an error naming it", err)
	}
}

// syncBuffer is a bytes.Buffer that a log handler and a test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Everything the web side logs says so, as notify's logs do.
func TestWebLogsNameTheirComponent(t *testing.T) {
	var logs syncBuffer
	ts := newTestServer(t, func(s *testSetup) { s.logHandler = slog.NewJSONHandler(&logs, nil) })
	ts.call(t, "GET", "/api/v1/components", nil) // the API logs every request
	var lines int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines++
		if rec["component"] != "web" {
			t.Errorf("log line without component=web: %s", line)
		}
	}
	if lines == 0 {
		t.Fatal("nothing was logged")
	}
}

// A bad status filter is a bad request whose message speaks of the
// status, not of how the store wrote its error.
func TestAPIMaintenanceStatusFilterMessage(t *testing.T) {
	ts := newTestServer(t)
	resp := ts.call(t, "GET", "/api/v1/maintenances?status=scheduled,bogus", nil)
	var e apiErr
	resp.decode(t, &e)
	if resp.Status != http.StatusBadRequest || e.Error.Field != "status" || !strings.HasPrefix(e.Error.Message, `unknown maintenance status "bogus"`) {
		t.Errorf("%d %+v, want 400 on status saying the status is unknown", resp.Status, e.Error)
	}
}

// With the disk full (here: the SQLite file capped at its size, which
// fails writes exactly as a full disk does), a write answers 503 saying the
// database cannot write, /readyz fails until a write succeeds again, and
// the status page is still served. Once there is room, /readyz finds out
// by itself, with a write of its own, on a server that nobody writes to.
func TestWritesWhileTheDiskIsFull(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ready := func() int {
		resp, _ := ts.fetch(t, "GET", "/readyz", nil)
		return resp.StatusCode
	}
	if st := ready(); st != http.StatusOK {
		t.Fatalf("/readyz before: %d", st)
	}
	lift, err := ts.store.CapSQLitePages(t.Context(), 1) // below its size: no page can be added
	if err != nil {
		t.Fatal(err)
	}
	// Large writes until one fails, then small ones: the file's free pages
	// (a migration that rebuilt a table leaves some) are used up too.
	var r apiResponse
	for i := range 1200 {
		desc := strings.Repeat("x", store.MaxDescriptionLength)
		if i >= 200 {
			desc = ""
		}
		r = ts.call(t, "POST", "/api/v1/components", map[string]any{"name": fmt.Sprintf("C%d", i), "description": desc})
		if r.Status != http.StatusCreated && i >= 200 {
			break
		}
	}
	var e apiErr
	r.decode(t, &e)
	if r.Status != http.StatusServiceUnavailable || e.Error.Code != "database_cannot_write" || !strings.Contains(e.Error.Message, "cannot save changes") {
		t.Fatalf("a create on a full disk: %d %s, want 503 saying the database cannot write", r.Status, r.Body)
	}
	probed := time.Now()
	ts.at(t, probed)
	resp, body := ts.fetch(t, "GET", "/readyz", nil) // its probe cannot write either
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "cannot save changes") {
		t.Errorf("/readyz on a full disk: %d %s", resp.StatusCode, body)
	}
	if resp, _ := ts.fetch(t, "GET", "/", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the status page on a full disk: %d", resp.StatusCode)
	}
	if err := lift(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := ready(); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz again within a few seconds of its last probe: %d, want still failing (it probes at most every few seconds)", st)
	}
	ts.at(t, probed.Add(time.Minute))
	if st := ready(); st != http.StatusOK {
		t.Errorf("/readyz a minute later, with room again and no other traffic: %d, want 200", st)
	}
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/components", map[string]any{"name": "After"}, nil)
}
