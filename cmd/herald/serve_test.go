package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// --max-streams-per-ip reaches the server as given: 0 is no limit there as
// here. (A negative number is refused before anything starts: see
// TestServeIntegrationFlags.)
func TestServeMaxStreamsPerIP(t *testing.T) {
	for _, tt := range []struct {
		value string
		open  int // streams opened from one address
		want  int // status of the last one
	}{
		{"1", 2, http.StatusTooManyRequests},
		{"0", 40, http.StatusOK},
	} {
		t.Run(tt.value, func(t *testing.T) {
			url, _, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "h.db"), "--max-streams-per-ip", tt.value)
			defer stop()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel() // closes the streams before the server stops
			var last int
			for range tt.open {
				req, err := http.NewRequestWithContext(ctx, "GET", url+"/events?types=json", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				last = resp.StatusCode
			}
			if last != tt.want {
				t.Errorf("stream %d with --max-streams-per-ip %s: %d, want %d", tt.open, tt.value, last, tt.want)
			}
		})
	}
}

// A first start that cannot listen fails saying why, and creates no admin
// or token whose credentials nobody was shown: the next start prints a
// sign-in and a token that both work.
func TestFirstStartOnATakenPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	db := filepath.Join(t.TempDir(), "herald.db")
	out, err := herald(t, "serve", "--addr", taken.Addr().String(), "--database", db, "--admin-email", "ops@example.com")
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "--addr") {
		t.Fatalf("serve on a taken port: %v, want it to say the address is in use and how to choose another", err)
	}
	if strings.Contains(out, "password:") || strings.Contains(out, "hrld_") {
		t.Fatalf("a start that failed printed credentials:\n%s", out)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	users, _ := st.CountUsers(context.Background())
	tokens, _ := st.CountTokens(context.Background())
	st.Close()
	if users != 0 || tokens != 0 {
		t.Fatalf("the failed start left %d users and %d tokens behind, shown to nobody", users, tokens)
	}

	base, printed, stop := startServe(t, "--database", db, "--admin-email", "ops@example.com")
	defer stop()
	m := regexp.MustCompile(`email:\s+(\S+)\s+password:\s+(\S+)`).FindStringSubmatch(printed.String())
	if m == nil || m[1] != "ops@example.com" {
		t.Fatalf("the next start printed no sign-in:\n%s", printed.String())
	}
	browser := &console{t: t, cookies: map[string]string{}}
	if !browser.signIn(base, m[1], m[2]) {
		t.Errorf("the printed password does not sign in")
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/components", nil)
	req.Header.Set("Authorization", "Bearer "+printedToken(t, printed.String()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the printed token: GET /api/v1/components answered %d", resp.StatusCode)
	}
}

// A second herald serve on the SQLite file another one serves is refused,
// naming the first; once the first has stopped, a new one starts.
func TestSecondServeOnOneDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "herald.db")
	_, _, stop := startServe(t, "--database", db)
	// The same file by another name is the same database.
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{db, link} {
		_, err := herald(t, "serve", "--addr", "127.0.0.1:0", "--database", name)
		if err == nil || !strings.Contains(err.Error(), "already served by another herald serve (pid "+strconv.Itoa(os.Getpid())+")") {
			t.Errorf("a second serve on %s: %v, want a refusal naming the first one's pid", name, err)
		}
	}
	// Commands meant to run beside the server are not refused.
	if out, err := herald(t, "user", "list", "--database", db); err != nil {
		t.Errorf("herald user list beside the server: %v\n%s", err, out)
	}
	stop()
	_, _, stop = startServe(t, "--database", db)
	stop()
}

// A setting that reaches a mail header is checked before anything starts:
// a CR from a CRLF environment file, a URL with a password in it, a sender
// at a domain literal would otherwise start a server that looks healthy
// while every email it tries fails. The refusal names the flag, and no
// database is made.
func TestServeRefusesSettingsThatBreakEmail(t *testing.T) {
	tests := []struct{ name, flag, value, want string }{
		{"CR in base URL", "--base-url", "https://status.example.com\r", "--base-url (HERALD_BASE_URL)"},
		{"LF in base URL", "--base-url", "https://status.example.com/\nBcc: x@example.com", "control character"},
		{"tab in base URL", "--base-url", "https://status.example.com/\t", "control character"},
		{"DEL in base URL", "--base-url", "https://status.example.com/\x7f", "control character"},
		{"no scheme", "--base-url", "status.example.com", "http:// or https://"},
		{"other scheme", "--base-url", "ftp://status.example.com", "http:// or https://"},
		{"no host", "--base-url", "https:///status", "host"},
		{"user info", "--base-url", "https://admin:secret@status.example.com", "user name or password"},
		{"query", "--base-url", "https://status.example.com/?a=b", "query"},
		{"fragment", "--base-url", "https://status.example.com/#top", "fragment"},
		{"unparsable", "--base-url", "https://status.example.com:port/", "not a URL"},
		{"CR in page name", "--page-name", "Acme\r", "--page-name (HERALD_PAGE_NAME)"},
		{"escape in page name", "--page-name", "Acme\x1b[2J", "control character"},
		{"CR in sender", "--smtp-from", "Acme <status@acme.com>\r", "--smtp-from (HERALD_SMTP_FROM)"},
		{"domain literal sender", "--smtp-from", "status@[10.0.0.1]", "--smtp-from"},
		{"not an address", "--smtp-from", "Acme Status", "--smtp-from"},
		{"control in Reply-To name", "--smtp-reply-to", "\"Sup\x00port\" <support@acme.com>", "--smtp-reply-to (HERALD_SMTP_REPLY_TO)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { serveRefuses(t, tt.want, "--smtp-host", "127.0.0.1", tt.flag, tt.value) })
	}
	// The same from the environment, as a CRLF env file would set it.
	t.Run("HERALD_BASE_URL with a CR", func(t *testing.T) {
		t.Setenv("HERALD_BASE_URL", "https://status.example.com\r")
		_, err := herald(t, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "h.db"))
		if err == nil || !strings.Contains(err.Error(), "HERALD_BASE_URL") || !strings.Contains(err.Error(), "control character") {
			t.Fatalf("serve with HERALD_BASE_URL ending in CR: %v", err)
		}
	})
}
