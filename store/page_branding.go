package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-status/herald/templates/i18n"
)

// Branding is how one page looks: its accent colours, the links back to
// the company, a footer, custom CSS and its images. PageID "" is the
// default page, which is not a Page but is branded the same way. The zero
// value (no row) is Herald's own look.
type Branding struct {
	PageID string `json:"page_id"`
	// Accent is the colour of links and buttons on the light page, as
	// #rrggbb; AccentDark the same on the dark one. "" keeps Herald's.
	Accent     string `json:"accent"`
	AccentDark string `json:"accent_dark"`
	SiteURL    string `json:"site_url"`    // the company's own site
	SupportURL string `json:"support_url"` // where to ask for help
	Footer     string `json:"footer"`      // plain text
	CSS        string `json:"css"`         // presentation only (checkBrandCSS)
	// The images, by the hex SHA-256 of their bytes ("" for none); their
	// bytes are read apart (BrandAsset), since a rebuild reads every
	// page's branding and rarely needs an image it does not hold yet.
	Logo     BrandImage `json:"logo"`
	LogoDark BrandImage `json:"logo_dark"`
	Favicon  BrandImage `json:"favicon"`
	// Language is the page's default language, a shipped one
	// (templates/i18n): what a visitor reads whose browser asks for none
	// the page offers. Languages are the others it offers.
	Language  string    `json:"language"`
	Languages []string  `json:"languages"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Offered are the languages the page is rendered in: its default first,
// then the others in the order they were given.
func (b Branding) Offered() []string {
	out := []string{b.Language}
	if b.Language == "" {
		out[0] = i18n.Default
	}
	for _, l := range b.Languages {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// BrandImage is an uploaded image: by its content hash and type.
type BrandImage struct {
	Hash        string `json:"hash"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"-"`
}

// Empty reports whether the image slot holds nothing.
func (i BrandImage) Empty() bool { return i.Hash == "" }

// Ext is the file extension its URL carries.
func (i BrandImage) Ext() string {
	switch i.ContentType {
	case "image/svg+xml":
		return ".svg"
	case "image/webp":
		return ".webp"
	}
	return ".png"
}

// A branding change is a change to its page, on the feed with the page's
// id alone ("" for the default page), as a page's own settings are.
func (b Branding) feedRef() (string, string) { return pageKind, b.PageID }
func (b Branding) feedPayload() any          { return map[string]string{"id": b.PageID} }

// Limits on branding.
const (
	MaxBrandImageBytes = 512 << 10
	MaxBrandCSSBytes   = 64 << 10
	MaxFooterLength    = 500
	// MinContrast is WCAG 2 AA for normal text.
	MinContrast = 4.5
)

// The page backgrounds an accent must read against: --bg of static/app.css
// in the light and the dark scheme (web's TestBrandBackgroundsMatchCSS
// keeps the two in step).
const (
	LightBackground = "#ffffff"
	DarkBackground  = "#0d1117"
)

// BrandingPatch changes a page's branding: a nil field stays as it is.
// An image is the uploaded bytes, checked by content (CheckBrandImage);
// an empty one removes it.
type BrandingPatch struct {
	Accent     *string   `json:"accent"`
	AccentDark *string   `json:"accent_dark"`
	SiteURL    *string   `json:"site_url"`
	SupportURL *string   `json:"support_url"`
	Footer     *string   `json:"footer"`
	CSS        *string   `json:"css"`
	Logo       *[]byte   `json:"-"`
	LogoDark   *[]byte   `json:"-"`
	Favicon    *[]byte   `json:"-"`
	Language   *string   `json:"language"`
	Languages  *[]string `json:"languages"`
}

var colourPattern = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// checkAccent checks an accent colour: #rrggbb, readable (WCAG AA) on bg.
func checkAccent(field, v, bg, scheme string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return "", nil
	}
	if !colourPattern.MatchString(v) {
		return "", invalid(field, "%q is not a colour: write it as #rrggbb, such as #0550ae", v)
	}
	if r := ContrastRatio(v, bg); r < MinContrast {
		// Rounded, a refused 4.497 would read as 4.5.
		shown := min(math.Round(r*100)/100, MinContrast-0.01)
		return "", invalid(field, "%s has contrast %s:1 against the %s page background (%s), below the %s:1 that WCAG AA asks of text; choose a %s colour",
			v, FormatRatio(shown), scheme, bg, FormatRatio(MinContrast), map[bool]string{true: "darker", false: "lighter"}[scheme == "light"])
	}
	return v, nil
}

// ContrastRatio is the WCAG 2 contrast ratio of two #rrggbb colours, from
// 1 to 21: (L1 + 0.05) / (L2 + 0.05) of their relative luminances.
func ContrastRatio(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is WCAG 2's relative luminance of a #rrggbb colour.
func luminance(c string) float64 {
	channel := func(i int) float64 {
		n, _ := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8) // checked by colourPattern
		v := float64(n) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(0) + 0.7152*channel(1) + 0.0722*channel(2)
}

// FormatRatio writes a contrast ratio as people quote them: 4.54, 21.
func FormatRatio(r float64) string {
	return strconv.FormatFloat(math.Round(r*100)/100, 'f', -1, 64)
}

// checkHTTPURL checks an absolute http(s) URL a person will follow or a
// server will call: the one home of its form. Whatever the caller adds
// (no user info, no fragment) it checks itself.
func checkHTTPURL(field, raw string, required bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if required {
			return nil, invalid(field, "is required")
		}
		return nil, nil
	}
	if len(raw) > MaxURLLength {
		return nil, invalid(field, "is %d characters long; the limit is %d", len(raw), MaxURLLength)
	}
	if r, i, ok := FirstControl(raw); ok {
		return nil, invalid(field, "must not contain control characters (it holds %U at byte %d)", r, i)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid(field, "is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalid(field, "must start with https:// or http://")
	}
	if u.Hostname() == "" {
		return nil, invalid(field, "has no host")
	}
	return u, nil
}

func checkBrandLink(field, raw string) (string, error) {
	u, err := checkHTTPURL(field, raw, false)
	if err != nil || u == nil {
		return "", err
	}
	if u.User != nil {
		return "", invalid(field, "must not carry a user name or password")
	}
	return u.String(), nil
}

// cssComment is a CSS comment, which may hide a keyword in pieces.
var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// checkBrandCSS lets custom CSS change presentation only: nothing that
// loads from anywhere (every url(, image-set(, @import), runs script
// (expression(, behavior:, -moz-binding, javascript:) or leaves the
// stylesheet (</style). Backslash escapes could spell any of them, so
// there are none; comments are taken out before looking.
func checkBrandCSS(v string) (string, error) {
	if len(v) > MaxBrandCSSBytes {
		return "", invalid("css", "is %s; the limit is %s", FormatKB(int64(len(v))), FormatKB(MaxBrandCSSBytes))
	}
	v, err := checkText("css", v, MaxBrandCSSBytes, false)
	if err != nil {
		return "", err
	}
	if strings.Contains(v, `\`) {
		return "", invalid("css", "must not contain backslash escapes: write the characters themselves")
	}
	bare := strings.ToLower(cssComment.ReplaceAllString(v, ""))
	bare = strings.Join(strings.Fields(bare), "")
	for _, bad := range []struct{ token, why string }{
		{"@import", "@import loads another stylesheet"},
		{"url(", "url( loads from elsewhere; custom CSS may change presentation only (upload images as the logo)"},
		{"image-set(", "image-set( loads images from elsewhere"},
		{"expression(", "expression( runs script"},
		{"javascript:", "javascript: runs script"},
		{"behavior:", "behavior: runs script"},
		{"-moz-binding", "-moz-binding runs script"},
		{"</style", "</style would end the stylesheet"},
	} {
		if strings.Contains(bare, bad.token) {
			return "", invalid("css", "must not contain %s: %s", bad.token, bad.why)
		}
	}
	return v, nil
}

// CheckBrandImage checks an uploaded logo or favicon by its bytes, never
// its name: a PNG, a WebP or an SVG that can do nothing but draw, within
// MaxBrandImageBytes. It returns its content type.
func CheckBrandImage(field string, body []byte) (string, error) {
	if len(body) > MaxBrandImageBytes {
		return "", invalid(field, "is %s; the limit is %s", FormatKB(int64(len(body))), FormatKB(MaxBrandImageBytes))
	}
	switch {
	case bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")):
		if _, err := png.DecodeConfig(bytes.NewReader(body)); err != nil {
			return "", invalid(field, "starts as a PNG but is not one: %v", err)
		}
		return "image/png", nil
	case len(body) >= 16 && string(body[:4]) == "RIFF" && string(body[8:12]) == "WEBP" && strings.HasPrefix(string(body[12:16]), "VP8"):
		return "image/webp", nil
	case looksLikeXML(body):
		if err := checkSVG(field, body); err != nil {
			return "", err
		}
		return "image/svg+xml", nil
	}
	return "", invalid(field, "is not a PNG, SVG or WebP image")
}

// FormatKB writes a size in whole KB, rounded up: a file one byte over
// the limit must not read as the limit.
func FormatKB(n int64) string { return strconv.FormatInt((n+1023)/1024, 10) + " KB" }

func looksLikeXML(body []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	return bytes.HasPrefix(b, []byte("<"))
}

// checkSVG refuses an SVG that could do more than draw itself: script,
// event handlers, foreignObject (HTML inside), links or styles that reach
// another document or host, javascript: anywhere, and DOCTYPEs (entities).
// Refusing is simpler to trust than cleaning; the asset is served under a
// CSP of its own too (web/public_branding.go).
func checkSVG(field string, body []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	refuse := func(format string, args ...any) error {
		return invalid(field, "is an SVG that "+format+"; upload one that only draws", args...)
	}
	root := true
	inStyle := 0
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return invalid(field, "is not a PNG, SVG or WebP image (as SVG it does not parse: %v)", err)
		}
		switch tok := tok.(type) {
		case xml.Directive:
			return refuse("has a DOCTYPE or entity declaration")
		case xml.ProcInst:
			if tok.Target != "xml" {
				return refuse("has a processing instruction <?%s", tok.Target)
			}
		case xml.StartElement:
			name := strings.ToLower(tok.Name.Local)
			if root && name != "svg" {
				return invalid(field, "is not a PNG, SVG or WebP image (its first element is <%s>, not <svg>)", tok.Name.Local)
			}
			root = false
			switch name {
			case "script":
				return refuse("holds a <script>")
			case "foreignobject":
				return refuse("holds a <foreignObject>")
			case "iframe", "embed", "object", "handler", "listener":
				return refuse("holds an <%s>", tok.Name.Local)
			case "style":
				inStyle++
			}
			for _, a := range tok.Attr {
				an := strings.ToLower(a.Name.Local)
				val := strings.ToLower(strings.Join(strings.Fields(a.Value), ""))
				switch {
				case strings.HasPrefix(an, "on"):
					return refuse("has an event handler (%s=)", a.Name.Local)
				case strings.Contains(val, "javascript:"):
					return refuse("has javascript: in %s=", a.Name.Local)
				case an == "href" || an == "src":
					if !strings.HasPrefix(val, "#") {
						return refuse("links to %q (only #fragments within the image may be referred to)", a.Value)
					}
				case an == "attributename" && strings.Contains(val, "href"):
					// <set>/<animate> could change a link to anything.
					return refuse("animates a link (%s=%q)", a.Name.Local, a.Value)
				case strings.Contains(val, "url(") && !onlyLocalURLs(val):
					return refuse("refers to another document in %s=", a.Name.Local)
				}
			}
		case xml.EndElement:
			if strings.EqualFold(tok.Name.Local, "style") && inStyle > 0 {
				inStyle--
			}
		case xml.CharData:
			if inStyle > 0 {
				css := strings.ToLower(strings.Join(strings.Fields(string(tok)), ""))
				if strings.Contains(css, "@import") || strings.Contains(css, "javascript:") || !onlyLocalURLs(css) {
					return refuse("has a <style> that loads from elsewhere")
				}
			}
		}
	}
	if root {
		return invalid(field, "is not a PNG, SVG or WebP image")
	}
	return nil
}

// onlyLocalURLs reports whether every url( in s (lower case, no spaces)
// points within the image: url(#id).
func onlyLocalURLs(s string) bool {
	for {
		i := strings.Index(s, "url(")
		if i < 0 {
			return true
		}
		s = strings.TrimLeft(s[i+4:], `"'`)
		if !strings.HasPrefix(s, "#") {
			return false
		}
	}
}

// checkBranding checks every field of b, and reads the images of patch.
func checkBranding(b *Branding) error {
	var err error
	if b.Accent, err = checkAccent("accent", b.Accent, LightBackground, "light"); err != nil {
		return err
	}
	if b.AccentDark, err = checkAccent("accent_dark", b.AccentDark, DarkBackground, "dark"); err != nil {
		return err
	}
	if b.SiteURL, err = checkBrandLink("site_url", b.SiteURL); err != nil {
		return err
	}
	if b.SupportURL, err = checkBrandLink("support_url", b.SupportURL); err != nil {
		return err
	}
	if b.Footer, err = checkLine("footer", b.Footer, MaxFooterLength, false); err != nil {
		return err
	}
	if b.CSS, err = checkBrandCSS(b.CSS); err != nil {
		return err
	}
	if b.Language == "" {
		b.Language = i18n.Default
	}
	if !i18n.Shipped(b.Language) {
		return invalid("language", "unknown language %q; use one of %s", b.Language, strings.Join(i18n.Languages(), ", "))
	}
	var others []string
	for _, l := range b.Languages {
		if l = strings.TrimSpace(l); l == "" || l == b.Language || slices.Contains(others, l) {
			continue
		}
		if !i18n.Shipped(l) {
			return invalid("languages", "unknown language %q; use some of %s", l, strings.Join(i18n.Languages(), ", "))
		}
		others = append(others, l)
	}
	b.Languages = others
	return nil
}

// newBrandImage checks an upload and makes the image it is; empty bytes
// are no image.
func newBrandImage(field string, body []byte) (BrandImage, error) {
	if len(body) == 0 {
		return BrandImage{}, nil
	}
	ct, err := CheckBrandImage(field, body)
	if err != nil {
		return BrandImage{}, err
	}
	sum := sha256.Sum256(body)
	return BrandImage{Hash: hex.EncodeToString(sum[:]), ContentType: ct, Body: body}, nil
}

// SaveBranding changes the branding of the page with id ("" for the
// default page). A refused field changes nothing.
func (s *Store) SaveBranding(ctx context.Context, pageID string, patch BrandingPatch) (Branding, error) {
	var b Branding
	err := s.inTx(ctx, func(t *tx) error {
		// A patch reads the branding it changes, and a page deleted
		// meanwhile takes its branding along (deleteBranding).
		if err := t.lock(brandingLock, pageID); err != nil {
			return err
		}
		if pageID != "" {
			if err := t.exists("pages", pageID); err != nil {
				return &NotFoundError{Kind: "page", ID: pageID}
			}
		}
		before, err := brandingOf(t.ctx, t, pageID)
		if err != nil {
			return err
		}
		b = before
		for _, f := range []struct {
			dst *string
			src *string
		}{{&b.Accent, patch.Accent}, {&b.AccentDark, patch.AccentDark}, {&b.SiteURL, patch.SiteURL},
			{&b.SupportURL, patch.SupportURL}, {&b.Footer, patch.Footer}, {&b.CSS, patch.CSS}, {&b.Language, patch.Language}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if patch.Languages != nil {
			b.Languages = *patch.Languages
		}
		if err := checkBranding(&b); err != nil {
			return err
		}
		for _, img := range []struct {
			field string
			dst   *BrandImage
			src   *[]byte
		}{{"logo", &b.Logo, patch.Logo}, {"logo_dark", &b.LogoDark, patch.LogoDark}, {"favicon", &b.Favicon, patch.Favicon}} {
			if img.src == nil {
				continue
			}
			if *img.dst, err = newBrandImage(img.field, *img.src); err != nil {
				return err
			}
			if img.dst.Empty() {
				continue
			}
			if _, err := t.exec(`INSERT INTO brand_assets (hash, content_type, body, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
				img.dst.Hash, img.dst.ContentType, img.dst.Body, t.now); err != nil {
				return err
			}
		}
		b.PageID, b.UpdatedAt = pageID, t.now
		if _, err := t.exec(`INSERT INTO page_branding (page_id, accent, accent_dark, site_url, support_url, footer, css, logo_hash, logo_dark_hash, favicon_hash, language, languages, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (page_id) DO UPDATE SET accent = excluded.accent, accent_dark = excluded.accent_dark, site_url = excluded.site_url,
				support_url = excluded.support_url, footer = excluded.footer, css = excluded.css, logo_hash = excluded.logo_hash,
				logo_dark_hash = excluded.logo_dark_hash, favicon_hash = excluded.favicon_hash, language = excluded.language,
				languages = excluded.languages, updated_at = excluded.updated_at`,
			b.PageID, b.Accent, b.AccentDark, b.SiteURL, b.SupportURL, b.Footer, b.CSS, b.Logo.Hash, b.LogoDark.Hash, b.Favicon.Hash,
			b.Language, strings.Join(b.Languages, ","), b.UpdatedAt); err != nil {
			return err
		}
		if err := t.pruneBrandAssets(); err != nil {
			return err
		}
		t.record("page.branding", pageKind, pageID, before, b)
		return nil
	})
	if err != nil {
		if pageID == "" {
			return Branding{}, fmt.Errorf("store: save branding of the default page: %w", err)
		}
		return Branding{}, fmt.Errorf("store: save branding of page %s: %w", pageID, err)
	}
	b.Logo.Body, b.LogoDark.Body, b.Favicon.Body = nil, nil, nil
	return b, nil
}

// pruneBrandAssets drops the images no page shows any more.
func (t *tx) pruneBrandAssets() error {
	_, err := t.exec(`DELETE FROM brand_assets WHERE hash NOT IN (
		SELECT logo_hash FROM page_branding UNION SELECT logo_dark_hash FROM page_branding UNION SELECT favicon_hash FROM page_branding)`)
	return err
}

// deleteBranding removes a page's branding with the page.
func (t *tx) deleteBranding(pageID string) error {
	if err := t.lock(brandingLock, pageID); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM page_branding WHERE page_id = ?`, pageID); err != nil {
		return err
	}
	return t.pruneBrandAssets()
}

const brandingLock = "page_branding"

// GetBranding reads the branding of the page with id ("" for the default
// page); a page never branded has the zero Branding.
func (s *Store) GetBranding(ctx context.Context, pageID string) (Branding, error) {
	if pageID != "" {
		if _, err := s.GetPage(ctx, pageID); err != nil {
			return Branding{}, err
		}
	}
	b, err := brandingOf(ctx, s.read, pageID)
	if err != nil {
		return Branding{}, fmt.Errorf("store: get branding of page %q: %w", pageID, err)
	}
	return b, nil
}

// ListBrandings reads every page's branding, without image bytes.
func (s *Store) ListBrandings(ctx context.Context) (map[string]Branding, error) {
	out, err := listBrandings(ctx, s.read, "")
	if err != nil {
		return nil, fmt.Errorf("store: list brandings: %w", err)
	}
	return out, nil
}

// BrandAsset reads an uploaded image, with its bytes, by its hash.
func (s *Store) BrandAsset(ctx context.Context, hash string) (BrandImage, error) {
	img := BrandImage{Hash: hash}
	err := s.read.QueryRowContext(ctx, `SELECT content_type, body FROM brand_assets WHERE hash = ?`, hash).Scan(&img.ContentType, &img.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return BrandImage{}, fmt.Errorf("store: brand asset: %w", &NotFoundError{Kind: "image", ID: hash})
	}
	if err != nil {
		return BrandImage{}, fmt.Errorf("store: brand asset %s: %w", hash, err)
	}
	return img, nil
}

func brandingOf(ctx context.Context, q querier, pageID string) (Branding, error) {
	all, err := listBrandings(ctx, q, `WHERE b.page_id = ?`, pageID)
	if err != nil {
		return Branding{}, err
	}
	if b, ok := all[pageID]; ok {
		return b, nil
	}
	return Branding{PageID: pageID, Language: i18n.Default}, nil
}

func listBrandings(ctx context.Context, q querier, where string, args ...any) (map[string]Branding, error) {
	rows, err := q.QueryContext(ctx, `SELECT b.page_id, b.accent, b.accent_dark, b.site_url, b.support_url, b.footer, b.css, b.updated_at, b.language, b.languages,
		b.logo_hash, COALESCE(l.content_type, ''), b.logo_dark_hash, COALESCE(d.content_type, ''), b.favicon_hash, COALESCE(f.content_type, '')
		FROM page_branding b
		LEFT JOIN brand_assets l ON l.hash = b.logo_hash
		LEFT JOIN brand_assets d ON d.hash = b.logo_dark_hash
		LEFT JOIN brand_assets f ON f.hash = b.favicon_hash `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Branding{}
	for rows.Next() {
		var b Branding
		var langs string
		if err := rows.Scan(&b.PageID, &b.Accent, &b.AccentDark, &b.SiteURL, &b.SupportURL, &b.Footer, &b.CSS, &b.UpdatedAt, &b.Language, &langs,
			&b.Logo.Hash, &b.Logo.ContentType, &b.LogoDark.Hash, &b.LogoDark.ContentType, &b.Favicon.Hash, &b.Favicon.ContentType); err != nil {
			return nil, err
		}
		if langs != "" {
			b.Languages = strings.Split(langs, ",")
		}
		out[b.PageID] = b
	}
	return out, rows.Err()
}
