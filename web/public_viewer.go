package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// Viewers by email (issue 13): the way into a page whose access is
// store.AccessEmail. A visitor without access gets the sign-in form in
// place of the page (pageAccess); the form asks for an address and,
// whether or not the page admits it, answers the same; the store queues a
// link only for an address the page admits. The link's GET shows a button
// and only its POST takes it, since mail scanners open links. Taking it
// starts a viewer session for that page, in a cookie scoped to it; judge
// checks it, and the address against the page's list, on every request.
// These routes are outside pageAccess: they are how one gets in.

// viewerCookieName is the viewer session's cookie. It cannot carry the
// __Host- prefix: on the default host it is scoped to the page's path.
const viewerCookieName = "herald_viewer"

// Sign-in links asked for, per client and per address, in a window: a
// person needs one or two; more is someone filling an inbox or probing.
const (
	viewerLinkWindow       = 15 * time.Minute
	viewerLinkClientLimit  = 10
	viewerLinkAddressLimit = 3
)

func (s *Server) viewerRoutes(g *echo.Group) {
	g.GET("/viewer/sign-in", s.handleViewerSignInForm)
	g.POST("/viewer/sign-in", s.handleViewerSignIn)
	g.GET(strings.TrimSuffix(store.ViewerLinkPath, "/")+"/:token", s.handleViewerLinkPage)
	g.POST(strings.TrimSuffix(store.ViewerLinkPath, "/")+"/:token", s.handleViewerLink)
	g.GET("/viewer/sign-out", s.handleViewerSignOutPage)
	g.POST("/viewer/sign-out", s.handleViewerSignOut)
}

// viewerPageOf is the page for viewers by email a viewer route is for, or
// nil: the route is a 404 anywhere else.
func (s *Server) viewerPageOf(c echo.Context) *sitePage {
	sp := s.pageOf(c)
	if sp == nil || sp.cfg == nil || sp.cfg.Access != store.AccessEmail {
		return nil
	}
	return sp
}

func (s *Server) noViewerPage(c echo.Context) error {
	return s.notFoundPage(c, "error.page_not_found", "error.no_viewer")
}

// viewerRoot is where the page's URLs start on this request: its /p/{slug}
// root, or "" at its own host.
func viewerRoot(c echo.Context, sp *sitePage) string {
	if c.Param("slug") != "" {
		return sp.root
	}
	return ""
}

// viewerNext keeps where a viewer goes after signing in on the page: a
// path of this site (safeNext), of the page's own (not the console, not
// another page, not the sign-in itself); otherwise the page's front.
func viewerNext(c echo.Context, sp *sitePage, next string) string {
	root := viewerRoot(c, sp)
	n := safeNext(next)
	own := strings.HasPrefix(n, root+"/") && !strings.HasPrefix(n, root+"/viewer/")
	if root == "" {
		own = own && !strings.HasPrefix(n, "/p/") && !strings.HasPrefix(n, "/console")
	}
	if own {
		return n
	}
	return root + "/"
}

// onOwnHost reports whether the request came at the page's own host name.
func onOwnHost(c echo.Context, sp *sitePage) bool {
	return sp.cfg.Host != "" && hostName(c) == sp.cfg.Host
}

// viewerCookiePath scopes the viewer cookie to the page: its own host
// whole, or its path on a shared one.
func viewerCookiePath(c echo.Context, sp *sitePage) string {
	if onOwnHost(c, sp) {
		return "/"
	}
	return sp.root
}

// viewerLinkBase is where a sign-in link asked for on this request leads
// back to: the same host and root, so that the cookie it sets is the one
// this visitor's next requests carry.
func (s *Server) viewerLinkBase(c echo.Context, sp *sitePage) string {
	origin := s.cfg.BaseURL
	if onOwnHost(c, sp) {
		if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Scheme != "" {
			origin = u.Scheme + "://" + sp.cfg.Host
		}
	}
	return origin + viewerRoot(c, sp)
}

func (s *Server) viewerCookie(c echo.Context) string {
	ck, err := c.Cookie(viewerCookieName)
	if err != nil {
		return ""
	}
	return ck.Value
}

func (s *Server) setViewerCookie(c echo.Context, sp *sitePage, raw string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: viewerCookieName, Value: raw, Path: viewerCookiePath(c, sp), MaxAge: maxAge,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
}

// viewerSignInForm answers a visitor to the page without access, in place
// of what they asked for (pageAccess), or at the form's own address.
func (s *Server) viewerSignInForm(c echo.Context, sp *sitePage, status int, p templates.ViewerSignInPage) error {
	p.Site = s.viewerSite(c, sp)
	p.Action = viewerRoot(c, sp) + "/viewer/sign-in"
	return s.render(c, status, templates.ViewerSignIn(p))
}

// viewerSite is the default page's site, which the viewer pages wear, with
// page sp's languages; and it sets the request to render in the one the
// visitor reads, under the page's root on this request, where the
// language switcher leads (to the sign-in again, in that language).
func (s *Server) viewerSite(c echo.Context, sp *sitePage) templates.Site {
	site := s.site
	if snap := sp.snap.Load(); snap != nil {
		site.Languages = snap.site.Languages
	}
	c.SetRequest(c.Request().WithContext(s.viewerContext(c, sp)))
	return site
}

// viewerContext is the request's context in the visitor's language, under
// the page's root on this request.
func (s *Server) viewerContext(c echo.Context, sp *sitePage) context.Context {
	return i18n.With(templates.WithRoot(c.Request().Context(), viewerRoot(c, sp)), s.formLanguage(c, sp))
}

func (s *Server) handleViewerSignInForm(c echo.Context) error {
	sp := s.viewerPageOf(c)
	if sp == nil {
		return s.noViewerPage(c)
	}
	return s.viewerSignInForm(c, sp, http.StatusOK, templates.ViewerSignInPage{Next: viewerNext(c, sp, c.QueryParam("next"))})
}

// handleViewerSignIn takes the form. A well-formed address gets the same
// answer whether or not the page admits it, and whether or not a link was
// sent; only a malformed one, or too many requests, is told so.
func (s *Server) handleViewerSignIn(c echo.Context) error {
	sp := s.viewerPageOf(c)
	if sp == nil {
		return s.noViewerPage(c)
	}
	ctx := s.viewerContext(c, sp)
	email, next := strings.TrimSpace(c.FormValue("email")), viewerNext(c, sp, c.FormValue("next"))
	form := templates.ViewerSignInPage{Email: email, Next: next}
	addr, err := store.CheckEmail(email)
	if err != nil {
		// Malformed addresses count against the client too, so that the
		// form is no free oracle for the address rule either.
		if ok, lerr := s.store.Attempt(ctx, store.Limit{Key: "viewer-link-client:" + clientKey(c), Max: viewerLinkClientLimit, Window: viewerLinkWindow}); lerr != nil || !ok {
			return s.viewerLimited(c, sp, form, lerr)
		}
		form.Error = i18n.T(ctx, "subscribe.error_email")
		return s.viewerSignInForm(c, sp, http.StatusUnprocessableEntity, form)
	}
	// Counted whether or not the page admits the address, so that the
	// limit says nothing of the list either.
	ok, err := s.store.Attempt(ctx,
		store.Limit{Key: "viewer-link-client:" + clientKey(c), Max: viewerLinkClientLimit, Window: viewerLinkWindow},
		store.Limit{Key: "viewer-link-address:" + addr, Max: viewerLinkAddressLimit, Window: viewerLinkWindow})
	if err != nil || !ok {
		return s.viewerLimited(c, sp, form, err)
	}
	sent, err := s.store.RequestViewerLink(ctx, store.ViewerLinkRequest{PageID: sp.cfg.ID, Email: addr, LinkBase: s.viewerLinkBase(c, sp), Next: next, Language: i18n.Lang(ctx)})
	if err != nil {
		return err
	}
	slog.Debug("viewer sign-in link asked for", "page", sp.cfg.ID, "sent", sent)
	form.Sent = true
	return s.viewerSignInForm(c, sp, http.StatusOK, form)
}

func (s *Server) viewerLimited(c echo.Context, sp *sitePage, form templates.ViewerSignInPage, err error) error {
	if err != nil {
		return err
	}
	c.Response().Header().Set("Retry-After", "900")
	form.Error = i18n.T(s.viewerContext(c, sp), "viewer.too_many")
	return s.viewerSignInForm(c, sp, http.StatusTooManyRequests, form)
}

// viewerLinkPage renders a page reached from a sign-in link.
func (s *Server) viewerLinkPage(c echo.Context, sp *sitePage, status int, p templates.ViewerLinkPage) error {
	p.Site = s.viewerSite(c, sp)
	p.Again = viewerRoot(c, sp) + "/viewer/sign-in"
	// The token is in the URL: keep it out of Referer headers.
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return s.render(c, status, templates.ViewerLink(p))
}

// badViewerLink renders why a link does not work; ok false for any other
// error.
func (s *Server) badViewerLink(c echo.Context, sp *sitePage, err error) (bool, error) {
	ctx := s.viewerContext(c, sp)
	p := templates.ViewerLinkPage{Step: "bad", Message: i18n.T(ctx, "viewer.bad_text")}
	status := http.StatusNotFound
	switch {
	case errors.Is(err, store.ErrViewerLinkUsed):
		p.Step, p.Message, status = "used", i18n.T(ctx, "viewer.used_text"), http.StatusGone
	case errors.Is(err, store.ErrViewerLinkExpired):
		p.Step, p.Message, status = "expired", i18n.T(ctx, "viewer.expired_text"), http.StatusGone
	case !errors.Is(err, store.ErrViewerLinkBad):
		return false, nil
	}
	return true, s.viewerLinkPage(c, sp, status, p)
}

func (s *Server) handleViewerLinkPage(c echo.Context) error {
	sp := s.viewerPageOf(c)
	if sp == nil {
		return s.noViewerPage(c)
	}
	email, err := s.store.CheckViewerLink(c.Request().Context(), sp.cfg.ID, c.Param("token"))
	if bad, perr := s.badViewerLink(c, sp, err); bad {
		return perr
	}
	if err != nil {
		return err
	}
	return s.viewerLinkPage(c, sp, http.StatusOK, templates.ViewerLinkPage{Step: "confirm", Email: email, Action: c.Request().URL.RequestURI()})
}

func (s *Server) handleViewerLink(c echo.Context) error {
	sp := s.viewerPageOf(c)
	if sp == nil {
		return s.noViewerPage(c)
	}
	raw, _, err := s.store.TakeViewerLink(c.Request().Context(), sp.cfg.ID, c.Param("token"))
	if bad, perr := s.badViewerLink(c, sp, err); bad {
		return perr
	}
	if err != nil {
		return err
	}
	s.setViewerCookie(c, sp, raw, int(store.ViewerSessionTTL/time.Second))
	return c.Redirect(http.StatusSeeOther, viewerNext(c, sp, c.QueryParam("next")))
}

func (s *Server) handleViewerSignOutPage(c echo.Context) error {
	sp := s.viewerPageOf(c)
	if sp == nil {
		return s.noViewerPage(c)
	}
	return s.viewerLinkPage(c, sp, http.StatusOK, templates.ViewerLinkPage{Step: "sign-out", Action: viewerRoot(c, sp) + "/viewer/sign-out"})
}

// handleViewerSignOut ends the viewer's session. A forged cross-site form
// could at worst sign a viewer out; the Lax cookie is not even sent with
// it.
func (s *Server) handleViewerSignOut(c echo.Context) error {
	sp := s.viewerPageOf(c)
	if sp == nil {
		return s.noViewerPage(c)
	}
	if raw := s.viewerCookie(c); raw != "" {
		if err := s.store.EndViewerSession(c.Request().Context(), raw); err != nil {
			return err
		}
	}
	s.setViewerCookie(c, sp, "", -1)
	return s.viewerLinkPage(c, sp, http.StatusOK, templates.ViewerLinkPage{Step: "signed-out"})
}
