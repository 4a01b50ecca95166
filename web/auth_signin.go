package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// signInFailed is the one message for every failed sign-in — unknown email,
// wrong password, disabled account, too many attempts — so the form tells
// a guesser nothing about which accounts exist or how close they are.
const signInFailed = "Sign-in failed. Check your email and password and try again. After several failed attempts, sign-in is paused for 15 minutes."

func (s *Server) loginPage(c echo.Context, status int, email, next, msg string) error {
	p := templates.LoginPage{Site: s.site, CSRF: csrfToken(c), Email: email, Next: safeNext(next), Error: msg, CSS: s.consoleCSS, JS: s.passkeyJS, Passkeys: s.rp != nil}
	if s.sso != nil {
		p.SSO = templates.SSOButton{Name: s.sso.cfg.Name, Href: "/console/login/sso", Required: s.sso.cfg.RequireSSO}
		if p.Next != "/console" {
			p.SSO.Href += "?next=" + url.QueryEscape(p.Next)
		}
	}
	return s.render(c, status, templates.Login(p))
}

func (s *Server) consoleLoginForm(c echo.Context) error {
	// Already signed in: straight to the console.
	if _, _, err := s.store.SessionUser(c.Request().Context(), s.sessionFromCookie(c), s.sessionPolicy()); err == nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return s.loginPage(c, http.StatusOK, "", c.QueryParam("next"), "")
}

func (s *Server) consoleLogin(c echo.Context) error {
	ctx := c.Request().Context()
	email, password, next := c.FormValue("email"), c.FormValue("password"), c.FormValue("next")
	ip := c.RealIP()
	allowed, err := s.beginSignIn(ctx, email, clientKey(c))
	if err != nil {
		return err
	}
	if !allowed {
		s.log.Warn("sign-in refused: too many failures", "ip", ip)
		s.store.RefuseSignIn(ctx, password) // as long as a check: see signInLimits
		return s.loginPage(c, http.StatusUnauthorized, email, next, signInFailed)
	}
	user, err := s.store.Authenticate(ctx, email, password)
	if errors.Is(err, store.ErrBadCredentials) {
		// Already counted by begin.
		s.log.Info("sign-in failed", "ip", ip)
		return s.loginPage(c, http.StatusUnauthorized, email, next, signInFailed)
	}
	if err != nil {
		return err
	}
	// Checked once the password is right, so that the answer tells a
	// guesser nothing about which account is the break-glass one.
	if !s.cfg.OIDC.mayUsePassword(user.Email) {
		s.log.Info("password sign-in refused: single sign-on required", "user", user.ID)
		return s.loginPage(c, http.StatusForbidden, email, next, "This console signs in with "+s.cfg.OIDC.Name+" only. Use the button below.")
	}
	// With a second factor the password is half the sign-in: no session
	// yet, and the failure beginSignIn counted stands until the code is
	// right too.
	if has, err := s.store.HasFactor(ctx, user.ID); err != nil {
		return err
	} else if has {
		return s.askForCode(c, user, next)
	}
	if err := s.signedIn(ctx, email, clientKey(c)); err != nil {
		s.log.Error("clear counted sign-in failures", "err", err) // the sign-in itself stands
	}
	return s.startSession(c, user, store.SignInPassword, next)
}

// startSession signs user in to this browser once every step is right.
func (s *Server) startSession(c echo.Context, user store.User, method, next string) error {
	to, err := s.beginSession(c, user, method, next)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// beginSession is startSession for a script's request: the session cookie
// set, and where the browser goes next.
func (s *Server) beginSession(c echo.Context, user store.User, method, next string) (string, error) {
	ctx := c.Request().Context()
	if _, err := s.store.PruneSessions(ctx, s.sessionPolicy()); err != nil {
		s.log.Error("prune sessions", "err", err)
	}
	// A new session id at every sign-in, and the one the browser held
	// before (if any) ended: an id planted in the browser beforehand never
	// becomes a signed-in session.
	raw, err := s.store.CreateSession(ctx, store.SessionInput{
		UserID: user.ID, IP: c.RealIP(), UserAgent: c.Request().UserAgent(), Method: method, Replace: s.sessionFromCookie(c),
	})
	if err != nil {
		return "", err
	}
	s.setSessionCookie(c, raw)
	s.log.Info("signed in", "user", user.ID)
	if user.MustChangePassword {
		return "/console/account?msg=change-password", nil
	}
	if must, err := s.store.MustEnrolFactor(ctx, user); err != nil {
		return "", err
	} else if must {
		return "/console/account/two-factor", nil
	}
	return safeNext(next), nil
}

func (s *Server) consoleLogout(c echo.Context) error {
	if raw, _ := c.Get(ctxSession).(string); raw != "" {
		if err := s.store.EndSession(c.Request().Context(), raw); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/console/login")
}

func (s *Server) accountPage(c echo.Context, status int, errs templates.FormErrors) error {
	u := userOf(c)
	sessions, err := s.store.ListSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	f, err := s.store.GetTwoFactor(c.Request().Context(), u)
	if err != nil {
		return err
	}
	keys, err := s.store.ListPasskeys(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	raw, _ := c.Get(ctxSession).(string)
	sum := sha256.Sum256([]byte(raw))
	return s.render(c, status, templates.Account(templates.AccountPage{
		Console: s.consoleView(c, ""), Sessions: sessions, Current: hex.EncodeToString(sum[:]),
		Errors: errs, Must: u.MustChangePassword, Factor: f, Passkeys: keys, PasskeysOff: s.passkeysOff(), SSOName: s.cfg.OIDC.Name,
	}))
}

func (s *Server) consoleAccount(c echo.Context) error {
	return s.accountPage(c, http.StatusOK, nil)
}

func (s *Server) consoleChangePassword(c echo.Context) error {
	u := userOf(c)
	raw, _ := c.Get(ctxSession).(string)
	err := s.limitedProof(c, u, "current_password", func() error {
		return s.store.ChangePassword(c.Request().Context(), u.ID, c.FormValue("current_password"), c.FormValue("new_password"), raw)
	})
	if err != nil {
		errs, err := formErrors(err, templates.AccountLabels, "")
		if err != nil {
			return err
		}
		return s.accountPage(c, http.StatusUnprocessableEntity, errs)
	}
	return done(c, "/console", "password-changed")
}

// consoleAccountNotifications saves which team emails the user gets.
func (s *Server) consoleAccountNotifications(c echo.Context) error {
	drafts, overdue := c.FormValue("notify_drafts") == "on", c.FormValue("notify_overdue") == "on"
	if _, err := s.store.UpdateUser(c.Request().Context(), userOf(c).ID, store.UserPatch{NotifyDrafts: &drafts, NotifyOverdue: &overdue}); err != nil {
		return err
	}
	return done(c, "/console/account", "notifications-saved")
}

func (s *Server) consoleSignOutEverywhere(c echo.Context) error {
	if _, err := s.store.EndUserSessions(c.Request().Context(), userOf(c).ID); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/console/login")
}
