package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// A page's branding in the API (issue 13): its text fields as JSON, each
// image PUT as the raw bytes (the type is told by the bytes, not by the
// Content-Type). /api/v1/branding is the default page's,
// /api/v1/pages/{id}/branding another page's.

func (s *Server) apiGetBranding(c echo.Context) error {
	b, err := s.store.GetBranding(c.Request().Context(), brandPageID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

func (s *Server) apiUpdateBranding(c echo.Context) error {
	var req store.BrandingPatch
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	return s.saveBrandingAPI(c, req)
}

// apiPutBrandImage sets one image, read up to one byte past the limit so
// that a larger one is refused without reading it all.
func (s *Server) apiPutBrandImage(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, store.MaxBrandImageBytes+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &store.ValidationError{Field: c.Param("image"), Message: "is larger than the 512 KB limit"}
		}
		return err
	}
	if len(body) == 0 {
		return &store.ValidationError{Field: c.Param("image"), Message: "is empty: send the image's bytes as the body (DELETE removes it)"}
	}
	patch, err := imagePatch(c.Param("image"), body)
	if err != nil {
		return err
	}
	return s.saveBrandingAPI(c, patch)
}

func (s *Server) apiDeleteBrandImage(c echo.Context) error {
	patch, err := imagePatch(c.Param("image"), []byte{})
	if err != nil {
		return err
	}
	return s.saveBrandingAPI(c, patch)
}

func (s *Server) saveBrandingAPI(c echo.Context, patch store.BrandingPatch) error {
	b, err := s.store.SaveBranding(c.Request().Context(), brandPageID(c), patch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

// brandPageID is the page a branding route is for: "" the default page.
func brandPageID(c echo.Context) string { return c.Param("id") }

// imagePatch puts body in the image slot name names.
func imagePatch(name string, body []byte) (store.BrandingPatch, error) {
	var p store.BrandingPatch
	switch name {
	case "logo":
		p.Logo = &body
	case "logo_dark":
		p.LogoDark = &body
	case "favicon":
		p.Favicon = &body
	default:
		return p, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no image " + name + ": use logo, logo_dark or favicon"}
	}
	return p, nil
}
