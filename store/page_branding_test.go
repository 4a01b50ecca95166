package store

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"strings"
	"testing"
)

// testPNG is a real PNG of w×h pixels.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.RGBA{R: 5, G: 80, B: 174, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const testSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect width="10" height="10" fill="url(#g)"/><use href="#g"/></svg>`

func TestBranding(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		ctx := t.Context()
		acme, err := st.CreatePage(ctx, PageInput{Slug: "acme", Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		logo := testPNG(t, 40, 20)
		b, err := st.SaveBranding(ctx, acme.ID, BrandingPatch{Accent: ptr("#0A6E31"), AccentDark: ptr("#7ee2a8"), SiteURL: ptr("https://acme.example/"),
			SupportURL: ptr("https://help.acme.example/contact"), Footer: ptr(" © Acme Corp "), CSS: ptr(".brand { letter-spacing: .02em; }"),
			Logo: &logo, LogoDark: ptr([]byte(testSVG)), Favicon: ptr([]byte(testSVG))})
		if err != nil {
			t.Fatalf("SaveBranding: %v", err)
		}
		if b.Accent != "#0a6e31" || b.Footer != "© Acme Corp" || b.Logo.ContentType != "image/png" || b.LogoDark.ContentType != "image/svg+xml" || b.Favicon.Hash != b.LogoDark.Hash {
			t.Errorf("saved = %+v", b)
		}
		// The default page is branded the same way, apart.
		if _, err := st.SaveBranding(ctx, "", BrandingPatch{Accent: ptr("#6639ba"), Footer: ptr("Default footer")}); err != nil {
			t.Fatalf("SaveBranding(default): %v", err)
		}
		all, err := st.ListBrandings(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("ListBrandings = %v, %v", all, err)
		}
		if got := all[acme.ID]; got.SiteURL != "https://acme.example/" || got.Logo.Hash != b.Logo.Hash || got.Logo.ContentType != "image/png" || got.CSS != ".brand { letter-spacing: .02em; }" {
			t.Errorf("read back = %+v", got)
		}
		if got := all[""]; got.Accent != "#6639ba" || got.Logo.Hash != "" {
			t.Errorf("default page's = %+v", got)
		}
		img, err := st.BrandAsset(ctx, b.Logo.Hash)
		if err != nil || !bytes.Equal(img.Body, logo) || img.ContentType != "image/png" {
			t.Errorf("BrandAsset = %s, %d bytes, %v", img.ContentType, len(img.Body), err)
		}

		// A patch leaves what it does not name; an empty image removes it,
		// and an image no page shows any more is gone.
		b, err = st.SaveBranding(ctx, acme.ID, BrandingPatch{Footer: ptr("New footer"), Logo: ptr([]byte{})})
		if err != nil || b.Accent != "#0a6e31" || b.Footer != "New footer" || !b.Logo.Empty() || b.LogoDark.Empty() {
			t.Errorf("after a patch: %+v, %v", b, err)
		}
		if _, err := st.BrandAsset(ctx, img.Hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("the removed logo is still stored: %v", err)
		}

		big := append([]byte{}, logo...)
		big = append(big, make([]byte, MaxBrandImageBytes)...)
		bad := []struct {
			name    string
			patch   BrandingPatch
			field   string
			message string
		}{
			{"logo not an image", BrandingPatch{Logo: ptr([]byte("GIF89a......"))}, "logo", "is not a PNG, SVG or WebP image"},
			{"logo named png but html", BrandingPatch{Logo: ptr([]byte("<html><script>alert(1)</script></html>"))}, "logo", "not <svg>"},
			{"logo over 512 KB", BrandingPatch{Logo: &big}, "logo", "the limit is 512 KB"},
			{"svg with script", BrandingPatch{Logo: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))}, "logo", "holds a <script>"},
			{"svg with onload", BrandingPatch{LogoDark: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`))}, "logo_dark", "event handler (onload=)"},
			{"svg with javascript:", BrandingPatch{Favicon: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>`))}, "favicon", "javascript:"},
			{"svg with external href", BrandingPatch{Logo: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://evil.example/x.png"/></svg>`))}, "logo", "links to"},
			{"svg animating a link", BrandingPatch{Logo: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><a href="#x"><set attributeName="href" to="https://evil.example/"/></a></svg>`))}, "logo", "animates a link"},
			{"svg with foreignObject", BrandingPatch{Logo: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p></foreignObject></svg>`))}, "logo", "foreignObject"},
			{"svg with entity", BrandingPatch{Logo: ptr([]byte(`<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>`))}, "logo", "DOCTYPE"},
			{"svg with remote style", BrandingPatch{Logo: ptr([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><style>rect{fill:url(https://evil.example/a)}</style></svg>`))}, "logo", "loads from elsewhere"},
			{"accent below contrast", BrandingPatch{Accent: ptr("#777777")}, "accent", "contrast 4.48:1 against the light page background (#ffffff), below the 4.5:1"},
			{"dark accent below contrast", BrandingPatch{AccentDark: ptr("#0550ae")}, "accent_dark", "against the dark page background"},
			{"malformed colour", BrandingPatch{Accent: ptr("blue")}, "accent", "is not a colour"},
			{"short colour", BrandingPatch{Accent: ptr("#fff")}, "accent", "#rrggbb"},
			{"link not http", BrandingPatch{SiteURL: ptr("javascript:alert(1)")}, "site_url", "must start with https://"},
			{"link with CR/LF", BrandingPatch{SupportURL: ptr("https://a.example/\r\nx")}, "support_url", "control characters"},
			{"footer with line break", BrandingPatch{Footer: ptr("a\nb")}, "footer", "control characters"},
			{"footer too long", BrandingPatch{Footer: ptr(strings.Repeat("x", MaxFooterLength+1))}, "footer", "the limit is 500"},
			{"css @import", BrandingPatch{CSS: ptr(`@import "https://evil.example/a.css";`)}, "css", "@import"},
			{"css remote url(", BrandingPatch{CSS: ptr(`body { background: URL( "https://evil.example/a.png") }`)}, "css", "url("},
			{"css expression", BrandingPatch{CSS: ptr(`a { width: expression(alert(1)) }`)}, "css", "expression("},
			{"css hidden in a comment", BrandingPatch{CSS: ptr(`a { b: ur/* */l(x) }`)}, "css", "url("},
			{"css escape", BrandingPatch{CSS: ptr(`a { b: \75rl(x) }`)}, "css", "backslash"},
			{"css too big", BrandingPatch{CSS: ptr(strings.Repeat("a{}", MaxBrandCSSBytes))}, "css", "the limit is 64 KB"},
		}
		before, _ := st.ListBrandings(ctx)
		for _, c := range bad {
			_, err := st.SaveBranding(ctx, acme.ID, c.patch)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field || !strings.Contains(ve.Message, c.message) {
				t.Errorf("%s: %v, want a refusal on %s saying %q", c.name, err, c.field, c.message)
			}
		}
		if after, _ := st.ListBrandings(ctx); !reflect.DeepEqual(after[acme.ID], before[acme.ID]) {
			t.Errorf("refused input changed the branding:\n%+v\n%+v", before[acme.ID], after[acme.ID])
		}
		if _, err := st.SaveBranding(ctx, "nope", BrandingPatch{Footer: ptr("x")}); !errors.Is(err, ErrNotFound) {
			t.Errorf("branding a page that is not there: %v", err)
		}
		if _, err := st.GetBranding(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("reading the branding of a page that is not there: %v", err)
		}

		// The branding goes with its page.
		if err := st.DeletePage(ctx, acme.ID); err != nil {
			t.Fatal(err)
		}
		if all, _ := st.ListBrandings(ctx); len(all) != 1 {
			t.Errorf("after the page is deleted: %v", all)
		}
	})
}

// TestContrastRatio checks the WCAG computation against known pairs.
func TestContrastRatio(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		fg, bg string
		want   string
		ok     bool
	}{
		{"#000000", "#ffffff", "21", true},
		{"#ffffff", "#ffffff", "1", false},
		{"#777777", "#ffffff", "4.48", false},
		{"#767676", "#ffffff", "4.54", true},
		{"#0550ae", "#ffffff", "7.59", true}, // Herald's own link colour
		{"#58a6ff", "#0d1117", "7.49", true}, // and its dark one
	} {
		r := ContrastRatio(c.fg, c.bg)
		if got := FormatRatio(r); got != c.want || (r >= MinContrast) != c.ok {
			t.Errorf("ContrastRatio(%s, %s) = %s (%v), want %s", c.fg, c.bg, got, r, c.want)
		}
	}
}

// What editors write is taken: an Inkscape SVG with its metadata, a WebP,
// a PNG; by their bytes, whatever they would be called.
func TestBrandImageKinds(t *testing.T) {
	t.Parallel()
	inkscape := `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://creativecommons.org/ns#" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
   xmlns:svg="http://www.w3.org/2000/svg" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
   xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" width="120" height="32" sodipodi:docname="logo.svg">
  <metadata><rdf:RDF><cc:Work rdf:about=""><dc:format>image/svg+xml</dc:format><dc:type rdf:resource="http://purl.org/dc/dcmitype/StillImage"/></cc:Work></rdf:RDF></metadata>
  <defs><linearGradient id="a"><stop offset="0" style="stop-color:#0a6e31"/></linearGradient></defs>
  <style>.w { font: 700 20px sans-serif; fill: url(#a) }</style>
  <rect width="32" height="32" rx="8" style="fill:url(#a)"/><use xlink:href="#a"/><text class="w" x="40" y="23">ACME</text>
</svg>`
	webp := append([]byte("RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00"), make([]byte, 24)...)
	for name, c := range map[string]struct {
		body []byte
		want string
	}{
		"inkscape svg": {[]byte(inkscape), "image/svg+xml"},
		"webp":         {webp, "image/webp"},
		"png":          {testPNG(t, 4, 4), "image/png"},
	} {
		if got, err := CheckBrandImage("logo", c.body); err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %s", name, got, err, c.want)
		}
	}
	if _, err := CheckBrandImage("logo", []byte("\x89PNG\r\n\x1a\nbroken")); err == nil {
		t.Error("a PNG's magic alone was taken for a PNG")
	}
}

// A page's languages: a shipped default and the others it offers, read
// back in order without the default or repeats; an unknown one is refused
// by its field and changes nothing.
func TestBrandingLanguages(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		ctx := t.Context()
		b, err := st.GetBranding(ctx, "")
		if err != nil || b.Language != "en" || strings.Join(b.Offered(), ",") != "en" {
			t.Fatalf("never set: %q %v, %v", b.Language, b.Offered(), err)
		}
		b, err = st.SaveBranding(ctx, "", BrandingPatch{Language: ptr("de"), Languages: &[]string{"ja", "de", " pt-BR ", "ja"}})
		if err != nil || strings.Join(b.Offered(), ",") != "de,ja,pt-BR" {
			t.Fatalf("saved %v, %v", b.Offered(), err)
		}
		all, err := st.ListBrandings(ctx)
		if err != nil || strings.Join(all[""].Offered(), ",") != "de,ja,pt-BR" {
			t.Errorf("read back %v, %v", all[""].Offered(), err)
		}
		for _, p := range []struct {
			patch BrandingPatch
			field string
		}{{BrandingPatch{Language: ptr("xx")}, "language"}, {BrandingPatch{Languages: &[]string{"fr", "pt"}}, "languages"}} {
			var ve *ValidationError
			if _, err := st.SaveBranding(ctx, "", p.patch); !errors.As(err, &ve) || ve.Field != p.field || !strings.Contains(err.Error(), "unknown language") {
				t.Errorf("%+v: %v, want refused on %s", p.patch, err, p.field)
			}
		}
		if b, _ := st.GetBranding(ctx, ""); strings.Join(b.Offered(), ",") != "de,ja,pt-BR" {
			t.Errorf("refused input changed the languages: %v", b.Offered())
		}
		// A subscriber's language: a shipped one, kept with them.
		var ve *ValidationError
		if err := st.SubscribeEmail(ctx, SubscriberInput{Email: "x@example.com", Language: "xx"}); !errors.As(err, &ve) || ve.Field != "language" {
			t.Errorf("an unknown subscriber language: %v", err)
		}
		if err := st.SubscribeEmail(ctx, SubscriberInput{Email: "y@example.com", Language: "ja"}); err != nil {
			t.Fatal(err)
		}
		subs, err := st.ListSubscribers(ctx, SubscriberFilter{})
		if err != nil || len(subs) != 1 || subs[0].Language != "ja" {
			t.Errorf("subscribers %+v, %v: want y@ alone, in ja", subs, err)
		}
	})
}
