package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

func TestUserAddPrintsOneTimePassword(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	out, err := herald(t, "user", "add", "--db", db, "--email", "Dana@Example.com", "--role", "commander")
	if err != nil {
		t.Fatal(err)
	}
	pw := lastLine(out)
	if len(pw) < 20 || strings.ContainsAny(pw, " \t") {
		t.Fatalf("last line should be the one-time password alone, got %q", pw)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Authenticate(context.Background(), "dana@example.com", pw)
	st.Close()
	if err != nil || u.Role != store.RoleCommander || !u.MustChangePassword {
		t.Fatalf("printed password: %+v, %v; want a commander who must change it", u, err)
	}
	for _, bad := range [][]string{
		{"user", "add", "--db", db, "--email", "dana@example.com", "--role", "viewer"}, // taken
		{"user", "add", "--db", db, "--email", "x@example.com", "--role", "root"},
		{"user", "add", "--db", db, "--role", "viewer"},
	} {
		if _, err := herald(t, bad...); err == nil {
			t.Errorf("%v should fail", bad)
		}
	}
	out, err = herald(t, "user", "list", "--db", db)
	if err != nil || !strings.Contains(out, "dana@example.com") || !strings.Contains(out, "commander") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	out, err = herald(t, "user", "reset-password", "--db", db, "--email", "dana@example.com")
	if err != nil || lastLine(out) == pw || len(lastLine(out)) < 20 {
		t.Fatalf("reset-password: %v\n%s", err, out)
	}
}

// The first start on an empty database creates the first admin, prints
// their one-time password once, and the first token belongs to them.
func TestServeFirstStartCreatesAdmin(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	base, out, stop := startServe(t, "--db", db, "--admin-email", "ops@example.com")
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "ops@example.com") {
		t.Fatalf("first start printed no admin password:\n%s", out.String())
	}
	// The password signs in through the console form.
	jar := &cookieJar{}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var pre string
	for _, c := range jar.cookies {
		if c.Name == "herald_presession" {
			pre = c.Value
		}
	}
	if pre == "" {
		t.Fatal("no pre-session cookie from the sign-in page")
	}
	stop()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.Authenticate(context.Background(), "ops@example.com", m[1])
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("printed admin password: %+v, %v", u, err)
	}
	toks, _ := st.ListTokens(context.Background())
	st.Close()
	if len(toks) != 1 || toks[0].UserID != u.ID {
		t.Fatalf("first token %+v, want it owned by the first admin", toks)
	}
	_, out2, stop2 := startServe(t, "--db", db)
	defer stop2()
	if strings.Contains(out2.String(), "password:") {
		t.Fatalf("second start printed a password again:\n%s", out2.String())
	}
}
