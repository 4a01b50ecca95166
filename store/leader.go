package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Leadership is a process's claim to run the singleton work — the
// maintenance clock and pruning — that exactly one of several replicas
// must run. On SQLite there is one process and it always leads. On
// PostgreSQL it is a session advisory lock held on a connection of its
// own: when the leader dies its connection closes, the lock goes with it,
// and the next replica to try takes over.
type Leadership struct {
	c *sql.Conn // nil on SQLite
}

// ErrNotLeader means another process leads.
var ErrNotLeader = errors.New("store: another process leads")

// Lead claims leadership, or returns ErrNotLeader when another process
// holds it.
func (s *Store) Lead(ctx context.Context) (*Leadership, error) {
	if s.dialect.name() != "postgres" {
		return &Leadership{}, nil
	}
	c, err := s.write.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lead: %w", err)
	}
	var got bool
	if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, pgLockLeader).Scan(&got); err != nil {
		c.Close()
		return nil, fmt.Errorf("store: lead: %w", err)
	}
	if !got {
		c.Close()
		return nil, ErrNotLeader
	}
	return &Leadership{c: c}, nil
}

// Held checks that the claim still stands: its connection still answers.
// A claim that does not is gone for good; Release it and Lead again.
func (l *Leadership) Held(ctx context.Context) bool {
	return l.c == nil || l.c.PingContext(ctx) == nil
}

// Release gives leadership up.
func (l *Leadership) Release() {
	if l.c == nil {
		return
	}
	l.c.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, pgLockLeader)
	l.c.Close()
}
