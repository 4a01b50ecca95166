package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/herald-status/herald/store"
)

func TestWatchPrintsLiveEvents(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	url, out, stop := startServe(t, "--db", db, "--metrics-public")
	defer stop()
	token := printedToken(t, out.String())

	ctx, cancel := context.WithCancel(context.Background())
	watched := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"watch", url}, watched, io.Discard) }()
	// watch prints "Watching" before it connects: wait until the server
	// has registered its stream, from when on every change reaches it.
	eventually(t, "the watcher's stream to be registered", func() bool { return liveClients(t, url) == 1 })

	req, _ := http.NewRequest("POST", url+"/api/v1/incidents", strings.NewReader(`{"name":"Payments failing","body":"We are looking into it."}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create incident: %v %v", err, resp)
	}
	resp.Body.Close()

	eventually(t, "watch to print the incident", func() bool { return strings.Contains(watched.String(), "incident.created") })
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

// watching runs herald watch in-process until the test ends.
type watching struct {
	out, status *syncBuffer
	cancel      func()
	done        chan error
}

func startWatch(t *testing.T, url string) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{out: &syncBuffer{}, status: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- run(ctx, []string{"watch", url}, w.out, w.status) }()
	t.Cleanup(cancel)
	return w
}

// running fails the test if watch has ended.
func (w *watching) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-w.done:
		t.Fatalf("watch ended (%v) while Herald was restarting:\n%s\n%s", err, w.out, w.status)
	default:
	}
}

func openIncident(t *testing.T, base, token, name string) {
	t.Helper()
	if code := api(t, base, token, "POST", "/api/v1/incidents", map[string]string{"name": name, "body": "We are looking into it."}, nil); code != http.StatusCreated {
		t.Fatalf("open incident %q: %d", name, code)
	}
}

// A restart of Herald is a pause for watch, not its end: it reconnects to
// the new server on the same address, catches up on what happened while
// it was away (Last-Event-ID), and goes on printing.
func TestWatchKeepsGoingAcrossARestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	base, out, stop := startServe(t, "--db", db, "--metrics-public")
	token := printedToken(t, out.String())
	addr := strings.TrimPrefix(base, "http://")

	w := startWatch(t, base)
	eventually(t, "the watcher's stream to be registered", func() bool { return liveClients(t, base) == 1 })
	openIncident(t, base, token, "Payments failing")
	eventually(t, "watch to print the first incident", func() bool { return strings.Contains(w.out.String(), "Payments failing") })

	stop()
	eventually(t, "watch to notice that the server went away", func() bool { return strings.Contains(w.status.String(), "reconnecting") })
	w.running(t)
	// While Herald is down, a change is made to its database (as another
	// replica would): the server that comes back must replay it.
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateIncident(context.Background(), store.IncidentInput{Name: "Refunds delayed", Body: "Refunds are queued."}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	base2, _, stop2 := startServe(t, "--db", db, "--metrics-public", "--addr", addr)
	defer stop2()
	if base2 != base {
		t.Fatalf("the second server runs at %s, not at %s", base2, base)
	}
	eventually(t, "watch to catch up on the incident opened while Herald was down", func() bool {
		w.running(t)
		return strings.Contains(w.out.String(), "Refunds delayed")
	})
	openIncident(t, base2, token, "Search slow")
	eventually(t, "watch to print an incident from the new server", func() bool { return strings.Contains(w.out.String(), "Search slow") })

	w.cancel()
	if err := <-w.done; err != nil {
		t.Fatalf("watch ended with %v", err)
	}
	got := w.out.String()
	if n := strings.Count(got, "incident.created"); n != 3 {
		t.Errorf("watch printed %d incident.created events, want each of the 3 once:\n%s", n, got)
	}
	if !strings.Contains(w.status.String(), "reconnected") || !strings.HasSuffix(w.status.String(), "Stopped watching.\n") {
		t.Errorf("watch said:\n%s", w.status)
	}
}

// Ctrl-C or SIGTERM ends watch at once with status 0 and a word, whether
// it is streaming or waiting to reconnect.
func TestWatchStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	base, _, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "h.db"), "--metrics-public")
	defer stop()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "http://" + closed.Addr().String()
	closed.Close()

	for name, tt := range map[string]struct {
		url   string
		ready func(p *process) bool
	}{
		"streaming": {base, func(*process) bool { return liveClients(t, base) == 1 }},
		"waiting to reconnect": {nobody, func(p *process) bool {
			return strings.Contains(p.stderr.String(), "retrying in")
		}},
	} {
		t.Run(name, func(t *testing.T) {
			p := startHerald(t, nil, nil, "watch", tt.url)
			eventually(t, "watch to be "+name, func() bool {
				if p.exited() {
					t.Fatalf("watch ended early:\n%s\n%s", p.stdout, p.stderr)
				}
				return tt.ready(p)
			})
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t); code != 0 {
				t.Errorf("watch exited with status %d after SIGTERM, want 0:\n%s", code, p.stderr)
			}
			if !strings.HasSuffix(p.stderr.String(), "Stopped watching.\n") {
				t.Errorf("watch said on SIGTERM:\n%s", p.stderr)
			}
		})
	}
}

// An address that is not a live stream is a mistake to report, not a
// connection to retry for ever.
func TestWatchRefusesWhatIsNotAStream(t *testing.T) {
	t.Parallel()
	base, _, stop := startServe(t, "--db", filepath.Join(t.TempDir(), "h.db"))
	defer stop()
	_, stderr, code := heraldIn(t, "", nil, "watch", base+"/no-such-page")
	if code == 0 || !strings.Contains(stderr, "404") {
		t.Errorf("watch of a missing page: status %d, said:\n%s", code, stderr)
	}
}

// A hostile server (or a name saved by an older Herald) cannot drive the
// terminal through herald watch: escape sequences, OSC 52 clipboard
// writes, C1 controls and bidi overrides are printed as visible escapes.
func TestWatchNeutralisesControlCharacters(t *testing.T) {
	t.Parallel()
	const stream = "retry: 100\n\n" +
		// The name arrives JSON-escaped and is decoded to a real ESC.
		"id: 1\nevent: incident.created\ndata: {\"name\":\"\\u001b]52;c;cm0gLXJmIH4=\\u0007Payments\\u001b[2J\",\"status\":\"investigating\"}\n\n" +
		"id: 2\nevent: component.updated\x1b]0;owned\x07\ndata: not JSON \x1b[31mred\u009b2J \u202eevil\xff\n\n" +
		"id: 3\nevent: marker\ndata: {\"name\":\"the end\"}\n\n"
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, stream)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer hostile.Close()

	w := startWatch(t, hostile.URL)
	eventually(t, "watch to print the last event", func() bool { return strings.Contains(w.out.String(), "the end") })
	w.cancel()
	<-w.done
	got := w.out.String()
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "\xff"} {
		if strings.Contains(got, bad) {
			t.Errorf("watch printed %q raw:\n%q", bad, got)
		}
	}
	for _, want := range []string{`\x1b]52;c;cm0gLXJmIH4=\aPayments\x1b[2J`, `component.updated\x1b]0;owned\a`, `\u009b2J \u202eevil\xff`} {
		if !strings.Contains(got, want) {
			t.Errorf("watch printed no %q:\n%s", want, got)
		}
	}
}
