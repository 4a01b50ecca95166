package notify

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// A subscriber is reminded by email once before a maintenance starts, by
// the store's clock: not of a window that was cancelled, at the new time
// for a window that moved, not at all once they turned reminders off, and
// after a restart (the reminder is scheduled in the database, not in a
// timer).
func TestMaintenanceRemindersByEmail(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "herald.db")
	var ahead atomic.Int64 // how far the store's clock is ahead of the real one
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	st := openStore(t, path)
	st.SetClock(clock)
	emails := subscribers(t, st, 2)
	list, err := st.ListSubscribers(ctx, store.SubscriberFilter{Email: emails[1]})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSubscribers = %v, %v", list, err)
	}
	manage, _, err := st.SubscriberLinks(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetSubscriptionPreferences(ctx, manage, store.SubscriptionPreferences{MaintenanceReminders: false}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	schedule := func(name string) store.Maintenance {
		t.Helper()
		m, err := st.CreateMaintenance(ctx, store.MaintenanceInput{Name: name, Body: "Work.", ScheduledFor: start, ScheduledUntil: start.Add(time.Hour),
			RemindBefore: 60, SkipNotify: true})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	schedule("Database upgrade")
	cancelled := schedule("Cancelled work")
	if err := st.CancelMaintenance(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	moved := schedule("Moved work")
	later := start.Add(3 * time.Hour)
	if _, err := st.UpdateMaintenance(ctx, moved.ID, store.MaintenancePatch{ScheduledFor: &later, ScheduledUntil: ptr(later.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}

	// Herald restarts before any reminder is due.
	st.Close()
	st = openStore(t, path)
	st.SetClock(clock)
	sink := newSMTPSink(t, sinkOptions{})
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	remind := func(want int) {
		t.Helper()
		if n, err := st.RemindMaintenances(ctx); err != nil || n != want {
			t.Fatalf("RemindMaintenances = %d, %v; want %d", n, err, want)
		}
	}
	remind(0) // nothing is due yet

	ahead.Store(int64(2*time.Hour + 5*time.Minute)) // within the hour before the first start
	remind(1)
	remind(0) // once
	eventually(t, "the first reminder to arrive", func() bool { return sink.received() == 1 })

	ahead.Store(int64(5*time.Hour + 5*time.Minute)) // within the hour before the moved start
	remind(1)
	eventually(t, "the moved window's reminder to arrive", func() bool { return sink.received() == 2 })
	ahead.Store(int64(24 * time.Hour))
	remind(0)

	var subjects []string
	for _, m := range sink.messages() {
		if len(m.To) != 1 || m.To[0] != emails[0] {
			t.Errorf("a reminder went to %v; want only %s (the other turned reminders off)", m.To, emails[0])
		}
		subjects = append(subjects, m.Header.Get("Subject"))
	}
	want := []string{
		"[Acme] Reminder: Database upgrade starts " + start.UTC().Format("Jan 2, 15:04 UTC"),
		"[Acme] Reminder: Moved work starts " + later.UTC().Format("Jan 2, 15:04 UTC"),
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Errorf("reminders sent:\n%s\nwant:\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range sink.messages() {
		if !strings.Contains(m.Text, "starts soon") {
			t.Errorf("a reminder's text does not say the maintenance starts soon:\n%s", m.Text)
		}
	}
}
