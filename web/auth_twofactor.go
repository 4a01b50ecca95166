package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Sign-in's second step and the user's own authenticator app. A right
// password for a user with a factor yields a pending sign-in, carried in
// the code form only; the session starts when the code is right.

// signInCodeFailed is the one message for every refused code step.
const signInCodeFailed = "That code did not work. Type the newest code from your app, or an unused recovery code."

func (s *Server) loginCodePage(c echo.Context, status int, token, next, msg string) error {
	p := templates.LoginCodePage{
		Site: s.site, CSRF: csrfToken(c), Token: token, Next: safeNext(next), Error: msg, CSS: s.consoleCSS, JS: s.passkeyJS, App: true,
	}
	// The ways the user can finish. A pending sign-in that has run out
	// gets the code form, whose answer says it has.
	u, err := s.store.PendingSignInUser(c.Request().Context(), token)
	switch {
	case err == nil:
		f, err := s.store.GetTwoFactor(c.Request().Context(), u)
		if err != nil {
			return err
		}
		p.App, p.Passkey = f.Enrolled, f.Passkeys > 0 && s.rp != nil
	case !errors.Is(err, store.ErrBadSecondFactor):
		return err
	}
	return s.render(c, status, templates.LoginCode(p))
}

// askForCode answers a right password for a user with a factor.
func (s *Server) askForCode(c echo.Context, user store.User, next string) error {
	token, err := s.store.BeginPendingSignIn(c.Request().Context(), user.ID)
	if err != nil {
		return err
	}
	return s.loginCodePage(c, http.StatusOK, token, next, "")
}

// consoleLoginCode checks the second step. It is counted against the same
// limits as a password, so a code cannot be guessed faster than one.
func (s *Server) consoleLoginCode(c echo.Context) error {
	ctx := c.Request().Context()
	token, code, next := c.FormValue("pending"), c.FormValue("code"), c.FormValue("next")
	addr := clientKey(c)
	email := ""
	if u, err := s.store.PendingSignInUser(ctx, token); err == nil {
		email = u.Email
	} else if !errors.Is(err, store.ErrBadSecondFactor) {
		return err
	}
	allowed, err := s.beginSignIn(ctx, email, addr)
	if err != nil {
		return err
	}
	if !allowed {
		s.log.Warn("sign-in code refused: too many failures", "ip", c.RealIP())
		return s.loginPage(c, http.StatusUnauthorized, email, next, signInFailed)
	}
	user, err := s.store.CompletePendingSignIn(ctx, token, code)
	if errors.Is(err, store.ErrBadSecondFactor) {
		s.log.Info("sign-in code refused", "ip", c.RealIP())
		if _, still := s.store.PendingSignInUser(ctx, token); still == nil {
			return s.loginCodePage(c, http.StatusUnauthorized, token, next, signInCodeFailed)
		}
		// Expired, used, forged, or tried too often: the password again.
		return s.loginPage(c, http.StatusUnauthorized, email, next, "The sign-in expired or was tried too often. Sign in again.")
	}
	if err != nil {
		return err
	}
	if err := s.signedIn(ctx, user.Email, addr); err != nil {
		s.log.Error("clear counted sign-in failures", "err", err)
	}
	return s.startSession(c, user, store.SignInPassword, next)
}

// mayUseWhileEnrolling is what a user whose role requires a second factor
// may reach before they have one.
func mayUseWhileEnrolling(c echo.Context) bool {
	return strings.HasPrefix(c.Path(), "/console/account/two-factor") || c.Path() == "/console/logout"
}

func (s *Server) twoFactorPage(c echo.Context, status int, view templates.TwoFactorPage) error {
	ctx := c.Request().Context()
	u := userOf(c)
	f, err := s.store.GetTwoFactor(ctx, u)
	if err != nil {
		return err
	}
	view.Console, view.State = s.consoleView(c, ""), f
	if f.Pending && view.RecoveryCodes == nil {
		e, ok, err := s.store.PendingTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		if ok {
			view.Secret = e.Secret
		}
	}
	return s.render(c, status, templates.TwoFactor(view))
}

func (s *Server) consoleTwoFactor(c echo.Context) error {
	return s.twoFactorPage(c, http.StatusOK, templates.TwoFactorPage{})
}

func (s *Server) consoleBeginTOTP(c echo.Context) error {
	if _, err := s.store.BeginTOTP(c.Request().Context(), userOf(c).ID); err != nil {
		return s.twoFactorRefused(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/console/account/two-factor")
}

func (s *Server) consoleConfirmTOTP(c echo.Context) error {
	codes, err := s.store.ConfirmTOTP(c.Request().Context(), userOf(c).ID, c.FormValue("code"))
	if err != nil {
		return s.twoFactorRefused(c, err)
	}
	// The codes are on this response only (no-store), never again.
	return s.twoFactorPage(c, http.StatusOK, templates.TwoFactorPage{RecoveryCodes: codes})
}

func (s *Server) consoleCancelTOTP(c echo.Context) error {
	if err := s.store.CancelTOTP(c.Request().Context(), userOf(c).ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/console/account/two-factor")
}

func (s *Server) consoleRemoveTOTP(c echo.Context) error {
	ctx := c.Request().Context()
	u := userOf(c)
	// A role that requires a factor keeps it: only an admin's reset takes
	// it away, and then its owner must enrol again at once.
	if f, err := s.store.GetTwoFactor(ctx, u); err != nil {
		return err
	} else if f.Required {
		return s.twoFactorRefused(c, &store.ConflictError{Message: "your role must sign in with a second factor; an admin can reset it if your phone is lost"})
	}
	if err := s.limitedProof(c, u, "code", func() error { return s.store.RemoveTOTP(ctx, u.ID, c.FormValue("code")) }); err != nil {
		return s.twoFactorRefused(c, err)
	}
	return done(c, "/console/account/two-factor", "factor-removed")
}

func (s *Server) twoFactorRefused(c echo.Context, err error) error {
	errs, err := formErrors(err, templates.TwoFactorLabels, "")
	if err != nil {
		return err
	}
	return s.twoFactorPage(c, http.StatusUnprocessableEntity, templates.TwoFactorPage{Errors: errs})
}

// consoleTOTPQR draws the begun enrolment's otpauth URI as a QR code, an
// SVG made here: no image comes from anywhere else.
func (s *Server) consoleTOTPQR(c echo.Context) error {
	u := userOf(c)
	e, ok, err := s.store.PendingTOTP(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no enrolment is under way")
	}
	svg, err := qrSVG(otpauthURI(s.site.Name, u.Email, e.Secret))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/svg+xml", svg)
}

// otpauthURI is the key-URI format authenticator apps read from a QR code.
func otpauthURI(issuer, account, secret string) string {
	q := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + q.Encode()
}

// qrSVG is text as a QR code: one path of dark modules on a white square
// with its quiet zone, which scanners read in either colour scheme.
func qrSVG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	bits := q.Bitmap() // with the quiet zone
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String()), nil
}

// consoleFactorRoles saves the roles that must sign in with a second factor.
func (s *Server) consoleFactorRoles(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	var roles []store.Role
	for _, r := range form["role"] {
		roles = append(roles, store.Role(r))
	}
	if err := s.store.SetFactorRequiredRoles(c.Request().Context(), roles); err != nil {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, ve.Message)
		}
		return err
	}
	return done(c, "/console/users", "factor-roles-saved")
}

// consoleResetFactors takes away another user's second factors (a lost
// phone or key); the store ends their sessions and emails them.
func (s *Server) consoleResetFactors(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.store.GetUser(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	had, err := s.store.ResetFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	if !had {
		return done(c, "/console/users/"+u.ID, "no-factors")
	}
	s.log.Info("second factors reset", "user", u.ID, "by", userOf(c).ID)
	return done(c, "/console/users/"+u.ID, "factors-reset")
}
