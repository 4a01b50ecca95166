package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Corrections in the console: edit an update's message, delete an update
// with a reason, rename and re-rate an incident. Each has its own page, so
// that it works without JavaScript and a slip of the finger on the
// incident page cannot change what the public reads.

// incidentUpdateOf loads an incident and one of its shown updates.
func (s *Server) incidentUpdateOf(c echo.Context) (store.Incident, store.IncidentUpdate, error) {
	return s.store.GetIncidentUpdate(c.Request().Context(), c.Param("id"), c.Param("update_id"))
}

func (s *Server) consoleEditUpdateForm(c echo.Context) error {
	inc, u, err := s.incidentUpdateOf(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.UpdateEdit(templates.UpdateEditPage{
		Console: s.consoleView(c, "incidents"), Incident: inc, Update: u, Body: u.Body,
	}))
}

func (s *Server) consoleEditUpdate(c echo.Context) error {
	inc, u, err := s.incidentUpdateOf(c)
	if err != nil {
		return err
	}
	p := templates.UpdateEditPage{Console: s.consoleView(c, "incidents"), Incident: inc, Update: u,
		Body: c.FormValue("body"), Notify: c.FormValue("notify") == "on"}
	if c.FormValue("action") == "preview" {
		if strings.TrimSpace(p.Body) != "" {
			p.Preview = templates.RenderMarkdownPreview(p.Body)
		}
		return s.render(c, http.StatusOK, templates.UpdateEdit(p))
	}
	_, err = s.store.EditIncidentUpdate(c.Request().Context(), inc.ID, u.ID, store.UpdateEdit{Body: p.Body, Notify: p.Notify})
	if err == nil {
		flash := "update-corrected"
		if p.Notify {
			flash = "update-corrected-sent"
		}
		return done(c, "/console/incidents/"+inc.ID, flash)
	}
	if p.Errors, err = formErrors(err, templates.CorrectionLabels, ""); err != nil {
		return err
	}
	return s.render(c, http.StatusUnprocessableEntity, templates.UpdateEdit(p))
}

func (s *Server) consoleDeleteUpdateForm(c echo.Context) error {
	inc, u, err := s.incidentUpdateOf(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.UpdateDelete(templates.UpdateDeletePage{
		Console: s.consoleView(c, "incidents"), Incident: inc, Update: u,
	}))
}

func (s *Server) consoleDeleteUpdate(c echo.Context) error {
	inc, u, err := s.incidentUpdateOf(c)
	if err != nil {
		return err
	}
	p := templates.UpdateDeletePage{Console: s.consoleView(c, "incidents"), Incident: inc, Update: u, Reason: c.FormValue("reason")}
	_, err = s.store.DeleteIncidentUpdate(c.Request().Context(), inc.ID, u.ID, p.Reason)
	if err == nil {
		return done(c, "/console/incidents/"+inc.ID, "update-deleted")
	}
	if p.Errors, err = formErrors(err, templates.CorrectionLabels, ""); err != nil {
		return err
	}
	return s.render(c, http.StatusUnprocessableEntity, templates.UpdateDelete(p))
}

func (s *Server) consoleEditIncidentForm(c echo.Context) error {
	inc, err := s.store.GetIncident(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	pages, err := s.store.ListPages(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.IncidentEdit(templates.IncidentEditPage{
		Console: s.consoleView(c, "incidents"), Incident: inc, Name: inc.Name, Impact: inc.Impact, Pages: pages, ChosenPages: inc.Pages,
	}))
}

func (s *Server) consoleEditIncident(c echo.Context) error {
	inc, err := s.store.GetIncident(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	pages, err := s.store.ListPages(c.Request().Context())
	if err != nil {
		return err
	}
	p := templates.IncidentEditPage{Console: s.consoleView(c, "incidents"), Incident: inc,
		Name: form.Get("name"), Impact: store.Impact(form.Get("impact")), Pages: pages, ChosenPages: form["pages"]}
	patch := store.IncidentPatch{Name: &p.Name, Impact: &p.Impact}
	if form.Get("pages_shown") == "1" { // the form asked: none ticked widens it
		chosen := append([]string{}, p.ChosenPages...)
		patch.Pages = &chosen
	}
	_, err = s.store.UpdateIncident(c.Request().Context(), inc.ID, patch)
	if err == nil {
		return done(c, "/console/incidents/"+inc.ID, "incident-edited")
	}
	if p.Errors, err = formErrors(err, templates.IncidentLabels, ""); err != nil {
		return err
	}
	return s.render(c, http.StatusUnprocessableEntity, templates.IncidentEdit(p))
}
