package store

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// seedDeliveries writes jobs finished jobs with perJob email deliveries
// each, as updates to that many subscribers leave them: almost all sent, one
// in a thousand failed, one in ten thousand still pending. The rows go in
// with one INSERT … SELECT per job over a generated series, so two million
// take seconds on SQLite rather than the hours sending them would; the
// counts are then taken as the migration takes them.
func seedDeliveries(tb testing.TB, st *Store, jobs, perJob int) {
	tb.Helper()
	ctx := tb.Context()
	at := st.Now()
	err := st.inTx(ctx, func(t *tx) error {
		for j := range jobs {
			var id int64
			if err := t.QueryRowContext(ctx, `INSERT INTO outbox_jobs (kind, object_type, object_id, payload, email, webhook, expanded_at, email_cursor, created_at)
				VALUES ('incident.updated', 'incident', ?, '{}', ?, ?, ?, -1, ?) RETURNING id`, fmt.Sprintf("i%d", j), true, true, at, at).Scan(&id); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO outbox_deliveries (job_id, channel, recipient_id, state, attempts, next_attempt_at, last_status, created_at, sent_at)
				WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				SELECT ?, 'email', 's' || i, CASE WHEN i % 10000 = 0 THEN 'pending' WHEN i % 1000 = 0 THEN 'failed' ELSE 'sent' END, 1, ?, 250, ?, ? FROM n`,
				perJob, id, at, at, at); err != nil {
				return err
			}
		}
		if _, err := t.exec(`DELETE FROM outbox_counts`); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO outbox_counts (channel, state, n) SELECT channel, state, count(*) FROM outbox_deliveries GROUP BY channel, state`)
		return err
	})
	if err != nil {
		tb.Fatalf("seed %d deliveries: %v", jobs*perJob, err)
	}
}

// BenchmarkOutboxScrape is what a /metrics scrape reads from the outbox —
// its counts by channel and state, and the jobs waiting to be expanded —
// with 2,000,000 deliveries in it (20 updates to 100,000 subscribers), on
// both backends; and, for comparison in the same run, the GROUP BY over
// every delivery that each scrape ran before the counts were kept.
//
//	go test -run '^$' -bench BenchmarkOutboxScrape -benchtime 20x ./store/
func BenchmarkOutboxScrape(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			where := filepath.Join(b.TempDir(), "herald.db")
			if backend == "postgres" {
				where = pgtest.Start(b).NewDatabase(b)
			}
			st := openTestStore(b, where)
			seedDeliveries(b, st, 20, 100_000)
			if backend == "postgres" {
				if _, err := st.write.ExecContext(b.Context(), `ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("counts", func(b *testing.B) {
				for b.Loop() {
					c, err := st.OutboxCounts(b.Context())
					if err != nil || c["email/sent"] == 0 {
						b.Fatalf("counts %v, %v", c, err)
					}
					if n, err := st.PendingJobs(b.Context()); err != nil || n != 0 {
						b.Fatalf("pending jobs %d, %v", n, err)
					}
				}
			})
			b.Run("group-by", func(b *testing.B) {
				for b.Loop() {
					if got := countGroups(b, st); got["email/sent"] == 0 {
						b.Fatalf("counts %v", got)
					}
				}
			})
		})
	}
}

// countGroups counts the deliveries by channel and state, as OutboxCounts
// did before the counts were kept.
func countGroups(tb testing.TB, st *Store) map[string]int {
	tb.Helper()
	rows, err := st.read.QueryContext(tb.Context(), `SELECT channel, state, count(*) FROM outbox_deliveries GROUP BY channel, state`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var ch, state string
		var n int
		if err := rows.Scan(&ch, &state, &n); err != nil {
			tb.Fatal(err)
		}
		out[ch+"/"+state] = n
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
