package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/herald-status/herald/store"
)

// chromiumPath is Debian's Chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium for the test and returns a tab's
// context, bounded by a few wait limits (a bound on a hang, not a target). It skips the test when Chromium is missing,
// unless HERALD_REQUIRE_BROWSER=1 (as in CI), where a missing browser fails.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("HERALD_REQUIRE_BROWSER") == "1" {
			t.Fatalf("HERALD_REQUIRE_BROWSER=1 but Chromium is not usable: %v", err)
		}
		t.Skipf("Chromium not installed (%v); set HERALD_REQUIRE_BROWSER=1 to make this a failure", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844), // a phone: the page is phone first
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 3*waitLimit)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithLogf(t.Logf))
	// Cleanups run last in first out: close the tab, stop the browser (and
	// wait for it) before t.TempDir removes its profile.
	t.Cleanup(cancelTimeout)
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelTab)
	return ctx
}

// consoleProblems collects what the page reports as errors: script
// exceptions, console.error calls and browser log errors, which is where
// Content-Security-Policy violations and failed loads appear.
type consoleProblems struct {
	mu   sync.Mutex
	list []string
}

// listen starts the browser (if it has not started) and collects from now on.
func (p *consoleProblems) listen(ctx context.Context) error {
	return chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
				return
			}
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		case *log.EventEntryAdded:
			if ev.Entry.Level != log.EntryLevelError && ev.Entry.Level != log.EntryLevelWarning {
				return
			}
			msg = fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		default:
			return
		}
		p.mu.Lock()
		p.list = append(p.list, msg)
		p.mu.Unlock()
	})
}

// newWatchedBrowser is newBrowser with the page's problems collected.
func newWatchedBrowser(t *testing.T) (context.Context, *consoleProblems) {
	t.Helper()
	ctx := newBrowser(t)
	problems := &consoleProblems{}
	if err := problems.listen(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, problems
}

func (p *consoleProblems) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

func TestBrowserHomeShowsBannerAndStatus(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Website", nil)
	inc := ts.createIncident(t, map[string]any{
		"name": "Logins failing", "body": "We are investigating failed logins.",
		"components": map[string]string{api.ID: "major_outage"},
	})
	ts.waitFresh(t)

	ctx, problems := newWatchedBrowser(t)

	// run reads one value from the page, failing the test on error.
	run := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("browser: %s: %v (console: %q)", what, err, problems.get())
		}
		return strings.TrimSpace(v)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#overall-status")),
	); err != nil {
		t.Fatalf("browser: load /: %v (console: %q)", err, problems.get())
	}

	if got := run("banner", chromedp.Text(chromedp.CSS("#overall-status"))); got != "Major System Outage" {
		t.Errorf("banner reads %q in the browser, want Major System Outage", got)
	}
	if got := run("API status", chromedp.Text(chromedp.CSS("#component-"+api.ID+" .status"))); got != "Major Outage" {
		t.Errorf("API status reads %q in the browser, want Major Outage", got)
	}
	if got := run("incident", chromedp.Text(chromedp.CSS("#inc-"+inc.ID))); got != "Logins failing" {
		t.Errorf("active incident reads %q", got)
	}
	// Our stylesheet applied (the CSP let it load): the page's h1 is
	// visually hidden, one pixel wide.
	if got := run("h1 width", chromedp.Evaluate[string](`String(document.querySelector("h1").getBoundingClientRect().width)`)); got != "1" {
		t.Errorf("stylesheet not applied: the visually hidden h1 is %spx wide", got)
	}
	// Our script ran (the CSP let it run): it writes times in the visitor's
	// zone once the document is parsed.
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(".incidents time[data-localised]"))); err != nil {
		t.Errorf("page script did not localise times: %v (console: %q)", err, problems.get())
	}
	// One more round trip through the browser lets late reports (a blocked
	// resource, say) arrive before we read them.
	run("ready state", chromedp.Evaluate[string](`document.readyState`))
	for _, p := range problems.get() {
		t.Errorf("browser reported a problem: %s", p)
	}
}

// pollTrue waits until the script predicate holds in the page.
func pollTrue(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate,
		chromedp.WithPollingTimeout(waitLimit), chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		main, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
		t.Fatalf("%s: not seen (%v); the page reads:\n%s", what, err, main)
	}
}

// After subscribing, the visitor reads "Check your inbox" — and goes on
// reading it. The page used to open the live stream like the status page,
// take its first frame as news, and replace itself with what its address
// gives: an empty form, some 40 ms after the message appeared.
func TestBrowserSubscribeMessageStays(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	api := ts.createComponent(t, "API", nil)
	// A feed with events, so that a live stream has a frame to send.
	ts.createIncident(t, map[string]any{"name": "Slow API", "body": "Investigating.", "components": map[string]string{api.ID: "degraded_performance"}})
	ts.waitFresh(t)

	ctx, problems := newWatchedBrowser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/subscribe"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
	); err != nil {
		t.Fatalf("the subscribe form: %v (console: %q)", err, problems.get())
	}
	// The form's page carries a mark; the page the form answers does not.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.formPage = true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.subscribe-form button[type="submit"]`))); err != nil {
		t.Fatalf("subscribe: %v (console: %q)", err, problems.get())
	}
	// On the answer, wait for the page script to settle either way: it
	// left the page alone (a page that is not live says "off"), or it took
	// the page over and announced the replacement.
	// (Asked again while the answer loads: a question put to the page
	// being left fails.)
	settled := `window.formPage !== true && document.readyState === "complete" &&
		(document.getElementById("live-status").dataset.state === "off" || document.getElementById("live-announcer").textContent !== "")`
	eventually(t, "the answer, its script settled", func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](settled))
		return err == nil && ok
	})
	// A change while the page is open reaches every live page, not this one.
	ts.createIncident(t, map[string]any{"name": "Slow web", "body": "Investigating."})
	ts.waitFresh(t)
	if n := ts.srv.LiveClients(); n != 0 {
		t.Errorf("the subscribe page holds %d live streams, want none", n)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "Check your inbox") || !strings.Contains(got, "ada@example.com") {
		t.Errorf("the message is gone; the page reads:\n%s", got)
	}
	for _, p := range problems.get() {
		t.Errorf("browser reported a problem: %s", p)
	}
}

// "Live" claims the page follows changes: it is shown once the stream is
// connected, and never without the script.
func TestBrowserLiveIndicatorOnlyWhenConnected(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "API", nil)
	ts.waitFresh(t)
	shown := `(function () { var el = document.getElementById("live-status"); return !!el && el.getClientRects().length > 0 && el.textContent.trim(); })()`

	t.Run("without JavaScript", func(t *testing.T) {
		ctx := newBrowser(t)
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx,
			chromedp.Navigate(ts.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS("#overall-status")),
		); err != nil {
			t.Fatal(err)
		}
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[any](shown)); err != nil || got != false {
			t.Errorf("the live indicator shows %v (%v) with JavaScript off", got, err)
		}
	})
	t.Run("with JavaScript, once connected", func(t *testing.T) {
		ctx := newBrowser(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
			t.Fatal(err)
		}
		pollTrue(t, ctx, "the Live indicator", shown+` === "Live"`)
		if n := ts.srv.LiveClients(); n != 1 {
			t.Errorf("Live is shown with %d streams open, want 1", n)
		}
	})
}

// Each day of an uptime bar says its date and status when tapped (it takes
// focus, no script needed) and when stepped to with the arrow keys.
func TestBrowserUptimeDayShowsItsWords(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	now := time.Now().UTC()
	ts.at(t, now.AddDate(0, 0, -5))
	api := ts.createComponent(t, "API", nil)
	// An hour from 06:00 yesterday, so that it stays within yesterday
	// whatever time of day the test runs (from now-24h it crossed midnight
	// in the last hour of a UTC day).
	ts.outage(t, api.ID, now.Truncate(24*time.Hour).AddDate(0, 0, -1).Add(6*time.Hour), time.Hour)
	ts.realClock()
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+api.ID, map[string]any{"description": "The public API"}, nil)
	ts.waitFresh(t)

	ctx := newBrowser(t)
	bar := "#component-" + api.ID + " ol.days"
	yesterday := bar + " li:nth-last-child(2)"
	// The words of the day that has focus, as laid out: "" while hidden.
	focused := `(function () { var s = document.activeElement.querySelector("span"); var r = s && s.getBoundingClientRect();
		return r && r.width > 20 && r.left >= 0 && r.right <= window.innerWidth ? s.textContent : ""; })()`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(bar)),
		chromedp.Click(chromedp.CSS(yesterday)),
	); err != nil {
		t.Fatal(err)
	}
	want := now.AddDate(0, 0, -1).Format("Jan 2, 2006") + ": Major Outage, major outage 1 h"
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](focused)); err != nil || got != want {
		t.Errorf("a tap on yesterday shows %q (%v), want %q", got, err, want)
	}
	pollTrue(t, ctx, "the script to key the bar", `document.querySelector(`+jsString(bar)+`).dataset.keyed === "1"`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowLeft)); err != nil {
		t.Fatal(err)
	}
	want = now.AddDate(0, 0, -2).Format("Jan 2, 2006") + ": Operational"
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](focused)); err != nil || got != want {
		t.Errorf("the left arrow shows %q (%v), want the day before, %q", got, err, want)
	}
}

// On a phone, nothing on a public page is wider than the screen: a long
// line of code in a postmortem scrolls inside its block, not the page.
func TestBrowserPublicPagesFitAPhone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "Investigating.", "components": map[string]string{api.ID: "major_outage"}})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	long := "2026-10-26T03:02:11Z WARN notify: smtp 451 4.7.1 Try again later (queue full) relay=smtp.provider.example attempt=3 next_retry_in=40s"
	ts.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+inc.ID+"/postmortem", map[string]any{
		"body": "The relay said:\n\n```\n" + long + "\n```\n\nand `" + strings.Repeat("x", 80) + "` too."}, nil)
	var m map[string]any
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{"name": "Upgrade", "message": "Planned.", "components": []string{api.ID},
		"scheduled_for": time.Now().Add(time.Hour), "scheduled_until": time.Now().Add(2 * time.Hour)}, &m)
	ts.waitFresh(t)

	ctx, problems := newWatchedBrowser(t)
	overflow := `document.documentElement.scrollWidth - window.innerWidth`
	for _, path := range []string{"/", "/incidents/" + inc.ID, "/maintenance/" + m["id"].(string), "/history"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[float64](overflow)); err != nil || got > 0 {
			t.Errorf("%s is %v px wider than a 390 px phone (%v)", path, got, err)
		}
		if strings.HasPrefix(path, "/incidents/") {
			// The code block itself scrolls.
			if got, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var p = document.querySelector(".postmortem pre");
				return p.scrollWidth > p.clientWidth && getComputedStyle(p).overflowX === "auto"; })()`)); err != nil || !got {
				t.Errorf("the postmortem's long code line does not scroll inside its block (%v)", err)
			}
		}
	}
	for _, p := range problems.get() {
		t.Errorf("browser reported a problem: %s", p)
	}
}

// A live update changes what changed and leaves the rest of the page as it
// was: the rows, bars and groups that did not change are the very elements
// the page had (a mark set on each survives), focus stays where it was, and
// the page never reloads. A page that lacks a part it is sent the key of
// takes the region from the page, keeping what it can. A closed group shows
// its components when opened; one that a problem opens shows them at once.
func TestBrowserLiveUpdateChangesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	group := func(name string) string {
		var g store.ComponentGroup
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": name}, &g)
		return g.ID
	}
	core, data, edge := group("Core"), group("Data"), group("Edge")
	api := ts.createComponent(t, "API", map[string]any{"group_id": core})
	web := ts.createComponent(t, "Website", map[string]any{"group_id": core})
	db := ts.createComponent(t, "Database", map[string]any{"group_id": data})
	cdn := ts.createComponent(t, "CDN", map[string]any{"group_id": edge})
	search := ts.createComponent(t, "Search", nil)
	ts.createIncident(t, map[string]any{"name": "Website slow", "body": "Slow.", "components": map[string]string{web.ID: "degraded_performance"}})
	ts.waitFresh(t)
	setStatus := func(id, status string) {
		t.Helper()
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+id, map[string]any{"status": status}, nil)
	}

	ctx, problems := newWatchedBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the Live indicator", `document.getElementById("live-status").dataset.state === "live"`)
	eval := func(js string) bool {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return ok
	}
	row, bar := "#component-"+web.ID, "#component-"+web.ID+" .uptime"
	day := bar + " ol.days li:last-child"
	kept := []string{row, bar, "#component-" + search.ID, "#group-" + data, "#group-" + edge}
	mark := func(sels []string) {
		t.Helper()
		for _, sel := range sels {
			if !eval(`(function (el) { if (!el) { return false; } el.heraldMark = ` + jsString(sel) + `; return true; })(document.querySelector(` + jsString(sel) + `))`) {
				t.Fatalf("%s is not on the page", sel)
			}
		}
	}
	same := func(sel string) bool {
		return eval(`(document.querySelector(` + jsString(sel) + `) || {}).heraldMark === ` + jsString(sel))
	}
	mark(append(kept, "#component-"+api.ID))
	eval(`window.heraldNotReloaded = true`)
	if !eval(`!document.getElementById("group-` + data + `").open && !document.getElementById("component-` + db.ID + `") && document.getElementById("group-` + core + `").open`) {
		t.Fatal("want Core open (Website is slow) and Data closed, its components not on the page")
	}
	// Keyboard users step through a bar's days; an update leaves them there.
	if !eval(`(function (d) { d.focus(); return document.activeElement === d; })(document.querySelector(` + jsString(day) + `))`) {
		t.Fatal("could not focus a day of Website's bar")
	}

	setStatus(api.ID, "major_outage")
	pollTrue(t, ctx, "API's new status, in place", `document.querySelector("#component-`+api.ID+` .status").textContent.includes("Major Outage")`)
	for _, sel := range kept {
		if !same(sel) {
			t.Errorf("%s did not change, yet it is a new element", sel)
		}
	}
	if same("#component-" + api.ID) {
		t.Error("API's row changed, yet it is the old element")
	}
	if !eval(`document.activeElement === document.querySelector(` + jsString(day) + `)`) {
		t.Error("the day that had focus lost it")
	}

	// A page that somehow lacks Website's row (say it missed an update).
	eval(`(document.querySelector(` + jsString(row) + `).dataset.k = "stale") !== ""`)
	setStatus(api.ID, "partial_outage")
	pollTrue(t, ctx, "the region from the page", `document.querySelector("#component-`+api.ID+` .status").textContent.includes("Partial Outage") && `+
		`document.querySelector(`+jsString(row)+`).dataset.k !== "stale"`)
	if !same("#component-"+search.ID) || !same("#group-"+data) {
		t.Error("taking the region from the page replaced parts the page had")
	}

	// Opened, a closed group shows its components and their bars.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#group-"+data+" summary"))); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "Database's row and bar in the opened group", `document.querySelectorAll("#group-`+data+` #component-`+db.ID+` .uptime ol.days li").length > 0`)

	// A problem in a closed group opens it, its components shown; their
	// bars come from the group's page once the group is in view.
	setStatus(cdn.ID, "degraded_performance")
	pollTrue(t, ctx, "Edge opened by CDN's problem", `document.getElementById("group-`+edge+`").open && `+
		`document.querySelector("#component-`+cdn.ID+` .status").textContent.includes("Degraded Performance")`)
	eval(`(document.getElementById("group-` + edge + `").scrollIntoView(), true)`)
	pollTrue(t, ctx, "CDN's bar", `document.querySelectorAll("#component-`+cdn.ID+` .uptime ol.days li").length > 0`)
	if !eval(`window.heraldNotReloaded === true`) {
		t.Error("the page reloaded")
	}
	for _, p := range problems.get() {
		t.Errorf("browser reported a problem: %s", p)
	}
}

// Without a script, a closed group opens as any <details> does, and its
// link leads to the group's own page, which shows every component and its
// bar.
func TestBrowserClosedGroupWithoutScript(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Data"}, &g)
	db := ts.createComponent(t, "Database", map[string]any{"group_id": g.ID})
	ts.waitFresh(t)

	ctx, problems := newWatchedBrowser(t)
	group := "#group-" + g.ID
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			_, err := cdp.Call(ctx, tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(ts.URL+"/"),
		chromedp.Click(chromedp.CSS(group+" summary")),
		chromedp.WaitVisible(chromedp.CSS(group+" .group-more a")),
		chromedp.Click(chromedp.CSS(group+" .group-more a")),
		chromedp.WaitVisible(chromedp.CSS("#component-"+db.ID+" .uptime ol.days")),
	); err != nil {
		t.Fatalf("open the closed group and follow its link without a script: %v", err)
	}
	if url, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err != nil || url != "/groups/"+g.ID {
		t.Errorf("the link led to %q (%v), want the group's page", url, err)
	}
	if ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("live-status").hidden || !!document.querySelector("[data-localised]")`)); err != nil || ran {
		t.Errorf("the page script ran (%v): this test is about pages without it", err)
	}
	for _, p := range problems.get() {
		t.Errorf("browser reported a problem: %s", p)
	}
}
