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

// renderLanguages renders the status page in each of others into snap.
// These are served as they were rendered, without the live stream (whose
// updates are in the default language): a reload brings them up to date.
func (s *Server) renderLanguages(ctx context.Context, prev, snap *snapshot, home templates.HomePage, others []string) error {
	if len(others) == 0 {
		return nil
	}
	snap.homes = make(map[string]*page, len(others))
	snap.matcher = i18n.NewMatcher(snap.site.Languages)
	snap.langBars = make(map[string]barCache, len(others))
	home.Site.Live = false
	for _, lang := range others {
		lctx := i18n.With(ctx, lang)
		var prevBars barCache
		if prev != nil {
			prevBars = prev.langBars[lang]
		}
		bars := make(barCache)
		region, _, err := newPartBuilder(lctx).regionParts(&home, prevBars, bars)
		if err != nil {
			return fmt.Errorf("status page in %s: %w", lang, err)
		}
		h := home
		h.Region = region
		p, err := newPage(lctx, templates.Home(h))
		if err != nil {
			return fmt.Errorf("status page in %s: %w", lang, err)
		}
		snap.homes[lang], snap.langBars[lang] = p, bars
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
	if len(snap.homes) == 0 {
		return snap.home, varyEncoding
	}
	if p, ok := snap.homes[visitorLanguage(c, snap)]; ok {
		return p, varyLanguage
	}
	return snap.home, varyLanguage
}

var varyLanguage = []string{"Accept-Encoding, Accept-Language, Cookie"}
