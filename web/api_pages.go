package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// The pages besides the default one (issue 13): admins make them, everyone
// signed in reads them. The default page is not among them: it shows every
// component, at the root.

type pageRequest struct {
	Slug       *string   `json:"slug"`
	Name       *string   `json:"name"`
	Host       *string   `json:"host"`
	Components *[]string `json:"components"`
	Groups     *[]string `json:"groups"`
	Access     *string   `json:"access"`
	IPRanges   *[]string `json:"ip_ranges"`
	Viewers    *[]string `json:"viewers"`
}

func (s *Server) apiListPages(c echo.Context) error {
	list, err := s.store.ListPages(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

func (s *Server) apiGetPage(c echo.Context) error {
	p, err := s.store.GetPage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) apiCreatePage(c echo.Context) error {
	var req pageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.checkPageHost(req.Host); err != nil {
		return err
	}
	p, err := s.store.CreatePage(c.Request().Context(), store.PageInput{
		Slug: deref(req.Slug), Name: deref(req.Name), Host: deref(req.Host), Components: deref(req.Components), Groups: deref(req.Groups),
		Access: deref(req.Access), IPRanges: deref(req.IPRanges), Viewers: deref(req.Viewers),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (s *Server) apiUpdatePage(c echo.Context) error {
	var req pageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.checkPageHost(req.Host); err != nil {
		return err
	}
	p, err := s.store.UpdatePage(c.Request().Context(), c.Param("id"), store.PagePatch{
		Slug: req.Slug, Name: req.Name, Host: req.Host, Components: req.Components, Groups: req.Groups,
		Access: req.Access, IPRanges: req.IPRanges, Viewers: req.Viewers,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) apiDeletePage(c echo.Context) error {
	if err := s.store.DeletePage(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// checkPageHost refuses a page the host of the base URL: requests there
// are the default page's.
func (s *Server) checkPageHost(host *string) error {
	if host == nil {
		return nil
	}
	h, err := store.CheckPageHost(*host)
	if err != nil {
		return err
	}
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && h != "" && strings.EqualFold(u.Hostname(), h) {
		return &store.ValidationError{Field: "host", Message: h + " is the host of the default page (--base-url)"}
	}
	return nil
}
