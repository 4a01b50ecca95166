package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A branded page in Chromium: its logo loads (the dark one in the dark
// scheme), its links take its accent, and the page's CSP lets all of it in
// without a single violation; at a phone's width nothing overflows.
func TestBrowserBrandedPage(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	f.brandPage(t)
	f.waitFresh(t)
	dir := screenshotDir(t)
	ctx, problems := newWatchedBrowser(t)
	for _, c := range []struct {
		scheme, logo, link string
	}{
		{"light", ".png", "rgb(10, 110, 49)"},
		{"dark", ".svg", "rgb(126, 226, 168)"},
	} {
		// Loaded in the scheme: a picture chooses its source as it loads.
		browse(t, ctx, problems, "/p/acme/ "+c.scheme, colorScheme(c.scheme), chromedp.Navigate(f.URL+"/p/acme/"),
			chromedp.WaitVisible(chromedp.CSS("header.site img.logo")))
		for _, width := range []int64{1280, 390} {
			where := fmt.Sprintf("%s at %d px", c.scheme, width)
			browse(t, ctx, problems, where, chromedp.EmulateViewport(width, 900))
			// The image the browser chose, loaded, at the header's height.
			logo := read(t, ctx, "logo", chromedp.Evaluate[string](`(() => { const i = document.querySelector("header.site img.logo");
				return i.complete && i.naturalWidth > 0 ? i.currentSrc + " " + i.getBoundingClientRect().height : "not loaded" })()`))
			if src, height, _ := strings.Cut(logo, " "); !strings.HasSuffix(src, c.logo) || height != "32" {
				t.Errorf("%s: the logo is %q, want a %s 32 px high", where, logo, c.logo)
			}
			if got := read(t, ctx, "link colour", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("footer.site .brand-links a")).color`)); got != c.link {
				t.Errorf("%s: links are %s, want the accent %s", where, got, c.link)
			}
			shoot(t, ctx, dir, fmt.Sprintf("public-branded-%d-%s.png", width, c.scheme))
			if got := read(t, ctx, "width", chromedp.Evaluate[string](`String(document.documentElement.scrollWidth)`)); got != fmt.Sprint(width) {
				t.Errorf("%s: the page is %s px wide", where, got)
			}
		}
	}
	noProblems(t, ctx, problems)
}
