package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/r3labs/sse/v2"
	"go.uber.org/goleak"

	"github.com/herald-status/herald/store"
)

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

// openStream connects to /events with the given query and headers.
func openStream(t *testing.T, ts *testServer, query string, header http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
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

// next returns the next event, failing the test after timeout.
func (s *stream) next(t *testing.T, timeout time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	return sseEvent{}
}

// nextOf skips events until one named name arrives.
func (s *stream) nextOf(t *testing.T, name string, timeout time.Duration) sseEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev := s.next(t, time.Until(deadline))
		if ev.Event == name {
			return ev
		}
	}
}

// quiet asserts no event arrives for d.
func (s *stream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(d):
	}
}

func TestLiveUpdateReachesSubscribedClients(t *testing.T) {
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	waitFresh(t, ts)
	jsonStream := openStream(t, ts, "?types=json", nil)
	htmlStream := openStream(t, ts, "?types=html&last_event_id="+strconv.FormatInt(ts.lastEventID(t), 10), nil)
	if ct := jsonStream.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	if jsonStream.resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Error("X-Accel-Buffering: no missing")
	}

	inc := ts.createIncident(t, map[string]any{"name": "Checkout errors", "body": "Investigating", "components": map[string]string{api.ID: "major_outage"}})

	ev := jsonStream.nextOf(t, "incident.created", 2*time.Second)
	var got map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
		t.Fatalf("event data is not JSON: %v\n%s", err, ev.Data)
	}
	if got["id"] != inc.ID || got["name"] != "Checkout errors" || got["status"] != "investigating" {
		t.Errorf("incident.created carries %v", got)
	}
	if ev.ID == "" {
		t.Error("event has no id")
	}

	page := htmlStream.nextOf(t, "page", 2*time.Second)
	var frag struct {
		Version int64  `json:"version"`
		Banner  string `json:"banner"`
		HTML    string `json:"html"`
	}
	if err := json.Unmarshal([]byte(page.Data), &frag); err != nil {
		t.Fatalf("page event data: %v", err)
	}
	if frag.Banner != "Major System Outage" || !strings.Contains(frag.HTML, "Checkout errors") {
		t.Errorf("page fragment: banner %q, html has incident: %v", frag.Banner, strings.Contains(frag.HTML, "Checkout errors"))
	}
	// An html-only client gets no JSON events, and vice versa.
	for _, s := range []*stream{htmlStream} {
		for len(s.events) > 0 {
			if ev := <-s.events; ev.Event != "page" {
				t.Errorf("html stream got %q", ev.Event)
			}
		}
	}
}

func (ts *testServer) lastEventID(t *testing.T) int64 {
	t.Helper()
	id, err := ts.store.LastEventID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLiveReconnectReplaysExactlyTheMissedEvents(t *testing.T) {
	ts := newTestServer(t)
	first := openStream(t, ts, "?types=json", nil)
	ts.createComponent(t, "One", nil)
	seen := first.nextOf(t, "component.created", 2*time.Second)
	first.cancel() // the client goes away

	// Three changes while it is gone.
	var missed []string
	for _, name := range []string{"Two", "Three", "Four"} {
		missed = append(missed, ts.createComponent(t, name, nil).ID)
	}
	waitFresh(t, ts)

	again := openStream(t, ts, "?types=json", http.Header{"Last-Event-Id": {seen.ID}})
	var got []string
	lastID, _ := strconv.ParseInt(seen.ID, 10, 64)
	for range missed {
		ev := again.next(t, 2*time.Second)
		id, err := strconv.ParseInt(ev.ID, 10, 64)
		if err != nil || id != lastID+1 {
			t.Fatalf("event id %q after %d: want consecutive ids", ev.ID, lastID)
		}
		lastID = id
		var c struct{ ID string }
		json.Unmarshal([]byte(ev.Data), &c)
		got = append(got, c.ID)
	}
	if strings.Join(got, ",") != strings.Join(missed, ",") {
		t.Fatalf("replayed %v, want %v", got, missed)
	}
	again.quiet(t, 200*time.Millisecond) // no duplicates

	// And it stays live after the replay.
	c := ts.createComponent(t, "Five", nil)
	ev := again.nextOf(t, "component.created", 2*time.Second)
	if !strings.Contains(ev.Data, c.ID) {
		t.Fatalf("live event after replay: %s", ev.Data)
	}
}

func waitFresh(t *testing.T, ts *testServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.WaitFresh(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLiveBadLastEventIDGetsReloadNotAnErrorPage(t *testing.T) {
	ts := newTestServer(t)
	ts.createComponent(t, "One", nil)
	waitFresh(t, ts)
	for _, bad := range []string{"abc", "-5", "999999", "1.5", "   ", "0x10"} {
		t.Run(bad, func(t *testing.T) {
			s := openStream(t, ts, "?types=json", http.Header{"Last-Event-Id": {bad}})
			if s.resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", s.resp.StatusCode)
			}
			if strings.TrimSpace(bad) == "" {
				s.quiet(t, 100*time.Millisecond) // blank means "no id": start from now
				return
			}
			if ev := s.next(t, 2*time.Second); ev.Event != "reload" {
				t.Fatalf("got %+v, want a reload event", ev)
			}
		})
	}
}

func TestLiveTooFarBehindGetsOneReload(t *testing.T) {
	ts := newTestServer(t)
	for i := range 5 {
		ts.createComponent(t, fmt.Sprint("c", i), nil)
	}
	waitFresh(t, ts)
	if _, err := ts.store.PruneEvents(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, ts, "?types=json", http.Header{"Last-Event-Id": {"1"}})
	if ev := s.next(t, 2*time.Second); ev.Event != "reload" {
		t.Fatalf("got %+v, want reload", ev)
	}
	s.quiet(t, 200*time.Millisecond)
}

// A client that stops reading must not delay anyone: its buffer fills, it
// is dropped, and the others get every event promptly.
func TestLiveStalledClientDoesNotDelayOthers(t *testing.T) {
	ts := newTestServer(t, func(s *testSetup) {
		s.cfg.StreamBuffer = 8
		s.smallSocketBuffers = true
	})

	// A raw connection that sends its request and never reads a byte.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /events?types=json HTTP/1.1\r\nHost: x\r\n\r\n")
	deadline := time.Now().Add(2 * time.Second)
	for ts.srv.LiveClients() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	reader := openStream(t, ts, "?types=json", nil)
	big := strings.Repeat("All hands are on this. ", 400) // ~9 KB per event
	var delays []time.Duration
	for i := range 60 {
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents", map[string]any{"name": fmt.Sprint("incident ", i), "body": big, "status": "resolved"}, nil)
		committed := time.Now() // the API answers after the commit
		reader.nextOf(t, "incident.created", 2*time.Second)
		delays = append(delays, time.Since(committed))
		if ts.srv.LiveClients() == 1 {
			break // the stalled client has been dropped
		}
	}
	slices.Sort(delays)
	median, worst := delays[len(delays)/2], delays[len(delays)-1]
	if n := ts.srv.LiveClients(); n != 1 {
		t.Fatalf("%d live clients; the stalled one should have been dropped", n)
	}
	// The delay includes rebuilding the snapshot; a stalled client must add
	// nothing to it. The median keeps a GC pause in CI from failing the test.
	if median > 100*time.Millisecond {
		t.Errorf("delivery to a reading client took %v (median; worst %v) while another client was stalled", median, worst)
	}
	t.Logf("commit-to-delivery with a stalled client present: median %v, worst %v, over %d events", median, worst, len(delays))
}

// The hub itself never blocks on a full client and drops it.
func TestHubDropsFullClientWithoutBlocking(t *testing.T) {
	h := NewHub(4, 0)
	slow, _, _, err := h.subscribe("1.2.3.4", kindJSON)
	if err != nil {
		t.Fatal(err)
	}
	fast, _, _, err := h.subscribe("1.2.3.5", kindJSON)
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan int, 100)
	go func() {
		for range fast.ch {
			received <- 1
		}
	}()
	for i := range 20 {
		start := time.Now()
		h.broadcast(&frame{id: int64(i + 1), kind: kindJSON, bytes: []byte("x")})
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("broadcast %d took %v", i, d)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the client that never read was not dropped")
	}
	if h.Clients() != 1 {
		t.Fatalf("%d clients, want 1", h.Clients())
	}
	deadline := time.After(2 * time.Second)
	for n := 0; n < 20; n++ {
		select {
		case <-received:
		case <-deadline:
			t.Fatalf("fast client got %d of 20", n)
		}
	}
}

func TestLiveStreamsPerIPAreCapped(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.hub.maxPerIP = 2
	openStream(t, ts, "", nil)
	openStream(t, ts, "", nil)
	third := openStream(t, ts, "", nil)
	if third.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third stream from one address: status %d, want 429", third.resp.StatusCode)
	}
	if bad := openStream(t, ts, "?types=xml", nil); bad.resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown stream type: status %d", bad.resp.StatusCode)
	}
}

func TestLiveHeartbeat(t *testing.T) {
	ts := newTestServer(t, func(s *testSetup) { s.cfg.Heartbeat = 50 * time.Millisecond })
	// Our parser drops comments, so read the wire directly.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /events?types=json HTTP/1.1\r\nHost: x\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(conn)
	var sawRetry bool
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no heartbeat: %v", err)
		}
		if strings.HasPrefix(line, "retry: ") {
			sawRetry = true
		}
		if strings.HasPrefix(line, ": heartbeat") {
			break
		}
	}
	if !sawRetry {
		t.Error("no retry: hint before the heartbeat")
	}
}

// r3labs/sse's client, an independent parser, reads our framing, including
// a multi-line Markdown body inside the JSON.
func TestLiveFramingWithIndependentClient(t *testing.T) {
	ts := newTestServer(t)
	client := sse.NewClient(ts.URL + "/events?types=json")
	events := make(chan *sse.Event, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := client.SubscribeChanRawWithContext(ctx, events); err != nil {
		t.Fatal(err)
	}
	defer client.Unsubscribe(events)
	inc := ts.createIncident(t, map[string]any{"name": "Multi\nline", "body": "line one\r\n\r\nline two\rline three\n\ndata: not a field"})
	deadline := time.After(3 * time.Second)
	for {
		select {
		case ev := <-events:
			if string(ev.Event) != "incident.created" {
				continue
			}
			var got struct {
				ID      string `json:"id"`
				Updates []struct {
					Body string `json:"body"`
				} `json:"incident_updates"`
			}
			if err := json.Unmarshal(ev.Data, &got); err != nil {
				t.Fatalf("data %q: %v", ev.Data, err)
			}
			if got.ID != inc.ID || len(got.Updates) != 1 || !strings.Contains(got.Updates[0].Body, "data: not a field") {
				t.Fatalf("got %+v", got)
			}
			return
		case <-deadline:
			t.Fatal("independent client saw no incident.created")
		}
	}
}

func TestEncodeFrameSplitsEveryLineEnding(t *testing.T) {
	got := string(encodeFrame(7, "page", []byte("a\r\nb\rc\nd")))
	want := "id: 7\nevent: page\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Shutting down closes every stream and leaves no goroutine behind: not the
// streams' handlers, not the hub, not the background loop.
func TestLiveShutdownLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(ctx, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, st)
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error)
	go func() { runDone <- srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	client := &http.Client{Transport: &http.Transport{}}

	var bodies []io.ReadCloser
	for range 5 {
		resp, err := client.Get(hs.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
	}
	if n := srv.LiveClients(); n != 5 {
		t.Fatalf("%d live clients, want 5", n)
	}

	// Shut down as `herald serve` does: streams first, then the listener.
	srv.CloseStreams()
	for _, b := range bodies {
		if _, err := io.Copy(io.Discard, b); err != nil {
			t.Errorf("stream did not end cleanly: %v", err)
		}
		b.Close()
	}
	hs.Close()
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	st.Close()
	client.CloseIdleConnections()
	if resp, err := http.Get(hs.URL + "/events"); err == nil {
		resp.Body.Close()
		t.Fatal("server still answering after shutdown")
	}
	goleak.VerifyNone(t, before)
}
