package notify

import "github.com/herald-status/herald/store"

// jobIntro is the sentence that says what changed, the same by email and
// in every chat.
func jobIntro(job store.Job) string {
	p := job.Payload
	switch {
	case p.Incident != nil && p.Correction != nil:
		return "A correction to an earlier update on this incident."
	case p.Incident != nil:
		switch job.Kind {
		case store.JobIncidentCreated:
			return "We are reporting a new incident."
		case store.JobIncidentResolved:
			return "This incident has been resolved."
		case store.JobPostmortemPublished:
			return "The postmortem for this incident has been published."
		}
		return "There is an update on this incident."
	case p.Maintenance != nil:
		switch job.Kind {
		case store.JobMaintenanceScheduled:
			return "Maintenance has been scheduled."
		case store.JobMaintenanceStarted:
			return "The scheduled maintenance has started."
		case store.JobMaintenanceCompleted:
			return "The scheduled maintenance has been completed."
		case store.JobMaintenanceReminder:
			return "A reminder: this scheduled maintenance starts soon."
		}
		return "There is an update on this maintenance."
	}
	return ""
}
