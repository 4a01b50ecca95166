package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Keyset is a place in a list ordered newest first (by time, then id): the
// next page starts after it, found through the list's index however deep
// it lies, where an OFFSET would read everything above it.
type Keyset struct {
	At time.Time
	ID string // "" puts the place before everything at At
}

// where is the condition for what comes after k, on the time column col.
func (k Keyset) where(col string) (string, []any) {
	at := k.At.UTC()
	// The first term is a range the time index can seek to; the rest only
	// sorts out entries at the cursor's own time.
	return `(` + col + ` <= ? AND (` + col + ` < ? OR id > ?))`, []any{at, at, k.ID}
}

// whereNewer is the condition for what comes before k (newer).
func (k Keyset) whereNewer(col string) (string, []any) {
	at := k.At.UTC()
	return `(` + col + ` >= ? AND (` + col + ` > ? OR id < ?))`, []any{at, at, k.ID}
}

// keysetPage is the conditions and order of one page of a list ordered
// newest first by the time column col: what comes after before (older),
// and what comes before after (newer). A page of newer entries is the
// nearest ones, so it is read in the opposite order — nearest first, up
// the same index — and reversed is true: the caller turns it back.
func keysetPage(col string, before, after *Keyset) (where []string, args []any, order string, reversed bool) {
	if before != nil {
		w, a := before.where(col)
		where, args = append(where, w), append(args, a...)
	}
	if after != nil {
		w, a := after.whereNewer(col)
		where, args = append(where, w), append(args, a...)
		return where, args, col + ` ASC, id DESC`, true
	}
	return where, args, col + ` DESC, id`, false
}

// HistoryPlace is the place in the public history (resolved incidents and
// completed maintenance, newest first) after the first skip entries: where
// an old numbered page (?page=n) begins. It reads times and ids alone; ok
// is false when the history is shorter.
func (s *Store) HistoryPlace(ctx context.Context, skip int) (k Keyset, ok bool, err error) {
	if skip <= 0 {
		return Keyset{}, false, nil
	}
	err = s.read.QueryRowContext(ctx, `
		SELECT at, id FROM (
			SELECT created_at AS at, id FROM incidents WHERE status = 'resolved'
			UNION ALL
			SELECT scheduled_for AS at, id FROM maintenances WHERE status = 'completed'
		) h ORDER BY at DESC, id LIMIT 1 OFFSET ?`, skip-1).Scan(&k.At, &k.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Keyset{}, false, nil
	case err != nil:
		return Keyset{}, false, fmt.Errorf("store: history place: %w", err)
	}
	k.At = k.At.UTC()
	return k, true, nil
}
