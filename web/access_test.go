package web

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// wantAccess is, for every signed-in route, the least role that may use
// it. It is this test's own copy of the rules (access.go holds the
// server's): a route registered without a line here fails the test, and a
// rule in access.go that drifts from this table fails it too.
const wantAccess = `
GET    /api/v1/component-groups                 viewer
POST   /api/v1/component-groups                 admin
GET    /api/v1/component-groups/:id             viewer
PATCH  /api/v1/component-groups/:id             admin
PUT    /api/v1/component-groups/:id             admin
DELETE /api/v1/component-groups/:id             admin
GET    /api/v1/components                       viewer
POST   /api/v1/components                       admin
GET    /api/v1/components/:id                   viewer
PATCH  /api/v1/components/:id                   commander
PUT    /api/v1/components/:id                   commander
DELETE /api/v1/components/:id                   admin
GET    /api/v1/incidents                        viewer
POST   /api/v1/incidents                        commander
GET    /api/v1/incidents/:id                    viewer
PATCH  /api/v1/incidents/:id                    commander
PUT    /api/v1/incidents/:id                    commander
DELETE /api/v1/incidents/:id                    commander
POST   /api/v1/incidents/:id/publish            commander
GET    /api/v1/incidents/:id/updates            viewer
POST   /api/v1/incidents/:id/updates            commander
GET    /api/v1/incidents/:id/postmortem         viewer
POST   /api/v1/incidents/:id/postmortem         commander
PUT    /api/v1/incidents/:id/postmortem         commander
POST   /api/v1/integrations/alertmanager        commander
GET    /api/v1/maintenances                     viewer
POST   /api/v1/maintenances                     commander
GET    /api/v1/maintenances/:id                 viewer
PATCH  /api/v1/maintenances/:id                 commander
PUT    /api/v1/maintenances/:id                 commander
POST   /api/v1/maintenances/:id/updates         commander
GET    /api/v1/audit-log                        admin
GET    /api/v1/subscribers                      commander
POST   /api/v1/subscribers                      admin
GET    /api/v1/subscribers/export               commander
GET    /api/v1/subscribers/:id                  commander
DELETE /api/v1/subscribers/:id                  admin
GET    /api/v1/webhooks                         commander
POST   /api/v1/webhooks                         admin
GET    /api/v1/webhooks/:id                     commander
PATCH  /api/v1/webhooks/:id                     admin
DELETE /api/v1/webhooks/:id                     admin
POST   /api/v1/webhooks/:id/rotate-secret       admin
GET    /api/v1/webhooks/:id/deliveries          commander
POST   /api/v1/webhooks/:id/deliveries/:delivery/replay admin

GET    /console                                 viewer
POST   /console/logout                          viewer
GET    /console/account                         viewer
POST   /console/account/password                viewer
POST   /console/account/sign-out-everywhere     viewer
GET    /console/incidents                       viewer
GET    /console/incidents/new                   commander
POST   /console/incidents                       commander
POST   /console/preview                         commander
GET    /console/incidents/:id                   viewer
POST   /console/incidents/:id/updates           commander
GET    /console/incidents/:id/postmortem        viewer
POST   /console/incidents/:id/postmortem        commander
GET    /console/templates                       viewer
GET    /console/templates/new                   commander
POST   /console/templates                       commander
GET    /console/templates/:id                   viewer
POST   /console/templates/:id                   commander
POST   /console/templates/:id/delete            commander
GET    /console/maintenances                    viewer
GET    /console/maintenances/new                commander
POST   /console/maintenances                    commander
GET    /console/maintenances/:id                viewer
POST   /console/maintenances/:id                commander
POST   /console/maintenances/:id/updates        commander
POST   /console/maintenances/:id/cancel         commander
GET    /console/components                      viewer
POST   /console/components                      admin
GET    /console/components/:id                  viewer
POST   /console/components/:id                  admin
POST   /console/components/:id/status           commander
POST   /console/components/:id/move             admin
POST   /console/components/:id/delete           admin
POST   /console/groups                          admin
GET    /console/groups/:id                      viewer
POST   /console/groups/:id                      admin
POST   /console/groups/:id/move                 admin
POST   /console/groups/:id/delete               admin
GET    /console/audit                           admin
GET    /console/audit.csv                       admin
GET    /console/subscribers                     commander
POST   /console/subscribers                     admin
GET    /console/subscribers.csv                 commander
GET    /console/subscribers/:id                 commander
POST   /console/subscribers/:id/delete          admin
GET    /console/webhooks                        commander
POST   /console/webhooks                        admin
GET    /console/webhooks/:id                    commander
POST   /console/webhooks/:id/pause              admin
POST   /console/webhooks/:id/resume             admin
POST   /console/webhooks/:id/rotate-secret      admin
POST   /console/webhooks/:id/delete             admin
POST   /console/webhooks/:id/deliveries/:delivery/replay admin
GET    /console/users                           admin
POST   /console/users                           admin
GET    /console/users/:id                       admin
POST   /console/users/:id                       admin
POST   /console/users/:id/reset-password        admin
POST   /console/users/:id/sign-out              admin
GET    /console/tokens                          admin
POST   /console/tokens                          admin
POST   /console/tokens/:id/revoke               admin
`

// publicRoutes under /console need no session.
var publicConsoleRoutes = map[string]bool{"GET /console/login": true, "POST /console/login": true}

func parseWantAccess(t *testing.T) map[string]store.Role {
	t.Helper()
	out := map[string]store.Role{}
	sc := bufio.NewScanner(strings.NewReader(wantAccess))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || !store.Role(f[2]).Valid() {
			t.Fatalf("bad line in wantAccess: %q", sc.Text())
		}
		out[f[0]+" "+f[1]] = store.Role(f[2])
	}
	return out
}

// TestAccessEveryRouteEveryRole requests every API endpoint and console
// route as each role (and as nobody) and checks it is let through or
// refused exactly as the table says.
func TestAccessEveryRouteEveryRole(t *testing.T) {
	ts := newTestServer(t)
	want := parseWantAccess(t)

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

	var routes []string
	for _, r := range ts.srv.echo.Routes() {
		if r.Method == "echo_route_not_found" || r.Method == http.MethodHead {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/console" && !strings.HasPrefix(r.Path, "/console/") {
			continue
		}
		if strings.HasSuffix(r.Path, "/*") || r.Path == "/api/*" {
			continue // catch-alls that answer 404
		}
		key := r.Method + " " + r.Path
		if publicConsoleRoutes[key] {
			continue
		}
		routes = append(routes, key)
		need, ok := want[key]
		if !ok {
			t.Errorf("route %s has no line in wantAccess: decide who may use it, add it there and to accessRules in access.go", key)
			continue
		}
		if got, ok := accessRules[key]; !ok || got != need {
			t.Errorf("accessRules[%q] = %q, want %q", key, got, need)
		}
	}
	if len(routes) < 60 {
		t.Fatalf("found only %d signed-in routes; the route walk is broken", len(routes))
	}

	for _, key := range routes {
		need, ok := want[key]
		if !ok {
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
