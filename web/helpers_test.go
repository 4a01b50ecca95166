package web

// The helpers every test file in this package shares, so that a test reads
// as a story: start a server, act as a visitor, a commander or a receiver,
// wait for an outcome, look.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

// testServer is a running Herald: a real SQLite file, the real handler
// behind a real HTTP listener, and its background loops.
type testServer struct {
	*httptest.Server
	srv   *Server
	store *store.Store
	token string // a valid admin API token
}

// testOption adjusts a test server before it starts.
type testOption func(*testSetup)

type testSetup struct {
	cfg Config
	// smallSocketBuffers shrinks the kernel send buffer of every accepted
	// connection, so that a client that stops reading stalls the server's
	// writes after kilobytes instead of megabytes.
	smallSocketBuffers bool
	// wrapListener, if set, wraps the raw listener (under Herald's own).
	wrapListener func(net.Listener) net.Listener
	// logHandler, if set, also receives every log record the server writes.
	logHandler slog.Handler
	// beforeServe, if set, runs after the server is built and before it
	// takes requests (to add a route only a test needs, say).
	beforeServe func(*Server)
	// writeTimeout, if set, shortens the server's write timeout, so that a
	// test of a client that never reads need not wait a minute.
	writeTimeout time.Duration
	// manualRefresh leaves the background loop unstarted: the test calls
	// rebuild itself, so that changes it makes between two calls come to
	// the live stream as one batch, as they may under load.
	manualRefresh bool
}

// loopbackProxy trusts the test's own client as a proxy, so that a test
// can speak from any address through X-Forwarded-For.
var loopbackProxy = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// newTestServer starts Herald on a fresh database in t.TempDir(). It takes
// testing.TB so that benchmarks run the same server as tests.
func newTestServer(t testing.TB, opts ...testOption) *testServer {
	t.Helper()
	setup := testSetup{cfg: Config{BaseURL: "http://status.example.test", PageName: "Acme"}}
	for _, o := range opts {
		o(&setup)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := st.CreateToken(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	if setup.logHandler != nil {
		logger = slog.New(slog.NewMultiHandler(logger.Handler(), setup.logHandler))
	}
	setup.cfg.Logger = logger
	srv, err := New(ctx, setup.cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if setup.beforeServe != nil {
		setup.beforeServe(srv)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if setup.manualRefresh {
			return
		}
		if err := srv.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// Served exactly as `herald serve` serves it.
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config = NewHTTPServer(srv.Handler(), logger)
	if setup.writeTimeout > 0 && hs.Config.WriteTimeout > 0 { // shortened, never added
		hs.Config.WriteTimeout = setup.writeTimeout
	}
	if setup.smallSocketBuffers {
		hs.Listener = smallBufferListener{hs.Listener}
	}
	if setup.wrapListener != nil {
		hs.Listener = setup.wrapListener(hs.Listener)
	}
	hs.Listener = srv.Listener(hs.Listener)
	hs.Start()
	t.Cleanup(func() {
		srv.CloseStreams() // live streams never finish on their own
		hs.Close()
		cancel()
		<-done
		st.Close()
	})
	return &testServer{Server: hs, srv: srv, store: st, token: token}
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitLimit bounds every wait for an outcome in this package's tests. It is
// not a speed target: it only turns a hang into a failure that says what
// did not happen, and is generous so that a loaded machine never trips it.
// (notify and cmd/herald use the same limit.)
const waitLimit = 60 * time.Second

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFresh waits until the snapshot (and so the pages and the live hub)
// reflects every change committed so far.
func (ts *testServer) waitFresh(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := ts.srv.WaitFresh(ctx); err != nil {
		t.Fatalf("snapshot did not catch up: %v", err)
	}
}

// drainOutbox waits until the outbox has nothing left to do now: every job
// expanded into deliveries, none being sent, none due. Only then can a test
// count what was, or was not, delivered. A delivery parked for a later
// retry (a receiver's Retry-After) does not hold it up. It needs a running
// dispatcher (ts.startDispatcher).
func (ts *testServer) drainOutbox(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	eventually(t, "the outbox to drain (is a dispatcher running?)", func() bool {
		// Read in the order work moves: a job becomes deliveries, a due
		// delivery becomes one being sent; so what one reading missed,
		// the next sees.
		jobs, err := ts.store.PendingJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if jobs > 0 {
			return false
		}
		for _, channel := range []string{store.ChannelEmail, store.ChannelWebhook, store.ChannelSMS} {
			wait, waiting, err := ts.store.NextDue(ctx, channel, "")
			if err != nil {
				t.Fatal(err)
			}
			if waiting && wait == 0 {
				return false
			}
		}
		counts, err := ts.store.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return counts[store.ChannelEmail+"/sending"] == 0 && counts[store.ChannelWebhook+"/sending"] == 0 && counts[store.ChannelSMS+"/sending"] == 0
	})
}

// apiResponse is a response with its body read.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// decode unmarshals the body into v, failing the test if it cannot.
func (r apiResponse) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// apiErr is the error body every API failure carries.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// call sends an API request with the server's token; body is marshalled to
// JSON unless it is a string (sent as is) or nil.
func (ts *testServer) call(t testing.TB, method, path string, body any) apiResponse {
	t.Helper()
	return ts.callWithToken(t, ts.token, method, path, body)
}

func (ts *testServer) callWithToken(t testing.TB, token, method, path string, body any) apiResponse {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// mustCall is call that fails the test unless the status is want.
func (ts *testServer) mustCall(t testing.TB, want int, method, path string, body any, out any) {
	t.Helper()
	resp := ts.call(t, method, path, body)
	if resp.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.Status, want, resp.Body)
	}
	if out != nil {
		resp.decode(t, out)
	}
}

// createComponent adds a component through the API.
func (ts *testServer) createComponent(t *testing.T, name string, extra map[string]any) store.Component {
	t.Helper()
	body := map[string]any{"name": name}
	for k, v := range extra {
		body[k] = v
	}
	var c store.Component
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/components", body, &c)
	return c
}

// createIncident opens an incident through the API.
func (ts *testServer) createIncident(t *testing.T, body map[string]any) store.Incident {
	t.Helper()
	var inc store.Incident
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents", body, &inc)
	return inc
}

// page fetches a public page once the snapshot has caught up with every
// change made so far, and parses it.
func (ts *testServer) page(t *testing.T, path string) (*goquery.Document, *http.Response) {
	t.Helper()
	ts.waitFresh(t)
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return parseBody(t, resp), resp
}

// getPage is page for a test that wants only the status code.
func (ts *testServer) getPage(t *testing.T, path string) (*goquery.Document, int) {
	t.Helper()
	doc, resp := ts.page(t, path)
	return doc, resp.StatusCode
}

// form posts a form the way a browser (or a mail provider) does: no token,
// no cookie.
func (ts *testServer) form(t *testing.T, path string, values url.Values) (*goquery.Document, int) {
	t.Helper()
	resp, err := http.PostForm(ts.URL+path, values)
	if err != nil {
		t.Fatal(err)
	}
	return parseBody(t, resp), resp.StatusCode
}

// parseBody reads and closes resp's body as HTML.
func parseBody(t *testing.T, resp *http.Response) *goquery.Document {
	t.Helper()
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// fetch sends one request to a public page once the snapshot has caught up,
// without the transport's transparent gzip handling, and reads the body.
func (ts *testServer) fetch(t *testing.T, method, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	ts.waitFresh(t)
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// text is the whitespace-normalised text of the selection.
func text(s *goquery.Selection) string {
	return strings.Join(strings.Fields(s.Text()), " ")
}

// checkAccessible checks what every page owes a screen reader: landmarks,
// one h1, headings that do not skip levels, and machine-readable UTC times.
func checkAccessible(t *testing.T, path string, doc *goquery.Document) {
	t.Helper()
	for _, landmark := range []string{"header", "nav", "main", "footer"} {
		if doc.Find(landmark).Length() == 0 {
			t.Errorf("%s: no <%s> landmark", path, landmark)
		}
	}
	if n := doc.Find("main").Length(); n != 1 {
		t.Errorf("%s: %d <main> elements, want 1", path, n)
	}
	if lang, _ := doc.Find("html").Attr("lang"); lang == "" {
		t.Errorf("%s: <html> has no lang", path)
	}
	if n := doc.Find("h1").Length(); n != 1 {
		t.Errorf("%s: %d h1 elements, want exactly 1", path, n)
	}
	prev := 0
	doc.Find("h1, h2, h3, h4, h5, h6").Each(func(_ int, h *goquery.Selection) {
		level := int(goquery.NodeName(h)[1] - '0')
		if prev == 0 && level != 1 {
			t.Errorf("%s: first heading is h%d %q, want h1", path, level, text(h))
		}
		if prev != 0 && level > prev+1 {
			t.Errorf("%s: heading h%d %q follows h%d: a level is skipped", path, level, text(h), prev)
		}
		prev = level
	})
	doc.Find("time").Each(func(_ int, tm *goquery.Selection) {
		dt, ok := tm.Attr("datetime")
		if !ok {
			t.Errorf("%s: <time>%s</time> has no datetime", path, text(tm))
			return
		}
		parsed, err := time.Parse(time.RFC3339, dt)
		if err != nil || !strings.HasSuffix(dt, "Z") || parsed.Location() != time.UTC {
			t.Errorf("%s: <time datetime=%q> is not RFC 3339 UTC", path, dt)
		}
		if text(tm) == "" {
			t.Errorf("%s: <time datetime=%q> has no text for people", path, dt)
		}
	})
}

// at makes the store date every change it records as if made at when, so a
// test can lay out a past; the real clock returns at the end of the test.
func (ts *testServer) at(t *testing.T, when time.Time) {
	t.Helper()
	ts.store.SetClock(func() time.Time { return when })
	t.Cleanup(func() { ts.store.SetClock(time.Now) })
}

// realClock puts the store back on the real clock.
func (ts *testServer) realClock() { ts.store.SetClock(time.Now) }

// sseEvent is one event as a client parsed it.
type sseEvent struct {
	ID, Event, Data string
}

// stream is a raw SSE connection read by our own minimal parser.
type stream struct {
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// openStream connects to /events with the given query and headers. When it
// returns, the server has registered the stream: every later change reaches it.
func openStream(t testing.TB, ts *testServer, query string, header http.Header) *stream {
	t.Helper()
	return openStreamAt(t, ts, "/events"+query, header)
}

// openStreamAt is openStream for a stream at path (another page's).
func openStreamAt(t testing.TB, ts *testServer, path string, header http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if h := header.Get("Host"); h != "" { // net/http sends req.Host, not the header
		req.Host = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{resp: resp, events: make(chan sseEvent, 1000), cancel: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" || len(data) > 0 {
					ev.Data = strings.Join(data, "\n")
					s.events <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return s
}

// next returns the next event.
func (s *stream) next(t testing.TB) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(waitLimit):
		t.Fatalf("no event within %v", waitLimit)
	}
	return sseEvent{}
}

// nextOf skips events until one named name arrives.
func (s *stream) nextOf(t testing.TB, name string) sseEvent {
	t.Helper()
	for {
		if ev := s.next(t); ev.Event == name {
			return ev
		}
	}
}

// withStallableStreams gives streams small buffers, in the hub and in the
// kernel, so that a client that stops reading fills them within kilobytes.
func withStallableStreams(s *testSetup) {
	s.cfg.StreamBuffer = 8
	s.smallSocketBuffers = true
}

// bigBody makes an event of about 9 KB, to fill a stalled stream quickly.
var bigBody = strings.Repeat("All hands are on this. ", 400)

// stallStream opens a live stream that sends its request and never reads a
// byte, and waits until the server has registered it.
func stallStream(t testing.TB, ts *testServer) {
	t.Helper()
	before := ts.srv.LiveClients()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /events?types=json HTTP/1.1\r\nHost: x\r\n\r\n")
	eventually(t, "the stalled stream to be registered", func() bool { return ts.srv.LiveClients() > before })
}

// lastEventID is the change feed's position.
func (ts *testServer) lastEventID(t *testing.T) int64 {
	t.Helper()
	id, err := ts.store.LastEventID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// withSubscriptions offers the subscribe form, as when SMTP is configured.
func withSubscriptions() testOption { return func(s *testSetup) { s.cfg.Subscriptions = true } }

// withWebhookAllow lets webhooks reach these hosts or CIDRs (the httptest
// receivers listen on 127.0.0.1).
func withWebhookAllow(t *testing.T, allow string) testOption {
	g, err := notify.NewGuard(allow)
	if err != nil {
		t.Fatal(err)
	}
	return func(s *testSetup) { s.cfg.WebhookGuard = g }
}

// startDispatcher runs the notification dispatcher on the test server's
// database, webhooks only, with adjust applied to its configuration.
func (ts *testServer) startDispatcher(t *testing.T, adjust ...func(*notify.Config)) *notify.Dispatcher {
	t.Helper()
	cfg := notify.Config{BaseURL: "http://status.example.test", PageName: "Acme", Poll: 50 * time.Millisecond,
		Webhooks: &notify.WebhookConfig{Guard: ts.srv.cfg.WebhookGuard, Timeout: 5 * time.Second}, Jitter: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, a := range adjust {
		a(&cfg)
	}
	d, err := notify.New(ts.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// noRetries makes a delivery the receiver refuses fail for good at its
// first attempt.
func noRetries(cfg *notify.Config) { cfg.Webhooks.Retry = []time.Duration{} }

func pendingJobs(t *testing.T, st *store.Store) int {
	t.Helper()
	n, err := st.PendingJobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// receiver is a webhook endpoint that verifies every request's Standard
// Webhooks signature with the secret Herald showed once, records what it
// got, and answers what the test says.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
	answer func(n int) (status int, header map[string]string)
}

type received struct {
	ID      string
	Body    map[string]any
	SigOK   bool
	Headers http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		rec := received{ID: req.Header.Get("webhook-id"), Headers: req.Header, SigOK: verify(r.secret, req.Header, body)}
		json.Unmarshal(body, &rec.Body)
		r.got = append(r.got, rec)
		answer := r.answer
		r.mu.Unlock()
		status := 204
		if answer != nil {
			var h map[string]string
			status, h = answer(n)
			for k, v := range h {
				w.Header().Set(k, v)
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// verify checks a request as a receiver following the Standard Webhooks
// spec would, written from the spec rather than from Herald's code.
func verify(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if v, s, _ := strings.Cut(sig, ","); v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type createdWebhook struct {
	store.Webhook
	Secret string `json:"secret"`
}

func (ts *testServer) registerWebhook(t *testing.T, r *receiver, extra map[string]any) createdWebhook {
	t.Helper()
	body := map[string]any{"url": r.URL + "/hook", "description": "ops"}
	for k, v := range extra {
		body[k] = v
	}
	var w createdWebhook
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/webhooks", body, &w)
	r.mu.Lock()
	r.secret = w.Secret
	r.mu.Unlock()
	return w
}

func deliveryIDText(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// testPassword is what test users sign in with.
const testPassword = "correct horse battery staple"

// addUser creates a user with a known password (not a one-time one).
func (ts *testServer) addUser(t *testing.T, email string, role store.Role) store.User {
	t.Helper()
	u, _, err := ts.store.CreateUser(t.Context(), store.UserInput{Email: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.SetPassword(t.Context(), u.ID, testPassword); err != nil {
		t.Fatal(err)
	}
	u, err = ts.store.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so a test sees each one.
type browser struct {
	t      *testing.T
	ts     *testServer
	client *http.Client
}

func (ts *testServer) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ts: ts, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signedIn is a browser already signed in as u (a session made directly,
// skipping the password hashing a sign-in costs).
func (ts *testServer) signedIn(t *testing.T, u store.User) *browser {
	t.Helper()
	b := ts.browser(t)
	raw, err := ts.store.CreateSession(t.Context(), store.SessionInput{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.setCookie("herald_session", raw)
	return b
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.ts.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.ts.URL + "/console")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// csrf is the token this browser's forms carry now.
func (b *browser) csrf() string {
	if s := b.cookie("herald_session"); s != "" {
		return csrfTokenFor(s)
	}
	return csrfTokenFor(b.cookie(preSessionName))
}

type consolePage struct {
	Status int
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

func (b *browser) do(req *http.Request) consolePage {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	return consolePage{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Doc: doc}
}

func (b *browser) get(path string) consolePage {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.ts.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form with this browser's CSRF token added.
func (b *browser) post(path string, form url.Values) consolePage {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[csrfField]; !ok {
		form.Set(csrfField, b.csrf())
	}
	return b.postRaw(path, form)
}

// postRaw submits a form exactly as given.
func (b *browser) postRaw(path string, form url.Values) consolePage {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// upload submits a multipart form, as a browser sends a file input: the
// fields, the CSRF token and one file as field (empty name: no file).
func (b *browser) upload(path string, fields url.Values, field, filename string, content []byte) consolePage {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if _, ok := fields[csrfField]; !ok {
		_ = w.WriteField(csrfField, b.csrf()) // into a buffer: cannot fail
	}
	for k, vs := range fields {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	if filename != "" {
		fw, err := w.CreateFormFile(field, filename)
		if err != nil {
			b.t.Fatal(err)
		}
		fw.Write(content)
	}
	if err := w.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", b.ts.URL+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// signIn goes through the sign-in form.
func (b *browser) signIn(email, password string) consolePage {
	b.t.Helper()
	// The form page hands out the pre-session cookie (and redirects when
	// a session is already valid).
	if p := b.get("/console/login"); p.Status != http.StatusOK && p.Status != http.StatusSeeOther {
		b.t.Fatalf("GET /console/login: %d", p.Status)
	}
	return b.post("/console/login", url.Values{"email": {email}, "password": {password},
		csrfField: {csrfTokenFor(b.cookie(preSessionName))}})
}

func location(p consolePage) string { return p.Header.Get("Location") }
