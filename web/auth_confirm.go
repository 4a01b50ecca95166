package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Confirming it is you before a sensitive action (GitHub's "sudo mode"):
// the routes that could hand a stolen session the console for good —
// tokens, users' roles and passwords, second factors, webhooks — ask
// again for the second factor (or, without one, the password) when the
// session's last proof is older than store.ConfirmWindow. The page that
// asks carries the form that was sent, and sends it on once the proof is
// right: one step for the person, no action lost.

// confirmProofField is the proof, posted with the original form's fields
// to the original action.
const confirmProofField = "confirm_proof"

// confirm guards a sensitive route; what names the action for the page
// ("create an API token").
func (s *Server) confirm(what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess, _ := c.Get(ctxSessionRow).(store.Session)
			u := userOf(c)
			if s.store.Now().Sub(sess.ConfirmedAt) <= store.ConfirmWindow {
				return next(c)
			}
			f, err := s.store.GetTwoFactor(c.Request().Context(), u)
			if err != nil {
				return err
			}
			// The second factor the user has; the password only for those
			// with none (a stolen session with a phished password must
			// not pass where a passkey is kept).
			p := templates.ConfirmPage{Console: s.consoleView(c, ""), What: what, Action: c.Request().URL.Path,
				App: f.Enrolled, Passkey: f.Passkeys > 0 && s.rp != nil}
			p.Password = !p.App && !p.Passkey && u.LocalPassword
			if !p.App && !p.Passkey && !p.Password {
				if s.sso == nil || !u.SSO {
					return next(c) // nothing to ask with (a user of a provider since removed)
				}
				// Single sign-on alone: the provider is asked to sign
				// them in again, and sends them back to the form's page.
				p.SSOName, p.SSOHref = s.sso.cfg.Name, "/console/confirm/sso?back="+url.QueryEscape(formPage(c))
			}
			if err := c.Request().ParseForm(); err != nil {
				return err
			}
			for name, values := range c.Request().PostForm {
				if name == csrfField || name == confirmProofField {
					continue
				}
				for _, v := range values {
					p.Fields = append(p.Fields, templates.FormField{Name: name, Value: v})
				}
			}
			if p.SSOName != "" {
				p.Fields = nil // sent again from its page once confirmed
				return s.render(c, http.StatusForbidden, templates.Confirm(p))
			}
			proof, sent := c.Request().PostForm[confirmProofField]
			if !sent || !(p.App || p.Password) { // a passkey confirms through its own steps
				return s.render(c, http.StatusForbidden, templates.Confirm(p))
			}
			raw, _ := c.Get(ctxSession).(string)
			err = s.limitedProof(c, u, confirmProofField, func() error { return s.store.ConfirmSession(c.Request().Context(), raw, u.ID, proof[0]) })
			var ve *store.ValidationError
			switch {
			case errors.As(err, &ve):
				p.Error = "Confirm it is you: " + ve.Message + "."
				return s.render(c, http.StatusForbidden, templates.Confirm(p))
			case errors.Is(err, store.ErrNoSession):
				return c.Redirect(http.StatusSeeOther, "/console/login") // signed out meanwhile
			case err != nil:
				return err
			}
			return next(c)
		}
	}
}

// consoleConfirmPasskeyBegin starts confirming with one of the user's own
// passkeys.
func (s *Server) consoleConfirmPasskeyBegin(c echo.Context) error {
	if refused, err := s.passkeyElsewhere(c); refused {
		return err
	}
	pu, err := s.passkeyUser(c, userOf(c))
	if err != nil {
		return err
	}
	if len(pu.keys) == 0 {
		return passkeyError(c, http.StatusConflict, "", "You have no passkey.")
	}
	options, session, err := s.rp.wa.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return err
	}
	return s.beginCeremony(c, store.CeremonyConfirm, pu.u.ID, session, options)
}

// consoleConfirmPasskeyFinish checks the passkey and marks the session
// confirmed; the page then sends the original form on.
func (s *Server) consoleConfirmPasskeyFinish(c echo.Context) error {
	if refused, err := s.passkeyElsewhere(c); refused {
		return err
	}
	ctx := c.Request().Context()
	u := userOf(c)
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return passkeyError(c, http.StatusBadRequest, "", passkeyRefused)
	}
	cer, session, err := s.takeCeremony(c, store.CeremonyConfirm)
	if errors.Is(err, store.ErrPasskeyRefused) {
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	if err != nil {
		return err
	}
	if cer.UserID != u.ID {
		s.refusePasskey(c, u.ID, store.ProofConfirm, "ceremony begun by another user")
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	pu, err := s.passkeyUser(c, u)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err == nil {
		_, err = s.rp.wa.ValidateLogin(pu, session, parsed)
	}
	if err != nil {
		s.refusePasskey(c, u.ID, store.ProofConfirm, refusedReason(err))
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	raw, _ := c.Get(ctxSession).(string)
	err = s.store.ConfirmSessionPasskey(ctx, raw, u.ID, store.PasskeyUse{ID: parsed.RawID, SignCount: parsed.Response.AuthenticatorData.Counter})
	if errors.Is(err, store.ErrPasskeyRefused) {
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"resubmit": "confirm-continue"})
}

// formPage is the console page a form was sent from (its Referer, when it
// is one of ours), to come back to after confirming through the provider.
func formPage(c echo.Context) string {
	ref, err := url.Parse(c.Request().Referer())
	if err != nil || ref.Host != c.Request().Host {
		return "/console"
	}
	return safeNext(ref.RequestURI())
}
