package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/statuspage"
	"github.com/herald-status/herald/templates"
)

// webhookBodies are a job's webhook bodies, built once per job: the same
// bytes go to every endpoint of a format, each signed with its own secret.
type webhookBodies struct {
	statuspage []byte
	chat       map[string][]byte // by format: slack, teams, …
}

// of is the body for a webhook of the format.
func (b *webhookBodies) of(format string) []byte {
	if body, ok := b.chat[format]; ok {
		return body
	}
	return b.statuspage
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

// asPageShows is job as a page with scope sc shows it: naming only the
// components the page shows (store.Scope.Incident). The team's jobs go
// whole.
func asPageShows(job store.Job, sc *store.Scope) store.Job {
	if sc == nil || store.IsTeamKind(job.Kind) {
		return job
	}
	p := job.Payload
	p.Components = slices.DeleteFunc(slices.Clone(p.Components), func(c store.Component) bool { return !sc.ShowsComponent(c.ID) })
	if p.Incident != nil {
		inc := sc.Incident(*p.Incident)
		p.Incident = &inc
	}
	if p.Maintenance != nil {
		m := sc.Maintenance(*p.Maintenance)
		p.Maintenance = &m
	}
	job.Payload = p
	return job
}

// webhookBodies renders a job in both formats.
//
// An operator's endpoint for subscribers is told what the default page
// shows; the team's, everything.
func (d *Dispatcher) webhookBodies(ctx context.Context, job store.Job) (*webhookBodies, error) {
	sc, err := d.st.PageScope(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", job.ID, err)
	}
	return d.encodeWebhookBodies(asPageShows(job, sc))
}

// encodeWebhookBodies renders job, as it is, in both formats.
func (d *Dispatcher) encodeWebhookBodies(job store.Job) (*webhookBodies, error) {
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
	switch {
	case store.IsTeamKind(job.Kind):
		return d.teamWebhookBodies(job, enc, body)
	case p.Incident != nil:
		inc := p.Incident
		sp := enc.Incident(*inc)
		if inc.Postmortem != nil {
			sp.PostmortemBody, sp.PostmortemPublishedAt = inc.Postmortem.Body, ptr(statuspage.Time(inc.Postmortem.PublishedAt))
		}
		body.Incident = &sp
		if c := p.Correction; c != nil {
			cu := enc.IncidentUpdate(*c)
			body.Correction = &cu
		}
	case p.Maintenance != nil:
		m := p.Maintenance
		sp := enc.Maintenance(*m)
		body.Incident = &sp
	case p.Component != nil:
		c := p.Component
		sc := enc.Component(*c)
		body.Component = &sc
		body.ComponentUpdate = &spComponentUpdate{ID: fmt.Sprintf("cu_%d", job.ID), ComponentID: c.ID, OldStatus: string(p.OldStatus), NewStatus: string(c.Status), CreatedAt: statuspage.Time(job.CreatedAt)}
	default:
		return nil, fmt.Errorf("job %d: %s has nothing to tell by webhook", job.ID, job.Kind)
	}
	sp, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("job %d: statuspage body: %w", job.ID, err)
	}
	msg, err := d.chatMessageOf(job, templates.Site{Name: d.cfg.PageName, BaseURL: d.cfg.BaseURL})
	if err != nil {
		return nil, err
	}
	chat, err := chatFormats(msg)
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", job.ID, err)
	}
	return &webhookBodies{statuspage: sp, chat: chat}, nil
}

func ptr[T any](v T) *T { return &v }

// teamWebhookBodies renders a team job: the Statuspage shape with the
// incident (or the draft, "draft": true) and a "team" object saying why,
// and chat messages that link to the console rather than the page.
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
	chat, err := chatFormats(teamChatMessage(d.cfg.PageName, job.Payload.Incident, m, job.CreatedAt))
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", job.ID, err)
	}
	return &webhookBodies{statuspage: raw, chat: chat}, nil
}

// spTeam is why a team webhook was sent.
type spTeam struct {
	Headline   string          `json:"headline"`
	Message    string          `json:"message"`
	ConsoleURL string          `json:"console_url"`
	Since      statuspage.Time `json:"since"`
}
