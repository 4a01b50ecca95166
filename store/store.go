// Package store is Herald's persistence: the domain types, the rules that keep
// them consistent, and the SQL that stores them. One Store type, one file per
// entity, SQL next to the method that runs it.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the database. Writes go through a single connection (SQLite allows
// one writer; queuing in Go is cheaper than busy-waiting in SQLite), reads
// through a separate pool.
type Store struct {
	write *sql.DB
	read  *sql.DB
	path  string

	// clock is the time source; tests and the demo data replace it.
	clock atomic.Pointer[func() time.Time]

	mu        sync.Mutex
	listeners map[chan struct{}]struct{}

	outbox *outboxState // notification wake-ups and the link-signing key
}

// Open opens (creating if needed) the SQLite database at path and runs every
// pending migration.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	params := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		params.Add("_pragma", p)
	}
	params.Set("_time_format", "sqlite")
	params.Set("_timezone", "UTC") // read times back in UTC whatever TZ says
	writeParams := url.Values{}
	for k, v := range params {
		writeParams[k] = v
	}
	writeParams.Set("_txlock", "immediate")

	write, err := sql.Open("sqlite", "file:"+abs+"?"+writeParams.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	s := &Store{write: write, path: abs, listeners: map[chan struct{}]struct{}{}, outbox: newOutboxState()}
	s.SetClock(time.Now)
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}

	read, err := sql.Open("sqlite", "file:"+abs+"?"+params.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	read.SetMaxIdleConns(max(4, runtime.NumCPU()))
	s.read = read
	return s, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Path is the database file's absolute path.
func (s *Store) Path() string { return s.path }

// SetClock replaces the store's clock. For tests and the demo data set.
func (s *Store) SetClock(now func() time.Time) { s.clock.Store(&now) }

// Now is the current time in UTC by the store's clock: what "today" is for
// every page and rule, so that a test or the demo moving the clock moves all.
func (s *Store) Now() time.Time { return (*s.clock.Load())().UTC() }

func (s *Store) now() time.Time { return s.Now() }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Backup writes an online, consistent copy of the database to dest.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if _, err := s.write.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DATETIME NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with a number: %w", base, err)
		}
		var done int
		if err := s.write.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&done); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if done > 0 {
			continue
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, s.now()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
	}
	return nil
}

// SchemaVersion is the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.read.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Subscribe returns a channel that receives a signal after each committed
// change (coalesced: one pending signal at most), and a function to stop.
// Readers then call EventsSince to learn what changed. A replica on another
// database would feed the same channel from LISTEN/NOTIFY.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.listeners[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.listeners, ch)
		s.mu.Unlock()
	}
}

func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.listeners {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending; the reader will see this change too
		}
	}
}

// tx is one write transaction: the changes, their events and audit rows commit
// together or not at all.
type tx struct {
	*sql.Tx
	ctx     context.Context
	now     time.Time
	pending []pendingEvent
	// enqueued is set when the transaction wrote notification jobs.
	enqueued bool
	outbox   *outboxState
}

type pendingEvent struct{ typ, objectType, objectID string }

// inTx runs fn in a write transaction and, once it has committed, tells
// subscribers that something changed.
func (s *Store) inTx(ctx context.Context, fn func(*tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{Tx: sqlTx, ctx: ctx, now: s.now(), outbox: s.outbox}
	err = fn(t)
	if err == nil {
		err = t.writeEvents()
	}
	if err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(t.pending) > 0 {
		s.notify()
	}
	if t.enqueued {
		s.wakeOutbox()
	}
	return nil
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(t.ctx, query, args...)
}

// event queues an entry for the change feed. Entries are written when the
// transaction's work is done, each once, carrying the object's final state.
func (t *tx) event(typ, objectType, objectID string) error {
	for _, p := range t.pending {
		if p.typ == typ && p.objectID == objectID {
			return nil
		}
	}
	t.pending = append(t.pending, pendingEvent{typ, objectType, objectID})
	return nil
}

// writeEvents appends the queued events, each with its object as the API
// shows it (just {"id"} for a deleted object).
func (t *tx) writeEvents() error {
	for _, p := range t.pending {
		var obj any
		var err error
		switch {
		case strings.HasSuffix(p.typ, ".deleted"):
			obj = map[string]string{"id": p.objectID}
		case p.objectType == "component":
			obj, err = t.component(p.objectID)
		case p.objectType == "component_group":
			obj, err = t.groupWithComponents(p.objectID)
		case p.objectType == "incident":
			obj, err = getIncident(t.ctx, t.Tx, p.objectID)
		case p.objectType == "maintenance":
			obj, err = getMaintenance(t.ctx, t.Tx, p.objectID)
		default:
			obj = map[string]string{"id": p.objectID}
		}
		if err != nil {
			return fmt.Errorf("event %s %s: %w", p.typ, p.objectID, err)
		}
		payload, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("event %s %s: %w", p.typ, p.objectID, err)
		}
		if _, err := t.exec(`INSERT INTO events (type, object_type, object_id, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.typ, p.objectType, p.objectID, string(payload), t.now); err != nil {
			return fmt.Errorf("record event %s: %w", p.typ, err)
		}
	}
	return nil
}

// Event is one entry of the change feed.
type Event struct {
	ID         int64           `json:"id"`
	Type       string          `json:"type"` // "incident.created", "component.updated", …
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Payload    json.RawMessage `json:"payload"` // the object after the change, as the API shows it
	CreatedAt  time.Time       `json:"created_at"`
}

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
