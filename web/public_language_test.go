package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// homeIn fetches path with the given headers and parses it.
func (ts *testServer) homeIn(t *testing.T, path string, header map[string]string) (*goquery.Document, *http.Response) {
	t.Helper()
	resp, body := ts.fetch(t, "GET", path, header)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	return doc, resp
}

// The status page speaks each shipped language with no message missing:
// a page offering them all renders its status page in each, and none of
// it is left in English (the catalogue test walks every message id; this
// one the page as a visitor reads it).
func TestEveryLanguageRendersTheStatusPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.createComponent(t, "Public API", nil)
	ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "status": "identified", "impact": "major"})
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": i18n.Languages()}, nil)
	english := map[string]bool{"Operational": true, "Active incidents": true, "Components": true, "Past incidents": true, "Incident history": true, "Identified": true}
	for _, lang := range i18n.Languages() {
		doc, resp := ts.homeIn(t, "/?lang="+lang, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", lang, resp.StatusCode)
		}
		if got, _ := doc.Find("html").Attr("lang"); got != lang {
			t.Errorf("%s: <html lang=%q>", lang, got)
		}
		for _, sel := range []string{".component .label", "#active-incidents", "#components-heading", "#past-heading", ".past p a", ".update-head strong"} {
			text := strings.TrimSpace(doc.Find(sel).First().Text())
			if text == "" {
				t.Errorf("%s: nothing in %s", lang, sel)
			}
			if lang != "en" && english[text] {
				t.Errorf("%s: %s is still English: %q", lang, sel, text)
			}
		}
		if cur := doc.Find("nav.languages a[aria-current]").AttrOr("lang", ""); cur != lang {
			t.Errorf("%s: the switcher marks %q as current", lang, cur)
		}
	}
}

// A visitor reads the language they chose with the switcher, else the one
// their browser asks for, else the page's default; the answer says what
// it depends on.
func TestVisitorLanguage(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	base := "/api/v1/pages/" + f.page.ID + "/branding"
	var b store.Branding
	f.mustCall(t, http.StatusOK, "PATCH", base, map[string]any{"language": "de", "languages": []string{"ja", "en", "de"}}, &b)
	if b.Language != "de" || strings.Join(b.Languages, ",") != "ja,en" {
		t.Errorf("saved languages %q %v, want de and [ja en]", b.Language, b.Languages)
	}
	heading := func(doc *goquery.Document) string { return doc.Find("#components-heading").Text() }
	for _, c := range []struct {
		name   string
		header map[string]string
		path   string
		lang   string
		words  string
	}{
		{"no preference: the default", nil, "/p/acme/", "de", "Komponenten"},
		{"Accept-Language ja", map[string]string{"Accept-Language": "ja-JP,ja;q=0.9"}, "/p/acme/", "ja", "コンポーネント"},
		{"Accept-Language en-GB", map[string]string{"Accept-Language": "en-GB,en;q=0.8"}, "/p/acme/", "en", "Components"},
		{"a language it does not offer", map[string]string{"Accept-Language": "fr-FR"}, "/p/acme/", "de", "Komponenten"},
		{"?lang beats Accept-Language", map[string]string{"Accept-Language": "ja"}, "/p/acme/?lang=en", "en", "Components"},
		{"the cookie beats Accept-Language", map[string]string{"Accept-Language": "de", "Cookie": "herald_lang=ja"}, "/p/acme/", "ja", "コンポーネント"},
		{"an unknown ?lang is ignored", nil, "/p/acme/?lang=xx", "de", "Komponenten"},
	} {
		doc, resp := f.homeIn(t, c.path, c.header)
		if got := doc.Find("html").AttrOr("lang", ""); got != c.lang || heading(doc) != c.words {
			t.Errorf("%s: lang %q heading %q, want %s %q", c.name, got, heading(doc), c.lang, c.words)
		}
		if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Language") || !strings.Contains(v, "Cookie") {
			t.Errorf("%s: Vary %q", c.name, v)
		}
	}
	// The switcher's choice is remembered, with no script.
	resp, _ := f.fetch(t, "GET", "/p/acme/?lang=ja", nil)
	if ck := resp.Header.Get("Set-Cookie"); !strings.Contains(ck, "herald_lang=ja") {
		t.Errorf("?lang=ja set no cookie: %q", ck)
	}
	doc, _ := f.homeIn(t, "/p/acme/", nil)
	for _, l := range []string{"de", "ja", "en"} {
		if doc.Find(`nav.languages a[hreflang="`+l+`"][href="/p/acme/?lang=`+l+`"]`).Length() != 1 {
			t.Errorf("the switcher lacks %s", l)
		}
	}
	// A page in one language answers everyone the same.
	resp, _ = f.fetch(t, "GET", "/", map[string]string{"Accept-Language": "ja"})
	if v := resp.Header.Get("Vary"); strings.Contains(v, "Accept-Language") {
		t.Errorf("the default page, in English only, varies: %q", v)
	}
	resp, body := f.fetch(t, "GET", "/", map[string]string{"Accept-Language": "ja"})
	if !strings.Contains(string(body), `<html lang="en">`) || resp.StatusCode != 200 {
		t.Errorf("the default page is not in English")
	}
}

// An unknown language is refused by the field that names it, through the
// API and the console, and changes nothing.
func TestLanguageBadInput(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	base := "/api/v1/pages/" + f.page.ID + "/branding"
	f.mustCall(t, http.StatusOK, "PATCH", base, map[string]any{"language": "fr"}, nil)
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"an unknown default", map[string]any{"language": "xx"}, "language"},
		{"Portuguese without its region", map[string]any{"language": "pt"}, "language"},
		{"an unknown offered language", map[string]any{"languages": []string{"de", "klingon"}}, "languages"},
	} {
		r := f.call(t, "PATCH", base, c.body)
		var e apiErr
		r.decode(t, &e)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Field != c.field || !strings.Contains(e.Error.Message, "unknown language") || !strings.Contains(e.Error.Message, "pt-BR") {
			t.Errorf("%s: %d %s, want 422 on %s naming the shipped languages", c.name, r.Status, r.Body, c.field)
		}
	}
	var now store.Branding
	f.mustCall(t, http.StatusOK, "GET", base, nil, &now)
	if now.Language != "fr" || len(now.Languages) != 0 {
		t.Errorf("refused input changed the languages: %q %v", now.Language, now.Languages)
	}

	admin := f.signedIn(t, f.addUser(t, "admin@example.com", store.RoleAdmin))
	p := admin.post("/console/pages/"+f.page.ID+"/branding", url.Values{"language": {"xx"}, "languages": {"de"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Doc.Find("form").Text(), "unknown language") {
		t.Errorf("console: %d, want the form again saying the language is unknown", p.Status)
	}
	f.mustCall(t, http.StatusOK, "GET", base, nil, &now)
	if now.Language != "fr" {
		t.Errorf("the console's refused form changed the language to %q", now.Language)
	}
}

// A visitor chooses the language of their emails on the subscribe form
// (offered the one they read the page in) and gets their confirmation in
// it, through real SMTP; a language the page does not offer is refused.
func TestSubscriberChoosesTheirLanguage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "de", "languages": []string{"ja"}}, nil)
	mb := newMailbox(t)
	ts.startDispatcher(t, mb.sendsHere)

	doc, _ := ts.homeIn(t, "/subscribe", map[string]string{"Accept-Language": "ja"})
	if got := doc.Find(`select[name=language] option[selected]`).AttrOr("value", ""); got != "ja" {
		t.Errorf("the form offers %q first to a visitor reading Japanese, want ja", got)
	}
	if n := doc.Find(`select[name=language] option`).Length(); n != 2 {
		t.Errorf("the form offers %d languages, want the page's 2", n)
	}
	for _, bad := range []string{"xx", "fr"} {
		doc, status := ts.form(t, "/subscribe", url.Values{"email": {"bad@example.com"}, "language": {bad}})
		// In the page's language, German: the visitor asked for none.
		if status != http.StatusUnprocessableEntity || !strings.Contains(doc.Find("main").Text(), "Bitte wählen Sie eine der für die E-Mails angebotenen Sprachen") {
			t.Errorf("language %q: %d, want 422 asking for an offered language, in German", bad, status)
		}
	}
	if _, ok := subscriberByEmail(t, ts.store, "bad@example.com"); ok {
		t.Error("a refused form made a subscriber")
	}

	if _, status := ts.form(t, "/subscribe", url.Values{"email": {"hana@example.com"}, "language": {"ja"}}); status != 200 {
		t.Fatalf("subscribing: %d", status)
	}
	if _, status := ts.form(t, "/subscribe", url.Values{"email": {"udo@example.com"}}); status != 200 {
		t.Fatalf("subscribing: %d", status)
	}
	if sub, _ := subscriberByEmail(t, ts.store, "hana@example.com"); sub.Language != "ja" {
		t.Errorf("the subscriber's language is %q, want ja", sub.Language)
	}
	ts.drainOutbox(t)
	got := map[string]string{}
	for _, m := range mb.messages() {
		got[m.to[0]] = m.text
	}
	if !strings.Contains(got["hana@example.com"], "購読を確認してください") {
		t.Errorf("the Japanese subscriber's confirmation:\n%s", got["hana@example.com"])
	}
	if !strings.Contains(got["udo@example.com"], "Bitte bestätigen Sie Ihr Abonnement") {
		t.Errorf("without a choice, the page's language:\n%s", got["udo@example.com"])
	}
}
