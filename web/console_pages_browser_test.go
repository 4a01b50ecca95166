package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
)

// consolePageCheck is run in every console page the tour visits. It names
// what fails, so that a failure says which element to fix:
//   - overflow: the page is wider than the window (phones), with the
//     elements that stick out and are not inside a box that scrolls;
//   - unlabelled: form controls without a label (label[for], a wrapping
//     label, aria-label or aria-labelledby) and buttons without a name;
//   - contrast: visible text below WCAG AA against the background it is
//     drawn on (4.5:1, 3:1 for large text), found by walking up the
//     ancestors and compositing their backgrounds.
const consolePageCheck = `(() => {
  const out = { overflow: [], unlabelled: [], contrast: [], words: [] };
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (typeof el.className === "string" && el.className.trim()) s += "." + el.className.trim().split(/\s+/).join(".");
    if (el.getAttribute && el.getAttribute("name")) s += "[name=" + el.getAttribute("name") + "]";
    const t = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 50);
    if (t) s += " \"" + t + "\"";
    return s;
  };
  const shown = (el) => el.getClientRects().length > 0 && (!el.checkVisibility || el.checkVisibility({ visibilityProperty: true, opacityProperty: true }));

  // Horizontal overflow.
  const vw = window.innerWidth;
  if (document.documentElement.scrollWidth > vw) {
    const scrolls = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const ox = getComputedStyle(a).overflowX;
        if (ox === "auto" || ox === "scroll" || ox === "hidden" || ox === "clip") return true;
      }
      return false;
    };
    // The elements that stick out, outside boxes that scroll; failing
    // those, any (one positioned out of its scrolling box, say).
    const find = (skipScrolling) => {
      const wide = [];
      for (const el of document.body.querySelectorAll("*")) {
        if (!shown(el) || (skipScrolling && scrolls(el))) continue;
        const r = el.getBoundingClientRect();
        if (r.right > vw + 1 && !wide.some((w) => w.contains(el))) wide.push(el);
      }
      return wide;
    };
    let wide = find(true);
    if (!wide.length) wide = find(false);
    out.overflow.push("page is " + document.documentElement.scrollWidth + " px wide in a " + vw + " px window");
    for (const el of wide.slice(0, 8)) out.overflow.push(describe(el) + " reaches " + Math.round(el.getBoundingClientRect().right) + " px");
  }

  // Labels.
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const by = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    if (by.length && by.every((id) => { const l = document.getElementById(id); return l && l.textContent.trim(); })) return true;
    return false;
  };
  for (const el of document.querySelectorAll("input, select, textarea, button")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (type === "hidden") continue;
    if (el.tagName === "BUTTON" || type === "submit" || type === "button" || type === "reset") {
      if (!named(el) && !(el.textContent || el.value || "").trim()) out.unlabelled.push(describe(el) + " (a button without a name)");
      continue;
    }
    const labelled = named(el) || Array.from(el.labels || []).some((l) => l.textContent.trim());
    if (!labelled) out.unlabelled.push(describe(el));
  }

  // Contrast.
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1,
  });
  const canvas = () => {
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    return dark ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
  };
  const background = (el) => {
    const layers = [];
    for (let a = el; a; a = a.parentElement) {
      const bg = parse(getComputedStyle(a).backgroundColor);
      if (bg && bg.a > 0) { layers.push(bg); if (bg.a >= 1) break; }
    }
    let c = layers.length && layers[layers.length - 1].a >= 1 ? layers.pop() : canvas();
    while (layers.length) c = over(layers.pop(), c);
    return c;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const seen = new Set();
  const check = (el) => {
    if (seen.has(el)) return;
    seen.add(el);
    if (!shown(el) || el.closest("[disabled], [aria-hidden=true]")) return;
    const cs = getComputedStyle(el);
    const fg = parse(el instanceof SVGElement ? cs.fill : cs.color);
    if (!fg) return;
    const bg = background(el);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    const r = ratio(over(fg, bg), bg);
    if (r < need) out.contrast.push(describe(el) + ": " + r.toFixed(2) + ":1, needs " + need + ":1 (" + cs.color + " on rgb(" + [bg.r, bg.g, bg.b].map(Math.round).join(", ") + "))");
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.textContent.trim() && n.parentElement && !n.parentElement.closest("option, script, style, title")) check(n.parentElement);
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea")) check(el);
  // Words run together where markup meets text ("PublishedDec 1",
  // "UTC –Dec", "UTC(this browser)").
  const text = document.body.innerText;
  for (const re of [/[a-z](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d/g, /\b(?:UTC|GMT[+-]?\d*|[AP]M)[A-Za-z(]/g, /\S[–—][A-Za-z0-9]|[A-Za-z0-9][–—]\S/g, /[A-Za-z0-9)] [.,;:](?=\s|$)/g]) {
    for (const m of text.matchAll(re)) out.words.push(JSON.stringify(text.slice(Math.max(0, m.index - 20), m.index + 20)));
  }
  return JSON.stringify(out);
})()`

// pageProblems is what consolePageCheck found on one page.
type pageProblems struct {
	Overflow   []string `json:"overflow"`
	Unlabelled []string `json:"unlabelled"`
	Contrast   []string `json:"contrast"`
	Words      []string `json:"words"`
}

// screenshotDir is where the tour writes its screenshots: HERALD_SCREENSHOTS
// when set (to keep them), else the test's artifact directory (kept under
// the output directory with go test -artifacts).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("HERALD_SCREENSHOTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshots in %s", dir)
	return dir
}

// tourData fills a server with what makes every console page show
// something: the demo page, a draft from Alertmanager, a template, a
// subscriber, a webhook with a delivery log, a second user. It returns the
// console URL for every route pattern.
func tourData(t *testing.T, ts *testServer) map[string]string {
	t.Helper()
	ctx := t.Context()
	if _, err := dataset.Demo(ctx, ts.store); err != nil {
		t.Fatal(err)
	}
	_, draft := ts.alert(t, fixture(t, "firing.json"))
	tp, err := ts.store.CreateIncidentTemplate(ctx, store.IncidentTemplateInput{Name: "Investigating", Title: "Degraded service",
		Status: store.Investigating, Body: "We are investigating reports of errors. Next update within 30 minutes."})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := ts.store.AddSubscriber(ctx, store.SubscriberInput{Email: "pat@example.com", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	dana := ts.addUser(t, "dana@example.com", store.RoleCommander)

	r := newReceiver(t)
	r.answer = func(n int) (int, map[string]string) {
		if n == 0 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusNoContent, nil
	}
	// The demo's own notifications go out first, so that the webhook's log
	// holds only what follows.
	ts.startDispatcher(t, noRetries)
	ts.drainOutbox(t)
	hook := ts.registerWebhook(t, r, map[string]any{"description": "Ops chat"})

	incidents, err := ts.store.ListIncidents(ctx, store.IncidentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var open, resolved store.Incident
	for _, inc := range incidents {
		switch {
		case inc.Open() && open.ID == "":
			open = inc
		case !inc.Open() && inc.Postmortem != nil:
			resolved = inc
		}
	}
	if open.ID == "" || resolved.ID == "" {
		t.Fatalf("the demo has no open incident or none with a postmortem: %+v", incidents)
	}
	// Two deliveries: the first fails, the second gets through.
	for _, body := range []string{"Connections to the region are recovering.", "Deliveries are back to normal; we are watching."} {
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+open.ID+"/updates", map[string]any{"status": "monitoring", "body": body}, nil)
		ts.drainOutbox(t)
	}

	maint, err := ts.store.ListMaintenances(ctx, store.MaintenanceFilter{Limit: 10})
	if err != nil || len(maint) == 0 {
		t.Fatalf("the demo's maintenance: %v", err)
	}
	groups, err := ts.store.ListComponentGroups(ctx)
	if err != nil || len(groups) == 0 {
		t.Fatalf("the demo's groups: %v", err)
	}
	comps, err := ts.store.ListComponents(ctx)
	if err != nil || len(comps) == 0 {
		t.Fatalf("the demo's components: %v", err)
	}
	// For some networks, so that the form shows the ranges.
	page, err := ts.store.CreatePage(ctx, store.PageInput{Slug: "acme", Name: "Acme Corp", Host: "status.acme.example", Components: []string{comps[0].ID}, Groups: []string{groups[0].ID},
		Access: store.AccessIP, IPRanges: []string{"203.0.113.0/24", "2001:db8::/32"}})
	if err != nil {
		t.Fatal(err)
	}
	// An internal component, on that page alone, and the page's own
	// subscriber: the lists mark them.
	if _, err := ts.store.UpdateComponent(ctx, comps[0].ID, store.ComponentPatch{Internal: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AddSubscriber(ctx, store.SubscriberInput{Email: "pat@example.com", PageID: page.ID, Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	brandTourPage(t, ts, page.ID)
	return map[string]string{
		"/console/pages":                                   "/console/pages",
		"/console/pages/:id":                               "/console/pages/" + page.ID,
		"/console/pages/:id/branding":                      "/console/pages/" + page.ID + "/branding",
		"/console/branding":                                "/console/branding",
		"/console":                                         "/console",
		"/console/account":                                 "/console/account",
		"/console/account/two-factor":                      "/console/account/two-factor",
		"/console/audit":                                   "/console/audit",
		"/console/components":                              "/console/components",
		"/console/components/:id":                          "/console/components/" + comps[0].ID,
		"/console/drafts/:id":                              "/console/drafts/" + draft.IncidentID,
		"/console/groups/:id":                              "/console/groups/" + groups[0].ID,
		"/console/incidents":                               "/console/incidents",
		"/console/incidents/new":                           "/console/incidents/new",
		"/console/incidents/:id":                           "/console/incidents/" + open.ID,
		"/console/incidents/:id/postmortem":                "/console/incidents/" + resolved.ID + "/postmortem",
		"/console/incidents/:id/edit":                      "/console/incidents/" + open.ID + "/edit",
		"/console/incidents/:id/updates/:update_id/edit":   "/console/incidents/" + open.ID + "/updates/" + open.Updates[0].ID + "/edit",
		"/console/incidents/:id/updates/:update_id/delete": "/console/incidents/" + open.ID + "/updates/" + open.Updates[0].ID + "/delete",
		"/console/maintenances":                            "/console/maintenances",
		"/console/maintenances/new":                        "/console/maintenances/new",
		"/console/maintenances/:id":                        "/console/maintenances/" + maint[0].ID,
		"/console/report":                                  "/console/report",
		"/console/settings":                                "/console/settings",
		"/console/subscribers":                             "/console/subscribers",
		"/console/subscribers/:id":                         "/console/subscribers/" + sub.ID,
		"/console/templates":                               "/console/templates",
		"/console/templates/new":                           "/console/templates/new",
		"/console/templates/:id":                           "/console/templates/" + tp.ID,
		"/console/tokens":                                  "/console/tokens",
		"/console/users":                                   "/console/users",
		"/console/users/:id":                               "/console/users/" + dana.ID,
		"/console/webhooks":                                "/console/webhooks",
		"/console/webhooks/:id":                            "/console/webhooks/" + hook.ID,
		"/console/login":                                   "/console/login",
	}
}

// consoleStop is one page of the tour: the route and a URL that opens it.
type consoleStop struct{ route, url string }

// name is the stop's screenshot name: "console-incidents-id".
func (s consoleStop) name() string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ReplaceAll(s.route, ":", ""), "-"), "-")
}

// consolePages are the tour's stops: every console page a GET route
// serves, except the fragments the console script fetches, the CSV
// exports, the QR code image, the branding images and single sign-on's redirects (to the
// provider and back, to sign in or to confirm). A page added without a stop here fails the test.
func consolePages(t *testing.T, ts *testServer, urls map[string]string) []consoleStop {
	t.Helper()
	var stops []consoleStop
	for _, r := range ts.srv.echo.Routes() {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, "/console") ||
			strings.HasPrefix(r.Path, "/console/dashboard/") || strings.HasSuffix(r.Path, ".csv") || strings.HasSuffix(r.Path, ".svg") || strings.HasSuffix(r.Path, "/branding/:image") ||
			strings.HasPrefix(r.Path, "/console/login/sso") || r.Path == "/console/confirm/sso" {
			continue
		}
		u, ok := urls[r.Path]
		if !ok {
			t.Errorf("the console page %s has no stop on the tour: add one to tourData", r.Path)
			continue
		}
		stops = append(stops, consoleStop{r.Path, u})
	}
	slices.SortFunc(stops, func(a, b consoleStop) int { return strings.Compare(a.route, b.route) })
	return slices.CompactFunc(stops, func(a, b consoleStop) bool { return a.route == b.route })
}

// Every console page, at a desktop's and a phone's width, light and dark:
// screenshots for a person to look at, and the checks a machine can make —
// nothing wider than a phone, every control labelled, every text readable
// (WCAG AA).
func TestBrowserConsolePagesLookRight(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	urls := tourData(t, ts)
	pages := consolePages(t, ts, urls)
	admin := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	dir := screenshotDir(t)

	ctx, problems := consoleBrowser(t, ts)
	var login consoleStop
	pages = slices.DeleteFunc(pages, func(p consoleStop) bool {
		if p.route == "/console/login" {
			login = p
			return true
		}
		return false
	})
	look := func(page consoleStop) { t.Helper(); lookEverywhere(t, ctx, problems, ts, dir, page) }
	// Signed out: the sign-in page; then every page signed in.
	look(login)
	signInWithBrowser(t, ctx, problems, ts, admin.Email, testPassword)
	for _, page := range pages {
		look(page)
	}
	noProblems(t, ctx, problems)
}

// lookEverywhere loads a page once and sees it at each width in each
// scheme (the layout and the colours follow the window and the setting
// live): atEveryWidth.
func lookEverywhere(t *testing.T, ctx context.Context, problems *consoleProblems, ts *testServer, dir string, page consoleStop) {
	t.Helper()
	browse(t, ctx, problems, page.url, chromedp.Navigate(ts.URL+page.url), chromedp.WaitVisible(chromedp.CSS("main h1")))
	atEveryWidth(t, ctx, problems, dir, page.name(), page.route)
}

// atEveryWidth shows the page the tab has open at a desktop's and a
// phone's width, light and dark: a screenshot of each (name-width-scheme)
// and checkPage's checks.
func atEveryWidth(t *testing.T, ctx context.Context, problems *consoleProblems, dir, name, route string) {
	t.Helper()
	for _, width := range []int64{1280, 390} {
		for _, scheme := range []string{"light", "dark"} {
			browse(t, ctx, problems, fmt.Sprintf("%s at %d px, %s", route, width, scheme),
				chromedp.EmulateViewport(width, 900),
				colorScheme(scheme),
			)
			shoot(t, ctx, dir, fmt.Sprintf("%s-%d-%s.png", name, width, scheme))
			checkPage(t, ctx, route, scheme, width)
		}
	}
}

// colorScheme makes the page see prefers-color-scheme: scheme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkPage(t *testing.T, ctx context.Context, page, scheme string, width int64) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](consolePageCheck))
	if err != nil {
		t.Fatalf("check %s: %v", page, err)
	}
	var p pageProblems
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("check %s: %v in %s", page, err, raw)
	}
	where := fmt.Sprintf("%s at %d px, %s", page, width, scheme)
	if width <= 390 && len(p.Overflow) > 0 {
		t.Errorf("%s overflows sideways:\n  %s", where, strings.Join(p.Overflow, "\n  "))
	}
	if len(p.Unlabelled) > 0 {
		t.Errorf("%s has controls without a label:\n  %s", where, strings.Join(p.Unlabelled, "\n  "))
	}
	if len(p.Contrast) > 0 {
		t.Errorf("%s has text below WCAG AA contrast:\n  %s", where, strings.Join(p.Contrast, "\n  "))
	}
	if len(p.Words) > 0 {
		t.Errorf("%s runs words together:\n  %s", where, strings.Join(p.Words, "\n  "))
	}
}

// The page check finds what it looks for: a page made to fail each check
// fails it, naming the element.
func TestBrowserPageCheckFindsProblems(t *testing.T) {
	t.Parallel()
	page := `<!DOCTYPE html><html lang="en"><body style="margin:0;background:#fff">
<main><h1>Bad page</h1>
<p id="faint" style="color:#bbbbbb">Pale grey on white</p>
<div style="background:#0550ae"><span id="onblue" style="color:#cf222e">Red on blue</span></div>
<p style="font-size:32px;font-weight:700;color:#949494" id="big">Large grey text passes at 3:1</p>
<input id="nolabel" type="text">
<label for="named">Named</label><input id="named" type="text">
<label>Wrapped <select id="wrapped"><option>x</option></select></label>
<button id="empty" type="submit"></button>
<div id="wide" style="width:900px">Too wide</div>
<div style="overflow-x:auto"><div style="width:900px">Scrolls in its box</div></div>
<p>Published<time>Dec 1, 10:00 UTC</time> – <time>Dec 2, 11:00 UTC</time>(this browser)</p>
<p>Impact began <time>Dec 1, 10:00 UTC</time> . Nothing is public.</p>
</main></body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 800), chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](consolePageCheck))
	if err != nil {
		t.Fatal(err)
	}
	var p pageProblems
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatal(err)
	}
	has := func(list []string, what string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, what) })
	}
	for _, want := range []string{"#faint", "#onblue"} {
		if !has(p.Contrast, want) {
			t.Errorf("contrast: %s not found in %q", want, p.Contrast)
		}
	}
	if has(p.Contrast, "#big") {
		t.Errorf("large text at 3:1 reported: %q", p.Contrast)
	}
	for _, want := range []string{"#nolabel", "#empty"} {
		if !has(p.Unlabelled, want) {
			t.Errorf("labels: %s not found in %q", want, p.Unlabelled)
		}
	}
	if has(p.Unlabelled, "#named") || has(p.Unlabelled, "#wrapped") {
		t.Errorf("labelled controls reported: %q", p.Unlabelled)
	}
	if len(p.Words) != 3 || !has(p.Words, "PublishedDec") || !has(p.Words, "UTC(this") || !has(p.Words, "UTC . Nothing") {
		t.Errorf("words: %q, want PublishedDec, UTC(this and UTC . Nothing", p.Words)
	}
	if !has(p.Overflow, "#wide") || has(p.Overflow, "Scrolls in its box") {
		t.Errorf("overflow: %q, want #wide alone", p.Overflow)
	}
}

// With its scripts running, the console shows times in the reader's zone,
// naming it; takes maintenance times in that zone; and inserts a template
// where the cursor is, keeping what was typed.
func TestBrowserConsoleTimesAndTemplates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})
	tp, err := ts.store.CreateIncidentTemplate(t.Context(), store.IncidentTemplateInput{Name: "Fix", Status: store.Monitoring, Body: "A fix is in place."})
	if err != nil {
		t.Fatal(err)
	}
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{"name": "Upgrade", "body": "Planned.",
		"scheduled_for": "2099-01-15T15:00:00Z", "scheduled_until": "2099-01-15T16:00:00Z"}, &m)
	ts.addUser(t, "cmd@example.com", store.RoleCommander)

	ctx, problems := consoleBrowser(t, ts)
	browse(t, ctx, problems, "a reader in New York", chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
		return err
	}))
	signInWithBrowser(t, ctx, problems, ts, "cmd@example.com", testPassword)

	browse(t, ctx, problems, "the incident", chromedp.Navigate(ts.URL+"/console/incidents/"+inc.ID), chromedp.WaitVisible(chromedp.CSS(".latest time[data-localised]")))
	if got := read(t, ctx, "update time", chromedp.Text(chromedp.CSS(".latest time"))); !strings.HasSuffix(got, "EST") && !strings.HasSuffix(got, "EDT") {
		t.Errorf("an update's time reads %q, want it in New York's time, the zone named", got)
	}
	browse(t, ctx, problems, "type", chromedp.SendKeys(chromedp.CSS("#f-body"), "Rolled back. Watching."))
	body := read(t, ctx, "insert a template", chromedp.Evaluate[string](`(() => {
		const body = document.getElementById("f-body"), pick = document.getElementById("f-template");
		body.setSelectionRange(13, 13);
		pick.value = "`+tp.ID+`";
		document.querySelector("button.use-template").click();
		return body.value + "|" + pick.value + "|" + document.querySelector("input[name=status]:checked").value;
	})()`))
	if body != "Rolled back. A fix is in place. Watching.|"+"|monitoring" {
		t.Errorf("after Use template the message, choice and status read %q", body)
	}
	if now, err := ts.store.GetIncident(t.Context(), inc.ID); err != nil || len(now.Updates) != 1 {
		t.Errorf("Use template posted: %d updates (%v)", len(now.Updates), err)
	}

	// The schedule form moves the times the server wrote (UTC) into the
	// reader's zone, says which, and the server reads them back in it.
	browse(t, ctx, problems, "the maintenance", chromedp.Navigate(ts.URL+"/console/maintenances/"+m.ID), chromedp.WaitVisible(chromedp.CSS("#f-tz")))
	if got := read(t, ctx, "zone", chromedp.Value(chromedp.CSS("#f-tz"))); got != "America/New_York" {
		t.Errorf("the zone field reads %q", got)
	}
	if got := read(t, ctx, "start", chromedp.Value(chromedp.CSS("#f-scheduled_for"))); got != "2099-01-15T10:00" {
		t.Errorf("the start reads %q, want 10:00 in New York", got)
	}
	browse(t, ctx, problems, "move it an hour later",
		chromedp.SetValue(chromedp.CSS("#f-scheduled_for"), "2099-01-15T11:00"),
		chromedp.SetValue(chromedp.CSS("#f-scheduled_until"), "2099-01-15T12:00"),
		chromedp.Click(chromedp.CSS(`form[action="/console/maintenances/`+m.ID+`"] button[type=submit]`)),
		waitFlash("maintenance-saved"),
	)
	got, err := ts.store.GetMaintenance(t.Context(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.ScheduledFor.UTC().Format(time.RFC3339); s != "2099-01-15T16:00:00Z" {
		t.Errorf("stored start %s, want 16:00 UTC (11:00 in New York)", s)
	}

	// A draft that appears on an open dashboard has its times in the
	// reader's zone too.
	browse(t, ctx, problems, "the dashboard", chromedp.Navigate(ts.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#drafts")))
	ts.alert(t, fixture(t, "firing.json"))
	browse(t, ctx, problems, "the draft to appear", chromedp.WaitVisible(chromedp.CSS("#drafts .draft-card time[data-localised]")))
	if got := read(t, ctx, "alert time", chromedp.Text(chromedp.CSS("#drafts .draft-card time"))); !strings.HasSuffix(got, "EST") {
		t.Errorf("the refreshed draft's alert began %q, want New York's time", got)
	}
	noProblems(t, ctx, problems)
}
