package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// brandPNG is a real PNG logo: a w×h bar in c.
func brandPNG(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// brandSVG is an SVG logo that only draws: a rounded mark and a word.
func brandSVG(fill string) string {
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 32" width="120" height="32"><rect width="32" height="32" rx="8" fill="` + fill +
		`"/><text x="40" y="23" font-family="sans-serif" font-size="20" font-weight="700" fill="` + fill + `">ACME</text></svg>`
}

// brandPage gives the fixture's Acme page a full branding through the
// API, and returns it as the API answered.
func (f pagesFixture) brandPage(t *testing.T) store.Branding {
	t.Helper()
	base := "/api/v1/pages/" + f.page.ID + "/branding"
	var b store.Branding
	f.mustCall(t, http.StatusOK, "PATCH", base, map[string]any{
		"accent": "#0A6E31", "accent_dark": "#7ee2a8", "site_url": "https://acme.example/", "support_url": "https://help.acme.example/",
		"footer": "© Acme Corp <b>not bold</b>", "css": ".brand span { letter-spacing: .02em; }",
	}, &b)
	f.mustCall(t, http.StatusOK, "PUT", base+"/logo", brandPNG(t, 96, 32, color.RGBA{R: 10, G: 110, B: 49, A: 255}), &b)
	f.mustCall(t, http.StatusOK, "PUT", base+"/logo_dark", brandSVG("#7ee2a8"), &b)
	f.mustCall(t, http.StatusOK, "PUT", base+"/favicon", brandSVG("#0a6e31"), &b)
	return b
}

// A page shows its own branding; the default page and other pages do not.
func TestPageShowsItsBranding(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	f.brandPage(t)

	doc, status := f.getPage(t, "/p/acme/")
	if status != http.StatusOK {
		t.Fatalf("GET /p/acme/ = %d", status)
	}
	logo, _ := doc.Find("header.site .brand picture img.logo").Attr("src")
	dark, _ := doc.Find(`header.site .brand picture source[media="(prefers-color-scheme: dark)"]`).Attr("srcset")
	icon, _ := doc.Find(`link[rel="icon"]`).Attr("href")
	iconType, _ := doc.Find(`link[rel="icon"]`).Attr("type")
	sheet, _ := doc.Find(`link[rel="stylesheet"]`).Last().Attr("href")
	if !strings.HasPrefix(logo, "/p/acme/branding/") || !strings.HasSuffix(logo, ".png") || !strings.HasSuffix(dark, ".svg") ||
		!strings.HasSuffix(icon, ".svg") || iconType != "image/svg+xml" || !strings.HasPrefix(sheet, "/p/acme/branding/page.") {
		t.Errorf("logo %q, dark %q, icon %q (%s), stylesheet %q", logo, dark, icon, iconType, sheet)
	}
	if got := text(doc.Find("header.site .brand")); got != "Acme Corp" {
		t.Errorf("the name beside the logo reads %q", got)
	}
	if got := text(doc.Find("footer.site .brand-footer")); got != "© Acme Corp <b>not bold</b>" {
		t.Errorf("footer = %q (it is plain text, escaped)", got)
	}
	if doc.Find("footer.site b").Length() != 0 {
		t.Error("the footer's text became markup")
	}
	site, _ := doc.Find(`footer.site .brand-links a[href="https://acme.example/"]`).Html()
	support := doc.Find(`footer.site .brand-links a[href="https://help.acme.example/"]`)
	if site != "acme.example" || text(support) != "Support" {
		t.Errorf("links: site %q, support %q", site, text(support))
	}
	// The other pages of a branded page are branded too.
	for _, path := range []string{"/p/acme/history", "/p/acme/incidents/" + f.onAPI.ID} {
		doc, _ := f.getPage(t, path)
		if src, _ := doc.Find("img.logo").Attr("src"); src != logo {
			t.Errorf("%s shows logo %q, want %q", path, src, logo)
		}
	}

	// The default page keeps Herald's look.
	doc, _ = f.getPage(t, "/")
	if doc.Find("img.logo, .brand-footer, .brand-links").Length() != 0 {
		t.Error("the default page shows the Acme page's branding")
	}
	if href, _ := doc.Find(`link[rel="icon"]`).Attr("href"); strings.Contains(href, "branding") {
		t.Errorf("the default page's icon is %s", href)
	}
	if f.srv.main.snap.Load().brandFile(strings.TrimPrefix(logo, "/p/acme/branding/")) != nil {
		t.Error("the default page holds the Acme logo")
	}
	if resp, _ := f.fetch(t, "GET", strings.TrimPrefix(logo, "/p/acme"), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the Acme logo at the default page's root: %d", resp.StatusCode)
	}

	// Branding the default page brands it, and not Acme's.
	f.mustCall(t, http.StatusOK, "PATCH", "/api/v1/branding", map[string]any{"footer": "Default page footer", "accent": "#6639ba"}, nil)
	doc, _ = f.getPage(t, "/")
	if got := text(doc.Find(".brand-footer")); got != "Default page footer" {
		t.Errorf("default page footer = %q", got)
	}
	doc, _ = f.getPage(t, "/subscribe")
	if got := text(doc.Find(".brand-footer")); got != "Default page footer" {
		t.Errorf("the subscribe form's footer = %q", got)
	}
	doc, _ = f.getPage(t, "/p/acme/")
	if got := text(doc.Find(".brand-footer")); got != "© Acme Corp <b>not bold</b>" {
		t.Errorf("after the default page was branded, Acme's footer = %q", got)
	}
}

// Every branding file is served from memory at a content-hashed URL, for
// good, with its own CSP and nosniff.
func TestBrandAssetsHeaders(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	f.brandPage(t)
	doc, _ := f.getPage(t, "/p/acme/")
	logo, _ := doc.Find("img.logo").Attr("src")
	dark, _ := doc.Find("picture source").Attr("srcset")
	sheet, _ := doc.Find(`link[rel="stylesheet"]`).Last().Attr("href")
	for _, c := range []struct {
		path, contentType, csp string
		has                    string
	}{
		{logo, "image/png", "default-src 'none'; style-src 'unsafe-inline'", "\x89PNG"},
		{dark, "image/svg+xml", "default-src 'none'; style-src 'unsafe-inline'", "<svg"},
		{sheet, "text/css; charset=utf-8", "default-src 'none'", "--link: #0a6e31"},
	} {
		resp, body := f.fetch(t, "GET", c.path, nil)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != c.contentType || !strings.HasPrefix(h.Get("Content-Security-Policy"), c.csp) ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.Contains(string(body), c.has) {
			t.Errorf("GET %s = %d, type %q, CSP %q, nosniff %q, cache %q, body %.40q", c.path, resp.StatusCode, h.Get("Content-Type"),
				h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"), h.Get("Cache-Control"), body)
		}
		again, _ := f.fetch(t, "GET", c.path, map[string]string{"If-None-Match": h.Get("ETag")})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag = %d", c.path, again.StatusCode)
		}
	}
	_, css := f.fetch(t, "GET", sheet, nil)
	for _, want := range []string{"@media (prefers-color-scheme: dark)", "--link: #7ee2a8", ".brand span { letter-spacing: .02em; }"} {
		if !strings.Contains(string(css), want) {
			t.Errorf("the page's stylesheet lacks %q:\n%s", want, css)
		}
	}
	if resp, _ := f.fetch(t, "GET", "/p/acme/branding/nothing.png", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown branding file = %d", resp.StatusCode)
	}
}

// Bad branding is refused with a message that says why, and changes
// nothing.
func TestBrandingBadInput(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	good := f.brandPage(t)
	base := "/api/v1/pages/" + f.page.ID + "/branding"
	big := append(brandPNG(t, 8, 8, color.RGBA{A: 255}), make([]byte, store.MaxBrandImageBytes)...)
	for _, c := range []struct {
		name, method, path string
		body               any
		field, message     string
	}{
		{"a GIF logo", "PUT", base + "/logo", "GIF89a\x01\x00\x01\x00", "logo", "is not a PNG, SVG or WebP image"},
		{"a logo over 512 KB", "PUT", base + "/logo", big, "logo", "the limit is 512 KB"},
		{"an SVG with script", "PUT", base + "/logo", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "logo", "<script>"},
		{"an SVG with onload", "PUT", base + "/favicon", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, "favicon", "onload"},
		{"an SVG with javascript:", "PUT", base + "/logo_dark", `<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"/></svg>`, "logo_dark", "javascript:"},
		{"an SVG with an external href", "PUT", base + "/logo", `<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/a.png"/></svg>`, "logo", "links to"},
		{"an accent below contrast", "PATCH", base, map[string]any{"accent": "#777777"}, "accent", "contrast 4.48:1 against the light page background (#ffffff), below the 4.5:1"},
		{"a malformed colour", "PATCH", base, map[string]any{"accent": "green"}, "accent", "is not a colour"},
		{"a link that is not http(s)", "PATCH", base, map[string]any{"support_url": "javascript:alert(1)"}, "support_url", "must start with https://"},
		{"CSS with @import", "PATCH", base, map[string]any{"css": `@import url("https://evil.example/x.css");`}, "css", "@import"},
		{"CSS with a remote url(", "PATCH", base, map[string]any{"css": `body { background: url(https://evil.example/x.png) }`}, "css", "url("},
		{"CSS with expression(", "PATCH", base, map[string]any{"css": `a { color: expression(alert(1)) }`}, "css", "expression("},
	} {
		r := f.call(t, c.method, c.path, c.body)
		var e apiErr
		r.decode(t, &e)
		if r.Status != http.StatusUnprocessableEntity || e.Error.Field != c.field || !strings.Contains(e.Error.Message, c.message) {
			t.Errorf("%s: %d %s, want 422 on %s saying %q", c.name, r.Status, r.Body, c.field, c.message)
		}
	}
	// Past the API's body limit the upload is not read at all.
	r := f.call(t, "PUT", base+"/logo", make([]byte, 2<<20))
	var e apiErr
	r.decode(t, &e)
	if r.Status != http.StatusRequestEntityTooLarge || e.Error.Message == "" {
		t.Errorf("a 2 MB logo: %d %s", r.Status, r.Body)
	}
	var now store.Branding
	f.mustCall(t, http.StatusOK, "GET", base, nil, &now)
	if now.Accent != good.Accent || now.CSS != good.CSS || now.SupportURL != good.SupportURL || now.Logo.Hash != good.Logo.Hash || now.Favicon.Hash != good.Favicon.Hash || now.LogoDark.Hash != good.LogoDark.Hash {
		t.Errorf("refused input changed the branding: %+v, was %+v", now, good)
	}
}

// The contrast rule's backgrounds are the stylesheet's: if app.css
// changes its --bg, store.LightBackground and DarkBackground must too.
func TestBrandBackgroundsMatchCSS(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile("../static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	light, dark, ok := strings.Cut(string(css), "prefers-color-scheme: dark")
	if !ok || !strings.Contains(light, "--bg: "+store.LightBackground+";") || !strings.Contains(dark, "--bg: "+store.DarkBackground+";") {
		t.Errorf("static/app.css's backgrounds are not %s and %s", store.LightBackground, store.DarkBackground)
	}
}
