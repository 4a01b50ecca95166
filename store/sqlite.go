package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens (creating if needed) the SQLite file at path: WAL,
// busy_timeout, foreign keys, times in UTC, one writer connection that
// begins IMMEDIATE (so every write transaction runs alone), and a read pool.
func (s *Store) openSQLite(ctx context.Context, path string, o openOptions) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := prepareSQLiteFile(abs, o); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	params := url.Values{}
	// The file is there now: SQLite must not create another in its place
	// (mode=rw), should it be removed before the connections open.
	params.Set("mode", "rw")
	busy := o.busyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	for _, p := range []string{fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()), "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		params.Add("_pragma", p)
	}
	params.Set("_time_format", "sqlite")
	params.Set("_timezone", "UTC") // read times back in UTC whatever TZ says
	writeParams := url.Values{}
	for k, v := range params {
		writeParams[k] = v
	}
	writeParams.Set("_txlock", "immediate")

	s.where, s.dialect = abs, sqliteDialect{}
	write, err := sql.Open("sqlite", "file:"+abs+"?"+writeParams.Encode())
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	s.write = &conn{db: write, d: s.dialect, health: &writeHealth{d: s.dialect}}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return err
	}
	read, err := sql.Open("sqlite", "file:"+abs+"?"+params.Encode())
	if err != nil {
		write.Close()
		return fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	read.SetMaxIdleConns(max(4, runtime.NumCPU()))
	s.read = &conn{db: read, d: s.dialect}
	return nil
}

// ownerOnly is the mode of every file that holds the database: it keeps
// webhook secrets, subscriber addresses and hashed credentials.
const ownerOnly fs.FileMode = 0o600

// prepareSQLiteFile makes sure the database file exists with mode 0600
// before SQLite opens it: SQLite creates a new file 0644 (less the umask),
// and gives the -wal and -shm files it makes beside it the database file's
// own mode, so creating the file ourselves is what keeps all three private.
// An existing file that others may read is tightened, and that is logged.
func prepareSQLiteFile(abs string, o openOptions) error {
	if o.existingOnly {
		if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
			return ErrNoDatabase
		} else if err != nil {
			return err
		}
	} else {
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, ownerOnly)
		switch {
		case err == nil:
			if err := f.Close(); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return err
		}
	}
	for _, name := range []string{abs, abs + "-wal", abs + "-shm"} {
		tightenMode(name, o.log)
	}
	return nil
}

// tightenMode takes group and other permissions off name, if it exists.
// A file Herald may not chmod (owned by another user) is left as it is,
// with a warning: refusing to start would take the status page down over
// a permission a person set on purpose.
func tightenMode(name string, log *slog.Logger) {
	fi, err := os.Stat(name)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	was := fi.Mode().Perm()
	if err := os.Chmod(name, was&ownerOnly); err != nil {
		log.Warn("a database file is readable by other users and its mode could not be tightened", "file", name, "mode", fmt.Sprintf("%04o", was), "err", err)
		return
	}
	log.Warn("a database file was readable by other users; it is now readable by its owner only", "file", name, "was", fmt.Sprintf("%04o", was), "now", fmt.Sprintf("%04o", was&ownerOnly))
}

// sqliteDialect is the embedded default. SQLite runs one write transaction
// at a time (one writer connection, BEGIN IMMEDIATE), so every rule already
// sees the database alone: no concurrency hook has anything to do.
type sqliteDialect struct{}

func (sqliteDialect) name() string                   { return "sqlite" }
func (sqliteDialect) rebind(q string) string         { return q }
func (sqliteDialect) timeType() string               { return "DATETIME" }
func (sqliteDialect) lock(*tx, string, string) error { return nil }
func (sqliteDialect) lockFeed(*tx) error             { return nil }
func (sqliteDialect) claimSuffix() string            { return "" }

// readOptions: a SQLite read transaction in WAL mode sees one snapshot.
func (sqliteDialect) readOptions() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }
func (sqliteDialect) committed(*tx, Change) error { return nil }

func (sqliteDialect) isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// isUnavailable: an embedded file is never away; its failures (a full disk,
// a lock held too long) are errors of their own.
func (sqliteDialect) isUnavailable(error) bool { return false }

// cannotWrite: the disk is full (or the file at max_page_count), the file
// or its folder is read-only, or the storage failed.
func (sqliteDialect) cannotWrite(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

func (sqliteDialect) tables(ctx context.Context, s *Store) ([]string, error) {
	return stringsOf(s.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`))
}

// columnTypes: the driver stores Go booleans, times and bytes as SQLite
// does; nothing needs converting.
func (sqliteDialect) columnTypes(context.Context, *tx, string) (func(string, any) any, error) {
	return func(_ string, v any) any { return v }, nil
}

// afterCopy: AUTOINCREMENT follows the highest id inserted by itself.
func (sqliteDialect) afterCopy(*tx, []string) error { return nil }

// backup writes into a file made 0600 beforehand: VACUUM INTO would create
// it 0644, and a backup holds every secret the database does. (VACUUM INTO
// accepts an empty file.)
func (sqliteDialect) settle(ctx context.Context, s *Store) error {
	// A reader holding on past the busy timeout makes the checkpoint stop
	// short (its first column is 1), which is no error: SQLite's automatic
	// checkpoints finish the work.
	var busy, logged, moved int
	if err := s.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &moved); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func (sqliteDialect) backup(ctx context.Context, s *Store, dest string) error {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, ownerOnly)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest) // ours, and at most half written
		return err
	}
	return nil
}

func (sqliteDialect) integrityCheck(ctx context.Context, s *Store) (string, error) {
	var out string
	err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&out)
	return out, err
}
