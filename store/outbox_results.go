package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// JobResult is what one notification came to on one channel: kept after
// its deliveries are pruned, as the record of who was told.
type JobResult struct {
	JobID      int64
	Channel    string
	Kind       string
	ObjectType string
	ObjectID   string
	CreatedAt  time.Time // when the change was made
	// Sent, Failed and Skipped count the deliveries that ended so
	// (skipped: the recipient no longer wanted it, or was gone).
	Sent, Failed, Skipped int
	// FirstAttempt and LastAttempt are when a message was first and last
	// tried; nil before any was.
	FirstAttempt, LastAttempt *time.Time
}

// jobChannel keys the results a transaction changed.
type jobChannel struct {
	job     int64
	channel string
}

// resultMove is how a transaction changed one job's results on a channel.
type resultMove struct {
	sent, failed, skipped int
	attempted             bool
}

// countResult notes that n deliveries of job moved between states, as
// countDeliveries does, and keeps the job's results: a delivery that
// reached sent, failed or skipped adds to them, one that left it (a replay)
// takes back. attempted says a message was tried. Pruning, which keeps the
// results, counts with countDeliveries alone.
func (t *tx) countResult(job int64, channel, from, to string, n int, attempted bool) {
	if n == 0 {
		return
	}
	t.countDeliveries(channel, from, to, n)
	if t.results == nil {
		t.results = map[jobChannel]*resultMove{}
	}
	k := jobChannel{job, channel}
	m := t.results[k]
	if m == nil {
		m = &resultMove{}
		t.results[k] = m
	}
	for state, d := range map[string]int{from: -n, to: n} {
		switch state {
		case "sent":
			m.sent += d
		case "failed":
			m.failed += d
		case "skipped":
			m.skipped += d
		}
	}
	m.attempted = m.attempted || attempted
}

// writeResults adds the transaction's moves to outbox_results, in one
// order, each job's row made from the job the first time.
func (t *tx) writeResults() error {
	keys := make([]jobChannel, 0, len(t.results))
	for k := range t.results {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b jobChannel) int {
		return cmp.Or(cmp.Compare(a.job, b.job), strings.Compare(a.channel, b.channel))
	})
	for _, k := range keys {
		m := t.results[k]
		if *m == (resultMove{}) {
			continue
		}
		var at any
		if m.attempted {
			at = t.now
		}
		if _, err := t.exec(`INSERT INTO outbox_results (job_id, channel, kind, object_type, object_id, created_at, sent, failed, skipped, first_attempt_at, last_attempt_at)
			SELECT id, ?, kind, object_type, object_id, created_at, ?, ?, ?, ?, ? FROM outbox_jobs WHERE id = ?
			ON CONFLICT (job_id, channel) DO UPDATE SET sent = outbox_results.sent + excluded.sent, failed = outbox_results.failed + excluded.failed,
				skipped = outbox_results.skipped + excluded.skipped,
				first_attempt_at = coalesce(outbox_results.first_attempt_at, excluded.first_attempt_at),
				last_attempt_at = coalesce(excluded.last_attempt_at, outbox_results.last_attempt_at)`,
			k.channel, m.sent, m.failed, m.skipped, at, at, k.job); err != nil {
			return fmt.Errorf("job %d results: %w", k.job, err)
		}
	}
	return nil
}

// NotificationResults is what the notifications about one object (an
// incident, a maintenance) came to, job by job and channel by channel,
// newest first, whether or not their deliveries are still kept.
func (s *Store) NotificationResults(ctx context.Context, objectType, objectID string) ([]JobResult, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT job_id, channel, kind, object_type, object_id, created_at, sent, failed, skipped, first_attempt_at, last_attempt_at
		FROM outbox_results WHERE object_type = ? AND object_id = ? ORDER BY job_id DESC, channel`, objectType, objectID)
	if err != nil {
		return nil, fmt.Errorf("store: notification results: %w", err)
	}
	defer rows.Close()
	var out []JobResult
	for rows.Next() {
		var r JobResult
		var first, last sql.NullTime
		if err := rows.Scan(&r.JobID, &r.Channel, &r.Kind, &r.ObjectType, &r.ObjectID, &r.CreatedAt, &r.Sent, &r.Failed, &r.Skipped, &first, &last); err != nil {
			return nil, fmt.Errorf("store: notification results: %w", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		r.FirstAttempt, r.LastAttempt = timePtr(first), timePtr(last)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: notification results: %w", err)
	}
	return out, nil
}

// OutboxRetention is how long the outbox keeps finished deliveries. What
// each job came to (NotificationResults) is kept after them.
type OutboxRetention struct {
	// Delivered is how long sent and skipped deliveries are kept: at
	// 100,000 subscribers they are nearly all of the outbox.
	Delivered time.Duration
	// Failed is how long the rest is kept — failed deliveries (the
	// delivery log's point), the jobs themselves (a replay needs what a job
	// said) and webhook attempt logs. At least Delivered.
	Failed time.Duration
}

// DefaultOutboxRetention keeps sent deliveries a week — longer than any
// retry schedule (about a day), long enough to answer "did they get it?" a
// few days on, and to show a week of successes in a webhook's delivery log
// — and failures a month.
func DefaultOutboxRetention() OutboxRetention {
	return OutboxRetention{Delivered: 7 * 24 * time.Hour, Failed: 30 * 24 * time.Hour}
}

// Check refuses a retention that keeps nothing, or failures less long than
// successes.
func (r OutboxRetention) Check() error {
	if r.Delivered < time.Hour {
		return &ValidationError{Field: "delivered", Message: fmt.Sprintf("keep delivered notifications at least an hour, not %s", r.Delivered)}
	}
	if r.Failed < r.Delivered {
		return &ValidationError{Field: "failed", Message: fmt.Sprintf("keep failed deliveries (%s) at least as long as delivered ones (%s)", r.Failed, r.Delivered)}
	}
	return nil
}

// PrunedOutbox is what PruneOutbox deleted: deliveries (each recipient's,
// whether a row of its own or counted in a batch) and jobs.
type PrunedOutbox struct {
	Deliveries int64
	Jobs       int64
}

// PruneOutbox deletes what keep no longer keeps: the sent and skipped
// deliveries of jobs older than keep.Delivered, then — once older than
// keep.Failed and with nothing left to send — the jobs with the rest of
// their deliveries and attempt logs. Counts and results stay right: the
// counts lose what is deleted, the results keep it. Each transaction
// deletes at most pruneChunk deliveries, so that housekeeping never holds
// the writer for long.
func (s *Store) PruneOutbox(ctx context.Context, keep OutboxRetention) (PrunedOutbox, error) {
	if err := keep.Check(); err != nil {
		return PrunedOutbox{}, fmt.Errorf("store: prune outbox: %w", err)
	}
	var p PrunedOutbox
	now := s.now()
	// Only an expanded job is thinned: an expansion under way relies on
	// the deliveries it made to make none twice.
	err := s.pruneJobs(ctx, `delivered_pruned_at IS NULL AND created_at < ? AND expanded_at IS NOT NULL`, []any{now.Add(-keep.Delivered)}, &p,
		func(t *tx, job int64) (bool, error) {
			n, err := t.deleteDeliveries(`job_id = ? AND state IN ('sent', 'skipped')`, job)
			p.Deliveries += int64(n)
			if err != nil || n == pruneChunk {
				return false, err // the rest of them next time
			}
			b, err := t.deleteBatches(job, "done")
			p.Deliveries += int64(b)
			if err != nil {
				return false, err
			}
			_, err = t.exec(`UPDATE outbox_jobs SET delivered_pruned_at = ? WHERE id = ?`, t.now, job)
			return false, err
		})
	if err != nil {
		return p, err
	}
	err = s.pruneJobs(ctx, `created_at < ? AND expanded_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.job_id = outbox_jobs.id AND d.state IN ('pending', 'sending'))
		AND NOT EXISTS (SELECT 1 FROM outbox_batches b WHERE b.job_id = outbox_jobs.id AND b.state IN ('pending', 'sending'))`, []any{now.Add(-keep.Failed)}, &p,
		func(t *tx, job int64) (bool, error) {
			n, err := t.deleteDeliveries(`job_id = ?`, job)
			p.Deliveries += int64(n)
			if err != nil || n == pruneChunk {
				return false, err
			}
			b, err := t.deleteBatches(job, "done")
			p.Deliveries += int64(b)
			if err != nil {
				return false, err
			}
			_, err = t.exec(`DELETE FROM outbox_jobs WHERE id = ?`, job)
			return err == nil, err
		})
	return p, err
}

// pruneJobs runs prune on each job matching where, one transaction at a
// time, until none is left; prune says whether it deleted the job.
func (s *Store) pruneJobs(ctx context.Context, where string, args []any, p *PrunedOutbox, prune func(t *tx, job int64) (bool, error)) error {
	for {
		found := false
		err := s.inBackgroundTx(ctx, func(t *tx) error {
			ids, err := t.claimIDs("outbox_jobs", where, "id", 1, args...)
			if err != nil || len(ids) == 0 {
				return err
			}
			found = true
			deleted, err := prune(t, ids[0])
			if deleted {
				p.Jobs++
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("store: prune outbox: %w", err)
		}
		if !found {
			return nil
		}
	}
}

// pruneChunk is the most deliveries one pruning transaction deletes.
const pruneChunk = 5000

// deleteDeliveries deletes up to pruneChunk deliveries that match where,
// with their attempt logs (by cascade), and takes them off the counts as
// they were when deleted.
func (t *tx) deleteDeliveries(where string, args ...any) (int, error) {
	rows, err := t.QueryContext(t.ctx, `DELETE FROM outbox_deliveries WHERE id IN (SELECT id FROM outbox_deliveries WHERE `+where+` LIMIT ?)
		RETURNING channel, state`, append(args, pruneChunk)...)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var channel, state string
		if err := rows.Scan(&channel, &state); err != nil {
			rows.Close()
			return 0, err
		}
		t.countDeliveries(channel, state, "", 1)
		n++
	}
	return n, errors.Join(rows.Close(), rows.Err())
}
