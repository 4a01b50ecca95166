package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// incidentRequest opens an incident (POST /api/v1/incidents).
type incidentRequest struct {
	Name         string                           `json:"name"`
	Status       store.IncidentStatus             `json:"status"`
	Impact       store.Impact                     `json:"impact"`
	Body         string                           `json:"body"`
	InternalNote string                           `json:"internal_note"` // shown on private pages only
	Components   map[string]store.ComponentStatus `json:"components"`
	Pages        []string                         `json:"pages"`  // narrow to these pages ("default": the default page)
	Notify       *bool                            `json:"notify"` // tell subscribers; default true
	// StartedAt is when the impact began, when before now.
	StartedAt *time.Time `json:"started_at"`
	promiseRequest
}

// promiseRequest is the next update an update promises: at a time, or in
// a number of minutes.
type promiseRequest struct {
	NextUpdateAt *time.Time `json:"next_update_at"`
	NextUpdateIn *int       `json:"next_update_in_minutes"`
}

// at is the promised time, nil when none is promised.
func (p promiseRequest) at(now time.Time) (*time.Time, error) {
	switch {
	case p.NextUpdateAt != nil && p.NextUpdateIn != nil:
		return nil, badRequest("invalid_value", "next_update_in_minutes", "give next_update_at or next_update_in_minutes, not both")
	case p.NextUpdateIn != nil:
		if *p.NextUpdateIn < 1 || *p.NextUpdateIn > 7*24*60 {
			return nil, badRequest("invalid_value", "next_update_in_minutes", "next_update_in_minutes must be from 1 to 10080 (a week)")
		}
		at := now.Add(time.Duration(*p.NextUpdateIn) * time.Minute)
		return &at, nil
	}
	return p.NextUpdateAt, nil
}

// incidentPatchRequest changes an incident (PATCH /api/v1/incidents/{id}).
type incidentPatchRequest struct {
	Name      *string       `json:"name"`
	Impact    *store.Impact `json:"impact"`
	StartedAt *time.Time    `json:"started_at"`
	Pages     *[]string     `json:"pages"` // narrow to these pages; [] widens again
}

// incidentUpdateRequest posts an update (POST /api/v1/incidents/{id}/updates).
type incidentUpdateRequest struct {
	Status       store.IncidentStatus             `json:"status"`
	Body         string                           `json:"body"`
	InternalNote string                           `json:"internal_note"` // shown on private pages only
	Components   map[string]store.ComponentStatus `json:"components"`
	Notify       *bool                            `json:"notify"` // tell subscribers; default true
	promiseRequest
}

// updateEditRequest corrects an update's message
// (PATCH /api/v1/incidents/{id}/updates/{update_id}).
type updateEditRequest struct {
	Body string `json:"body"`
	// Notify tells subscribers again, as a correction; default false.
	Notify bool `json:"notify"`
}

// updateDeleteRequest withdraws an update
// (DELETE /api/v1/incidents/{id}/updates/{update_id}).
type updateDeleteRequest struct {
	Reason string `json:"reason"`
}

type postmortemRequest struct {
	Body string `json:"body"`
}

func (s *Server) apiListIncidents(c echo.Context) error {
	var f store.IncidentFilter
	q := c.QueryParams()
	if v := q.Get("unresolved"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("invalid_value", "unresolved", "unresolved must be true or false")
		}
		f.Unresolved = b
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return badRequest("invalid_value", "since", "since must be an RFC 3339 time, such as 2026-11-25T09:00:00Z")
		}
		f.Since = t
	}
	var err error
	if f.Limit, f.Offset, err = pageParams(c, 50, 500); err != nil {
		return err
	}
	// Drafts waiting for approval come first, marked "draft": true.
	list, err := s.store.ListIncidentsWithDrafts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

func (s *Server) apiGetIncident(c echo.Context) error {
	inc, err := s.store.GetIncidentOrDraft(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}

func (s *Server) apiCreateIncident(c echo.Context) error {
	var req incidentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	promise, err := req.at(s.store.Now())
	if err != nil {
		return err
	}
	in := store.IncidentInput{
		Name: req.Name, Status: req.Status, Impact: req.Impact, Body: req.Body, InternalNote: req.InternalNote, Components: req.Components,
		Pages: req.Pages, SkipNotify: skipNotify(req.Notify), NextUpdateAt: promise, Key: idempotencyKey(c),
	}
	if req.StartedAt != nil {
		in.StartedAt = *req.StartedAt
	}
	inc, err := s.store.CreateIncident(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, inc)
}

func (s *Server) apiUpdateIncident(c echo.Context) error {
	var req incidentPatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	inc, err := s.store.UpdateIncident(c.Request().Context(), c.Param("id"), store.IncidentPatch{Name: req.Name, Impact: req.Impact, StartedAt: req.StartedAt, Pages: req.Pages})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}

func (s *Server) apiPostIncidentUpdate(c echo.Context) error {
	var req incidentUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	promise, err := req.at(s.store.Now())
	if err != nil {
		return err
	}
	inc, err := s.store.PostIncidentUpdate(c.Request().Context(), c.Param("id"), store.IncidentUpdateInput{
		Status: req.Status, Body: req.Body, InternalNote: req.InternalNote, Components: req.Components,
		SkipNotify: skipNotify(req.Notify), NextUpdateAt: promise, Key: idempotencyKey(c),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, inc)
}

func (s *Server) apiEditIncidentUpdate(c echo.Context) error {
	var req updateEditRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	inc, err := s.store.EditIncidentUpdate(c.Request().Context(), c.Param("id"), c.Param("update_id"), store.UpdateEdit{Body: req.Body, Notify: req.Notify})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}

func (s *Server) apiDeleteIncidentUpdate(c echo.Context) error {
	var req updateDeleteRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	inc, err := s.store.DeleteIncidentUpdate(c.Request().Context(), c.Param("id"), c.Param("update_id"), req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}

// idempotencyKey is the client's Idempotency-Key header, scoped to who
// sends it: a retried POST returns what the first made, and one client's
// keys never meet another's.
func idempotencyKey(c echo.Context) string {
	key := c.Request().Header.Get("Idempotency-Key")
	if key == "" {
		return ""
	}
	a := store.ActorFrom(c.Request().Context())
	return "api:" + a.Type + ":" + a.ID + ":" + key
}

func (s *Server) apiListIncidentUpdates(c echo.Context) error {
	inc, err := s.store.GetIncidentOrDraft(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc.Updates)
}

func (s *Server) apiGetPostmortem(c echo.Context) error {
	inc, err := s.store.GetIncident(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if inc.Postmortem == nil {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "this incident has no published postmortem"}
	}
	return c.JSON(http.StatusOK, inc.Postmortem)
}

func (s *Server) apiPublishPostmortem(c echo.Context) error {
	var req postmortemRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	inc, err := s.store.PublishPostmortem(c.Request().Context(), c.Param("id"), req.Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}
