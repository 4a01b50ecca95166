package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

func (s *Server) consoleDashboard(c echo.Context) error {
	ctx := c.Request().Context()
	open, err := s.store.ListIncidents(ctx, store.IncidentFilter{Unresolved: true, Limit: 100})
	if err != nil {
		return err
	}
	maint, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{
		store.MaintenanceScheduled, store.MaintenanceInProgress, store.MaintenanceVerifying}, Limit: 100})
	if err != nil {
		return err
	}
	groups, comps, err := s.componentGroups(ctx)
	if err != nil {
		return err
	}
	overall := store.RollUp(slices.Collect(maps.Values(comps)), open)
	health, err := s.notificationHealth(ctx)
	if err != nil {
		return err
	}
	drafts, err := s.draftCards(c)
	if err != nil {
		return err
	}
	next, err := s.openIncidents(c, open, comps)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.Dashboard(templates.DashboardPage{
		Console: s.consoleView(c, "dashboard"), Open: next, Maintenance: maint, Groups: groups, Components: comps, Overall: overall,
		Notification: health, Drafts: drafts, Now: s.store.Now(),
	}))
}

// openIncidents pairs the open incidents with their next update due.
func (s *Server) openIncidents(c echo.Context, open []store.Incident, comps map[string]store.Component) (templates.OpenIncidents, error) {
	policy, err := s.escalationPolicy(c)
	if err != nil {
		return templates.OpenIncidents{}, err
	}
	now := s.store.Now()
	o := templates.OpenIncidents{Incidents: open, Components: comps, Next: make(map[string]templates.NextUpdate, len(open))}
	for _, inc := range open {
		o.Next[inc.ID] = templates.NextUpdateOf(inc, policy, now)
	}
	return o, nil
}

// consoleDashboardOpen is the dashboard's open incidents alone, fetched
// again every few seconds by the console script.
func (s *Server) consoleDashboardOpen(c echo.Context) error {
	open, err := s.store.ListIncidents(c.Request().Context(), store.IncidentFilter{Unresolved: true, Limit: 100})
	if err != nil {
		return err
	}
	comps, err := s.componentsByID(c)
	if err != nil {
		return err
	}
	o, err := s.openIncidents(c, open, comps)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.OpenIncidentsSection(o))
}

// escalationPolicy is the policy in force: saved in the console, or the
// one Herald was started with.
func (s *Server) escalationPolicy(c echo.Context) (store.EscalationPolicy, error) {
	return s.store.EscalationPolicy(c.Request().Context(), s.cfg.Escalation)
}

// notificationHealth is what the dashboard says about delivery: messages
// waiting (jobs not yet expanded count too), messages that failed for
// good, and webhooks Herald switched off.
func (s *Server) notificationHealth(ctx context.Context) (*templates.NotificationHealth, error) {
	counts, err := s.store.OutboxCounts(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := s.store.PendingJobs(ctx)
	if err != nil {
		return nil, err
	}
	hooks, err := s.store.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	h := &templates.NotificationHealth{Queued: jobs}
	for key, n := range counts {
		switch {
		case strings.HasSuffix(key, "/pending"), strings.HasSuffix(key, "/sending"):
			h.Queued += n
		case strings.HasSuffix(key, "/failed"):
			h.Failed += n
		}
	}
	for _, w := range hooks {
		if w.Status == store.WebhookDisabled {
			h.DisabledWebhooks++
		}
	}
	return h, nil
}

// componentGroups returns components grouped in page order (the ungrouped
// first, empty groups included: the console manages them) and by id.
func (s *Server) componentGroups(ctx context.Context) ([]templates.GroupView, map[string]store.Component, error) {
	groups, err := s.store.ListComponentGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	comps, err := s.store.ListComponents(ctx)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]store.Component, len(comps))
	for _, comp := range comps {
		byID[comp.ID] = comp
	}
	return groupViews(groups, comps, nil), byID, nil
}

// choiceGroups lays out the components for a form, with the statuses (or
// ticks) the form had.
func (s *Server) choiceGroups(ctx context.Context, chosen map[string]store.ComponentStatus, checked map[string]bool) ([]templates.ChoiceGroup, map[string]store.Component, error) {
	groups, byID, err := s.componentGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]templates.ChoiceGroup, 0, len(groups))
	for _, g := range groups {
		cg := templates.ChoiceGroup{Name: g.Group.Name}
		for _, cv := range g.Components {
			cg.Choices = append(cg.Choices, templates.ComponentChoice{Component: cv.Component, New: chosen[cv.ID], Checked: checked[cv.ID]})
		}
		out = append(out, cg)
	}
	return out, byID, nil
}

func (s *Server) consoleIncidents(c echo.Context) error {
	ctx := c.Request().Context()
	open, err := s.store.ListIncidents(ctx, store.IncidentFilter{Unresolved: true, Limit: 200})
	if err != nil {
		return err
	}
	resolved, err := s.store.ListIncidents(ctx, store.IncidentFilter{Resolved: true, Limit: 100})
	if err != nil {
		return err
	}
	comps, err := s.componentsByID(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.Incidents(templates.IncidentsPage{
		Console: s.consoleView(c, "incidents"), Open: open, Resolved: resolved, Components: comps,
	}))
}

// incidentValues is what the incident form sent.
type incidentValues struct {
	Name         string
	Status       store.IncidentStatus
	Impact       store.Impact
	Body         string
	InternalNote string
	Pages        []string // the new incident's narrowing to chosen pages
	Components   map[string]store.ComponentStatus
	Notify       bool
	Preview      bool
	Template     string
	// UseTemplate is the form's "Use template" button: add the template's
	// text and show the form again.
	UseTemplate bool
	// NextIn is the next update promised, in minutes ("" for none).
	NextIn string
	// Key is the form's submission key; "" on a fresh form.
	Key string
}

// promise is the next update the form promised, nil for none.
func (v incidentValues) promise(now time.Time) *time.Time {
	n, err := strconv.Atoi(v.NextIn)
	if err != nil || n <= 0 {
		return nil
	}
	at := now.Add(time.Duration(n) * time.Minute)
	return &at
}

// storeKey is the form's submission key as the store keeps it, apart from
// API clients' keys.
func (v incidentValues) storeKey() string {
	if !formKeyValid(v.Key) {
		return ""
	}
	return "form:" + v.Key
}

// formKeyValid tells a submission key a form of ours could have sent (ours
// are 32 characters) from anything else, which gets a fresh key instead.
func formKeyValid(key string) bool { return key != "" && len(key) <= 64 }

// newSubmissionKey is a fresh form's submission key: random, so that no
// other form can collide with it.
func newSubmissionKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func readIncidentForm(c echo.Context) (incidentValues, error) {
	params, err := c.FormParams()
	if err != nil {
		return incidentValues{}, &apiError{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"}
	}
	v := incidentValues{
		Name:         params.Get("name"),
		Status:       store.IncidentStatus(params.Get("status")),
		Impact:       store.Impact(params.Get("impact")),
		Body:         params.Get("body"),
		InternalNote: params.Get("internal_note"),
		Pages:        params["pages"],
		Components:   map[string]store.ComponentStatus{},
		Notify:       params.Get("notify") == "on",
		Preview:      params.Get("action") == "preview",
		Template:     params.Get("template"),
		UseTemplate:  params.Get("action") == "template",
		NextIn:       params.Get("next_update_in"),
		Key:          params.Get("submission"),
	}
	for key, vals := range params {
		id, ok := strings.CutPrefix(key, "component.")
		if ok && len(vals) > 0 && vals[0] != "" {
			v.Components[id] = store.ComponentStatus(vals[0])
		}
	}
	return v, nil
}

// incidentForm builds the form view for a new incident (inc nil) or an
// update to inc, from what was sent.
func (s *Server) incidentForm(c echo.Context, inc *store.Incident, v incidentValues, errs templates.FormErrors) (templates.IncidentForm, error) {
	ctx := c.Request().Context()
	groups, byID, err := s.choiceGroups(ctx, v.Components, nil)
	if err != nil {
		return templates.IncidentForm{}, err
	}
	tps, err := s.store.ListIncidentTemplates(ctx)
	if err != nil {
		return templates.IncidentForm{}, err
	}
	pages, err := s.store.ListPages(ctx)
	if err != nil {
		return templates.IncidentForm{}, err
	}
	var private []string
	for _, p := range pages {
		if p.Private() {
			private = append(private, p.Name)
		}
	}
	f := templates.IncidentForm{
		Console: s.consoleView(c, "incidents"), Incident: inc, Name: v.Name, Status: v.Status, Impact: v.Impact, Body: v.Body,
		InternalNote: v.InternalNote, PrivatePages: private,
		Groups: groups, Templates: tps, TemplateID: v.Template, Errors: errs, Components: byID, Notify: v.Notify, NextIn: v.NextIn,
		Key: v.Key,
	}
	if inc == nil {
		f.Pages, f.ChosenPages = pages, v.Pages
	}
	if !formKeyValid(f.Key) {
		f.Key = newSubmissionKey()
	}
	if v.Preview && strings.TrimSpace(v.Body) != "" {
		f.Preview = templates.RenderMarkdownPreview(v.Body)
	}
	if inc != nil {
		f.Affected = inc.Components
		if err := s.withClock(c, &f); err != nil {
			return templates.IncidentForm{}, err
		}
	}
	return f, nil
}

// templateStep adds the template the form names to what the form holds:
// on "Use template", its text after what was typed (nothing typed is
// lost); on a post with an empty message (a template picked, without the
// page script to insert it), in its place. Either way the form comes back
// to be read over before anything is posted. It returns what to tell the
// commander, "" when there was nothing to do.
func (s *Server) templateStep(ctx context.Context, v *incidentValues) (string, error) {
	switch {
	case v.Template == "" && v.UseTemplate:
		return "Choose a template in the list first. Nothing was posted.", nil
	case v.Template == "", !v.UseTemplate && strings.TrimSpace(v.Body) != "":
		return "", nil
	}
	tp, err := s.store.GetIncidentTemplate(ctx, v.Template)
	if errors.Is(err, store.ErrNotFound) {
		v.Template = ""
		return "That template no longer exists. Nothing was posted.", nil
	}
	if err != nil {
		return "", err
	}
	note := "Filled in from the template “" + tp.Name + "”. Read it over, then post."
	if body := strings.TrimRight(v.Body, " \t\r\n"); strings.TrimSpace(body) != "" {
		v.Body = body + "\n\n" + tp.Body
		note = "Added the template “" + tp.Name + "” after your message. Read it over, then post."
	} else {
		v.Body = tp.Body
	}
	if tp.Status != "" {
		v.Status = tp.Status
	}
	if v.Name == "" {
		v.Name = tp.Title
	}
	if v.Impact == "" {
		v.Impact = tp.Impact
	}
	v.Template = ""
	return note, nil
}

func (s *Server) consoleNewIncident(c echo.Context) error {
	v := incidentValues{Status: store.Investigating, Notify: true, Template: c.QueryParam("template")}
	note, err := s.templateStep(c.Request().Context(), &v)
	if err != nil {
		return err
	}
	f, err := s.incidentForm(c, nil, v, nil)
	if err != nil {
		return err
	}
	f.Note = note
	return s.render(c, http.StatusOK, templates.IncidentNew(f))
}

func (s *Server) consoleCreateIncident(c echo.Context) error {
	v, err := readIncidentForm(c)
	if err != nil {
		return err
	}
	note, err := s.templateStep(c.Request().Context(), &v)
	if err != nil {
		return err
	}
	if note != "" {
		f, err := s.incidentForm(c, nil, v, nil)
		if err != nil {
			return err
		}
		f.Note = note
		return s.render(c, http.StatusOK, templates.IncidentNew(f))
	}
	if !v.Preview {
		inc, err := s.store.CreateIncident(c.Request().Context(), store.IncidentInput{
			Name: v.Name, Status: v.Status, Impact: v.Impact, Body: v.Body, InternalNote: v.InternalNote, Pages: v.Pages, Components: v.Components, SkipNotify: !v.Notify,
			NextUpdateAt: v.promise(s.store.Now()), Key: v.storeKey(),
		})
		if err == nil {
			return done(c, "/console/incidents/"+inc.ID, "incident-created")
		}
		errs, err := formErrors(err, templates.IncidentLabels, "")
		if err != nil {
			return err
		}
		f, err := s.incidentForm(c, nil, v, errs)
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, templates.IncidentNew(f))
	}
	f, err := s.incidentForm(c, nil, v, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.IncidentNew(f))
}

func (s *Server) consoleIncident(c echo.Context) error {
	inc, err := s.store.GetIncident(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		// A draft's id (from an alert's link, say) opens the draft.
		if isDraft, derr := s.store.IsDraft(c.Request().Context(), c.Param("id")); derr == nil && isDraft {
			return c.Redirect(http.StatusSeeOther, "/console/drafts/"+c.Param("id"))
		}
	}
	if err != nil {
		return err
	}
	f, err := s.incidentForm(c, &inc, incidentValues{Status: inc.Status, Impact: inc.Impact, Notify: true}, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.IncidentDetail(f))
}

// withClock adds an incident's time-to-tell clock and its alerts to its
// console page.
func (s *Server) withClock(c echo.Context, f *templates.IncidentForm) error {
	ctx := c.Request().Context()
	clock, err := s.store.Clock(ctx, f.Incident.ID)
	if err != nil {
		return err
	}
	alerts, err := s.store.Alerts(ctx, []string{f.Incident.ID})
	if err != nil {
		return err
	}
	f.Clock, f.Alerts = &clock, alerts[f.Incident.ID]
	if f.Incident.Open() {
		policy, err := s.escalationPolicy(c)
		if err != nil {
			return err
		}
		next := templates.NextUpdateOf(*f.Incident, policy, s.store.Now())
		f.Next = &next
	}
	return nil
}

func (s *Server) consolePostUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	inc, err := s.store.GetIncident(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := readIncidentForm(c)
	if err != nil {
		return err
	}
	note, err := s.templateStep(ctx, &v)
	if err != nil {
		return err
	}
	if note != "" {
		f, err := s.incidentForm(c, &inc, v, nil)
		if err != nil {
			return err
		}
		f.Note = note
		return s.render(c, http.StatusOK, templates.IncidentDetail(f))
	}
	if !v.Preview {
		_, err := s.store.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{
			Status: v.Status, Body: v.Body, InternalNote: v.InternalNote, Components: v.Components, Impact: v.Impact, SkipNotify: !v.Notify,
			NextUpdateAt: v.promise(s.store.Now()), Key: v.storeKey(),
		})
		if err == nil {
			return done(c, "/console/incidents/"+inc.ID, "update-posted")
		}
		errs, ferr := formErrors(err, templates.IncidentLabels, "")
		if ferr != nil {
			return ferr
		}
		f, err := s.incidentForm(c, &inc, v, errs)
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, templates.IncidentDetail(f))
	}
	f, err := s.incidentForm(c, &inc, v, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.IncidentDetail(f))
}

// consolePreview renders Markdown for the page script's live preview, with
// the same sanitiser the public page uses.
func (s *Server) consolePreview(c echo.Context) error {
	body := c.FormValue("body")
	if len(body) > store.MaxBodyLength*4 {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "the message is too long"}
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.HTML(http.StatusOK, templates.RenderMarkdownPreview(body))
}
