package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

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
}

// newTestServer starts Herald on a fresh database in t.TempDir().
func newTestServer(t *testing.T, opts ...testOption) *testServer {
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
		if err := srv.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// Served exactly as `herald serve` serves it.
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config = NewHTTPServer(srv.Handler(), logger)
	if setup.smallSocketBuffers {
		hs.Listener = smallBufferListener{hs.Listener}
	}
	if setup.wrapListener != nil {
		hs.Listener = setup.wrapListener(hs.Listener)
	}
	hs.Listener = CoalescingListener(hs.Listener)
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

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// apiResponse is a response with its body read.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// decode unmarshals the body into v, failing the test if it cannot.
func (r apiResponse) decode(t *testing.T, v any) {
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
func (ts *testServer) call(t *testing.T, method, path string, body any) apiResponse {
	t.Helper()
	return ts.callWithToken(t, ts.token, method, path, body)
}

func (ts *testServer) callWithToken(t *testing.T, token, method, path string, body any) apiResponse {
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
func (ts *testServer) mustCall(t *testing.T, want int, method, path string, body any, out any) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.WaitFresh(ctx); err != nil {
		t.Fatalf("snapshot did not catch up: %v", err)
	}
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc, resp
}

// text is the whitespace-normalised text of the selection.
func text(s *goquery.Selection) string {
	return strings.Join(strings.Fields(s.Text()), " ")
}
