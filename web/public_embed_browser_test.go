package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserEmbedBannerOnAnotherSite puts embed.js on a customer's page,
// served from another origin under a strict Content-Security-Policy of the
// customer's own, and checks that the banner appears while an incident is
// open and goes once it is resolved.
func TestBrowserEmbedBannerOnAnotherSite(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": `Logins <b>failing</b>`, "impact": "major", "body": "Investigating.", "components": map[string]string{api.ID: "major_outage"}})

	customer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only what the banner needs: our script and our API. No inline
		// script or style is allowed, as on a careful customer's site.
		w.Header().Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src %s; connect-src %s", ts.URL, ts.URL))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Customer</title></head><body><main><h1>Shop</h1></main>
<script src="%s/embed.js" async></script></body></html>`, ts.URL)
	}))
	defer customer.Close()
	ts.waitFresh(t)

	ctx, problems := newWatchedBrowser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(customer.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`div[role="status"] a`)),
	); err != nil {
		t.Fatalf("browser: banner did not appear: %v (console: %q)", err, problems.get())
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`div[role="status"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Logins <b>failing</b>") || !strings.Contains(text, "Investigating") {
		t.Errorf("banner reads %q, want the incident's name as text and its status", text)
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('div[role="status"] a').href`))
	if err != nil {
		t.Fatal(err)
	}
	if href != "http://status.example.test/incidents/"+inc.ID {
		t.Errorf("banner links to %q, want the incident's page", href)
	}
	for _, p := range problems.get() {
		t.Errorf("browser reported a problem: %s", p)
	}

	// Resolved: a fresh visit shows no banner.
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	ts.waitFresh(t)
	// Count banners only once the script has rendered what it fetched.
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			_, err := cdp.Call(ctx, tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: summaryRendered})
			return err
		}),
		chromedp.Navigate(customer.URL+"/"), chromedp.WaitReady(chromedp.CSS("main")),
	); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.summaryRendered.then(() => String(document.querySelectorAll('div[role="status"]').length))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if n != "0" {
		t.Errorf("%s banners after the incident was resolved, want none", n)
	}
}

// summaryRendered, run in the page before its own scripts, makes
// window.summaryRendered a promise that settles once embed.js has rendered
// the summary it fetched: the script renders in the microtasks after json()
// settles, and a task queued then runs after them.
const summaryRendered = `(() => {
  const fetch = window.fetch;
  let rendered;
  window.summaryRendered = new Promise(r => { rendered = r; });
  window.fetch = function (...args) {
    return fetch.apply(this, args).then(resp => {
      const json = resp.json.bind(resp);
      resp.json = () => {
        const p = json();
        p.finally(() => setTimeout(rendered));
        return p;
      };
      return resp;
    });
  };
})();`
