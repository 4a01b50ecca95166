package web

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// The status page in German and in Japanese, at a desktop's and a phone's
// width, light and dark: it renders in the browser without an error, and
// the screenshots are there to look at. (atEveryWidth's console checks
// are not run: they read the uptime bars' tooltips against the bars.)
func TestLanguageScreens(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "Public API", nil)
	ts.createComponent(t, "Dashboard", nil)
	ts.createIncident(t, map[string]any{"name": "API errors", "body": "We are looking into elevated error rates.", "status": "identified",
		"components": map[string]string{api.ID: "partial_outage"}})
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"language": "de", "languages": []string{"en", "ja"}}, nil)
	ts.waitFresh(t)
	dir := screenshotDir(t)
	ctx, problems := consoleBrowser(t, ts)
	for _, lang := range []string{"de", "ja"} {
		browse(t, ctx, problems, lang, chromedp.Navigate(ts.URL+"/?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#components-heading")))
		for _, width := range []int64{1280, 390} {
			for _, scheme := range []string{"light", "dark"} {
				browse(t, ctx, problems, lang, chromedp.EmulateViewport(width, 900), colorScheme(scheme))
				shoot(t, ctx, dir, fmt.Sprintf("home-%s-%d-%s.png", lang, width, scheme))
			}
		}
	}
	noProblems(t, ctx, problems)
}
