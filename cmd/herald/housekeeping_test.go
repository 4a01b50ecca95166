package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// A window whose start time has passed starts without anyone touching it,
// its end completes it, and the change feed is cut back to what reconnecting
// streams need: housekeeping is what a commander relies on while asleep.
func TestHousekeepingMovesMaintenanceAndPrunes(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	c, err := st.CreateComponent(ctx, store.ComponentInput{Name: "Database"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.CreateMaintenance(ctx, store.MaintenanceInput{Name: "Upgrade", Body: "Planned.", Components: []string{c.ID},
		ScheduledFor: now.Add(time.Minute), ScheduledUntil: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // more events than the feed keeps
		if _, err := st.UpdateComponent(ctx, c.ID, store.ComponentPatch{Description: ptr(time.Now().String())}); err != nil {
			t.Fatal(err)
		}
	}

	h := newHousekeeping(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.maintenanceEvery, h.pruneEvery, h.keepEvents = 10*time.Millisecond, 10*time.Millisecond, 2
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.run(run) }()
	defer func() { stop(); <-done }()

	status := func() store.MaintenanceStatus {
		got, err := st.GetMaintenance(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	advance(2 * time.Minute)
	eventually(t, "the window to start", func() bool { return status() == store.MaintenanceInProgress })
	if got, _ := st.GetComponent(ctx, c.ID); got.Status != store.UnderMaintenance {
		t.Errorf("component is %s during the window, want under_maintenance", got.Status)
	}
	advance(time.Hour)
	eventually(t, "the window to complete", func() bool { return status() == store.MaintenanceCompleted })
	eventually(t, "the change feed to be pruned to 2 events", func() bool {
		events, err := st.EventsSince(ctx, 0, 100)
		return err == nil && len(events) == 2
	})
}

func ptr[T any](v T) *T { return &v }
