package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

func (s *Server) componentsPage(c echo.Context, status int, newComp templates.ComponentValues, newGroup templates.GroupValues, errs templates.FormErrors) error {
	ctx := c.Request().Context()
	groups, _, err := s.componentGroups(ctx)
	if err != nil {
		return err
	}
	all, err := s.store.ListComponentGroups(ctx)
	if err != nil {
		return err
	}
	// Empty groups are listed too, so they can be edited or deleted.
	shown := map[string]bool{}
	for _, g := range groups {
		shown[g.Group.ID] = true
	}
	for _, g := range all {
		if !shown[g.ID] {
			groups = append(groups, templates.GroupView{Group: g})
		}
	}
	if newComp.Status == "" {
		newComp.Status = store.Operational
	}
	return s.render(c, status, templates.Components(templates.ComponentsPage{
		Console: s.consoleView(c, "components"), Groups: groups, AllGroups: all, NewComponent: newComp, NewGroup: newGroup, Errors: errs,
	}))
}

func (s *Server) consoleComponents(c echo.Context) error {
	return s.componentsPage(c, http.StatusOK, templates.ComponentValues{}, templates.GroupValues{}, nil)
}

func componentValues(c echo.Context) templates.ComponentValues {
	return templates.ComponentValues{Name: c.FormValue("name"), Description: c.FormValue("description"),
		GroupID: c.FormValue("group_id"), Status: store.ComponentStatus(c.FormValue("status")), Internal: c.FormValue("internal") == "on"}
}

// componentValuesOf is the edit form of a component as it is.
func componentValuesOf(comp store.Component) templates.ComponentValues {
	return templates.ComponentValues{Name: comp.Name, Description: comp.Description, GroupID: comp.GroupID, Status: comp.Status, Internal: comp.Internal}
}

func (s *Server) consoleCreateComponent(c echo.Context) error {
	v := componentValues(c)
	_, err := s.store.CreateComponent(c.Request().Context(), store.ComponentInput{Name: v.Name, Description: v.Description, GroupID: v.GroupID, Status: v.Status, Internal: v.Internal})
	if err == nil {
		return done(c, "/console/components", "component-saved")
	}
	errs, err := formErrors(err, templates.ComponentLabels, "component.")
	if err != nil {
		return err
	}
	return s.componentsPage(c, http.StatusUnprocessableEntity, v, templates.GroupValues{}, errs)
}

func (s *Server) componentForm(c echo.Context, status int, comp store.Component, v templates.ComponentValues, errs templates.FormErrors) error {
	groups, err := s.store.ListComponentGroups(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, status, templates.ComponentEdit(templates.ComponentForm{
		Console: s.consoleView(c, "components"), Component: comp, Values: v, Groups: groups, Errors: errs,
	}))
}

func (s *Server) consoleComponent(c echo.Context) error {
	comp, err := s.store.GetComponent(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.componentForm(c, http.StatusOK, comp, componentValuesOf(comp), nil)
}

func (s *Server) consoleEditComponent(c echo.Context) error {
	ctx := c.Request().Context()
	comp, err := s.store.GetComponent(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	v := componentValues(c)
	_, err = s.store.UpdateComponent(ctx, comp.ID, store.ComponentPatch{Name: &v.Name, Description: &v.Description, GroupID: &v.GroupID, Status: &v.Status, Internal: &v.Internal})
	if err == nil {
		return done(c, "/console/components", "component-saved")
	}
	errs, err := formErrors(err, templates.ComponentLabels, "")
	if err != nil {
		return err
	}
	return s.componentForm(c, http.StatusUnprocessableEntity, comp, v, errs)
}

func (s *Server) consoleComponentStatus(c echo.Context) error {
	st := store.ComponentStatus(c.FormValue("status"))
	_, err := s.store.UpdateComponent(c.Request().Context(), c.Param("id"), store.ComponentPatch{Status: &st})
	if err == nil {
		return done(c, "/console/components", "status-set")
	}
	errs, err := formErrors(err, templates.ComponentLabels, "component.")
	if err != nil {
		return err
	}
	return s.componentsPage(c, http.StatusUnprocessableEntity, templates.ComponentValues{}, templates.GroupValues{}, errs)
}

func (s *Server) consoleMoveComponent(c echo.Context) error {
	delta, err := deltaFrom(c)
	if err != nil {
		return err
	}
	if err := s.store.MoveComponent(c.Request().Context(), c.Param("id"), delta); err != nil {
		return err
	}
	return done(c, "/console/components", "moved")
}

func (s *Server) consoleDeleteComponent(c echo.Context) error {
	ctx := c.Request().Context()
	comp, err := s.store.GetComponent(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.componentForm(c, http.StatusUnprocessableEntity, comp,
			componentValuesOf(comp),
			templates.FormErrors{"confirm": "Tick the box to confirm the deletion."})
	}
	if err := s.store.DeleteComponent(ctx, comp.ID); err != nil {
		return err
	}
	return done(c, "/console/components", "component-deleted")
}

func (s *Server) consoleCreateGroup(c echo.Context) error {
	v := templates.GroupValues{Name: c.FormValue("name"), Description: c.FormValue("description")}
	_, err := s.store.CreateComponentGroup(c.Request().Context(), store.ComponentGroupInput{Name: v.Name, Description: v.Description})
	if err == nil {
		return done(c, "/console/components", "group-saved")
	}
	errs, err := formErrors(err, templates.GroupLabels, "group.")
	if err != nil {
		return err
	}
	return s.componentsPage(c, http.StatusUnprocessableEntity, templates.ComponentValues{}, v, errs)
}

func (s *Server) groupForm(c echo.Context, status int, g store.ComponentGroup, v templates.GroupValues, errs templates.FormErrors) error {
	return s.render(c, status, templates.GroupEdit(templates.GroupForm{Console: s.consoleView(c, "components"), Group: g, Values: v, Errors: errs}))
}

func (s *Server) consoleGroup(c echo.Context) error {
	g, err := s.store.GetComponentGroup(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.groupForm(c, http.StatusOK, g, templates.GroupValues{Name: g.Name, Description: g.Description}, nil)
}

func (s *Server) consoleEditGroup(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.store.GetComponentGroup(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	v := templates.GroupValues{Name: c.FormValue("name"), Description: c.FormValue("description")}
	_, err = s.store.UpdateComponentGroup(ctx, g.ID, store.ComponentGroupPatch{Name: &v.Name, Description: &v.Description})
	if err == nil {
		return done(c, "/console/components", "group-saved")
	}
	errs, err := formErrors(err, templates.GroupLabels, "")
	if err != nil {
		return err
	}
	return s.groupForm(c, http.StatusUnprocessableEntity, g, v, errs)
}

func (s *Server) consoleMoveGroup(c echo.Context) error {
	delta, err := deltaFrom(c)
	if err != nil {
		return err
	}
	if err := s.store.MoveComponentGroup(c.Request().Context(), c.Param("id"), delta); err != nil {
		return err
	}
	return done(c, "/console/components", "moved")
}

func (s *Server) consoleDeleteGroup(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.store.GetComponentGroup(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.groupForm(c, http.StatusUnprocessableEntity, g, templates.GroupValues{Name: g.Name, Description: g.Description},
			templates.FormErrors{"confirm": "Tick the box to confirm the deletion."})
	}
	if err := s.store.DeleteComponentGroup(ctx, g.ID); err != nil {
		// Refused (its components' names are taken outside any group):
		// the form again, saying why.
		errs, err := formErrors(err, templates.GroupLabels, "")
		if err != nil {
			return err
		}
		return s.groupForm(c, http.StatusConflict, g, templates.GroupValues{Name: g.Name, Description: g.Description}, errs)
	}
	return done(c, "/console/components", "group-deleted")
}
