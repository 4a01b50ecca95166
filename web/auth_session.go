package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// Session cookie names. Over https the __Host- prefix makes the browser
// refuse the cookie unless it is Secure, host-only and for path /, so a
// sibling subdomain cannot plant one.
func (s *Server) sessionCookieName() string {
	if s.secureCookies {
		return "__Host-herald_session"
	}
	return "herald_session"
}

func (s *Server) sessionPolicy() store.SessionPolicy {
	return store.SessionPolicy{Idle: s.cfg.SessionIdle, Max: s.cfg.SessionMax}
}

func (s *Server) setSessionCookie(c echo.Context, raw string) {
	c.SetCookie(&http.Cookie{
		Name:     s.sessionCookieName(),
		Value:    raw,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionMax / time.Second),
		HttpOnly: true,
		Secure:   s.secureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: s.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) sessionFromCookie(c echo.Context) string {
	ck, err := c.Cookie(s.sessionCookieName())
	if err != nil {
		return ""
	}
	return ck.Value
}

// requireSession admits requests from a signed-in, active user and records
// them as the actor of what they change. Others are sent to sign in, and
// come back to the page they asked for.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := s.sessionFromCookie(c)
		sess, user, err := s.store.SessionUser(c.Request().Context(), raw, s.sessionPolicy())
		if errors.Is(err, store.ErrNoSession) {
			if raw != "" {
				s.clearSessionCookie(c)
			}
			target := "/console/login"
			if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/console" {
				target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			}
			return c.Redirect(http.StatusSeeOther, target)
		}
		if err != nil {
			return err
		}
		if !s.sessionStands(sess, user) {
			if err := s.store.EndSession(c.Request().Context(), raw); err != nil {
				return err
			}
			s.clearSessionCookie(c)
			s.log.Info("session ended: single sign-on is required", "user", user.ID, "method", sess.Method)
			return c.Redirect(http.StatusSeeOther, "/console/login")
		}
		c.Set(ctxUser, user)
		c.Set(ctxRole, user.Role)
		c.Set(ctxSession, raw)
		c.Set(ctxSessionRow, sess)
		c.Set(ctxCSRFSeed, raw)
		ctx := store.WithActor(c.Request().Context(), user.Actor())
		c.SetRequest(c.Request().WithContext(ctx))
		// A one-time password must be replaced before anything else.
		if user.MustChangePassword && !mayUseWithOneTimePassword(c) {
			return c.Redirect(http.StatusSeeOther, "/console/account?msg=change-password")
		}
		// A role that requires a second factor: nothing but enrolling
		// until its user has one.
		if !user.MustChangePassword && !mayUseWhileEnrolling(c) {
			if must, err := s.store.MustEnrolFactor(ctx, user); err != nil {
				return err
			} else if must {
				return c.Redirect(http.StatusSeeOther, "/console/account/two-factor")
			}
		}
		return next(c)
	}
}

// sessionStands reports whether a valid session still signs its user in
// under this server's rules: single sign-on made required after it began
// without it ends it, but the break-glass admin's. The console and the
// private pages both ask.
func (s *Server) sessionStands(sess store.Session, user store.User) bool {
	return sess.Method == store.SignInSSO || s.cfg.OIDC.mayUsePassword(user.Email)
}

func mayUseWithOneTimePassword(c echo.Context) bool {
	switch c.Path() {
	case "/console/account", "/console/account/password", "/console/logout":
		return true
	}
	return false
}

func userOf(c echo.Context) store.User {
	u, _ := c.Get(ctxUser).(store.User)
	return u
}

// safeNext keeps a post-sign-in redirect on this site — the console, or a
// private page the visitor was sent from to sign in — so the login form
// cannot be used to bounce people to another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/console"
	}
	return next
}
