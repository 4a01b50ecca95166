package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// accessRules is the least role each signed-in route needs, keyed by
// "METHOD path" exactly as registered in routes.go. API tokens act with
// their effective role, console users with theirs. The table test in
// access_test.go checks every registered route against its own copy, so a
// route added without a rule here fails the tests.
var accessRules = map[string]store.Role{
	// Admin API: reading is for everyone signed in; incidents, maintenance
	// and component status for commanders; configuration for admins.
	"GET /api/v1/component-groups":        store.RoleViewer,
	"POST /api/v1/component-groups":       store.RoleAdmin,
	"GET /api/v1/component-groups/:id":    store.RoleViewer,
	"PATCH /api/v1/component-groups/:id":  store.RoleAdmin,
	"PUT /api/v1/component-groups/:id":    store.RoleAdmin,
	"DELETE /api/v1/component-groups/:id": store.RoleAdmin,

	"GET /api/v1/components":     store.RoleViewer,
	"POST /api/v1/components":    store.RoleAdmin,
	"GET /api/v1/components/:id": store.RoleViewer,
	// A commander may change a component's status here; the handler
	// refuses other fields unless the caller is an admin.
	"PATCH /api/v1/components/:id":  store.RoleCommander,
	"PUT /api/v1/components/:id":    store.RoleCommander,
	"DELETE /api/v1/components/:id": store.RoleAdmin,

	"GET /api/v1/incidents":                 store.RoleViewer,
	"POST /api/v1/incidents":                store.RoleCommander,
	"GET /api/v1/incidents/:id":             store.RoleViewer,
	"PATCH /api/v1/incidents/:id":           store.RoleCommander,
	"PUT /api/v1/incidents/:id":             store.RoleCommander,
	"GET /api/v1/incidents/:id/updates":     store.RoleViewer,
	"POST /api/v1/incidents/:id/updates":    store.RoleCommander,
	"GET /api/v1/incidents/:id/postmortem":  store.RoleViewer,
	"POST /api/v1/incidents/:id/postmortem": store.RoleCommander,
	"PUT /api/v1/incidents/:id/postmortem":  store.RoleCommander,

	"GET /api/v1/maintenances":              store.RoleViewer,
	"POST /api/v1/maintenances":             store.RoleCommander,
	"GET /api/v1/maintenances/:id":          store.RoleViewer,
	"PATCH /api/v1/maintenances/:id":        store.RoleCommander,
	"PUT /api/v1/maintenances/:id":          store.RoleCommander,
	"POST /api/v1/maintenances/:id/updates": store.RoleCommander,

	"GET /api/v1/audit-log": store.RoleAdmin,

	// Commanders read subscribers and webhooks (issue 5: they need to see
	// who will hear about an incident, and a delivery's fate); changing them
	// is for admins: subscribers are personal data and webhook URLs often
	// carry credentials.
	"GET /api/v1/subscribers":                               store.RoleCommander,
	"POST /api/v1/subscribers":                              store.RoleAdmin,
	"GET /api/v1/subscribers/export":                        store.RoleCommander,
	"GET /api/v1/subscribers/:id":                           store.RoleCommander,
	"DELETE /api/v1/subscribers/:id":                        store.RoleAdmin,
	"GET /api/v1/webhooks":                                  store.RoleCommander,
	"POST /api/v1/webhooks":                                 store.RoleAdmin,
	"GET /api/v1/webhooks/:id":                              store.RoleCommander,
	"PATCH /api/v1/webhooks/:id":                            store.RoleAdmin,
	"DELETE /api/v1/webhooks/:id":                           store.RoleAdmin,
	"POST /api/v1/webhooks/:id/rotate-secret":               store.RoleAdmin,
	"GET /api/v1/webhooks/:id/deliveries":                   store.RoleCommander,
	"POST /api/v1/webhooks/:id/deliveries/:delivery/replay": store.RoleAdmin,

	// Incident drafts and integrations (issue 6): commanders publish or
	// discard drafts; an integration posts with a commander's token.
	"DELETE /api/v1/incidents/:id":           store.RoleCommander,
	"POST /api/v1/incidents/:id/publish":     store.RoleCommander,
	"POST /api/v1/integrations/alertmanager": store.RoleCommander,

	// Console.
	"GET /console":                              store.RoleViewer,
	"POST /console/logout":                      store.RoleViewer,
	"GET /console/account":                      store.RoleViewer,
	"POST /console/account/password":            store.RoleViewer,
	"POST /console/account/sign-out-everywhere": store.RoleViewer,

	"GET /console/incidents":                 store.RoleViewer,
	"GET /console/incidents/new":             store.RoleCommander,
	"POST /console/incidents":                store.RoleCommander,
	"POST /console/preview":                  store.RoleCommander,
	"GET /console/incidents/:id":             store.RoleViewer,
	"POST /console/incidents/:id/updates":    store.RoleCommander,
	"GET /console/incidents/:id/postmortem":  store.RoleViewer,
	"POST /console/incidents/:id/postmortem": store.RoleCommander,

	"GET /console/templates":             store.RoleViewer,
	"GET /console/templates/new":         store.RoleCommander,
	"POST /console/templates":            store.RoleCommander,
	"GET /console/templates/:id":         store.RoleViewer,
	"POST /console/templates/:id":        store.RoleCommander,
	"POST /console/templates/:id/delete": store.RoleCommander,

	"GET /console/maintenances":              store.RoleViewer,
	"GET /console/maintenances/new":          store.RoleCommander,
	"POST /console/maintenances":             store.RoleCommander,
	"GET /console/maintenances/:id":          store.RoleViewer,
	"POST /console/maintenances/:id":         store.RoleCommander,
	"POST /console/maintenances/:id/updates": store.RoleCommander,
	"POST /console/maintenances/:id/cancel":  store.RoleCommander,

	"GET /console/components":             store.RoleViewer,
	"POST /console/components":            store.RoleAdmin,
	"GET /console/components/:id":         store.RoleViewer,
	"POST /console/components/:id":        store.RoleAdmin,
	"POST /console/components/:id/status": store.RoleCommander,
	"POST /console/components/:id/move":   store.RoleAdmin,
	"POST /console/components/:id/delete": store.RoleAdmin,
	"POST /console/groups":                store.RoleAdmin,
	"GET /console/groups/:id":             store.RoleViewer,
	"POST /console/groups/:id":            store.RoleAdmin,
	"POST /console/groups/:id/move":       store.RoleAdmin,
	"POST /console/groups/:id/delete":     store.RoleAdmin,

	// The audit log is for reading, and nothing anywhere edits it. Its
	// before/after values repeat admin-only data (webhook URLs, which
	// often carry credentials; subscribers' emails; users and tokens), so
	// it is for admins, as GET /api/v1/audit-log is.
	"GET /console/audit":     store.RoleAdmin,
	"GET /console/audit.csv": store.RoleAdmin,

	// Subscribers and webhooks, as in the API: commanders read, admins change.
	"GET /console/subscribers":                               store.RoleCommander,
	"POST /console/subscribers":                              store.RoleAdmin,
	"GET /console/subscribers.csv":                           store.RoleCommander,
	"GET /console/subscribers/:id":                           store.RoleCommander,
	"POST /console/subscribers/:id/delete":                   store.RoleAdmin,
	"GET /console/webhooks":                                  store.RoleCommander,
	"POST /console/webhooks":                                 store.RoleAdmin,
	"GET /console/webhooks/:id":                              store.RoleCommander,
	"POST /console/webhooks/:id/pause":                       store.RoleAdmin,
	"POST /console/webhooks/:id/resume":                      store.RoleAdmin,
	"POST /console/webhooks/:id/rotate-secret":               store.RoleAdmin,
	"POST /console/webhooks/:id/delete":                      store.RoleAdmin,
	"POST /console/webhooks/:id/deliveries/:delivery/replay": store.RoleAdmin,

	"GET /console/users":                     store.RoleAdmin,
	"POST /console/users":                    store.RoleAdmin,
	"GET /console/users/:id":                 store.RoleAdmin,
	"POST /console/users/:id":                store.RoleAdmin,
	"POST /console/users/:id/reset-password": store.RoleAdmin,
	"POST /console/users/:id/sign-out":       store.RoleAdmin,
	"GET /console/tokens":                    store.RoleAdmin,
	"POST /console/tokens":                   store.RoleAdmin,
	"POST /console/tokens/:id/revoke":        store.RoleAdmin,
}

// requiredRole is the rule for the route c matched. A route without a rule
// is for admins only, reading included (what a forgotten rule guards may be
// an export of personal data), and is reported. The groups' catch-alls,
// which only answer 404, are the exception: anyone signed in learns that
// an address does not exist.
func (s *Server) requiredRole(c echo.Context) store.Role {
	key := c.Request().Method + " " + c.Path()
	if c.Request().Method == http.MethodHead {
		key = "GET " + c.Path()
	}
	if r, ok := accessRules[key]; ok {
		return r
	}
	if strings.HasSuffix(c.Path(), "/*") {
		return store.RoleViewer
	}
	if _, warned := s.unruled.LoadOrStore(key, true); !warned {
		s.log.Warn("route has no access rule in web/access.go; only admins may use it", "route", key)
	}
	return store.RoleAdmin
}

// authorize refuses a request whose role (set by requireToken or
// requireSession) does not reach the route's rule.
func (s *Server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		role, _ := c.Get(ctxRole).(store.Role)
		need := s.requiredRole(c)
		if !role.Allows(need) {
			return &apiError{Status: http.StatusForbidden, Code: "forbidden",
				Message: fmt.Sprintf("this needs the %s role; you act as %s", need, roleName(role))}
		}
		return next(c)
	}
}

func roleName(r store.Role) string {
	if r == "" {
		return "nobody"
	}
	return string(r)
}

// roleOf is the role the request acts with.
func roleOf(c echo.Context) store.Role {
	r, _ := c.Get(ctxRole).(store.Role)
	return r
}

// Keys of values middleware leaves on the echo context.
const (
	ctxRole       = "herald.role"
	ctxUser       = "herald.user"
	ctxSession    = "herald.session" // the raw session id
	ctxCSRFSeed   = "herald.csrf_seed"
	ctxAPITokenID = "herald.token"
)
