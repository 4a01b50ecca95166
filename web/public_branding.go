package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// A page's branding (issue 13), served from its snapshot like the rest of
// it: the uploaded images and the page's stylesheet (accent colours and
// custom CSS) are held in memory by the snapshot, at content-hashed URLs
// below the page's root, so that serving them never reads the database
// and browsers may keep them for good.

// brandFile is one branding asset, ready to serve.
type brandFile struct {
	contentType string
	body        []byte
	etag        string
	csp         []string
}

// brandAssets are a page's branding files, by their name under
// /branding/.
type brandAssets struct {
	files map[string]*brandFile
}

// The CSP of an uploaded image opened on its own: an SVG may style itself
// and nothing more, and nothing may run (the upload was checked for that
// too; this holds if a check is ever missed).
var (
	imageCSP = []string{"default-src 'none'; style-src 'unsafe-inline'; sandbox"}
	cssCSP   = []string{"default-src 'none'"}
)

// brandingFor builds the branding of a page for its snapshot: the view the
// templates show and the files it serves. An image the last snapshot
// held is taken from it; a new one is read once.
func (s *Server) brandingFor(ctx context.Context, b store.Branding, root string, prev *snapshot) (templates.Brand, *brandAssets, error) {
	assets := &brandAssets{files: map[string]*brandFile{}}
	view := templates.Brand{SiteURL: b.SiteURL, SupportURL: b.SupportURL, Footer: b.Footer, Accent: b.Accent}
	for _, img := range []struct {
		img store.BrandImage
		url *string
	}{{b.Logo, &view.Logo}, {b.LogoDark, &view.LogoDark}, {b.Favicon, &view.Favicon}} {
		p := templates.BrandAssetPath(img.img)
		if p == "" {
			continue
		}
		name := strings.TrimPrefix(p, "/branding/")
		f := prev.brandFile(name)
		if f == nil {
			full, err := s.store.BrandAsset(ctx, img.img.Hash)
			if err != nil {
				return templates.Brand{}, nil, err
			}
			f = &brandFile{contentType: full.ContentType, body: full.Body, etag: `"` + img.img.Hash[:20] + `"`, csp: imageCSP}
		}
		assets.files[name] = f
		*img.url = root + p
	}
	view.FaviconType = b.Favicon.ContentType
	if css := brandStylesheet(b); css != "" {
		sum := sha256.Sum256([]byte(css))
		hash := hex.EncodeToString(sum[:])[:20]
		name := "page." + hash + ".css"
		assets.files[name] = &brandFile{contentType: "text/css; charset=utf-8", body: []byte(css), etag: `"` + hash + `"`, csp: cssCSP}
		view.Stylesheet = root + "/branding/" + name
	}
	return view, assets, nil
}

func (snap *snapshot) brandFile(name string) *brandFile {
	if snap == nil || snap.brand == nil {
		return nil
	}
	return snap.brand.files[name]
}

// brandStylesheet is a page's own stylesheet, loaded after Herald's: its
// accent as --link (links, buttons: static/app.css) and --focus, in each
// scheme it was given for (the other keeps Herald's), then its custom CSS.
func brandStylesheet(b store.Branding) string {
	var css strings.Builder
	if b.Accent != "" {
		fmt.Fprintf(&css, "@media not all and (prefers-color-scheme: dark) {\n  :root { --link: %s; --focus: %s; }\n}\n", b.Accent, b.Accent)
	}
	if b.AccentDark != "" {
		fmt.Fprintf(&css, "@media (prefers-color-scheme: dark) {\n  :root { --link: %s; --focus: %s; }\n}\n", b.AccentDark, b.AccentDark)
	}
	if b.CSS != "" {
		css.WriteString("/* The page's custom CSS */\n")
		css.WriteString(b.CSS)
		css.WriteString("\n")
	}
	return css.String()
}

// handleBrandAsset serves a page's logo, favicon or stylesheet from its
// snapshot.
func (s *Server) handleBrandAsset(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	f := snap.brandFile(c.Param("file"))
	if f == nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	h := c.Response().Header()
	h["Content-Security-Policy"] = f.csp
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", f.etag)
	if etagMatches(c.Request().Header.Get("If-None-Match"), f.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, f.contentType, f.body)
}

// defaultSite is the default page as the pages outside its snapshot show
// it (the subscribe forms, error pages): in its branding, not live.
func (s *Server) defaultSite() templates.Site {
	site := s.site
	if snap := s.main.snap.Load(); snap != nil {
		site.Brand = snap.site.Brand
	}
	return site
}

// paths are the URL paths of the branding files below the page's root,
// for the static mirror.
func (a *brandAssets) paths() []string {
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.files))
	for name := range a.files {
		out = append(out, "/branding/"+name)
	}
	slices.Sort(out)
	return out
}
