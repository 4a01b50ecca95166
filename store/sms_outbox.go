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

// smsEvents are what an SMS subscriber hears: a chat subscription's
// (incidents and maintenance), not every component change nor reminders.
var smsEvents = chatSubscriptionEvents

// expandSMS makes deliveries for the confirmed SMS subscribers among the
// next scan rows after cursor who hear the job: subscribers of a page that
// shows it (pagesShowing, the email subscribers' rule) and of every
// component or one it touches. It returns how many it made and the new
// cursor, -1 once every row has been seen.
func (t *tx) expandSMS(jobID int64, kind, comps, narrowed string, cursor int64, scan int) (int, int64, error) {
	if !slices.Contains(smsEvents, kind) {
		return 0, -1, nil
	}
	var jobComps, jobPages []string
	if err := errors.Join(json.Unmarshal([]byte(comps), &jobComps), json.Unmarshal([]byte(narrowed), &jobPages)); err != nil {
		return 0, 0, err
	}
	rows, err := t.QueryContext(t.ctx, `SELECT seq, id, page_id, status, components FROM sms_subscribers WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, scan)
	if err != nil {
		return 0, 0, err
	}
	type candidate struct {
		id, page   string
		status     SMSStatus
		components []string
	}
	var list []candidate
	next := int64(-1)
	for rows.Next() {
		var c candidate
		var co string
		if err := rows.Scan(&next, &c.id, &c.page, &c.status, &co); err != nil {
			rows.Close()
			return 0, 0, err
		}
		if err := json.Unmarshal([]byte(co), &c.components); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("sms subscriber %s components: %w", c.id, err)
		}
		list = append(list, c)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return 0, 0, err
	}
	if len(list) == 0 {
		return 0, -1, nil
	}
	pages, err := t.pagesShowing(jobComps, jobPages)
	if err != nil {
		return 0, 0, fmt.Errorf("pages showing the job: %w", err)
	}
	made := 0
	for _, c := range list {
		// Every component, or one the job touches: the email rule, which
		// WebhookWants applies to a list of components.
		if c.status != SMSConfirmed || !slices.Contains(pages, c.page) || !WebhookWants(nil, c.components, kind, jobComps) {
			continue
		}
		n, err := t.queueDelivery(jobID, ChannelSMS, c.id)
		if err != nil {
			return 0, 0, err
		}
		made += n
	}
	return made, next, nil
}

// loadSMSTargets fills in the number, status and stop link of claimed SMS
// deliveries.
func (t *tx) loadSMSTargets(ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	key, err := t.tokenKey()
	if err != nil {
		return err
	}
	signer := newLinkSigner(key)
	for i := range ds {
		var nonce string
		err := t.QueryRowContext(t.ctx, `SELECT page_id, phone, status, token_nonce FROM sms_subscribers WHERE id = ?`, ds[i].RecipientID).
			Scan(&ds[i].PageID, &ds[i].Phone, &ds[i].SMSStatus, &nonce)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				continue // gone: the sender skips it
			}
			return err
		}
		ds[i].ManageToken = signer.sign(purposeSMSStop, ds[i].RecipientID, nonce)
	}
	return nil
}

// recordSMSResult drops a code from its job once it is sent. (The
// message itself was logged by the sender as it went: LogSMS.)
func (t *tx) recordSMSResult(r DeliveryResult) error {
	if r.Outcome != Sent {
		return nil
	}
	_, err := t.exec(`UPDATE outbox_jobs SET payload = '{}' WHERE id = ? AND kind = ?`, r.Delivery.JobID, JobSMSCode)
	return err
}

// LogSMS logs a message the provider took (with the id and price it
// reported) or one a cap skipped (skipped saying which). The sender logs
// each before it sends the next, not with the delivery's result, which is
// recorded later in a batch: the caps count what was sent a moment ago.
func (s *Store) LogSMS(ctx context.Context, r DeliveryResult, skipped string) error {
	d := r.Delivery
	_, err := s.write.ExecContext(ctx, `INSERT INTO sms_log (subscriber_id, object_id, provider_id, price, price_unit, skipped, created_at)
		SELECT ?, CASE WHEN kind = ? THEN '' ELSE object_id END, ?, ?, ?, ?, ? FROM outbox_jobs WHERE id = ?`,
		d.RecipientID, JobSMSCode, truncate(r.ProviderID, 64), truncate(r.Price, 32), truncate(r.PriceUnit, 8), truncate(skipped, 200), s.now(), d.JobID)
	if err != nil {
		return fmt.Errorf("store: log sms: %w", err)
	}
	return nil
}

// SMSSentCounts is what the bill's caps are checked against before a
// message about a job goes to a subscriber: how many messages about the
// job's incident or maintenance it was sent, and how many were sent to
// anyone since since.
func (s *Store) SMSSentCounts(ctx context.Context, jobID int64, subscriberID string, since time.Time) (forObject, total int, err error) {
	var object string
	if err := s.read.QueryRowContext(ctx, `SELECT object_id FROM outbox_jobs WHERE id = ?`, jobID).Scan(&object); err != nil {
		return 0, 0, fmt.Errorf("store: sms sent counts: %w", err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sms_log WHERE subscriber_id = ? AND object_id = ? AND object_id <> '' AND skipped = ''`, subscriberID, object).Scan(&forObject); err != nil {
		return 0, 0, fmt.Errorf("store: sms sent counts: %w", err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sms_log WHERE created_at >= ? AND skipped = ''`, since).Scan(&total); err != nil {
		return 0, 0, fmt.Errorf("store: sms sent counts: %w", err)
	}
	return forObject, total, nil
}

// SMSTotals is what the console shows of SMS: messages sent, skipped by a
// cap, and their cost as the provider reported it.
type SMSTotals struct {
	Sent, Skipped int
	Cost          string
}

// SMSTotals sums the SMS log.
func (s *Store) SMSTotals(ctx context.Context) (SMSTotals, error) {
	var out SMSTotals
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE skipped = ''), count(*) FILTER (WHERE skipped <> '') FROM sms_log`).Scan(&out.Sent, &out.Skipped); err != nil {
		return out, fmt.Errorf("store: sms totals: %w", err)
	}
	var err error
	if out.Cost, err = smsCost(ctx, s.read, ""); err != nil {
		return out, fmt.Errorf("store: sms totals: %w", err)
	}
	return out, nil
}
