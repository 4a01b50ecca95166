package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// guarded is a group of routes that need a sign-in (an API token or a
// console session). Its only way to add a route takes the least role the
// route needs, so every such route says who may use it on its own line in
// routes.go, and a route without a valid role stops the server at start.
type guarded struct {
	s     *Server
	group *echo.Group
}

// guarded makes g, whose middleware signs the request in (and so gives it
// a role), a group of signed-in routes: authorize checks each request's
// role against its route's, then after runs (the console's CSRF check). A
// group that signs nobody in refuses every request.
func (s *Server) guarded(g *echo.Group, after ...echo.MiddlewareFunc) guarded {
	g.Use(s.authorize)
	g.Use(after...)
	return guarded{s: s, group: g}
}

func (g guarded) GET(path string, need store.Role, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodGet, path, need, h, m)
}

func (g guarded) POST(path string, need store.Role, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodPost, path, need, h, m)
}

func (g guarded) PUT(path string, need store.Role, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodPut, path, need, h, m)
}

func (g guarded) PATCH(path string, need store.Role, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodPatch, path, need, h, m)
}

func (g guarded) DELETE(path string, need store.Role, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodDelete, path, need, h, m)
}

func (g guarded) add(method, path string, need store.Role, h echo.HandlerFunc, m []echo.MiddlewareFunc) {
	if !need.Valid() {
		panic(fmt.Sprintf("web: route %s %s registered without a valid role (%q)", method, path, need))
	}
	r := g.group.Add(method, path, h, m...)
	g.s.roles[method+" "+r.Path] = need
}

// requiredRole is the role the route c matched was registered with. A route
// on a signed-in group without one (added past guarded) is for admins
// only, reading included (what it guards may be an export of personal
// data), and is reported. The groups' catch-alls, which only answer 404,
// are the exception: anyone signed in learns that an address does not
// exist.
func (s *Server) requiredRole(c echo.Context) store.Role {
	key := c.Request().Method + " " + c.Path()
	if c.Request().Method == http.MethodHead {
		key = "GET " + c.Path()
	}
	if r, ok := s.roles[key]; ok {
		return r
	}
	if strings.HasSuffix(c.Path(), "/*") {
		return store.RoleViewer
	}
	if _, warned := s.unruled.LoadOrStore(key, true); !warned {
		s.log.Warn("route has no role; only admins may use it (register it in web/routes.go with its role)", "route", key)
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
	ctxSession    = "herald.session"     // the raw session id
	ctxSessionRow = "herald.session_row" // its store.Session
	ctxCSRFSeed   = "herald.csrf_seed"
	ctxAPITokenID = "herald.token"
	ctxPage       = "herald.page" // the *sitePage pageAccess judged
)
