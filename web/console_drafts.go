package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Drafts in the console: what an integration proposed, first on the
// dashboard with the alerts behind it, published in one step from a form
// the commander can edit, or discarded. A draft is the first sign of
// trouble; leaving it unseen is the failure Herald exists to prevent.

// draftCards are the dashboard's drafts, newest first; the newest
// templates.DraftCardsInFull come with their alerts.
func (s *Server) draftCards(c echo.Context) ([]templates.DraftCard, error) {
	ctx := c.Request().Context()
	drafts, err := s.store.ListDrafts(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, templates.DraftCardsInFull)
	for _, d := range drafts[:min(len(drafts), templates.DraftCardsInFull)] {
		ids = append(ids, d.ID)
	}
	alerts, err := s.store.Alerts(ctx, ids)
	if err != nil {
		return nil, err
	}
	cards := make([]templates.DraftCard, len(drafts))
	for i, d := range drafts {
		cards[i] = templates.DraftCard{Draft: d, Alerts: alerts[d.ID]}
	}
	return cards, nil
}

// consoleDashboardDrafts is the dashboard's drafts section alone, which the
// console script fetches every few seconds so that a new draft appears
// without a reload.
func (s *Server) consoleDashboardDrafts(c echo.Context) error {
	cards, err := s.draftCards(c)
	if err != nil {
		return err
	}
	comps, err := s.componentsByID(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.DraftsSection(s.consoleView(c, "dashboard"), cards, comps, s.store.Now()))
}

func (s *Server) componentsByID(c echo.Context) (map[string]store.Component, error) {
	list, err := s.store.ListComponents(c.Request().Context())
	if err != nil {
		return nil, err
	}
	byID := make(map[string]store.Component, len(list))
	for _, comp := range list {
		byID[comp.ID] = comp
	}
	return byID, nil
}

// consoleDraft is a draft's page: its alerts, and the form that publishes it.
func (s *Server) consoleDraft(c echo.Context) error {
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	v := draftValues(d)
	// A template named in the link replaces Herald's own first words:
	// nothing typed yet can be lost.
	if v.Template = c.QueryParam("template"); v.Template != "" {
		v.Body = ""
	}
	note, err := s.templateStep(c.Request().Context(), &v)
	if err != nil {
		return err
	}
	return s.draftPage(c, http.StatusOK, d, v, nil, note)
}

// draft loads the draft the route names; a published one sends the
// commander to the incident it became.
func (s *Server) draft(c echo.Context) (store.Incident, error) {
	d, err := s.store.GetIncidentOrDraft(c.Request().Context(), c.Param("id"))
	if err != nil {
		return store.Incident{}, err
	}
	if !d.Draft {
		return store.Incident{}, &store.ConflictError{Message: "this draft has been published: it is an incident now"}
	}
	return d, nil
}

// draftValues fills the publish form from the draft: its name, impact,
// status and proposed component statuses, and a first public message in
// plain words (the alerts' own text is for the team).
func draftValues(d store.Incident) incidentValues {
	v := incidentValues{Name: d.Name, Status: d.Status, Impact: d.Impact, Components: map[string]store.ComponentStatus{}, Notify: true}
	for i := len(d.Updates) - 1; i >= 0; i-- { // oldest first, so the latest status wins
		for _, a := range d.Updates[i].AffectedComponents {
			v.Components[a.ComponentID] = a.NewStatus
		}
	}
	var names []string
	for _, a := range d.Updates[0].AffectedComponents {
		names = append(names, a.Name)
	}
	v.Body = "We are investigating reports of problems"
	if len(names) > 0 {
		v.Body += " with " + strings.Join(names, ", ")
	}
	v.Body += ". We will post an update soon."
	return v
}

func (s *Server) draftPage(c echo.Context, status int, d store.Incident, v incidentValues, errs templates.FormErrors, note string) error {
	f, err := s.incidentForm(c, nil, v, errs)
	if err != nil {
		return err
	}
	f.Console.Section, f.Affected, f.Note = "dashboard", d.Components, note
	alerts, err := s.store.Alerts(c.Request().Context(), []string{d.ID})
	if err != nil {
		return err
	}
	policy, err := s.escalationPolicy(c)
	if err != nil {
		return err
	}
	page := templates.DraftForm{IncidentForm: f, Draft: d, Alerts: alerts[d.ID], Now: s.store.Now(), RemindAt: d.CreatedAt.Add(policy.RemindAfter)}
	if after, ok := policy.PublishAfterFor(d.Impact); ok {
		at := d.CreatedAt.Add(after)
		page.PublishAt = &at
	}
	return s.render(c, status, templates.DraftDetail(page))
}

// consolePublishDraft publishes a draft with the commander's words.
func (s *Server) consolePublishDraft(c echo.Context) error {
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	v, err := readIncidentForm(c)
	if err != nil {
		return err
	}
	note, err := s.templateStep(c.Request().Context(), &v)
	if err != nil {
		return err
	}
	if note != "" || v.Preview {
		return s.draftPage(c, http.StatusOK, d, v, nil, note)
	}
	p := store.DraftPublication{Name: &v.Name, Body: v.Body, Status: v.Status, Components: v.Components, SkipNotify: !v.Notify,
		NextUpdateAt: v.promise(s.store.Now())}
	if v.Impact != "" {
		p.Impact = &v.Impact
	}
	if strings.TrimSpace(v.Body) == "" {
		return s.draftPage(c, http.StatusUnprocessableEntity, d, v, templates.FormErrors{"body": templates.IncidentLabels.Message("body", "is required: write what visitors will read.")}, "")
	}
	inc, err := s.store.PublishDraft(c.Request().Context(), d.ID, p)
	if err == nil {
		return done(c, "/console/incidents/"+inc.ID, "draft-published")
	}
	if page, ok := s.alreadyPublished(c, d.ID, err); ok {
		return page
	}
	errs, err := formErrors(err, templates.IncidentLabels, "")
	if err != nil {
		return err
	}
	return s.draftPage(c, http.StatusUnprocessableEntity, d, v, errs, "")
}

// consoleDiscardDraft discards a false alarm.
func (s *Server) consoleDiscardDraft(c echo.Context) error {
	if err := s.store.DiscardDraft(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return done(c, "/console", "draft-discarded")
}

// alreadyPublished answers a conflict over a draft another commander (or
// the escalation policy) has just published: 409, in words, with the way
// to the incident. Nothing was done twice.
func (s *Server) alreadyPublished(c echo.Context, id string, err error) (error, bool) {
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) {
		return nil, false
	}
	return s.render(c, http.StatusConflict, templates.ConsoleNotice(s.consoleView(c, "dashboard"), "Already published", conflict.Message,
		"/console/incidents/"+id, "See the incident")), true
}

// consoleHoldDraft stops the escalation policy from publishing a draft's
// holding statement: a commander is on it.
func (s *Server) consoleHoldDraft(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.store.HoldDraft(c.Request().Context(), id, c.FormValue("reason")); err != nil {
		if page, ok := s.alreadyPublished(c, id, err); ok {
			return page
		}
		return err
	}
	return done(c, "/console/drafts/"+id, "draft-held")
}

// consoleReleaseDraft lifts a hold.
func (s *Server) consoleReleaseDraft(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.store.ReleaseDraft(c.Request().Context(), id); err != nil {
		if page, ok := s.alreadyPublished(c, id, err); ok {
			return page
		}
		return err
	}
	return done(c, "/console/drafts/"+id, "draft-released")
}
