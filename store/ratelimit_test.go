package store

import (
	"testing"
	"time"
)

// A limit is over a sliding window: attempts age out one by one, a refused
// attempt does not count, and an attempt counts against all its limits or
// none. The counts are the database's, so every replica sees the same.
func TestAttemptsSlideAndCountTogether(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		limit := Limit{Key: "subscribe:192.0.2.7", Max: 2, Window: time.Minute}
		steps := []struct {
			after time.Duration
			want  bool
		}{
			{0, true}, {30 * time.Second, true}, {10 * time.Second, false}, // two in a minute, the third refused
			{20 * time.Second, true},  // the first has aged out; the refused one never counted
			{10 * time.Second, false}, // the second and third are within the minute
			{time.Minute, true},
		}
		for i, s := range steps {
			clock.Advance(s.after)
			if got, err := st.Attempt(ctx, limit); err != nil || got != s.want {
				t.Errorf("attempt %d: allowed %v, %v; want %v", i+1, got, err, s.want)
			}
		}
		if ok, _ := st.Attempt(ctx, Limit{Key: "subscribe:192.0.2.8", Max: 2, Window: time.Minute}); !ok {
			t.Error("another client was refused: limits are per key")
		}

		account := Limit{Key: "signin-account:a@example.com", Max: 1, Window: time.Hour}
		address := Limit{Key: "signin-address:192.0.2.9", Max: 5, Window: time.Hour}
		if ok, _ := st.Attempt(ctx, account, address); !ok {
			t.Fatal("the first sign-in attempt was refused")
		}
		if ok, _ := st.Attempt(ctx, account, address); ok {
			t.Fatal("a second attempt at a full account passed")
		}
		// The refused attempt counted against neither limit: the address
		// still has four left.
		other := Limit{Key: "signin-account:b@example.com", Max: 10, Window: time.Hour}
		for i := range 4 {
			if ok, _ := st.Attempt(ctx, other, address); !ok {
				t.Fatalf("address attempt %d refused; the refused one must not have counted", i+2)
			}
		}
		if ok, _ := st.Attempt(ctx, other, address); ok {
			t.Error("a sixth attempt from the address passed")
		}
		if err := st.RefundAttempt(ctx, address.Key); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Attempt(ctx, other, address); !ok {
			t.Error("a refunded attempt did not free its place")
		}
		if err := st.ForgetAttempts(ctx, account.Key); err != nil {
			t.Fatal(err)
		}
		if n := countAttempts(t, st, account.Key); n != 0 {
			t.Errorf("%d attempts left after forgetting the account", n)
		}
		clock.Advance(2 * time.Hour)
		if n, err := st.PruneAttempts(ctx, clock.Now().Add(-time.Hour)); err != nil || n == 0 {
			t.Errorf("PruneAttempts = %d, %v; want the old attempts gone", n, err)
		}
	})
}

func countAttempts(t *testing.T, st *Store, key string) int {
	t.Helper()
	var n int
	if err := st.read.QueryRowContext(t.Context(), `SELECT count(*) FROM rate_attempts WHERE key = ?`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
