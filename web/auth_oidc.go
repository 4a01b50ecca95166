package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/herald-status/herald/store"
)

// Single sign-on through the operator's OpenID provider: the
// authorization code flow with PKCE (S256), a random state and nonce bound
// to the browser by a cookie and stored as a single-use pending login
// (store/sso.go), and the ID token verified by go-oidc against the
// issuer's keys. The claims decide the role at every sign-in; the session
// is the same as a password's (startSession).

// OIDCConfig is single sign-on as herald serve was started with it; a
// zero Issuer means none.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is the provider as people know it: "Sign in with {Name}".
	Name string
	// Scopes are asked for besides openid.
	Scopes []string
	// RoleClaim is the claim (a string or a list of strings) the role
	// rules and AllowGroups match. Default "groups".
	RoleClaim string
	// Roles give a role to claim values; a user gets the highest role any
	// rule gives.
	Roles []OIDCRoleRule
	// AllowDomains and AllowGroups say who may be created at their first
	// sign-in: an email in one of the domains, or a claim value among the
	// groups. Both empty: anyone a rule gives a role.
	AllowDomains []string
	AllowGroups  []string
	// RequireSSO refuses password sign-in to everyone but BreakGlass, one
	// local admin's email, for when the provider itself is down.
	RequireSSO bool
	BreakGlass string
	// HTTPClient talks to the provider; default one with a 10s timeout.
	HTTPClient *http.Client
}

// OIDCRoleRule gives Role to anyone whose RoleClaim holds Value.
type OIDCRoleRule struct {
	Role  store.Role
	Value string
}

// Enabled reports whether single sign-on is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// roleFor is the highest role the rules give the claim values; "" for none.
func (c OIDCConfig) roleFor(values []string) store.Role {
	var best store.Role
	for _, r := range c.Roles {
		if slices.Contains(values, r.Value) && (best == "" || r.Role.Allows(best)) {
			best = r.Role
		}
	}
	return best
}

// createRefusal is why nobody may be created for email with the claim
// values, or "" when someone may.
func (c OIDCConfig) createRefusal(email string, values []string) string {
	if len(c.AllowDomains) == 0 && len(c.AllowGroups) == 0 {
		return ""
	}
	_, domain, _ := strings.Cut(strings.ToLower(email), "@")
	if slices.Contains(c.AllowDomains, domain) {
		return ""
	}
	for _, v := range values {
		if slices.Contains(c.AllowGroups, v) {
			return ""
		}
	}
	return store.SSOReasonNotAllowed
}

// mayUsePassword reports whether email may sign in with a password.
func (c OIDCConfig) mayUsePassword(email string) bool {
	return !c.Enabled() || !c.RequireSSO || strings.EqualFold(strings.TrimSpace(email), c.BreakGlass)
}

// Refusal reasons of the token checks; the store has the others.
const (
	ssoReasonProvider = "provider refused"
	// Of a confirmation before a sensitive action:
	ssoReasonConfirmSession = "confirmation for another or an ended session"
	ssoReasonNotAgain       = "not signed in again"
	ssoReasonUnreachable    = "provider unreachable"
	ssoReasonCode           = "code refused"
	ssoReasonNoToken        = "no id token"
	ssoReasonIssuer         = "wrong issuer"
	ssoReasonAudience       = "wrong audience"
	ssoReasonExpired        = "expired"
	ssoReasonKey            = "unknown key"
	ssoReasonToken          = "invalid id token"
	ssoReasonNonce          = "bad nonce"
	ssoReasonUserinfo       = "userinfo mismatch"
	ssoReasonBreakGlass     = "break-glass account"
)

// ssoClient holds the provider, discovered at the first sign-in and kept:
// Herald starts, and serves its status page, while the provider is down.
type ssoClient struct {
	cfg      OIDCConfig
	callback string
	now      func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
}

func newSSOClient(cfg OIDCConfig, baseURL string, now func() time.Time) *ssoClient {
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &ssoClient{cfg: cfg, callback: baseURL + "/console/login/sso/callback", now: now}
}

// withClient makes go-oidc and oauth2 talk through the configured client.
func (c *ssoClient) withClient(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, c.cfg.HTTPClient), oauth2.HTTPClient, c.cfg.HTTPClient)
}

func (c *ssoClient) discover(ctx context.Context) (*oidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	// The key set fetches keys later with the context it was made with,
	// so not one a request's end cancels.
	p, err := oidc.NewProvider(c.withClient(context.WithoutCancel(ctx)), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.cfg.Issuer, err)
	}
	c.provider = p
	return p, nil
}

func (c *ssoClient) oauth(p *oidc.Provider) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range c.cfg.Scopes {
		if s != oidc.ScopeOpenID && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: c.callback, Scopes: scopes}
}

// ssoCookieName is the cookie binding a pending login to its browser.
// SameSite=Lax: the provider's redirect back is a top-level navigation
// from another site, which Strict would strip it from.
func (s *Server) ssoCookieName() string {
	if s.secureCookies {
		return "__Secure-herald_sso"
	}
	return "herald_sso"
}

func (s *Server) setSSOCookie(c echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: s.ssoCookieName(), Value: value, Path: "/console/login/sso", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
}

// consoleSSOStart sends the browser to the provider to sign in.
func (s *Server) consoleSSOStart(c echo.Context) error {
	if s.sso == nil {
		return echo.NewHTTPError(http.StatusNotFound, "single sign-on is not configured")
	}
	next := c.QueryParam("next")
	return s.toProvider(c, store.SSOLogin{Next: safeNext(next)}, func(status int, msg string) error {
		return s.loginPage(c, status, "", next, msg)
	})
}

// consoleConfirmSSO sends a single sign-on user to the provider to sign in
// again (prompt=login, max_age=0) before a sensitive action; the callback
// marks their session confirmed and sends them back to the form's page.
func (s *Server) consoleConfirmSSO(c echo.Context) error {
	if s.sso == nil {
		return echo.NewHTTPError(http.StatusNotFound, "single sign-on is not configured")
	}
	return s.toProvider(c, store.SSOLogin{Next: safeNext(c.QueryParam("back")), ConfirmUser: userOf(c).ID},
		func(status int, msg string) error { return echo.NewHTTPError(status, msg) },
		oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
}

// toProvider records login (with a fresh state, nonce and PKCE verifier,
// bound to this browser by a cookie) and sends the browser to the
// provider; fail answers a refusal (too many begun, provider unreachable).
func (s *Server) toProvider(c echo.Context, login store.SSOLogin, fail func(status int, msg string) error, opts ...oauth2.AuthCodeOption) error {
	ctx := c.Request().Context()
	if ok, err := s.beginAllowed(c, "sso"); err != nil {
		return err
	} else if !ok {
		s.log.Warn("single sign-on refused: too many begun", "ip", c.RealIP())
		return fail(http.StatusTooManyRequests, "Too many sign-ins from your address. Wait a few minutes and try again.")
	}
	p, err := s.sso.discover(ctx)
	if err != nil {
		s.log.Error("single sign-on: provider unreachable", "err", err)
		return fail(http.StatusServiceUnavailable, s.sso.cfg.Name+" cannot be reached just now. Try again in a moment.")
	}
	state, browser := rand.Text(), rand.Text()
	login.Nonce, login.Verifier = rand.Text(), oauth2.GenerateVerifier()
	if err := s.store.BeginSSOLogin(ctx, state, browser, login); err != nil {
		return err
	}
	s.setSSOCookie(c, browser, int(store.SSOLoginTTL/time.Second))
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(login.Nonce), oauth2.S256ChallengeOption(login.Verifier)}, opts...)
	return c.Redirect(http.StatusSeeOther, s.sso.oauth(p).AuthCodeURL(state, opts...))
}

// ssoConfirmed finishes a confirmation through the provider: the session
// in this browser must be the user's it was begun for, and the provider
// must have signed them in after it was begun (auth_time).
func (s *Server) ssoConfirmed(c echo.Context, login store.SSOLogin, subject string, claims map[string]any, refuse func(string, error) error) error {
	ctx := c.Request().Context()
	raw := s.sessionFromCookie(c)
	sess, u, err := s.store.SessionUser(ctx, raw, s.sessionPolicy())
	if err != nil || u.ID != login.ConfirmUser || !s.sessionStands(sess, u) {
		return refuse(ssoReasonConfirmSession, err)
	}
	at, _ := claims["auth_time"].(float64)
	if time.Unix(int64(at), 0).Before(login.BegunAt.Add(-time.Minute)) { // a minute of clock skew
		return refuse(ssoReasonNotAgain, nil)
	}
	if err := s.store.ConfirmSessionSSO(ctx, raw, u.ID, s.sso.cfg.Issuer, subject); errors.Is(err, store.ErrNotThem) {
		return echo.NewHTTPError(http.StatusForbidden, s.sso.cfg.Name+" confirmed someone else than you. Sign out of it, and try again as yourself.")
	} else if err != nil {
		return err
	}
	s.log.Info("confirmed by single sign-on", "user", u.ID)
	return done(c, login.Next, "confirmed")
}

// consoleSSOCallback checks what the provider sent back and signs the
// person in. Every refusal is audited and changes nothing else.
func (s *Server) consoleSSOCallback(c echo.Context) error {
	if s.sso == nil {
		return echo.NewHTTPError(http.StatusNotFound, "single sign-on is not configured")
	}
	ctx := c.Request().Context()
	cfg := s.sso.cfg
	browser := ""
	if ck, err := c.Cookie(s.ssoCookieName()); err == nil {
		browser = ck.Value
	}
	s.setSSOCookie(c, "", -1)
	login, err := s.store.TakeSSOLogin(ctx, c.QueryParam("state"), browser, cfg.Issuer)
	if err != nil {
		return s.ssoRefused(c, err)
	}
	id := store.SSOIdentity{Issuer: cfg.Issuer}
	refuse := func(reason string, cause error) error {
		detail := ""
		if cause != nil {
			detail = cause.Error()
			if len(detail) > 300 {
				detail = detail[:300]
			}
			s.log.Warn("single sign-on refused", "reason", reason, "err", cause)
		}
		return s.ssoRefused(c, s.store.RefuseSSO(ctx, id, reason, detail))
	}
	if e := c.QueryParam("error"); e != "" {
		return refuse(ssoReasonProvider, fmt.Errorf("%s: %s", e, c.QueryParam("error_description")))
	}
	p, err := s.sso.discover(ctx)
	if err != nil {
		return refuse(ssoReasonUnreachable, err)
	}
	oc := s.sso.oauth(p)
	tok, err := oc.Exchange(s.sso.withClient(ctx), c.QueryParam("code"), oauth2.VerifierOption(login.Verifier))
	if err != nil {
		return refuse(ssoReasonCode, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return refuse(ssoReasonNoToken, nil)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.sso.now}).Verify(s.sso.withClient(ctx), raw)
	if err != nil {
		return refuse(tokenRefusal(err), err)
	}
	id.Subject = idt.Subject
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(login.Nonce)) != 1 || login.Nonce == "" {
		return refuse(ssoReasonNonce, nil)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return refuse(ssoReasonToken, err)
	}
	if login.ConfirmUser != "" {
		return s.ssoConfirmed(c, login, idt.Subject, claims, refuse)
	}
	// A provider may keep email and groups out of the ID token when it
	// issues an access token too; its userinfo has them then.
	if claims["email"] == nil || claims[cfg.RoleClaim] == nil {
		if err := s.sso.addUserinfo(ctx, p, tok, idt.Subject, claims); errors.Is(err, errUserinfoSubject) {
			return refuse(ssoReasonUserinfo, err)
		} else if err != nil {
			// The ID token's claims decide alone (and without a role
			// there, refuse).
			s.log.Warn("single sign-on: userinfo unavailable", "err", err)
		}
	}
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["name"].(string)
	if v, sent := claims["email_verified"]; sent && !claimTrue(v) {
		return refuse(store.SSOReasonEmailUnverify, nil)
	}
	// The break-glass admin stays a local admin: linked, their role
	// would follow the provider's claims, and could be taken away there.
	if cfg.RequireSSO && strings.EqualFold(strings.TrimSpace(id.Email), cfg.BreakGlass) {
		return refuse(ssoReasonBreakGlass, nil)
	}
	values := claimValues(claims[cfg.RoleClaim])
	id.Role = cfg.roleFor(values)
	id.CreateRefusal = cfg.createRefusal(id.Email, values)
	u, err := s.store.SignInSSO(ctx, id)
	if err != nil {
		return s.ssoRefused(c, err)
	}
	s.log.Info("signed in by single sign-on", "user", u.ID, "role", u.Role)
	return s.startSession(c, u, store.SignInSSO, login.Next)
}

// errUserinfoSubject is userinfo about someone else than the ID token:
// claims that must not be mixed.
var errUserinfoSubject = errors.New("userinfo names another subject")

// addUserinfo fills the claims the ID token lacked from the provider's
// userinfo, which must be about the same subject.
func (c *ssoClient) addUserinfo(ctx context.Context, p *oidc.Provider, tok *oauth2.Token, subject string, claims map[string]any) error {
	if p.UserInfoEndpoint() == "" {
		return nil
	}
	info, err := p.UserInfo(c.withClient(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		return err
	}
	if info.Subject != subject {
		return fmt.Errorf("%w: userinfo is about %q, the ID token about %q", errUserinfoSubject, info.Subject, subject)
	}
	more := map[string]any{}
	if err := info.Claims(&more); err != nil {
		return err
	}
	for k, v := range more {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}

// tokenRefusal names why go-oidc refused an ID token; it reports most
// reasons only in its messages.
func tokenRefusal(err error) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return ssoReasonExpired
	case strings.Contains(msg, "issued by a different provider"):
		return ssoReasonIssuer
	case strings.Contains(msg, "expected audience"):
		return ssoReasonAudience
	case strings.Contains(msg, "signature"):
		return ssoReasonKey
	}
	return ssoReasonToken
}

// claimTrue reads email_verified, which some providers send as a string.
func claimTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// claimValues is a claim as a list: one string, or a list of them.
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ssoRefused shows the sign-in page with what went wrong, in words, and
// the reason as the audit log has it.
func (s *Server) ssoRefused(c echo.Context, err error) error {
	var r *store.SSORefusal
	if !errors.As(err, &r) {
		return err
	}
	name := s.sso.cfg.Name
	msg := ""
	switch r.Reason {
	case store.SSOReasonBadState:
		msg = "This sign-in was not started in this browser, was already used, or took too long. Start again."
	case store.SSOReasonNoRole:
		msg = "Your " + name + " account has no Herald role. Ask an admin to add you to a group that gives one."
	case store.SSOReasonNotAllowed:
		msg = "Your email address may not create a Herald account. Ask an admin to add you."
	case store.SSOReasonEmailUnverify:
		msg = name + " has not verified your email address. Verify it there and sign in again."
	case store.SSOReasonEmailMissing:
		msg = name + " did not send your email address. Ask an admin to check the sign-in's scopes."
	case store.SSOReasonDisabled:
		msg = "Your Herald account is disabled."
	case store.SSOReasonLinkedElse:
		msg = "Your email address belongs to another " + name + " account here. Ask an admin."
	case store.SSOReasonLastAdmin:
		msg = name + " no longer makes you an admin, and you are Herald's last admin. Ask for another admin first."
	case ssoReasonBreakGlass:
		msg = "The break-glass admin signs in with a password only."
	case ssoReasonProvider:
		msg = name + " did not sign you in. Try again."
	case ssoReasonUnreachable:
		msg = name + " cannot be reached just now. Try again in a moment."
	default:
		msg = name + "'s answer did not check out. Try again; if it happens again, tell an admin."
	}
	return s.loginPage(c, http.StatusForbidden, "", "", "Sign-in with "+name+" refused ("+r.Reason+"). "+msg)
}
