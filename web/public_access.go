package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"path"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Who may see a page (issue 13). Every route of a page goes through
// pageAccess (pageRoutes puts it on each), so a page's HTML, documents,
// badges and live stream are judged in one place; a route added to
// pageRoutes later is too.

var (
	// privateCache is the Cache-Control of a page for some people only:
	// no shared cache may keep it, and no browser either, so that a
	// shared computer's next user does not read it from the cache.
	privateCache = []string{"private, no-store"}
	// sameOrigin keeps its badges out of other sites' pages.
	sameOrigin = []string{"same-origin"}
)

// pageAccess lets a request through to a page's route when the visitor may
// see the page. Otherwise the answer carries nothing of the page, not even
// its name: a sign-in for a page's HTML, 401 for what tools read of it
// (documents, badges, the stream), 403 for an address outside its ranges.
func (s *Server) pageAccess(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sp := s.pageOf(c)
		if sp == nil {
			return next(c) // no such page: the handler's 404
		}
		c.Set(ctxPage, sp)
		if !sp.private() {
			return next(c)
		}
		// Handlers set the public pages' caching and cross-origin
		// headers; this comes last. Other sites' scripts may not read a
		// private page: for an address-bound one the visitor's address is
		// the credential, and any site they open could use it.
		res := c.Response()
		res.Before(func() {
			h := res.Header()
			h["Cache-Control"] = privateCache
			h["Cross-Origin-Resource-Policy"] = sameOrigin
			for _, k := range []string{"Cdn-Cache-Control", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
				h.Del(k)
			}
		})
		v, err := s.judge(c, sp)
		if err != nil {
			return err
		}
		switch {
		case v == admitted:
			return next(c)
		case v == outsideRanges && isPageHTML(c):
			// A person: told why (in the default page's branding,
			// since this one's is its own business).
			return s.errorPage(c, http.StatusForbidden, "error.not_shown_here", "error.networks_only")
		case v == outsideRanges:
			return echo.NewHTTPError(http.StatusForbidden, "this page is not shown to your address")
		case v == notViewer && isPageHTML(c):
			// The page's own sign-in, in place of what was asked for.
			return s.viewerSignInForm(c, sp, http.StatusUnauthorized, templates.ViewerSignInPage{Next: viewerNext(c, sp, c.Request().URL.RequestURI())})
		case v == signInUnfinished && isPageHTML(c):
			// Not to the sign-in form, which would send a valid session
			// straight back here: to the console, which asks for what
			// is missing.
			return c.Redirect(http.StatusSeeOther, "/console")
		case isPageHTML(c):
			return c.Redirect(http.StatusSeeOther, "/console/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in to see this page")
	}
}

// verdict is what judge found of a visitor to a private page.
type verdict int

const (
	admitted         verdict = iota
	notSignedIn              // a signed-in page, and no session
	signInUnfinished         // a session the console holds at the password change or the second-factor enrolment
	outsideRanges            // an address-bound page, and an address outside its ranges
	notViewer                // a page for viewers by email, and no viewer session for an address on its list (nor a console session)
)

// private reports whether the page is for some people only; the default
// page is public always.
func (sp *sitePage) private() bool { return sp.cfg != nil && sp.cfg.Private() }

// judge tells whether the request may see page sp: a console session of
// any role for a signed-in page, a viewer session (or a console one) for a
// page for viewers by email, the client's address (as --trust-proxy
// judges it, like every per-address rule) for an address-bound one.
func (s *Server) judge(c echo.Context, sp *sitePage) (verdict, error) {
	if !sp.private() {
		return admitted, nil
	}
	switch sp.cfg.Access {
	case store.AccessSignedIn:
		return s.judgeConsole(c)
	case store.AccessEmail:
		// A viewer session for this page, and its address still on the
		// page's list as it is now (in memory): one lookup, like a
		// console session's.
		if raw := s.viewerCookie(c); raw != "" {
			email, err := s.store.ViewerSession(c.Request().Context(), sp.cfg.ID, raw)
			if err != nil && !errors.Is(err, store.ErrNoSession) {
				return notViewer, fmt.Errorf("page access: %w", err)
			}
			if err == nil && sp.cfg.AdmitsEmail(email) {
				return admitted, nil
			}
		}
		// Console users see it as they see a page for signed-in people.
		if v, err := s.judgeConsole(c); v == admitted || err != nil {
			return v, err
		}
		return notViewer, nil
	case store.AccessIP:
		if addr, err := netip.ParseAddr(c.RealIP()); err == nil && sp.cfg.Admits(addr) {
			return admitted, nil
		}
		return outsideRanges, nil
	}
	return notSignedIn, nil // a kind this server does not know: closed
}

// judgeConsole is judge for a page for signed-in people: a console
// session of any role, and one the console does not hold back.
func (s *Server) judgeConsole(c echo.Context) (verdict, error) {
	ctx := c.Request().Context()
	sess, user, err := s.store.SessionUser(ctx, s.sessionFromCookie(c), s.sessionPolicy())
	if errors.Is(err, store.ErrNoSession) {
		return notSignedIn, nil
	}
	if err != nil {
		return notSignedIn, fmt.Errorf("page access: %w", err)
	}
	if !s.sessionStands(sess, user) {
		return notSignedIn, nil // the console ends it at its next request
	}
	// What requireSession holds a session at is not yet enough for
	// a page either.
	if user.MustChangePassword {
		return signInUnfinished, nil
	}
	must, err := s.store.MustEnrolFactor(ctx, user)
	if err != nil {
		return notSignedIn, fmt.Errorf("page access: %w", err)
	}
	if must {
		return signInUnfinished, nil
	}
	return admitted, nil
}

// isPageHTML reports whether the request is for one of a page's HTML pages,
// which a person opens (and can be sent to sign in from), rather than a
// document, badge or stream, which a tool reads.
func isPageHTML(c echo.Context) bool {
	m := c.Request().Method
	route := pageRoute(c)
	return (m == http.MethodGet || m == http.MethodHead) && route != "/events" && path.Ext(route) == ""
}

// admitsQuietly is judge for what only decorates an answer (an error
// page's branding): a failure to tell counts as no.
func (s *Server) admitsQuietly(c echo.Context, sp *sitePage) bool {
	v, err := s.judge(c, sp)
	return v == admitted && err == nil
}
