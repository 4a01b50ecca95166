package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
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

// spTime is a time as Statuspage writes it: RFC 3339 with milliseconds.
// Herald sends UTC.
type spTime time.Time

func (t spTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

func spTimePtr(t *time.Time) *spTime {
	if t == nil {
		return nil
	}
	v := spTime(*t)
	return &v
}

type spPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt spTime `json:"updated_at"`
}

type spStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type spComponent struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          spTime    `json:"created_at"`
	UpdatedAt          spTime    `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	Components         *[]string `json:"components,omitempty"` // groups only: their components' ids
}

type spAffected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type spUpdate struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Body       string `json:"body"`
	IncidentID string `json:"incident_id"`
	CreatedAt  spTime `json:"created_at"`
	UpdatedAt  spTime `json:"updated_at"`
	DisplayAt  spTime `json:"display_at"`
	// Statuspage sends null, not [], for an update that changed no component.
	AffectedComponents *[]spAffected `json:"affected_components"`
}

type spIncident struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       spTime        `json:"created_at"`
	UpdatedAt       spTime        `json:"updated_at"`
	MonitoringAt    *spTime       `json:"monitoring_at"`
	ResolvedAt      *spTime       `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       spTime        `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []spUpdate    `json:"incident_updates"`
	Components      []spComponent `json:"components"`
}

type spMaintenance struct {
	spIncident
	ScheduledFor   spTime `json:"scheduled_for"`
	ScheduledUntil spTime `json:"scheduled_until"`
}

// statuspageData is what the hot documents are made from: one snapshot's view.
type statuspageData struct {
	components []store.Component // page order
	groups     []store.ComponentGroup
	active     []store.Incident    // unresolved
	open       []store.Maintenance // scheduled or under way, in progress first
	updatedAt  time.Time           // when anything public last changed
}

// statuspageEncoder turns Herald's model into Statuspage's. It is read-only
// once built, so the documents rendered on demand share it.
type statuspageEncoder struct {
	page       spPage
	components map[string]spComponent
	list       []spComponent // every component and group, in page order
}

// pageID is a stable id for this status page, derived from its URL (Herald
// serves one page; Statuspage clients expect an id on every object).
func pageID(baseURL string) string {
	sum := sha256.Sum256([]byte(baseURL))
	return hex.EncodeToString(sum[:6])
}

func (s *Server) newStatuspageEncoder(d statuspageData) *statuspageEncoder {
	enc := &statuspageEncoder{
		page:       spPage{ID: pageID(s.cfg.BaseURL), Name: s.cfg.PageName, URL: s.cfg.BaseURL, TimeZone: "Etc/UTC", UpdatedAt: spTime(d.updatedAt)},
		components: map[string]spComponent{},
	}
	enc.list = enc.componentList(d.components, d.groups)
	return enc
}

// hotDocuments encodes the documents that follow the present (what is
// wrong now and what is planned), which tools poll: they are built with
// every snapshot. The full lists (incidents.json,
// scheduled-maintenances.json) are rendered on first request instead, so
// that a long history does not slow every rebuild.
func (enc *statuspageEncoder) hotDocuments(d statuspageData) (map[string]*page, error) {
	status := statuspageStatus(d.components, d.active)
	active := enc.incidents(d.active)
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
	docs := map[string]any{
		v2Summary: struct {
			Page                  spPage          `json:"page"`
			Components            []spComponent   `json:"components"`
			Incidents             []spIncident    `json:"incidents"`
			ScheduledMaintenances []spMaintenance `json:"scheduled_maintenances"`
			Status                spStatus        `json:"status"`
		}{enc.page, enc.list, active, enc.maintenances(d.open), status},
		v2Status:     obj{"page": enc.page, "status": status},
		v2Components: obj{"page": enc.page, "components": enc.list},
		v2Unresolved: obj{"page": enc.page, "incidents": active},
		v2Upcoming:   obj{"page": enc.page, "scheduled_maintenances": enc.maintenances(upcoming)},
		v2Active:     obj{"page": enc.page, "scheduled_maintenances": enc.maintenances(inProgress)},
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
	return jsonPage(map[string]any{"page": enc.page, "incidents": enc.incidents(latest)})
}

// maintenancesDocument is /api/v2/scheduled-maintenances.json.
func (enc *statuspageEncoder) maintenancesDocument(latest []store.Maintenance) (*page, error) {
	return jsonPage(map[string]any{"page": enc.page, "scheduled_maintenances": enc.maintenances(latest)})
}

func jsonPage(doc any) (*page, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return newPageBytes(body, "application/json; charset=utf-8")
}

// componentList lists groups and components the way Statuspage does: every
// component, each group as a component with "group": true and its members'
// ids, positions counting through the page from 1.
func (e *statuspageEncoder) componentList(components []store.Component, groups []store.ComponentGroup) []spComponent {
	out := make([]spComponent, 0, len(components)+len(groups))
	members := map[string][]store.Component{}
	for _, c := range components {
		members[c.GroupID] = append(members[c.GroupID], c)
	}
	add := func(c spComponent) {
		c.Position = len(out) + 1
		out = append(out, c)
		if !c.Group {
			e.components[c.ID] = c
		}
	}
	for _, c := range members[""] {
		add(e.component(c))
	}
	for _, g := range groups {
		ids := []string{}
		worst := store.Operational
		for _, c := range members[g.ID] {
			ids = append(ids, c.ID)
			if c.Status.Severity() > worst.Severity() {
				worst = c.Status
			}
		}
		add(spComponent{
			ID: g.ID, Name: g.Name, Status: string(worst), CreatedAt: spTime(g.CreatedAt), UpdatedAt: spTime(g.UpdatedAt),
			Description: nullable(g.Description), PageID: e.page.ID, Group: true, Components: &ids,
		})
		for _, c := range members[g.ID] {
			add(e.component(c))
		}
	}
	return out
}

func (e *statuspageEncoder) component(c store.Component) spComponent {
	start := c.CreatedAt.UTC().Format(time.DateOnly)
	return spComponent{
		ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: spTime(c.CreatedAt), UpdatedAt: spTime(c.UpdatedAt),
		Description: nullable(c.Description),
		// Herald shows every component with its uptime bar from the day
		// it was added.
		Showcase: true, StartDate: &start,
		GroupID: nullable(c.GroupID), PageID: e.page.ID,
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (e *statuspageEncoder) incidents(list []store.Incident) []spIncident {
	out := make([]spIncident, 0, len(list))
	for _, inc := range list {
		si := spIncident{
			ID: inc.ID, Name: inc.Name, Status: string(inc.Status), Impact: string(inc.Impact),
			CreatedAt: spTime(inc.CreatedAt), UpdatedAt: spTime(inc.UpdatedAt), StartedAt: spTime(inc.CreatedAt),
			MonitoringAt: spTimePtr(inc.MonitoringAt), ResolvedAt: spTimePtr(inc.ResolvedAt),
			Shortlink: e.page.URL + "/incidents/" + inc.ID, PageID: e.page.ID,
			IncidentUpdates: make([]spUpdate, 0, len(inc.Updates)),
			Components:      e.componentsOf(inc.Components),
		}
		for _, u := range inc.Updates {
			su := spUpdate{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: inc.ID,
				CreatedAt: spTime(u.CreatedAt), UpdatedAt: spTime(u.CreatedAt), DisplayAt: spTime(u.CreatedAt)}
			if len(u.AffectedComponents) > 0 {
				affected := make([]spAffected, len(u.AffectedComponents))
				for i, a := range u.AffectedComponents {
					affected[i] = spAffected{Code: a.ComponentID, Name: a.Name, OldStatus: string(a.OldStatus), NewStatus: string(a.NewStatus)}
				}
				su.AffectedComponents = &affected
			}
			si.IncidentUpdates = append(si.IncidentUpdates, su)
		}
		out = append(out, si)
	}
	return out
}

func (e *statuspageEncoder) maintenances(list []store.Maintenance) []spMaintenance {
	out := make([]spMaintenance, 0, len(list))
	for _, m := range list {
		started := m.ScheduledFor
		if m.StartedAt != nil {
			started = *m.StartedAt
		}
		sm := spMaintenance{
			spIncident: spIncident{
				ID: m.ID, Name: m.Name, Status: string(m.Status), Impact: "maintenance",
				CreatedAt: spTime(m.CreatedAt), UpdatedAt: spTime(m.UpdatedAt), StartedAt: spTime(started),
				ResolvedAt: spTimePtr(m.CompletedAt),
				Shortlink:  e.page.URL + "/maintenance/" + m.ID, PageID: e.page.ID,
				IncidentUpdates: make([]spUpdate, 0, len(m.Updates)),
				Components:      e.componentsOf(m.Components),
			},
			ScheduledFor: spTime(m.ScheduledFor), ScheduledUntil: spTime(m.ScheduledUntil),
		}
		for _, u := range m.Updates {
			sm.IncidentUpdates = append(sm.IncidentUpdates, spUpdate{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: m.ID,
				CreatedAt: spTime(u.CreatedAt), UpdatedAt: spTime(u.CreatedAt), DisplayAt: spTime(u.CreatedAt)})
		}
		out = append(out, sm)
	}
	return out
}

// componentsOf is the components an incident lists, as they are now;
// components deleted since are left out.
func (e *statuspageEncoder) componentsOf(ids []string) []spComponent {
	out := make([]spComponent, 0, len(ids))
	for _, id := range ids {
		if c, ok := e.components[id]; ok {
			out = append(out, c)
		}
	}
	return out
}

// statuspageStatus is the page's status roll-up. Statuspage's indicator is
// the worse of the open incidents' impacts and the components' statuses.
// The description is the banner the status page shows when the components
// decide it, so the API and the page say the same thing, and Statuspage's
// wording for an impact when an incident's impact is what raised it.
func statuspageStatus(components []store.Component, active []store.Incident) spStatus {
	overall := overallStatus(components)
	fromComponents := map[store.ComponentStatus]store.Impact{
		store.DegradedPerformance: store.ImpactMinor,
		store.PartialOutage:       store.ImpactMajor,
		store.MajorOutage:         store.ImpactCritical,
	}[overall]
	if fromComponents == "" {
		fromComponents = store.ImpactNone
	}
	indicator := fromComponents
	for _, inc := range active {
		if impactRank(inc.Impact) > impactRank(indicator) {
			indicator = inc.Impact
		}
	}
	if indicator == fromComponents {
		return spStatus{Indicator: string(indicator), Description: templates.BannerText(overall)}
	}
	return spStatus{Indicator: string(indicator), Description: map[store.Impact]string{
		store.ImpactMinor:    "Minor Service Outage",
		store.ImpactMajor:    "Partial System Outage",
		store.ImpactCritical: "Major Service Outage",
	}[indicator]}
}

func impactRank(i store.Impact) int {
	for n, v := range store.Impacts {
		if v == i {
			return n
		}
	}
	return -1
}

// handleStatuspage serves one of the v2 documents from the snapshot. Any
// site may read them (Access-Control-Allow-Origin: *): that is what they are
// for, and they carry nothing that is not on the public page.
func (s *Server) handleStatuspage(c echo.Context) error {
	p, err := s.snap.Load().eco.document(c.Request().Context(), c.Path())
	if err != nil {
		return err
	}
	if p == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	crossOrigin(c)
	return servePage(c, p)
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
