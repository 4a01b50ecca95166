package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// maintenanceRequest schedules (POST) or changes (PATCH) a maintenance.
// "message" is the announcement; "body" is accepted as its synonym, as in
// updates.
type maintenanceRequest struct {
	Name           *string    `json:"name"`
	Message        *string    `json:"message"`
	Body           *string    `json:"body"`
	Components     *[]string  `json:"components"`
	ScheduledFor   *time.Time `json:"scheduled_for"`
	ScheduledUntil *time.Time `json:"scheduled_until"`
	AutoTransition *bool      `json:"auto_transition"`
}

type maintenanceUpdateRequest struct {
	Status  store.MaintenanceStatus `json:"status"`
	Body    *string                 `json:"body"`
	Message *string                 `json:"message"`
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
	in := store.MaintenanceInput{Name: deref(req.Name), Body: msg, AutoTransition: req.AutoTransition}
	if req.Components != nil {
		in.Components = *req.Components
	}
	if req.ScheduledFor != nil {
		in.ScheduledFor = *req.ScheduledFor
	}
	if req.ScheduledUntil != nil {
		in.ScheduledUntil = *req.ScheduledUntil
	}
	m, err := s.store.CreateMaintenance(c.Request().Context(), in)
	if err != nil {
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
	m, err := s.store.UpdateMaintenance(c.Request().Context(), c.Param("id"), store.MaintenancePatch{
		Name: req.Name, Components: req.Components, ScheduledFor: req.ScheduledFor, ScheduledUntil: req.ScheduledUntil, AutoTransition: req.AutoTransition,
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
	m, err := s.store.PostMaintenanceUpdate(c.Request().Context(), c.Param("id"), store.MaintenanceUpdateInput{Status: req.Status, Body: msg})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}
