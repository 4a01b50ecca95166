package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	out, err := herald(t, "token", "create", "--db", db, "--name", "pagerduty")
	if err != nil {
		t.Fatal(err)
	}
	token := lastLine(out)
	if !strings.HasPrefix(token, "hrld_") || strings.ContainsAny(token, " \t") {
		t.Fatalf("last line should be the token alone, got %q", token)
	}

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.AuthenticateToken(context.Background(), token)
	if err != nil {
		t.Fatalf("printed token does not authenticate: %v", err)
	}
	st.Close()

	out, err = herald(t, "token", "list", "--db", db)
	if err != nil || !strings.Contains(out, "pagerduty") || !strings.Contains(out, "active") {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	if _, err := herald(t, "token", "revoke", "--db", db, tok.ID); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AuthenticateToken(context.Background(), token); err == nil {
		t.Fatal("revoked token still authenticates")
	}
	if _, err := herald(t, "token", "revoke", "--db", db, "nosuchtoken1"); err == nil {
		t.Fatal("revoking an unknown token should fail")
	}
	if _, err := herald(t, "token", "create", "--db", db); err == nil {
		t.Fatal("token create without --name should fail")
	}
}

func TestMigrateBackupVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	out, err := herald(t, "migrate", "--db", db)
	if err != nil || !regexp.MustCompile(`schema version [1-9][0-9]*\.`).MatchString(out) {
		t.Fatalf("migrate: %v %q", err, out)
	}
	if _, err := herald(t, "token", "create", "--db", db, "--name", "x"); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "copy.db")
	if _, err := herald(t, "backup", "--db", db, backup); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), backup)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := st.ListTokens(context.Background())
	st.Close()
	if err != nil || len(toks) != 1 || toks[0].Name != "x" {
		t.Fatalf("backup does not hold the data: %v %+v", err, toks)
	}
	if _, err := herald(t, "backup", "--db", db, backup); err == nil {
		t.Fatal("backup over an existing file should fail")
	}
	if _, err := herald(t, "backup", "--db", filepath.Join(dir, "missing.db"), filepath.Join(dir, "b2.db")); err == nil {
		t.Fatal("backup of a missing database should fail")
	}
	out, err = herald(t, "version")
	if err != nil || !strings.HasPrefix(out, "herald ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if _, err := herald(t, "frobnicate"); err == nil {
		t.Fatal("unknown command should fail")
	}
}

func TestEnvironmentConfiguresFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	t.Setenv("HERALD_DB", db)
	if _, err := herald(t, "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("HERALD_DB was not used: %v", err)
	}
	t.Setenv("HERALD_DEMO", "maybe")
	if _, err := herald(t, "serve", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "HERALD_DEMO") {
		t.Fatalf("a bad boolean in the environment should be refused, got %v", err)
	}
}

func TestServeFirstStartPrintsTokenOnce(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	url, out, stop := startServe(t, "--db", db, "--demo")
	resp, err := http.Get(url + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
	token := printedToken(t, out.String())
	req, _ := http.NewRequest("GET", url+"/api/v1/components", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("printed token does not work: %v %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Sign-in") {
		t.Errorf("demo data missing from the API: %s", body)
	}
	stop()

	_, out2, stop2 := startServe(t, "--db", db)
	defer stop2()
	if strings.Contains(out2.String(), "hrld_") {
		t.Fatalf("second start printed a token again:\n%s", out2.String())
	}
}

// herald token create --role makes a token that may do through the API
// what its role allows and nothing more; without --role it is an admin's
// token, as before; an unknown role is refused and makes no token.
func TestTokenCreateRole(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	base, _, stop := startServe(t, "--db", db)
	defer stop()
	create := func(role string, args ...string) string {
		t.Helper()
		out, err := herald(t, append([]string{"token", "create", "--db", db, "--name", "as " + role}, args...)...)
		if err != nil || !strings.Contains(out, "acts as "+role) {
			t.Fatalf("token create %v: %v\n%s", args, err, out)
		}
		return lastLine(out)
	}
	admin, commander, viewer := create("admin"), create("commander", "--role", "commander"), create("viewer", "--role", "viewer")
	incident := map[string]string{"name": "Logins failing", "body": "We are looking into it."}
	for _, tt := range []struct {
		who, token, method, path string
		body                     any
		want                     int
	}{
		{"commander", commander, "POST", "/api/v1/incidents", incident, http.StatusCreated},
		{"commander", commander, "GET", "/api/v1/subscribers", nil, http.StatusOK},
		{"commander", commander, "POST", "/api/v1/components", map[string]string{"name": "Billing"}, http.StatusForbidden},
		{"commander", commander, "POST", "/api/v1/component-groups", map[string]string{"name": "Core"}, http.StatusForbidden},
		{"commander", commander, "GET", "/api/v1/audit-log", nil, http.StatusForbidden},
		{"commander", commander, "POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/x", "events": []string{"incident.*"}}, http.StatusForbidden},
		{"viewer", viewer, "GET", "/api/v1/incidents", nil, http.StatusOK},
		{"viewer", viewer, "POST", "/api/v1/incidents", incident, http.StatusForbidden},
		{"admin", admin, "POST", "/api/v1/components", map[string]string{"name": "Billing"}, http.StatusCreated},
	} {
		if got := api(t, base, tt.token, tt.method, tt.path, tt.body, nil); got != tt.want {
			t.Errorf("%s token: %s %s answered %d, want %d", tt.who, tt.method, tt.path, got, tt.want)
		}
	}

	out, err := herald(t, "token", "create", "--db", db, "--name", "typo", "--role", "superuser")
	if err == nil || !strings.Contains(err.Error(), `--role "superuser"`) || !strings.Contains(err.Error(), "admin, commander or viewer") || strings.Contains(out, "hrld_") {
		t.Fatalf("an unknown role: %v\n%s", err, out)
	}
	out, err = herald(t, "token", "list", "--db", db)
	if err != nil || strings.Contains(out, "typo") {
		t.Fatalf("the refused token was made: %v\n%s", err, out)
	}
	for _, row := range []string{"as commander  commander", "as viewer     viewer", "as admin      admin"} {
		if !strings.Contains(out, row) {
			t.Errorf("token list has no row with %q:\n%s", row, out)
		}
	}
}
