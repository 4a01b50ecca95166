package notify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// webhookBodies are a job's webhook bodies, built once per job: the same
// bytes go to every endpoint of a format, each signed with its own secret.
type webhookBodies struct {
	statuspage []byte
	slack      []byte
}

// The Statuspage webhook shape, so that anything built for Statuspage's
// webhooks reads Herald's. Maintenance travels as an incident with impact
// "maintenance", as in Statuspage.
type (
	spBody struct {
		Meta            spMeta             `json:"meta"`
		Page            spPage             `json:"page"`
		Incident        *spIncident        `json:"incident,omitempty"`
		ComponentUpdate *spComponentUpdate `json:"component_update,omitempty"`
		Component       *spComponent       `json:"component,omitempty"`
	}
	spMeta struct {
		Event         string    `json:"event"` // Herald's kind, e.g. incident.resolved
		Documentation string    `json:"documentation"`
		GeneratedAt   time.Time `json:"generated_at"`
	}
	spPage struct {
		ID                string `json:"id"`
		Name              string `json:"name"`
		URL               string `json:"url"`
		StatusIndicator   string `json:"status_indicator"`
		StatusDescription string `json:"status_description"`
	}
	spIncident struct {
		ID                    string             `json:"id"`
		Name                  string             `json:"name"`
		Status                string             `json:"status"`
		Impact                string             `json:"impact"`
		Shortlink             string             `json:"shortlink"`
		CreatedAt             time.Time          `json:"created_at"`
		UpdatedAt             time.Time          `json:"updated_at"`
		MonitoringAt          *time.Time         `json:"monitoring_at"`
		ResolvedAt            *time.Time         `json:"resolved_at"`
		ScheduledFor          *time.Time         `json:"scheduled_for"`
		ScheduledUntil        *time.Time         `json:"scheduled_until"`
		PostmortemBody        string             `json:"postmortem_body,omitempty"`
		PostmortemPublishedAt *time.Time         `json:"postmortem_published_at"`
		Components            []spComponent      `json:"components"`
		IncidentUpdates       []spIncidentUpdate `json:"incident_updates"`
	}
	spIncidentUpdate struct {
		ID                 string                `json:"id"`
		IncidentID         string                `json:"incident_id"`
		Status             string                `json:"status"`
		Body               string                `json:"body"`
		CreatedAt          time.Time             `json:"created_at"`
		UpdatedAt          time.Time             `json:"updated_at"`
		DisplayAt          time.Time             `json:"display_at"`
		AffectedComponents []spAffectedComponent `json:"affected_components"`
	}
	spAffectedComponent struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		OldStatus string `json:"old_status"`
		NewStatus string `json:"new_status"`
	}
	spComponent struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		Status    string    `json:"status"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	spComponentUpdate struct {
		ID          string    `json:"id"`
		ComponentID string    `json:"component_id"`
		OldStatus   string    `json:"old_status"`
		NewStatus   string    `json:"new_status"`
		CreatedAt   time.Time `json:"created_at"`
	}
)

func (d *Dispatcher) pageID() string {
	if u, err := url.Parse(d.cfg.BaseURL); err == nil && u.Host != "" {
		return u.Host
	}
	return d.cfg.PageName
}

func spComponents(cs []store.Component) []spComponent {
	out := make([]spComponent, 0, len(cs))
	for _, c := range cs {
		out = append(out, spComponent{ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	return out
}

// webhookBodies renders a job in both formats.
func (d *Dispatcher) webhookBodies(job store.Job) (*webhookBodies, error) {
	p := job.Payload
	page := p.PageStatus()
	body := spBody{
		Meta: spMeta{Event: job.Kind, Documentation: "https://github.com/herald-status/herald#webhooks", GeneratedAt: job.CreatedAt.UTC()},
		Page: spPage{ID: d.pageID(), Name: d.cfg.PageName, URL: d.cfg.BaseURL, StatusIndicator: string(page.Indicator), StatusDescription: page.Description()},
	}
	var title, status, text, link string
	switch {
	case p.Incident != nil:
		inc := p.Incident
		link = d.cfg.BaseURL + "/incidents/" + inc.ID
		sp := &spIncident{ID: inc.ID, Name: inc.Name, Status: string(inc.Status), Impact: string(inc.Impact), Shortlink: link,
			CreatedAt: inc.CreatedAt, UpdatedAt: inc.UpdatedAt, MonitoringAt: inc.MonitoringAt, ResolvedAt: inc.ResolvedAt,
			Components: spComponents(p.Components), IncidentUpdates: []spIncidentUpdate{}}
		if inc.Postmortem != nil {
			sp.PostmortemBody, sp.PostmortemPublishedAt = inc.Postmortem.Body, &inc.Postmortem.PublishedAt
		}
		for _, u := range inc.Updates {
			su := spIncidentUpdate{ID: u.ID, IncidentID: inc.ID, Status: string(u.Status), Body: u.Body, CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt, DisplayAt: u.CreatedAt,
				AffectedComponents: []spAffectedComponent{}}
			for _, a := range u.AffectedComponents {
				su.AffectedComponents = append(su.AffectedComponents, spAffectedComponent{Code: a.ComponentID, Name: a.Name, OldStatus: string(a.OldStatus), NewStatus: string(a.NewStatus)})
			}
			sp.IncidentUpdates = append(sp.IncidentUpdates, su)
		}
		body.Incident = sp
		title, status = inc.Name, inc.Status.Label()
		if len(inc.Updates) > 0 {
			text = inc.Updates[0].Body
		}
		if job.Kind == store.JobPostmortemPublished && inc.Postmortem != nil {
			status, text = "Postmortem published", inc.Postmortem.Body
		}
	case p.Maintenance != nil:
		m := p.Maintenance
		link = d.cfg.BaseURL + "/maintenance/" + m.ID
		sp := &spIncident{ID: m.ID, Name: m.Name, Status: string(m.Status), Impact: "maintenance", Shortlink: link,
			CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, ResolvedAt: m.CompletedAt, ScheduledFor: &m.ScheduledFor, ScheduledUntil: &m.ScheduledUntil,
			Components: spComponents(p.Components), IncidentUpdates: []spIncidentUpdate{}}
		for _, u := range m.Updates {
			sp.IncidentUpdates = append(sp.IncidentUpdates, spIncidentUpdate{ID: u.ID, IncidentID: m.ID, Status: string(u.Status), Body: u.Body,
				CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt, DisplayAt: u.CreatedAt, AffectedComponents: []spAffectedComponent{}})
		}
		body.Incident = sp
		title, status = "Maintenance: "+m.Name, m.Status.Label()
		if len(m.Updates) > 0 {
			text = m.Updates[0].Body
		}
	case p.Component != nil:
		c := p.Component
		body.Component = &spComponent{ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
		body.ComponentUpdate = &spComponentUpdate{ID: fmt.Sprintf("cu_%d", job.ID), ComponentID: c.ID, OldStatus: string(p.OldStatus), NewStatus: string(c.Status), CreatedAt: job.CreatedAt.UTC()}
		title, status, link = c.Name, c.Status.Label(), d.cfg.BaseURL+"/"
		text = fmt.Sprintf("%s is now %s (was %s).", c.Name, c.Status.Label(), p.OldStatus.Label())
	default:
		return nil, fmt.Errorf("job %d: %s has nothing to tell by webhook", job.ID, job.Kind)
	}
	sp, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("job %d: statuspage body: %w", job.ID, err)
	}
	slack, err := json.Marshal(slackBody(d.cfg.PageName, title, status, text, link))
	if err != nil {
		return nil, fmt.Errorf("job %d: slack body: %w", job.ID, err)
	}
	return &webhookBodies{statuspage: sp, slack: slack}, nil
}

// slackBody is the incoming-webhook message Slack, Mattermost and Discord's
// /slack endpoint accept: "text" for notifications and clients without
// blocks, "blocks" for the formatted message.
func slackBody(page, title, status, text, link string) map[string]any {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;") // Slack's mrkdwn escaping
	head := fmt.Sprintf("*[%s] %s* — %s", esc.Replace(page), esc.Replace(title), esc.Replace(status))
	if len(text) > 2500 { // a section's text is limited to 3000 characters
		text = text[:2500] + "…"
	}
	full := head
	if t := strings.TrimSpace(text); t != "" {
		full += "\n" + esc.Replace(t)
	}
	return map[string]any{
		"text": full + "\n<" + link + "|View on the status page>",
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": full}},
			map[string]any{"type": "context", "elements": []any{
				map[string]any{"type": "mrkdwn", "text": "<" + link + "|View on the status page>"},
			}},
		},
	}
}
