// Package statuspage is the Statuspage wire format Herald speaks: the
// documents of its public /api/v2 and the body of its webhooks, with
// Atlassian Statuspage's field names, types and nulls, so that a client or
// a receiver written for Statuspage reads Herald unchanged. It is one
// mapping from Herald's model, shared by both: they cannot describe the
// same incident differently.
package statuspage

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/herald-status/herald/store"
)

// Time is a time as Statuspage writes it: RFC 3339 with milliseconds.
// Herald sends UTC.
type Time time.Time

func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

func timePtr(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	v := Time(*t)
	return &v
}

// Page is the page every document and webhook names.
type Page struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt Time   `json:"updated_at"`
}

// PageID is a stable id for the status page at baseURL (Statuspage clients
// expect an id on every object).
func PageID(baseURL string) string {
	sum := sha256.Sum256([]byte(baseURL))
	return hex.EncodeToString(sum[:6])
}

// Status is the page's roll-up.
type Status struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

// StatusOf is a roll-up as Statuspage words it.
func StatusOf(p store.PageStatus) Status {
	return Status{Indicator: string(p.Indicator), Description: p.Description()}
}

// Component is a component, or a group (Group true, with its members' ids).
type Component struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          Time      `json:"created_at"`
	UpdatedAt          Time      `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	Components         *[]string `json:"components,omitempty"` // groups only
}

// Affected is a component change an update made.
type Affected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

// Update is one message on an incident's or a maintenance's timeline.
type Update struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Body       string `json:"body"`
	IncidentID string `json:"incident_id"`
	CreatedAt  Time   `json:"created_at"`
	UpdatedAt  Time   `json:"updated_at"`
	DisplayAt  Time   `json:"display_at"`
	// Statuspage sends null, not [], for an update that changed no component.
	AffectedComponents *[]Affected `json:"affected_components"`
	// Whether subscribers were told of the update; Herald posts to no
	// Twitter, so the two tweet fields are null, as Statuspage sends them
	// for an update that was not tweeted.
	DeliverNotifications bool    `json:"deliver_notifications"`
	CustomTweet          *string `json:"custom_tweet"`
	TweetID              *string `json:"tweet_id"`
}

// Incident is an incident, or a maintenance with impact "maintenance" and
// its window.
type Incident struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Status          string      `json:"status"`
	CreatedAt       Time        `json:"created_at"`
	UpdatedAt       Time        `json:"updated_at"`
	MonitoringAt    *Time       `json:"monitoring_at"`
	ResolvedAt      *Time       `json:"resolved_at"`
	Impact          string      `json:"impact"`
	Shortlink       string      `json:"shortlink"`
	StartedAt       Time        `json:"started_at"`
	PageID          string      `json:"page_id"`
	IncidentUpdates []Update    `json:"incident_updates"`
	Components      []Component `json:"components"`
	// A maintenance's window.
	ScheduledFor   *Time `json:"scheduled_for,omitempty"`
	ScheduledUntil *Time `json:"scheduled_until,omitempty"`
	// The published postmortem, which webhooks carry (Statuspage's v2
	// documents leave it out).
	PostmortemBody        string `json:"postmortem_body,omitempty"`
	PostmortemPublishedAt *Time  `json:"postmortem_published_at,omitempty"`
}

// Encoder turns Herald's model into Statuspage's for one page. It is
// read-only once built.
type Encoder struct {
	Page       Page
	components map[string]Component
	list       []Component
}

// NewEncoder is the encoder for a page named name at baseURL whose
// components and groups are these; updatedAt is when anything public last
// changed.
func NewEncoder(name, baseURL string, updatedAt time.Time, groups []store.ComponentGroup, components []store.Component) *Encoder {
	e := &Encoder{Page: Page{ID: PageID(baseURL), Name: name, URL: baseURL, TimeZone: "Etc/UTC", UpdatedAt: Time(updatedAt)}, components: map[string]Component{}}
	e.list = e.componentList(groups, components)
	return e
}

// Components is every component and group in page order, as Statuspage
// lists them: each group as a component with "group": true, positions
// counting through the page from 1.
func (e *Encoder) Components() []Component { return e.list }

func (e *Encoder) componentList(groups []store.ComponentGroup, components []store.Component) []Component {
	out := make([]Component, 0, len(components)+len(groups))
	add := func(c Component) {
		c.Position = len(out) + 1
		out = append(out, c)
		if !c.Group {
			e.components[c.ID] = c
		}
	}
	for _, sec := range store.Sections(groups, components) {
		if g := sec.Group; g != nil {
			ids := make([]string, 0, len(sec.Components))
			for _, c := range sec.Components {
				ids = append(ids, c.ID)
			}
			add(Component{
				ID: g.ID, Name: g.Name, Status: string(sec.Status()), CreatedAt: Time(g.CreatedAt), UpdatedAt: Time(g.UpdatedAt),
				Description: nullable(g.Description), PageID: e.Page.ID, Group: true, Components: &ids,
			})
		}
		for _, c := range sec.Components {
			add(e.Component(c))
		}
	}
	return out
}

// Component is one component as Statuspage shows it.
func (e *Encoder) Component(c store.Component) Component {
	start := c.CreatedAt.UTC().Format(time.DateOnly)
	return Component{
		ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: Time(c.CreatedAt), UpdatedAt: Time(c.UpdatedAt),
		Description: nullable(c.Description),
		// Herald shows every component with its uptime bar from the day
		// it was added.
		Showcase: true, StartDate: &start,
		GroupID: nullable(c.GroupID), PageID: e.Page.ID,
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Incident is an incident as Statuspage shows it, listing its components
// as they are now (those deleted since left out).
func (e *Encoder) Incident(inc store.Incident) Incident {
	si := Incident{
		ID: inc.ID, Name: inc.Name, Status: string(inc.Status), Impact: string(inc.Impact),
		CreatedAt: Time(inc.CreatedAt), UpdatedAt: Time(inc.UpdatedAt), StartedAt: Time(inc.StartedAt),
		MonitoringAt: timePtr(inc.MonitoringAt), ResolvedAt: timePtr(inc.ResolvedAt),
		Shortlink: e.Page.URL + "/incidents/" + inc.ID, PageID: e.Page.ID,
		IncidentUpdates: make([]Update, 0, len(inc.Updates)),
		Components:      e.componentsOf(inc.Components),
	}
	for _, u := range inc.Updates {
		si.IncidentUpdates = append(si.IncidentUpdates, e.IncidentUpdate(u))
	}
	return si
}

// IncidentUpdate is one update as Statuspage shows it: updated_at is when
// its message was last corrected.
func (e *Encoder) IncidentUpdate(u store.IncidentUpdate) Update {
	updated := u.CreatedAt
	if u.EditedAt != nil {
		updated = *u.EditedAt
	}
	su := Update{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: u.IncidentID,
		CreatedAt: Time(u.CreatedAt), UpdatedAt: Time(updated), DisplayAt: Time(u.CreatedAt), DeliverNotifications: u.DeliverNotifications}
	if len(u.AffectedComponents) > 0 {
		affected := make([]Affected, len(u.AffectedComponents))
		for i, a := range u.AffectedComponents {
			affected[i] = Affected{Code: a.ComponentID, Name: a.Name, OldStatus: string(a.OldStatus), NewStatus: string(a.NewStatus)}
		}
		su.AffectedComponents = &affected
	}
	return su
}

// Incidents maps a list.
func (e *Encoder) Incidents(list []store.Incident) []Incident {
	out := make([]Incident, 0, len(list))
	for _, inc := range list {
		out = append(out, e.Incident(inc))
	}
	return out
}

// Maintenance is a maintenance as Statuspage shows it: an incident of
// impact "maintenance" with its window, resolved when completed.
func (e *Encoder) Maintenance(m store.Maintenance) Incident {
	started := m.ScheduledFor
	if m.StartedAt != nil {
		started = *m.StartedAt
	}
	from, until := Time(m.ScheduledFor), Time(m.ScheduledUntil)
	sm := Incident{
		ID: m.ID, Name: m.Name, Status: string(m.Status), Impact: "maintenance",
		CreatedAt: Time(m.CreatedAt), UpdatedAt: Time(m.UpdatedAt), StartedAt: Time(started),
		ResolvedAt: timePtr(m.CompletedAt),
		Shortlink:  e.Page.URL + "/maintenance/" + m.ID, PageID: e.Page.ID,
		IncidentUpdates: make([]Update, 0, len(m.Updates)),
		Components:      e.componentsOf(m.Components),
		ScheduledFor:    &from, ScheduledUntil: &until,
	}
	for _, u := range m.Updates {
		sm.IncidentUpdates = append(sm.IncidentUpdates, Update{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: m.ID,
			CreatedAt: Time(u.CreatedAt), UpdatedAt: Time(u.CreatedAt), DisplayAt: Time(u.CreatedAt), DeliverNotifications: true})
	}
	return sm
}

// Maintenances maps a list.
func (e *Encoder) Maintenances(list []store.Maintenance) []Incident {
	out := make([]Incident, 0, len(list))
	for _, m := range list {
		out = append(out, e.Maintenance(m))
	}
	return out
}

func (e *Encoder) componentsOf(ids []string) []Component {
	out := make([]Component, 0, len(ids))
	for _, id := range ids {
		if c, ok := e.components[id]; ok {
			out = append(out, c)
		}
	}
	return out
}
