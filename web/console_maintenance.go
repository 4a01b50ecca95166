package web

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time.LoadLocation for the commander's zone, on hosts without a zone database

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

func (s *Server) consoleMaintenances(c echo.Context) error {
	ctx := c.Request().Context()
	upcoming, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{
		store.MaintenanceScheduled, store.MaintenanceInProgress, store.MaintenanceVerifying}, Limit: 200})
	if err != nil {
		return err
	}
	completed, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceCompleted}, Limit: 50})
	if err != nil {
		return err
	}
	_, comps, err := s.componentGroups(ctx)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.Maintenances(templates.MaintenancesPage{
		Console: s.consoleView(c, "maintenance"), Upcoming: upcoming, Completed: completed, Components: comps,
	}))
}

// maintenanceValues is what the schedule form sent.
type maintenanceValues struct {
	Name, Body, From, Until string
	// TZ is the IANA zone From and Until are written in: the commander's,
	// which the page script fills in; "" or "UTC" without it.
	TZ           string
	Auto         bool
	RemindBefore string // minutes, as typed
	Components   []string
	// Pages narrows it to chosen pages, when the form asked (PagesShown).
	Pages      []string
	PagesShown bool
}

func readMaintenanceForm(c echo.Context) (maintenanceValues, error) {
	params, err := c.FormParams()
	if err != nil {
		return maintenanceValues{}, &apiError{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"}
	}
	return maintenanceValues{
		Name: params.Get("name"), Body: params.Get("body"), From: params.Get("scheduled_for"), Until: params.Get("scheduled_until"),
		TZ: strings.TrimSpace(params.Get("tz")), Auto: params.Get("auto") == "on", Components: params["components"],
		RemindBefore: strings.TrimSpace(params.Get("remind_before_minutes")),
		Pages:        params["pages"], PagesShown: params.Get("pages_shown") == "1",
	}, nil
}

// remindBefore parses the reminder field: minutes, empty for none.
func (v maintenanceValues) remindBefore() (int, templates.FormErrors) {
	if v.RemindBefore == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v.RemindBefore)
	if err != nil {
		return 0, templates.FormErrors{"remind_before_minutes": templates.MaintenanceLabels.Message("remind_before_minutes",
			fmt.Sprintf("must be a whole number of minutes, such as 60, not %q", v.RemindBefore))}
	}
	return n, nil
}

// times parses the window, entered as datetime-local values in the zone
// v.TZ names, into moments.
func (v maintenanceValues) times() (time.Time, time.Time, templates.FormErrors) {
	errs := templates.FormErrors{}
	loc, err := zone(v.TZ)
	if err != nil {
		errs["tz"] = templates.MaintenanceLabels.Message("tz", err.Error())
		return time.Time{}, time.Time{}, errs
	}
	parse := func(field, s string) time.Time {
		if s == "" {
			errs[field] = templates.MaintenanceLabels.Message(field, "is required: give a date and time")
			return time.Time{}
		}
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t.UTC()
			}
		}
		errs[field] = templates.MaintenanceLabels.Message(field, "must be a date and time such as 2026-12-31T22:00")
		return time.Time{}
	}
	from, until := parse("scheduled_for", v.From), parse("scheduled_until", v.Until)
	if len(errs) > 0 {
		return from, until, errs
	}
	return from, until, nil
}

// zone is the time zone a form names: UTC when it names none, else an IANA
// name such as Europe/Berlin (the Go build carries the zone database, so
// this does not depend on the host's). "Local" is refused: it would mean
// the server's zone, which the commander cannot see.
func zone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("%q is not a time zone Herald knows; use a name such as Europe/Berlin, or UTC", name)
	}
	return loc, nil
}

func (s *Server) maintenanceForm(c echo.Context, m *store.Maintenance, v maintenanceValues, errs templates.FormErrors) (templates.MaintenanceForm, error) {
	checked := map[string]bool{}
	for _, id := range v.Components {
		checked[id] = true
	}
	groups, byID, err := s.choiceGroups(c.Request().Context(), nil, checked)
	if err != nil {
		return templates.MaintenanceForm{}, err
	}
	pages, err := s.store.ListPages(c.Request().Context())
	if err != nil {
		return templates.MaintenanceForm{}, err
	}
	return templates.MaintenanceForm{
		Console: s.consoleView(c, "maintenance"), Maintenance: m, Name: v.Name, Body: v.Body, From: v.From, Until: v.Until, TZ: v.TZ,
		Auto: v.Auto, RemindBefore: v.RemindBefore, Groups: groups, Components: byID, Errors: errs, Pages: pages, ChosenPages: v.Pages,
	}, nil
}

func (s *Server) consoleNewMaintenance(c echo.Context) error {
	start := s.store.Now().Add(24 * time.Hour).Truncate(time.Hour)
	f, err := s.maintenanceForm(c, nil, maintenanceValues{
		From: templates.LocalInput(start), Until: templates.LocalInput(start.Add(2 * time.Hour)), Auto: true,
	}, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.MaintenanceNew(f))
}

func (s *Server) consoleCreateMaintenance(c echo.Context) error {
	v, err := readMaintenanceForm(c)
	if err != nil {
		return err
	}
	from, until, errs := v.times()
	remind, remindErrs := v.remindBefore()
	errs = mergeErrors(errs, remindErrs)
	if errs == nil {
		auto := v.Auto
		m, err := s.store.CreateMaintenance(c.Request().Context(), store.MaintenanceInput{
			Name: v.Name, Body: v.Body, Components: v.Components, Pages: v.Pages, ScheduledFor: from, ScheduledUntil: until, AutoTransition: &auto,
			RemindBefore: remind,
		})
		if err == nil {
			return done(c, "/console/maintenances/"+m.ID, "maintenance-created")
		}
		if errs, err = formErrors(err, templates.MaintenanceLabels, ""); err != nil {
			return err
		}
	}
	f, err := s.maintenanceForm(c, nil, v, errs)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusUnprocessableEntity, templates.MaintenanceNew(f))
}

func valuesOf(m store.Maintenance) maintenanceValues {
	return maintenanceValues{Name: m.Name, From: templates.LocalInput(m.ScheduledFor), Until: templates.LocalInput(m.ScheduledUntil),
		Auto: m.AutoTransition, Components: m.Components, Pages: m.Pages, RemindBefore: remindField(m.RemindBefore)}
}

func remindField(minutes int) string {
	if minutes == 0 {
		return ""
	}
	return strconv.Itoa(minutes)
}

// mergeErrors is the errors of a and b together; nil when neither has any.
func mergeErrors(a, b templates.FormErrors) templates.FormErrors {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = templates.FormErrors{}
	}
	maps.Copy(a, b)
	return a
}

func (s *Server) consoleMaintenance(c echo.Context) error {
	m, err := s.store.GetMaintenance(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	f, err := s.maintenanceForm(c, &m, valuesOf(m), nil)
	if err != nil {
		return err
	}
	f.UpdateStatus = m.Status
	return s.render(c, http.StatusOK, templates.MaintenanceDetail(f))
}

func (s *Server) consoleEditMaintenance(c echo.Context) error {
	ctx := c.Request().Context()
	m, err := s.store.GetMaintenance(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := readMaintenanceForm(c)
	if err != nil {
		return err
	}
	from, until, errs := v.times()
	remind, remindErrs := v.remindBefore()
	errs = mergeErrors(errs, remindErrs)
	if errs == nil {
		auto, comps := v.Auto, v.Components
		if comps == nil {
			comps = []string{}
		}
		patch := store.MaintenancePatch{
			Name: &v.Name, ScheduledFor: &from, ScheduledUntil: &until, AutoTransition: &auto, Components: &comps, RemindBefore: &remind,
		}
		if v.PagesShown {
			pages := append([]string{}, v.Pages...)
			patch.Pages = &pages
		}
		_, err := s.store.UpdateMaintenance(ctx, m.ID, patch)
		if err == nil {
			return done(c, "/console/maintenances/"+m.ID, "maintenance-saved")
		}
		if errs, err = formErrors(err, templates.MaintenanceLabels, ""); err != nil {
			return err
		}
	}
	f, err := s.maintenanceForm(c, &m, v, errs)
	if err != nil {
		return err
	}
	f.UpdateStatus = m.Status
	return s.render(c, http.StatusUnprocessableEntity, templates.MaintenanceDetail(f))
}

func (s *Server) consoleMaintenanceUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	m, err := s.store.GetMaintenance(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	status, body := store.MaintenanceStatus(c.FormValue("status")), c.FormValue("body")
	_, err = s.store.PostMaintenanceUpdate(ctx, m.ID, store.MaintenanceUpdateInput{Status: status, Body: body})
	if err == nil {
		return done(c, "/console/maintenances/"+m.ID, "maintenance-updated")
	}
	errs, err := formErrors(err, templates.MaintenanceLabels, "")
	if err != nil {
		return err
	}
	f, err := s.maintenanceForm(c, &m, valuesOf(m), nil)
	if err != nil {
		return err
	}
	f.UpdateStatus, f.UpdateBody, f.UpdateErrors = status, body, errs
	return s.render(c, http.StatusUnprocessableEntity, templates.MaintenanceDetail(f))
}

func (s *Server) consoleCancelMaintenance(c echo.Context) error {
	ctx := c.Request().Context()
	m, err := s.store.GetMaintenance(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		f, err := s.maintenanceForm(c, &m, valuesOf(m), templates.FormErrors{"": "Tick the box to confirm the cancellation."})
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, templates.MaintenanceDetail(f))
	}
	if err := s.store.CancelMaintenance(ctx, m.ID); err != nil {
		return err
	}
	return done(c, "/console/maintenances", "maintenance-canceled")
}
