package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An internal page and the public page open side by side; one update with
// an internal note: the internal page shows the note live, beside the
// message, and the public page shows the message alone.
func TestBrowserInternalNoteOnlyOnThePrivatePage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	// For this machine's own address: the browser is let in by it.
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{
		"slug": "inside", "name": "Inside Acme", "components": []string{api.ID}, "access": "ip", "ip_ranges": []string{"127.0.0.1", "::1"}}, nil)
	inc := ts.createIncident(t, map[string]any{"name": "API errors", "body": "We are investigating errors.", "components": map[string]string{api.ID: "partial_outage"}})
	ts.waitFresh(t)

	inside, problems := newWatchedBrowser(t)
	if err := chromedp.Do(inside, chromedp.Navigate(ts.URL+"/p/inside/")); err != nil {
		t.Fatal(err)
	}
	public, cancel := chromedp.NewContext(inside) // a second tab
	defer cancel()
	if err := chromedp.Do(public, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, inside, "the internal page live", `document.getElementById("live-status").dataset.state === "live"`)
	pollTrue(t, public, "the public page live", `document.getElementById("live-status").dataset.state === "live"`)

	const note = "Rolled back deploy 4812 on api-7; watching the pool."
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{
		"status": "identified", "body": "A fix is rolling out.", "internal_note": note}, nil)
	pollTrue(t, inside, "the note on the internal page", `document.getElementById("main").innerText.includes(`+jsString(note)+`) &&
		document.getElementById("main").innerText.includes("A fix is rolling out.")`)
	// The message is the barrier: the update it came with has arrived.
	pollTrue(t, public, "the message on the public page", `document.getElementById("main").innerText.includes("A fix is rolling out.")`)
	html, err := chromedp.Run(public, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "4812") || strings.Contains(html, "Internal note") {
		t.Error("the public page shows the internal note")
	}
	dir := screenshotDir(t)
	shoot(t, inside, dir, "internal-note-private-page.png")
	shoot(t, public, dir, "internal-note-public-page.png")
	noProblems(t, inside, problems)
}
