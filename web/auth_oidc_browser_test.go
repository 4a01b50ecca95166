package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A person clicks "Sign in with …", signs in on the provider's own login
// page (zitadel's example OP), and lands in the console with the role the
// claims map to.
func TestBrowserSSOSignInThroughTheProvider(t *testing.T) {
	r := newZitadelRig(t)
	r.users.add("kim", "kim@example.com", true, "sre")
	ctx, problems := consoleBrowser(t, r.ts)
	browse(t, ctx, problems, "sign in through the provider",
		chromedp.Navigate(r.ts.URL+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")),
		chromedp.Click(chromedp.CSS("#sso-sign-in")),
		// The provider's page, on its own address.
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "kim"),
		chromedp.SendKeys(chromedp.CSS("#password"), opPassword+"\r"),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
	)
	if here := read(t, ctx, "location", chromedp.Evaluate[string](`location.href`)); here != r.ts.URL+"/console" {
		t.Fatalf("landed at %s", here)
	}
	browse(t, ctx, problems, "own account page",
		chromedp.Navigate(r.ts.URL+"/console/account"),
		chromedp.WaitVisible(chromedp.CSS("#how-heading")),
	)
	head := read(t, ctx, "page head", chromedp.Text(chromedp.CSS("main .page-sub")))
	if !strings.Contains(head, "kim@example.com") || !strings.Contains(head, "Commander") {
		t.Fatalf("account page head %q, want kim@example.com as Commander", head)
	}
	if how := read(t, ctx, "how", chromedp.Text(chromedp.CSS("#how-heading + .panel-body"))); !strings.Contains(how, "You sign in with Example ID") {
		t.Fatalf("account page says %q", how)
	}
	// The provider's login page has no icon; Chromium asks for one there.
	noProblems(t, ctx, problems, r.issuer+"/favicon.ico")
}
