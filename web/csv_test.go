package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

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
