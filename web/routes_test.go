package web

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// routeTable lists every route the server answers, "METHOD path role", one
// a line, sorted by path then method. Routes that need no sign-in are
// "public" (a handler may still check a token of its own, as /metrics does).
func routeTable(srv *Server) string {
	var lines [][3]string
	for _, r := range srv.echo.Routes() {
		if strings.HasPrefix(r.Method, "echo_") { // echo's own not-found routes
			continue
		}
		role := string(srv.roles[r.Method+" "+r.Path])
		if role == "" {
			role = "public"
		}
		lines = append(lines, [3]string{r.Method, r.Path, role})
	}
	slices.SortFunc(lines, func(a, b [3]string) int {
		return cmp.Or(strings.Compare(a[1], b[1]), strings.Compare(a[0], b[0]))
	})
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-8s %-50s %s\n", l[0], l[1], l[2])
	}
	return b.String()
}

// The roles of all routes are pinned in testdata/routes.golden, so that
// giving a route another role, or adding one, is a diff someone reviews.
// go test ./web -run TestRoutesGolden -update rewrites it.
func TestRoutesGolden(t *testing.T) {
	ts := newTestServer(t)
	got := routeTable(ts.srv)
	golden := filepath.Join("testdata", "routes.golden")
	if *updateGolden { // the flag statuspage_test.go defines
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./web -run TestRoutesGolden -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("the routes or their roles differ from %s; if that is intended, run go test ./web -run TestRoutesGolden -update and review the diff.\ngot:\n%s", golden, got)
	}
}

// A signed-in route cannot be registered without a role: the server stops
// at start rather than serve it.
func TestRouteWithoutRoleRefused(t *testing.T) {
	for _, role := range []store.Role{"", "root"} {
		t.Run(fmt.Sprintf("%q", role), func(t *testing.T) {
			e := echo.New()
			s := &Server{roles: map[string]store.Role{}}
			api := s.guarded(e.Group("/api/v1"))
			defer func() {
				if recover() == nil {
					t.Error("registering a route without a valid role did not panic")
				}
				for _, r := range e.Routes() {
					if r.Path == "/api/v1/forgotten" {
						t.Errorf("the route %s %s was registered all the same", r.Method, r.Path)
					}
				}
			}()
			api.GET("/forgotten", role, func(c echo.Context) error { return c.String(http.StatusOK, "secret") })
		})
	}
}
