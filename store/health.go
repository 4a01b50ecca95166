package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// A database can be there, answer every read, and still refuse to write:
// the disk is full, the file or the server went read-only, the storage
// fails. The public pages keep being served from memory then, but nothing
// can be changed, and the operator must hear of it (readiness). The store
// remembers the last such failure until a write commits again, and while
// it does, a readiness check probes with a write of its own (RecheckWrites),
// so that a server with nothing else to write recovers by itself.

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
	probed  atomic.Int64 // when RecheckWrites last probed, Unix nanoseconds by the store's clock
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

// writeProbeEvery is how often at most RecheckWrites writes: a readiness
// check polled every second by every load balancer must not become a
// stream of writes to a database already in trouble.
const writeProbeEvery = 5 * time.Second

// writeProbeSize is the probe's filler, larger than a SQLite page (4 KiB):
// a probe that fitted in a page with room to spare would succeed on a
// full disk that refuses every real change.
const writeProbeSize = 8 << 10

// RecheckWrites is WriteFailure for a readiness check: while the database
// is known to have failed to write, it tries a write of its own (a row
// written and deleted again), at most every writeProbeEvery by the store's
// clock, so that once the disk has room or the server takes writes again
// the failure clears without waiting for someone to change something.
func (s *Store) RecheckWrites(ctx context.Context) *WriteFailure {
	h := s.write.health
	wf := h.failure.Load()
	if wf == nil {
		return nil
	}
	now, last := s.now().UnixNano(), h.probed.Load()
	if last != 0 && time.Duration(now-last) < writeProbeEvery && now >= last {
		return wf
	}
	if !h.probed.CompareAndSwap(last, now) {
		return wf // another check is probing
	}
	_ = s.probeWrite(ctx) // its failure, if one of not writing, is the one kept
	return h.failure.Load()
}

// probeWrite writes a row and deletes it again, in one transaction whose
// commit tells the pool's health how it went (sqlTx.Commit).
func (s *Store) probeWrite(ctx context.Context) error {
	filler := make([]byte, writeProbeSize/2)
	if _, err := rand.Read(filler); err != nil { // random: PostgreSQL would compress a repeated one to nothing
		return fmt.Errorf("store: probe write: %w", err)
	}
	t, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		s.write.health.note(err, false)
		return fmt.Errorf("store: probe write: %w", err)
	}
	defer t.Rollback()
	if _, err := t.ExecContext(ctx, `INSERT INTO write_probe (id, filler) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET filler = excluded.filler`, hex.EncodeToString(filler)); err != nil {
		return fmt.Errorf("store: probe write: %w", err)
	}
	if _, err := t.ExecContext(ctx, `DELETE FROM write_probe`); err != nil {
		return fmt.Errorf("store: probe write: %w", err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: probe write: %w", err)
	}
	return nil
}

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
