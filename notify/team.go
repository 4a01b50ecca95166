package notify

import (
	"fmt"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// teamMessage is what a team job says, in the same words by email and by
// webhook: a headline, a sentence, the latest text behind it and the
// console page to act on.
type teamMessage struct {
	headline string // "Draft waiting 5 min: Checkout errors"
	intro    string
	body     string
	link     string // the console page
}

// teamWords words a team job. The wait is measured to when the job was
// queued, which is when the policy found it due.
func (d *Dispatcher) teamWords(job store.Job) (teamMessage, error) {
	inc, n := job.Payload.Incident, job.Payload.Team
	if inc == nil || n == nil {
		return teamMessage{}, fmt.Errorf("job %d: %s carries no incident", job.ID, job.Kind)
	}
	base := d.cfg.BaseURL
	m := teamMessage{link: base + "/console/incidents/" + inc.ID}
	if len(inc.Updates) > 0 {
		m.body = inc.Updates[0].Body
	}
	waited := templates.HumanDuration(job.CreatedAt.Sub(n.Since))
	switch job.Kind {
	case store.JobTeamDraftWaiting:
		m.link = base + "/console/drafts/" + inc.ID
		m.headline = "Draft waiting " + waited + ": " + inc.Name
		m.intro = fmt.Sprintf("%s opened this draft incident %s ago and nobody has published it: subscribers have not been told. Publish it, discard it, or hold it.",
			templates.SourceName(inc.Source), waited)
	case store.JobTeamHoldingPublished:
		m.headline = "Holding statement published: " + inc.Name
		m.intro = fmt.Sprintf("Nobody published this draft within %s, so Herald published the holding statement below and told subscribers. Post the next update within %s.",
			waited, templates.HumanDuration(store.HoldingPromise))
	case store.JobTeamIncidentOverdue:
		late := templates.HumanDuration(job.CreatedAt.Sub(n.Since))
		if n.Promised {
			m.headline = "Update overdue: " + inc.Name
			m.intro = "The next update was promised by " + n.Since.UTC().Format("15:04 UTC") + " and has not been posted (" + late + " late). Subscribers are waiting for it."
		} else {
			quiet := waited
			if n.LastUpdate != nil {
				quiet = templates.HumanDuration(job.CreatedAt.Sub(*n.LastUpdate))
			}
			m.headline = "No update for " + quiet + ": " + inc.Name
			m.intro = "This incident is open and has had no update for " + quiet + ". Post an update, even to say nothing has changed."
		}
	default:
		return teamMessage{}, fmt.Errorf("job %d: unknown team kind %s", job.ID, job.Kind)
	}
	return m, nil
}
