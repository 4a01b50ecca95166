package web

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/notify/twiliotest"
	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// postIn posts a form to path with the given headers and parses the page.
func (ts *testServer) postIn(t *testing.T, path string, values url.Values, header map[string]string) (*goquery.Document, int) {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return parseBody(t, resp), resp.StatusCode
}

// in is a context that speaks lang, to say what a page should.
func in(lang string) context.Context { return i18n.With(context.Background(), lang) }

// A visitor reads the whole subscribe flow in their language — the form,
// its refusals, the SMS code form — chosen with ?lang= or asked for by
// their browser; without either, the page's default. The pages a
// subscriber's links open speak the subscriber's language when they chose
// one, whatever the browser asks.
func TestSubscribeFlowSpeaksTheVisitorsLanguage(t *testing.T) {
	t.Parallel()
	tw := twiliotest.Start(t, "AC"+strings.Repeat("2", 32), "twilio-auth-token")
	ts := newTestServer(t, withSubscriptions(), withTwilio(tw), func(s *testSetup) { s.cfg.SubscribeLimit = 1000 })
	ts.startDispatcher(t, smsThrough(tw))
	ts.createComponent(t, "Public API", nil)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": []string{"de", "ja"}}, nil)

	for _, c := range []struct {
		name   string
		query  string
		header map[string]string
		lang   string
	}{
		{"Accept-Language de", "", map[string]string{"Accept-Language": "de-DE,de;q=0.9"}, "de"},
		{"?lang=ja", "?lang=ja", map[string]string{"Accept-Language": "de"}, "ja"},
		{"no preference", "", nil, "en"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := in(c.lang)
			says := func(what string, doc *goquery.Document, status, wantStatus int, sel, id string, args ...i18n.Args) {
				t.Helper()
				if got := doc.Find("html").AttrOr("lang", ""); status != wantStatus || got != c.lang {
					t.Errorf("%s: %d <html lang=%q>, want %d in %s", what, status, got, wantStatus, c.lang)
				}
				if want := i18n.T(ctx, id, args...); !strings.Contains(text(doc.Find(sel)), want) {
					t.Errorf("%s: %s says %q, want %q", what, sel, text(doc.Find(sel)), want)
				}
			}
			doc, resp := ts.homeIn(t, "/subscribe"+c.query, c.header)
			says("the form", doc, resp.StatusCode, 200, "h1", "subscribe.heading_email", i18n.Args{"Page": "Acme Status"})
			says("the form", doc, resp.StatusCode, 200, "label[for=email]", "subscribe.email_label")
			says("the form", doc, resp.StatusCode, 200, "#sms-heading", "sms.heading_or")
			if got := doc.Find(`select[name=language] option[selected]`).AttrOr("value", ""); got != c.lang {
				t.Errorf("the emails' language offered first is %q, want %s", got, c.lang)
			}
			doc, status := ts.postIn(t, "/subscribe"+c.query, url.Values{"email": {"not an address"}}, c.header)
			says("a bad address", doc, status, http.StatusUnprocessableEntity, "#email-error", "subscribe.error_email")
			doc, status = ts.postIn(t, "/subscribe"+c.query, url.Values{"email": {"ada@example.com"}, "language": {"fr"}}, c.header)
			says("a language not offered", doc, status, http.StatusUnprocessableEntity, "#email-error", "subscribe.error_language")
			doc, status = ts.postIn(t, "/subscribe"+c.query, url.Values{"email": {c.lang + "@example.com"}}, c.header)
			says("the form taken", doc, status, 200, ".notice", "subscribe.check_inbox")
			doc, status = ts.postIn(t, "/subscribe/sms"+c.query, url.Values{"phone": {"+33 6 12 34 56 78"}}, c.header)
			says("the SMS code form", doc, status, 200, ".notice h2", "sms.check_messages")
			says("the SMS code form", doc, status, 200, "label[for=code]", "sms.code_label")
		})
	}
	if sub, _ := subscriberByEmail(t, ts.store, "ada@example.com"); sub.ID != "" {
		t.Error("the refused language made a subscriber")
	}

	// The links' pages: the visitor's language for a subscriber who chose
	// none; the subscriber's own when they did, over the browser's.
	links := func(email string) (manage, confirm string) {
		t.Helper()
		sub, ok := subscriberByEmail(t, ts.store, email)
		if !ok {
			t.Fatalf("no subscriber %s", email)
		}
		manage, confirm, err := ts.store.SubscriberLinks(t.Context(), sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		return manage, confirm
	}
	if err := ts.store.SubscribeEmail(t.Context(), store.SubscriberInput{Email: "udo@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.SubscribeEmail(t.Context(), store.SubscriberInput{Email: "hana@example.com", Language: "ja"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		email, lang string
		header      map[string]string
	}{
		{"udo@example.com", "de", map[string]string{"Accept-Language": "de"}},
		{"udo@example.com", "en", nil},
		{"hana@example.com", "ja", map[string]string{"Accept-Language": "de"}},
	} {
		manage, confirm := links(c.email)
		doc, resp := ts.homeIn(t, "/subscriptions/confirm/"+confirm, c.header)
		want := i18n.T(in(c.lang), "subscription.confirm_text", i18n.Args{"Email": c.email, "Page": "Acme Status"})
		if got := doc.Find("html").AttrOr("lang", ""); resp.StatusCode != 200 || got != c.lang || !strings.Contains(text(doc.Find("main")), want) {
			t.Errorf("%s's confirm page with %v: %d in %q, want %q", c.email, c.header, resp.StatusCode, got, want)
		}
		doc, resp = ts.homeIn(t, "/subscriptions/manage/"+manage, c.header)
		want = i18n.T(in(c.lang), "subscription.state_pending", i18n.Args{"Email": c.email})
		if got := doc.Find("html").AttrOr("lang", ""); resp.StatusCode != 200 || got != c.lang || !strings.Contains(text(doc.Find("main")), want) {
			t.Errorf("%s's manage page with %v: %d in %q, want %q", c.email, c.header, resp.StatusCode, got, want)
		}
	}
	// A link that works no more: in the visitor's language.
	doc, resp := ts.homeIn(t, "/subscriptions/manage/nonsense.token", map[string]string{"Accept-Language": "ja"})
	if want := i18n.T(in("ja"), "subscription.invalid_heading"); resp.StatusCode != http.StatusNotFound || text(doc.Find("h1")) != want {
		t.Errorf("a bad link: %d %q, want 404 %q", resp.StatusCode, text(doc.Find("h1")), want)
	}
}

// A confirmed subscriber changes their emails' language on the manage
// page, among the page's languages; one it does not offer is refused with
// a clear message and changes nothing; their next email is in the new
// language, through real SMTP.
func TestSubscriberChangesTheirEmailsLanguage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": []string{"de", "ja"}}, nil)
	mb := newMailbox(t)
	ts.startDispatcher(t, mb.sendsHere)
	ctx := t.Context()
	if err := ts.store.SubscribeEmail(ctx, store.SubscriberInput{Email: "kai@example.com", Language: "de"}); err != nil {
		t.Fatal(err)
	}
	sub, _ := subscriberByEmail(t, ts.store, "kai@example.com")
	manage, confirm, err := ts.store.SubscriberLinks(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.ConfirmSubscription(ctx, confirm); err != nil {
		t.Fatal(err)
	}
	path := "/subscriptions/manage/" + manage

	doc, status := ts.getPage(t, path)
	if status != 200 || doc.Find(`form input[name=action][value=language]`).Length() != 1 ||
		doc.Find(`select[name=language] option`).Length() != 3 || doc.Find(`select[name=language] option[selected]`).AttrOr("value", "") != "de" {
		t.Fatalf("the manage page: %d, or it offers no choice of the page's 3 languages with German chosen", status)
	}
	doc, status = ts.form(t, path, url.Values{"action": {"language"}, "language": {"fr"}})
	if want := i18n.T(in("de"), "subscribe.error_language"); status != http.StatusUnprocessableEntity || text(doc.Find(".form-error")) != want {
		t.Errorf("a language the page does not offer: %d %q, want 422 %q", status, text(doc.Find(".form-error")), want)
	}
	if sub, _ := subscriberByEmail(t, ts.store, "kai@example.com"); sub.Language != "de" {
		t.Errorf("the refused language changed it to %q", sub.Language)
	}
	doc, status = ts.form(t, path, url.Values{"action": {"language"}, "language": {"ja"}})
	if want := i18n.T(in("ja"), "subscription.language_saved", i18n.Args{"Language": "日本語"}); status != 200 || text(doc.Find(".notice")) != want || doc.Find("html").AttrOr("lang", "") != "ja" {
		t.Errorf("changed to Japanese: %d %q, want the page in Japanese saying %q", status, text(doc.Find(".notice")), want)
	}
	if doc.Find(`input[name=components]`).Length() == 0 && doc.Find(`button`).Length() < 3 {
		t.Error("the page after the change lost its preferences form")
	}
	if sub, _ := subscriberByEmail(t, ts.store, "kai@example.com"); sub.Language != "ja" {
		t.Errorf("the subscriber's language is %q, want ja", sub.Language)
	}
	ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "status": "identified"})
	ts.drainOutbox(t)
	var got []string
	for _, m := range mb.messages() {
		if m.to[0] == "kai@example.com" {
			got = append(got, m.text)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], i18n.T(in("ja"), "email.intro_incident_created")) {
		t.Errorf("kai's next email, want it in Japanese:\n%s", strings.Join(got, "\n---\n"))
	}
}

// The viewer's sign-in page reads in the visitor's language among the
// private page's, and the link it sends comes in it too.
func TestViewerSignInSpeaksTheVisitorsLanguage(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID+"/branding", map[string]any{"language": "en", "languages": []string{"de", "ja"}}, nil)
	f.viewersOf(t, "@example.com")
	mb := newMailbox(t)
	f.startDispatcher(t, mb.sendsHere)
	for _, c := range []struct {
		path   string
		header map[string]string
		lang   string
	}{
		{"/p/ops/viewer/sign-in", map[string]string{"Accept-Language": "de"}, "de"},
		{"/p/ops/viewer/sign-in?lang=ja", nil, "ja"},
		{"/p/ops/", map[string]string{"Accept-Language": "ja"}, "ja"}, // the form in place of the page
		{"/p/ops/viewer/sign-in", nil, "en"},
	} {
		doc, resp := f.homeIn(t, c.path, c.header)
		want := i18n.T(in(c.lang), "viewer.heading")
		if got := doc.Find("html").AttrOr("lang", ""); got != c.lang || text(doc.Find("h1")) != want {
			t.Errorf("%s with %v: %d in %q saying %q, want %s %q", c.path, c.header, resp.StatusCode, got, text(doc.Find("h1")), c.lang, want)
		}
		if strings.Contains(string(doc.Text()), "Operations Floor") {
			t.Errorf("%s names the private page", c.path)
		}
		if doc.Find(`nav.languages a[href="/p/ops/?lang=ja"]`).Length() != 1 {
			t.Errorf("%s: the switcher does not lead back to the page's sign-in in Japanese", c.path)
		}
	}
	doc, status := f.postIn(t, "/p/ops/viewer/sign-in", url.Values{"email": {"nope"}}, map[string]string{"Accept-Language": "ja"})
	if want := i18n.T(in("ja"), "subscribe.error_email"); status != http.StatusUnprocessableEntity || text(doc.Find("#email-error")) != want {
		t.Errorf("a bad address: %d %q, want %q", status, text(doc.Find("#email-error")), want)
	}
	doc, status = f.postIn(t, "/p/ops/viewer/sign-in", url.Values{"email": {"ana@example.com"}}, map[string]string{"Accept-Language": "ja"})
	if status != 200 || !strings.Contains(text(doc.Find(".notice")), i18n.T(in("ja"), "viewer.sent_text", i18n.Args{"Email": "ana@example.com"})) {
		t.Fatalf("asking for a link: %d %q", status, text(doc.Find("main")))
	}
	f.drainOutbox(t)
	msgs := mb.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want the link", len(msgs))
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msgs[0].header.Get("Subject"))
	if want := i18n.T(in("ja"), "email.subject_viewer", i18n.Args{"Name": "Operations Floor"}); subject != want || !strings.Contains(msgs[0].text, i18n.T(in("ja"), "email.viewer_open")) {
		t.Errorf("the link's email: %q, want %q, and in Japanese:\n%s", subject, want, msgs[0].text)
	}
}

// messageID is a catalogue id left on a page untranslated.
var messageID = regexp.MustCompile(`\b(subscribe|subscription|sms|chat|viewer|email)\.[a-z_]+\b`)

// Every shipped language renders the subscribe page and the manage page
// whole: no message id shown for a missing message, no English left.
func TestEveryLanguageRendersTheSubscribePages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	ts.createComponent(t, "Public API", nil)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": i18n.Languages()}, nil)
	if err := ts.store.SubscribeEmail(t.Context(), store.SubscriberInput{Email: "all@example.com"}); err != nil {
		t.Fatal(err)
	}
	sub, _ := subscriberByEmail(t, ts.store, "all@example.com")
	manage, confirm, err := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.ConfirmSubscription(t.Context(), confirm); err != nil {
		t.Fatal(err)
	}
	english := []string{"Get Acme Status updates", "Email address", "Components (leave", "We will email you", "Emails in", "Save preferences", "Scheduled maintenance", "is subscribed"}
	for _, lang := range i18n.Languages() {
		for _, path := range []string{"/subscribe?lang=" + lang, "/subscriptions/manage/" + manage + "?lang=" + lang} {
			doc, resp := ts.homeIn(t, path, nil)
			main := text(doc.Find("main"))
			if got := doc.Find("html").AttrOr("lang", ""); resp.StatusCode != 200 || got != lang {
				t.Errorf("%s: %d in %q", path, resp.StatusCode, got)
			}
			if id := messageID.FindString(main); id != "" {
				t.Errorf("%s shows the message id %s", path, id)
			}
			if lang == i18n.Default {
				continue
			}
			for _, en := range english {
				if strings.Contains(main, en) {
					t.Errorf("%s still says %q", path, en)
				}
			}
		}
	}
}
