package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// maintenanceRequest schedules (POST) or changes (PATCH) a maintenance.
// "message" is the announcement; "body" is accepted as its synonym, as in
// updates.
type maintenanceRequest struct {
	Name       *string   `json:"name"`
	Message    *string   `json:"message"`
	Body       *string   `json:"body"`
	Components *[]string `json:"components"`
	Pages      *[]string `json:"pages"` // narrowed to these pages ("default": the default page); [] widens
	// Times are parsed here rather than by encoding/json, whose time errors
	// do not say which field was wrong.
	ScheduledFor   *string `json:"scheduled_for"`
	ScheduledUntil *string `json:"scheduled_until"`
	AutoTransition *bool   `json:"auto_transition"`
	// RemindBefore is minutes before the start to remind subscribers; 0 or
	// absent on create: no reminder.
	RemindBefore *int  `json:"remind_before_minutes"`
	Notify       *bool `json:"notify"` // on create: tell subscribers; default true
}

// times parses the window's bounds; nil for those not sent.
func (r maintenanceRequest) times() (from, until *time.Time, err error) {
	if from, err = parseTimeField("scheduled_for", r.ScheduledFor); err != nil {
		return nil, nil, err
	}
	if until, err = parseTimeField("scheduled_until", r.ScheduledUntil); err != nil {
		return nil, nil, err
	}
	return from, until, nil
}

func parseTimeField(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_value", Field: field,
			Message: field + " must be an RFC 3339 time, such as 2026-11-25T09:00:00Z"}
	}
	return &t, nil
}

// renameField reports a store validation error on field from as one on to,
// the name the client actually used.
func renameField(err error, from, to string) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) && ve.Field == from {
		return &store.ValidationError{Field: to, Message: ve.Message}
	}
	return err
}

type maintenanceUpdateRequest struct {
	Status  store.MaintenanceStatus `json:"status"`
	Body    *string                 `json:"body"`
	Message *string                 `json:"message"`
	Notify  *bool                   `json:"notify"` // tell subscribers of a start or completion; default true
}

// messageOf picks the message from "message" or "body"; both differing is
// ambiguous and refused.
func messageOf(message, body *string) (string, error) {
	if message != nil && body != nil && *message != *body {
		return "", badRequest("ambiguous_field", "message", "send the message as either message or body, not both")
	}
	if message != nil {
		return *message, nil
	}
	return deref(body), nil
}

func (s *Server) apiListMaintenances(c echo.Context) error {
	f := store.MaintenanceFilter{}
	if v := c.QueryParam("status"); v != "" {
		statuses, err := store.ParseMaintenanceStatuses(v)
		// A bad query parameter is a bad request, as for incidents, not
		// the 422 of a bad body.
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return badRequest("invalid_value", ve.Field, "%s", ve.Message)
		}
		if err != nil {
			return err
		}
		f.Statuses = statuses
	}
	list, err := s.store.ListMaintenances(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

func (s *Server) apiGetMaintenance(c echo.Context) error {
	m, err := s.store.GetMaintenance(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (s *Server) apiCreateMaintenance(c echo.Context) error {
	var req maintenanceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	msg, err := messageOf(req.Message, req.Body)
	if err != nil {
		return err
	}
	in := store.MaintenanceInput{Name: deref(req.Name), Body: msg, AutoTransition: req.AutoTransition, RemindBefore: deref(req.RemindBefore), SkipNotify: skipNotify(req.Notify)}
	if req.Components != nil {
		in.Components = *req.Components
	}
	if req.Pages != nil {
		in.Pages = *req.Pages
	}
	from, until, err := req.times()
	if err != nil {
		return err
	}
	if from != nil {
		in.ScheduledFor = *from
	}
	if until != nil {
		in.ScheduledUntil = *until
	}
	m, err := s.store.CreateMaintenance(c.Request().Context(), in)
	if err != nil {
		if req.Body == nil {
			err = renameField(err, "body", "message")
		}
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (s *Server) apiUpdateMaintenance(c echo.Context) error {
	var req maintenanceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Message != nil || req.Body != nil {
		return badRequest("unknown_field", "message", "post a message with POST /api/v1/maintenances/{id}/updates")
	}
	if req.Notify != nil {
		return badRequest("unknown_field", "notify", "changing a maintenance notifies no one; notify applies when it is created or updated")
	}
	from, until, err := req.times()
	if err != nil {
		return err
	}
	m, err := s.store.UpdateMaintenance(c.Request().Context(), c.Param("id"), store.MaintenancePatch{
		Name: req.Name, Components: req.Components, Pages: req.Pages, ScheduledFor: from, ScheduledUntil: until, AutoTransition: req.AutoTransition,
		RemindBefore: req.RemindBefore,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (s *Server) apiPostMaintenanceUpdate(c echo.Context) error {
	var req maintenanceUpdateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	msg, err := messageOf(req.Message, req.Body)
	if err != nil {
		return err
	}
	m, err := s.store.PostMaintenanceUpdate(c.Request().Context(), c.Param("id"), store.MaintenanceUpdateInput{Status: req.Status, Body: msg, SkipNotify: skipNotify(req.Notify)})
	if err != nil {
		if req.Body == nil && req.Message != nil {
			err = renameField(err, "body", "message")
		}
		return err
	}
	return c.JSON(http.StatusCreated, m)
}
