package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Actor is who made a change: a user, an API token, the CLI, an integration,
// or Herald itself (the maintenance clock).
type Actor struct {
	Type string `json:"type"` // "token", "user", "cli", "integration", "system"
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SystemActor is Herald acting on its own, e.g. starting maintenance on time.
var SystemActor = Actor{Type: "system", ID: "herald", Name: "Herald"}

type actorKey struct{}

// WithActor returns a context whose changes are recorded as made by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor recorded in ctx, SystemActor when none is.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return SystemActor
}

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      Actor           `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
}

// audit records a change in the same transaction as the change itself.
// before and after are marshalled to JSON; nil stays NULL.
func (t *tx) audit(action, objectType, objectID string, before, after any) error {
	enc := func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if string(b) == "null" { // a typed nil (*Postmortem(nil), say) is absent too
			return nil, nil
		}
		return string(b), nil
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	actor := ActorFrom(t.ctx)
	_, err = t.exec(`INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, object_type, object_id, before_json, after_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.now, actor.Type, actor.ID, actor.Name, action, objectType, objectID, b, a)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditLog returns audit entries about one kind of object (or one object),
// newest first; empty arguments do not filter. See QueryAuditLog for more.
func (s *Store) AuditLog(ctx context.Context, objectType, objectID string, limit int) ([]AuditEntry, error) {
	return s.QueryAuditLog(ctx, AuditFilter{ObjectType: objectType, ObjectID: objectID, Limit: limit})
}
