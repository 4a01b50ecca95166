package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A visitor reading the page in Japanese keeps it open: the indicator says
// it is live in Japanese, an incident appears in place in Japanese, and
// screen readers are told in Japanese.
func TestBrowserLiveInTheVisitorsLanguage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "Public API", nil)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "en", "languages": []string{"en", "de", "ja"}}, nil)
	ts.waitFresh(t)
	browser := newBrowser(t)
	if err := chromedp.Do(browser, chromedp.Navigate(ts.URL+"/?lang=ja"), chromedp.WaitVisible(chromedp.CSS("#overall-status"))); err != nil {
		t.Fatalf("load /?lang=ja: %v", err)
	}
	waitFor := func(what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(browser, chromedp.Poll[bool](predicate,
			chromedp.WithPollingTimeout(waitLimit), chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
			html, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.getElementById("main").innerText`))
			t.Fatalf("%s: not seen within %v (%v); page reads:\n%s", what, waitLimit, err, html)
		}
	}
	text := func(sel string) string {
		return `((document.querySelector(` + jsString(sel) + `) || {}).textContent || "")`
	}
	waitFor("the Live indicator in Japanese", text("#live-status")+` === "ライブ"`)
	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.heraldTestMarker = true`)); err != nil {
		t.Fatal(err)
	}

	ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "status": "identified",
		"components": map[string]string{api.ID: "major_outage"}})
	ts.waitFresh(t)
	doc, _ := ts.homeIn(t, "/?lang=ja", nil)
	banner := strings.TrimSpace(doc.Find("#overall-status").Text())
	waitFor("the incident, in Japanese", text("#overall-status")+` === `+jsString(banner)+` && `+
		text("#live-region")+`.includes("API errors") && `+text("#live-region")+`.includes("発生中のインシデント")`)
	if reloaded, err := chromedp.Run(browser, chromedp.Evaluate[bool](`window.heraldTestMarker !== true`)); err != nil || reloaded {
		t.Fatalf("the page reloaded (or could not be read: %v); it should have updated in place", err)
	}
	if got, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.getElementById("live-announcer").textContent`)); got != "ステータス更新: "+banner {
		t.Errorf("screen readers were told %q", got)
	}
}
