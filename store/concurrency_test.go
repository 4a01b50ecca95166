package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// race runs each of fns at the same moment (as near as goroutines allow)
// and returns their errors in order.
func race(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			errs[i] = fn()
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// The check-then-write rules hold when writers really run at once, as
// they do on PostgreSQL: each race below leaves what one writer alone
// would have left.
func TestRulesHoldUnderConcurrentWriters(t *testing.T) {
	backends(t, func(t *testing.T) {
		ctx := t.Context()

		t.Run("two admins demoting each other leave one admin", func(t *testing.T) {
			st := newTestStore(t)
			a, _, err := st.CreateUser(ctx, UserInput{Email: "a@example.com", Role: RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := st.CreateUser(ctx, UserInput{Email: "b@example.com", Role: RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				errs := race(
					func() error { _, err := st.UpdateUser(ctx, a.ID, UserPatch{Role: ptr(RoleViewer)}); return err },
					func() error { _, err := st.UpdateUser(ctx, b.ID, UserPatch{Role: ptr(RoleViewer)}); return err },
				)
				if (errs[0] == nil) == (errs[1] == nil) {
					t.Fatalf("demotions returned %v and %v; want exactly one refused", errs[0], errs[1])
				}
				users, err := st.ListUsers(ctx)
				if err != nil {
					t.Fatal(err)
				}
				admins := 0
				for _, u := range users {
					if u.Role == RoleAdmin {
						admins++
					}
				}
				if admins != 1 {
					t.Fatalf("%d admins left, want 1", admins)
				}
				// Make both admins again for the next round.
				for _, u := range users {
					if _, err := st.UpdateUser(ctx, u.ID, UserPatch{Role: ptr(RoleAdmin)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		})

		t.Run("one address subscribed twice at once is one subscriber", func(t *testing.T) {
			st := newTestStore(t)
			var fns []func() error
			for range 4 {
				fns = append(fns, func() error {
					_, err := st.AddSubscriber(ctx, SubscriberInput{Email: "same@example.com", Confirmed: true})
					return err
				})
			}
			ok := 0
			for _, err := range race(fns...) {
				var conflict *ConflictError
				switch {
				case err == nil:
					ok++
				case !errors.As(err, &conflict):
					t.Errorf("a losing subscribe failed with %v, want a conflict", err)
				}
			}
			if n, _ := st.CountSubscribers(ctx, ""); ok != 1 || n != 1 {
				t.Errorf("%d subscribes succeeded, %d subscribers stored; want 1 and 1", ok, n)
			}
		})

		t.Run("a maintenance started by hand and by the clock at once starts once", func(t *testing.T) {
			st := newTestStore(t)
			clock := useClock(st, t0)
			c := mustCreateComponent(t, st, "DB")
			m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{c.ID}, ScheduledFor: t0.Add(time.Minute), ScheduledUntil: t0.Add(time.Hour), SkipNotify: true})
			clock.Advance(2 * time.Minute)
			before, _ := st.PendingJobs(ctx)
			race(
				func() error {
					_, err := st.PostMaintenanceUpdate(ctx, m.ID, MaintenanceUpdateInput{Status: MaintenanceInProgress, Body: "Starting."})
					return err
				},
				func() error { _, err := st.AdvanceMaintenances(ctx); return err },
				func() error { _, err := st.AdvanceMaintenances(ctx); return err },
			)
			after, _ := st.PendingJobs(ctx)
			// One maintenance.started, plus the component's status change.
			if got := after - before; got != 2 {
				t.Errorf("%d jobs queued, want 2: the window started once", got)
			}
			if got := historyOf(t, st, c.ID); len(got) != 2 {
				t.Errorf("component history %+v: want operational, then under maintenance once", got)
			}
		})

		t.Run("concurrent claims never hand out a delivery twice", func(t *testing.T) {
			st := newTestStore(t)
			importN(t, st, 200)
			mustCreateIncident(t, st, IncidentInput{Name: "Down"})
			job, ok, err := st.ClaimJob(ctx, "x", time.Minute)
			if err != nil || !ok {
				t.Fatalf("ClaimJob = %v, %v", ok, err)
			}
			for done := false; !done; {
				if _, done, err = st.ExpandJob(ctx, job.ID, "x", 1000, time.Minute, []string{ChannelEmail}); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			seen := map[string]string{} // by message: a batch's deliveries have no id of their own
			var fns []func() error
			for w := range 4 {
				owner := fmt.Sprintf("dispatcher-%d", w)
				fns = append(fns, func() error {
					for {
						got, err := st.ClaimDeliveries(ctx, ChannelEmail, owner, 7, time.Minute)
						if err != nil || len(got) == 0 {
							return err
						}
						mu.Lock()
						for _, d := range got {
							if other, dup := seen[d.IdempotencyID()]; dup {
								mu.Unlock()
								return fmt.Errorf("delivery %s claimed by %s and %s", d.IdempotencyID(), other, owner)
							}
							seen[d.IdempotencyID()] = owner
						}
						mu.Unlock()
					}
				})
			}
			for _, err := range race(fns...) {
				if err != nil {
					t.Error(err)
				}
			}
			if len(seen) != 200 {
				t.Errorf("%d deliveries claimed, want all 200", len(seen))
			}
		})

		t.Run("the change feed is in commit order: a follower never skips an event", func(t *testing.T) {
			st := newTestStore(t)
			const writers, each = 4, 15
			stop := make(chan struct{})
			var followed []int64
			var follower sync.WaitGroup
			follower.Go(func() {
				last := int64(0)
				for {
					select {
					case <-stop:
						rest, _ := st.EventsSince(ctx, last, 1000)
						for _, e := range rest {
							followed = append(followed, e.ID)
						}
						return
					default:
					}
					events, err := st.EventsSince(ctx, last, 1000)
					if err != nil {
						t.Error(err)
						return
					}
					for _, e := range events {
						followed = append(followed, e.ID)
						last = e.ID
					}
				}
			})
			var fns []func() error
			for w := range writers {
				fns = append(fns, func() error {
					for i := range each {
						if _, err := st.CreateComponent(ctx, ComponentInput{Name: fmt.Sprintf("c%d-%d", w, i)}); err != nil {
							return err
						}
					}
					return nil
				})
			}
			for _, err := range race(fns...) {
				if err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			follower.Wait()
			all, err := st.EventsSince(ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(followed) != len(all) || len(all) != writers*each {
				t.Errorf("the follower saw %d events of %d (%d written): it skipped some", len(followed), len(all), writers*each)
			}
		})
	})
}

// A background transaction waits for the foreground ones waiting or
// running when it comes, and for nothing else; with concurrent writers it
// never waits.
func TestWriteQueueLetsForegroundWritesFirst(t *testing.T) {
	ctx := t.Context()
	q := writeQueue{patience: time.Hour}
	if err := q.yield(ctx); err != nil {
		t.Fatalf("yield with nothing in the foreground: %v", err)
	}
	first, second := q.foreground(), q.foreground()
	yielded := make(chan error, 1)
	go func() { yielded <- q.yield(ctx) }()
	first()
	select {
	case err := <-yielded:
		t.Fatalf("a background transaction went ahead of a foreground one still waiting (%v)", err)
	default:
	}
	second()
	if err := <-yielded; err != nil {
		t.Fatal(err)
	}
	off := writeQueue{off: true, patience: time.Hour}
	defer off.foreground()()
	if err := off.yield(ctx); err != nil {
		t.Fatal(err)
	}
}
