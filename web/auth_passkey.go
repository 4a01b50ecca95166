package web

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Passkeys (WebAuthn, through go-webauthn). Every ceremony is two JSON
// requests from static/console.js around navigator.credentials: begin
// (the server's challenge, recorded as a single-use ceremony bound to this
// browser by a cookie) and finish (the authenticator's answer, checked by
// the library against the challenge, the relying party id and the origin
// of --base-url; the store keeps the counter rule). Passkeys need
// JavaScript; everything else in the console works without it.

// passkeyRefused is the one message for every refused passkey step, as
// signInFailed is for passwords.
const passkeyRefused = "That passkey was not accepted. Try again, or sign in with your password."

// passkeysOff is why a console at an IP address has no passkeys.
const passkeysOff = "Passkeys need Herald at a domain name: --base-url names an IP address."

// passkeysOff is passkeysOff when this console has no passkeys, else "".
func (s *Server) passkeysOff() string {
	if s.rp == nil {
		return passkeysOff
	}
	return ""
}

// relyingParty is the WebAuthn relying party --base-url names: its host is
// the rp id, its scheme and host the only origin a ceremony may come from.
type relyingParty struct {
	wa     *webauthn.WebAuthn
	host   string // as the Host header carries it
	origin string
}

// newRelyingParty is nil, with no error, when --base-url names its host by
// an IP address: WebAuthn binds a passkey to a domain name, so such a
// console has no passkeys (and says so).
func newRelyingParty(baseURL, name string) (*relyingParty, error) {
	if baseURL == "" {
		return nil, nil // no address to bind passkeys to (tests of other things)
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("passkeys: base URL %q has no host", baseURL)
	}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return nil, nil
	}
	origin := u.Scheme + "://" + u.Host
	// The browser's prompt lasts as long as the ceremony is kept; the
	// store, not the library, enforces it (TakeCeremony), by its clock.
	prompt := webauthn.TimeoutConfig{Timeout: store.WebAuthnCeremonyTTL, TimeoutUVD: store.WebAuthnCeremonyTTL}
	wa, err := webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: name, RPOrigins: []string{origin},
		Timeouts: webauthn.TimeoutsConfig{Login: prompt, Registration: prompt}})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &relyingParty{wa: wa, host: u.Host, origin: origin}, nil
}

// passkeyUser is a Herald user as the library sees one. The user handle is
// the user's id: opaque, stable, never the email.
type passkeyUser struct {
	u    store.User
	keys []store.Passkey
}

func (p passkeyUser) WebAuthnID() []byte          { return []byte(p.u.ID) }
func (p passkeyUser) WebAuthnName() string        { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string { return p.u.DisplayName() }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(p.keys))
	for _, k := range p.keys {
		var transports []protocol.AuthenticatorTransport
		for _, t := range k.Transports {
			transports = append(transports, protocol.AuthenticatorTransport(t))
		}
		out = append(out, webauthn.Credential{ID: k.ID, PublicKey: k.PublicKey, AttestationType: k.AttestationType, Transport: transports,
			Flags:         webauthn.NewCredentialFlags(protocol.AuthenticatorFlags(k.Flags)),
			Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}})
	}
	return out
}

func (p passkeyUser) descriptors() []protocol.CredentialDescriptor {
	var out []protocol.CredentialDescriptor
	for _, c := range p.WebAuthnCredentials() {
		out = append(out, c.Descriptor())
	}
	return out
}

func (s *Server) passkeyUser(c echo.Context, u store.User) (passkeyUser, error) {
	keys, err := s.store.ListPasskeys(c.Request().Context(), u.ID)
	return passkeyUser{u: u, keys: keys}, err
}

// passkeyError answers a JSON step of a ceremony.
func passkeyError(c echo.Context, status int, field, msg string) error {
	return c.JSON(status, map[string]any{"error": map[string]string{"message": msg, "field": field}})
}

// passkeyElsewhere refuses a ceremony, writing the answer, on a console
// without passkeys or reached by another name than --base-url: the
// browser would bind the passkey to that name, and it would work nowhere
// else.
func (s *Server) passkeyElsewhere(c echo.Context) (bool, error) {
	switch {
	case s.rp == nil:
		return true, passkeyError(c, http.StatusConflict, "", passkeysOff)
	case c.Request().Host != s.rp.host:
		return true, passkeyError(c, http.StatusConflict, "", "Passkeys work only at "+s.rp.origin+", the address this console is set up for (--base-url).")
	}
	return false, nil
}

// ceremonyCookieName binds a ceremony to the browser that began it.
func (s *Server) ceremonyCookieName() string {
	if s.secureCookies {
		return "__Host-herald_webauthn"
	}
	return "herald_webauthn"
}

func (s *Server) beginCeremony(c echo.Context, kind, userID string, session *webauthn.SessionData, options any) error {
	if ok, err := s.beginAllowed(c, "passkey"); err != nil {
		return err
	} else if !ok {
		s.log.Warn("passkey ceremony refused: too many begun", "ip", c.RealIP())
		return passkeyError(c, http.StatusTooManyRequests, "", "Too many passkey steps from your address. Wait a few minutes and try again.")
	}
	session.Expires = session.Expires.UTC()
	data, err := json.Marshal(session)
	if err != nil {
		return fmt.Errorf("passkey session: %w", err)
	}
	browser := rand.Text()
	if err := s.store.BeginCeremony(c.Request().Context(), browser, store.Ceremony{Kind: kind, UserID: userID, SessionData: data}); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: s.ceremonyCookieName(), Value: browser, Path: "/", MaxAge: int(store.WebAuthnCeremonyTTL.Seconds()),
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteStrictMode})
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, options)
}

// takeCeremony ends this browser's ceremony of kind, returning its session
// data; refused (audited by the store) when there is none to take.
func (s *Server) takeCeremony(c echo.Context, kind string) (store.Ceremony, webauthn.SessionData, error) {
	browser := ""
	if ck, err := c.Cookie(s.ceremonyCookieName()); err == nil {
		browser = ck.Value
	}
	c.SetCookie(&http.Cookie{Name: s.ceremonyCookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteStrictMode})
	cer, err := s.store.TakeCeremony(c.Request().Context(), browser, kind)
	if err != nil {
		return store.Ceremony{}, webauthn.SessionData{}, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(cer.SessionData, &session); err != nil {
		return store.Ceremony{}, webauthn.SessionData{}, fmt.Errorf("passkey session: %w", err)
	}
	// The store's clock, not the library's, decides what is too old.
	session.Expires = time.Time{}
	return cer, session, nil
}

// refusePasskey audits a refused passkey step; the refusal stands even
// when the audit cannot be written, which is logged.
func (s *Server) refusePasskey(c echo.Context, userID, purpose, reason string) {
	if err := s.store.RefusePasskey(c.Request().Context(), userID, purpose, reason); err != nil {
		s.log.Error("audit a refused passkey", "user", userID, "reason", reason, "err", err)
	}
}

// readBody is a finish step's JSON, limited as the route's body limit is.
func readBody(c echo.Context) ([]byte, error) {
	return io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
}

// refusedReason turns the library's refusal into the audit's words.
func refusedReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return err.Error()
}

// consolePasskeyBegin starts adding a passkey. It asks for the proof that
// it is the user and not a stolen session: a current authenticator code
// when they have an app, else their password.
func (s *Server) consolePasskeyBegin(c echo.Context) error {
	if refused, err := s.passkeyElsewhere(c); refused {
		return err
	}
	ctx := c.Request().Context()
	u := userOf(c)
	if err := s.limitedProof(c, u, "proof", func() error { return s.store.CheckProof(ctx, u.ID, c.FormValue("proof"), store.ProofAddPasskey) }); err != nil {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return passkeyError(c, http.StatusUnprocessableEntity, ve.Field, "Confirm it is you: "+ve.Message+".")
		}
		return err
	}
	pu, err := s.passkeyUser(c, u)
	if err != nil {
		return err
	}
	// What would refuse the key at the finish is refused now, before the
	// authenticator makes a credential Herald would not keep.
	if _, err := store.CheckPasskeyName(c.FormValue("name")); err != nil {
		var ve *store.ValidationError
		errors.As(err, &ve)
		return passkeyError(c, http.StatusUnprocessableEntity, "name", "The name "+ve.Message+".")
	}
	if len(pu.keys) >= store.MaxPasskeys {
		return passkeyError(c, http.StatusConflict, "", fmt.Sprintf("You have %d passkeys, the most one user may have; remove one first.", len(pu.keys)))
	}
	// A user whose factor is a passkey proves it with the passkey, not
	// the password alone: the sign-in (with it) must be recent.
	if sess, _ := c.Get(ctxSessionRow).(store.Session); len(pu.keys) > 0 && !s.hasApp(c, u) && s.store.Now().Sub(sess.ConfirmedAt) > store.ConfirmWindow {
		return passkeyError(c, http.StatusForbidden, "", "To add another passkey, sign out and sign in again with your passkey first: your sign-in is more than five minutes old.")
	}
	// A discoverable credential, so that it signs in without an email; an
	// authenticator that already holds one of the user's is told so.
	options, session, err := s.rp.wa.BeginRegistration(pu,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(pu.descriptors()))
	if err != nil {
		return fmt.Errorf("begin passkey registration: %w", err)
	}
	return s.beginCeremony(c, store.CeremonyRegister, u.ID, session, options)
}

// hasApp reports whether u has an authenticator app; a failure to tell is
// logged and counts as yes, which asks for its code (the stricter proof).
func (s *Server) hasApp(c echo.Context, u store.User) bool {
	f, err := s.store.GetTwoFactor(c.Request().Context(), u)
	if err != nil {
		s.log.Error("second factor state", "user", u.ID, "err", err)
		return true
	}
	return f.Enrolled
}

// consolePasskeyFinish checks the new credential and keeps it, with its
// name.
func (s *Server) consolePasskeyFinish(c echo.Context) error {
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
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return passkeyError(c, http.StatusBadRequest, "", "That was not a passkey.")
	}
	cer, session, err := s.takeCeremony(c, store.CeremonyRegister)
	if errors.Is(err, store.ErrPasskeyRefused) {
		return passkeyError(c, http.StatusBadRequest, "", "This passkey took too long or was begun elsewhere. Start again.")
	}
	if err != nil {
		return err
	}
	if cer.UserID != u.ID {
		s.refusePasskey(c, u.ID, "add passkey", "ceremony begun by another user")
		return passkeyError(c, http.StatusBadRequest, "", "This passkey was begun by someone else. Start again.")
	}
	pu, err := s.passkeyUser(c, u)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	var cred *webauthn.Credential
	if err == nil {
		cred, err = s.rp.wa.CreateCredential(pu, session, parsed)
	}
	if err != nil {
		s.log.Info("passkey registration refused", "user", u.ID, "reason", refusedReason(err))
		s.refusePasskey(c, u.ID, "add passkey", refusedReason(err))
		return passkeyError(c, http.StatusBadRequest, "", "The passkey did not check out. Start again.")
	}
	var transports []string
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	p, err := s.store.AddPasskey(ctx, store.Passkey{ID: cred.ID, UserID: u.ID, Name: in.Name, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
		Transports: transports, Flags: uint8(cred.Flags.ProtocolValue()), AAGUID: cred.Authenticator.AAGUID, AttestationType: cred.AttestationType})
	var ce *store.ConflictError
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ce):
		return passkeyError(c, http.StatusConflict, "", ce.Message+".")
	case errors.As(err, &ve):
		return passkeyError(c, http.StatusUnprocessableEntity, ve.Field, ve.Error()+".")
	case err != nil:
		return err
	}
	s.log.Info("passkey added", "user", u.ID)
	return c.JSON(http.StatusOK, map[string]string{"redirect": "/console/account?msg=passkey-added#passkeys", "name": p.Name})
}

// consolePasskeyRemove takes away one of the user's own passkeys: a plain
// form, no script needed.
func (s *Server) consolePasskeyRemove(c echo.Context) error {
	err := s.store.RemovePasskey(c.Request().Context(), userOf(c), c.Param("key"))
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return s.accountPage(c, http.StatusConflict, templates.FormErrors{"passkey": ce.Message})
	}
	if err != nil {
		return err
	}
	return done(c, "/console/account#passkeys", "passkey-removed")
}

// consoleLoginPasskeyBegin starts a sign-in by passkey: alone (no pending
// sign-in: any of this site's passkeys, user verification required, so
// it stands for password and second factor), or as the second step after
// a right password (pending: that user's passkeys only).
func (s *Server) consoleLoginPasskeyBegin(c echo.Context) error {
	if refused, err := s.passkeyElsewhere(c); refused {
		return err
	}
	pending := c.FormValue("pending")
	if pending == "" {
		options, session, err := s.rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return fmt.Errorf("begin passkey sign-in: %w", err)
		}
		return s.beginCeremony(c, store.CeremonySignIn, "", session, options)
	}
	u, err := s.store.PendingSignInUser(c.Request().Context(), pending)
	if errors.Is(err, store.ErrBadSecondFactor) {
		return passkeyError(c, http.StatusUnauthorized, "", "The sign-in expired. Sign in again.")
	}
	if err != nil {
		return err
	}
	pu, err := s.passkeyUser(c, u)
	if err != nil {
		return err
	}
	if len(pu.keys) == 0 {
		return passkeyError(c, http.StatusConflict, "", "You have no passkey. Type the code from your app.")
	}
	options, session, err := s.rp.wa.BeginLogin(pu)
	if err != nil {
		return fmt.Errorf("begin passkey second factor: %w", err)
	}
	return s.beginCeremony(c, store.CeremonySecondFactor, u.ID, session, options)
}

// consoleLoginPasskeyFinish checks the assertion and starts the session.
// Every refusal is audited and answers with the one message.
func (s *Server) consoleLoginPasskeyFinish(c echo.Context) error {
	if refused, err := s.passkeyElsewhere(c); refused {
		return err
	}
	ctx := c.Request().Context()
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var in struct {
		Pending    string          `json:"pending"`
		Next       string          `json:"next"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return passkeyError(c, http.StatusBadRequest, "", passkeyRefused)
	}
	kind := store.CeremonySignIn
	if in.Pending != "" {
		kind = store.CeremonySecondFactor
	}
	cer, session, err := s.takeCeremony(c, kind)
	if errors.Is(err, store.ErrPasskeyRefused) {
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		s.refusePasskey(c, cer.UserID, kind, "not an assertion: "+refusedReason(err))
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	// Whose credential is it? Unknown ones are refused before any check.
	owner, _, err := s.store.PasskeyOwner(ctx, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("passkey refused: unknown credential", "ip", c.RealIP())
		s.refusePasskey(c, cer.UserID, kind, "unknown credential")
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	if err != nil {
		return err
	}
	pu, err := s.passkeyUser(c, owner)
	if err != nil {
		return err
	}
	if kind == store.CeremonySignIn {
		_, _, err = s.rp.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			if string(handle) != owner.ID {
				return nil, errors.New("user handle is not the credential's owner")
			}
			return pu, nil
		}, session, parsed)
	} else {
		_, err = s.rp.wa.ValidateLogin(pu, session, parsed)
	}
	if err != nil {
		s.log.Info("passkey refused", "user", owner.ID, "reason", refusedReason(err))
		s.refusePasskey(c, owner.ID, kind, refusedReason(err))
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	// Single sign-on required: a passkey is a Herald credential, as a
	// password is, and the provider's rule stands over both. Told only
	// once the signature is right, so that a credential id alone learns
	// nothing of whose it is.
	if !s.cfg.OIDC.mayUsePassword(owner.Email) {
		s.refusePasskey(c, owner.ID, kind, "single sign-on required")
		return passkeyError(c, http.StatusForbidden, "", "This console signs in with "+s.cfg.OIDC.Name+" only.")
	}
	use := store.PasskeyUse{ID: parsed.RawID, SignCount: parsed.Response.AuthenticatorData.Counter}
	var user store.User
	if kind == store.CeremonySignIn {
		user, err = s.store.SignInWithPasskey(ctx, owner.ID, use)
	} else {
		user, err = s.store.CompletePendingSignInPasskey(ctx, in.Pending, cer.UserID, use)
	}
	if errors.Is(err, store.ErrPasskeyRefused) || errors.Is(err, store.ErrBadSecondFactor) {
		s.log.Info("passkey refused", "user", owner.ID)
		return passkeyError(c, http.StatusUnauthorized, "", passkeyRefused)
	}
	if err != nil {
		return err
	}
	// After a password, the failure its step counted is undone, as a
	// right code undoes it; a passkey alone counted none, and must not
	// refund what guesses at other accounts cost this address.
	if kind == store.CeremonySecondFactor {
		if err := s.signedIn(ctx, user.Email, clientKey(c)); err != nil {
			s.log.Error("clear counted sign-in failures", "err", err)
		}
	}
	method := store.SignInPasskey
	if kind == store.CeremonySecondFactor {
		method = store.SignInPassword // a password, then the passkey
	}
	to, err := s.beginSession(c, user, method, in.Next)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": to})
}
