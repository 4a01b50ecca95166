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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/r3labs/sse/v2"
	"go.uber.org/goleak"

	"github.com/herald-status/herald/store"
)

func TestLiveUpdateReachesSubscribedClients(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.waitFresh(t)
	jsonStream := openStream(t, ts, "?types=json", nil)
	htmlStream := openStream(t, ts, "?types=html&parts=1&last_event_id="+strconv.FormatInt(ts.lastEventID(t), 10), nil)
	if ct := jsonStream.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	if jsonStream.resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Error("X-Accel-Buffering: no missing")
	}

	inc := ts.createIncident(t, map[string]any{"name": "Checkout errors", "body": "Investigating", "components": map[string]string{api.ID: "major_outage"}})

	// Each stream gets only the kind it asked for. readUntil reads one up to
	// the event named name that mentions marker, checking every event on
	// the way.
	readUntil := func(s *stream, wantKind func(sseEvent) bool, name, marker string) sseEvent {
		t.Helper()
		for {
			ev := s.next(t)
			if !wantKind(ev) {
				t.Errorf("stream %s got a %q event", s.resp.Request.URL.RawQuery, ev.Event)
			}
			if ev.Event == name && strings.Contains(ev.Data, marker) {
				return ev
			}
		}
	}
	isJSON := func(ev sseEvent) bool { return ev.Event != "page" }
	isPage := func(ev sseEvent) bool { return ev.Event == "page" }

	ev := readUntil(jsonStream, isJSON, "incident.created", inc.ID)
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

	// The change events went out before the fragment that shows them, so
	// the html stream has been offered the incident's events by now.
	page := readUntil(htmlStream, isPage, "page", "Checkout errors")
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
	// A change made after that fragment went out reaches the json stream
	// behind the fragment, had it been sent there.
	marker := ts.createComponent(t, "Marker", nil)
	readUntil(jsonStream, isJSON, "component.created", marker.ID)
}

// A page that comes back one update behind is sent that update's changed
// parts; one further behind is sent the whole region; the page script from
// before page events came in parts (it asks for types=html alone) is told
// to reload, since it could not apply them.
func TestLivePageCatchesUpByPartsOrWhole(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.waitFresh(t)
	before := ts.lastEventID(t)
	down := ts.createIncident(t, map[string]any{"name": "API down", "body": "Down.", "components": map[string]string{api.ID: "major_outage"}})
	ts.waitFresh(t)
	oneBehind := ts.lastEventID(t)
	ts.createIncident(t, map[string]any{"name": "Email late", "body": "Queued."})
	ts.waitFresh(t)

	pageFrom := func(last int64) string {
		t.Helper()
		st := openStream(t, ts, "?types=html&parts=1&last_event_id="+strconv.FormatInt(last, 10), nil)
		defer st.cancel()
		var frag struct{ HTML string }
		if err := json.Unmarshal([]byte(st.nextOf(t, "page").Data), &frag); err != nil {
			t.Fatal(err)
		}
		return frag.HTML
	}
	// The active incident that did not change is a placeholder; the day of
	// past incidents that lists both changed, and is sent.
	article := `aria-labelledby="inc-` + down.ID + `"`
	if got := pageFrom(oneBehind); !strings.Contains(got, "Email late") || strings.Contains(got, article) || !strings.Contains(got, "<template data-k=") {
		t.Errorf("one update behind: want the new incident, the rest as placeholders; got\n%s", got)
	}
	if got := pageFrom(before); !strings.Contains(got, "Email late") || !strings.Contains(got, article) || strings.Contains(got, "<template") {
		t.Errorf("two updates behind: want the whole region; got\n%s", got)
	}

	old := openStream(t, ts, "?types=html&last_event_id="+strconv.FormatInt(before, 10), nil)
	if ev := old.next(t); ev.Event != "reload" {
		t.Errorf("the old page script got %q, want reload", ev.Event)
	}
}

func TestLiveReconnectReplaysExactlyTheMissedEvents(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	first := openStream(t, ts, "?types=json", nil)
	ts.createComponent(t, "One", nil)
	seen := first.nextOf(t, "component.created")
	first.cancel() // the client goes away

	// Three changes while it is gone.
	var missed []string
	for _, name := range []string{"Two", "Three", "Four"} {
		missed = append(missed, ts.createComponent(t, name, nil).ID)
	}
	ts.waitFresh(t)

	again := openStream(t, ts, "?types=json", http.Header{"Last-Event-Id": {seen.ID}})
	var got []string
	lastID, _ := strconv.ParseInt(seen.ID, 10, 64)
	for range missed {
		ev := again.next(t)
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
	// It stays live after the replay, and what comes next is the next
	// change: nothing replayed twice in between.
	c := ts.createComponent(t, "Five", nil)
	if ev := again.next(t); ev.Event != "component.created" || !strings.Contains(ev.Data, c.ID) {
		t.Fatalf("after the replay: %+v, want the live component.created of %s", ev, c.ID)
	}
}

func TestLiveBadLastEventIDGetsReloadNotAnErrorPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "One", nil)
	ts.waitFresh(t)
	for _, bad := range []string{"abc", "-5", "999999", "1.5", "   ", "0x10"} {
		t.Run(bad, func(t *testing.T) {
			s := openStream(t, ts, "?types=json", http.Header{"Last-Event-Id": {bad}})
			if s.resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", s.resp.StatusCode)
			}
			if strings.TrimSpace(bad) == "" {
				// Blank means "no id": no reload, live from now on.
				c := ts.createComponent(t, "Blank", nil)
				if ev := s.next(t); ev.Event != "component.created" || !strings.Contains(ev.Data, c.ID) {
					t.Fatalf("got %+v, want the next change live", ev)
				}
				return
			}
			if ev := s.next(t); ev.Event != "reload" {
				t.Fatalf("got %+v, want a reload event", ev)
			}
		})
	}
}

func TestLiveTooFarBehindGetsOneReload(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for i := range 5 {
		ts.createComponent(t, fmt.Sprint("c", i), nil)
	}
	ts.waitFresh(t)
	if _, err := ts.store.PruneEvents(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, ts, "?types=json", http.Header{"Last-Event-Id": {"1"}})
	if ev := s.next(t); ev.Event != "reload" {
		t.Fatalf("got %+v, want reload", ev)
	}
	// One reload and no replay after it: the next event is the next change.
	c := ts.createComponent(t, "After", nil)
	if ev := s.next(t); ev.Event != "component.created" || !strings.Contains(ev.Data, c.ID) {
		t.Fatalf("after the reload: %+v, want the live component.created of %s", ev, c.ID)
	}
}

// A client that stops reading must not hold anyone up: its buffer fills, it
// is dropped, and the others receive every event, in order. (How long
// delivery takes meanwhile is BenchmarkLiveDeliveryWithStalledClient.)
func TestLiveStalledClientDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withStallableStreams)
	stallStream(t, ts)
	reader := openStream(t, ts, "?types=json", nil)
	// 60 events of ~9 KB are far more than the stalled client's buffer and
	// the small socket buffers hold.
	for i := 0; ts.srv.LiveClients() > 1; i++ {
		if i == 60 {
			t.Fatalf("%d live clients after %d events; the stalled one should have been dropped", ts.srv.LiveClients(), i)
		}
		name := fmt.Sprint("incident ", i)
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents", map[string]any{"name": name, "body": bigBody, "status": "resolved"}, nil)
		if ev := reader.nextOf(t, "incident.created"); !strings.Contains(ev.Data, `"`+name+`"`) {
			t.Fatalf("the reading client got %.80s, want %s: an event was lost", ev.Data, name)
		}
	}
	// The reader is still served after the drop.
	inc := ts.createIncident(t, map[string]any{"name": "After the drop", "body": "Still here."})
	if ev := reader.nextOf(t, "incident.created"); !strings.Contains(ev.Data, inc.ID) {
		t.Fatalf("after the drop the reading client got %.80s", ev.Data)
	}
}

// The hub never waits for a client: one whose buffer is full is dropped at
// once, and a client that reads receives every event.
func TestHubDropsFullClientWithoutBlocking(t *testing.T) {
	t.Parallel()
	h := NewHub(4, 0)
	slow, _, _, err := h.subscribe("1.2.3.4", kindJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	fast, _, _, err := h.subscribe("1.2.3.5", kindJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			id := int64(i + 1)
			h.broadcast(&frame{id: id, kind: kindJSON, bytes: []byte("x")})
			// The fast client reads each event before the next is sent.
			if f := <-fast.ch; f.id != id {
				t.Errorf("fast client got event %d, want %d", f.id, id)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("broadcast is blocked on a client that does not read")
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the client that never read was not dropped")
	}
	if h.Clients() != 1 {
		t.Fatalf("%d clients, want 1", h.Clients())
	}
}

func TestLiveStreamsPerIPAreCapped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.srv.main.hub.maxPerIP = 2
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
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) { s.cfg.Heartbeat = 50 * time.Millisecond })
	// Our parser drops comments, so read the wire directly.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /events?types=json HTTP/1.1\r\nHost: x\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(waitLimit))
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
	t.Parallel()
	ts := newTestServer(t)
	client := sse.NewClient(ts.URL + "/events?types=json")
	events := make(chan *sse.Event, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := client.SubscribeChanRawWithContext(ctx, events); err != nil {
		t.Fatal(err)
	}
	defer client.Unsubscribe(events)
	inc := ts.createIncident(t, map[string]any{"name": "Multi-line", "body": "line one\r\n\r\nline two\rline three\n\ndata: not a field"})
	deadline := time.After(waitLimit)
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
	t.Parallel()
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
