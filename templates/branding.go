package templates

import (
	"net/url"
	"strings"

	"github.com/herald-status/herald/store"
)

// Brand is how a page is branded, as the public pages and emails show it:
// its assets' URLs (under the page's root), already content-hashed. The
// zero Brand is Herald's own look.
type Brand struct {
	Logo, LogoDark string // "" for none
	Favicon        string // "" for Herald's
	FaviconType    string
	// Stylesheet carries the accent colours and the custom CSS: the pages'
	// CSP allows no inline style.
	Stylesheet string
	SiteURL    string
	SupportURL string
	Footer     string
	// Accent is the light accent, for emails (inline styles there).
	Accent string
}

// BrandAssetPath is where an uploaded image is served, below a page's
// root: by its content hash, so that it may be cached for good. The one
// home of the form, for the pages and for the emails' absolute URLs.
func BrandAssetPath(img store.BrandImage) string {
	if img.Empty() {
		return ""
	}
	return "/branding/" + img.Hash[:20] + img.Ext()
}

// SiteHost is a link's host, to name it: "acme.example" for
// https://acme.example/about.
func SiteHost(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// BrandingLabels name the branding fields in the console.
var BrandingLabels = Labels{
	"accent": "Accent colour", "accent_dark": "Accent colour, dark theme", "site_url": "Your site", "support_url": "Support link",
	"footer": "Footer text", "css": "Custom CSS", "language": "Default language", "languages": "Other languages offered", "logo": "Logo", "logo_dark": "Logo for the dark theme", "favicon": "Favicon",
}

// BrandingForm is the console's branding page of one page.
type BrandingForm struct {
	Console  Console
	PageName string
	PageURL  string // the public page
	Base     string // where the forms post: /console/branding, /console/pages/{id}/branding
	Back     string
	BackText string
	Images   []BrandingImage
	Values   BrandingValues
	Errors   FormErrors
}

// BrandingImage is one image slot: its current file, if any.
type BrandingImage struct {
	Field string // logo, logo_dark, favicon
	URL   string
	None  string // what shows instead: ", Herald's" for the favicon
}

// BrandingValues are the form's text fields, as typed.
type BrandingValues struct {
	Accent, AccentDark, SiteURL, SupportURL, Footer, CSS string
	Language                                             string
	Languages                                            []string
}

// EmailBrand is a page's branding as its emails carry it: the logo at an
// absolute URL to Herald's hashed asset, which a mail client fetches; only
// with an https base URL (none at all: no image, rather than a broken one;
// plain http: mail clients block it).
func EmailBrand(b store.Branding, baseURL string) Brand {
	out := Brand{Accent: b.Accent, SiteURL: b.SiteURL, SupportURL: b.SupportURL, Footer: b.Footer}
	if p := BrandAssetPath(b.Logo); p != "" && strings.HasPrefix(baseURL, "https://") {
		out.Logo = strings.TrimRight(baseURL, "/") + p
	}
	return out
}

// accentOr is the page's accent, or def: the colour of an email's button.
func (b Brand) accentOr(def string) string {
	if b.Accent != "" {
		return b.Accent
	}
	return def
}
