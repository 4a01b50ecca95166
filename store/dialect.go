package store

import (
	"context"
	"database/sql"
)

// dialect is what differs between database backends beneath the one store:
// how queries are written, the hooks of the concurrency contract (see the
// package comment), migrations, backup and the post-commit signal. The
// rules themselves live once, in Go, in the store's methods.
type dialect interface {
	// name is the backend, and the folder of its migrations.
	name() string
	// rebind turns a query written with ? placeholders into the backend's.
	rebind(query string) string
	// timeType is the column type of a time, for schema_migrations.
	timeType() string
	// lock is tx.lock: make a check-then-write rule on kind/id safe
	// against concurrent writers until the transaction ends.
	lock(t *tx, kind, id string) error
	// lockFeed is taken just before a transaction writes change-feed
	// events and held to commit, so that feed ids commit in order.
	lockFeed(t *tx) error
	// readOptions begins a read-only transaction that sees one snapshot.
	readOptions() *sql.TxOptions
	// claimSuffix ends the SELECT that picks rows to claim.
	claimSuffix() string
	// committed runs last inside a transaction that changed something,
	// with the signal its commit will send: the hook that tells other
	// processes on the same database.
	committed(t *tx, c Change) error
	// isUniqueViolation reports an error from a unique constraint: two
	// writers raced to the same key, which callers hear as a conflict.
	isUniqueViolation(err error) bool
	// isUnavailable reports an error that says the database cannot be
	// reached (as opposed to refusing what was asked).
	isUnavailable(err error) bool
	// cannotWrite reports an error that says the database cannot save
	// anything now: out of space, read-only, failing storage.
	cannotWrite(err error) bool
	// tables lists the database's tables, for copying.
	tables(ctx context.Context, s *Store) ([]string, error)
	// columnTypes returns how to convert a value read from the other
	// backend for a column of table here (SQLite keeps booleans as
	// integers, PostgreSQL wants them boolean).
	columnTypes(ctx context.Context, t *tx, table string) (func(column string, v any) any, error)
	// afterCopy moves the sequences on past the rows copied in.
	afterCopy(t *tx, tables []string) error
	// settle follows a bulk write (an import, a copy). SQLite folds its
	// write-ahead log back into the database file: a bulk write leaves the
	// log as large as what it wrote (150 MB for 100,000 incidents), and
	// reads and commits pay for it until a checkpoint completes, which busy
	// readers can put off. PostgreSQL refreshes the planner's statistics
	// rather than wait for autovacuum to notice. (SQLite keeps none: its
	// plans were chosen without them.)
	settle(ctx context.Context, s *Store) error
	backup(ctx context.Context, s *Store, dest string) error
	integrityCheck(ctx context.Context, s *Store) (string, error)
}
