package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/statuspage"
	"github.com/herald-status/herald/templates"
)

// The Statuspage-compatible public API: the documents Atlassian Statuspage
// serves under /api/v2, with its field names, types and nulls, so that a
// client written for Statuspage reads Herald unchanged. They are encoded
// (and gzipped) once per snapshot rebuild and served like the pages.

// statuspagePaths are the documents, by route.
const (
	v2Summary     = "/api/v2/summary.json"
	v2Status      = "/api/v2/status.json"
	v2Components  = "/api/v2/components.json"
	v2Incidents   = "/api/v2/incidents.json"
	v2Unresolved  = "/api/v2/incidents/unresolved.json"
	v2Maintenance = "/api/v2/scheduled-maintenances.json"
	v2Upcoming    = "/api/v2/scheduled-maintenances/upcoming.json"
	v2Active      = "/api/v2/scheduled-maintenances/active.json"
)

// v2Limit is how many incidents and maintenances the full lists carry, as
// Statuspage's do.
const v2Limit = 50

// statuspageData is what the hot documents are made from: one snapshot's view.
type statuspageData struct {
	components []store.Component // page order
	groups     []store.ComponentGroup
	active     []store.Incident    // unresolved
	open       []store.Maintenance // scheduled or under way, in progress first
	updatedAt  time.Time           // when anything public last changed
}

// statuspageEncoder builds the v2 documents from one snapshot's view with
// the one Statuspage mapping (store/statuspage). It is read-only once
// built, so the documents rendered on demand share it.
type statuspageEncoder struct{ *statuspage.Encoder }

func newStatuspageEncoder(site templates.Site, d statuspageData) *statuspageEncoder {
	return &statuspageEncoder{statuspage.NewEncoder(site.Name, site.BaseURL, d.updatedAt, d.groups, d.components)}
}

// hotDocuments encodes the documents that follow the present (what is
// wrong now and what is planned), which tools poll: they are built with
// every snapshot. The full lists (incidents.json,
// scheduled-maintenances.json) are rendered on first request instead, so
// that a long history does not slow every rebuild.
func (enc *statuspageEncoder) hotDocuments(d statuspageData) (map[string]*page, error) {
	status := statuspage.StatusOf(store.RollUp(d.components, d.active))
	active := enc.Incidents(d.active)
	var upcoming, inProgress []store.Maintenance
	for _, m := range d.open {
		switch {
		case m.Status == store.MaintenanceScheduled:
			upcoming = append(upcoming, m)
		case m.Status.Active():
			inProgress = append(inProgress, m)
		}
	}
	type obj = map[string]any
	pg, list := enc.Page, enc.Components()
	docs := map[string]any{
		v2Summary: struct {
			Page                  statuspage.Page        `json:"page"`
			Components            []statuspage.Component `json:"components"`
			Incidents             []statuspage.Incident  `json:"incidents"`
			ScheduledMaintenances []statuspage.Incident  `json:"scheduled_maintenances"`
			Status                statuspage.Status      `json:"status"`
		}{pg, list, active, enc.Maintenances(d.open), status},
		v2Status:     obj{"page": pg, "status": status},
		v2Components: obj{"page": pg, "components": list},
		v2Unresolved: obj{"page": pg, "incidents": active},
		v2Upcoming:   obj{"page": pg, "scheduled_maintenances": enc.Maintenances(upcoming)},
		v2Active:     obj{"page": pg, "scheduled_maintenances": enc.Maintenances(inProgress)},
	}
	out := make(map[string]*page, len(docs))
	for path, doc := range docs {
		p, err := jsonPage(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[path] = p
	}
	return out, nil
}

// incidentsDocument is /api/v2/incidents.json: the latest incidents.
func (enc *statuspageEncoder) incidentsDocument(latest []store.Incident) (*page, error) {
	return jsonPage(map[string]any{"page": enc.Page, "incidents": enc.Incidents(latest)})
}

// maintenancesDocument is /api/v2/scheduled-maintenances.json.
func (enc *statuspageEncoder) maintenancesDocument(latest []store.Maintenance) (*page, error) {
	return jsonPage(map[string]any{"page": enc.Page, "scheduled_maintenances": enc.Maintenances(latest)})
}

func jsonPage(doc any) (*page, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return newPageBytes(body, "application/json; charset=utf-8")
}

// handleStatuspage serves one of the v2 documents from the snapshot. Any
// site may read them (Access-Control-Allow-Origin: *): that is what they are
// for, and they carry nothing that is not on the public page.
func (s *Server) handleStatuspage(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	p, err := snap.eco.document(c.Request().Context(), pageRoute(c))
	if err != nil {
		return err
	}
	if p == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	crossOrigin(c)
	return s.servePage(c, p)
}

// crossOrigin lets other sites read a response: the v2 API from their
// scripts, badges and embed.js from their pages (even under
// Cross-Origin-Embedder-Policy).
func crossOrigin(c echo.Context) {
	h := c.Response().Header()
	h["Access-Control-Allow-Origin"] = anyOrigin
	h["Cross-Origin-Resource-Policy"] = crossOriginPolicy
}

var (
	anyOrigin         = []string{"*"}
	crossOriginPolicy = []string{"cross-origin"}
)

// handlePreflight answers CORS preflight requests for the public API: a
// script that sends If-None-Match (to get a 304) asks first.
func (s *Server) handlePreflight(c echo.Context) error {
	crossOrigin(c)
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since, Cache-Control")
	h.Set("Access-Control-Max-Age", "86400")
	return c.NoContent(http.StatusNoContent)
}
