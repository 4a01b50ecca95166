package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

func (s *Server) consoleTemplates(c echo.Context) error {
	list, err := s.store.ListIncidentTemplates(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.Templates(templates.TemplatesPage{Console: s.consoleView(c, "templates"), Templates: list}))
}

func (s *Server) templateForm(c echo.Context, status int, tp store.IncidentTemplate, errs templates.FormErrors) error {
	return s.render(c, status, templates.TemplateEdit(templates.TemplateForm{Console: s.consoleView(c, "templates"), Template: tp, Errors: errs}))
}

func (s *Server) consoleNewTemplate(c echo.Context) error {
	return s.templateForm(c, http.StatusOK, store.IncidentTemplate{Status: store.Investigating}, nil)
}

func templateInput(c echo.Context) store.IncidentTemplateInput {
	return store.IncidentTemplateInput{
		Name: c.FormValue("name"), Title: c.FormValue("title"), Status: store.IncidentStatus(c.FormValue("status")),
		Impact: store.Impact(c.FormValue("impact")), Body: c.FormValue("body"),
	}
}

// asTemplate shows what was typed back in the form after an error.
func asTemplate(id string, in store.IncidentTemplateInput) store.IncidentTemplate {
	return store.IncidentTemplate{ID: id, Name: in.Name, Title: in.Title, Status: in.Status, Impact: in.Impact, Body: in.Body}
}

func (s *Server) consoleCreateTemplate(c echo.Context) error {
	in := templateInput(c)
	_, err := s.store.CreateIncidentTemplate(c.Request().Context(), in)
	if err == nil {
		return done(c, "/console/templates", "template-saved")
	}
	errs, err := formErrors(err, templates.TemplateLabels, "")
	if err != nil {
		return err
	}
	return s.templateForm(c, http.StatusUnprocessableEntity, asTemplate("", in), errs)
}

func (s *Server) consoleTemplate(c echo.Context) error {
	tp, err := s.store.GetIncidentTemplate(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.templateForm(c, http.StatusOK, tp, nil)
}

func (s *Server) consoleEditTemplate(c echo.Context) error {
	ctx := c.Request().Context()
	tp, err := s.store.GetIncidentTemplate(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	in := templateInput(c)
	_, err = s.store.UpdateIncidentTemplate(ctx, tp.ID, in)
	if err == nil {
		return done(c, "/console/templates", "template-saved")
	}
	errs, err := formErrors(err, templates.TemplateLabels, "")
	if err != nil {
		return err
	}
	return s.templateForm(c, http.StatusUnprocessableEntity, asTemplate(tp.ID, in), errs)
}

func (s *Server) consoleDeleteTemplate(c echo.Context) error {
	ctx := c.Request().Context()
	tp, err := s.store.GetIncidentTemplate(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.templateForm(c, http.StatusUnprocessableEntity, tp, templates.FormErrors{"confirm": "Tick the box to confirm the deletion."})
	}
	if err := s.store.DeleteIncidentTemplate(ctx, tp.ID); err != nil {
		return err
	}
	return done(c, "/console/templates", "template-deleted")
}
