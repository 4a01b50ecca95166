package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// languagePages is a page in English offering German and Japanese, with
// one of each page a visitor reads beyond the status page: an active
// incident (in the snapshot), a resolved one (rendered on first request),
// a maintenance window, the history and a component group.
type languagePages struct {
	*testServer
	active, resolved store.Incident
	maint            store.Maintenance
	group            store.ComponentGroup
}

func newLanguagePages(t *testing.T) languagePages {
	t.Helper()
	ts := newTestServer(t)
	f := languagePages{testServer: ts}
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Europe"}, &f.group)
	api := ts.createComponent(t, "Public API", map[string]any{"group_id": f.group.ID})
	f.active = ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "status": "identified", "impact": "major",
		"components": map[string]string{api.ID: "partial_outage"}})
	f.resolved = ts.createIncident(t, map[string]any{"name": "Old outage", "body": "Over.", "status": "resolved", "impact": "minor",
		"components": map[string]string{api.ID: "major_outage"}})
	from := time.Now().Add(48 * time.Hour)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "API upgrade", "message": "Soon.", "components": []string{api.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &f.maint)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": []string{"de", "ja"}}, nil)
	return f
}

// Every page a visitor reads speaks the language they asked for, by their
// browser's Accept-Language or by the switcher's ?lang=, and says that it
// depends on it; the switcher on it links the same page in each language.
func TestPagesInTheVisitorsLanguage(t *testing.T) {
	t.Parallel()
	f := newLanguagePages(t)
	pages := []struct {
		name, path string
		status     int
		// what the page says, by language
		words map[string]string
	}{
		{"active incident", "/incidents/" + f.active.ID, 200, map[string]string{
			"en": "Affected components", "de": "Betroffene Komponenten", "ja": "影響を受けるコンポーネント"}},
		{"resolved incident", "/incidents/" + f.resolved.ID, 200, map[string]string{
			"en": "Impact began", "de": "Auswirkung seit", "ja": "影響の開始"}},
		{"maintenance", "/maintenance/" + f.maint.ID, 200, map[string]string{
			"en": "Subscribe to all maintenance", "de": "Alle Wartungen abonnieren", "ja": "すべてのメンテナンスを購読"}},
		{"history", "/history", 200, map[string]string{
			"en": "Incident history", "de": "Vorfallsverlauf", "ja": "インシデント履歴"}},
		{"group", "/groups/" + f.group.ID, 200, map[string]string{
			"en": "Components and their uptime", "de": "Komponenten und ihre Verfügbarkeit", "ja": "コンポーネントと稼働率"}},
		{"404", "/incidents/no-such-thing", 404, map[string]string{
			"en": "This incident does not exist, or its address is mistyped.", "de": "Diesen Vorfall gibt es nicht", "ja": "このインシデントは存在しない"}},
		{"unknown address", "/no/such/page", 404, map[string]string{
			"en": "There is nothing at this address.", "de": "Unter dieser Adresse gibt es nichts.", "ja": "このアドレスには何もありません。"}},
	}
	for _, pg := range pages {
		for _, c := range []struct {
			how, lang, path string
			header          map[string]string
		}{
			{"no preference", "en", pg.path, nil},
			{"Accept-Language de", "de", pg.path, map[string]string{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}},
			{"?lang=ja", "ja", withLang(pg.path, "ja"), map[string]string{"Accept-Language": "de"}},
		} {
			doc, resp := f.homeIn(t, c.path, c.header)
			what := pg.name + ", " + c.how
			if resp.StatusCode != pg.status {
				t.Errorf("%s: %d, want %d", what, resp.StatusCode, pg.status)
			}
			if got := doc.Find("html").AttrOr("lang", ""); got != c.lang {
				t.Errorf("%s: <html lang=%q>, want %s", what, got, c.lang)
			}
			if main := doc.Find("main").Text(); !strings.Contains(main, pg.words[c.lang]) {
				t.Errorf("%s: the page does not say %q:\n%s", what, pg.words[c.lang], strings.Join(strings.Fields(main), " "))
			}
			if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Language") || !strings.Contains(v, "Cookie") {
				t.Errorf("%s: Vary %q, want it to name Accept-Language and Cookie", what, v)
			}
			for _, l := range []string{"en", "de", "ja"} {
				link := doc.Find(`nav.languages a[hreflang="`+l+`"]`).AttrOr("href", "")
				if link != withLang(pg.path, l) {
					t.Errorf("%s: the switcher links %s as %q, want %q", what, l, link, withLang(pg.path, l))
				}
			}
		}
	}
	// Dates and durations are the language's too.
	doc, _ := f.homeIn(t, "/history?lang=de", nil)
	if meta := doc.Find(".history-item .meta").First().Text(); !strings.Contains(meta, "Dauer:") || !strings.Contains(meta, "Auswirkung: Gering") {
		t.Errorf("the German history says %q", meta)
	}
	if month := doc.Find(".month h2").First().Text(); !strings.Contains(month, i18n.MonthYear(i18n.With(t.Context(), "de"), f.resolved.CreatedAt)) {
		t.Errorf("the German history's month is %q", month)
	}
	doc, _ = f.homeIn(t, "/incidents/"+f.resolved.ID+"?lang=ja", nil)
	if footer := doc.Find("footer").Text(); !strings.Contains(footer, "Powered by Herald") {
		t.Errorf("the Japanese footer says %q", footer)
	}
	if dd := doc.Find(".facts dd").Eq(1).Text(); dd != "軽微" {
		t.Errorf("the Japanese impact is %q", dd)
	}
}

// withLang is path in language lang, as the switcher links it.
func withLang(path, lang string) string {
	if strings.Contains(path, "?") {
		return path + "&lang=" + lang
	}
	return path + "?lang=" + lang
}

// In its default language an active incident's page is the one rendered
// into the snapshot, byte for byte; a page offering one language answers
// as it always did, to every Accept-Language, with no switcher and no
// Vary on the language.
func TestPagesDefaultLanguageUnchanged(t *testing.T) {
	t.Parallel()
	f := newLanguagePages(t)
	_, body := f.fetch(t, "GET", "/incidents/"+f.active.ID, map[string]string{"Accept-Language": "fr"})
	if eager := f.srv.main.snap.Load().incidents[f.active.ID]; eager == nil || string(eager.body) != string(body) {
		t.Error("the default language's incident page is not the snapshot's")
	}
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": []string{}}, nil)
	for _, path := range []string{"/incidents/" + f.active.ID, "/incidents/" + f.resolved.ID, "/maintenance/" + f.maint.ID, "/history", "/groups/" + f.group.ID, "/incidents/nope"} {
		resp, body := f.fetch(t, "GET", path+"?lang=ja", map[string]string{"Accept-Language": "de"})
		if v := resp.Header.Get("Vary"); strings.Contains(v, "Accept-Language") {
			t.Errorf("%s: Vary %q on a page in one language", path, v)
		}
		if !strings.Contains(string(body), `<html lang="en">`) || strings.Contains(string(body), `class="languages"`) {
			t.Errorf("%s: not in English alone", path)
		}
	}
}

// A private page's pages in another language refuse without access as in
// its own, and its error pages say nothing of it.
func TestPrivatePagesInOtherLanguagesRefuse(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID+"/branding", map[string]any{"language": "de", "languages": []string{"ja"}}, nil)
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+f.page.ID, map[string]any{"access": store.AccessSignedIn}, nil)
	for _, path := range []string{"/p/acme/incidents/" + f.onAPI.ID, "/p/acme/maintenance/" + f.mntAPI.ID, "/p/acme/history", "/p/acme/incidents/nope"} {
		for _, header := range []map[string]string{{"Accept-Language": "ja"}, nil} {
			p := path
			if header == nil {
				p += "?lang=ja"
			}
			resp, body := f.fetch(t, "GET", p, header)
			if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "Acme Corp") || strings.Contains(string(body), "API errors") {
				t.Errorf("%s (%v): %d without access, showing the page", p, header, resp.StatusCode)
			}
		}
	}
}

// Each shipped language renders an incident page, the history and an
// error page with every word from its catalogue: none is missing (the
// message id would show) and, but for English, none is left in English.
func TestEveryLanguageRendersThePages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "Public API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "API errors", "body": "Fixed.", "status": "resolved", "impact": "major",
		"components": map[string]string{api.ID: "major_outage"}})
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": i18n.Languages()}, nil)
	english := map[string]bool{}
	for _, lang := range i18n.Languages() {
		for _, path := range []string{"/incidents/" + inc.ID, "/history", "/incidents/nope"} {
			doc, _ := ts.homeIn(t, withLang(path, lang), nil)
			if got := doc.Find("html").AttrOr("lang", ""); got != lang {
				t.Errorf("%s %s: <html lang=%q>", lang, path, got)
			}
			doc.Find("main h1, main h2, main dt, main p, main span, footer p").Each(func(_ int, s *goquery.Selection) {
				text := strings.TrimSpace(s.Text())
				for _, id := range i18n.IDs() {
					if strings.Contains(text, id) && strings.Contains(id, ".") {
						t.Errorf("%s %s: a message id shows: %q", lang, path, text)
					}
				}
				if s.Children().Length() > 0 || text == "" || strings.Contains(text, "Herald") || text == "API errors" || text == "Fixed." {
					return
				}
				if lang == "en" {
					english[text] = true
				} else if english[text] && !sameInBoth[text] {
					t.Errorf("%s %s: still in English: %q", lang, path, text)
				}
			})
		}
	}
}

// sameInBoth are words a language writes as English does.
var sameInBoth = map[string]bool{"Status": true, "Impact": true, "Support": true, "Maintenance": true, "Post-mortem": true}
