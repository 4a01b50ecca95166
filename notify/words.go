package notify

import (
	"context"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// jobIntro is the sentence that says what changed, the same by email and
// in every chat, in ctx's language (chats are English: i18n.Default).
func jobIntro(ctx context.Context, job store.Job) string {
	if id := jobIntroID(job); id != "" {
		return i18n.T(ctx, id)
	}
	return ""
}

// jobIntroID is jobIntro's message id in the catalogue, "" for none.
func jobIntroID(job store.Job) string {
	p := job.Payload
	switch {
	case p.Incident != nil && p.Correction != nil:
		return "email.intro_correction"
	case p.Incident != nil:
		switch job.Kind {
		case store.JobIncidentCreated:
			return "email.intro_incident_created"
		case store.JobIncidentResolved:
			return "email.intro_incident_resolved"
		case store.JobPostmortemPublished:
			return "email.intro_postmortem"
		}
		return "email.intro_incident_update"
	case p.Maintenance != nil:
		switch job.Kind {
		case store.JobMaintenanceScheduled:
			return "email.intro_maintenance_scheduled"
		case store.JobMaintenanceStarted:
			return "email.intro_maintenance_started"
		case store.JobMaintenanceCompleted:
			return "email.intro_maintenance_completed"
		case store.JobMaintenanceReminder:
			return "email.intro_maintenance_reminder"
		}
		return "email.intro_maintenance_update"
	}
	return ""
}
