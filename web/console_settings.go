package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Settings in the console: the escalation policy, which says when Herald
// steps in for a team that has not told anyone yet. Saved here it wins
// over the flags Herald was started with.

// consoleSettings shows the policy in force and the form that changes it.
func (s *Server) consoleSettings(c echo.Context) error {
	p, err := s.escalationPolicy(c)
	if err != nil {
		return err
	}
	return s.settingsPage(c, http.StatusOK, policyValues(p), p.Saved, nil)
}

// policyValues is the policy as the form shows it: whole minutes, "" for
// never.
func policyValues(p store.EscalationPolicy) templates.PolicyValues {
	v := templates.PolicyValues{RemindAfter: minutes(p.RemindAfter), StaleAfter: minutes(p.StaleAfter), HoldingTemplate: p.HoldingTemplate,
		PublishAfter: map[store.Impact]string{}}
	for impact, d := range p.PublishAfter {
		v.PublishAfter[impact] = minutes(d)
	}
	return v
}

func minutes(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(int64(d/time.Minute), 10)
}

func (s *Server) settingsPage(c echo.Context, status int, v templates.PolicyValues, saved bool, errs templates.FormErrors) error {
	tps, err := s.store.ListIncidentTemplates(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, status, templates.Settings(templates.SettingsPage{Console: s.consoleView(c, "settings"), Policy: v, Saved: saved,
		Templates: tps, Builtin: store.BuiltinHoldingStatement, Errors: errs}))
}

// consoleSaveEscalation saves the policy; a bad one is shown again with
// the problem by its field, and nothing is saved.
func (s *Server) consoleSaveEscalation(c echo.Context) error {
	v := templates.PolicyValues{RemindAfter: c.FormValue("remind_after"), StaleAfter: c.FormValue("stale_after"),
		HoldingTemplate: c.FormValue("holding_template"), PublishAfter: map[store.Impact]string{}}
	p := store.EscalationPolicy{HoldingTemplate: v.HoldingTemplate, PublishAfter: map[store.Impact]time.Duration{}}
	errs := templates.FormErrors{}
	readMinutes := func(field, raw string, optional bool) time.Duration {
		raw = strings.TrimSpace(raw)
		if raw == "" && optional {
			return 0
		}
		n, err := strconv.Atoi(raw)
		if err == nil && n > 7*24*60 {
			errs[field] = templates.SettingsLabels.Message(field, "is "+raw+" minutes; use between 1 minute and 7 days (10080 minutes).")
			return 0
		}
		if err != nil || n < 0 {
			errs[field] = templates.SettingsLabels.Message(field, "must be a whole number of minutes"+map[bool]string{true: ", or empty for never", false: ""}[optional]+".")
			return 0
		}
		return time.Duration(n) * time.Minute
	}
	p.RemindAfter = readMinutes("remind_after", v.RemindAfter, false)
	p.StaleAfter = readMinutes("stale_after", v.StaleAfter, false)
	for _, impact := range store.Impacts {
		field := "publish_after." + string(impact)
		v.PublishAfter[impact] = c.FormValue(field)
		if d := readMinutes(field, v.PublishAfter[impact], true); d > 0 {
			p.PublishAfter[impact] = d
		}
	}
	if len(errs) > 0 {
		return s.settingsPage(c, http.StatusUnprocessableEntity, v, false, errs)
	}
	if _, err := s.store.SaveEscalationPolicy(c.Request().Context(), p, s.cfg.Escalation); err != nil {
		var ve *store.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		return s.settingsPage(c, http.StatusUnprocessableEntity, v, false, templates.FormErrors{ve.Field: templates.SettingsLabels.Message(ve.Field, ve.Message)})
	}
	return done(c, "/console/settings", "policy-saved")
}
