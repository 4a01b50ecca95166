package web

import (
	"io"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// A page's branding in the console (issue 13): /console/branding for the
// default page, /console/pages/{id}/branding for another. The colours,
// links, footer and CSS are one form; each image is uploaded on its own.

// brandTarget is the page a branding request is for, as the form shows it.
func (s *Server) brandTarget(c echo.Context) (templates.BrandingForm, string, error) {
	id := brandPageID(c)
	if id == "" {
		return templates.BrandingForm{Console: s.consoleView(c, "pages"), PageName: s.cfg.PageName, PageURL: "/", Base: "/console/branding",
			Back: "/console/pages", BackText: "Pages"}, "", nil
	}
	p, err := s.store.GetPage(c.Request().Context(), id)
	if err != nil {
		return templates.BrandingForm{}, "", err
	}
	return templates.BrandingForm{Console: s.consoleView(c, "pages"), PageName: p.Name, PageURL: p.Root() + "/", Base: "/console/pages/" + p.ID + "/branding",
		Back: "/console/pages/" + p.ID, BackText: p.Name}, p.Root(), nil
}

// brandingPage shows the form; values, when not nil, are what was typed.
func (s *Server) brandingPage(c echo.Context, status int, values *templates.BrandingValues, errs templates.FormErrors) error {
	f, _, err := s.brandTarget(c)
	if err != nil {
		return err
	}
	b, err := s.store.GetBranding(c.Request().Context(), brandPageID(c))
	if err != nil {
		return err
	}
	f.Values = templates.BrandingValues{Accent: b.Accent, AccentDark: b.AccentDark, SiteURL: b.SiteURL, SupportURL: b.SupportURL, Footer: b.Footer, CSS: b.CSS,
		Language: b.Language, Languages: b.Languages}
	if values != nil {
		f.Values = *values
	}
	for _, img := range []struct {
		field string
		img   store.BrandImage
		none  string
	}{{"logo", b.Logo, ""}, {"logo_dark", b.LogoDark, ": the logo is shown in the dark theme too"}, {"favicon", b.Favicon, ": Herald's is shown"}} {
		bi := templates.BrandingImage{Field: img.field, None: img.none}
		if !img.img.Empty() {
			// From the console, not the page: a private page may not be
			// open to the admin's address.
			bi.URL = f.Base + "/" + img.field + "?v=" + img.img.Hash[:20]
		}
		f.Images = append(f.Images, bi)
	}
	f.Errors = errs
	return s.render(c, status, templates.BrandingEdit(f))
}

func (s *Server) consoleBranding(c echo.Context) error {
	return s.brandingPage(c, http.StatusOK, nil, nil)
}

// consoleSaveBranding saves the form's text fields; a refused one is shown
// again as typed, by its field, and nothing is saved.
func (s *Server) consoleSaveBranding(c echo.Context) error {
	v := templates.BrandingValues{Accent: c.FormValue("accent"), AccentDark: c.FormValue("accent_dark"), SiteURL: c.FormValue("site_url"),
		SupportURL: c.FormValue("support_url"), Footer: c.FormValue("footer"), CSS: c.FormValue("css"),
		Language: c.FormValue("language"), Languages: c.Request().Form["languages"]}
	_, err := s.store.SaveBranding(c.Request().Context(), brandPageID(c), store.BrandingPatch{Accent: &v.Accent, AccentDark: &v.AccentDark,
		SiteURL: &v.SiteURL, SupportURL: &v.SupportURL, Footer: &v.Footer, CSS: &v.CSS,
		Language: &v.Language, Languages: &v.Languages})
	return s.brandingSaved(c, err, &v)
}

// consoleBrandImage uploads one image, or removes it. The console's body
// limit caps the upload before it is read; a file over the image limit is
// refused by its size, unread.
func (s *Server) consoleBrandImage(c echo.Context) error {
	field := c.Param("image")
	if !slices.Contains([]string{"logo", "logo_dark", "favicon"}, field) {
		return echo.NewHTTPError(http.StatusNotFound, "no such image")
	}
	body := []byte{}
	if c.FormValue("remove") != "yes" {
		fh, err := c.FormFile("image")
		if err != nil {
			return s.brandingPage(c, http.StatusUnprocessableEntity, nil, templates.FormErrors{field: templates.BrandingLabels.Message(field, "choose a file to upload")})
		}
		if fh.Size > store.MaxBrandImageBytes {
			return s.brandingPage(c, http.StatusUnprocessableEntity, nil, templates.FormErrors{field: templates.BrandingLabels.Message(field,
				"is "+store.FormatKB(fh.Size)+"; the limit is "+store.FormatKB(store.MaxBrandImageBytes))})
		}
		file, err := fh.Open()
		if err != nil {
			return err
		}
		defer file.Close()
		if body, err = io.ReadAll(io.LimitReader(file, store.MaxBrandImageBytes+1)); err != nil {
			return err
		}
		if len(body) == 0 {
			return s.brandingPage(c, http.StatusUnprocessableEntity, nil, templates.FormErrors{field: templates.BrandingLabels.Message(field, "is an empty file")})
		}
	}
	patch, err := imagePatch(field, body)
	if err != nil {
		return err
	}
	_, err = s.store.SaveBranding(c.Request().Context(), brandPageID(c), patch)
	return s.brandingSaved(c, err, nil)
}

// consoleBrandPreview shows an image as the branding form has it, under
// the same CSP as the page serves it with.
func (s *Server) consoleBrandPreview(c echo.Context) error {
	ctx := c.Request().Context()
	b, err := s.store.GetBranding(ctx, brandPageID(c))
	if err != nil {
		return err
	}
	img := map[string]store.BrandImage{"logo": b.Logo, "logo_dark": b.LogoDark, "favicon": b.Favicon}[c.Param("image")]
	if img.Empty() {
		return echo.NewHTTPError(http.StatusNotFound, "no such image")
	}
	if img, err = s.store.BrandAsset(ctx, img.Hash); err != nil {
		return err
	}
	c.Response().Header()["Content-Security-Policy"] = imageCSP
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.Blob(http.StatusOK, img.ContentType, img.Body)
}

func (s *Server) brandingSaved(c echo.Context, err error, values *templates.BrandingValues) error {
	if err == nil {
		f, _, err := s.brandTarget(c)
		if err != nil {
			return err
		}
		return done(c, f.Base, "branding-saved")
	}
	errs, err := formErrors(err, templates.BrandingLabels, "")
	if err != nil {
		return err
	}
	return s.brandingPage(c, http.StatusUnprocessableEntity, values, errs)
}
