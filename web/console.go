package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// The console: server-rendered pages for signed-in users under /console.
// Every change goes through a POST form carrying a CSRF token, then
// redirects (so a reload does not post twice) with a short confirmation.

// flashes are the confirmations a redirect may ask for by code; only these
// texts can appear, so the query string cannot put words on the page.
var flashes = map[string]string{
	"incident-created":          "Incident opened. It is on the public page now.",
	"draft-published":           "Draft published. It is on the public page now, and subscribers are being told.",
	"draft-discarded":           "Draft discarded. Nothing was published.",
	"update-posted":             "Update posted.",
	"update-corrected":          "Update corrected. Subscribers were not notified.",
	"update-corrected-sent":     "Update corrected, and subscribers are being told of the correction.",
	"update-deleted":            "Update deleted. The audit log keeps it with your reason.",
	"incident-edited":           "Incident saved.",
	"postmortem-saved":          "Postmortem draft saved.",
	"postmortem-published":      "Postmortem published on the incident page.",
	"template-saved":            "Template saved.",
	"template-deleted":          "Template deleted.",
	"maintenance-created":       "Maintenance scheduled.",
	"maintenance-saved":         "Maintenance changed.",
	"maintenance-updated":       "Maintenance update posted.",
	"maintenance-canceled":      "Maintenance cancelled and removed from the status page.",
	"component-saved":           "Component saved.",
	"component-deleted":         "Component deleted.",
	"status-set":                "Component status changed.",
	"group-saved":               "Group saved.",
	"group-deleted":             "Group deleted.",
	"page-saved":                "Page saved. It shows the change at once.",
	"page-deleted":              "Page deleted. Its addresses answer 404 now.",
	"branding-saved":            "Branding saved. The page shows it at once.",
	"moved":                     "Order changed.",
	"user-saved":                "User saved.",
	"signed-out-user":           "That user is signed out everywhere.",
	"token-revoked":             "Token revoked. It no longer works.",
	"subscriber-added":          "Subscriber added.",
	"subscriber-removed":        "Subscriber removed.",
	"chat-subscription-removed": "Chat subscription removed.",
	"sms-subscriber-removed":    "SMS subscriber removed.",
	"webhook-paused":            "Webhook paused. Deliveries meanwhile are skipped.",
	"webhook-resumed":           "Webhook resumed.",
	"webhook-deleted":           "Webhook deleted.",
	"delivery-replayed":         "Delivery queued to be sent again.",
	"password-changed":          "Your password is changed; your other sessions are signed out.",
	"change-password":           "",
	"notifications-saved":       "Team emails saved.",
	"factor-removed":            "Authenticator app removed: only your password signs you in now.",
	"factor-roles-saved":        "Saved which roles must sign in with a second factor.",
	"factors-reset":             "Their second factors are reset (authenticator app and passkeys) and they are signed out everywhere: they sign in with their password, add one again, and are told by email.",
	"no-factors":                "They had no second factor to reset.",
	"confirmed":                 "Confirmed: it is you. Send what you were doing once more; for five minutes nothing more is asked.",
	"passkey-added":             "Passkey added. You can sign in with it instead of your password.",
	"passkey-removed":           "Passkey removed.",
	"policy-saved":              "Escalation policy saved. It applies from the next minute.",
	"draft-held":                "Draft held: the escalation policy will not publish it. Publish or discard it when you are ready.",
	"draft-released":            "Hold released: the escalation policy may publish the holding statement again — at once, if its time has passed.",
}

// consoleView is the part every console page shares.
func (s *Server) consoleView(c echo.Context, section string) templates.Console {
	drafts, err := s.store.CountDrafts(c.Request().Context())
	if err != nil {
		s.log.Error("count drafts for the console's navigation", "err", err)
	}
	return templates.Console{
		Drafts:     drafts,
		Site:       s.site,
		User:       userOf(c),
		CSRF:       csrfToken(c),
		Section:    section,
		Flash:      flashes[c.QueryParam("msg")],
		ConsoleCSS: s.consoleCSS,
		ConsoleJS:  s.consoleJS,
		PasskeyJS:  s.passkeyJS,
	}
}

// render writes a console page. Console pages are never cached: they show
// one person's view and carry their CSRF token.
func (s *Server) render(c echo.Context, status int, page templ.Component) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	c.Response().WriteHeader(status)
	return page.Render(c.Request().Context(), c.Response())
}

func done(c echo.Context, path, flash string) error {
	if flash != "" {
		// The message goes in the query, before any #fragment.
		path, fragment, _ := strings.Cut(path, "#")
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "msg=" + flash
		if fragment != "" {
			path += "#" + fragment
		}
		return c.Redirect(http.StatusSeeOther, path)
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// consoleErrors shows errors as console pages rather than the API's JSON:
// a refusal or a missing object in words, with the way back.
func (s *Server) consoleErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		e := s.classify(err)
		if e.Status >= 500 {
			return err // logged and answered by the server's error handler
		}
		title := map[int]string{
			http.StatusForbidden: "Not allowed",
			http.StatusNotFound:  "Not found",
			http.StatusConflict:  "Not possible now",
		}[e.Status]
		if title == "" {
			title = http.StatusText(e.Status)
		}
		msg := e.Message
		if e.Status == http.StatusForbidden && e.Code == "forbidden" {
			msg = "Your role (" + roleOf(c).Label() + ") cannot open this page or make this change. Ask an admin if you need it."
		}
		if userOf(c).ID == "" {
			// No session (the sign-in form's CSRF check): a plain page.
			c.Response().Header().Set("Content-Type", "text/plain; charset=utf-8")
			return c.String(e.Status, title+": "+msg+"\n")
		}
		return s.render(c, e.Status, templates.ConsoleErrorView(templates.ConsoleError{
			Console: s.consoleView(c, ""), Status: e.Status, Title: title, Message: msg,
		}))
	}
}

// formErrors turns a store error into a form's messages: a validation
// error against its field, worded with the form's labels; a conflict
// against the whole form. Anything else is not the user's input and is
// returned as an error. prefix tells apart two forms on one page.
func formErrors(err error, labels templates.Labels, prefix string) (templates.FormErrors, error) {
	var ve *store.ValidationError
	var ce *store.ConflictError
	var nf *store.NotFoundError
	switch {
	case errors.As(err, &ve):
		field := ve.Field
		if strings.HasPrefix(field, "components.") {
			field = "components"
		}
		return templates.FormErrors{prefix + field: labels.Message(field, ve.Message)}, nil
	case errors.As(err, &ce):
		return templates.FormErrors{"": ce.Message}, nil
	case errors.As(err, &nf) && nf.Kind != "incident" && nf.Kind != "maintenance":
		return templates.FormErrors{"": nf.Error()}, nil
	}
	return nil, err
}

// deltaFrom reads a move form's direction.
func deltaFrom(c echo.Context) (int, error) {
	switch c.FormValue("direction") {
	case "up":
		return -1, nil
	case "down":
		return 1, nil
	}
	return 0, &apiError{Status: http.StatusBadRequest, Code: "invalid_value", Message: "direction must be up or down"}
}
