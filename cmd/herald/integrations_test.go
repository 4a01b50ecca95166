package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeIntegrationFlags(t *testing.T) {
	t.Run("bad values are refused before anything starts", func(t *testing.T) {
		tests := []struct{ name, flag, value, want string }{
			{"unknown status", "--alertmanager-severity", "critical=down", "alertmanager"},
			{"pair without =", "--alertmanager-components", "checkout", "--alertmanager-components"},
			{"bad on-resolved", "--alertmanager-on-resolved", "identified", "on-resolved"},
			{"negative stream cap", "--max-streams-per-ip", "-1", "--max-streams-per-ip"},
			{"negative connection cap", "--max-conns-per-ip", "-1", "--max-conns-per-ip"},
			// --trust-proxy was a switch that trusted every loopback,
			// private and link-local peer: the old form is refused, naming
			// the new one, rather than given a meaning either way.
			{"trust-proxy as the old switch", "--trust-proxy", "true", "--trust-proxy 10.0.0.5,10.0.1.0/24"},
			{"trust-proxy off as the old switch", "--trust-proxy", "false", "no longer takes true or false"},
			{"trust-proxy not an address", "--trust-proxy", "proxy.internal", "not an IP address"},
			{"no delivery retention", "--delivery-retention", "0s", "--delivery-retention"},
			{"failures kept less long than successes", "--failed-delivery-retention", "24h", "at least as long"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { serveRefuses(t, tt.want, tt.flag, tt.value) })
		}
		if _, err := herald(t, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "h.db"), "--trust-proxy"); err == nil || !strings.Contains(err.Error(), "--trust-proxy 10.0.0.5,10.0.1.0/24") {
			t.Errorf("a bare --trust-proxy: %v, want the new form named", err)
		}
		if _, err := herald(t, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "h.db"), "--metrics-public", "--metrics-token", "x"); err == nil {
			t.Error("--metrics-public with --metrics-token was accepted")
		}
	})

	t.Run("metrics token from the environment", func(t *testing.T) {
		t.Setenv("HERALD_METRICS_TOKEN", "scrape-me")
		url, _, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "h.db"))
		defer stop()
		var body string
		get := func(token string) int {
			req, _ := http.NewRequest("GET", url+"/metrics", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			return resp.StatusCode
		}
		if got := get(""); got != http.StatusUnauthorized {
			t.Errorf("without the token: %d, want 401", got)
		}
		if got := get("scrape-me"); got != http.StatusOK {
			t.Errorf("with the token: %d, want 200", got)
		}
		// The server's own series and the notification dispatcher's.
		for _, name := range []string{"herald_http_requests_total", "herald_live_clients", "herald_deliveries_total", "herald_outbox_jobs_pending"} {
			if !strings.Contains(body, "\n"+name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})
}

func TestServeOIDCFlags(t *testing.T) {
	t.Setenv("HERALD_OIDC_CLIENT_SECRET", "s3cret")
	ok := []string{"--oidc-issuer", "https://login.example.com", "--oidc-client-id", "herald", "--oidc-role", "admin=herald-admins"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain http to another host", []string{"--oidc-issuer", "http://login.example.com", "--oidc-client-id", "herald", "--oidc-role", "admin=x"}, "--oidc-issuer"},
		{"not a URL", []string{"--oidc-issuer", "login.example.com", "--oidc-client-id", "herald", "--oidc-role", "admin=x"}, "--oidc-issuer"},
		{"no client id", []string{"--oidc-issuer", "https://login.example.com", "--oidc-role", "admin=x"}, "--oidc-client-id"},
		{"no rule", []string{"--oidc-issuer", "https://login.example.com", "--oidc-client-id", "herald"}, "--oidc-role"},
		{"unknown role", append(ok, "--oidc-role", "owner=founders"), `unknown role "owner"`},
		{"rule without =", append(ok, "--oidc-role", "sre"), "--oidc-role"},
		{"client id without issuer", []string{"--oidc-client-id", "herald"}, "needs --oidc-issuer"},
		{"require SSO without break-glass", append(ok, "--oidc-require-sso"), "--oidc-break-glass"},
		{"break-glass without require SSO", append(ok, "--oidc-break-glass", "root@example.com"), "--oidc-require-sso"},
		{"bad domain", append(ok, "--oidc-allow-domain", "people@example.com"), "--oidc-allow-domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { serveRefuses(t, tt.want, tt.args...) })
	}
	t.Run("no secret in the environment", func(t *testing.T) {
		t.Setenv("HERALD_OIDC_CLIENT_SECRET", "")
		serveRefuses(t, "HERALD_OIDC_CLIENT_SECRET", ok...)
	})
}

// A configured provider need not be reachable for Herald to start: the
// status page must run when everything else is down. The sign-in page
// offers the provider's button.
func TestServeOIDCStartsWithoutTheProvider(t *testing.T) {
	t.Setenv("HERALD_OIDC_CLIENT_SECRET", "s3cret")
	url, _, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "h.db"), "--oidc-issuer", "https://login.invalid", "--oidc-client-id", "herald",
		"--oidc-name", "Example ID", "--oidc-role", "viewer=staff")
	defer stop()
	resp, err := http.Get(url + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "Sign in with Example ID") {
		t.Fatalf("no button on the sign-in page: %s", body)
	}
}
