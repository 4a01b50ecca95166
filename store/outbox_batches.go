package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// An email fan-out is sent in batches: a batch is the subscribers after
// one seq up to another who want the job when the batch is claimed, and a
// batch that is sent leaves its counts — not a row per recipient. Only a
// recipient whose message is to be tried again, or failed for good, or was
// handed back unsent, gets a delivery of its own (outbox_deliveries), and a
// batch claimed again leaves those out. A batch's results may be recorded
// in parts; it is done when every recipient its claim handed out has one.
//
// The counts (countDeliveries) see a batch as its expected recipients: a
// pending batch adds them to pending, a claimed one to sending until it is
// done; its sent and skipped recipients are counted as they are recorded.

// emailBatch is the most recipients a batch holds: a claim's worth, so
// that one batch is one claim on a dispatcher with up to 16 connections.
const emailBatch = 256

// emailWants is the condition on subscribers s of wanting a job of kind
// that touches jobComps: a subscriber of a page that shows the job (pages,
// from pagesShowing), and of every component or of one it touches; for a
// maintenance reminder, one who has not turned reminders off.
func emailWants(kind string, jobComps, pages []string) (string, []any) {
	if len(pages) == 0 {
		return `FALSE`, nil
	}
	args := make([]any, 0, len(pages)+len(jobComps))
	for _, p := range pages {
		args = append(args, p)
	}
	cond := `s.page_id IN (` + placeholders(len(pages)) + `) AND `
	if kind == JobMaintenanceReminder {
		cond += `s.maintenance_reminders AND `
	}
	if len(jobComps) == 0 {
		return cond + `s.all_components`, args
	}
	for _, c := range jobComps {
		args = append(args, c)
	}
	return cond + `(s.all_components OR EXISTS (SELECT 1 FROM subscriber_components sc WHERE sc.subscriber_id = s.id AND sc.component_id IN (` +
		placeholders(len(jobComps)) + `)))`, args
}

// expandEmail makes batches for the confirmed subscribers who want the job
// among the next scan subscriber rows after cursor (their seq). It returns
// how many recipients they hold and the new cursor, -1 once every row has
// been seen. The cursor advances over the rows scanned, not the recipients
// found, so a filter that matches no one still progresses.
func (t *tx) expandEmail(jobID int64, kind, comps, narrowed string, cursor int64, scan int) (int, int64, error) {
	var jobComps, jobPages []string
	if err := json.Unmarshal([]byte(comps), &jobComps); err != nil {
		return 0, 0, err
	}
	if err := json.Unmarshal([]byte(narrowed), &jobPages); err != nil {
		return 0, 0, err
	}
	var hi sql.NullInt64
	if err := t.QueryRowContext(t.ctx, `SELECT max(seq) FROM (SELECT seq FROM subscribers WHERE seq > ? ORDER BY seq LIMIT ?) AS page`, cursor, scan).Scan(&hi); err != nil {
		return 0, 0, err
	}
	if !hi.Valid {
		return 0, -1, nil
	}
	pages, err := t.pagesShowing(jobComps, jobPages)
	if err != nil {
		return 0, 0, err
	}
	wants, wantArgs := emailWants(kind, jobComps, pages)
	rows, err := t.QueryContext(t.ctx, `SELECT s.seq FROM subscribers s WHERE s.seq > ? AND s.seq <= ? AND s.status = 'confirmed' AND `+wants+` ORDER BY s.seq`,
		append([]any{cursor, hi.Int64}, wantArgs...)...)
	if err != nil {
		return 0, 0, err
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return 0, 0, err
		}
		seqs = append(seqs, seq)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return 0, 0, err
	}
	from := cursor
	for chunk := range slices.Chunk(seqs, emailBatch) {
		to := chunk[len(chunk)-1]
		if to == seqs[len(seqs)-1] {
			to = hi.Int64 // the last batch covers the rows after its last recipient
		}
		if _, err := t.exec(`INSERT INTO outbox_batches (job_id, seq_from, seq_to, recipients, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
			jobID, from, to, len(chunk), t.now, t.now); err != nil {
			return 0, 0, err
		}
		from = to
	}
	return len(seqs), hi.Int64, nil
}

// batch is a claimed batch row.
type batch struct {
	id, job, from, to int64
	recipients        int
	state             string
	attempts          int
	sent, skipped     int
}

// claimBatches leases due batches, splitting the last so that they hold at
// most room recipients in all, and returns a delivery for each recipient:
// a confirmed subscriber in the batch who wants the job and has no
// delivery of its own for it.
func (t *tx) claimBatches(owner string, room int, lease time.Duration) ([]Delivery, error) {
	var out []Delivery
	jobs := map[int64]batchJob{}
	for room > 0 {
		var b batch
		found := false
		err := t.claim("outbox_batches", "id, job_id, seq_from, seq_to, recipients, state, attempts, sent, skipped", `state IN ('pending', 'sending') AND next_attempt_at <= ? AND `+notOwnLease,
			"next_attempt_at, id", 1, []any{t.now, owner}, func(rows *sql.Rows) error {
				found = true
				return rows.Scan(&b.id, &b.job, &b.from, &b.to, &b.recipients, &b.state, &b.attempts, &b.sent, &b.skipped)
			})
		if err != nil || !found {
			return out, err
		}
		if _, ok := jobs[b.job]; !ok {
			var j batchJob
			var c, p string
			if err := t.QueryRowContext(t.ctx, `SELECT kind, components, pages FROM outbox_jobs WHERE id = ?`, b.job).Scan(&j.kind, &c, &p); err != nil {
				return nil, fmt.Errorf("batch %d: %w", b.id, err)
			}
			var narrowed []string
			if err := errors.Join(json.Unmarshal([]byte(c), &j.components), json.Unmarshal([]byte(p), &narrowed)); err != nil {
				return nil, fmt.Errorf("batch %d: %w", b.id, err)
			}
			// Once per job and claim, not per batch: a claim of many
			// small batches reads the pages once.
			if j.pages, err = t.pagesShowing(j.components, narrowed); err != nil {
				return nil, fmt.Errorf("batch %d: %w", b.id, err)
			}
			jobs[b.job] = j
		}
		// A batch claimed again after its lease ran out starts over: what
		// its last claim recorded is taken back, since all of it is sent
		// again (only a hard crash comes to this: a live owner's batch is
		// not claimed again, see notOwnLease).
		t.countResult(b.job, ChannelEmail, "sent", "", b.sent, false)
		t.countResult(b.job, ChannelEmail, "skipped", "", b.skipped, false)
		ds, err := t.batchRecipients(b, jobs[b.job], room+1)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", b.id, err)
		}
		// expected is what the claimed part counts as until it is done.
		expected, to := b.recipients, b.to
		if len(ds) > room {
			// The rest of it is a batch of its own, waiting as this one did.
			ds, to = ds[:room], ds[room-1].seq
			expected = min(room, b.recipients)
			if _, err := t.exec(`INSERT INTO outbox_batches (job_id, seq_from, seq_to, recipients, state, attempts, next_attempt_at, created_at)
				SELECT job_id, ?, seq_to, ?, 'pending', attempts, ?, created_at FROM outbox_batches WHERE id = ?`, to, b.recipients-expected, t.now, b.id); err != nil {
				return nil, fmt.Errorf("split batch %d: %w", b.id, err)
			}
			t.countDeliveries(ChannelEmail, b.state, "pending", b.recipients-expected)
		}
		t.countDeliveries(ChannelEmail, b.state, "sending", expected)
		if len(ds) == 0 { // nobody wants it any more
			if _, err := t.exec(`UPDATE outbox_batches SET state = 'done', lease_owner = NULL, claimed = 0, recorded = 0, sent = 0, skipped = 0, finished_at = ? WHERE id = ?`, t.now, b.id); err != nil {
				return nil, err
			}
			t.countDeliveries(ChannelEmail, "sending", "", expected)
			continue
		}
		if _, err := t.exec(`UPDATE outbox_batches SET state = 'sending', lease_owner = ?, next_attempt_at = ?, attempts = attempts + 1, seq_to = ?, recipients = ?,
			claimed = ?, recorded = 0, sent = 0, skipped = 0 WHERE id = ?`, owner, t.now.Add(lease), to, expected, len(ds), b.id); err != nil {
			return nil, err
		}
		for i := range ds {
			ds[i].Delivery.Attempt = b.attempts + 1
			out = append(out, ds[i].Delivery)
		}
		room -= len(ds)
	}
	return out, nil
}

// batchJob is what a batch's recipients are chosen by: its job's kind and
// components.
type batchJob struct {
	kind       string
	components []string
	pages      []string // the pages that show it (pagesShowing)
}

// batchRecipient is a delivery to a batch's recipient, with its place.
type batchRecipient struct {
	Delivery
	seq int64
}

// batchRecipients reads up to limit recipients of a batch, in seq order.
// Their link tokens are signed once the claim has committed (signLinks):
// the writer is not held for hundreds of HMACs.
func (t *tx) batchRecipients(b batch, job batchJob, limit int) ([]batchRecipient, error) {
	wants, wantArgs := emailWants(job.kind, job.components, job.pages)
	args := append([]any{b.from, b.to}, wantArgs...)
	rows, err := t.QueryContext(t.ctx, `SELECT s.seq, s.id, s.page_id, s.email, s.status, s.token_nonce, s.bounces, s.language FROM subscribers s
		WHERE s.seq > ? AND s.seq <= ? AND s.status = 'confirmed' AND `+wants+`
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.job_id = ? AND d.channel = 'email' AND d.recipient_id = s.id)
		ORDER BY s.seq LIMIT ?`, append(args, b.job, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []batchRecipient
	for rows.Next() {
		r := batchRecipient{Delivery: Delivery{BatchID: b.id, JobID: b.job, Channel: ChannelEmail}}
		var bounces int
		if err := rows.Scan(&r.seq, &r.RecipientID, &r.PageID, &r.Email, &r.SubscriberStatus, &r.nonce, &bounces, &r.Language); err != nil {
			return nil, err
		}
		r.bounced = bounces > 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordBatchResults records results of batch recipients, batch by batch,
// if this owner still holds the batch (otherwise someone else sends it
// now, and the results are dropped). Sent and skipped ones count on the
// batch; the others get deliveries of their own: retried later, failed for
// good, or handed back to be sent at once.
func (t *tx) recordBatchResults(owner string, results []DeliveryResult) error {
	byBatch := map[int64][]DeliveryResult{}
	var ids []int64
	for _, r := range results {
		if _, ok := byBatch[r.Delivery.BatchID]; !ok {
			ids = append(ids, r.Delivery.BatchID)
		}
		byBatch[r.Delivery.BatchID] = append(byBatch[r.Delivery.BatchID], r)
	}
	slices.Sort(ids)
	var unbounced []any
	for _, id := range ids {
		rs := byBatch[id]
		sent, skipped := 0, 0
		for _, r := range rs {
			switch r.Outcome {
			case Sent:
				sent++
			case Skipped:
				skipped++
			}
		}
		var job int64
		var recipients, claimed, recorded int
		err := t.QueryRowContext(t.ctx, `UPDATE outbox_batches SET recorded = recorded + ?, sent = sent + ?, skipped = skipped + ?
			WHERE id = ? AND state = 'sending' AND lease_owner = ? RETURNING job_id, recipients, claimed, recorded`, len(rs), sent, skipped, id, owner).
			Scan(&job, &recipients, &claimed, &recorded)
		if errors.Is(err, sql.ErrNoRows) {
			continue // lease lost
		}
		if err != nil {
			return fmt.Errorf("batch %d: %w", id, err)
		}
		t.countResult(job, ChannelEmail, "", "sent", sent, sent > 0)
		t.countResult(job, ChannelEmail, "", "skipped", skipped, false)
		if recorded >= claimed {
			if _, err := t.exec(`UPDATE outbox_batches SET state = 'done', lease_owner = NULL, finished_at = ? WHERE id = ?`, t.now, id); err != nil {
				return fmt.Errorf("batch %d: %w", id, err)
			}
			t.countDeliveries(ChannelEmail, "sending", "", recipients)
		}
		for _, r := range rs {
			d := r.Delivery
			switch r.Outcome {
			case Sent:
				if d.bounced { // a delivered message ends a run of bounces
					unbounced = append(unbounced, d.RecipientID)
				}
				continue
			case Skipped:
				continue
			}
			if err := t.insertDelivery(r); err != nil {
				return fmt.Errorf("batch %d: %w", id, err)
			}
		}
	}
	if len(unbounced) > 0 {
		if _, err := t.exec(`UPDATE subscribers SET bounces = 0 WHERE id IN (`+placeholders(len(unbounced))+`)`, unbounced...); err != nil {
			return err
		}
	}
	return nil
}

// insertDelivery gives a batch's recipient a delivery of its own, in the
// state its result leaves it.
func (t *tx) insertDelivery(r DeliveryResult) error {
	d := r.Delivery
	state, next, attempts := "pending", t.now, d.Attempt
	switch r.Outcome {
	case Retry:
		next = t.now.Add(r.RetryIn)
	case Failed:
		state = "failed"
	case Released:
		attempts-- // never tried
	default:
		return fmt.Errorf("unknown outcome %d", r.Outcome)
	}
	res, err := t.exec(`INSERT INTO outbox_deliveries (job_id, channel, recipient_id, state, attempts, next_attempt_at, last_status, last_error, created_at)
		VALUES (?, 'email', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, d.JobID, d.RecipientID, state, attempts, next, r.Status, truncate(r.Error, 1000), t.now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // it has one already
	}
	t.countResult(d.JobID, ChannelEmail, "", state, 1, r.Outcome != Released)
	if r.Outcome == Released {
		return nil
	}
	return t.recordEmailResult(r)
}

// deleteBatches deletes a job's batches in the given states, taking them off
// the counts, and returns how many recipients' outcomes went with them.
func (t *tx) deleteBatches(job int64, states ...string) (int, error) {
	args := []any{job}
	for _, s := range states {
		args = append(args, s)
	}
	rows, err := t.QueryContext(t.ctx, `DELETE FROM outbox_batches WHERE job_id = ? AND state IN (`+placeholders(len(states))+`)
		RETURNING state, recipients, sent, skipped`, args...)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var state string
		var recipients, sent, skipped int
		if err := rows.Scan(&state, &recipients, &sent, &skipped); err != nil {
			rows.Close()
			return 0, err
		}
		if state != "done" {
			t.countDeliveries(ChannelEmail, state, "", recipients)
		}
		t.countDeliveries(ChannelEmail, "sent", "", sent)
		t.countDeliveries(ChannelEmail, "skipped", "", skipped)
		n += sent + skipped
	}
	return n, errors.Join(rows.Close(), rows.Err())
}

// signLinks fills in the link tokens of a claim's batch recipients.
func (s *Store) signLinks(ctx context.Context, ds []Delivery) error {
	var signer *linkSigner
	now := s.now()
	for i := range ds {
		d := &ds[i]
		if d.nonce == "" {
			continue
		}
		if signer == nil {
			key, err := s.links.get(ctx, s.read)
			if err != nil {
				return err
			}
			signer = newLinkSigner(key)
		}
		d.ManageToken = signer.sign(purposeManage, d.RecipientID, d.nonce)
		d.ConfirmToken = signer.signConfirm(d.RecipientID, d.nonce, now)
		d.nonce = ""
	}
	return nil
}
