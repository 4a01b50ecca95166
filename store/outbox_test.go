package store

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/herald-status/herald/store/pgtest"
)

func importN(t testing.TB, st *Store, n int) {
	t.Helper()
	list := make([]SubscriberInput, n)
	for i := range list {
		list[i].Email = fmt.Sprintf("user%d@example.com", i)
	}
	if added, err := st.ImportSubscribers(t.Context(), list); err != nil || added != n {
		t.Fatalf("ImportSubscribers = %d, %v", added, err)
	}
}

// The write path writes one job per change, never a row per subscriber.
func TestOutboxOneJobPerChange(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		importN(t, st, 1000)
		c := mustCreateComponent(t, st, "API")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{c.ID: MajorOutage}})
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified})
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Monitoring, SkipNotify: true})
		// incident.created, component.updated (API down), incident.updated;
		// the quiet update none.
		if n, _ := st.PendingJobs(t.Context()); n != 3 {
			t.Errorf("%d jobs, want 3", n)
		}
		if got := countRows(t, st, "outbox_deliveries"); got != 0 {
			t.Errorf("%d delivery rows written on the write path, want 0", got)
		}
	})
}

// Expansion is idempotent per job and recipient, leases exclude other
// owners until they run out or are released, and a job ends expanded.
func TestOutboxExpansionAndLeases(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		importN(t, st, 25)
		mustCreateIncident(t, st, IncidentInput{Name: "Down"})

		job, ok, err := st.ClaimJob(ctx, "a", time.Minute)
		if err != nil || !ok {
			t.Fatalf("ClaimJob = %v, %v", ok, err)
		}
		if _, ok, _ := st.ClaimJob(ctx, "b", time.Minute); ok {
			t.Fatal("a leased job was claimed by another owner")
		}
		if _, _, err := st.ExpandJob(ctx, job.ID, "b", 10, time.Minute, []string{ChannelEmail}); err == nil {
			t.Fatal("a non-owner expanded the job")
		}
		made, done, err := st.ExpandJob(ctx, job.ID, "a", 10, time.Minute, []string{ChannelEmail})
		if err != nil || made != 10 || done {
			t.Fatalf("first batch: made %d done %v err %v", made, done, err)
		}
		if err := st.ReleaseJob(ctx, job.ID, "a"); err != nil {
			t.Fatal(err)
		}
		job2, ok, err := st.ClaimJob(ctx, "b", time.Minute)
		if err != nil || !ok || job2.ID != job.ID {
			t.Fatalf("after release: %v %v", ok, err)
		}
		total := made
		for !done {
			if made, done, err = st.ExpandJob(ctx, job.ID, "b", 10, time.Minute, []string{ChannelEmail}); err != nil {
				t.Fatal(err)
			}
			total += made
		}
		// Batches of recipients, not a row each.
		if c, _ := st.OutboxCounts(ctx); total != 25 || c["email/pending"] != 25 || countRows(t, st, "outbox_deliveries") != 0 {
			t.Errorf("expanded %d, counts %v, %d delivery rows; want 25 pending and no rows", total, c, countRows(t, st, "outbox_deliveries"))
		}

		// Claims: leased deliveries are not claimed again until the lease ends.
		ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "a", 20, time.Minute)
		if err != nil || len(ds) != 20 || ds[0].Attempt != 1 || len(ds[0].ManageToken) != 37 {
			t.Fatalf("claim: %d %v %+v", len(ds), err, ds[0])
		}
		more, _ := st.ClaimDeliveries(ctx, ChannelEmail, "b", 100, time.Minute)
		if len(more) != 5 {
			t.Fatalf("second claim got %d, want the 5 unleased", len(more))
		}
		clock.Advance(2 * time.Minute)
		// Once they run out, another owner takes them over; the owner
		// whose lease ran out does not take back its own (it is alive, and
		// still has their results to record).
		again, _ := st.ClaimDeliveries(ctx, ChannelEmail, "b", 100, time.Minute)
		if len(again) != 20 || again[0].Attempt != 2 {
			t.Fatalf("after the leases ran out: %d claimed, want a's 20 and not b's own 5", len(again))
		}
		mine, _ := st.ClaimDeliveries(ctx, ChannelEmail, "c", 100, time.Minute)
		if len(mine) != 5 {
			t.Fatalf("a third owner claimed %d of b's run-out leases, want 5", len(mine))
		}
		again = append(again, mine...)
		// The old owner's late results are ignored.
		if err := st.RecordResults(ctx, "a", []DeliveryResult{{Delivery: ds[0], Outcome: Sent}}); err != nil {
			t.Fatal(err)
		}
		var sent int
		for _, r := range again {
			owner := "b"
			if sent >= 20 {
				owner = "c"
			}
			if err := st.RecordResults(ctx, owner, []DeliveryResult{{Delivery: r, Outcome: Sent}}); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		c, _ := st.OutboxCounts(ctx)
		if c["email/sent"] != 25 || c["email/sending"] != 0 {
			t.Errorf("counts %v", c)
		}
	})
}

func TestSubscriberLinksAndBadLinks(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		sub, err := st.AddSubscriber(ctx, SubscriberInput{Email: "ada@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		manage, confirm, err := st.SubscriberLinks(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Unsubscribe(ctx, confirm); !errors.Is(err, ErrBadLink) {
			t.Errorf("a confirmation token unsubscribed: %v", err)
		}
		for _, bad := range []string{"", "x", sub.ID + ".", sub.ID + "." + manage[13:len(manage)-1] + "A", "zzzzzzzzzzzz." + manage[13:]} {
			if _, err := st.ConfirmSubscription(ctx, bad); !errors.Is(err, ErrBadLink) {
				t.Errorf("token %q: %v", bad, err)
			}
		}
		got, err := st.ConfirmSubscription(ctx, confirm)
		if err != nil || got.Status != SubscriberConfirmed {
			t.Fatalf("confirm: %+v %v", got, err)
		}
		if got, err := st.Unsubscribe(ctx, manage); err != nil || got.Status != SubscriberUnsubscribed {
			t.Fatalf("unsubscribe: %+v %v", got, err)
		}
	})
}

// Paused endpoints get nothing queued; finished jobs are pruned with their
// deliveries once old enough, unfinished ones never.
func TestOutboxPausedWebhooksAndPrune(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		active, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/a"})
		if err != nil {
			t.Fatal(err)
		}
		paused, _, _ := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/b"})
		if _, err := st.UpdateWebhook(ctx, paused.ID, WebhookPatch{Paused: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "Down"})
		job, _, _ := st.ClaimJob(ctx, "a", time.Minute)
		for done := false; !done; {
			if _, done, err = st.ExpandJob(ctx, job.ID, "a", 10, time.Minute, []string{ChannelWebhook}); err != nil {
				t.Fatal(err)
			}
		}
		ds, _ := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 10, time.Minute)
		if len(ds) != 1 || ds[0].RecipientID != active.ID || ds[0].Webhook == nil || ds[0].Webhook.Secret == "" {
			t.Fatalf("deliveries %+v", ds)
		}
		clock.Advance(40 * 24 * time.Hour)
		if p, _ := st.PruneOutbox(ctx, DefaultOutboxRetention()); p.Jobs != 0 {
			t.Errorf("pruned %d jobs with a delivery in flight", p.Jobs)
		}
		if err := st.RecordResults(ctx, "a", []DeliveryResult{{Delivery: ds[0], Outcome: Sent, Status: 204}}); err != nil {
			t.Fatal(err)
		}
		if p, _ := st.PruneOutbox(ctx, DefaultOutboxRetention()); p.Jobs != 1 {
			t.Errorf("pruned %d jobs, want 1", p.Jobs)
		}
		if n := countRows(t, st, "outbox_deliveries") + countRows(t, st, "webhook_attempts"); n != 0 {
			t.Errorf("%d delivery and attempt rows left after pruning", n)
		}
	})
}

// outboxTruth counts what the outbox holds from its rows: the deliveries
// by channel and state, and the batches' recipients — expected while
// pending or claimed, sent and skipped as recorded.
func outboxTruth(t *testing.T, st *Store) map[string]int {
	t.Helper()
	out := countGroups(t, st)
	rows, err := st.read.QueryContext(t.Context(), `SELECT state, recipients, sent, skipped FROM outbox_batches`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var recipients, sent, skipped int
		if err := rows.Scan(&state, &recipients, &sent, &skipped); err != nil {
			t.Fatal(err)
		}
		if state != "done" {
			out["email/"+state] += recipients
		}
		out["email/sent"] += sent
		out["email/skipped"] += skipped
	}
	maps.DeleteFunc(out, func(_ string, n int) bool { return n == 0 })
	return out
}

// wantCountsTrue fails unless the kept counts equal the outbox's rows.
func wantCountsTrue(t *testing.T, st *Store, step string) {
	t.Helper()
	got, err := st.OutboxCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := outboxTruth(t, st); !maps.Equal(got, want) {
		t.Errorf("after %s: counts %v, rows %v", step, got, want)
	}
}

// The outbox's counts, kept as deliveries are made, claimed, sent, retried,
// failed, skipped, released, taken over after a lost lease, replayed and
// pruned, always equal a count of the deliveries.
func TestOutboxCountsFollowDeliveries(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		importN(t, st, 30)
		if _, err := st.AddSubscriber(ctx, SubscriberInput{Email: "new@example.com"}); err != nil { // a confirmation email
			t.Fatal(err)
		}
		var hooks []Webhook
		for _, name := range []string{"a", "b", "c"} {
			w, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/" + name})
			if err != nil {
				t.Fatal(err)
			}
			hooks = append(hooks, w)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "Down"})
		both := []string{ChannelEmail, ChannelWebhook}
		wantCountsTrue(t, st, "nothing expanded")

		for {
			job, ok, err := st.ClaimJob(ctx, "a", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			for done := false; !done; {
				if _, done, err = st.ExpandJob(ctx, job.ID, "a", 7, time.Minute, both); err != nil {
					t.Fatal(err)
				}
				wantCountsTrue(t, st, "an expansion batch")
			}
		}

		record := func(owner string, rs ...DeliveryResult) {
			t.Helper()
			if err := st.RecordResults(ctx, owner, rs); err != nil {
				t.Fatal(err)
			}
		}
		mail, err := st.ClaimDeliveries(ctx, ChannelEmail, "a", 12, time.Minute)
		if err != nil || len(mail) != 12 {
			t.Fatalf("claimed %d emails, %v", len(mail), err)
		}
		wantCountsTrue(t, st, "claiming emails")
		record("a",
			DeliveryResult{Delivery: mail[0], Outcome: Sent, Status: 250}, DeliveryResult{Delivery: mail[1], Outcome: Sent, Status: 250},
			DeliveryResult{Delivery: mail[2], Outcome: Sent, Status: 250}, DeliveryResult{Delivery: mail[3], Outcome: Retry, RetryIn: time.Minute, Status: 451},
			DeliveryResult{Delivery: mail[4], Outcome: Failed, Status: 550, Bounce: true}, DeliveryResult{Delivery: mail[5], Outcome: Skipped},
			DeliveryResult{Delivery: mail[6], Outcome: Released})
		wantCountsTrue(t, st, "sent, retried, failed, skipped and released emails")

		web, err := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 10, time.Minute)
		if err != nil || len(web) != len(hooks) {
			t.Fatalf("claimed %d webhooks, %v", len(web), err)
		}
		record("a", DeliveryResult{Delivery: web[0], Outcome: Sent, Status: 204}, DeliveryResult{Delivery: web[1], Outcome: Failed, Status: 500},
			DeliveryResult{Delivery: web[2], Outcome: Retry, RetryIn: time.Minute, Status: 503})
		wantCountsTrue(t, st, "webhook results")
		if _, err := st.ReplayWebhookDelivery(ctx, web[1].RecipientID, web[1].ID); err != nil {
			t.Fatal(err)
		}
		wantCountsTrue(t, st, "a replay")

		// "a" goes quiet holding five emails; once its lease is over "b"
		// claims them again, and a late result of "a" changes nothing.
		clock.Advance(2 * time.Minute)
		taken, err := st.ClaimDeliveries(ctx, ChannelEmail, "b", 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		wantCountsTrue(t, st, "a claim after the leases ran out")
		record("a", DeliveryResult{Delivery: mail[7], Outcome: Sent, Status: 250}, DeliveryResult{Delivery: mail[8], Outcome: Failed})
		wantCountsTrue(t, st, "a result after its lease was lost")

		// Everything else is sent, whatever it takes.
		for len(taken) > 0 {
			var rs []DeliveryResult
			for _, d := range taken {
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Sent, Status: 250})
			}
			record("b", rs...)
			clock.Advance(time.Hour)
			more, err := st.ClaimDeliveries(ctx, ChannelWebhook, "b", 100, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if taken, err = st.ClaimDeliveries(ctx, ChannelEmail, "b", 100, time.Minute); err != nil {
				t.Fatal(err)
			}
			taken = append(taken, more...)
		}
		wantCountsTrue(t, st, "the rest sent")
		if c, _ := st.OutboxCounts(ctx); c["email/pending"]+c["email/sending"]+c["webhook/pending"]+c["webhook/sending"] != 0 {
			t.Fatalf("deliveries left to send: %v", c)
		}

		clock.Advance(DefaultOutboxRetention().Failed)
		if p, err := st.PruneOutbox(ctx, DefaultOutboxRetention()); err != nil || p.Jobs == 0 {
			t.Fatalf("PruneOutbox = %+v, %v", p, err)
		}
		wantCountsTrue(t, st, "pruning")
		if c, _ := st.OutboxCounts(ctx); len(c) != 0 {
			t.Errorf("counts after pruning everything: %v", c)
		}
	})
}

// The migrations that add the counts and the results seed them from the
// deliveries already in the outbox: a database upgraded in the middle of a
// fan-out reports it rightly from its first scrape.
func TestOutboxMigrationsSeedFromDeliveries(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		where := filepath.Join(t.TempDir(), "herald.db")
		versions := []int{15, 16, 17}
		if onPostgres(t) {
			where, versions = pgtest.Start(t).NewDatabase(t), []int{10, 11, 12}
		}
		st := openTestStore(t, where)
		// Back to the schema before the migrations…
		for _, undo := range []string{`DROP TABLE outbox_batches`, `DROP TABLE outbox_results`, `DROP INDEX outbox_jobs_unpruned`,
			`ALTER TABLE outbox_jobs DROP COLUMN delivered_pruned_at`, `DROP TABLE outbox_counts`} {
			if _, err := st.write.ExecContext(ctx, undo); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range versions {
			if _, err := st.write.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, v); err != nil {
				t.Fatal(err)
			}
		}
		// …with a fan-out under way as Herald then left it: a row for each
		// recipient, one sent, one failed, three being sent, fifteen to go.
		at := st.Now()
		var job int64
		if err := st.write.QueryRowContext(ctx, `INSERT INTO outbox_jobs (kind, object_type, object_id, payload, email, webhook, expanded_at, email_cursor, created_at)
			VALUES ('incident.created', 'incident', 'inc1', '{}', ?, ?, ?, -1, ?) RETURNING id`, true, false, at, at).Scan(&job); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			state, sent := "pending", any(nil)
			switch {
			case i == 0:
				state, sent = "sent", at
			case i == 1:
				state = "failed"
			case i < 5:
				state = "sending"
			}
			if _, err := st.write.ExecContext(ctx, `INSERT INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at, sent_at) VALUES (?, 'email', ?, ?, ?, ?, ?)`,
				job, fmt.Sprintf("s%d", i), state, at, at, sent); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		again := openTestStore(t, where)
		want := map[string]int{"email/sent": 1, "email/failed": 1, "email/sending": 3, "email/pending": 15}
		if got, _ := again.OutboxCounts(ctx); !maps.Equal(got, want) {
			t.Errorf("counts after the migrations %v, want %v", got, want)
		}
		wantCountsTrue(t, again, "the migrations")
		results, err := again.NotificationResults(ctx, "incident", "inc1")
		if err != nil || len(results) != 1 || results[0].Sent != 1 || results[0].Failed != 1 || results[0].Kind != JobIncidentCreated ||
			results[0].LastAttempt == nil || !results[0].LastAttempt.Equal(at) {
			t.Errorf("results after the migrations %+v, %v; want the one sent and the one failed", results, err)
		}
	})
}

// The outbox keeps each recipient's delivery a week once sent, failures a
// month with their job, and what each job came to for good: pruning takes
// the rows and leaves the results, the counts and the delivery log right.
func TestOutboxRetention(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		keep := DefaultOutboxRetention()
		importN(t, st, 10)
		var hooks []Webhook
		for _, name := range []string{"a", "b"} {
			w, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/" + name})
			if err != nil {
				t.Fatal(err)
			}
			hooks = append(hooks, w)
		}
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down"})
		job, _, _ := st.ClaimJob(ctx, "a", time.Minute)
		for done := false; !done; {
			var err error
			if _, done, err = st.ExpandJob(ctx, job.ID, "a", 4, time.Minute, []string{ChannelEmail, ChannelWebhook}); err != nil {
				t.Fatal(err)
			}
			if !done {
				// A job half expanded keeps every delivery it made, however
				// old: its expansion relies on them to make none twice.
				clock.Advance(keep.Failed + time.Hour)
				if p, err := st.PruneOutbox(ctx, keep); err != nil || p != (PrunedOutbox{}) {
					t.Fatalf("pruned %+v (%v) of a job being expanded", p, err)
				}
				clock.Set(t0)
			}
		}
		mail, _ := st.ClaimDeliveries(ctx, ChannelEmail, "a", 10, time.Minute)
		web, _ := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 10, time.Minute)
		var rs []DeliveryResult
		for i, d := range mail {
			switch {
			case i < 6:
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Sent, Status: 250})
			case i < 8:
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Failed, Status: 550})
			case i < 9:
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Skipped})
			default: // still retrying when the others are long pruned
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Retry, RetryIn: 60 * 24 * time.Hour, Status: 451})
			}
		}
		rs = append(rs, DeliveryResult{Delivery: web[0], Outcome: Sent, Status: 204}, DeliveryResult{Delivery: web[1], Outcome: Failed, Status: 500})
		if err := st.RecordResults(ctx, "a", rs); err != nil {
			t.Fatal(err)
		}
		failedHook := web[1]
		at := clock.Now()
		want := []JobResult{
			{JobID: job.ID, Channel: ChannelEmail, Kind: JobIncidentCreated, ObjectType: "incident", ObjectID: inc.ID, CreatedAt: job.CreatedAt.UTC(), Sent: 6, Failed: 2, Skipped: 1, FirstAttempt: &at, LastAttempt: &at},
			{JobID: job.ID, Channel: ChannelWebhook, Kind: JobIncidentCreated, ObjectType: "incident", ObjectID: inc.ID, CreatedAt: job.CreatedAt.UTC(), Sent: 1, Failed: 1, FirstAttempt: &at, LastAttempt: &at},
		}
		wantResults := func(step string) {
			t.Helper()
			got, err := st.NotificationResults(ctx, "incident", inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("after %s: results %+v, want %+v", step, got, want)
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.FirstAttempt == nil || g.LastAttempt == nil || !g.FirstAttempt.Equal(*w.FirstAttempt) || !g.LastAttempt.Equal(*w.LastAttempt) {
					t.Errorf("after %s: %s attempts %v–%v, want %v–%v", step, g.Channel, g.FirstAttempt, g.LastAttempt, *w.FirstAttempt, *w.LastAttempt)
				}
				g.FirstAttempt, g.LastAttempt, w.FirstAttempt, w.LastAttempt = nil, nil, nil, nil
				if !g.CreatedAt.Equal(w.CreatedAt) {
					t.Errorf("after %s: %s created %v, want %v", step, g.Channel, g.CreatedAt, w.CreatedAt)
				}
				g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("after %s: %+v, want %+v", step, g, w)
				}
			}
		}
		wantResults("recording")

		clock.Advance(keep.Delivered - time.Hour)
		if p, err := st.PruneOutbox(ctx, keep); err != nil || p != (PrunedOutbox{}) {
			t.Errorf("within the week: pruned %+v, %v", p, err)
		}
		clock.Advance(2 * time.Hour)
		if p, err := st.PruneOutbox(ctx, keep); err != nil || p != (PrunedOutbox{Deliveries: 8}) {
			t.Errorf("after the week: pruned %+v (%v), want the 6 + 1 sent and the skipped one", p, err)
		}
		if p, _ := st.PruneOutbox(ctx, keep); p != (PrunedOutbox{}) {
			t.Errorf("pruning again pruned %+v", p)
		}
		wantCountsTrue(t, st, "a week")
		if c, _ := st.OutboxCounts(ctx); c["email/sent"]+c["email/skipped"]+c["webhook/sent"] != 0 || c["email/failed"] != 2 || c["email/pending"] != 1 {
			t.Errorf("counts after a week %v, want the failures and the retry", c)
		}
		wantResults("a week")
		// The delivery log keeps the failure, and it can be replayed.
		for _, w := range hooks {
			log, err := st.ListWebhookDeliveries(ctx, w.ID, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(log); (w.ID == failedHook.RecipientID) != (n == 1) {
				t.Errorf("webhook %s: %d deliveries in its log after a week", w.URL, n)
			}
		}
		if _, err := st.ReplayWebhookDelivery(ctx, failedHook.RecipientID, failedHook.ID); err != nil {
			t.Fatal(err)
		}
		again, _ := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 10, time.Minute)
		if len(again) != 1 {
			t.Fatalf("claimed %d replayed deliveries, want 1", len(again))
		}
		replayed := clock.Now()
		if err := st.RecordResults(ctx, "a", []DeliveryResult{{Delivery: again[0], Outcome: Sent, Status: 204}}); err != nil {
			t.Fatal(err)
		}
		want[1].Sent, want[1].Failed, want[1].LastAttempt = 2, 0, &replayed
		wantResults("a replay")

		// A job is thinned once: what is sent after that (the replay) goes
		// with the job.
		clock.Advance(keep.Failed)
		if p, err := st.PruneOutbox(ctx, keep); err != nil || p != (PrunedOutbox{}) {
			t.Errorf("after a month, with one email still to retry: pruned %+v (%v), want nothing", p, err)
		}
		wantCountsTrue(t, st, "a month, one retry waiting")
		clock.Advance(keep.Failed)
		more, _ := st.ClaimDeliveries(ctx, ChannelEmail, "a", 10, time.Minute)
		if err := st.RecordResults(ctx, "a", []DeliveryResult{{Delivery: more[0], Outcome: Failed, Status: 550}}); err != nil {
			t.Fatal(err)
		}
		last := clock.Now()
		want[0].Failed, want[0].LastAttempt = 3, &last
		if p, err := st.PruneOutbox(ctx, keep); err != nil || p != (PrunedOutbox{Deliveries: 4, Jobs: 1}) {
			t.Errorf("once nothing is left to send: pruned %+v (%v), want the 3 failures, the replayed delivery and the job", p, err)
		}
		wantCountsTrue(t, st, "everything pruned")
		if n := countRows(t, st, "outbox_deliveries") + countRows(t, st, "outbox_jobs") + countRows(t, st, "webhook_attempts"); n != 0 {
			t.Errorf("%d rows left in the outbox", n)
		}
		wantResults("everything pruned")
	})
}

// A retention that keeps nothing, or failures less long than successes, is
// refused before anything is deleted.
func TestOutboxRetentionRefusesNonsense(t *testing.T) {
	t.Parallel()
	st := newTestStore(t)
	for _, keep := range []OutboxRetention{{}, {Delivered: time.Minute, Failed: time.Hour}, {Delivered: 48 * time.Hour, Failed: 24 * time.Hour}} {
		if _, err := st.PruneOutbox(t.Context(), keep); err == nil {
			t.Errorf("PruneOutbox(%+v) = nil error", keep)
		} else {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("PruneOutbox(%+v) = %v, want a ValidationError", keep, err)
			}
		}
	}
}

// An email fan-out goes out in batches of subscribers: no row per
// recipient; a claim takes as many recipients as it has room for,
// splitting a batch; results may come in parts; whoever must be tried
// again, failed, or was handed back gets a delivery of its own, which a
// batch claimed again leaves out; and the counts and results stay true.
func TestOutboxBatches(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		web := mustCreateComponent(t, st, "Web")
		importN(t, st, 500) // every component
		list := make([]SubscriberInput, 100)
		for i := range list {
			list[i] = SubscriberInput{Email: fmt.Sprintf("web%d@example.com", i), Components: []string{web.ID}}
		}
		if _, err := st.ImportSubscribers(ctx, list); err != nil {
			t.Fatal(err)
		}
		subs, err := st.ListSubscribers(ctx, SubscriberFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		unsubscribe := func(id string) {
			t.Helper()
			manage, _, err := st.SubscriberLinks(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Unsubscribe(ctx, manage); err != nil {
				t.Fatal(err)
			}
		}
		byEmail := map[string]string{}
		for _, s := range subs {
			byEmail[s.Email] = s.ID
		}
		for i := range 10 {
			unsubscribe(byEmail[fmt.Sprintf("user%d@example.com", i)])
		}
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{api.ID: MajorOutage}, SkipNotify: true})
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified})
		var job Job
		for {
			j, ok, err := st.ClaimJob(ctx, "a", time.Minute)
			if err != nil || !ok {
				t.Fatalf("no incident.updated job: %v", err)
			}
			for done := false; !done; {
				if _, done, err = st.ExpandJob(ctx, j.ID, "a", 1000, time.Minute, []string{ChannelEmail}); err != nil {
					t.Fatal(err)
				}
			}
			if j.Kind == JobIncidentUpdated {
				job = j
				break
			}
		}
		// 490 want it: not the 100 of Web only, not the 10 gone.
		if c, _ := st.OutboxCounts(ctx); c["email/pending"] != 490 || countRows(t, st, "outbox_deliveries") != 0 || countRows(t, st, "outbox_batches") != 2 {
			t.Fatalf("after expansion: counts %v, %d deliveries, %d batches; want 490 pending in 2 batches and no rows",
				c, countRows(t, st, "outbox_deliveries"), countRows(t, st, "outbox_batches"))
		}
		// One more leaves before the message goes: nobody sends it to them.
		gone := byEmail["user499@example.com"]
		unsubscribe(gone)

		mine, err := st.ClaimDeliveries(ctx, ChannelEmail, "a", 100, time.Minute)
		if err != nil || len(mine) != 100 {
			t.Fatalf("claimed %d, %v; want 100", len(mine), err)
		}
		for _, d := range mine {
			if d.BatchID == 0 || d.ID != 0 || d.JobID != job.ID || d.Attempt != 1 || d.Email == "" || len(d.ManageToken) != 37 || d.SubscriberStatus != SubscriberConfirmed {
				t.Fatalf("a batch's delivery %+v", d)
			}
		}
		wantCountsTrue(t, st, "a claim splitting a batch")
		var rs []DeliveryResult
		for _, d := range mine[:60] {
			rs = append(rs, DeliveryResult{Delivery: d, Outcome: Sent, Status: 250})
		}
		if err := st.RecordResults(ctx, "a", rs); err != nil {
			t.Fatal(err)
		}
		wantCountsTrue(t, st, "part of a batch sent")
		rs = nil
		for i, d := range mine[60:80] {
			switch {
			case i < 10:
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Retry, RetryIn: time.Minute, Status: 451, Error: "later"})
			case i < 15:
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Failed, Status: 550, Error: "no such user", Bounce: true})
			default:
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Released})
			}
		}
		if err := st.RecordResults(ctx, "a", rs); err != nil {
			t.Fatal(err)
		}
		wantCountsTrue(t, st, "retries, failures and hand-backs")
		if n := countRows(t, st, "outbox_deliveries"); n != 20 {
			t.Errorf("%d deliveries of their own, want the 20 not sent", n)
		}

		// "a" dies with 20 of its batch unsent. Once its lease is over, "b"
		// sends the batch again, all but those with deliveries of their own.
		clock.Advance(2 * time.Minute)
		seen := map[string]int{}
		for {
			ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "b", 200, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			rs = nil
			for _, d := range ds {
				seen[d.RecipientID]++
				rs = append(rs, DeliveryResult{Delivery: d, Outcome: Sent, Status: 250})
			}
			if err := st.RecordResults(ctx, "b", rs); err != nil {
				t.Fatal(err)
			}
			wantCountsTrue(t, st, "b's claim and results")
		}
		if err := st.RecordResults(ctx, "a", []DeliveryResult{{Delivery: mine[99], Outcome: Failed, Error: "late"}}); err != nil {
			t.Fatal(err)
		}
		wantCountsTrue(t, st, "a's late result")
		if len(seen) != 484 || seen[gone] != 0 {
			t.Errorf("b sent to %d recipients (to the one gone: %d), want 484: 490 less the one gone and the 5 failed", len(seen), seen[gone])
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("b sent to %s %d times", id, n)
			}
		}
		c, _ := st.OutboxCounts(ctx)
		if c["email/sent"] != 484 || c["email/failed"] != 5 || c["email/pending"]+c["email/sending"] != 0 {
			t.Errorf("counts at the end %v, want 484 sent and 5 failed", c)
		}
		results, err := st.NotificationResults(ctx, "incident", inc.ID)
		if err != nil || len(results) != 1 || results[0].Sent != 484 || results[0].Failed != 5 || results[0].Skipped != 0 {
			t.Errorf("results %+v, %v; want 484 sent and 5 failed", results, err)
		}
	})
}

// What a remote end answers is stored as text both backends take: a
// status line with NUL or bytes that are not UTF-8 (Go's client passes
// them on) was refused by PostgreSQL, and its result could not be recorded.
func TestHostileErrorTextIsRecorded(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		hook, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/x"})
		if err != nil {
			t.Fatal(err)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "Login failures", Body: "Looking."})
		job, ok, err := st.ClaimJob(ctx, "x", time.Minute)
		if err != nil || !ok {
			t.Fatalf("ClaimJob: %v, %v", ok, err)
		}
		for done := false; !done; {
			if _, done, err = st.ExpandJob(ctx, job.ID, "x", 100, time.Minute, []string{ChannelWebhook}); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := st.ClaimDeliveries(ctx, ChannelWebhook, "x", 10, time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("ClaimDeliveries = %d, %v", len(ds), err)
		}
		if err := st.RecordResults(ctx, "x", []DeliveryResult{{Delivery: ds[0], Outcome: Retry, RetryIn: time.Minute, Status: 500, Error: "500 \xff\x00bad gateway"}}); err != nil {
			t.Fatalf("recording a result whose error text has NUL and invalid UTF-8: %v", err)
		}
		log, err := st.ListWebhookDeliveries(ctx, hook.ID, 10, 0)
		if err != nil || len(log) != 1 {
			t.Fatalf("ListWebhookDeliveries = %d, %v", len(log), err)
		}
		if got := log[0].LastError; got != "500 \uFFFDbad gateway" {
			t.Errorf("the delivery log says %q", got)
		}
	})
}

// A claim its dispatcher never received (the commit's outcome unknown, the
// links unsigned) is neither work due for that dispatcher, which may not
// claim it again, nor kept leased by its renewals: it runs out, and
// another dispatcher sends it.
func TestOutboxLostClaimRunsOut(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		importN(t, st, 20)
		for _, name := range []string{"a", "b"} {
			if _, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/" + name}); err != nil {
				t.Fatal(err)
			}
		}
		mustCreateIncident(t, st, IncidentInput{Name: "Down"})
		expandAll(t, st, "a", 100)
		held := func(ds []Delivery) (h Held) {
			for _, d := range ds {
				if d.BatchID != 0 {
					if !slices.Contains(h.Batches, d.BatchID) {
						h.Batches = append(h.Batches, d.BatchID)
					}
				} else {
					h.Deliveries = append(h.Deliveries, d.ID)
				}
			}
			return h
		}
		// "a" claims twice on each channel; the first claims it never sees.
		lostMail, _ := st.ClaimDeliveries(ctx, ChannelEmail, "a", 10, time.Minute)
		keptMail, _ := st.ClaimDeliveries(ctx, ChannelEmail, "a", 10, time.Minute)
		lostHook, _ := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 1, time.Minute)
		keptHook, _ := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 1, time.Minute)
		if len(lostMail) != 10 || len(keptMail) != 10 || len(lostHook) != 1 || len(keptHook) != 1 {
			t.Fatalf("claimed %d+%d emails and %d+%d webhooks, want 10+10 and 1+1", len(lostMail), len(keptMail), len(lostHook), len(keptHook))
		}
		clock.Advance(30 * time.Second)
		for _, ds := range [][]Delivery{keptMail, keptHook} {
			if err := st.RenewLeases(ctx, "a", time.Minute, held(ds)); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(40 * time.Second) // the first leases have run out, the renewed ones not

		for _, ch := range []string{ChannelEmail, ChannelWebhook} {
			if wait, ok, err := st.NextDue(ctx, ch, "a"); err != nil || (ok && wait == 0) {
				t.Errorf("%s: NextDue for the owner of the run-out claim = %v, %v, %v; want nothing due now (it may not claim them)", ch, wait, ok, err)
			}
			if wait, ok, err := st.NextDue(ctx, ch, "b"); err != nil || !ok || wait != 0 {
				t.Errorf("%s: NextDue for another dispatcher = %v, %v, %v; want due now", ch, wait, ok, err)
			}
		}
		for _, c := range []struct {
			channel string
			lost    []Delivery
		}{{ChannelEmail, lostMail}, {ChannelWebhook, lostHook}} {
			taken, err := st.ClaimDeliveries(ctx, c.channel, "b", 100, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, d := range taken {
				got = append(got, d.RecipientID)
			}
			for _, d := range c.lost {
				want = append(want, d.RecipientID)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: another dispatcher took over %v, want exactly the lost claim's %v", c.channel, got, want)
			}
		}
	})
}
