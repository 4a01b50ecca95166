// Package store is Herald's persistence: the domain types, the rules that
// keep them consistent, and the SQL that stores them. One Store type; one
// file per entity, with its SQL next to the method that runs it.
//
// # The write path
//
// Every mutation is one transaction (inTx) that collects a change set —
// audit entries, change-feed events carrying each changed public object as
// the API shows it, and notification jobs — and writes it at commit in one
// defined order (tx.commit). After the commit one signal, a Change, tells
// every listener (Store.Changes) how far the feed advanced and whether jobs
// were queued: the snapshot, the live hub and the dispatcher all wake on it
// and nothing else.
//
// # The concurrency contract
//
// Several rules read state and then write on what they read:
//
//   - the last active admin is never demoted, disabled or deleted;
//   - one subscriber per address;
//   - a maintenance only moves forward (scheduled → in progress →
//     verifying → completed), and is started or completed once;
//   - an incident's components return to rest only when no other open
//     incident or running maintenance holds them;
//   - a draft is published (or discarded) once;
//   - a delivery is replayed only once it has finished.
//
// Each of them calls tx.lock(kind, id) before it reads. On SQLite every
// write transaction runs alone (one writer connection, BEGIN IMMEDIATE), so
// the lock is a no-op: the rule already sees everything committed before
// and nothing can commit in between. A backend with concurrent writers
// turns it into a row lock held to commit.
//
// Jobs and deliveries are claimed through one function (tx.claimIDs) that
// such a backend gives FOR UPDATE SKIP LOCKED, so two dispatchers never
// claim the same row; a lease then guards a claim across transactions.
//
// Change-feed ids must be in commit order: readers (the live hub, a
// reconnecting stream's Last-Event-ID) ask for "everything after N" and
// never look back. On SQLite ids are assigned inside the single writer's
// transaction, so id order is commit order. tx.commit takes the dialect's
// feed lock just before it writes events, which a backend with concurrent
// writers holds to commit so that event-writing transactions commit one at
// a time, in id order.
package store

import (
	"context"
	"database/sql"
	"embed"
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

	dialect dialect

	mu        sync.Mutex // guards listeners
	listeners map[chan Change]struct{}

	links linkKey // the link-signing key, read once
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

	s := &Store{write: write, path: abs, dialect: sqliteDialect{}, listeners: map[chan Change]struct{}{}}
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

// IntegrityCheck runs SQLite's integrity check: "ok", or what is wrong.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var out string
	if err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&out); err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return out, nil
}
