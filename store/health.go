package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// A database can be there, answer every read, and still refuse to write:
// the disk is full, the file or the server went read-only, the storage
// fails. The public pages keep being served from memory then, but nothing
// can be changed, and the operator must hear of it (readiness). The store
// remembers the last such failure until a write commits again.

// WriteFailure is why the database last failed to save a change, and when;
// nil while writes succeed.
type WriteFailure struct {
	At  time.Time
	Err error
}

func (f *WriteFailure) Error() string {
	return fmt.Sprintf("the database cannot write since %s: %v", f.At.Format(time.RFC3339), f.Err)
}

func (f *WriteFailure) Unwrap() error { return f.Err }

// writeHealth is shared by the write pool and its transactions.
type writeHealth struct {
	d       dialect
	failure atomic.Pointer[WriteFailure]
}

// note records how a write ended: a failure to write is kept (the first
// one of a run, so that "since" holds), a committed change clears it.
// Other errors (a constraint, a cancelled request) say nothing either way.
func (h *writeHealth) note(err error, wrote bool) {
	if h == nil {
		return
	}
	switch {
	case err == nil && wrote:
		h.failure.Store(nil)
	case err != nil && h.d.cannotWrite(err) && h.failure.Load() == nil:
		h.failure.CompareAndSwap(nil, &WriteFailure{At: time.Now().UTC(), Err: err})
	}
}

// WriteFailure reports that the database cannot write — the last change
// failed for want of space, a read-only file or server, or an I/O error —
// until a change commits again. Nil: writes succeed (or none was tried).
func (s *Store) WriteFailure() *WriteFailure { return s.write.health.failure.Load() }

// CannotWrite reports whether err says the database cannot save anything
// right now (disk full, read-only, I/O error): the caller should answer
// 503 and say so, not report a bug.
func (s *Store) CannotWrite(err error) bool {
	var wf *WriteFailure
	return err != nil && (errors.As(err, &wf) || s.dialect.cannotWrite(err))
}

// CapSQLitePages makes the SQLite file unable to grow past pages pages on
// the writer connection (PRAGMA max_page_count): from then on a write that
// needs a new page fails with SQLITE_FULL, exactly as on a full disk. For
// tests and drills of a full disk; lift undoes it. Not on PostgreSQL.
func (s *Store) CapSQLitePages(ctx context.Context, pages int64) (lift func(context.Context) error, err error) {
	if s.dialect.name() != "sqlite" {
		return nil, errors.New("store: cap pages: only a SQLite file has pages to cap")
	}
	var was int64
	if err := s.write.QueryRowContext(ctx, `PRAGMA max_page_count`).Scan(&was); err != nil {
		return nil, fmt.Errorf("store: cap pages: %w", err)
	}
	set := func(ctx context.Context, n int64) error {
		// A pragma takes no parameters; n is a number we formatted.
		var got int64
		if err := s.write.QueryRowContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, n)).Scan(&got); err != nil {
			return fmt.Errorf("store: cap pages: %w", err)
		}
		return nil
	}
	if err := set(ctx, pages); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return set(ctx, was) }, nil
}
