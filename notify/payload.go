package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/statuspage"
)

// webhookBodies are a job's webhook bodies, built once per job: the same
// bytes go to every endpoint of a format, each signed with its own secret.
type webhookBodies struct {
	statuspage []byte
	slack      []byte
}

// The Statuspage webhook shape, so that anything built for Statuspage's
// webhooks reads Herald's: the incident (a maintenance travels as an
// incident with impact "maintenance", as in Statuspage), component and
// page objects of store/statuspage, the mapping the v2 API uses too.
type (
	spBody struct {
		Meta            spMeta                `json:"meta"`
		Page            spPage                `json:"page"`
		Incident        *statuspage.Incident  `json:"incident,omitempty"`
		ComponentUpdate *spComponentUpdate    `json:"component_update,omitempty"`
		Component       *statuspage.Component `json:"component,omitempty"`
		// Correction is the update whose message was corrected, when the
		// commander chose to tell subscribers of it.
		Correction *statuspage.Update `json:"correction,omitempty"`
	}
	spMeta struct {
		Event         string          `json:"event"` // Herald's kind, e.g. incident.resolved
		Documentation string          `json:"documentation"`
		GeneratedAt   statuspage.Time `json:"generated_at"`
	}
	spPage struct {
		ID                string `json:"id"`
		Name              string `json:"name"`
		URL               string `json:"url"`
		StatusIndicator   string `json:"status_indicator"`
		StatusDescription string `json:"status_description"`
	}
	spComponentUpdate struct {
		ID          string          `json:"id"`
		ComponentID string          `json:"component_id"`
		OldStatus   string          `json:"old_status"`
		NewStatus   string          `json:"new_status"`
		CreatedAt   statuspage.Time `json:"created_at"`
	}
)

// webhookBodies renders a job in both formats.
func (d *Dispatcher) webhookBodies(job store.Job) (*webhookBodies, error) {
	p := job.Payload
	page := p.PageStatus()
	touched := p.Components
	if p.Component != nil {
		touched = []store.Component{*p.Component}
	}
	enc := statuspage.NewEncoder(d.cfg.PageName, d.cfg.BaseURL, job.CreatedAt, nil, touched)
	body := spBody{
		Meta: spMeta{Event: job.Kind, Documentation: "https://github.com/herald-status/herald#webhooks", GeneratedAt: statuspage.Time(job.CreatedAt)},
		Page: spPage{ID: enc.Page.ID, Name: d.cfg.PageName, URL: d.cfg.BaseURL, StatusIndicator: string(page.Indicator), StatusDescription: page.Description()},
	}
	var title, status, text, link string
	switch {
	case store.IsTeamKind(job.Kind):
		return d.teamWebhookBodies(job, enc, body)
	case p.Incident != nil:
		inc := p.Incident
		sp := enc.Incident(*inc)
		if inc.Postmortem != nil {
			sp.PostmortemBody, sp.PostmortemPublishedAt = inc.Postmortem.Body, ptr(statuspage.Time(inc.Postmortem.PublishedAt))
		}
		body.Incident, link = &sp, sp.Shortlink
		title, status = inc.Name, inc.Status.Label()
		if len(inc.Updates) > 0 {
			text = inc.Updates[0].Body
		}
		if job.Kind == store.JobPostmortemPublished && inc.Postmortem != nil {
			status, text = "Postmortem published", inc.Postmortem.Body
		}
		if c := p.Correction; c != nil {
			cu := enc.IncidentUpdate(*c)
			body.Correction, status, text = &cu, "Correction", c.Body
		}
	case p.Maintenance != nil:
		m := p.Maintenance
		sp := enc.Maintenance(*m)
		body.Incident, link = &sp, sp.Shortlink
		title, status = "Maintenance: "+m.Name, m.Status.Label()
		if len(m.Updates) > 0 {
			text = m.Updates[0].Body
		}
	case p.Component != nil:
		c := p.Component
		sc := enc.Component(*c)
		body.Component = &sc
		body.ComponentUpdate = &spComponentUpdate{ID: fmt.Sprintf("cu_%d", job.ID), ComponentID: c.ID, OldStatus: string(p.OldStatus), NewStatus: string(c.Status), CreatedAt: statuspage.Time(job.CreatedAt)}
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

func ptr[T any](v T) *T { return &v }

// slackBody is the incoming-webhook message Slack, Mattermost and Discord's
// /slack endpoint accept: "text" for notifications and clients without
// blocks, "blocks" for the formatted message.
func slackBody(page, title, status, text, link string) map[string]any {
	return slackMessage(page, title, status, text, link, "View on the status page")
}

// slackMessage is slackBody with its own link text; an empty status is
// left out of the headline.
func slackMessage(page, title, status, text, link, linkText string) map[string]any {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;") // Slack's mrkdwn escaping
	head := fmt.Sprintf("*[%s] %s*", esc.Replace(page), esc.Replace(title))
	if status != "" {
		head += " — " + esc.Replace(status)
	}
	if len(text) > 2500 { // a section's text is limited to 3000 characters
		text = text[:2500] + "…"
	}
	full := head
	if t := strings.TrimSpace(text); t != "" {
		full += "\n" + esc.Replace(t)
	}
	return map[string]any{
		"text": full + "\n<" + link + "|" + linkText + ">",
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": full}},
			map[string]any{"type": "context", "elements": []any{
				map[string]any{"type": "mrkdwn", "text": "<" + link + "|" + linkText + ">"},
			}},
		},
	}
}

// teamWebhookBodies renders a team job: the Statuspage shape with the
// incident (or the draft, "draft": true) and a "team" object saying why,
// and a Slack message that links to the console rather than the page.
func (d *Dispatcher) teamWebhookBodies(job store.Job, enc *statuspage.Encoder, body spBody) (*webhookBodies, error) {
	m, err := d.teamWords(job)
	if err != nil {
		return nil, err
	}
	sp := enc.Incident(*job.Payload.Incident)
	if job.Payload.Incident.Draft {
		sp.Shortlink = m.link // a draft has no public page yet
	}
	team := struct {
		spBody
		Draft bool   `json:"draft"`
		Team  spTeam `json:"team"`
	}{spBody: body, Draft: job.Payload.Incident.Draft, Team: spTeam{Headline: m.headline, Message: m.intro, ConsoleURL: m.link, Since: statuspage.Time(job.Payload.Team.Since)}}
	team.Incident = &sp
	raw, err := json.Marshal(team)
	if err != nil {
		return nil, fmt.Errorf("job %d: statuspage body: %w", job.ID, err)
	}
	text := m.intro
	if b := strings.TrimSpace(m.body); b != "" {
		text += "\n\n" + b
	}
	slack, err := json.Marshal(slackMessage(d.cfg.PageName+" team", m.headline, "", text, m.link, "Open it in the console"))
	if err != nil {
		return nil, fmt.Errorf("job %d: slack body: %w", job.ID, err)
	}
	return &webhookBodies{statuspage: raw, slack: slack}, nil
}

// spTeam is why a team webhook was sent.
type spTeam struct {
	Headline   string          `json:"headline"`
	Message    string          `json:"message"`
	ConsoleURL string          `json:"console_url"`
	Since      statuspage.Time `json:"since"`
}
