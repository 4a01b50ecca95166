package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Delivery is one message to one recipient, claimed for sending.
type Delivery struct {
	ID int64 // 0 for a recipient of a batch
	// BatchID is the batch of an email fan-out the recipient was claimed
	// from, 0 for a delivery of its own (see outbox_batches.go).
	BatchID     int64
	JobID       int64
	Channel     string
	RecipientID string
	Attempt     int // 1 on the first try
	// Email recipients.
	Email string
	// PageID is the page the subscriber belongs to ("" the default page):
	// its name and links are the email's.
	PageID string
	// Language is the subscriber's language, "" for the page's default.
	Language         string
	SubscriberStatus SubscriberStatus // "" when the subscriber is gone
	ManageToken      string           // for the unsubscribe and preferences links
	ConfirmToken     string
	// TeamMember is set when the recipient is a user (of a team job) who
	// may still hear team news: active, and a commander or admin.
	TeamMember bool
	// ActiveUser is set when the recipient is a user whose account is
	// active, whatever their role (account notices).
	ActiveUser bool
	// ViewerLink is set when the recipient is a viewer's sign-in link
	// still unused and unexpired; ConfirmToken is then its token.
	ViewerLink bool
	// Webhook recipients; nil when the endpoint is gone.
	Webhook *WebhookTarget
	// SMS recipients: the number, and the subscription's status ("" when
	// it is gone). ManageToken is then its stop link's token.
	Phone     string
	SMSStatus SMSStatus

	// bounced is set when the subscriber's last messages bounced, so that
	// one delivered ends the run.
	bounced bool
	// nonce is a batch recipient's link nonce until its tokens are signed.
	nonce string
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
	err := s.inBackgroundTx(ctx, func(t *tx) error {
		// A delivery still "sending" when its lease has run out is claimed
		// again (only those that were pending change state), but not by
		// the owner whose lease it was: that dispatcher is alive and still
		// has the result to record (see notOwnLease).
		var ids []int64
		pending := 0
		err := t.claim("outbox_deliveries", "id, state", `channel = ? AND state IN ('pending', 'sending') AND next_attempt_at <= ? AND `+notOwnLease, "next_attempt_at, id", limit,
			[]any{channel, t.now, owner}, func(rows *sql.Rows) error {
				var id int64
				var state string
				if err := rows.Scan(&id, &state); err != nil {
					return err
				}
				ids = append(ids, id)
				if state == "pending" {
					pending++
				}
				return nil
			})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return t.claimMoreBatches(channel, owner, limit, lease, &out)
		}
		t.countDeliveries(channel, "pending", "sending", pending)
		rows, err := t.QueryContext(t.ctx, `UPDATE outbox_deliveries SET state = 'sending', lease_owner = ?, next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (`+placeholders(len(ids))+`)
			RETURNING id, job_id, recipient_id, attempts`, append([]any{owner, t.now.Add(lease)}, int64Args(ids)...)...)
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
			if err := t.loadSubscribers(out); err != nil {
				return err
			}
		case ChannelWebhook:
			return t.loadWebhookTargets(out)
		case ChannelSMS:
			return t.loadSMSTargets(out)
		}
		return t.claimMoreBatches(channel, owner, limit, lease, &out)
	})
	if err == nil {
		err = s.signLinks(ctx, out)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim %s deliveries: %w", channel, err)
	}
	return out, nil
}

// Held is what a dispatcher has in flight: the deliveries of their own and
// the batches it claimed and has not yet recorded.
type Held struct {
	Deliveries []int64
	Batches    []int64
}

// RenewLeases moves the leases of what owner holds in flight (held) on to
// lease from now: a live dispatcher keeps what it claimed for as long as
// it takes to send and record, and only a dispatcher that has stopped lets
// its claims run out to another. Only the rows named are renewed: a claim
// the dispatcher never received (its commit's outcome unknown, or its
// links unsigned) must run out, so that another dispatcher sends it.
func (s *Store) RenewLeases(ctx context.Context, owner string, lease time.Duration, held Held) error {
	if len(held.Deliveries) == 0 && len(held.Batches) == 0 {
		return nil
	}
	err := s.inBackgroundTx(ctx, func(t *tx) error {
		until := t.now.Add(lease)
		for _, r := range []struct {
			table string
			ids   []int64
		}{{"outbox_deliveries", held.Deliveries}, {"outbox_batches", held.Batches}} {
			for chunk := range slices.Chunk(r.ids, 500) {
				if _, err := t.exec(`UPDATE `+r.table+` SET next_attempt_at = ? WHERE state = 'sending' AND lease_owner = ? AND id IN (`+placeholders(len(chunk))+`)`,
					append([]any{until, owner}, int64Args(chunk)...)...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: renew leases: %w", err)
	}
	return nil
}

// notOwnLease is the condition, on a claim by owner (its one argument),
// that a row is not held by a lease of owner's that ran out. A dispatcher
// that is alive records every result of what it claimed, however long
// the database makes it wait (the dispatcher retries until the results
// commit), so claiming it again would only send it twice. Owners are
// unique to a process, so after a crash the claims are anyone's.
const notOwnLease = `(state = 'pending' OR lease_owner <> ?)`

// claimMoreBatches fills what room a claim of email deliveries leaves with
// recipients of batches. Deliveries of their own go first: they are the
// retries, and messages to one subscriber.
func (t *tx) claimMoreBatches(channel, owner string, limit int, lease time.Duration, out *[]Delivery) error {
	if channel != ChannelEmail || len(*out) >= limit {
		return nil
	}
	more, err := t.claimBatches(owner, limit-len(*out), lease)
	*out = append(*out, more...)
	return err
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
	rows, err := t.QueryContext(t.ctx, `SELECT id, page_id, email, status, token_nonce, language FROM subscribers WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type sub struct {
		page, email, nonce, lang string
		status                   SubscriberStatus
	}
	subs := map[string]sub{}
	for rows.Next() {
		var id string
		var s sub
		if err := rows.Scan(&id, &s.page, &s.email, &s.status, &s.nonce, &s.lang); err != nil {
			return err
		}
		subs[id] = s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var others []any
	for i := range ds {
		s, ok := subs[ds[i].RecipientID]
		if !ok {
			others = append(others, ds[i].RecipientID)
			continue
		}
		ds[i].PageID, ds[i].Email, ds[i].SubscriberStatus, ds[i].Language = s.page, s.email, s.status, s.lang
		ds[i].ManageToken = signToken(key, purposeManage, ds[i].RecipientID, s.nonce)
		ds[i].ConfirmToken = signConfirmToken(key, ds[i].RecipientID, s.nonce, t.now)
	}
	if len(others) == 0 {
		return nil
	}
	if err := t.loadTeamRecipients(ds, others); err != nil {
		return err
	}
	return t.loadViewerRecipients(ds, others)
}

// loadTeamRecipients fills in the deliveries whose recipients are users:
// those of team jobs and account notices. (Ids are random, so a user's never names a
// subscriber.)
func (t *tx) loadTeamRecipients(ds []Delivery, ids []any) error {
	rows, err := t.QueryContext(t.ctx, `SELECT id, email, role, disabled_at FROM users WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type member struct {
		email      string
		active, ok bool
	}
	users := map[string]member{}
	for rows.Next() {
		var id, email string
		var role Role
		var disabled sql.NullTime
		if err := rows.Scan(&id, &email, &role, &disabled); err != nil {
			return err
		}
		users[id] = member{email: email, active: !disabled.Valid, ok: !disabled.Valid && role.Allows(RoleCommander)}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ds {
		if m, ok := users[ds[i].RecipientID]; ok {
			ds[i].Email, ds[i].TeamMember, ds[i].ActiveUser = m.email, m.ok, m.active
		}
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
	// Gone is an answer saying the endpoint is no more (404, 410), counted
	// against a chat subscription: ChatGoneLimit in a row retire it.
	Gone bool
	// SMS: the provider's id for the message and the price it reported
	// ("" when it reported none), as it wrote them.
	ProviderID, Price, PriceUnit string
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
	err := s.inBackgroundTx(ctx, func(t *tx) error {
		var sentEmail, batched []DeliveryResult
		var sentJobs []int64
		for _, r := range results {
			if r.Outcome == Sent {
				sentJobs = append(sentJobs, r.Delivery.JobID)
			}
			if r.Delivery.BatchID != 0 {
				batched = append(batched, r)
				continue
			}
			if r.Outcome == Sent && r.Delivery.Channel == ChannelEmail {
				sentEmail = append(sentEmail, r)
				continue
			}
			if err := t.recordResult(owner, r); err != nil {
				return fmt.Errorf("delivery %d: %w", r.Delivery.ID, err)
			}
		}
		if err := t.recordSentEmail(owner, sentEmail); err != nil {
			return err
		}
		if err := t.recordBatchResults(owner, batched); err != nil {
			return err
		}
		return t.clockDeliveries(sentJobs)
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
	var state string
	const mine = ` WHERE id = ? AND state = 'sending' AND lease_owner = ?`
	switch r.Outcome {
	case Sent:
		state = "sent"
		res, err = t.exec(`UPDATE outbox_deliveries SET state = 'sent', sent_at = ?, lease_owner = NULL, last_status = ?, last_error = ''`+mine, t.now, r.Status, d.ID, owner)
	case Retry:
		state = "pending"
		res, err = t.exec(`UPDATE outbox_deliveries SET state = 'pending', next_attempt_at = ?, lease_owner = NULL, last_status = ?, last_error = ?`+mine,
			t.now.Add(r.RetryIn), r.Status, errText, d.ID, owner)
	case Failed, Skipped:
		state = "failed"
		if r.Outcome == Skipped {
			state = "skipped"
		}
		res, err = t.exec(`UPDATE outbox_deliveries SET state = ?, lease_owner = NULL, last_status = ?, last_error = ?`+mine, state, r.Status, errText, d.ID, owner)
	case Released:
		state = "pending"
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
	t.countResult(d.JobID, d.Channel, "sending", state, 1, r.Outcome != Released && r.Outcome != Skipped)
	if d.Channel == ChannelSMS {
		return t.recordSMSResult(r)
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

// clockDeliveries stops the time-to-tell clock of the incidents whose jobs
// just reached someone: the first delivery (and how long after the impact
// began it came) once, the last one every time.
func (t *tx) clockDeliveries(jobIDs []int64) error {
	if len(jobIDs) == 0 {
		return nil
	}
	slices.Sort(jobIDs)
	jobIDs = slices.Compact(jobIDs)
	jobs := `SELECT object_id FROM outbox_jobs WHERE object_type = 'incident' AND id IN (` + placeholders(len(jobIDs)) + `)`
	rows, err := t.QueryContext(t.ctx, `SELECT id, started_at, created_at FROM incidents WHERE first_delivery_at IS NULL AND id IN (`+jobs+`)`, int64Args(jobIDs)...)
	if err != nil {
		return fmt.Errorf("clock deliveries: %w", err)
	}
	type first struct {
		id      string
		started time.Time
	}
	var firsts []first
	for rows.Next() {
		var f first
		var started sql.NullTime
		var created time.Time
		if err := rows.Scan(&f.id, &started, &created); err != nil {
			rows.Close()
			return fmt.Errorf("clock deliveries: %w", err)
		}
		f.started = created
		if started.Valid {
			f.started = started.Time
		}
		firsts = append(firsts, f)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return fmt.Errorf("clock deliveries: %w", err)
	}
	for _, f := range firsts {
		if _, err := t.exec(`UPDATE incidents SET first_delivery_at = ?, time_to_delivery_s = ? WHERE id = ?`, t.now, seconds(t.now.Sub(f.started)), f.id); err != nil {
			return fmt.Errorf("clock deliveries: %w", err)
		}
	}
	if _, err := t.exec(`UPDATE incidents SET last_delivery_at = ? WHERE id IN (`+jobs+`)`, append([]any{t.now}, int64Args(jobIDs)...)...); err != nil {
		return fmt.Errorf("clock deliveries: %w", err)
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
		rows, err := t.QueryContext(t.ctx, `UPDATE outbox_deliveries SET state = 'sent', sent_at = ?, lease_owner = NULL, last_status = 250, last_error = ''
			WHERE state = 'sending' AND lease_owner = ? AND id IN (`+in+`) RETURNING job_id`, append([]any{t.now, owner}, ids...)...)
		if err != nil {
			return fmt.Errorf("record sent emails: %w", err)
		}
		for rows.Next() {
			var job int64
			if err := rows.Scan(&job); err != nil {
				rows.Close()
				return fmt.Errorf("record sent emails: %w", err)
			}
			t.countResult(job, ChannelEmail, "sending", "sent", 1, true)
		}
		if err := errors.Join(rows.Close(), rows.Err()); err != nil {
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
		t.record("subscriber.suspend", "subscriber", id, map[string]any{"status": status}, map[string]any{"status": SubscriberSuspended, "bounces": bounces, "last_error": truncate(r.Error, 1000)})
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
		_, err := t.exec(`UPDATE webhooks SET failing_since = NULL, gone_count = 0 WHERE id = ? AND (failing_since IS NOT NULL OR gone_count > 0)`, d.RecipientID)
		return err
	}
	if r.Gone {
		var gone int
		err := t.QueryRowContext(t.ctx, `UPDATE webhooks SET gone_count = gone_count + 1 WHERE id = ? RETURNING gone_count`, d.RecipientID).Scan(&gone)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if gone >= ChatGoneLimit {
			times := fmt.Sprintf("%d times", gone)
			if gone == 2 {
				times = "twice"
			}
			return t.disableWebhook(d.RecipientID, fmt.Sprintf("The URL answered 404 or 410 %s in a row (last: %s): the channel's webhook was probably deleted.", times, r.Error))
		}
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

// NextDue is how long until the next delivery on channel is due for owner
// to claim: 0 when one is due now, ok false when none is waiting. It
// applies the claims' own rule (notOwnLease), so a dispatcher is not told
// of work it may not take: its own run-out leases would otherwise look due
// for ever and set its pump polling. An owner of "" (no dispatcher's) sees
// everything waiting.
func (s *Store) NextDue(ctx context.Context, channel, owner string) (wait time.Duration, ok bool, err error) {
	type query struct {
		sql  string
		args []any
	}
	queries := []query{{`SELECT next_attempt_at FROM outbox_deliveries WHERE channel = ? AND state IN ('pending', 'sending') AND ` + notOwnLease + ` ORDER BY next_attempt_at LIMIT 1`, []any{channel, owner}}}
	if channel == ChannelEmail {
		queries = append(queries, query{`SELECT next_attempt_at FROM outbox_batches WHERE state IN ('pending', 'sending') AND ` + notOwnLease + ` ORDER BY next_attempt_at LIMIT 1`, []any{owner}})
	}
	var first time.Time
	for _, q := range queries {
		var next time.Time
		err := s.read.QueryRowContext(ctx, q.sql, q.args...).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("store: next due: %w", err)
		}
		if !ok || next.Before(first) {
			first, ok = next, true
		}
	}
	if !ok {
		return 0, false, nil
	}
	return max(0, first.Sub(s.now())), true, nil
}

// OutboxCounts is how many deliveries the outbox holds by channel and
// state ("email/sent": 12), states with none left out. It reads the counts
// the transactions keep (countDeliveries), not the deliveries: a few rows,
// however many deliveries there are.
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT channel, state, n FROM outbox_counts WHERE n <> 0`)
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

func truncate(s string, n int) string {
	// What a remote end sends (a status line, an SMTP reply) may hold NUL or
	// bytes that are not UTF-8, which PostgreSQL refuses to store: one such
	// result would stall its channel's recording.
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

// deliveryCount is a row of outbox_counts: a channel and a state.
type deliveryCount struct{ channel, state string }

// countDeliveries notes that n deliveries on channel moved from one state
// to another: from "" when they were made, to "" when they were pruned.
// Every statement that makes, moves or deletes deliveries reports what it
// did here, and commit writes the sums, so the counts change in the same
// transaction as the rows and are right on every replica.
func (t *tx) countDeliveries(channel, from, to string, n int) {
	if n == 0 || from == to {
		return
	}
	if t.moved == nil {
		t.moved = map[deliveryCount]int{}
	}
	if from != "" {
		t.moved[deliveryCount{channel, from}] -= n
	}
	if to != "" {
		t.moved[deliveryCount{channel, to}] += n
	}
}

// writeCounts adds the transaction's moves to outbox_counts, in one order
// (two transactions locking the same rows in opposite orders would
// deadlock on PostgreSQL).
func (t *tx) writeCounts() error {
	keys := make([]deliveryCount, 0, len(t.moved))
	for k, n := range t.moved {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b deliveryCount) int {
		return cmp.Or(strings.Compare(a.channel, b.channel), strings.Compare(a.state, b.state))
	})
	for _, k := range keys {
		if _, err := t.exec(`INSERT INTO outbox_counts (channel, state, n) VALUES (?, ?, ?)
			ON CONFLICT (channel, state) DO UPDATE SET n = outbox_counts.n + excluded.n`, k.channel, k.state, t.moved[k]); err != nil {
			return fmt.Errorf("count deliveries: %w", err)
		}
	}
	return nil
}
