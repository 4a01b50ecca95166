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
	"sync"
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
	JobComponentUpdated     = "component.updated"
	// Messages to one subscriber about their subscription.
	JobSubscriberConfirm  = "subscriber.confirm"
	JobSubscriberReminder = "subscriber.reminder"
)

// EventKinds are the kinds a webhook can filter on.
var EventKinds = []string{
	JobIncidentCreated, JobIncidentUpdated, JobIncidentResolved, JobPostmortemPublished,
	JobMaintenanceScheduled, JobMaintenanceStarted, JobMaintenanceCompleted, JobComponentUpdated,
}

// Delivery channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Job is one notification: one change, to be told to every recipient who
// wants to hear about it.
type Job struct {
	ID           int64
	Kind         string
	ObjectType   string
	ObjectID     string
	Components   []string
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
	// PageStatus is the worst component status after the change: the
	// page's overall status.
	PageStatus ComponentStatus `json:"page_status,omitempty"`
}

// outboxState is the store's notification plumbing: who to wake when jobs
// are written, and the cached link-signing key.
type outboxState struct {
	mu        sync.Mutex
	listeners map[chan struct{}]struct{}
	key       []byte
}

func newOutboxState() *outboxState {
	return &outboxState{listeners: map[chan struct{}]struct{}{}}
}

// SubscribeOutbox returns a channel signalled (coalesced) whenever notification
// work is committed: a new job, or a delivery made due again by hand. The
// dispatcher also polls, so a lost signal only delays.
func (s *Store) SubscribeOutbox() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.outbox.mu.Lock()
	s.outbox.listeners[ch] = struct{}{}
	s.outbox.mu.Unlock()
	return ch, func() {
		s.outbox.mu.Lock()
		delete(s.outbox.listeners, ch)
		s.outbox.mu.Unlock()
	}
}

func (s *Store) wakeOutbox() {
	s.outbox.mu.Lock()
	defer s.outbox.mu.Unlock()
	for ch := range s.outbox.listeners {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// enqueue writes one job in the change's own transaction: the job commits
// with the change or not at all. It costs the same whatever the number of
// subscribers, who are only looked at when the dispatcher expands it.
func (t *tx) enqueue(j Job, email, webhook bool) error {
	if j.Components == nil {
		j.Components = []string{}
	}
	comps, err := json.Marshal(j.Components)
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
	if _, err := t.exec(`INSERT INTO outbox_jobs (kind, object_type, object_id, components, payload, subscriber_id, email, webhook, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, j.Kind, j.ObjectType, j.ObjectID, string(comps), string(payload), sub, email, webhook, t.now); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	t.enqueued = true
	return nil
}

// enqueueIncident writes the job for an incident change, unless skip.
func (t *tx) enqueueIncident(kind string, inc Incident, skip bool) error {
	if skip {
		return nil
	}
	ids := slices.Clone(inc.Components)
	if len(inc.Updates) > 0 {
		for _, a := range inc.Updates[0].AffectedComponents {
			ids = append(ids, a.ComponentID)
		}
	}
	ids = sortedCopy(ids)
	comps, page, err := t.touched(ids)
	if err != nil {
		return err
	}
	return t.enqueue(Job{Kind: kind, ObjectType: "incident", ObjectID: inc.ID, Components: ids,
		Payload: JobPayload{Incident: &inc, Components: comps, PageStatus: page}}, true, true)
}

// enqueueMaintenance writes the job for a maintenance change, unless skip.
func (t *tx) enqueueMaintenance(kind string, m Maintenance, skip bool) error {
	if skip {
		return nil
	}
	comps, page, err := t.touched(m.Components)
	if err != nil {
		return err
	}
	return t.enqueue(Job{Kind: kind, ObjectType: "maintenance", ObjectID: m.ID, Components: m.Components,
		Payload: JobPayload{Maintenance: &m, Components: comps, PageStatus: page}}, true, true)
}

// enqueueComponentChange tells webhooks that a component's status changed.
// Email subscribers hear about the incident or maintenance instead.
func (t *tx) enqueueComponentChange(id string, old ComponentStatus) error {
	comps, page, err := t.touched([]string{id})
	if err != nil {
		return err
	}
	if len(comps) != 1 {
		return fmt.Errorf("enqueue component change: component %s vanished", id)
	}
	return t.enqueue(Job{Kind: JobComponentUpdated, ObjectType: "component", ObjectID: id, Components: []string{id},
		Payload: JobPayload{Component: &comps[0], OldStatus: old, PageStatus: page}}, false, true)
}

// touched loads the named components and the page's overall status. Both
// are O(components), never O(subscribers).
func (t *tx) touched(ids []string) ([]Component, ComponentStatus, error) {
	all, err := listComponents(t.ctx, t.Tx)
	if err != nil {
		return nil, "", fmt.Errorf("load components: %w", err)
	}
	page := Operational
	var out []Component
	for _, c := range all {
		if c.Status.Severity() > page.Severity() {
			page = c.Status
		}
		if slices.Contains(ids, c.ID) {
			out = append(out, c)
		}
	}
	return out, page, nil
}

// ErrLeaseLost means another dispatcher took over a job or delivery whose
// lease had run out.
var ErrLeaseLost = errors.New("store: lease lost")

// ClaimJob leases the oldest job not yet expanded into deliveries. ok is
// false when there is none.
func (s *Store) ClaimJob(ctx context.Context, owner string, lease time.Duration) (job Job, ok bool, err error) {
	now := s.now()
	var comps, payload string
	var sub sql.NullString
	err = s.write.QueryRowContext(ctx, `UPDATE outbox_jobs SET lease_owner = ?, lease_until = ?
		WHERE id = (SELECT id FROM outbox_jobs WHERE expanded_at IS NULL AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id LIMIT 1)
		RETURNING id, kind, object_type, object_id, components, payload, subscriber_id, created_at`,
		owner, now.Add(lease), now).Scan(&job.ID, &job.Kind, &job.ObjectType, &job.ObjectID, &comps, &payload, &sub, &job.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("store: claim job: %w", err)
	}
	job.SubscriberID = sub.String
	if err := decodeJob(&job, comps, payload); err != nil {
		return Job{}, false, fmt.Errorf("store: claim job %d: %w", job.ID, err)
	}
	return job, true, nil
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
	err = s.inTx(ctx, func(t *tx) error {
		var kind, comps string
		var sub sql.NullString
		var email, webhook bool
		var emailCursor, webhookCursor int64
		var leaseOwner sql.NullString
		err := t.QueryRowContext(t.ctx, `SELECT kind, components, subscriber_id, email, webhook, email_cursor, webhook_cursor, lease_owner
			FROM outbox_jobs WHERE id = ? AND expanded_at IS NULL`, jobID).
			Scan(&kind, &comps, &sub, &email, &webhook, &emailCursor, &webhookCursor, &leaseOwner)
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
		switch {
		case sub.Valid:
			if email {
				res, err := t.exec(`INSERT OR IGNORE INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at)
					VALUES (?, 'email', ?, 'pending', ?, ?)`, jobID, sub.String, t.now, t.now)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				made = int(n)
			}
			done = true
		case email && emailCursor >= 0:
			n, next, err := t.expandEmail(jobID, comps, emailCursor, batch)
			if err != nil {
				return fmt.Errorf("email recipients: %w", err)
			}
			made = n
			if _, err := t.exec(`UPDATE outbox_jobs SET email_cursor = ? WHERE id = ?`, next, jobID); err != nil {
				return err
			}
		case webhook && webhookCursor >= 0:
			n, next, err := t.expandWebhooks(jobID, kind, comps, webhookCursor, batch)
			if err != nil {
				return fmt.Errorf("webhook recipients: %w", err)
			}
			made = n
			if _, err := t.exec(`UPDATE outbox_jobs SET webhook_cursor = ? WHERE id = ?`, next, jobID); err != nil {
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

// expandEmail makes deliveries for the confirmed subscribers among the next
// batch of subscriber rows after cursor. It returns the new cursor, -1 once
// every row has been seen. The cursor advances over the rows scanned, not
// the deliveries made, so a filter that matches no one still progresses.
func (t *tx) expandEmail(jobID int64, comps string, cursor int64, batch int) (int, int64, error) {
	var hi sql.NullInt64
	if err := t.QueryRowContext(t.ctx, `SELECT max(rowid) FROM (SELECT rowid FROM subscribers WHERE rowid > ? ORDER BY rowid LIMIT ?)`, cursor, batch).Scan(&hi); err != nil {
		return 0, 0, err
	}
	if !hi.Valid {
		return 0, -1, nil
	}
	res, err := t.exec(`INSERT OR IGNORE INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at)
		SELECT ?, 'email', s.id, 'pending', ?, ? FROM subscribers s
		WHERE s.rowid > ? AND s.rowid <= ? AND s.status = 'confirmed'
		  AND (s.all_components = 1 OR EXISTS (SELECT 1 FROM subscriber_components sc
		       WHERE sc.subscriber_id = s.id AND sc.component_id IN (SELECT value FROM json_each(?))))
		ORDER BY s.rowid`, jobID, t.now, t.now, cursor, hi.Int64, comps)
	if err != nil {
		return 0, 0, err
	}
	n, err := res.RowsAffected()
	return int(n), hi.Int64, err
}

// expandWebhooks makes deliveries for the active webhooks among the next
// batch whose filters match the job.
func (t *tx) expandWebhooks(jobID int64, kind, comps string, cursor int64, batch int) (int, int64, error) {
	var jobComps []string
	if err := json.Unmarshal([]byte(comps), &jobComps); err != nil {
		return 0, 0, err
	}
	rows, err := t.QueryContext(t.ctx, `SELECT rowid, id, events, components, status FROM webhooks WHERE rowid > ? ORDER BY rowid LIMIT ?`, cursor, batch)
	if err != nil {
		return 0, 0, err
	}
	type candidate struct {
		id                 string
		events, components []string
		status             WebhookStatus
	}
	var list []candidate
	next := int64(-1)
	for rows.Next() {
		var c candidate
		var ev, co string
		if err := rows.Scan(&next, &c.id, &ev, &co, &c.status); err != nil {
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
	for _, c := range list {
		// A paused or disabled endpoint gets nothing queued: its log shows
		// what was sent to it, not what it missed.
		if c.status != WebhookActive || !WebhookWants(c.events, c.components, kind, jobComps) {
			continue
		}
		res, err := t.exec(`INSERT OR IGNORE INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at)
			VALUES (?, 'webhook', ?, 'pending', ?, ?)`, jobID, c.id, t.now, t.now)
		if err != nil {
			return 0, 0, err
		}
		n, _ := res.RowsAffected()
		made += int(n)
	}
	return made, next, nil
}

// WebhookWants reports whether an endpoint with these filters receives a job
// of kind touching jobComps. Empty filters match everything; an event filter
// may name a kind ("incident.resolved") or a family ("incident.*"). A
// component filter matches jobs touching one of its components.
func WebhookWants(events, components []string, kind string, jobComps []string) bool {
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

// Delivery is one message to one recipient, claimed for sending.
type Delivery struct {
	ID          int64
	JobID       int64
	Channel     string
	RecipientID string
	Attempt     int // 1 on the first try
	// Email recipients.
	Email            string
	SubscriberStatus SubscriberStatus // "" when the subscriber is gone
	ManageToken      string           // for the unsubscribe and preferences links
	ConfirmToken     string
	// Webhook recipients; nil when the endpoint is gone.
	Webhook *WebhookTarget
}

// IdempotencyID is the delivery's stable id: the same on every attempt,
// after every crash and replay. It is the webhook-id and the heart of the
// email's Message-ID, so a receiver can drop a repeat.
func (d Delivery) IdempotencyID() string {
	return "msg_" + strconv.FormatInt(d.JobID, 10) + "_" + d.RecipientID
}

// ClaimDeliveries leases up to limit due deliveries on a channel. A claimed
// delivery's next_attempt_at becomes the end of the lease, so if this
// process dies the delivery is due again then, for anyone.
func (s *Store) ClaimDeliveries(ctx context.Context, channel, owner string, limit int, lease time.Duration) ([]Delivery, error) {
	var out []Delivery
	err := s.inTx(ctx, func(t *tx) error {
		rows, err := t.QueryContext(t.ctx, `UPDATE outbox_deliveries SET state = 'sending', lease_owner = ?, next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox_deliveries WHERE channel = ? AND state IN ('pending', 'sending') AND next_attempt_at <= ?
			             ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING id, job_id, recipient_id, attempts`, owner, t.now.Add(lease), channel, t.now, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			d := Delivery{Channel: channel}
			if err := rows.Scan(&d.ID, &d.JobID, &d.RecipientID, &d.Attempt); err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b Delivery) int { return int(a.ID - b.ID) })
		switch channel {
		case ChannelEmail:
			return t.loadSubscribers(out)
		case ChannelWebhook:
			return t.loadWebhookTargets(out)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim %s deliveries: %w", channel, err)
	}
	return out, nil
}

func (t *tx) loadSubscribers(ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	key, err := t.tokenKey()
	if err != nil {
		return err
	}
	ids := make([]any, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.RecipientID)
	}
	rows, err := t.QueryContext(t.ctx, `SELECT id, email, status, token_nonce FROM subscribers WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type sub struct {
		email, nonce string
		status       SubscriberStatus
	}
	subs := map[string]sub{}
	for rows.Next() {
		var id string
		var s sub
		if err := rows.Scan(&id, &s.email, &s.status, &s.nonce); err != nil {
			return err
		}
		subs[id] = s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ds {
		s, ok := subs[ds[i].RecipientID]
		if !ok {
			continue
		}
		ds[i].Email, ds[i].SubscriberStatus = s.email, s.status
		ds[i].ManageToken = signToken(key, purposeManage, ds[i].RecipientID, s.nonce)
		ds[i].ConfirmToken = signToken(key, purposeConfirm, ds[i].RecipientID, s.nonce)
	}
	return nil
}

// Outcome is what became of one delivery attempt.
type Outcome int

const (
	Sent     Outcome = iota // delivered
	Retry                   // failed for now; try again after RetryIn
	Failed                  // failed for good
	Skipped                 // not sent: the recipient no longer wants it or is gone
	Released                // not attempted (the dispatcher is stopping): due again at once
)

// DeliveryResult reports one attempt.
type DeliveryResult struct {
	Delivery Delivery
	Outcome  Outcome
	RetryIn  time.Duration
	Status   int // SMTP reply or HTTP status code; 0 when there was none
	Error    string
	Latency  time.Duration
	// Bounce counts a permanent email failure against the address.
	Bounce bool
	// Disable, when set, disables the webhook endpoint with this reason.
	Disable string
}

// BounceLimit is how many permanent failures in a row suspend an address.
const BounceLimit = 3

// WebhookFailureWindow is how long an endpoint may fail without a single
// success before it is disabled.
const WebhookFailureWindow = 24 * time.Hour

// RecordResults writes the outcomes of attempts in one transaction. A
// result for a delivery whose lease this owner no longer holds is dropped:
// someone else has it now.
func (s *Store) RecordResults(ctx context.Context, owner string, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(t *tx) error {
		var sentEmail []DeliveryResult
		for _, r := range results {
			if r.Outcome == Sent && r.Delivery.Channel == ChannelEmail {
				sentEmail = append(sentEmail, r)
				continue
			}
			if err := t.recordResult(owner, r); err != nil {
				return fmt.Errorf("delivery %d: %w", r.Delivery.ID, err)
			}
		}
		return t.recordSentEmail(owner, sentEmail)
	})
	if err != nil {
		return fmt.Errorf("store: record results: %w", err)
	}
	return nil
}

func (t *tx) recordResult(owner string, r DeliveryResult) error {
	d := r.Delivery
	errText := truncate(r.Error, 1000)
	var res sql.Result
	var err error
	const mine = ` WHERE id = ? AND state = 'sending' AND lease_owner = ?`
	switch r.Outcome {
	case Sent:
		res, err = t.exec(`UPDATE outbox_deliveries SET state = 'sent', sent_at = ?, lease_owner = NULL, last_status = ?, last_error = ''`+mine, t.now, r.Status, d.ID, owner)
	case Retry:
		res, err = t.exec(`UPDATE outbox_deliveries SET state = 'pending', next_attempt_at = ?, lease_owner = NULL, last_status = ?, last_error = ?`+mine,
			t.now.Add(r.RetryIn), r.Status, errText, d.ID, owner)
	case Failed, Skipped:
		state := "failed"
		if r.Outcome == Skipped {
			state = "skipped"
		}
		res, err = t.exec(`UPDATE outbox_deliveries SET state = ?, lease_owner = NULL, last_status = ?, last_error = ?`+mine, state, r.Status, errText, d.ID, owner)
	case Released:
		res, err = t.exec(`UPDATE outbox_deliveries SET state = 'pending', next_attempt_at = ?, lease_owner = NULL, attempts = attempts - 1`+mine, t.now, d.ID, owner)
	default:
		return fmt.Errorf("unknown outcome %d", r.Outcome)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // lease lost: the new owner records its own result
	}
	if r.Outcome == Released || r.Outcome == Skipped {
		return nil
	}
	switch d.Channel {
	case ChannelEmail:
		return t.recordEmailResult(r)
	case ChannelWebhook:
		return t.recordWebhookResult(r)
	}
	return nil
}

// recordSentEmail records successful emails a few hundred per statement:
// at 100,000 recipients this is most of the dispatcher's writing, and one
// statement per delivery would make SQLite, not SMTP, the bottleneck.
func (t *tx) recordSentEmail(owner string, results []DeliveryResult) error {
	const chunk = 500
	for len(results) > 0 {
		n := min(chunk, len(results))
		ids := make([]any, 0, n)
		subs := make([]any, 0, n)
		for _, r := range results[:n] {
			ids = append(ids, r.Delivery.ID)
			subs = append(subs, r.Delivery.RecipientID)
		}
		in := placeholders(n)
		if _, err := t.exec(`UPDATE outbox_deliveries SET state = 'sent', sent_at = ?, lease_owner = NULL, last_status = 250, last_error = ''
			WHERE state = 'sending' AND lease_owner = ? AND id IN (`+in+`)`, append([]any{t.now, owner}, ids...)...); err != nil {
			return fmt.Errorf("record sent emails: %w", err)
		}
		// A delivered message ends a run of bounces.
		if _, err := t.exec(`UPDATE subscribers SET bounces = 0 WHERE bounces > 0 AND id IN (`+in+`)`, subs...); err != nil {
			return fmt.Errorf("record sent emails: %w", err)
		}
		results = results[n:]
	}
	return nil
}

// recordEmailResult keeps count of an address's bounces in a row and
// suspends it at BounceLimit, so Herald stops mailing a dead mailbox.
func (t *tx) recordEmailResult(r DeliveryResult) error {
	id := r.Delivery.RecipientID
	if r.Outcome == Sent {
		_, err := t.exec(`UPDATE subscribers SET bounces = 0 WHERE id = ? AND bounces > 0`, id)
		return err
	}
	if !r.Bounce {
		return nil
	}
	var bounces int
	var status SubscriberStatus
	err := t.QueryRowContext(t.ctx, `UPDATE subscribers SET bounces = bounces + 1, last_error = ?, updated_at = ? WHERE id = ? RETURNING bounces, status`,
		truncate(r.Error, 1000), t.now, id).Scan(&bounces, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if bounces >= BounceLimit && status == SubscriberConfirmed {
		if _, err := t.exec(`UPDATE subscribers SET status = 'suspended' WHERE id = ?`, id); err != nil {
			return err
		}
		return t.audit("subscriber.suspend", "subscriber", id, map[string]any{"status": status}, map[string]any{"status": SubscriberSuspended, "bounces": bounces, "last_error": truncate(r.Error, 1000)})
	}
	return nil
}

// recordWebhookResult logs the attempt and keeps the endpoint's health:
// a success clears its failure clock; a 410 or a day of failures disables it.
func (t *tx) recordWebhookResult(r DeliveryResult) error {
	d := r.Delivery
	if _, err := t.exec(`INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?)`,
		d.ID, d.Attempt, t.now, r.Status, r.Latency.Milliseconds(), truncate(r.Error, 1000)); err != nil {
		return err
	}
	if r.Outcome == Sent {
		_, err := t.exec(`UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, d.RecipientID)
		return err
	}
	var since time.Time
	err := t.QueryRowContext(t.ctx, `UPDATE webhooks SET failing_since = coalesce(failing_since, ?) WHERE id = ? RETURNING failing_since`, t.now, d.RecipientID).Scan(&since)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	reason := r.Disable
	if reason == "" && t.now.Sub(since) >= WebhookFailureWindow {
		reason = "every delivery failed for a day"
	}
	if reason == "" {
		return nil
	}
	return t.disableWebhook(d.RecipientID, reason)
}

// NextDue is how long until the next delivery on channel is due: 0 when one
// is due now, ok false when none is waiting.
func (s *Store) NextDue(ctx context.Context, channel string) (wait time.Duration, ok bool, err error) {
	var next sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM outbox_deliveries WHERE channel = ? AND state IN ('pending', 'sending')`, channel).Scan(&next); err != nil {
		return 0, false, fmt.Errorf("store: next due: %w", err)
	}
	if !next.Valid {
		return 0, false, nil
	}
	at, err := parseSQLiteTime(next.String)
	if err != nil {
		return 0, false, fmt.Errorf("store: next due: %w", err)
	}
	return max(0, at.Sub(s.now())), true, nil
}

// parseSQLiteTime reads a time the driver wrote with _time_format=sqlite; an
// aggregate such as min() returns it as text, not as a time.
func parseSQLiteTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", v)
}

// PendingJobs counts jobs not yet expanded.
func (s *Store) PendingJobs(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox_jobs WHERE expanded_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending jobs: %w", err)
	}
	return n, nil
}

// OutboxCounts counts deliveries by channel and state ("email/sent": 12).
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT channel, state, count(*) FROM outbox_deliveries GROUP BY channel, state`)
	if err != nil {
		return nil, fmt.Errorf("store: outbox counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var ch, st string
		var n int
		if err := rows.Scan(&ch, &st, &n); err != nil {
			return nil, fmt.Errorf("store: outbox counts: %w", err)
		}
		out[ch+"/"+st] = n
	}
	return out, rows.Err()
}

// PruneOutbox deletes jobs created before cutoff whose deliveries are all
// finished, with their deliveries and attempt logs.
func (s *Store) PruneOutbox(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM outbox_jobs WHERE created_at < ? AND expanded_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.job_id = outbox_jobs.id AND d.state IN ('pending', 'sending'))`, cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: prune outbox: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune outbox: %w", err)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

// IntegrityCheck runs SQLite's integrity check: "ok", or what is wrong.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var out string
	if err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&out); err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return out, nil
}
