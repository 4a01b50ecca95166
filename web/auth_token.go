package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// requireToken admits requests carrying a valid API token and records the
// token as the actor of whatever they change.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, raw, ok := strings.Cut(c.Request().Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
			return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "send an API token as Authorization: Bearer <token>"}
		}
		tok, err := s.store.AuthenticateToken(c.Request().Context(), strings.TrimSpace(raw))
		if errors.Is(err, store.ErrBadToken) {
			return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the API token is invalid or revoked"}
		}
		if err != nil {
			return err
		}
		if err := s.store.RecordTokenUse(c.Request().Context(), tok); err != nil {
			s.log.Warn("could not record API token use", "token", tok.ID, "err", err)
		}
		// The audit log names the token and, when it has one, its owner.
		name := tok.Name
		if tok.UserEmail != "" {
			name += " (" + tok.UserEmail + ")"
		}
		ctx := store.WithActor(c.Request().Context(), store.Actor{Type: "token", ID: tok.ID, Name: name})
		c.SetRequest(c.Request().WithContext(ctx))
		// Tokens act with their owner's role or a narrower one; authorize
		// checks it against the route's rule.
		c.Set(ctxRole, tok.EffectiveRole)
		c.Set(ctxAPITokenID, tok.ID)
		return next(c)
	}
}
