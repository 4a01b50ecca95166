package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// signedInRoutes are the routes that need a sign-in, as echo serves them,
// each with the role it was registered with ("" for one registered without
// one, which only a bug can do). testdata/routes.golden pins the roles
// themselves (TestRoutesGolden).
func signedInRoutes(t *testing.T, srv *Server) map[string]store.Role {
	t.Helper()
	out := map[string]store.Role{}
	for _, r := range srv.echo.Routes() {
		if r.Method == "echo_route_not_found" || r.Method == http.MethodHead {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/console" && !strings.HasPrefix(r.Path, "/console/") {
			continue
		}
		if r.Path == "/console/login" || strings.HasPrefix(r.Path, "/console/login/") {
			continue // no session yet: that is where one begins (its code step, single sign-on)
		}
		key := r.Method + " " + r.Path
		out[key] = srv.roles[key]
	}
	if len(out) < 60 {
		t.Fatalf("found only %d signed-in routes; the route walk is broken", len(out))
	}
	return out
}

// TestAccessEveryRouteEveryRole requests every API endpoint and console
// route as each role (and as nobody) and checks it is let through or
// refused exactly as the role it was registered with says.
func TestAccessEveryRouteEveryRole(t *testing.T) {
	ts := newTestServer(t)

	users := map[store.Role]store.User{}
	tokens := map[store.Role]string{}
	for _, r := range store.Roles {
		u := ts.addUser(t, string(r)+"@example.com", r)
		users[r] = u
		_, raw, err := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: string(r), UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		tokens[r] = raw
	}
	// A token narrowed below its owner's role acts with the narrower one.
	_, narrowed, err := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: "read-only", UserID: users[store.RoleAdmin].ID, Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}

	for key, need := range signedInRoutes(t, ts.srv) {
		if !need.Valid() {
			t.Errorf("route %s has no role: register it in routes.go with the least role that may use it", key)
			continue
		}
		method, path, _ := strings.Cut(key, " ")
		path = strings.ReplaceAll(path, ":id", "nosuchid0000")
		t.Run(key, func(t *testing.T) {
			isAPI := strings.HasPrefix(path, "/api/")
			for _, r := range store.Roles {
				var status int
				var body string
				if isAPI {
					var payload any
					if method != http.MethodGet && method != http.MethodDelete {
						payload = "{}"
					}
					resp := ts.callWithToken(t, tokens[r], method, path, payload)
					status, body = resp.Status, string(resp.Body)
				} else {
					b := ts.signedIn(t, users[r]) // a fresh session: some routes end it
					var p consolePage
					if method == http.MethodGet {
						p = b.get(path)
					} else {
						p = b.post(path, url.Values{})
					}
					status, body = p.Status, p.Body
					if status == http.StatusSeeOther && strings.HasPrefix(location(p), "/console/login") && !strings.Contains(key, "logout") && !strings.Contains(key, "sign-out") {
						t.Errorf("%s: signed-in session sent to sign in", r)
					}
				}
				allowed := status != http.StatusForbidden && status != http.StatusUnauthorized
				if allowed != r.Allows(need) {
					t.Errorf("as %s: status %d (allowed=%v), want allowed=%v (needs %s)\n%.300s", r, status, allowed, r.Allows(need), need, body)
				}
				if status >= 500 {
					t.Errorf("as %s: status %d\n%.300s", r, status, body)
				}
			}
			// Nobody signed in: the API wants a token, the console a sign-in.
			if isAPI {
				if resp := ts.callWithToken(t, "", method, path, nil); resp.Status != http.StatusUnauthorized {
					t.Errorf("without a token: %d, want 401", resp.Status)
				}
				resp := ts.callWithToken(t, narrowed, method, path, nil)
				if allowed := resp.Status != http.StatusForbidden; allowed != store.RoleViewer.Allows(need) {
					t.Errorf("admin's token narrowed to viewer: status %d, want allowed=%v", resp.Status, store.RoleViewer.Allows(need))
				}
			} else {
				b := ts.browser(t)
				var p consolePage
				if method == http.MethodGet {
					p = b.get(path)
				} else {
					p = b.postRaw(path, url.Values{})
				}
				if p.Status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/console/login") {
					t.Errorf("not signed in: %d to %q, want 303 to /console/login", p.Status, location(p))
				}
			}
		})
	}
}
