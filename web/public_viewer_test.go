package web

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

// mailbox is an in-process SMTP server that keeps every message it is
// sent, for the tests that follow an email's link.
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []mailed
}

// mailed is one message as the mailbox received it: its recipients, its
// header and its plain-text part, decoded.
type mailed struct {
	to     []string
	header mail.Header
	text   string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	m := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{m: m}, nil }))
	srv.Domain = "mailbox.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return m
}

// sendsHere points a dispatcher's email at the mailbox.
func (m *mailbox) sendsHere(cfg *notify.Config) {
	host, port, _ := net.SplitHostPort(m.addr)
	p, _ := strconv.Atoi(port)
	cfg.SMTP = &notify.SMTPConfig{Host: host, Port: p, TLS: "none", From: "Acme Status <status@acme.test>", Timeout: 5 * time.Second}
}

func (m *mailbox) messages() []mailed {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailed(nil), m.msgs...)
}

type mailboxSession struct {
	m  *mailbox
	to []string
}

func (s *mailboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailboxSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	text, err := plainPart(msg)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, mailed{to: s.to, header: msg.Header, text: text})
	s.m.mu.Unlock()
	s.to = nil
	return nil
}
func (s *mailboxSession) Reset()        { s.to = nil }
func (s *mailboxSession) Logout() error { return nil }

// viewersOf makes the fixture's page one for viewers by email, with the
// list given.
func (f *privateFixture) viewersOf(t *testing.T, viewers ...string) {
	t.Helper()
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"access": store.AccessEmail, "viewers": viewers}, &f.page)
	f.waitFresh(t)
}

// viewerSession signs email in to page pageID the way a link does, with
// the outbox's steps run by hand (no dispatcher runs in these tests), and
// returns the session's raw id.
func viewerSession(t *testing.T, ts *testServer, pageID, email string) string {
	t.Helper()
	ctx := t.Context()
	if sent, err := ts.store.RequestViewerLink(ctx, store.ViewerLinkRequest{PageID: pageID, Email: email, LinkBase: ts.URL}); err != nil || !sent {
		t.Fatalf("RequestViewerLink: sent %v, %v", sent, err)
	}
	raw, _, err := ts.store.TakeViewerLink(ctx, pageID, mintLink(t, ts))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mintLink runs the outbox's steps for the one sign-in link asked for
// last (every job queued expanded, the one email claimed, which mints its
// token) and returns its token.
func mintLink(t *testing.T, ts *testServer) string {
	t.Helper()
	ctx := t.Context()
	for {
		job, ok, err := ts.store.ClaimJob(ctx, "test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		for done := false; !done; {
			if _, done, err = ts.store.ExpandJob(ctx, job.ID, "test", 10, time.Minute, []string{store.ChannelEmail}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ds, err := ts.store.ClaimDeliveries(ctx, store.ChannelEmail, "test", 10, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ClaimDeliveries: %d %v", len(ds), err)
	}
	return ds[0].ConfirmToken
}

func viewerCookieHeader(raw string) http.Header {
	return http.Header{"Cookie": {viewerCookieName + "=" + raw}}
}

// signInToView is what a page for viewers by email answers a visitor
// without access: people get the sign-in form in place of the page (a
// 401, nothing of the page), tools a 401.
func signInToView(string, string, string) (int, string) { return http.StatusUnauthorized, "" }

// A page for viewers by email: every route of it, its HTML, documents,
// feeds, calendars, badges and stream, shows nothing without a viewer
// session for an address on its list, and all of it with one; console
// users keep their access.
func TestPrivatePageForViewersByEmail(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.viewersOf(t, "ana@example.com", "@partner.example")
	t.Run("no session", func(t *testing.T) { f.walk(t, nil, false, signInToView) })
	t.Run("a made-up session", func(t *testing.T) {
		f.walk(t, viewerCookieHeader("v"+strings.Repeat("x", 36)), false, signInToView)
	})
	ana := viewerSession(t, f.testServer, f.page.ID, "ana@example.com")
	t.Run("a listed address", func(t *testing.T) { f.walk(t, viewerCookieHeader(ana), true, nil) })
	bo := viewerSession(t, f.testServer, f.page.ID, "bo@partner.example")
	t.Run("an address of a listed domain", func(t *testing.T) { f.walk(t, viewerCookieHeader(bo), true, nil) })
	// Another page's session is no key to this one.
	var other store.Page
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "other", "name": "Other", "access": store.AccessEmail, "viewers": []string{"ana@example.com"}}, &other)
	elsewhere := viewerSession(t, f.testServer, other.ID, "ana@example.com")
	t.Run("another page's session", func(t *testing.T) { f.walk(t, viewerCookieHeader(elsewhere), false, signInToView) })
	// A console user of any role reads it as before.
	u := f.addUser(t, "support@example.com", store.RoleViewer)
	console, err := f.store.CreateSession(t.Context(), store.SessionInput{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a console user", func(t *testing.T) { f.walk(t, sessionCookie(console), true, nil) })
	t.Run("the rest of the site at its host", func(t *testing.T) { f.walkTheRest(t) })

	// The person is shown the form, which names nothing of the page.
	got := f.visit(t, "GET", "/p/ops/incidents/"+f.inc.ID, "", nil)
	if !bytes.Contains(got.body, []byte("Sign in to view this page")) || !bytes.Contains(got.body, []byte(`action="/p/ops/viewer/sign-in"`)) ||
		!bytes.Contains(got.body, []byte(`value="/p/ops/incidents/`+f.inc.ID+`"`)) {
		t.Errorf("the form in place of the page: %d %s", got.status, got.body)
	}
	if got := f.visit(t, "GET", "/", privateHost, nil); !bytes.Contains(got.body, []byte(`action="/viewer/sign-in"`)) {
		t.Errorf("the form at the page's host: %s", got.body)
	}

	// Taken off the list, the address reads nothing from then on; the
	// domain's other addresses still do.
	f.viewersOf(t, "@partner.example")
	t.Run("an address taken off the list", func(t *testing.T) { f.walk(t, viewerCookieHeader(ana), false, signInToView) })
	t.Run("the domain still listed", func(t *testing.T) { f.walk(t, viewerCookieHeader(bo), true, nil) })
	// Another kind of access ends every viewer session.
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"access": store.AccessSignedIn}, nil)
	f.viewersOf(t, "@partner.example")
	t.Run("after the access changed", func(t *testing.T) { f.walk(t, viewerCookieHeader(bo), false, signInToView) })
}

// linkIn is the sign-in link in an email's text.
var linkIn = regexp.MustCompile(`https?://\S+/viewer/link/\S+`)

// A viewer signs in by email, through real SMTP: asks on the page, reads
// the email, opens the link (a GET that uses nothing up), confirms, and
// reads the page they asked for; the link does not work twice; signing out
// ends it. A disallowed address gets the same answer and no email.
func TestViewerSignsInByEmailLink(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.viewersOf(t, "@example.com")
	mb := newMailbox(t)
	f.startDispatcher(t, mb.sendsHere)
	b := f.browser(t)
	target := "/p/ops/incidents/" + f.inc.ID

	form := b.get(target)
	next, _ := form.Doc.Find(`input[name=next]`).Attr("value")
	if form.Status != http.StatusUnauthorized || next != target || strings.Contains(form.Body, "Operations Floor") {
		t.Fatalf("the page without a session: %d, next %q", form.Status, next)
	}
	asked := b.postRaw("/p/ops/viewer/sign-in", url.Values{"email": {"Ana@Example.com"}, "next": {next}})
	if asked.Status != 200 || !strings.Contains(text(asked.Doc.Find(".notice")), "If Ana@Example.com may view this page, we have sent it a sign-in link") {
		t.Fatalf("asking for a link: %d %q", asked.Status, text(asked.Doc.Find("main")))
	}
	f.drainOutbox(t)
	msgs := mb.messages()
	if len(msgs) != 1 || len(msgs[0].to) != 1 || msgs[0].to[0] != "ana@example.com" || msgs[0].header.Get("Subject") != "Your sign-in link to Operations Floor" ||
		msgs[0].header.Get("List-Unsubscribe") != "" {
		t.Fatalf("the mailbox: %+v", msgs)
	}
	link := linkIn.FindString(msgs[0].text)
	u, err := url.Parse(link)
	if err != nil || link == "" || u.Host != "status.example.test" || u.Query().Get("next") != target {
		t.Fatalf("the link in %q: %q", msgs[0].text, link)
	}
	path := u.RequestURI()

	// Opening it (a scanner would too) uses nothing up.
	for range 2 {
		open := b.get(path)
		if open.Status != 200 || !strings.Contains(open.Body, "Sign in as ana@example.com") || open.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("opening the link: %d %q", open.Status, text(open.Doc.Find("main")))
		}
	}
	if got := b.get(target); got.Status != http.StatusUnauthorized {
		t.Fatalf("signed in by opening the link alone: %d", got.Status)
	}
	open := b.get(path)
	action, _ := open.Doc.Find("main form").Attr("action")
	done := b.postRaw(action, nil)
	if done.Status != http.StatusSeeOther || location(done) != target {
		t.Fatalf("confirming: %d to %q %s", done.Status, location(done), text(done.Doc.Find("main")))
	}
	ck := done.Header.Get("Set-Cookie")
	for _, want := range []string{viewerCookieName + "=", "Path=/p/ops", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"} {
		if !strings.Contains(ck, want) {
			t.Errorf("the cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("the cookie is Secure on an http base URL: %q", ck)
	}
	page := b.get(target)
	if page.Status != 200 || !strings.Contains(page.Body, "Ledger replica lagging") || page.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("the page signed in: %d %q", page.Status, text(page.Doc.Find("main")))
	}
	if home := b.get("/p/ops/"); home.Doc.Find(`footer a[href="/p/ops/viewer/sign-out"]`).Length() != 1 {
		t.Error("the page offers no way to sign out")
	}

	// Reused: refused, saying so.
	again := b.postRaw(action, nil)
	if again.Status != http.StatusGone || !strings.Contains(text(again.Doc.Find(".form-error")), "has been used already") {
		t.Errorf("the link again: %d %q", again.Status, text(again.Doc.Find("main")))
	}

	// A disallowed address: word for word the same answer, nothing sent.
	jobs := f.outboxJobs(t)
	other := b.postRaw("/p/ops/viewer/sign-in", url.Values{"email": {"Ana@Elsewhere.example"}, "next": {next}})
	if other.Status != asked.Status || strings.ReplaceAll(text(other.Doc.Find("main")), "Ana@Elsewhere.example", "X") != strings.ReplaceAll(text(asked.Doc.Find("main")), "Ana@Example.com", "X") {
		t.Errorf("a disallowed address is answered otherwise: %d %q", other.Status, text(other.Doc.Find("main")))
	}
	f.drainOutbox(t)
	if n := f.outboxJobs(t); n != jobs || len(mb.messages()) != 1 {
		t.Errorf("a disallowed address: %d jobs more, %d messages", n-jobs, len(mb.messages()))
	}

	// Signing out: a page with a button, then the page is shut again.
	out := b.get("/p/ops/viewer/sign-out")
	outAction, _ := out.Doc.Find("main form").Attr("action")
	if out.Status != 200 || outAction != "/p/ops/viewer/sign-out" {
		t.Fatalf("the sign-out page: %d %q", out.Status, outAction)
	}
	if bye := b.postRaw(outAction, nil); bye.Status != 200 || !strings.Contains(bye.Body, "You are signed out") {
		t.Errorf("signing out: %d", bye.Status)
	}
	if got := b.get(target); got.Status != http.StatusUnauthorized {
		t.Errorf("the page after signing out: %d", got.Status)
	}
}

// outboxJobs counts the emails the outbox ever had to send, in any state.
func (ts *testServer) outboxJobs(t *testing.T) int {
	t.Helper()
	counts, err := ts.store.OutboxCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for k, v := range counts {
		if strings.HasPrefix(k, store.ChannelEmail+"/") {
			n += v
		}
	}
	return n
}

// plainPart is the decoded text/plain part of a multipart/alternative
// message.
func plainPart(msg *mail.Message) (string, error) {
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			return "", fmt.Errorf("no text/plain part: %w", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(p)
			return string(b), err
		}
	}
}

// Links that do not sign in: each says why, and signs nobody in.
func TestViewerBadLinks(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.viewersOf(t, "ana@example.com")
	var other store.Page
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "other", "name": "Other", "access": store.AccessEmail, "viewers": []string{"ana@example.com"}}, &other)
	f.waitFresh(t)
	token := func(pageID string) string {
		t.Helper()
		if _, err := f.store.RequestViewerLink(t.Context(), store.ViewerLinkRequest{PageID: pageID, Email: "ana@example.com", LinkBase: f.URL}); err != nil {
			t.Fatal(err)
		}
		return mintLink(t, f.testServer)
	}
	forOther := token(other.ID)
	good := token(f.page.ID)
	for _, c := range []struct {
		name, path string
		status     int
		says       string
	}{
		{"forged", "/p/ops/viewer/link/" + forge(good), 404, "not valid for this page"},
		{"for another page", "/p/ops/viewer/link/" + forOther, 404, "not valid for this page"},
		{"mangled", "/p/ops/viewer/link/abc", 404, "not valid for this page"},
	} {
		for _, method := range []string{"GET", "POST"} {
			resp, body := f.fetch(t, method, c.path, nil)
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.says) || resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s, %s: %d %s", c.name, method, resp.StatusCode, body)
			}
		}
	}
	// Expired: the same link a quarter of an hour on.
	f.at(t, time.Now().Add(store.ViewerLinkTTL+time.Minute))
	resp, body := f.fetch(t, "POST", "/p/ops/viewer/link/"+good, nil)
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "has expired") || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("an expired link: %d %s", resp.StatusCode, body)
	}
	// Nowhere but on a page for viewers by email.
	if resp, _ := f.fetch(t, "GET", "/viewer/sign-in", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the default page's sign-in: %d", resp.StatusCode)
	}
}

// forge is tok with its last character changed.
func forge(tok string) string {
	last := "A"
	if strings.HasSuffix(tok, "A") {
		last = "B"
	}
	return tok[:len(tok)-1] + last
}

// Asking for links: a malformed address is told so; too many asks, per
// address or per client, are refused for a while, saying so, whether or
// not the address is on the list.
func TestViewerSignInBadInputAndLimits(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil, behindProxy())
	f.viewersOf(t, "@example.com")
	ask := func(email, from string) consolePage {
		t.Helper()
		req, err := http.NewRequest("POST", f.URL+"/p/ops/viewer/sign-in", strings.NewReader(url.Values{"email": {email}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		return f.browser(t).do(req)
	}
	for _, email := range []string{"", "ana", "ana@localhost", "a@b.com\r\nBcc: x@example.com", "Ana <ana@example.com>"} {
		got := ask(email, "203.0.113.1")
		if got.Status != http.StatusUnprocessableEntity || !strings.Contains(text(got.Doc.Find(".form-error")), "email address such as name@example.com") {
			t.Errorf("%q: %d %q", email, got.Status, text(got.Doc.Find("main")))
		}
	}
	// Per address: three, from anywhere; the fourth is refused.
	for i := range viewerLinkAddressLimit {
		if got := ask("ana@example.com", fmt.Sprintf("198.51.100.%d", i+1)); got.Status != 200 {
			t.Fatalf("ask %d: %d", i+1, got.Status)
		}
	}
	for _, email := range []string{"ana@example.com", "ANA@example.com"} {
		got := ask(email, "198.51.100.99")
		if got.Status != http.StatusTooManyRequests || got.Header.Get("Retry-After") == "" || !strings.Contains(text(got.Doc.Find(".form-error")), "Too many sign-in links") {
			t.Errorf("%s once too often: %d %q", email, got.Status, text(got.Doc.Find("main")))
		}
	}
	// Per client: ten, whatever the addresses (listed or not); then none.
	for i := range viewerLinkClientLimit {
		if got := ask(fmt.Sprintf("user%d@elsewhere.example", i), "192.0.2.7"); got.Status != 200 {
			t.Fatalf("client ask %d: %d", i+1, got.Status)
		}
	}
	if got := ask("new@example.com", "192.0.2.7"); got.Status != http.StatusTooManyRequests {
		t.Errorf("a client once too often: %d", got.Status)
	}
	if got := ask("new@example.com", "192.0.2.8"); got.Status != 200 {
		t.Errorf("another client: %d", got.Status)
	}
}

// Viewers given badly in the console: a clear error on the field, what
// was typed kept, and the page as it was (the API's bad viewers are in
// TestPageAccessBadInput).
func TestPageViewersBadInput(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	// The console: refused with what was typed kept; then saved, listed,
	// and shown back.
	admin := f.signedIn(t, f.addUser(t, "boss@example.com", store.RoleAdmin))
	form := func(viewers string) url.Values {
		return url.Values{"name": {"Operations Floor"}, "slug": {"ops"}, "host": {privateHost}, "components": {f.comp.ID}, "access": {store.AccessEmail}, "viewers": {viewers}}
	}
	bad := admin.post("/console/pages/"+f.page.ID, form("ana@example.com\nbob@@example.com"))
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Doc.Find("#e-viewers").Text(), "bob@@example.com") {
		t.Errorf("a malformed viewer: %d %q", bad.Status, bad.Doc.Find(".form-errors, #e-viewers").Text())
	}
	if got := bad.Doc.Find("#f-viewers").Text(); got != "ana@example.com\nbob@@example.com" {
		t.Errorf("the form lost the viewers typed: %q", got)
	}
	if _, ok := bad.Doc.Find(`input[name=access][value=email]`).Attr("checked"); !ok {
		t.Error("the form lost the choice made")
	}
	if bad := admin.post("/console/pages/"+f.page.ID, form(" ")); bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Doc.Find("#e-viewers").Text(), "at least one address or domain") {
		t.Errorf("viewers by email, none given: %d", bad.Status)
	}
	if p, _ := f.store.GetPage(t.Context(), f.page.ID); p.Access != store.AccessPublic {
		t.Fatalf("refused forms changed the page: %+v", p)
	}
	if r := admin.post("/console/pages/"+f.page.ID, form("Ana@Example.com, partner.example\n@corp.example")); r.Status != http.StatusSeeOther {
		t.Fatalf("saving viewers: %d %s", r.Status, text(r.Doc.Find("main")))
	}
	if row := text(admin.get("/console/pages").Doc.Find("#page-" + f.page.ID)); !strings.Contains(row, "3 viewers by email only") {
		t.Errorf("the list says %q", row)
	}
	if got := admin.get("/console/pages/" + f.page.ID).Doc.Find("#f-viewers").Text(); got != "ana@example.com\n@partner.example\n@corp.example" {
		t.Errorf("the edit form's viewers: %q", got)
	}
	// The audit log has the change to the list.
	entries, err := f.store.QueryAuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || entries[0].Action != "page.update" || !strings.Contains(string(entries[0].After), `"@partner.example"`) {
		t.Errorf("the newest audit entry: %+v", entries[0])
	}
}

// At the page's own host name the link leads back there, and the cookie
// covers that host whole: the page's addresses there have no /p/ops.
func TestViewerSignsInAtThePagesHost(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.viewersOf(t, "ana@example.com")
	mb := newMailbox(t)
	f.startDispatcher(t, mb.sendsHere)
	send := func(method, path string, body url.Values, header http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, f.URL+path, strings.NewReader(body.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = privateHost
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := send("POST", "/viewer/sign-in", url.Values{"email": {"ana@example.com"}, "next": {"/history"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("asking at the host: %d", resp.StatusCode)
	}
	f.drainOutbox(t)
	msgs := mb.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	u, err := url.Parse(linkIn.FindString(msgs[0].text))
	if err != nil || u.Host != privateHost || !strings.HasPrefix(u.Path, "/viewer/link/") || u.Query().Get("next") != "/history" {
		t.Fatalf("the link: %v %v", u, err)
	}
	done := send("POST", u.RequestURI(), nil, nil)
	ck := done.Header.Get("Set-Cookie")
	if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/history" || !strings.Contains(ck, "Path=/;") {
		t.Fatalf("confirming at the host: %d to %q, cookie %q", done.StatusCode, done.Header.Get("Location"), ck)
	}
	raw := strings.TrimPrefix(strings.SplitN(ck, ";", 2)[0], viewerCookieName+"=")
	if got := f.visit(t, "GET", "/", privateHost, viewerCookieHeader(raw)); got.status != 200 || !bytes.Contains(got.body, []byte("Ledger Database")) {
		t.Errorf("the page at its host, signed in: %d", got.status)
	}
}
