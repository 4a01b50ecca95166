package web

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/store"
)

// The pages of a viewer's sign-in — the form in place of the page, the
// answer to it, the link's confirm page, a used link, the sign-out — at a
// desktop's and a phone's width, light and dark: screenshots for a person
// to look at, and the checks a machine can make (nothing wider than a
// phone, every control labelled, every text readable).
func TestBrowserViewerSignInLooksRight(t *testing.T) {
	t.Parallel()
	f := newPrivateFixture(t, store.AccessPublic, nil)
	f.viewersOf(t, "ana@example.com")
	dir := screenshotDir(t)
	if _, err := f.store.RequestViewerLink(t.Context(), store.ViewerLinkRequest{PageID: f.page.ID, Email: "ana@example.com", LinkBase: f.URL}); err != nil {
		t.Fatal(err)
	}
	fresh := mintLink(t, f.testServer)

	ctx, problems := consoleBrowser(t, f.testServer)
	for _, stop := range []struct {
		name, path string
		submit     bool // the page is the answer to the form on path
	}{
		{"viewer-sign-in-form", "/p/ops/", false},
		{"viewer-sign-in-sent", "/p/ops/", true},
		{"viewer-link-confirm", "/p/ops/viewer/link/" + fresh, false},
		{"viewer-link-bad", "/p/ops/viewer/link/" + forge(fresh), false},
		{"viewer-sign-out", "/p/ops/viewer/sign-out", false},
	} {
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(f.URL + stop.path), chromedp.WaitVisible(chromedp.CSS("main h1"))}
		if stop.submit {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS("#email"), "ana@example.com"), chromedp.Click(chromedp.CSS("main form button")),
				chromedp.WaitVisible(chromedp.CSS(".notice")))
		}
		browse(t, ctx, problems, stop.name, steps...)
		atEveryWidth(t, ctx, problems, dir, stop.name, stop.name)
	}
	// The button signs in, and the page is there.
	browse(t, ctx, problems, "confirming", chromedp.Navigate(f.URL+"/p/ops/viewer/link/"+fresh), chromedp.WaitVisible(chromedp.CSS("main form button")),
		chromedp.Click(chromedp.CSS("main form button")), chromedp.WaitVisible(chromedp.CSS("footer a[href='/p/ops/viewer/sign-out']")))
	shoot(t, ctx, dir, "viewer-signed-in-390-dark.png")
	if got := f.visit(t, http.MethodGet, "/p/ops/viewer/link/"+fresh, "", nil); got.status != http.StatusGone {
		t.Errorf("the link after the browser used it: %d", got.status)
	}
	// The form in place of the page is a 401, the bad link a 404: the
	// browser notes both.
	noProblems(t, ctx, problems, "401 (Unauthorized)", "404 (Not Found)")
}
