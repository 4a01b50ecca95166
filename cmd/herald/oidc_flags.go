package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/web"
)

// oidcSecretEnv carries the client secret: from the environment only, so
// that it is never in a process list or a shell's history.
const oidcSecretEnv = "HERALD_OIDC_CLIENT_SECRET"

// oidcFlags configure single sign-on through an OpenID provider.
type oidcFlags struct {
	issuer, clientID, name, scopes, roleClaim *string
	roles, envRoles                           listFlag
	allowDomains, allowGroups, breakGlass     *string
	requireSSO                                *bool
}

func addOIDCFlags(fs *flagSet) *oidcFlags {
	f := &oidcFlags{
		issuer:       fs.String("oidc-issuer", "", "single sign-on: the OpenID provider's issuer URL, e.g. https://login.example.com/realms/acme (https, or http on 127.0.0.1 or localhost only); the client secret comes from "+oidcSecretEnv),
		clientID:     fs.String("oidc-client-id", "", "single sign-on: Herald's client id at the provider"),
		name:         fs.String("oidc-name", "single sign-on", `single sign-on: the provider's name on the sign-in button, "Sign in with NAME"`),
		scopes:       fs.String("oidc-scopes", "email,profile", "single sign-on: the scopes asked for besides openid, comma-separated (add groups where the provider needs it for the groups claim)"),
		roleClaim:    fs.String("oidc-role-claim", "groups", "single sign-on: the ID token or userinfo claim (a string or a list) the role rules match"),
		allowDomains: fs.String("oidc-allow-domain", "", "single sign-on: email domains whose people are created at their first sign-in, comma-separated (with --oidc-allow-group: either admits; neither: anyone a rule gives a role)"),
		allowGroups:  fs.String("oidc-allow-group", "", "single sign-on: claim values whose people are created at their first sign-in, comma-separated"),
		requireSSO:   fs.Bool("oidc-require-sso", false, "single sign-on: refuse password sign-in to everyone but the --oidc-break-glass admin"),
		breakGlass:   fs.String("oidc-break-glass", "", "single sign-on: the email of the one local admin who may still sign in with a password under --oidc-require-sso"),
	}
	// Given once per rule on the command line, comma-separated in the
	// environment; rules on the command line replace the environment's.
	if v, ok := os.LookupEnv(envName("oidc-role")); ok {
		f.envRoles = splitList(v)
	}
	fs.Var(&f.roles, "oidc-role", "single sign-on: ROLE=VALUE gives ROLE (admin, commander or viewer) to people whose claim holds VALUE, e.g. --oidc-role admin=herald-admins --oidc-role commander=sre; repeat it; the highest role wins ("+envName("oidc-role")+", comma-separated)")
	return f
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parse checks the flags and builds the configuration; every refusal names
// the flag to fix.
func (f *oidcFlags) parse() (web.OIDCConfig, error) {
	if len(f.roles) == 0 {
		f.roles = f.envRoles
	}
	issuer := strings.TrimSpace(*f.issuer)
	if issuer == "" {
		for name, set := range map[string]bool{"--oidc-client-id": *f.clientID != "", "--oidc-role": len(f.roles) > 0,
			"--oidc-require-sso": *f.requireSSO, "--oidc-break-glass": *f.breakGlass != "", "--oidc-allow-domain": *f.allowDomains != "",
			"--oidc-allow-group": *f.allowGroups != ""} {
			if set {
				return web.OIDCConfig{}, fmt.Errorf("%s needs --oidc-issuer (%s)", name, envName("oidc-issuer"))
			}
		}
		return web.OIDCConfig{}, nil
	}
	if err := checkIssuer(issuer); err != nil {
		return web.OIDCConfig{}, fmt.Errorf("--oidc-issuer %q: %w", issuer, err)
	}
	c := web.OIDCConfig{Issuer: issuer, ClientID: strings.TrimSpace(*f.clientID), ClientSecret: os.Getenv(oidcSecretEnv),
		Name: strings.TrimSpace(*f.name), Scopes: splitList(*f.scopes), RoleClaim: strings.TrimSpace(*f.roleClaim),
		AllowGroups: splitList(*f.allowGroups), RequireSSO: *f.requireSSO, BreakGlass: strings.ToLower(strings.TrimSpace(*f.breakGlass))}
	if c.ClientID == "" {
		return c, fmt.Errorf("--oidc-client-id (%s) is empty: give Herald's client id at the provider", envName("oidc-client-id"))
	}
	if c.ClientSecret == "" {
		return c, fmt.Errorf("%s is empty: set the client secret in the environment (there is no flag for it)", oidcSecretEnv)
	}
	if c.Name == "" || len(c.Name) > 60 {
		return c, fmt.Errorf("--oidc-name %q: give the provider's name as people know it, up to 60 characters", *f.name)
	}
	if c.RoleClaim == "" {
		return c, fmt.Errorf("--oidc-role-claim is empty: name the claim the rules match, e.g. groups")
	}
	if len(f.roles) == 0 {
		return c, fmt.Errorf("--oidc-role: give at least one rule, such as admin=herald-admins, or nobody can sign in")
	}
	for _, r := range f.roles {
		role, value, ok := strings.Cut(r, "=")
		role, value = strings.TrimSpace(role), strings.TrimSpace(value)
		if !ok || value == "" {
			return c, fmt.Errorf("--oidc-role %q: write ROLE=VALUE, such as commander=sre", r)
		}
		if !store.Role(role).Valid() {
			return c, fmt.Errorf("--oidc-role %q: unknown role %q; use admin, commander or viewer", r, role)
		}
		c.Roles = append(c.Roles, web.OIDCRoleRule{Role: store.Role(role), Value: value})
	}
	for _, d := range splitList(*f.allowDomains) {
		d = strings.ToLower(strings.TrimPrefix(d, "@"))
		if strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") && d != "localhost" {
			return c, fmt.Errorf("--oidc-allow-domain %q: give email domains such as example.com", *f.allowDomains)
		}
		c.AllowDomains = append(c.AllowDomains, d)
	}
	switch {
	case c.RequireSSO && c.BreakGlass == "":
		return c, fmt.Errorf("--oidc-require-sso needs --oidc-break-glass: the email of the local admin who may sign in when the provider is down")
	case !c.RequireSSO && c.BreakGlass != "":
		return c, fmt.Errorf("--oidc-break-glass only means something with --oidc-require-sso")
	case c.BreakGlass != "" && (strings.Count(c.BreakGlass, "@") != 1 || strings.ContainsAny(c.BreakGlass, " \t\r\n")):
		return c, fmt.Errorf("--oidc-break-glass %q: give an email address", *f.breakGlass)
	}
	return c, nil
}

// checkIssuer admits https, and plain http only on this machine (a test
// provider): over a network, http would let anyone between forge sign-ins.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not a URL; give the provider's issuer, such as https://login.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("an issuer has no query, fragment or user")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("must be https (plain http only on 127.0.0.1 or localhost, for tests)")
}
