package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one entry of the change feed.
type Event struct {
	ID         int64           `json:"id"`
	Type       string          `json:"type"` // "incident.created", "component.updated", …
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Payload    json.RawMessage `json:"payload"` // the object after the change, as the API shows it
	CreatedAt  time.Time       `json:"created_at"`
}

// Public reports whether the event may be shown to anyone who reads the
// live stream: every kind but a page's configuration, whose event is there
// only so that every replica rebuilds its pages.
func (e Event) Public() bool { return e.ObjectType != pageKind }

// EventsSince returns the events after id, oldest first, at most limit.
func (s *Store) EventsSince(ctx context.Context, id int64, limit int) ([]Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, type, object_type, object_id, payload, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events since %d: %w", id, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var payload string
		if err := rows.Scan(&e.ID, &e.Type, &e.ObjectType, &e.ObjectID, &payload, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: events since %d: %w", id, err)
		}
		e.Payload = json.RawMessage(payload)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: events since %d: %w", id, err)
	}
	return out, nil
}

// LastEventID is the id of the newest event, 0 when there is none.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT max(id) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: last event id: %w", err)
	}
	return id.Int64, nil
}

// OldestEventID is the id of the oldest event still kept, 0 when none is.
func (s *Store) OldestEventID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT min(id) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: oldest event id: %w", err)
	}
	return id.Int64, nil
}

// PruneEvents deletes all but the newest keep events and returns how many
// it deleted. The feed only serves reconnecting clients; older history lives
// in the entities themselves and the audit log.
func (s *Store) PruneEvents(ctx context.Context, keep int) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?`, keep)
	if err != nil {
		return 0, fmt.Errorf("store: prune events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune events: %w", err)
	}
	return n, nil
}
