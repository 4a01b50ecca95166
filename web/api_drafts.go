package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// Drafts are incidents an integration proposed; they show in the admin API
// with "draft": true (GET /api/v1/incidents) until a commander publishes or
// discards them. No public surface ever shows one.

// publishRequest may rename the incident or set its impact as it goes out.
type publishRequest struct {
	Name   *string       `json:"name"`
	Impact *store.Impact `json:"impact"`
}

// apiPublishDraft is POST /api/v1/incidents/{id}/publish.
func (s *Server) apiPublishDraft(c echo.Context) error {
	var req publishRequest
	if c.Request().ContentLength != 0 { // the body is optional
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	inc, err := s.store.PublishDraft(c.Request().Context(), c.Param("id"), store.DraftPublication{Name: req.Name, Impact: req.Impact})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}

// apiDiscardDraft is DELETE /api/v1/incidents/{id}: only drafts can go;
// a published incident stays part of the record.
func (s *Server) apiDiscardDraft(c echo.Context) error {
	if err := s.store.DiscardDraft(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// holdRequest is why a commander holds a draft (optional).
type holdRequest struct {
	Reason string `json:"reason"`
}

// apiHoldDraft is POST /api/v1/incidents/{id}/hold: the escalation policy
// will not publish the draft's holding statement; a draft already
// published is a 409.
func (s *Server) apiHoldDraft(c echo.Context) error {
	var req holdRequest
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	d, err := s.store.HoldDraft(c.Request().Context(), c.Param("id"), req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// apiReleaseDraft is DELETE /api/v1/incidents/{id}/hold.
func (s *Server) apiReleaseDraft(c echo.Context) error {
	d, err := s.store.ReleaseDraft(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// refuseDraft guards the routes that change a published incident: on a
// draft they would otherwise answer "not found" about an incident the list
// just showed.
func (s *Server) refuseDraft(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		draft, err := s.store.IsDraft(c.Request().Context(), id)
		if err != nil {
			return err
		}
		if draft {
			return &apiError{Status: http.StatusConflict, Code: "draft", Message: fmt.Sprintf(
				"incident %s is a draft: publish it first (POST /api/v1/incidents/%s/publish) or discard it (DELETE /api/v1/incidents/%s)", id, id, id)}
		}
		return next(c)
	}
}
