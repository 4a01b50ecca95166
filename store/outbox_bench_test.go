package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
			st := benchStore(b, backend)
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

// benchStore is a fresh database on backend.
func benchStore(b *testing.B, backend string) *Store {
	if backend == "postgres" {
		return openTestStore(b, pgtest.Start(b).NewDatabase(b))
	}
	return openTestStore(b, filepath.Join(b.TempDir(), "herald.db"))
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

// BenchmarkOutboxBytesPerUpdate sends one update to 100,000 subscribers
// (HERALD_BENCH_SUBSCRIBERS) through the store as the dispatcher does —
// expansion in batches of 1,000, claims of 256, every result recorded sent
// — and measures what the outbox's tables and indexes hold: after sending,
// after the week sent deliveries are kept, and after the month failures
// are kept. SQLite counts the pages in use (dbstat); PostgreSQL
// pg_total_relation_size after VACUUM FULL (a plain VACUUM leaves the
// space to be reused, not returned).
//
//	go test -run '^$' -bench BenchmarkOutboxBytesPerUpdate -benchtime 1x ./store/
func BenchmarkOutboxBytesPerUpdate(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_SUBSCRIBERS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			st := benchStore(b, backend)
			clock := useClock(st, t0)
			importN(b, st, n)
			keep := DefaultOutboxRetention()
			before := outboxBytes(b, st)
			for range b.N {
				mustCreateIncident(b, st, IncidentInput{Name: "Login failures", Body: "Logins fail for 75% of users."})
				sendAll(b, st)
			}
			sent := outboxBytes(b, st)
			clock.Advance(keep.Delivered + time.Hour)
			if _, err := st.PruneOutbox(b.Context(), keep); err != nil {
				b.Fatal(err)
			}
			week := outboxBytes(b, st)
			clock.Advance(keep.Failed)
			if _, err := st.PruneOutbox(b.Context(), keep); err != nil {
				b.Fatal(err)
			}
			month := outboxBytes(b, st)
			per := func(size int64) float64 { return float64(size-before) / float64(b.N) }
			b.ReportMetric(per(sent)/1e3, "kB-sent/update")
			b.ReportMetric(per(week)/1e3, "kB-after-a-week/update")
			b.ReportMetric(per(month)/1e3, "kB-after-a-month/update")
			b.Logf("%s, %d subscribers, %d updates: the outbox holds %.1f kB per update once sent, %.1f kB after a week, %.1f kB after a month",
				backend, n, b.N, per(sent)/1e3, per(week)/1e3, per(month)/1e3)
		})
	}
}

// sendAll expands every job and records every delivery sent, as a
// dispatcher whose sends all succeed would.
func sendAll(b *testing.B, st *Store) {
	ctx := b.Context()
	expandAll(b, st, "bench", 1000)
	for _, ch := range []string{ChannelEmail, ChannelWebhook} {
		for {
			ds, err := st.ClaimDeliveries(ctx, ch, "bench", 256, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			rs := make([]DeliveryResult, len(ds))
			for i, d := range ds {
				rs[i] = DeliveryResult{Delivery: d, Outcome: Sent, Status: 250}
			}
			if err := st.RecordResults(ctx, "bench", rs); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// outboxTables are the tables notifications fill, with their indexes.
var outboxTables = []string{"outbox_jobs", "outbox_batches", "outbox_deliveries", "webhook_attempts", "outbox_counts", "outbox_results"}

// outboxBytes is how much of the database the outbox's tables and their
// indexes take.
func outboxBytes(b *testing.B, st *Store) int64 {
	ctx := b.Context()
	var size int64
	if st.Backend() == "postgres" {
		for _, table := range outboxTables {
			if _, err := st.write.ExecContext(ctx, `VACUUM FULL `+table); err != nil {
				b.Fatal(err)
			}
			var n int64
			if err := st.read.QueryRowContext(ctx, `SELECT pg_total_relation_size(?::regclass)`, table).Scan(&n); err != nil {
				b.Fatal(err)
			}
			size += n
		}
		return size
	}
	if err := st.read.QueryRowContext(ctx, `SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name IN (`+placeholders(len(outboxTables))+`))`,
		stringArgs(outboxTables)...).Scan(&size); err != nil {
		b.Fatal(err)
	}
	return size
}

func stringArgs(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

// BenchmarkOutboxTransactions times the dispatcher's transactions on a
// fan-out to 100,000 subscribers (HERALD_BENCH_SUBSCRIBERS): an expansion
// of 1,000 subscribers (the dispatcher's batch), a claim of 256 email
// deliveries and the recording of 256 results. On SQLite each holds the
// one writer for as long as it takes, and an update posted meanwhile waits
// for it.
//
//	go test -run '^$' -bench BenchmarkOutboxTransactions -benchtime 50x ./store/
func BenchmarkOutboxTransactions(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_SUBSCRIBERS")); err == nil && v > 0 {
		n = v
	}
	ctx := b.Context()
	st := benchStore(b, "sqlite")
	importN(b, st, n)
	email := []string{ChannelEmail}
	newJob := func() Job {
		mustCreateIncident(b, st, IncidentInput{Name: "Login failures", Body: "Logins fail."})
		job, ok, err := st.ClaimJob(ctx, "bench", time.Hour)
		if err != nil || !ok {
			b.Fatalf("ClaimJob: %v, %v", ok, err)
		}
		return job
	}
	b.Run("expand-1000", func(b *testing.B) {
		job := newJob()
		for b.Loop() {
			if _, done, err := st.ExpandJob(ctx, job.ID, "bench", 1000, time.Hour, email); err != nil || done {
				b.Fatalf("ExpandJob: done %v, %v (the job ran out of subscribers: run fewer times)", done, err)
			}
		}
	})
	b.Run("claim-256", func(b *testing.B) {
		for b.Loop() {
			if ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "bench", 256, time.Hour); err != nil || len(ds) != 256 {
				b.Fatalf("claimed %d, %v (the outbox ran dry: run fewer times)", len(ds), err)
			}
		}
	})
	b.Run("record-256", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "bench", 256, time.Hour)
			if err != nil || len(ds) != 256 {
				b.Fatalf("claimed %d, %v (the outbox ran dry: run fewer times)", len(ds), err)
			}
			rs := make([]DeliveryResult, len(ds))
			for i, d := range ds {
				rs[i] = DeliveryResult{Delivery: d, Outcome: Sent, Status: 250}
			}
			b.StartTimer()
			if err := st.RecordResults(ctx, "bench", rs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// expandAll expands every job waiting into deliveries for both channels,
// as a dispatcher owner would, size recipients at a time, and returns the
// jobs.
func expandAll(t testing.TB, st *Store, owner string, size int) []Job {
	t.Helper()
	ctx := t.Context()
	var jobs []Job
	for {
		job, ok, err := st.ClaimJob(ctx, owner, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return jobs
		}
		jobs = append(jobs, job)
		for done := false; !done; {
			if _, done, err = st.ExpandJob(ctx, job.ID, owner, size, time.Minute, []string{ChannelEmail, ChannelWebhook}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
