package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Actor is who made a change: a user, an API token, the CLI, an integration,
// or Herald itself (the maintenance clock).
type Actor struct {
	Type string `json:"type"` // "token", "user", "cli", "integration", "system", "sso" (someone not signed in yet)
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

// AuditFilter selects audit entries. Empty fields do not filter.
type AuditFilter struct {
	ActorType  string
	ActorID    string
	ObjectType string
	ObjectID   string
	Since      time.Time // at or after
	Until      time.Time // before
	BeforeID   int64     // entries older than this one: the next page
	Limit      int       // default 100, at most 10000
}

// QueryAuditLog returns the entries f selects, newest first.
func (s *Store) QueryAuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.ActorType != "" {
		add("actor_type = ?", f.ActorType)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UTC())
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 10000)
	q := `SELECT id, at, actor_type, actor_id, actor_name, action, object_type, object_id, before_json, after_json FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: query audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var before, after *string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor.Type, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after); err != nil {
			return nil, fmt.Errorf("store: query audit log: %w", err)
		}
		if before != nil {
			e.Before = json.RawMessage(*before)
		}
		if after != nil {
			e.After = json.RawMessage(*after)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: query audit log: %w", err)
	}
	return out, nil
}

// AuditActors lists everyone who appears in the audit log, for filtering;
// the name is the most recent one recorded.
func (s *Store) AuditActors(ctx context.Context) ([]Actor, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT actor_type, actor_id, actor_name FROM audit_log
		WHERE id IN (SELECT max(id) FROM audit_log GROUP BY actor_type, actor_id) ORDER BY actor_type, actor_name`)
	if err != nil {
		return nil, fmt.Errorf("store: audit actors: %w", err)
	}
	defer rows.Close()
	var out []Actor
	for rows.Next() {
		var a Actor
		if err := rows.Scan(&a.Type, &a.ID, &a.Name); err != nil {
			return nil, fmt.Errorf("store: audit actors: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AuditObjectTypes lists the kinds of object the audit log mentions.
func (s *Store) AuditObjectTypes(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT object_type FROM audit_log ORDER BY object_type`)
	if err != nil {
		return nil, fmt.Errorf("store: audit object types: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("store: audit object types: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
