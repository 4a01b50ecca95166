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
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Store is the database: SQLite (the embedded default) or PostgreSQL (for
// several replicas), one set of rules over both (see dialect).
type Store struct {
	// write takes every write transaction; read every read outside one.
	// On SQLite they are separate pools (one writer connection: SQLite
	// allows one writer, and queuing in Go is cheaper than busy-waiting in
	// SQLite); on PostgreSQL one pool.
	write *conn
	read  *conn
	// where names the database for people: the file's path, or the
	// PostgreSQL URL without its password.
	where string

	// clock is the time source; tests and the demo data replace it.
	clock atomic.Pointer[func() time.Time]

	dialect dialect

	mu        sync.Mutex // guards listeners
	listeners map[chan Change]struct{}

	// writers orders write transactions on SQLite's one writer.
	writers writeQueue

	links   linkKey   // the link-signing key, read once
	factors factorKey // seals TOTP secrets, read once

	// passwordChecks counts the sign-in password verifications run
	// (PasswordChecks).
	passwordChecks atomic.Int64
	// checkCost is how long a sign-in's password check takes, in
	// nanoseconds (noteCheckCost); 0 before the first.
	checkCost atomic.Int64

	// stop ends what the backend runs in the background (PostgreSQL's
	// LISTEN connection); nil when nothing runs.
	stop func()
	// listenErr is why the LISTEN connection is down, nil while it is up.
	listenErr atomic.Pointer[error]
	// origin names this process's commits in the signal other processes
	// on the same database receive.
	origin string
}

// Open opens the database named by database — a SQLite file path, or a
// postgres:// (postgresql://) URL — creating a SQLite file if needed
// (unless ExistingOnly), and runs every pending migration.
func Open(ctx context.Context, database string, opts ...Option) (*Store, error) {
	o := openOptions{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{listeners: map[chan Change]struct{}{}, origin: randomString(12)}
	s.SetClock(time.Now)
	var err error
	if IsPostgresURL(database) {
		err = s.openPostgres(ctx, database)
	} else {
		err = s.openSQLite(ctx, database, o)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Option changes how Open opens a database.
type Option func(*openOptions)

type openOptions struct {
	existingOnly bool
	log          *slog.Logger
	busyTimeout  time.Duration
}

// defaultBusyTimeout is how long a SQLite write waits for a lock another
// process holds before it fails.
const defaultBusyTimeout = 10 * time.Second

// WithBusyTimeout sets how long a SQLite write waits for a write lock held
// by another process before it fails (default 10s); tests that hold the
// lock on purpose make it short. PostgreSQL is unaffected.
func WithBusyTimeout(d time.Duration) Option { return func(o *openOptions) { o.busyTimeout = d } }

// ExistingOnly makes Open refuse to create a SQLite file that is not there
// (ErrNoDatabase): a command run in the wrong folder must not quietly start
// an empty database beside the real one. A PostgreSQL database always
// exists before Herald connects to it, so it is unaffected.
func ExistingOnly() Option { return func(o *openOptions) { o.existingOnly = true } }

// WithLogger is where Open reports what it changed on the way (a database
// file's mode tightened); slog.Default() otherwise.
func WithLogger(l *slog.Logger) Option { return func(o *openOptions) { o.log = l } }

// ErrNoDatabase is Open with ExistingOnly on a SQLite file that does not
// exist.
var ErrNoDatabase = errors.New("no database there")

// Close stops the backend's background work and closes the pools.
func (s *Store) Close() error {
	if s.stop != nil {
		s.stop()
	}
	if s.read == s.write {
		return s.write.Close()
	}
	return errors.Join(s.read.Close(), s.write.Close())
}

// Path names the database for people: the SQLite file's absolute path, or
// the PostgreSQL URL with its password removed.
func (s *Store) Path() string { return s.where }

// Backend is "sqlite" or "postgres".
func (s *Store) Backend() string { return s.dialect.name() }

// SetClock replaces the store's clock. For tests and the demo data set.
func (s *Store) SetClock(now func() time.Time) { s.clock.Store(&now) }

// Now is the current time in UTC by the store's clock: what "today" is for
// every page and rule, so that a test or the demo moving the clock moves all.
// It is cut to the microsecond, the finest time both backends keep, so that
// an object the store returns equals the one it reads back later.
func (s *Store) Now() time.Time { return (*s.clock.Load())().UTC().Truncate(time.Microsecond) }

func (s *Store) now() time.Time { return s.Now() }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Unavailable reports whether err says the database cannot be reached
// right now (PostgreSQL down or unreachable): the caller should answer
// 503 and try again later, not report a bug.
func (s *Store) Unavailable(err error) bool { return err != nil && s.dialect.isUnavailable(err) }

// Backup writes an online, consistent copy of a SQLite database to dest.
// On PostgreSQL it is ErrBackupElsewhere: use pg_dump.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if err := s.dialect.backup(ctx, s, dest); err != nil {
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	return nil
}

// ErrBackupElsewhere is Backup on a database that its own tools back up.
var ErrBackupElsewhere = errors.New("this database is backed up with its own tools (pg_dump)")

// migrate applies the backend's embedded migrations not yet recorded in
// schema_migrations, each in its own transaction. It refuses a database
// that a newer Herald has migrated further than this one knows.
func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/" + s.dialect.name()
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at `+s.dialect.timeType()+` NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	names, err := fs.Glob(migrationFiles, dir+"/*.sql")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	sort.Strings(names)
	known := 0
	for _, name := range names {
		base := path.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with a number: %w", base, err)
		}
		known = max(known, version)
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
		if err := s.applyMigration(ctx, version, string(body)); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
	}
	var applied sql.NullInt64
	if err := s.write.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&applied); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if int(applied.Int64) > known {
		return &SchemaTooNewError{Database: int(applied.Int64), Known: known}
	}
	return nil
}

// foreignKeysOff opens a SQLite migration that rebuilds a table other
// tables refer to (https://sqlite.org/lang_altertable.html#otheralter): with
// foreign keys on, dropping the old table would cascade to the rows that
// refer to it. Such a migration runs with them off, on a connection of its
// own, and commits only if every reference still holds.
const foreignKeysOff = "-- herald:foreign-keys-off\n"

// applyMigration runs one migration and records it, in one transaction.
func (s *Store) applyMigration(ctx context.Context, version int, body string) (err error) {
	c, err := s.write.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.dialect.name() == "sqlite" && strings.HasPrefix(body, foreignKeysOff) {
		// A pragma, not a transaction's setting: it outlives the
		// transaction on this connection, which the pool keeps.
		if _, err := c.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer func() {
			if _, rerr := c.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); rerr != nil {
				err = errors.Join(err, fmt.Errorf("turn foreign keys back on: %w", rerr))
			}
		}()
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op once committed
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if s.dialect.name() == "sqlite" {
		var table string
		switch err := tx.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_check LIMIT 1`).Scan(&table); {
		case err == nil:
			return fmt.Errorf("rows of %s refer to rows that are gone", table)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("check foreign keys: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), version, s.now()); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaTooNewError is a database that a newer Herald has migrated: this
// binary would not know its tables.
type SchemaTooNewError struct{ Database, Known int }

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("the database is at schema version %d, but this Herald knows versions up to %d: run a Herald at least as new as the one that migrated it", e.Database, e.Known)
}

// SchemaVersion is the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.read.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// IntegrityCheck asks the database to check itself: "ok", or what is wrong.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	out, err := s.dialect.integrityCheck(ctx, s)
	if err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return out, nil
}
