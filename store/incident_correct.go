package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Corrections: what a commander posted in a hurry can be put right. An
// update's message can be edited (the page says it was, and when; the
// audit log keeps both texts), an update can be withdrawn with a reason,
// and a form or API call submitted twice makes one update.

// MaxReasonLength bounds the reason given for withdrawing an update.
const MaxReasonLength = 500

// maxKeyLength bounds an idempotency key (ours are 32 characters; clients
// send UUIDs).
const maxKeyLength = 200

// UpdateEdit corrects an update's message.
type UpdateEdit struct {
	Body string
	// Notify tells the incident's subscribers again, as a correction. The
	// zero value does not: most corrections are typos nobody should be
	// emailed twice about.
	Notify bool
}

// EditIncidentUpdate replaces the message of one of an incident's updates.
// Its status and component changes stay: they have happened, and a later
// update is how they change again.
func (s *Store) EditIncidentUpdate(ctx context.Context, incidentID, updateID string, e UpdateEdit) (Incident, error) {
	var after Incident
	err := s.inTx(ctx, func(t *tx) error {
		before, u, err := t.incidentUpdate(incidentID, updateID)
		if err != nil {
			return err
		}
		body, err := checkText("body", e.Body, MaxBodyLength, true)
		if err != nil {
			return err
		}
		if body == u.Body {
			after = before
			return nil // nothing to correct
		}
		if _, err := t.exec(`UPDATE incident_updates SET body = ?, edited_at = ? WHERE id = ?`, body, t.now, updateID); err != nil {
			return fmt.Errorf("edit update: %w", err)
		}
		if _, err := t.exec(`UPDATE incidents SET updated_at = ? WHERE id = ?`, t.now, incidentID); err != nil {
			return fmt.Errorf("touch incident: %w", err)
		}
		if after, err = getIncident(t.ctx, t.sqlTx, incidentID); err != nil {
			return err
		}
		edited := u
		edited.Body, edited.EditedAt = body, &t.now
		t.record("incident.update_edited", "incident", incidentID, u, edited)
		t.publish(after)
		if e.Notify {
			t.notifyCorrection(after, edited)
		}
		return nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: edit incident update: %w", err)
	}
	return after, nil
}

// withdrawnUpdate is what the audit log keeps of a withdrawn update.
type withdrawnUpdate struct {
	IncidentUpdate
	Reason string `json:"reason"`
}

// DeleteIncidentUpdate withdraws one of an incident's updates: it leaves
// every page, feed and API, and the audit log keeps it with the reason.
// The incident's status and its components stay as they are (post an
// update to change them). The first update cannot go: it is the record of
// when the incident was opened and what it affected; correct it instead.
func (s *Store) DeleteIncidentUpdate(ctx context.Context, incidentID, updateID, reason string) (Incident, error) {
	var after Incident
	err := s.inTx(ctx, func(t *tx) error {
		_, u, err := t.incidentUpdate(incidentID, updateID)
		if err != nil {
			return err
		}
		why, err := checkText("reason", reason, MaxReasonLength, true)
		if err != nil {
			return err
		}
		var first string
		if err := t.QueryRowContext(t.ctx, `SELECT id FROM incident_updates WHERE incident_id = ? ORDER BY created_at, seq LIMIT 1`, incidentID).Scan(&first); err != nil {
			return fmt.Errorf("find first update: %w", err)
		}
		if first == updateID {
			return &ConflictError{Message: "the first update cannot be deleted: it records when the incident was opened and what it affected; edit its message instead"}
		}
		if _, err := t.exec(`UPDATE incident_updates SET deleted_at = ?, deleted_reason = ? WHERE id = ?`, t.now, why, updateID); err != nil {
			return fmt.Errorf("delete update: %w", err)
		}
		if _, err := t.exec(`UPDATE incidents SET updated_at = ? WHERE id = ?`, t.now, incidentID); err != nil {
			return fmt.Errorf("touch incident: %w", err)
		}
		if after, err = getIncident(t.ctx, t.sqlTx, incidentID); err != nil {
			return err
		}
		t.record("incident.update_deleted", "incident", incidentID, withdrawnUpdate{IncidentUpdate: u, Reason: why}, nil)
		t.publish(after)
		return nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: delete incident update: %w", err)
	}
	return after, nil
}

// incidentUpdate loads an incident and one of its shown updates, under the
// incident's lock (a correction and a new update must not interleave).
func (t *tx) incidentUpdate(incidentID, updateID string) (Incident, IncidentUpdate, error) {
	if err := t.lock("incident", incidentID); err != nil {
		return Incident{}, IncidentUpdate{}, err
	}
	return getIncidentUpdate(t.ctx, t.sqlTx, incidentID, updateID)
}

// GetIncidentUpdate returns an incident and one of its shown updates; a
// deleted update, or one of another incident, is not found.
func (s *Store) GetIncidentUpdate(ctx context.Context, incidentID, updateID string) (inc Incident, u IncidentUpdate, err error) {
	err = s.reading(ctx, func(q querier) error {
		inc, u, err = getIncidentUpdate(ctx, q, incidentID, updateID)
		return err
	})
	if err != nil {
		return Incident{}, IncidentUpdate{}, fmt.Errorf("store: get incident update: %w", err)
	}
	return inc, u, nil
}

func getIncidentUpdate(ctx context.Context, q querier, incidentID, updateID string) (Incident, IncidentUpdate, error) {
	inc, err := getIncident(ctx, q, incidentID)
	if err != nil {
		return Incident{}, IncidentUpdate{}, err
	}
	for _, u := range inc.Updates {
		if u.ID == updateID {
			return inc, u, nil
		}
	}
	return Incident{}, IncidentUpdate{}, &NotFoundError{Kind: "incident update", ID: updateID}
}

// submitted looks for what an earlier submission with key made: done is
// true, with the incident, when there was one. incidentID is the incident
// an update is for ("" when the submission opens one); a key already used
// for another incident is refused rather than silently ignored.
func (t *tx) submitted(key, incidentID string) (made Incident, done bool, err error) {
	if key == "" {
		return Incident{}, false, nil
	}
	if len(key) > maxKeyLength {
		return Incident{}, false, invalid("idempotency_key", "is %d bytes long; the limit is %d", len(key), maxKeyLength)
	}
	// Two submissions racing with one key wait for each other here, so the
	// second finds the first's update instead of a unique violation.
	if err := t.lock("submission", key); err != nil {
		return Incident{}, false, err
	}
	var owner string
	err = t.QueryRowContext(t.ctx, `SELECT incident_id FROM incident_updates WHERE submission_key = ?`, key).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Incident{}, false, nil
	case err != nil:
		return Incident{}, false, fmt.Errorf("look up submission: %w", err)
	case incidentID != "" && owner != incidentID:
		return Incident{}, false, invalid("idempotency_key", "was already used for another incident; send a new key with each new update")
	}
	made, err = getIncident(t.ctx, t.sqlTx, owner)
	return made, err == nil, err
}

// nullIfEmpty stores "" as NULL, for columns where NULL means "none" and
// a unique index must not count it.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
