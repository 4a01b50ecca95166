package web

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// Both CSV exports keep a value a spreadsheet would run as a formula as
// text, in whichever column it comes, and ask caches to keep no copy.
func TestCSVExportsDefuseFormulas(t *testing.T) {
	ts := newTestServer(t)
	const formula = `=HYPERLINK("https://evil.example/","open")`
	_, token, err := ts.store.CreateToken(t.Context(), formula)
	if err != nil {
		t.Fatal(err)
	}
	// The token's name is the actor of what it changes.
	ts.callWithToken(t, token, "POST", "/api/v1/components", map[string]any{"name": "API"})
	if _, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "+1-call@example.com"}); err != nil {
		t.Fatal(err)
	}
	admin := ts.signedIn(t, ts.addUser(t, "ann@example.com", store.RoleAdmin))
	for _, tt := range []struct{ path, column, want string }{
		{"/console/audit.csv?object_type=component", "actor_name", "'" + formula},
		{"/console/subscribers.csv", "email", "'+1-call@example.com"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			p := admin.get(tt.path)
			if p.Status != http.StatusOK || p.Header.Get("Cache-Control") != "private, no-store" {
				t.Fatalf("%d, Cache-Control %q; want 200, private, no-store", p.Status, p.Header.Get("Cache-Control"))
			}
			rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("%v, %d rows, want a header and one row:\n%s", err, len(rows), p.Body)
			}
			col := -1
			for i, name := range rows[0] {
				if name == tt.column {
					col = i
				}
			}
			if col < 0 {
				t.Fatalf("no %s column in %q", tt.column, rows[0])
			}
			if rows[1][col] != tt.want {
				t.Errorf("%s column: %q, want %q", tt.column, rows[1][col], tt.want)
			}
		})
	}
}

// A long export is not cut off by the server's write timeout: its deadline
// moves on with every write, so only a write that itself takes longer (a
// client that stopped reading) ends it. Here the timeout is short, the
// client reads slowly but steadily, for several times the timeout, and the
// whole file arrives.
func TestLongCSVExportOutlivesTheWriteTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	ts := newTestServer(t, func(s *testSetup) {
		s.smallSocketBuffers = true // the server's writes wait for the client's reads
		s.writeTimeout = timeout
	})
	const n = 3000 // about 200 KB: 50 reads of 4 KiB
	list := make([]store.SubscriberInput, n)
	for i := range list {
		list[i].Email = fmt.Sprintf("subscriber-%04d@example.com", i)
	}
	if _, err := ts.store.ImportSubscribers(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	c := smallWindowConn(t, ts)
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := fmt.Fprintf(c, "GET /api/v1/subscribers/export HTTP/1.1\r\nHost: status.example.test\r\nAuthorization: Bearer %s\r\n\r\n", ts.token); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReaderSize(slowReader{c, timeout / 10}, 4096), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("the export was cut off after %v (%d bytes; the write timeout is %v): %v", took, len(body), timeout, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if resp.StatusCode != http.StatusOK || err != nil || len(rows) != n+1 {
		t.Fatalf("%d, %d rows, %v; want 200, a header and %d rows", resp.StatusCode, len(rows), err, n)
	}
	if took <= timeout {
		t.Fatalf("the download took %v, no longer than the write timeout %v: the test shows nothing", took, timeout)
	}
}

// slowReader reads at most 4 KiB at a time, each after a pause: a client
// on a slow link.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	return s.r.Read(p[:min(len(p), 4096)])
}
