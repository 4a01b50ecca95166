package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

func (s *Server) usersPage(c echo.Context, status int, view templates.UsersPage) error {
	users, err := s.store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	if view.FactorRoles, err = s.store.FactorRequiredRoles(c.Request().Context()); err != nil {
		return err
	}
	view.Console, view.Users = s.consoleView(c, "users"), users
	if view.New.Role == "" {
		view.New.Role = store.RoleViewer
	}
	return s.render(c, status, templates.Users(view))
}

func (s *Server) consoleUsers(c echo.Context) error {
	return s.usersPage(c, http.StatusOK, templates.UsersPage{})
}

func (s *Server) consoleCreateUser(c echo.Context) error {
	in := store.UserInput{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: store.Role(c.FormValue("role"))}
	u, password, err := s.store.CreateUser(c.Request().Context(), in)
	if err != nil {
		errs, err := formErrors(err, templates.UserLabels, "")
		if err != nil {
			return err
		}
		return s.usersPage(c, http.StatusUnprocessableEntity, templates.UsersPage{New: in, Errors: errs})
	}
	// The password is shown on this response only (no-store), never again.
	return s.usersPage(c, http.StatusCreated, templates.UsersPage{Created: &u, Password: password})
}

func (s *Server) userForm(c echo.Context, status int, target store.User, errs templates.FormErrors, password string) error {
	sessions, err := s.store.ListSessions(c.Request().Context(), target.ID)
	if err != nil {
		return err
	}
	f, err := s.store.GetTwoFactor(c.Request().Context(), target)
	if err != nil {
		return err
	}
	return s.render(c, status, templates.UserEdit(templates.UserForm{
		Console: s.consoleView(c, "users"), Target: target, Sessions: sessions, Errors: errs, Password: password, Factor: f,
	}))
}

func (s *Server) consoleUser(c echo.Context) error {
	u, err := s.store.GetUser(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.userForm(c, http.StatusOK, u, nil, "")
}

func (s *Server) consoleEditUser(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.store.GetUser(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	name, role, disabled := c.FormValue("name"), store.Role(c.FormValue("role")), c.FormValue("active") != "on"
	_, err = s.store.UpdateUser(ctx, u.ID, store.UserPatch{Name: &name, Role: &role, Disabled: &disabled})
	if err == nil {
		return done(c, "/console/users/"+u.ID, "user-saved")
	}
	errs, err := formErrors(err, templates.UserLabels, "")
	if err != nil {
		return err
	}
	u.Name, u.Role = name, role
	return s.userForm(c, http.StatusUnprocessableEntity, u, errs, "")
}

func (s *Server) consoleResetPassword(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.store.GetUser(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	password, err := s.store.ResetPassword(ctx, u.ID)
	if err != nil {
		return err
	}
	if u, err = s.store.GetUser(ctx, u.ID); err != nil {
		return err
	}
	return s.userForm(c, http.StatusOK, u, nil, password)
}

func (s *Server) consoleSignOutUser(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.store.EndUserSessions(c.Request().Context(), id); err != nil {
		return err
	}
	if id == userOf(c).ID {
		s.clearSessionCookie(c)
		return c.Redirect(http.StatusSeeOther, "/console/login")
	}
	return done(c, "/console/users/"+id, "signed-out-user")
}

func (s *Server) tokensPage(c echo.Context, status int, view templates.TokensPage) error {
	ctx := c.Request().Context()
	tokens, err := s.store.ListTokens(ctx)
	if err != nil {
		return err
	}
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	view.Console, view.Tokens, view.Users = s.consoleView(c, "tokens"), tokens, users
	if view.UserID == "" {
		view.UserID = userOf(c).ID
	}
	return s.render(c, status, templates.Tokens(view))
}

func (s *Server) consoleTokens(c echo.Context) error {
	return s.tokensPage(c, http.StatusOK, templates.TokensPage{})
}

func (s *Server) consoleCreateToken(c echo.Context) error {
	in := store.TokenInput{Name: c.FormValue("name"), UserID: c.FormValue("user_id"), Role: store.Role(c.FormValue("role"))}
	if in.UserID == "" {
		in.UserID = userOf(c).ID
	}
	tok, secret, err := s.store.CreateUserToken(c.Request().Context(), in)
	if err != nil {
		errs, err := formErrors(err, templates.TokenLabels, "")
		if err != nil {
			return err
		}
		return s.tokensPage(c, http.StatusUnprocessableEntity, templates.TokensPage{Name: in.Name, UserID: in.UserID, Role: in.Role, Errors: errs})
	}
	return s.tokensPage(c, http.StatusCreated, templates.TokensPage{Created: &tok, Secret: secret})
}

func (s *Server) consoleRevokeToken(c echo.Context) error {
	if err := s.store.RevokeToken(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return done(c, "/console/tokens", "token-revoked")
}
