package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// A page offers its default language and any others (store.Branding): the
// status page is rendered into the snapshot in each of them, once a
// rebuild, and a request only picks one — it never renders.

// langCookie remembers the language a visitor chose with the switcher.
const langCookie = "herald_lang"

// languageRegions renders the status page's live region in each of
// others into snap.homes, with the live event that brings open pages in
// that language up to it from what prev rendered in it.
func (s *Server) languageRegions(ctx context.Context, prev, snap *snapshot, home templates.HomePage, others []string) error {
	if len(others) == 0 {
		return nil
	}
	snap.homes = make(map[string]*langHome, len(others))
	snap.matcher = i18n.NewMatcher(snap.site.Languages)
	for _, lang := range others {
		lctx := i18n.With(ctx, lang)
		prevView, prevBars := prev.viewIn(lang)
		lh := &langHome{bars: make(barCache)}
		b := newPartBuilder(lctx)
		region, _, err := b.regionParts(&home, prevBars, lh.bars)
		if err != nil {
			return fmt.Errorf("status page in %s: %w", lang, err)
		}
		lh.region, lh.shown = region, b.shown
		if lh.liveFrame, err = liveFrame(lctx, &home, region, prevView); err != nil {
			return fmt.Errorf("live update in %s: %w", lang, err)
		}
		snap.homes[lang] = lh
	}
	return nil
}

// renderLanguagePages renders the status page around each language's region.
func renderLanguagePages(ctx context.Context, snap *snapshot, home templates.HomePage) error {
	for lang, lh := range snap.homes {
		lctx := i18n.With(ctx, lang)
		home.Region = lh.region
		var err error
		if lh.home, err = newPage(lctx, templates.Home(home)); err != nil {
			return fmt.Errorf("status page in %s: %w", lang, err)
		}
	}
	return nil
}

// visitorLanguage is the language of the page offered that the visitor
// reads: the one they chose with ?lang= (remembered in a cookie), else the
// best match for their Accept-Language, else the page's default.
func visitorLanguage(c echo.Context, snap *snapshot) string {
	offered := snap.site.Languages
	if l := c.QueryParam("lang"); slices.Contains(offered, l) {
		c.SetCookie(&http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
		return l
	}
	if ck, err := c.Cookie(langCookie); err == nil && slices.Contains(offered, ck.Value) {
		return ck.Value
	}
	return snap.matcher.Match(c.Request().Header.Get("Accept-Language"))
}

// homeFor is the status page in the visitor's language. A page offering
// one language answers the same to everyone; one offering more says what
// the answer depends on.
func homeFor(c echo.Context, snap *snapshot) (*page, []string) {
	lang, vary := pageLanguage(c, snap)
	if h, ok := snap.homes[lang]; ok {
		return h.home, vary
	}
	return snap.home, vary
}

// pageLanguage is the language to answer a visitor to snap's page in,
// and the Vary that says what the answer depends on: a page offering one
// language answers everyone the same, as it always did.
func pageLanguage(c echo.Context, snap *snapshot) (string, []string) {
	if len(snap.site.Languages) < 2 || snap.matcher == nil {
		return snap.lang, varyEncoding
	}
	return visitorLanguage(c, snap), varyLanguage
}

var varyLanguage = []string{"Accept-Encoding, Accept-Language, Cookie"}
