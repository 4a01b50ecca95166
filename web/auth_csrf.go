package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
)

// CSRF protection. Every console form carries a token that only pages
// served to this browser can know: an HMAC of a secret the browser holds in
// an HttpOnly cookie — its session id once signed in, before that a random
// pre-session value. A forged cross-site form has the cookie but cannot
// read the token, and the token changes at sign-in with the session.

const (
	csrfField      = "csrf_token"
	csrfHeader     = "X-CSRF-Token"
	preSessionName = "herald_presession"
)

// csrfTokenFor derives the form token from a seed.
func csrfTokenFor(seed string) string {
	if seed == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(seed))
	m.Write([]byte("herald csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken is the token forms on this request's page must carry.
func csrfToken(c echo.Context) string {
	seed, _ := c.Get(ctxCSRFSeed).(string)
	return csrfTokenFor(seed)
}

// preSession makes sure the browser holds a pre-session secret (for the
// sign-in form, which has no session yet) and uses it as the CSRF seed.
func (s *Server) preSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		seed := ""
		if ck, err := c.Cookie(preSessionName); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
			seed = ck.Value
		} else if c.Request().Method == http.MethodGet || c.Request().Method == http.MethodHead {
			b := make([]byte, 32)
			_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
			seed = base64.RawURLEncoding.EncodeToString(b)
			c.SetCookie(&http.Cookie{Name: preSessionName, Value: seed, Path: "/console", HttpOnly: true,
				Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
		}
		c.Set(ctxCSRFSeed, seed)
		return next(c)
	}
}

// checkCSRF refuses a state-changing request whose token is missing or not
// this browser's, before the handler can change anything.
func (s *Server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		got := c.Request().Header.Get(csrfHeader)
		if got == "" {
			got = c.FormValue(csrfField)
		}
		want := csrfToken(c)
		if want == "" || got == "" || !hmac.Equal([]byte(got), []byte(want)) {
			return &apiError{Status: http.StatusForbidden, Code: "csrf",
				Message: "This form has expired or did not come from this site. Go back, reload the page and try again."}
		}
		return next(c)
	}
}
