package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Notification job kinds: what happened, as subscribers and webhook
// filters name it.
const (
	JobIncidentCreated      = "incident.created"
	JobIncidentUpdated      = "incident.updated"
	JobIncidentResolved     = "incident.resolved"
	JobPostmortemPublished  = "incident.postmortem"
	JobMaintenanceScheduled = "maintenance.scheduled"
	JobMaintenanceStarted   = "maintenance.started"
	JobMaintenanceCompleted = "maintenance.completed"
	// JobMaintenanceReminder says a window starts soon. Webhooks get it
	// only when their filter names it (WebhookWants).
	JobMaintenanceReminder = "maintenance.reminder"
	JobComponentUpdated    = "component.updated"
	// Messages to one subscriber about their subscription.
	JobSubscriberConfirm  = "subscriber.confirm"
	JobSubscriberReminder = "subscriber.reminder"
)

// JobKinds are the kinds of change a webhook can filter on. (They are not
// change-feed event types: the feed says which public object changed and
// carries it; a job says what subscribers are told, such as "resolved".)
var JobKinds = []string{
	JobIncidentCreated, JobIncidentUpdated, JobIncidentResolved, JobPostmortemPublished,
	JobMaintenanceScheduled, JobMaintenanceStarted, JobMaintenanceCompleted, JobMaintenanceReminder, JobComponentUpdated,
}

// Delivery channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
	ChannelSMS     = "sms" // text messages to SMS subscribers (sms_subscriber.go)
)

// Job is one notification: one change, to be told to every recipient who
// wants to hear about it.
type Job struct {
	ID         int64
	Kind       string
	ObjectType string
	ObjectID   string
	Components []string
	// Pages is the incident's narrowing to chosen pages (none: not narrowed).
	Pages        []string
	Payload      JobPayload
	SubscriberID string // set when the job is for one subscriber only
	CreatedAt    time.Time
}

// JobPayload is what a job tells, captured in the transaction that made the
// change: a retry five hours later still tells what was true then.
type JobPayload struct {
	Incident    *Incident       `json:"incident,omitempty"`
	Maintenance *Maintenance    `json:"maintenance,omitempty"`
	Component   *Component      `json:"component,omitempty"`
	OldStatus   ComponentStatus `json:"old_status,omitempty"` // component.updated
	// Components are the components the change touches, with their names
	// and statuses after it.
	Components []Component `json:"components,omitempty"`
	// Page is the page's overall status after the change.
	Page PageStatus `json:"page"`
	// PageWorst is what jobs queued before the page roll-up was recorded
	// carry instead of Page: the worst component status. Read only.
	PageWorst ComponentStatus `json:"page_status,omitempty"`
	// Team is what a team job says besides the incident (team.* kinds).
	Team *TeamNotice `json:"team,omitempty"`
	// Account is what an account notice says (account.* kinds).
	Account *AccountNotice `json:"account,omitempty"`
	// Viewer is a viewer's sign-in link email (JobViewerLink).
	Viewer *ViewerNotice `json:"viewer,omitempty"`
	// Correction is the update an incident.updated job corrects, when the
	// commander asked to tell subscribers of the correction.
	Correction *IncidentUpdate `json:"correction,omitempty"`
	// SMSCode is the confirmation code a JobSMSCode carries, until it is
	// sent (recordSMSResult clears it).
	SMSCode string `json:"sms_code,omitempty"`
}

// PageStatus is the page's overall status after the change, for jobs of
// every age.
func (p JobPayload) PageStatus() PageStatus {
	if p.Page.Worst == "" && p.PageWorst != "" {
		return PageStatus{Worst: p.PageWorst, Indicator: p.PageWorst.Impact()}
	}
	if p.Page.Worst == "" {
		return PageStatus{Worst: Operational, Indicator: ImpactNone}
	}
	return p.Page
}

// pendingJob is a job collected by a transaction, written at its commit.
type pendingJob struct {
	Job
	email, webhook, sms bool
	// withPage fills the payload's components and page status at commit,
	// from the state everything else in the transaction left.
	withPage bool
}

// notifyIncident queues the job that tells subscribers and webhooks of an
// incident change: about the components it affects and those its latest
// update changed.
func (t *tx) notifyIncident(kind string, inc Incident) {
	ids := slices.Clone(inc.Components)
	if len(inc.Updates) > 0 {
		for _, a := range inc.Updates[0].AffectedComponents {
			ids = append(ids, a.ComponentID)
		}
	}
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: kind, ObjectType: "incident", ObjectID: inc.ID, Components: sortedCopy(ids), Pages: inc.Pages,
		Payload: JobPayload{Incident: &inc}}, email: true, webhook: true, sms: true, withPage: true})
}

// notifyCorrection tells the incident's subscribers that update u was
// corrected: the message they were sent was wrong.
func (t *tx) notifyCorrection(inc Incident, u IncidentUpdate) {
	t.notifyIncident(JobIncidentUpdated, inc)
	t.jobs[len(t.jobs)-1].Payload.Correction = &u
}

// notifyMaintenance queues the job for a maintenance change.
func (t *tx) notifyMaintenance(kind string, m Maintenance) {
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: kind, ObjectType: "maintenance", ObjectID: m.ID, Components: sortedCopy(m.Components), Pages: m.Pages,
		Payload: JobPayload{Maintenance: &m}}, email: true, webhook: true, sms: true, withPage: true})
}

// notifyComponent tells webhooks that a component's status changed from
// old. Email subscribers hear about the incident or maintenance instead.
func (t *tx) notifyComponent(id string, old ComponentStatus) {
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: JobComponentUpdated, ObjectType: "component", ObjectID: id, Components: []string{id},
		Payload: JobPayload{OldStatus: old}}, webhook: true, withPage: true})
}

// mailOne queues a message to one subscriber about their subscription.
func (t *tx) mailOne(kind, subscriberID string) {
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: kind, ObjectType: "subscriber", ObjectID: subscriberID, SubscriberID: subscriberID}, email: true})
}

// writeJobs writes the transaction's jobs, each costing the same whatever
// the number of subscribers (who are only looked at when the dispatcher
// expands it). The page's components and roll-up are read once, after
// every other change the transaction made.
func (t *tx) writeJobs() error {
	var page []Component
	var status PageStatus
	loaded := false
	for _, j := range t.jobs {
		if j.withPage && !loaded {
			var err error
			if page, status, err = t.pageNow(); err != nil {
				return fmt.Errorf("enqueue %s: %w", j.Kind, err)
			}
			loaded = true
		}
		if j.withPage {
			j.Payload.Page = status
			for _, c := range page {
				if slices.Contains(j.Components, c.ID) {
					j.Payload.Components = append(j.Payload.Components, c)
				}
			}
			if j.Kind == JobComponentUpdated {
				if len(j.Payload.Components) != 1 {
					return fmt.Errorf("enqueue %s: component %s vanished", j.Kind, j.ObjectID)
				}
				j.Payload.Component = &j.Payload.Components[0]
				j.Payload.Components = nil
			}
		}
		if err := t.insertJob(j); err != nil {
			return err
		}
	}
	return nil
}

// pageNow is every component and the page's roll-up, as this transaction
// sees them: O(components + open incidents), never O(subscribers).
func (t *tx) pageNow() ([]Component, PageStatus, error) {
	comps, err := listComponents(t.ctx, t.sqlTx)
	if err != nil {
		return nil, PageStatus{}, err
	}
	rows, err := t.QueryContext(t.ctx, `SELECT status, impact FROM incidents WHERE status <> 'resolved'`)
	if err != nil {
		return nil, PageStatus{}, fmt.Errorf("open incidents: %w", err)
	}
	defer rows.Close()
	var open []Incident
	for rows.Next() {
		var inc Incident
		if err := rows.Scan(&inc.Status, &inc.Impact); err != nil {
			return nil, PageStatus{}, fmt.Errorf("open incidents: %w", err)
		}
		open = append(open, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, PageStatus{}, fmt.Errorf("open incidents: %w", err)
	}
	return comps, RollUp(comps, open), nil
}

func (t *tx) insertJob(j pendingJob) error {
	if j.Components == nil {
		j.Components = []string{}
	}
	if j.Pages == nil {
		j.Pages = []string{}
	}
	comps, err := json.Marshal(j.Components)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	pages, err := json.Marshal(j.Pages)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	payload, err := json.Marshal(j.Payload)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	var sub any
	if j.SubscriberID != "" {
		sub = j.SubscriberID
	}
	if _, err := t.exec(`INSERT INTO outbox_jobs (kind, object_type, object_id, components, pages, payload, subscriber_id, email, webhook, sms, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, j.Kind, j.ObjectType, j.ObjectID, string(comps), string(pages), string(payload), sub, j.email, j.webhook, j.sms, t.now); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	return nil
}

// claimIDs picks the ids of up to limit rows of table that match where, in
// order, for this transaction to claim (the caller then updates them). It
// is the one way jobs and deliveries are claimed: a backend with
// concurrent writers adds FOR UPDATE SKIP LOCKED (dialect.claimSuffix), so
// two dispatchers never pick the same row.
func (t *tx) claimIDs(table, where, order string, limit int, args ...any) ([]int64, error) {
	var ids []int64
	err := t.claim(table, "id", where, order, limit, args, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// claim is claimIDs reading the columns cols of each row picked, with scan.
func (t *tx) claim(table, cols, where, order string, limit int, args []any, scan func(*sql.Rows) error) error {
	rows, err := t.QueryContext(t.ctx, `SELECT `+cols+` FROM `+table+` WHERE `+where+` ORDER BY `+order+` LIMIT ?`+t.store.dialect.claimSuffix(), append(args, limit)...)
	if err != nil {
		return fmt.Errorf("claim from %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("claim from %s: %w", table, err)
		}
	}
	return rows.Err()
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// ErrLeaseLost means another dispatcher took over a job or delivery whose
// lease had run out.
var ErrLeaseLost = errors.New("store: lease lost")

// ClaimJob leases the oldest job not yet expanded into deliveries. ok is
// false when there is none.
func (s *Store) ClaimJob(ctx context.Context, owner string, lease time.Duration) (job Job, ok bool, err error) {
	err = s.inBackgroundTx(ctx, func(t *tx) error {
		ids, err := t.claimIDs("outbox_jobs", `expanded_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)`, "id", 1, t.now)
		if err != nil || len(ids) == 0 {
			return err
		}
		var comps, payload string
		var sub sql.NullString
		if err := t.QueryRowContext(t.ctx, `UPDATE outbox_jobs SET lease_owner = ?, lease_until = ? WHERE id = ?
			RETURNING id, kind, object_type, object_id, components, payload, subscriber_id, created_at`,
			owner, t.now.Add(lease), ids[0]).Scan(&job.ID, &job.Kind, &job.ObjectType, &job.ObjectID, &comps, &payload, &sub, &job.CreatedAt); err != nil {
			return err
		}
		job.SubscriberID = sub.String
		ok = true
		return decodeJob(&job, comps, payload)
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("store: claim job: %w", err)
	}
	return job, ok, nil
}

// ReleaseJob hands back a job lease before it runs out, so that a
// dispatcher stopping mid-expansion lets the next one carry on at once.
func (s *Store) ReleaseJob(ctx context.Context, jobID int64, owner string) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE outbox_jobs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`, jobID, owner); err != nil {
		return fmt.Errorf("store: release job %d: %w", jobID, err)
	}
	return nil
}

func decodeJob(j *Job, comps, payload string) error {
	if err := json.Unmarshal([]byte(comps), &j.Components); err != nil {
		return fmt.Errorf("components: %w", err)
	}
	if err := json.Unmarshal([]byte(payload), &j.Payload); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	return nil
}

// GetJob returns a job by id.
func (s *Store) GetJob(ctx context.Context, id int64) (Job, error) {
	j := Job{ID: id}
	var comps, payload string
	var sub sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT kind, object_type, object_id, components, payload, subscriber_id, created_at FROM outbox_jobs WHERE id = ?`, id).
		Scan(&j.Kind, &j.ObjectType, &j.ObjectID, &comps, &payload, &sub, &j.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, &NotFoundError{Kind: "job", ID: strconv.FormatInt(id, 10)}
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: get job %d: %w", id, err)
	}
	j.SubscriberID = sub.String
	if err := decodeJob(&j, comps, payload); err != nil {
		return Job{}, fmt.Errorf("store: get job %d: %w", id, err)
	}
	return j, nil
}

// ExpandJob makes the deliveries for up to batch more recipients of a job
// the caller has leased, and renews the lease. Each call is one transaction
// that writes the deliveries and advances the job's cursor together, and a
// delivery is unique per job and recipient: a crash between calls loses
// nothing and repeats nothing. done is true once every recipient has one.
func (s *Store) ExpandJob(ctx context.Context, jobID int64, owner string, batch int, lease time.Duration, channels []string) (made int, done bool, err error) {
	err = s.inBackgroundTx(ctx, func(t *tx) error {
		var kind, comps, pages, object string
		var sub sql.NullString
		var email, webhook, sms bool
		var emailCursor, webhookCursor, smsCursor int64
		var leaseOwner sql.NullString
		err := t.QueryRowContext(t.ctx, `SELECT kind, object_id, components, pages, subscriber_id, email, webhook, sms, email_cursor, webhook_cursor, sms_cursor, lease_owner
			FROM outbox_jobs WHERE id = ? AND expanded_at IS NULL`, jobID).
			Scan(&kind, &object, &comps, &pages, &sub, &email, &webhook, &sms, &emailCursor, &webhookCursor, &smsCursor, &leaseOwner)
		if errors.Is(err, sql.ErrNoRows) {
			done = true // expanded meanwhile
			return nil
		}
		if err != nil {
			return err
		}
		if leaseOwner.String != owner {
			return ErrLeaseLost
		}
		email = email && slices.Contains(channels, ChannelEmail)
		webhook = webhook && slices.Contains(channels, ChannelWebhook)
		sms = sms && slices.Contains(channels, ChannelSMS)
		switch {
		case kind == JobSMSCode:
			if sms {
				if made, err = t.queueDelivery(jobID, ChannelSMS, object); err != nil {
					return err
				}
				t.countDeliveries(ChannelSMS, "", "pending", made)
			}
			done = true
		case kind == JobChatConfirm:
			if webhook {
				if made, err = t.queueDelivery(jobID, ChannelWebhook, object); err != nil {
					return err
				}
				t.countDeliveries(ChannelWebhook, "", "pending", made)
			}
			done = true
		case sub.Valid:
			if email {
				if made, err = t.queueDelivery(jobID, ChannelEmail, sub.String); err != nil {
					return err
				}
				t.countDeliveries(ChannelEmail, "", "pending", made)
			}
			done = true
		case IsAccountKind(kind) || kind == JobViewerLink:
			// One email, to the user or the link the job is about.
			if email {
				n, err := t.expandAccountEmail(jobID, object)
				if err != nil {
					return fmt.Errorf("account recipient: %w", err)
				}
				made = n
				t.countDeliveries(ChannelEmail, "", "pending", n)
			}
			done = true
		case email && emailCursor >= 0 && IsTeamKind(kind):
			n, err := t.expandTeamEmail(jobID, kind)
			if err != nil {
				return fmt.Errorf("team recipients: %w", err)
			}
			made = n
			t.countDeliveries(ChannelEmail, "", "pending", n)
			if _, err := t.exec(`UPDATE outbox_jobs SET email_cursor = -1 WHERE id = ?`, jobID); err != nil {
				return err
			}
		case email && emailCursor >= 0:
			n, next, err := t.expandEmail(jobID, kind, comps, pages, emailCursor, batch)
			if err != nil {
				return fmt.Errorf("email recipients: %w", err)
			}
			made = n
			t.countDeliveries(ChannelEmail, "", "pending", n)
			if _, err := t.exec(`UPDATE outbox_jobs SET email_cursor = ? WHERE id = ?`, next, jobID); err != nil {
				return err
			}
		case webhook && webhookCursor >= 0:
			n, next, err := t.expandWebhooks(jobID, kind, comps, pages, webhookCursor, batch)
			if err != nil {
				return fmt.Errorf("webhook recipients: %w", err)
			}
			made = n
			t.countDeliveries(ChannelWebhook, "", "pending", n)
			if _, err := t.exec(`UPDATE outbox_jobs SET webhook_cursor = ? WHERE id = ?`, next, jobID); err != nil {
				return err
			}
		case sms && smsCursor >= 0:
			n, next, err := t.expandSMS(jobID, kind, comps, pages, smsCursor, batch)
			if err != nil {
				return fmt.Errorf("sms recipients: %w", err)
			}
			made = n
			t.countDeliveries(ChannelSMS, "", "pending", n)
			if _, err := t.exec(`UPDATE outbox_jobs SET sms_cursor = ? WHERE id = ?`, next, jobID); err != nil {
				return err
			}
		default:
			done = true
		}
		if done {
			_, err = t.exec(`UPDATE outbox_jobs SET expanded_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`, t.now, jobID)
		} else {
			_, err = t.exec(`UPDATE outbox_jobs SET lease_until = ? WHERE id = ?`, t.now.Add(lease), jobID)
		}
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: expand job %d: %w", jobID, err)
	}
	return made, done, nil
}

// queueDelivery queues a job's delivery to one recipient, unless it has
// one, and says whether it did (the caller counts it).
func (t *tx) queueDelivery(jobID int64, channel, recipient string) (int, error) {
	res, err := t.exec(`INSERT INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at)
		VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`, jobID, channel, recipient, t.now, t.now)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// expandTeamEmail makes the deliveries of a team job: one to each active
// commander and admin who chose to hear of it. A team is a few people, so
// it is done in one step.
func (t *tx) expandTeamEmail(jobID int64, kind string) (int, error) {
	wants := "notify_drafts"
	if kind == JobTeamIncidentOverdue {
		wants = "notify_overdue"
	}
	res, err := t.exec(`INSERT INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at)
		SELECT ?, 'email', u.id, 'pending', ?, ? FROM users u
		WHERE u.disabled_at IS NULL AND u.role IN ('commander', 'admin') AND u.`+wants+`
		ORDER BY u.id ON CONFLICT DO NOTHING`, jobID, t.now, t.now)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// expandWebhooks makes deliveries for the active webhooks among the next
// batch whose audience and filters match the job: team jobs go to team
// webhooks only, every other job to subscriber webhooks only.
func (t *tx) expandWebhooks(jobID int64, kind, comps, narrowed string, cursor int64, batch int) (int, int64, error) {
	var jobComps, jobPages []string
	if err := errors.Join(json.Unmarshal([]byte(comps), &jobComps), json.Unmarshal([]byte(narrowed), &jobPages)); err != nil {
		return 0, 0, err
	}
	audience := AudienceSubscribers
	if IsTeamKind(kind) {
		audience = AudienceTeam
	}
	rows, err := t.QueryContext(t.ctx, `SELECT seq, id, events, components, status, audience, page_id, origin FROM webhooks WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, batch)
	if err != nil {
		return 0, 0, err
	}
	type candidate struct {
		id                 string
		events, components []string
		status             WebhookStatus
		audience, page     string
		origin             string
	}
	var list []candidate
	next := int64(-1)
	for rows.Next() {
		var c candidate
		var ev, co string
		if err := rows.Scan(&next, &c.id, &ev, &co, &c.status, &c.audience, &c.page, &c.origin); err != nil {
			rows.Close()
			return 0, 0, err
		}
		if err := errors.Join(json.Unmarshal([]byte(ev), &c.events), json.Unmarshal([]byte(co), &c.components)); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("webhook %s filters: %w", c.id, err)
		}
		list = append(list, c)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return 0, 0, err
	}
	made := 0
	// The pages that show the job (pagesShowing, the email subscribers'
	// rule), read once: a subscribers' endpoint hears what its page shows
	// — a visitor's chat subscription its page's, an operator's endpoint
	// (page '') the default page's. The team's hear of everything.
	var pages []string
	pagesRead := false
	for _, c := range list {
		// A paused or disabled endpoint gets nothing queued: its log shows
		// what was sent to it, not what it missed.
		if c.status != WebhookActive || c.audience != audience || !WebhookWants(c.events, c.components, kind, jobComps) {
			continue
		}
		if audience == AudienceSubscribers {
			if !pagesRead {
				if pages, err = t.pagesShowing(jobComps, jobPages); err != nil {
					return 0, 0, fmt.Errorf("pages showing the job: %w", err)
				}
				pagesRead = true
			}
			if !slices.Contains(pages, c.page) {
				continue
			}
		}
		n, err := t.queueDelivery(jobID, ChannelWebhook, c.id)
		if err != nil {
			return 0, 0, err
		}
		made += n
	}
	return made, next, nil
}

// WebhookWants reports whether an endpoint with these filters receives a job
// of kind touching jobComps. Empty filters match everything but reminders
// (an endpoint registered for every event before reminders existed is not
// sent a new kind of event unasked); an event filter may name a kind
// ("incident.resolved") or a family ("incident.*"). A component filter
// matches jobs touching one of its components.
func WebhookWants(events, components []string, kind string, jobComps []string) bool {
	if len(events) == 0 && kind == JobMaintenanceReminder {
		return false
	}
	if len(events) > 0 && !slices.ContainsFunc(events, func(e string) bool {
		return e == kind || (strings.HasSuffix(e, ".*") && strings.HasPrefix(kind, strings.TrimSuffix(e, "*")))
	}) {
		return false
	}
	if len(components) > 0 && !slices.ContainsFunc(components, func(c string) bool { return slices.Contains(jobComps, c) }) {
		return false
	}
	return true
}

// PendingJobs counts jobs not yet expanded.
func (s *Store) PendingJobs(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox_jobs WHERE expanded_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending jobs: %w", err)
	}
	return n, nil
}
