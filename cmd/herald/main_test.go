package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// herald runs the command line in-process and returns what it printed.
func herald(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestTokenLifecycle(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
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

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs `herald serve` until the test ends and returns its base
// URL and what it printed.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), out, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Herald is running at "); ok {
				url, _, _ := strings.Cut(rest, " ")
				stop := func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("serve returned %v", err)
					}
				}
				return url, out, stop
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start:\n%s", out.String())
	return "", nil, nil
}

func TestServeFirstStartPrintsTokenOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	url, out, stop := startServe(t, "--db", db, "--demo")
	resp, err := http.Get(url + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
	var token string
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "hrld_") {
			token = f
			break
		}
	}
	if token == "" {
		t.Fatalf("first start printed no token:\n%s", out.String())
	}
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

func TestWatchPrintsLiveEvents(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	url, out, stop := startServe(t, "--db", db)
	defer stop()
	var token string
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "hrld_") {
			token = f
			break
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	watched := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"watch", url}, watched, io.Discard) }()
	// Wait until the watcher is connected before changing anything.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(watched.String(), "Watching") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)

	req, _ := http.NewRequest("POST", url+"/api/v1/incidents", strings.NewReader(`{"name":"Payments failing","body":"We are looking into it."}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create incident: %v %v", err, resp)
	}
	resp.Body.Close()

	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(watched.String(), "incident.created") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	got := watched.String()
	if !strings.Contains(got, "incident.created") || !strings.Contains(got, "Payments failing") || !strings.Contains(got, "[investigating]") {
		t.Fatalf("watch printed:\n%s", got)
	}
	if _, err := herald(t, "watch", "ftp://example.test"); err == nil {
		t.Fatal("watch should refuse a non-http URL")
	}
}
