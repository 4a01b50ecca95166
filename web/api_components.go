package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// componentRequest is the body of component create and update calls.
type componentRequest struct {
	Name        *string                `json:"name"`
	Description *string                `json:"description"`
	GroupID     *string                `json:"group_id"`
	Position    *int                   `json:"position"`
	Status      *store.ComponentStatus `json:"status"`
	Internal    *bool                  `json:"internal"`
}

func (s *Server) apiListComponents(c echo.Context) error {
	list, err := s.store.ListComponents(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

func (s *Server) apiGetComponent(c echo.Context) error {
	comp, err := s.store.GetComponent(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, comp)
}

func (s *Server) apiCreateComponent(c echo.Context) error {
	var req componentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in := store.ComponentInput{Name: deref(req.Name), Description: deref(req.Description), GroupID: deref(req.GroupID), Position: req.Position, Internal: deref(req.Internal)}
	if req.Status != nil {
		in.Status = *req.Status
		if in.Status == "" {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_value", Field: "status", Message: "status must not be empty"}
		}
	}
	comp, err := s.store.CreateComponent(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, comp)
}

func (s *Server) apiUpdateComponent(c echo.Context) error {
	var req componentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	// Commanders set a component's status; renaming, describing or moving
	// it is configuration, for admins (see routes.go).
	if (req.Name != nil || req.Description != nil || req.GroupID != nil || req.Position != nil || req.Internal != nil) && !roleOf(c).Allows(store.RoleAdmin) {
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "only admins change a component's name, description, group, position or whether it is internal; commanders may change its status"}
	}
	comp, err := s.store.UpdateComponent(c.Request().Context(), c.Param("id"), store.ComponentPatch{
		Name: req.Name, Description: req.Description, GroupID: req.GroupID, Position: req.Position, Status: req.Status, Internal: req.Internal,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, comp)
}

func (s *Server) apiDeleteComponent(c echo.Context) error {
	if err := s.store.DeleteComponent(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// groupRequest is the body of component group create and update calls.
type groupRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Position    *int    `json:"position"`
}

func (s *Server) apiListGroups(c echo.Context) error {
	list, err := s.store.ListComponentGroups(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

func (s *Server) apiGetGroup(c echo.Context) error {
	g, err := s.store.GetComponentGroup(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (s *Server) apiCreateGroup(c echo.Context) error {
	var req groupRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	g, err := s.store.CreateComponentGroup(c.Request().Context(), store.ComponentGroupInput{Name: deref(req.Name), Description: deref(req.Description), Position: req.Position})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, g)
}

func (s *Server) apiUpdateGroup(c echo.Context) error {
	var req groupRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	g, err := s.store.UpdateComponentGroup(c.Request().Context(), c.Param("id"), store.ComponentGroupPatch{Name: req.Name, Description: req.Description, Position: req.Position})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (s *Server) apiDeleteGroup(c echo.Context) error {
	if err := s.store.DeleteComponentGroup(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
