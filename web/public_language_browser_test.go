package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

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

// An incident page (resolved, with its postmortem) and the history in
// German and in Japanese, at a desktop's and a phone's width, light and
// dark: each renders without a browser error, fits the phone, keeps its
// contrast and its words apart, and the screenshots are there to look at.
func TestPageLanguageScreens(t *testing.T) {
	t.Parallel()
	f := newLanguagePages(t)
	f.mustCall(t, http.StatusOK, "POST", "/api/v1/incidents/"+f.resolved.ID+"/postmortem",
		map[string]any{"body": "A configuration change took the API down.\n\nWe now roll changes out region by region."}, nil)
	next := time.Now().Add(30 * time.Minute).UTC()
	f.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+f.active.ID+"/updates",
		map[string]any{"status": "monitoring", "body": "A fix is rolling out.", "next_update_at": next}, nil)
	f.waitFresh(t)
	dir := screenshotDir(t)
	ctx, problems := consoleBrowser(t, f.testServer)
	for _, lang := range []string{"de", "ja"} {
		for name, path := range map[string]string{
			"incident":        "/incidents/" + f.resolved.ID,
			"incident-active": "/incidents/" + f.active.ID,
			"maintenance":     "/maintenance/" + f.maint.ID,
			"history":         "/history",
		} {
			browse(t, ctx, problems, lang+" "+name, chromedp.Navigate(f.URL+path+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS("main h1")))
			atEveryWidth(t, ctx, problems, dir, "page-"+name+"-"+lang, path+"?lang="+lang)
		}
	}
	noProblems(t, ctx, problems)
}
