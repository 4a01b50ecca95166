package web

import (
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// An admin brands a page in the console: the text fields in one form, each
// image uploaded on its own; bad input is shown again with the reason, by
// its field, and changes nothing.
func TestConsoleBranding(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	admin := f.signedIn(t, f.addUser(t, "admin@example.com", store.RoleAdmin))
	base := "/console/pages/" + f.page.ID + "/branding"

	if p := admin.get("/console/pages/" + f.page.ID); p.Doc.Find(`a[href="`+base+`"]`).Length() != 1 {
		t.Error("the page's settings have no link to its branding")
	}
	p := admin.post(base, url.Values{"accent": {"#0a6e31"}, "site_url": {"https://acme.example/"}, "support_url": {"https://help.acme.example/"},
		"footer": {"© Acme Corp"}, "css": {""}, "accent_dark": {""}})
	if p.Status != http.StatusSeeOther || location(p) != base+"?msg=branding-saved" {
		t.Fatalf("saving = %d %s", p.Status, location(p))
	}
	p = admin.upload(base+"/logo", nil, "image", "acme.png", brandPNG(t, 96, 32, color.RGBA{R: 10, G: 110, B: 49, A: 255}))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("uploading the logo = %d %s", p.Status, p.Body)
	}
	p = admin.get(base + "?msg=branding-saved")
	if got := p.Doc.Find("#f-accent").AttrOr("value", ""); got != "#0a6e31" {
		t.Errorf("the form shows accent %q", got)
	}
	preview := p.Doc.Find(".brand-preview img").AttrOr("src", "")
	if shown := admin.get(preview); shown.Status != http.StatusOK || shown.Header.Get("Content-Type") != "image/png" {
		t.Errorf("the form's logo preview %q = %d %s", preview, shown.Status, shown.Header.Get("Content-Type"))
	}
	doc, _ := f.getPage(t, "/p/acme/")
	if logo := doc.Find("img.logo").AttrOr("src", ""); !strings.HasPrefix(logo, "/p/acme/branding/") || text(doc.Find(".brand-footer")) != "© Acme Corp" {
		t.Errorf("the page shows logo %q and footer %q", doc.Find("img.logo").AttrOr("src", ""), text(doc.Find(".brand-footer")))
	}

	before, _ := f.store.GetBranding(t.Context(), f.page.ID)
	for _, c := range []struct {
		name     string
		send     func() consolePage
		field    string
		message  string
		keptText string // what the form shows again, as typed
	}{
		{"an accent below contrast", func() consolePage {
			return admin.post(base, url.Values{"accent": {"#777777"}, "footer": {"kept as typed"}})
		}, "accent", "contrast 4.48:1", "kept as typed"},
		{"a malformed colour", func() consolePage { return admin.post(base, url.Values{"accent": {"#12345g"}}) }, "accent", "is not a colour", ""},
		{"a link that is not http(s)", func() consolePage {
			return admin.post(base, url.Values{"accent": {"#0a6e31"}, "site_url": {"ftp://acme.example/"}})
		}, "site_url", "must start with https://", ""},
		{"CSS with @import", func() consolePage {
			return admin.post(base, url.Values{"css": {`@import "https://evil.example/x.css";`}})
		}, "css", "@import", ""},
		{"a logo that is not an image", func() consolePage {
			return admin.upload(base+"/logo", nil, "image", "logo.png", []byte("<html><body>not an image</body></html>"))
		}, "logo", "is not a PNG, SVG or WebP image", ""},
		{"a logo over 512 KB", func() consolePage {
			return admin.upload(base+"/logo", nil, "image", "big.png", append(brandPNG(t, 4, 4, color.RGBA{A: 255}), make([]byte, store.MaxBrandImageBytes)...))
		}, "logo", "the limit is 512 KB", ""},
		{"an SVG favicon with onload", func() consolePage {
			return admin.upload(base+"/favicon", nil, "image", "icon.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`))
		}, "favicon", "event handler", ""},
	} {
		p := c.send()
		msg := text(p.Doc.Find("#e-" + c.field))
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, c.message) {
			t.Errorf("%s: %d, message %q, want one saying %q", c.name, p.Status, msg, c.message)
		}
		if c.keptText != "" && p.Doc.Find("#f-footer").AttrOr("value", "") != c.keptText {
			t.Errorf("%s: the form lost what was typed", c.name)
		}
	}
	if after, _ := f.store.GetBranding(t.Context(), f.page.ID); after.Accent != before.Accent || after.CSS != before.CSS || after.Footer != before.Footer ||
		after.Logo.Hash != before.Logo.Hash || !after.Favicon.Empty() {
		t.Errorf("refused input changed the branding: %+v", after)
	}

	// Removing the logo removes it from the page.
	if p := admin.upload(base+"/logo", url.Values{"remove": {"yes"}}, "", "", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("removing the logo = %d", p.Status)
	}
	if doc, _ := f.getPage(t, "/p/acme/"); doc.Find("img.logo").Length() != 0 {
		t.Error("the removed logo is still shown")
	}

	// The default page has its branding form too; a viewer reads it and
	// may not change it.
	if p := admin.post("/console/branding", url.Values{"footer": {"Default footer"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("branding the default page = %d", p.Status)
	}
	if doc, _ := f.getPage(t, "/"); text(doc.Find(".brand-footer")) != "Default footer" {
		t.Error("the default page does not show its footer")
	}
	viewer := f.signedIn(t, f.addUser(t, "viewer@example.com", store.RoleViewer))
	if p := viewer.get("/console/branding"); p.Status != http.StatusOK || p.Doc.Find("#f-footer").AttrOr("value", "") != "Default footer" || p.Doc.Find(`input[type="file"]`).Length() != 0 {
		t.Errorf("a viewer's branding page: %d", p.Status)
	}
	if p := viewer.post("/console/branding", url.Values{"footer": {"Viewer was here"}}); p.Status != http.StatusForbidden {
		t.Errorf("a viewer saving the branding = %d", p.Status)
	}
}

// brandTourPage brands a page as a customer would: a logo and its dark
// variant, colours, links and a footer.
func brandTourPage(t *testing.T, ts *testServer, pageID string) {
	t.Helper()
	logo, dark := []byte(brandSVG("#0a6e31")), []byte(brandSVG("#7ee2a8"))
	if _, err := ts.store.SaveBranding(t.Context(), pageID, store.BrandingPatch{Accent: ptrTo("#0a6e31"), AccentDark: ptrTo("#7ee2a8"),
		SiteURL: ptrTo("https://acme.example/"), SupportURL: ptrTo("https://help.acme.example/"), Footer: ptrTo("© Acme Corp · Status of the Acme platform"),
		Logo: &logo, LogoDark: &dark, Favicon: &logo}); err != nil {
		t.Fatal(err)
	}
}
