package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// spareActionRows are the empty checklist rows the editor offers; without
// a script, saving gives as many fresh ones again.
const spareActionRows = 3

func (s *Server) postmortemPage(c echo.Context, status int, inc store.Incident, d store.PostmortemDraft, errs templates.FormErrors) error {
	for range spareActionRows {
		d.Actions = append(d.Actions, store.CorrectiveAction{})
	}
	return s.render(c, status, templates.PostmortemEditor(templates.PostmortemForm{
		Console: s.consoleView(c, "incidents"), Incident: inc, Draft: d, Errors: errs,
	}))
}

func (s *Server) consolePostmortem(c echo.Context) error {
	ctx := c.Request().Context()
	inc, err := s.store.GetIncident(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.store.GetPostmortemDraft(ctx, inc.ID)
	if err != nil {
		return err
	}
	if d.Body == "" && d.PublishedAt == nil {
		// A first draft starts from the communication timeline, which
		// the commander edits: what a postmortem has to say about how the
		// public was told.
		clock, err := s.store.Clock(ctx, inc.ID)
		if err != nil {
			return err
		}
		d.Body = templates.CommunicationTimeline(clock)
	}
	return s.postmortemPage(c, http.StatusOK, inc, d, nil)
}

func (s *Server) consoleSavePostmortem(c echo.Context) error {
	ctx := c.Request().Context()
	inc, err := s.store.GetIncident(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	params, err := c.FormParams()
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"}
	}
	in := store.PostmortemInput{
		Body: params.Get("body"), RootCause: params.Get("root_cause"), Resolution: params.Get("resolution"),
		Publish: params.Get("action") == "publish", Actions: readActions(params), SkipNotify: params.Get("notify") != "on",
	}
	d, err := s.store.SavePostmortem(ctx, inc.ID, in)
	if err != nil {
		errs, ferr := formErrors(err, templates.PostmortemLabels, "")
		if ferr != nil {
			return ferr
		}
		// Show what was typed, in the rows it was typed in.
		prev, gerr := s.store.GetPostmortemDraft(ctx, inc.ID)
		if gerr != nil {
			return gerr
		}
		prev.Body, prev.RootCause, prev.Resolution, prev.Actions = in.Body, in.RootCause, in.Resolution, in.Actions
		return s.postmortemPage(c, http.StatusUnprocessableEntity, inc, prev, errs)
	}
	if d.PublishedAt != nil {
		return done(c, "/console/incidents/"+inc.ID+"/postmortem", "postmortem-published")
	}
	return done(c, "/console/incidents/"+inc.ID+"/postmortem", "postmortem-saved")
}

// readActions collects actions.N.* fields in the order of N.
func readActions(params map[string][]string) []store.CorrectiveAction {
	rows := map[int]*store.CorrectiveAction{}
	for key, vals := range params {
		rest, ok := strings.CutPrefix(key, "actions.")
		if !ok || len(vals) == 0 {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n > 1000 {
			continue
		}
		a := rows[n]
		if a == nil {
			a = &store.CorrectiveAction{}
			rows[n] = a
		}
		switch field {
		case "description":
			a.Description = vals[0]
		case "owner":
			a.Owner = vals[0]
		case "due_date":
			a.DueDate = vals[0]
		case "done":
			a.Done = vals[0] == "on"
		}
	}
	keys := make([]int, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]store.CorrectiveAction, 0, len(keys))
	for _, k := range keys {
		out = append(out, *rows[k])
	}
	return out
}
