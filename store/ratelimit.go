package store

import (
	"context"
	"fmt"
	"time"
)

// Limit is a sliding window: at most Max attempts keyed Key in any span of
// Window. The attempts live in the database, so that every replica counts
// the same ones: a guesser cannot multiply attempts by spreading them over
// replicas, or wipe them by waiting for a restart.
type Limit struct {
	Key    string
	Max    int
	Window time.Duration
}

// Attempt counts one attempt against every limit, if every one of them has
// room for it, and reports whether it did. Checking and counting happen in
// one transaction with each key locked, so a burst of concurrent attempts
// cannot all pass the check before the first is counted.
func (s *Store) Attempt(ctx context.Context, limits ...Limit) (bool, error) {
	ok := true
	err := s.inTx(ctx, func(t *tx) error {
		for _, l := range limits {
			if err := t.lock("rate", l.Key); err != nil {
				return err
			}
			var n int
			if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM rate_attempts WHERE key = ? AND at > ?`, l.Key, t.now.Add(-l.Window)).Scan(&n); err != nil {
				return err
			}
			if n >= l.Max {
				ok = false
				return nil
			}
		}
		for _, l := range limits {
			if _, err := t.exec(`INSERT INTO rate_attempts (key, at) VALUES (?, ?)`, l.Key, t.now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: count attempt: %w", err)
	}
	return ok, nil
}

// ForgetAttempts clears every attempt keyed key (a sign-in that succeeded
// clears its account's failures).
func (s *Store) ForgetAttempts(ctx context.Context, key string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM rate_attempts WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: forget attempts: %w", err)
	}
	return nil
}

// RefundAttempt takes back the newest attempt keyed key.
func (s *Store) RefundAttempt(ctx context.Context, key string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM rate_attempts WHERE id = (SELECT max(id) FROM rate_attempts WHERE key = ?)`, key); err != nil {
		return fmt.Errorf("store: refund attempt: %w", err)
	}
	return nil
}

// PruneAttempts deletes attempts made before cutoff: older than any
// limit's window, they count against nothing.
func (s *Store) PruneAttempts(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM rate_attempts WHERE at < ?`, cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: prune attempts: %w", err)
	}
	return res.RowsAffected()
}
