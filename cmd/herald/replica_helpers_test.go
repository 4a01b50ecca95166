package main

// Helpers for the replica tests: real `herald serve` processes on one
// PostgreSQL, an SMTP relay that counts what it receives, a live stream
// reader and a console browser.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/herald-status/herald/store"
)

// replica is one `herald serve` process.
type replica struct {
	name string
	cmd  *exec.Cmd
	url  string
	out  *syncBuffer
	done chan error
}

// startReplica starts `herald serve` on database with args, and waits until
// it serves.
func startReplica(t *testing.T, name, database string, args ...string) *replica {
	t.Helper()
	// Port 0 and the address Herald prints, not a port picked in advance:
	// a port found free and closed again can be taken by a parallel test's
	// server before this one binds it, and would answer /healthz for it.
	r := &replica{name: name, out: &syncBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--database", database,
		"--log-format", "text", "--log-level", "warn"}, args...)...)
	r.cmd.Env = append(os.Environ(), "HERALD_TEST_AS_HERALD=1")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() { r.stop(t) })
	eventually(t, name+" to serve", func() bool {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("%s exited: %v\n%s", name, err, r.out.String())
		default:
		}
		if r.url == "" {
			for line := range strings.Lines(r.out.String()) {
				if rest, ok := strings.CutPrefix(line, "Herald is running at "); ok {
					r.url, _, _ = strings.Cut(rest, " ")
				}
			}
			if r.url == "" {
				return false
			}
		}
		resp, err := http.Get(r.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return r
}

// stop ends the process as systemd would (SIGTERM), if it still runs.
func (r *replica) stop(t *testing.T) {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(waitLimit):
		r.cmd.Process.Kill()
		t.Errorf("%s did not stop on SIGTERM:\n%s", r.name, r.out.String())
	}
}

// kill ends the process as a crash would.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.done
	r.done <- nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// api calls the JSON API with token and decodes the answer into out.
func api(t *testing.T, base, token, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// event is one frame of a live stream.
type event struct {
	id  int64
	typ string
}

// stream is an open /events connection.
type stream struct {
	resp   *http.Response
	events chan event
}

// openEvents opens base's live stream of change events, resuming after
// lastID when it is not 0.
func openEvents(t *testing.T, base string, lastID int64) *stream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/events?types=json", nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %d", resp.StatusCode)
	}
	s := &stream{resp: resp, events: make(chan event, 1000)}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var e event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id:"):
				e.id, _ = strconv.ParseInt(strings.TrimSpace(line[3:]), 10, 64)
			case strings.HasPrefix(line, "event:"):
				e.typ = strings.TrimSpace(line[6:])
			case line == "":
				if e.typ != "" {
					s.events <- e
				}
				e = event{}
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() { s.resp.Body.Close() }

// next is the stream's next change event.
func (s *stream) next(t *testing.T) event {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(waitLimit):
		t.Fatal("no event arrived")
	}
	return event{}
}

// relay is an SMTP server that counts the messages each recipient gets,
// and keeps them.
type relay struct {
	addr  string
	delay time.Duration
	mu    sync.Mutex
	got   map[string]int
	total int
	mail  []relayed
}

// relayed is one message as the relay received it.
type relayed struct {
	to  []string
	raw []byte
}

// messages is every message received so far.
func (r *relay) messages() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayed(nil), r.mail...)
}

func newRelay(t *testing.T, delay time.Duration) *relay {
	t.Helper()
	r := &relay{got: map[string]int{}, delay: delay}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }))
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	srv.MaxRecipients = 100
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *relay) flags() []string {
	host, port, _ := net.SplitHostPort(r.addr)
	return []string{"--smtp-host", host, "--smtp-port", port, "--smtp-tls", "none", "--smtp-from", "Status <status@example.com>"}
}

func (r *relay) counts() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := make(map[string]int, len(r.got))
	for k, v := range r.got {
		c[k] = v
	}
	return c, r.total
}

type relaySession struct {
	r  *relay
	to []string
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(s.r.delay) // a relay that takes its time: the fan-out is still going when a replica dies
	s.r.mu.Lock()
	for _, to := range s.to {
		s.r.got[to]++
		s.r.total++
	}
	s.r.mail = append(s.r.mail, relayed{to: s.to, raw: raw})
	s.r.mu.Unlock()
	s.to = nil
	return nil
}
func (s *relaySession) Reset()        { s.to = nil }
func (s *relaySession) Logout() error { return nil }

// console is a browser on the console: its cookies go to every replica (a
// browser keeps cookies per host, not per port).
type console struct {
	t       *testing.T
	cookies map[string]string
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *console) do(method, target string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp, string(data)
}

// post submits a console form at base+path, with the CSRF token of the page
// at base+page.
func (b *console) post(base, page, path string, form url.Values) *http.Response {
	b.t.Helper()
	_, html := b.do(http.MethodGet, base+page, nil)
	m := csrfInput.FindStringSubmatch(html)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s%s", base, page)
	}
	form.Set("csrf_token", m[1])
	resp, _ := b.do(http.MethodPost, base+path, form)
	return resp
}

// signIn signs in on base and reports whether the console let them in.
func (b *console) signIn(base, email, password string) bool {
	b.t.Helper()
	resp := b.post(base, "/console/login", "/console/login", url.Values{"email": {email}, "password": {password}})
	return resp.StatusCode == http.StatusSeeOther
}

// mustUser adds a console user with a password, straight into the database
// the replicas share.
func mustUser(t *testing.T, database, email string, role store.Role, password string) store.User {
	t.Helper()
	st, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _, err := st.CreateUser(context.Background(), store.UserInput{Email: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(context.Background(), u.ID, password); err != nil {
		t.Fatal(err)
	}
	return u
}

func describe(rs ...*replica) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "--- %s:\n%s\n", r.name, r.out.String())
	}
	return b.String()
}
