package web

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// The console's pages (issue 13): the list, a form for a new one, and each
// page's settings.

func (s *Server) pagesPage(c echo.Context, status int, v templates.PageValues, errs templates.FormErrors) error {
	ctx := c.Request().Context()
	pages, err := s.store.ListPages(ctx)
	if err != nil {
		return err
	}
	groups, _, err := s.componentGroups(ctx)
	if err != nil {
		return err
	}
	comps, err := s.store.ListComponents(ctx)
	if err != nil {
		return err
	}
	rows := make([]templates.PageRow, len(pages))
	for i, p := range pages {
		n := 0
		for _, c := range comps {
			if p.Shows(c) {
				n++
			}
		}
		rows[i] = templates.PageRow{Page: p, Shows: n}
	}
	return s.render(c, status, templates.Pages(templates.PagesPage{
		Console: s.consoleView(c, "pages"), BaseURL: s.cfg.BaseURL, Pages: rows, Groups: groups, New: v, Errors: errs,
	}))
}

func (s *Server) consolePages(c echo.Context) error {
	return s.pagesPage(c, http.StatusOK, templates.PageValues{}, nil)
}

func pageValues(c echo.Context) (templates.PageValues, error) {
	form, err := c.FormParams()
	if err != nil {
		return templates.PageValues{}, err
	}
	return templates.PageValues{Name: form.Get("name"), Slug: form.Get("slug"), Host: form.Get("host"),
		Components: form["components"], Groups: form["groups"], Access: form.Get("access"), IPRanges: form.Get("ip_ranges"),
		Viewers: form.Get("viewers"), HasViewers: form.Has("viewers")}, nil
}

// formList is the entries of a textarea of ranges or viewers: one a line,
// or separated by spaces, commas or semicolons as people paste them; the
// store judges each.
func formList(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}

func (s *Server) consoleCreatePage(c echo.Context) error {
	v, err := pageValues(c)
	if err != nil {
		return err
	}
	err = s.checkPageHost(&v.Host)
	if err == nil {
		_, err = s.store.CreatePage(c.Request().Context(), store.PageInput{Name: v.Name, Slug: v.Slug, Host: v.Host, Components: v.Components, Groups: v.Groups,
			Access: v.Access, IPRanges: formList(v.IPRanges), Viewers: formList(v.Viewers)})
	}
	if err == nil {
		return done(c, "/console/pages", "page-saved")
	}
	errs, err := formErrors(err, templates.PageLabels, "")
	if err != nil {
		return err
	}
	return s.pagesPage(c, http.StatusUnprocessableEntity, v, errs)
}

func (s *Server) pageForm(c echo.Context, status int, p store.Page, v templates.PageValues, errs templates.FormErrors) error {
	groups, _, err := s.componentGroups(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, status, templates.PageEdit(templates.PageForm{Console: s.consoleView(c, "pages"), Page: p, Values: v, Groups: groups, Errors: errs}))
}

func savedPageValues(p store.Page) templates.PageValues {
	return templates.PageValues{Name: p.Name, Slug: p.Slug, Host: p.Host, Components: p.Components, Groups: p.Groups,
		Access: p.Access, IPRanges: strings.Join(p.IPRanges, "\n"), Viewers: strings.Join(p.Viewers, "\n"), HasViewers: true}
}

func (s *Server) consolePage(c echo.Context) error {
	p, err := s.store.GetPage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.pageForm(c, http.StatusOK, p, savedPageValues(p), nil)
}

func (s *Server) consoleEditPage(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.store.GetPage(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := pageValues(c)
	if err != nil {
		return err
	}
	err = s.checkPageHost(&v.Host)
	if err == nil {
		patch := store.PagePatch{Name: &v.Name, Slug: &v.Slug, Host: &v.Host, Components: &v.Components, Groups: &v.Groups}
		// A form without the choice (one from before it) leaves who may
		// see the page as it is: a missing field must not make it public.
		if v.Access != "" {
			ranges := formList(v.IPRanges)
			patch.Access, patch.IPRanges = &v.Access, &ranges
		}
		if v.HasViewers {
			viewers := formList(v.Viewers)
			patch.Viewers = &viewers
		}
		_, err = s.store.UpdatePage(ctx, p.ID, patch)
	}
	if err == nil {
		return done(c, "/console/pages", "page-saved")
	}
	errs, err := formErrors(err, templates.PageLabels, "")
	if err != nil {
		return err
	}
	return s.pageForm(c, http.StatusUnprocessableEntity, p, v, errs)
}

func (s *Server) consoleDeletePage(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.store.GetPage(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.pageForm(c, http.StatusUnprocessableEntity, p, savedPageValues(p), templates.FormErrors{"confirm": "Tick the box to confirm the deletion."})
	}
	if err := s.store.DeletePage(ctx, p.ID); err != nil {
		return err
	}
	return done(c, "/console/pages", "page-deleted")
}
