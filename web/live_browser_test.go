package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
)

// liveServer is a Herald on a fixed address that a test can stop and start
// again on the same database, as an operator restarting it would.
type liveServer struct {
	t     *testing.T
	store *store.Store
	addr  string
	srv   *Server
	http  *http.Server
	stop  context.CancelFunc
	done  chan struct{}
}

func (ls *liveServer) start() {
	t := ls.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Config{PageName: "Acme", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, ls.store)
	if err != nil {
		t.Fatal(err)
	}
	addr := ls.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ls.addr = ln.Addr().String()
	ls.srv, ls.stop, ls.done = srv, cancel, make(chan struct{})
	ls.http = &http.Server{Handler: srv.Handler()}
	ls.http.RegisterOnShutdown(srv.CloseStreams)
	go func() {
		defer close(ls.done)
		go srv.Run(ctx)
		if err := ls.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
}

func (ls *liveServer) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := ls.http.Shutdown(ctx); err != nil {
		ls.t.Errorf("shutdown: %v", err)
	}
	ls.stop()
	<-ls.done
}

func (ls *liveServer) url() string { return "http://" + ls.addr }

// The story of the live-updates issue: a visitor keeps the page open; an
// incident is posted and appears, banner and all, without a reload; the
// server restarts, the page says it is reconnecting, and once the server is
// back it catches up on what happened meanwhile — still without a reload.
func TestBrowserLiveUpdatesAndReconnect(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	api, err := st.CreateComponent(ctx, store.ComponentInput{Name: "API"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := st.CreateComponent(ctx, store.ComponentInput{Name: "Database"})
	if err != nil {
		t.Fatal(err)
	}
	search, err := st.CreateComponent(ctx, store.ComponentInput{Name: "Search"})
	if err != nil {
		t.Fatal(err)
	}
	ls := &liveServer{t: t, store: st}
	ls.start()
	defer func() {
		if ls.http != nil {
			ls.shutdown()
		}
	}()

	browser := newBrowser(t)
	if err := chromedp.Do(browser,
		chromedp.Navigate(ls.url()+"/"),
		chromedp.WaitVisible(chromedp.CSS("#overall-status")),
	); err != nil {
		t.Fatalf("load /: %v", err)
	}
	waitFor := func(what, predicate string) {
		t.Helper()
		start := time.Now()
		if _, err := chromedp.Run(browser, chromedp.Poll[bool](predicate,
			chromedp.WithPollingTimeout(waitLimit), chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
			html, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
			t.Fatalf("%s: not seen within %v (%v); page reads:\n%s", what, waitLimit, err, html)
		}
		t.Logf("%s: seen after %v", what, time.Since(start).Round(time.Millisecond))
	}
	text := func(sel string) string {
		return `((document.querySelector(` + jsString(sel) + `) || {}).textContent || "")`
	}
	waitFor("the Live indicator", text("#live-status")+` === "Live"`)
	// A marker that a reload would wipe out, and one on a row that nothing
	// here changes: catching up keeps the very element.
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.heraldTestMarker = true`)); err != nil {
		t.Fatal(err)
	}
	searchRow := `document.getElementById("component-` + search.ID + `")`
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`(`+searchRow+`.heraldMark = true)`)); err != nil {
		t.Fatal(err)
	}

	// An incident posted through the API appears in place.
	_, token, err := st.CreateToken(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"name":"Checkout failing","body":"Payments time out.","components":{"` + api.ID + `":"major_outage"}}`
	req, _ := http.NewRequest("POST", ls.url()+"/api/v1/incidents", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create incident: %v %v", err, resp)
	}
	resp.Body.Close()
	waitFor("the new incident and banner", text("#overall-status")+` === "Major System Outage" && `+text("#live-region")+`.includes("Checkout failing")`)

	// Restart: the page notices, and catches up on a change made while the
	// server was down.
	ls.shutdown()
	waitFor("the Reconnecting indicator", text("#live-status")+` === "Reconnecting…"`)
	if _, err := st.CreateIncident(ctx, store.IncidentInput{Name: "Database failover", Body: "Failing over to the replica.",
		Components: map[string]store.ComponentStatus{db.ID: store.PartialOutage}}); err != nil {
		t.Fatal(err)
	}
	ls.start()
	waitFor("the change made while the server was down", text("#live-region")+`.includes("Database failover") && `+text("#live-status")+` === "Live"`)
	if reloaded, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.heraldTestMarker !== true`)); err != nil || reloaded {
		t.Fatalf("the page reloaded (or could not be read: %v); it should have updated in place", err)
	}
	if kept, err := chromedp.Run(browser, chromedp.Evaluate[bool](searchRow+`.heraldMark === true`)); err != nil || !kept {
		t.Errorf("catching up replaced Search's row, which did not change (%v)", err)
	}
	if got, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.getElementById("live-announcer").textContent`)); !strings.Contains(got, "Status updated") {
		t.Errorf("screen readers were not told: live region says %q", got)
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
