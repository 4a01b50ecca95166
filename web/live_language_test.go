package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// A page offering several languages is live in each: an open page gets
// the change in the language it is shown in, with the banner a reload
// would show; a page in a language the page does not offer (or no longer
// does) is told to reload.
func TestLiveUpdatesInEveryOfferedLanguage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "Public API", nil)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": []string{"en", "de", "ja"}}, nil)
	ts.waitFresh(t)
	since := "&last_event_id=" + strconv.FormatInt(ts.lastEventID(t), 10)
	streams := map[string]*stream{}
	for _, lang := range []string{"en", "de", "ja", ""} {
		streams[lang] = openStream(t, ts, "?types=html&parts=1&lang="+lang+since, nil)
	}
	french := openStream(t, ts, "?types=html&parts=1&lang=fr"+since, nil)
	if ev := french.next(t); ev.Event != "reload" {
		t.Errorf("a page in a language not offered got %q, want reload", ev.Event)
	}

	ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "status": "identified", "impact": "major",
		"components": map[string]string{api.ID: "major_outage"}})
	ts.waitFresh(t)
	for _, c := range []struct{ lang, heading, not string }{
		{"en", "Active incidents", "Aktuelle Vorfälle"},
		{"", "Active incidents", "Aktuelle Vorfälle"},
		{"de", "Aktuelle Vorfälle", "Active incidents"},
		{"ja", "発生中のインシデント", "Active incidents"},
	} {
		var ev struct{ Banner, HTML string }
		if err := json.Unmarshal([]byte(streams[c.lang].nextOf(t, "page").Data), &ev); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ev.HTML, c.heading) || strings.Contains(ev.HTML, c.not) {
			t.Errorf("lang %q: the update does not read %q alone:\n%s", c.lang, c.heading, ev.HTML)
		}
		lang := c.lang
		if lang == "" {
			lang = "en"
		}
		doc, _ := ts.homeIn(t, "/?lang="+lang, nil)
		if want := strings.TrimSpace(doc.Find("#overall-status").Text()); ev.Banner != want {
			t.Errorf("lang %q: the update's banner is %q; a reload shows %q", c.lang, ev.Banner, want)
		}
		if got := doc.Find("body").AttrOr("data-live", ""); got != "1" {
			t.Errorf("lang %q: the page is not live (data-live=%q)", c.lang, got)
		}
	}

	// German is no longer offered: its open pages reload (and are then
	// served in a language that is); the others stay.
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"languages": []string{"en", "ja"}}, nil)
	if ev := streams["de"].nextOf(t, "reload"); !strings.Contains(ev.Data, "language") {
		t.Errorf("the German page's reload says %q", ev.Data)
	}
	ts.createIncident(t, map[string]any{"name": "Email late", "body": "Queued."})
	var ev struct{ HTML string }
	if err := json.Unmarshal([]byte(streams["ja"].nextOf(t, "page").Data), &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.HTML, "Email late") || !strings.Contains(ev.HTML, "発生中のインシデント") {
		t.Errorf("the Japanese page's next update:\n%s", ev.HTML)
	}
}
