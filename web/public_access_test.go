package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// privateFixture is a Herald with a page for some people only, at
// /p/ops/ and at its own host, showing a component and a group with an
// incident and a maintenance of their own: whatever is on it, every route
// of the page has something to show to those who may see it.
type privateFixture struct {
	*testServer
	page  store.Page
	comp  store.Component
	group store.ComponentGroup
	inc   store.Incident
	mnt   store.Maintenance
	// logo is the page's logo, under /branding/ (its own business too).
	logo string
	// secrets are the words of the page that nobody without access may
	// read: its name, its components' and group's, its incident's and
	// maintenance's.
	secrets []string
}

const privateHost = "ops.internal.example"

func newPrivateFixture(t *testing.T, access string, ranges []string, opts ...testOption) privateFixture {
	t.Helper()
	// The walks post the subscribe form many times from one address.
	roomy := func(s *testSetup) { s.cfg.SubscribeLimit = 10000 }
	ts := newTestServer(t, append([]testOption{withSubscriptions(), roomy}, opts...)...)
	f := privateFixture{testServer: ts}
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Backoffice Cluster"}, &f.group)
	f.comp = ts.createComponent(t, "Ledger Database", nil)
	ts.createComponent(t, "Payroll Runner", map[string]any{"group_id": f.group.ID})
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "ops", "name": "Operations Floor", "host": privateHost, "components": []string{f.comp.ID}, "groups": []string{f.group.ID},
		"access": access, "ip_ranges": ranges,
	}, &f.page)
	f.inc = ts.createIncident(t, map[string]any{"name": "Ledger replica lagging", "body": "Replication is behind.", "components": map[string]string{f.comp.ID: "degraded_performance"}})
	from := time.Now().Add(48 * time.Hour)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Ledger vacuum night", "message": "Soon.", "components": []string{f.comp.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &f.mnt)
	var b store.Branding
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID+"/branding", map[string]any{"footer": "Ledger team footer"}, nil)
	ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/pages/"+f.page.ID+"/branding/logo", brandSVG("#0a6e31"), &b)
	f.logo = strings.TrimPrefix(templates.BrandAssetPath(b.Logo), "/branding/")
	f.secrets = []string{"Operations Floor", "Ledger Database", "Payroll Runner", "Backoffice Cluster", "Ledger replica lagging", "Replication is behind", "Ledger vacuum night",
		"Ledger team footer", "ACME"}
	return f
}

// pageRouteList is every route pageRoutes registers, as the default page
// has it ("/api/v2/summary.json"), read from the router: a route added to a
// page later is walked without this test changing.
func pageRouteList(t *testing.T, srv *Server) [][2]string {
	t.Helper()
	var list [][2]string
	for _, r := range srv.echo.Routes() {
		// The viewer sign-in routes are the way in, not the page: walked
		// by the viewers' tests.
		if rest, ok := strings.CutPrefix(r.Path, pageGroup); ok && !strings.HasPrefix(r.Method, "echo_") && !strings.HasPrefix(rest, "/viewer/") {
			list = append(list, [2]string{r.Method, rest})
		}
	}
	// A walk of nothing would pass: make sure it is the real list.
	for _, want := range [][2]string{{"GET", "/"}, {"GET", "/events"}, {"GET", v2Summary}, {"OPTIONS", v2Summary}, {"GET", "/badge.svg"}} {
		if !slices.Contains(list, want) {
			t.Fatalf("the page routes read from the router lack %v: %v", want, list)
		}
	}
	return list
}

// urlOf is a page route with its parameters filled in with the fixture's
// own objects, so that a visitor with access gets a 200 from each.
func (f privateFixture) urlOf(t *testing.T, route string) string {
	t.Helper()
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, ":") {
			continue
		}
		var id string
		switch {
		case p == ":id" && i > 0 && parts[i-1] == "incidents":
			id = f.inc.ID
		case p == ":id" && i > 0 && parts[i-1] == "maintenance":
			id = f.mnt.ID
		case p == ":id" && i > 0 && parts[i-1] == "groups":
			id = f.group.ID
		case p == ":id" && i > 0 && parts[i-1] == "components":
			id = f.comp.ID
		case p == ":token":
			id = "not-a-token"
		case p == ":file" && i > 0 && parts[i-1] == "branding":
			id = f.logo
		default:
			t.Fatalf("the page route %s has a parameter this test cannot fill: teach urlOf what goes there", route)
		}
		parts[i] = id
	}
	return strings.Join(parts, "/")
}

// visited is what one request to a page route got.
type visited struct {
	status int
	header http.Header
	body   []byte
}

// visit sends one request to the fixture's server at path, with Host host
// when it is not empty, and reads the answer; of a live stream, only its
// header (it never ends by itself).
func (f privateFixture) visit(t *testing.T, method, path, host string, header http.Header) visited {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if method == http.MethodOptions {
		req.Header.Set("Origin", "https://elsewhere.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return visited{status: resp.StatusCode, header: resp.Header}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return visited{status: resp.StatusCode, header: resp.Header, body: body}
}

// walk requests every route of the private page, by /p/ops/… and by its
// host, as a visitor sending header. admitted: each answers as it does on a
// public page, but for no cache and no other site's script. Otherwise each
// answers what deny says for the route and the path requested (a status,
// and where a 303 sends the visitor), and nothing of the page.
func (f privateFixture) walk(t *testing.T, header http.Header, admitted bool, deny func(method, route, path string) (int, string)) {
	t.Helper()
	f.waitFresh(t)
	for _, r := range pageRouteList(t, f.srv) {
		method, route := r[0], r[1]
		path := f.urlOf(t, route)
		for _, at := range []struct{ path, host string }{{"/p/ops" + path, ""}, {path, privateHost}} {
			where := method + " " + at.path
			if at.host != "" {
				where += " at " + at.host
			}
			got := f.visit(t, method, at.path, at.host, header)
			if cc := got.header.Get("Cache-Control"); !strings.HasPrefix(cc, "private, no-store") {
				t.Errorf("%s: Cache-Control %q, want private, no-store", where, cc)
			}
			if got.header.Get("Cdn-Cache-Control") != "" || got.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: a CDN or another site is let in: %v", where, got.header)
			}
			if strings.Contains(route, ":token") {
				// The pages the links of its emails lead to: the link
				// is the key, whoever follows it, and a link that is
				// not one opens nothing of the page.
				if got.status != http.StatusNotFound {
					t.Errorf("%s: %d, want 404 for a link that is none", where, got.status)
				}
				for _, s := range f.secrets {
					if !admitted && bytes.Contains(got.body, []byte(s)) {
						t.Errorf("%s: the answer to a visitor without access carries %q", where, s)
					}
				}
				continue
			}
			if admitted {
				want := http.StatusOK
				switch method {
				case http.MethodOptions:
					want = http.StatusNoContent
				case http.MethodPost: // the subscribe form, empty: refused past the door
					want = http.StatusUnprocessableEntity
					if route == "/subscribe/chat" || strings.HasPrefix(route, "/subscribe/sms") {
						want = http.StatusNotFound // no chat channel nor phone hears a private page
					}
				}
				if got.status != want {
					t.Errorf("%s: %d, want %d for a visitor who may see the page", where, got.status, want)
				}
				continue
			}
			want, wantLoc := deny(method, route, at.path)
			if got.status != want {
				t.Errorf("%s: %d, want %d", where, got.status, want)
			}
			if loc := got.header.Get("Location"); loc != wantLoc {
				t.Errorf("%s: sent to %q, want %q", where, loc, wantLoc)
			}
			for _, s := range f.secrets {
				if bytes.Contains(got.body, []byte(s)) {
					t.Errorf("%s: the answer to a visitor without access carries %q: %s", where, s, got.body)
				}
			}
		}
	}
}

// walkTheRest requests, at the private page's host, every public GET route
// that is not one of a page's own (the subscription pages, embed.js, the
// health checks…): they are the default page's, or nobody's, and say
// nothing of the private one.
func (f privateFixture) walkTheRest(t *testing.T) {
	t.Helper()
	f.waitFresh(t)
	own := map[string]bool{}
	for _, r := range pageRouteList(t, f.srv) {
		own[r[1]] = true
	}
	n := 0
	for _, r := range f.srv.echo.Routes() {
		if r.Method != http.MethodGet || own[r.Path] || strings.HasPrefix(r.Path, pageGroup) || strings.HasPrefix(r.Path, "/console") || strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		path := strings.NewReplacer(":token", "not-a-token", "*", "app.css").Replace(r.Path)
		got := f.visit(t, "GET", path, privateHost, nil)
		for _, s := range f.secrets {
			if bytes.Contains(got.body, []byte(s)) {
				t.Errorf("GET %s at %s (%d) carries %q", path, privateHost, got.status, s)
			}
		}
		n++
	}
	if n < 5 {
		t.Fatalf("only %d other routes walked: is the list read right?", n)
	}
	// Nor do its 404s, which would otherwise wear its name.
	for _, at := range []struct{ path, host string }{{"/nowhere", privateHost}, {"/p/ops/nowhere", ""}, {"/p/ops/incidents/nosuch", privateHost}} {
		got := f.visit(t, "GET", at.path, at.host, nil)
		for _, s := range f.secrets {
			if bytes.Contains(got.body, []byte(s)) {
				t.Errorf("GET %s (Host %q, %d) carries %q", at.path, at.host, got.status, s)
			}
		}
	}
}

// signInFirst is what a signed-in page answers a visitor without a
// session: people are sent to sign in and back, tools told they need to.
func signInFirst(method, route, path string) (int, string) {
	if isPersonRoute(method, route) {
		return http.StatusSeeOther, "/console/login?next=" + url.QueryEscape(path)
	}
	return http.StatusUnauthorized, ""
}

// finishSignInFirst is what it answers a session the console holds at the
// password change: people go to the console, which asks for it (not to the
// sign-in form, which would send a valid session straight back).
func finishSignInFirst(method, route, _ string) (int, string) {
	if isPersonRoute(method, route) {
		return http.StatusSeeOther, "/console"
	}
	return http.StatusUnauthorized, ""
}

// isPersonRoute reports whether a page route is one a person opens in a
// browser: an HTML page, not a document, badge or stream.
func isPersonRoute(method, route string) bool {
	return (method == http.MethodGet || method == http.MethodHead) && route != "/events" && !strings.Contains(route[strings.LastIndex(route, "/"):], ".")
}

func notYourAddress(string, string, string) (int, string) { return http.StatusForbidden, "" }

func sessionCookie(raw string) http.Header { return http.Header{"Cookie": {"herald_session=" + raw}} }

func forwardedFor(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

// A page for signed-in people: every route of it, its HTML, documents,
// feeds, calendars, badges and stream, asks a visitor without a session to
// sign in and shows nothing; a console user of any role reads all of it,
// never from a cache.
func TestPrivatePageForSignedInPeople(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessSignedIn, nil)
	t.Run("no session", func(t *testing.T) { f.walk(t, nil, false, signInFirst) })
	t.Run("a made-up session", func(t *testing.T) { f.walk(t, sessionCookie("not-a-session"), false, signInFirst) })
	viewer := f.addUser(t, "viewer@example.com", store.RoleViewer)
	raw, err := f.store.CreateSession(t.Context(), store.SessionInput{UserID: viewer.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a viewer", func(t *testing.T) { f.walk(t, sessionCookie(raw), true, nil) })
	// A session the console holds at the password change is no key
	// either: the console lets it do nothing else yet.
	fresh, _, err := f.store.CreateUser(t.Context(), store.UserInput{Email: "new@example.com", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	oneTime, err := f.store.CreateSession(t.Context(), store.SessionInput{UserID: fresh.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a one-time password not yet changed", func(t *testing.T) { f.walk(t, sessionCookie(oneTime), false, finishSignInFirst) })
	t.Run("the rest of the site at its host", func(t *testing.T) { f.walkTheRest(t) })
	// The default page stays public, and caches as before.
	if got := f.visit(t, "GET", "/", "", nil); got.status != 200 || strings.Contains(got.header.Get("Cache-Control"), "private") {
		t.Errorf("the default page: %d, Cache-Control %q", got.status, got.header.Get("Cache-Control"))
	}
}

// A page for some networks: a client inside its ranges reads every route,
// by its own address or, behind a proxy Herald trusts, by the address the
// proxy forwards; anyone else gets a 403 and nothing of the page.
func TestPrivatePageForAddresses(t *testing.T) {
	t.Parallel()
	t.Run("behind a trusted proxy", func(t *testing.T) {
		t.Parallel()
		f := newPrivateFixture(t, store.AccessIP, []string{"203.0.113.0/24", "2001:db8::/32"}, behindProxy())
		t.Run("the proxy's own address", func(t *testing.T) { f.walk(t, nil, false, notYourAddress) })
		t.Run("outside the ranges", func(t *testing.T) { f.walk(t, forwardedFor("198.51.100.7"), false, notYourAddress) })
		t.Run("inside", func(t *testing.T) { f.walk(t, forwardedFor("203.0.113.9"), true, nil) })
		t.Run("inside, IPv6", func(t *testing.T) { f.walk(t, forwardedFor("2001:db8:5::1"), true, nil) })
		// A console session is no key to a page for some networks.
		u := f.addUser(t, "admin@example.com", store.RoleAdmin)
		raw, err := f.store.CreateSession(t.Context(), store.SessionInput{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("signed in, outside", func(t *testing.T) { f.walk(t, sessionCookie(raw), false, notYourAddress) })
	})
	t.Run("no proxy trusted", func(t *testing.T) {
		t.Parallel()
		f := newPrivateFixture(t, store.AccessIP, []string{"203.0.113.0/24"})
		// Anyone can write X-Forwarded-For: unless the operator trusts a
		// proxy, it is not an address.
		t.Run("a forwarded address inside", func(t *testing.T) { f.walk(t, forwardedFor("203.0.113.9"), false, notYourAddress) })
		f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"ip_ranges": []string{"203.0.113.0/24", "127.0.0.1"}}, nil)
		t.Run("its own address inside", func(t *testing.T) { f.walk(t, nil, true, nil) })
	})
	// The person shut out is told why, in words, on a page of its own.
	f := newPrivateFixture(t, store.AccessIP, []string{"203.0.113.0/24"})
	f.waitFresh(t)
	doc, status := f.getPage(t, "/p/ops/")
	if status != http.StatusForbidden || !strings.Contains(doc.Find("main").Text(), "the address you came from is not one of them") {
		t.Errorf("a person outside the ranges: %d %q", status, doc.Find("main").Text())
	}
}

// Sent to sign in from a private page, a console user lands back on it.
func TestPrivatePageSignInComesBack(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessSignedIn, nil)
	f.addUser(t, "support@example.com", store.RoleViewer)
	f.waitFresh(t)
	b := f.browser(t)
	target := "/p/ops/incidents/" + f.inc.ID
	first := b.get(target)
	if first.Status != http.StatusSeeOther {
		t.Fatalf("the page without a session: %d", first.Status)
	}
	form := b.get(location(first))
	next, _ := form.Doc.Find(`input[name=next]`).Attr("value")
	if form.Status != 200 || next != target {
		t.Fatalf("the sign-in form: %d, next %q", form.Status, next)
	}
	if h := text(form.Doc.Find("h1")); h != "Sign in to see this page" {
		t.Errorf("the sign-in form is headed %q, want it to say why the visitor is there", h)
	}
	signed := b.post("/console/login", url.Values{"email": {"support@example.com"}, "password": {testPassword}, "next": {next}})
	if signed.Status != http.StatusSeeOther || location(signed) != target {
		t.Fatalf("signing in: %d to %q, want %s", signed.Status, location(signed), target)
	}
	page := b.get(location(signed))
	if page.Status != 200 || !strings.Contains(page.Body, "Operations Floor") || !strings.Contains(page.Body, "Ledger replica lagging") {
		t.Errorf("back on the page: %d %s", page.Status, page.Doc.Find("main").Text())
	}
	if cc := page.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("the page signed in: Cache-Control %q", cc)
	}
}

// After signing in, the console sends people on to a page of this site
// only: never to another one, however the address is dressed up.
func TestSignInSendsOnWithinTheSite(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	b := ts.signedIn(t, ts.addUser(t, "a@example.com", store.RoleViewer))
	for next, want := range map[string]string{
		"/p/ops/":                  "/p/ops/",
		"/console/incidents":       "/console/incidents",
		"/history?page=2":          "/history?page=2",
		"//evil.example/":          "/console",
		"/\\evil.example/":         "/console",
		"https://evil.example/":    "/console",
		"/\t/evil.example/":        "/console",
		"javascript:alert(1)":      "/console",
		"":                         "/console",
		"/%0d%0aSet-Cookie:%20x=1": "/%0d%0aSet-Cookie:%20x=1", // still escaped: a path, not a header
	} {
		p := b.get("/console/login?next=" + url.QueryEscape(next))
		if p.Status != http.StatusSeeOther || location(p) != want {
			t.Errorf("signed in, next=%q: %d to %q, want %q", next, p.Status, location(p), want)
		}
	}
}

// ended waits until the server closes the stream.
func (s *stream) ended(t testing.TB) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the stream was still open after %v", waitLimit)
		}
	}
}

// A page made private closes the live streams its visitors had open: they
// were let in by the old rule, and reconnecting they meet the new one. The
// default page's stream goes on.
func TestPageMadePrivateClosesItsStreams(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.waitFresh(t)
	bySlug := openStreamAt(t, f.testServer, "/p/ops/events?types=json", nil)
	byHost := openStreamAt(t, f.testServer, "/events?types=json", http.Header{"Host": {privateHost}})
	all := openStream(t, f.testServer, "?types=json", nil)
	for _, s := range []*stream{bySlug, byHost, all} {
		if s.resp.StatusCode != 200 {
			t.Fatalf("a stream of the public page: %d", s.resp.StatusCode)
		}
	}
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"access": store.AccessSignedIn}, nil)
	bySlug.ended(t)
	byHost.ended(t)
	again := openStreamAt(t, f.testServer, "/p/ops/events?types=json", nil)
	if again.resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reconnecting without a session: %d, want 401", again.resp.StatusCode)
	}
	// Signed in, the stream is open again, and carries what follows.
	u := f.addUser(t, "viewer@example.com", store.RoleViewer)
	raw, err := f.store.CreateSession(t.Context(), store.SessionInput{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	back := openStreamAt(t, f.testServer, "/p/ops/events?types=json", sessionCookie(raw))
	if back.resp.StatusCode != 200 || !strings.HasPrefix(back.resp.Header.Get("Cache-Control"), "private, no-store") {
		t.Fatalf("reconnecting signed in: %d, Cache-Control %q", back.resp.StatusCode, back.resp.Header.Get("Cache-Control"))
	}
	f.createIncident(t, map[string]any{"name": "Email delays", "body": "Looking."})
	for _, s := range []*stream{all, back} {
		if ev := s.nextOf(t, "incident.created"); !strings.Contains(ev.Data, "Email delays") {
			t.Errorf("a stream after the change: %s", ev.Data)
		}
	}
}

// A private page has no place in the static mirror, which anyone can
// read: it is never written there, and a page made private leaves it.
func TestMirrorLeavesPrivatePagesOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newPrivateFixture(t, store.AccessPublic, nil, withMirror(dir))
	gone := func(rel string) func() bool {
		return func() bool {
			_, err := os.Stat(filepath.Join(dir, rel))
			return errors.Is(err, fs.ErrNotExist)
		}
	}
	eventually(t, "the public page in the mirror", func() bool { return !gone("p/ops/index.html")() })
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"access": store.AccessIP, "ip_ranges": []string{"10.0.0.0/8"}}, nil)
	eventually(t, "the page made private to leave the mirror", gone("p/ops"))

	var vault store.Page
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "vault", "name": "Vault", "components": []string{f.comp.ID}, "access": store.AccessSignedIn}, &vault)
	// The mirror is written in the order of the changes: once it shows
	// one made after the private page, it would have shown the page too.
	f.createIncident(t, map[string]any{"name": "Marker after the vault", "body": "Looking."})
	eventually(t, "the later change in the mirror", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "index.html"))
		return err == nil && bytes.Contains(b, []byte("Marker after the vault"))
	})
	for _, rel := range []string{"p/vault", "p/ops"} {
		if !gone(rel)() {
			t.Errorf("%s is in the mirror", rel)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && (bytes.Contains(b, []byte("Operations Floor")) || bytes.Contains(b, []byte(`"Vault"`))) {
			t.Errorf("%s names a private page", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Who may see a page, given badly through the API: a clear error naming
// the field, and the page as it was.
func TestPageAccessBadInput(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	tooMany := make([]string, store.MaxIPRanges+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("10.0.%d.0/24", i)
	}
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		field  string
		says   string
	}{
		{"an unknown kind", map[string]any{"access": "friends"}, 422, "access", `"friends" is not a kind of access`},
		{"not a string", map[string]any{"access": true}, 400, "access", "string"},
		{"a malformed range", map[string]any{"access": "ip", "ip_ranges": []string{"10.0.0.0/33"}}, 422, "ip_ranges", `"10.0.0.0/33" is not a CIDR range`},
		{"a name for a range", map[string]any{"access": "ip", "ip_ranges": []string{"office"}}, 422, "ip_ranges", "is not a CIDR range"},
		{"ranges as one string", map[string]any{"access": "ip", "ip_ranges": "10.0.0.0/8"}, 400, "ip_ranges", "array"},
		{"addresses with no range", map[string]any{"access": "ip"}, 422, "ip_ranges", "at least one range"},
		{"addresses with empty ranges", map[string]any{"access": "ip", "ip_ranges": []string{" "}}, 422, "ip_ranges", "at least one range"},
		{"too many ranges", map[string]any{"access": "ip", "ip_ranges": tooMany}, 422, "ip_ranges", "more than the 100"},
		{"a malformed viewer address", map[string]any{"access": "email", "viewers": []string{"ana@example.com", "bob@"}}, 422, "viewers", `"bob@" is not an email address`},
		{"a malformed viewer domain", map[string]any{"access": "email", "viewers": []string{"@exa_mple.com"}}, 422, "viewers", "is not an email address such as ana@example.com, nor a domain such as @example.com"},
		{"a viewer domain without a dot", map[string]any{"access": "email", "viewers": []string{"localhost"}}, 422, "viewers", "needs a dot"},
		{"viewers by email with none", map[string]any{"access": "email"}, 422, "viewers", "needs at least one address or domain"},
		{"viewers by email with empty ones", map[string]any{"access": "email", "viewers": []string{" "}}, 422, "viewers", "needs at least one address or domain"},
		{"viewers as one string", map[string]any{"access": "email", "viewers": "ana@example.com"}, 400, "viewers", "array"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{{"PATCH", "/api/v1/pages/" + f.page.ID}, {"POST", "/api/v1/pages"}} {
				body := map[string]any{"slug": "other", "name": "Other"}
				if req.method == "PATCH" {
					body = map[string]any{}
				}
				for k, v := range c.body {
					body[k] = v
				}
				resp := f.call(t, req.method, req.path, body)
				var e apiErr
				resp.decode(t, &e)
				if resp.Status != c.status || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.says) {
					t.Errorf("%s: %d %+v, want %d on %s saying %q", req.method, resp.Status, e.Error, c.status, c.field, c.says)
				}
			}
		})
	}
	pages, err := f.store.ListPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || pages[0].Access != store.AccessPublic || len(pages[0].IPRanges) != 0 || len(pages[0].Viewers) != 0 || !pages[0].UpdatedAt.Equal(f.page.UpdatedAt) {
		t.Errorf("refused requests changed the pages: %+v", pages)
	}
	f.waitFresh(t)
	if got := f.visit(t, "GET", "/p/ops/", "", nil); got.status != 200 || !bytes.Contains(got.body, []byte("Operations Floor")) {
		t.Errorf("the page after refused changes: %d", got.status)
	}
}

// An admin chooses in the console who may see a page: the list says it,
// the form shows it back, and a range that is not one is refused on the
// form, with what was typed kept, changing nothing.
func TestConsolePageAccess(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	admin := f.signedIn(t, f.addUser(t, "boss@example.com", store.RoleAdmin))
	form := func(access, ranges string) url.Values {
		return url.Values{"name": {"Operations Floor"}, "slug": {"ops"}, "host": {privateHost}, "components": {f.comp.ID}, "access": {access}, "ip_ranges": {ranges}}
	}

	bad := admin.post("/console/pages/"+f.page.ID, form(store.AccessIP, "203.0.113.0/24\noffice wifi"))
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Doc.Find("#e-ip_ranges").Text(), `"office" is not a CIDR range`) {
		t.Errorf("a range that is not one: %d %q", bad.Status, bad.Doc.Find(".form-errors, #e-ip_ranges").Text())
	}
	if got := bad.Doc.Find("#f-ip_ranges").Text(); got != "203.0.113.0/24\noffice wifi" {
		t.Errorf("the form lost the ranges typed: %q", got)
	}
	if _, ok := bad.Doc.Find(`input[name=access][value=ip]`).Attr("checked"); !ok {
		t.Error("the form lost the choice made")
	}
	if bad := admin.post("/console/pages/"+f.page.ID, form(store.AccessIP, " ")); bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "at least one range") {
		t.Errorf("some networks, none given: %d", bad.Status)
	}
	if p, _ := f.store.GetPage(t.Context(), f.page.ID); p.Access != store.AccessPublic {
		t.Fatalf("refused forms changed the page: %+v", p)
	}

	if r := admin.post("/console/pages/"+f.page.ID, form(store.AccessIP, "203.0.113.0/24, 10.1.0.0/16\n2001:db8::/32")); r.Status != http.StatusSeeOther {
		t.Fatalf("saving some networks: %d %s", r.Status, r.Doc.Find("main").Text())
	}
	p, _ := f.store.GetPage(t.Context(), f.page.ID)
	if p.Access != store.AccessIP || !slices.Equal(p.IPRanges, []string{"203.0.113.0/24", "10.1.0.0/16", "2001:db8::/32"}) {
		t.Errorf("saved %s %v", p.Access, p.IPRanges)
	}
	if row := text(admin.get("/console/pages").Doc.Find("#page-" + p.ID)); !strings.Contains(row, "3 IP ranges only") {
		t.Errorf("the list says %q", row)
	}
	edit := admin.get("/console/pages/" + p.ID)
	if got := edit.Doc.Find("#f-ip_ranges").Text(); got != "203.0.113.0/24\n10.1.0.0/16\n2001:db8::/32" {
		t.Errorf("the edit form's ranges: %q", got)
	}
	if _, status := f.getPage(t, "/p/ops/"); status != http.StatusForbidden {
		t.Errorf("the page for some networks, from elsewhere: %d", status)
	}

	// Signed-in people: the ranges are kept for a switch back.
	if r := admin.post("/console/pages/"+f.page.ID, form(store.AccessSignedIn, edit.Doc.Find("#f-ip_ranges").Text())); r.Status != http.StatusSeeOther {
		t.Fatalf("saving signed-in people: %d", r.Status)
	}
	if row := text(admin.get("/console/pages").Doc.Find("#page-" + p.ID)); !strings.Contains(row, "signed-in people only") {
		t.Errorf("the list says %q", row)
	}
	f.waitFresh(t)
	if page := admin.get("/p/ops/"); page.Status != 200 || !strings.Contains(page.Body, "Operations Floor") {
		t.Errorf("the admin on the page: %d", page.Status)
	}
	// A form without the choice leaves it as it is.
	old := form("", "")
	old.Del("access")
	old.Del("ip_ranges")
	if r := admin.post("/console/pages/"+f.page.ID, old); r.Status != http.StatusSeeOther {
		t.Fatalf("a form without the choice: %d", r.Status)
	}
	if p, _ := f.store.GetPage(t.Context(), f.page.ID); p.Access != store.AccessSignedIn || len(p.IPRanges) != 3 {
		t.Errorf("a form without the choice changed it: %s %v", p.Access, p.IPRanges)
	}
	if r := admin.post("/console/pages", url.Values{"name": {"Vault"}, "slug": {"vault"}, "access": {store.AccessSignedIn}}); r.Status != http.StatusSeeOther {
		t.Fatalf("a new private page: %d", r.Status)
	}
	if resp, _ := f.fetch(t, "GET", "/p/vault/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a new private page, without a session: %d, want a sign-in", resp.StatusCode)
	}
}
