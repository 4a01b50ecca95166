package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/herald-status/herald/store"
)

// housekeeping is Herald's own clockwork: it starts and completes scheduled
// maintenance on time, applies the escalation policy (drafts waiting,
// incidents overdue) and prunes what is kept only for a while. It runs
// beside the HTTP server and the dispatcher rather than inside either, so
// that with several replicas exactly one of them can run it.
type housekeeping struct {
	st  *store.Store
	log *slog.Logger
	// maintenanceEvery is how often due maintenance windows are moved on
	// and the escalation policy is applied.
	maintenanceEvery time.Duration
	// escalation is the policy until one is saved in the console.
	escalation store.EscalationPolicy
	// pruneEvery is how often the change feed and old jobs are pruned.
	pruneEvery time.Duration
	// keepEvents is how many change-feed events are kept for reconnecting
	// live streams.
	keepEvents int
	// keepOutbox is how long finished deliveries are kept, delivered and
	// failed, for the delivery log and replays.
	keepOutbox store.OutboxRetention
}

func newHousekeeping(st *store.Store, log *slog.Logger) *housekeeping {
	return &housekeeping{st: st, log: log.With("component", "housekeeping"),
		maintenanceEvery: 15 * time.Second, pruneEvery: time.Minute, keepEvents: 10000, keepOutbox: store.DefaultOutboxRetention(),
		escalation: store.DefaultEscalationPolicy()}
}

// run works until ctx ends, on whichever replica leads (store.Lead): the
// others check at every tick whether the leader is gone and take over, so
// a dead leader is replaced within maintenanceEvery. A failed round is
// logged and tried again at the next tick: none of it is urgent to the
// second.
func (h *housekeeping) run(ctx context.Context) {
	var lead *store.Leadership
	defer func() {
		if lead != nil {
			lead.Release()
		}
	}()
	leading := func() bool {
		if lead != nil && !lead.Held(ctx) {
			lead.Release()
			lead = nil
			h.log.Warn("lost housekeeping leadership; trying to take it again")
		}
		if lead == nil {
			l, err := h.st.Lead(ctx)
			if errors.Is(err, store.ErrNotLeader) {
				return false
			}
			if err != nil {
				h.logErr(ctx, "claim housekeeping leadership", err)
				return false
			}
			lead = l
			h.log.Info("this process runs housekeeping")
		}
		return true
	}
	if leading() {
		// A window due while Herald was down starts now, not in 15 s; a
		// reminder due meanwhile is sent now, once.
		h.advance(ctx)
		h.escalate(ctx)
	}
	maintenance := time.NewTicker(h.maintenanceEvery)
	defer maintenance.Stop()
	prune := time.NewTicker(h.pruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-maintenance.C:
			if leading() {
				h.advance(ctx)
				h.escalate(ctx)
			}
		case <-prune.C:
			if leading() {
				h.prune(ctx)
			}
		}
	}
}

func (h *housekeeping) advance(ctx context.Context) {
	n, err := h.st.AdvanceMaintenances(ctx)
	if err != nil {
		h.logErr(ctx, "advance maintenance", err)
	} else if n > 0 {
		h.log.Info("moved scheduled maintenance on", "windows", n)
	}
	// After the moves: a window that just started is past reminding.
	n, err = h.st.RemindMaintenances(ctx)
	if err != nil {
		h.logErr(ctx, "remind of maintenance", err)
	} else if n > 0 {
		h.log.Info("reminded subscribers of maintenance starting soon", "windows", n)
	}
}

// escalate applies the escalation policy saved in the console, or the one
// Herald was started with.
func (h *housekeeping) escalate(ctx context.Context) {
	p, err := h.st.EscalationPolicy(ctx, h.escalation)
	if err != nil {
		h.logErr(ctx, "read the escalation policy", err)
		return
	}
	e, err := h.st.Escalate(ctx, p)
	if err != nil {
		h.logErr(ctx, "apply the escalation policy", err)
	}
	for _, id := range e.Reminded {
		h.log.Info("reminded the team of a draft waiting", "draft", id)
	}
	for _, id := range e.Published {
		h.log.Warn("published a holding statement for a draft nobody published", "incident", id)
	}
	for _, id := range e.Overdue {
		h.log.Info("told the team an incident is overdue", "incident", id)
	}
}

func (h *housekeeping) prune(ctx context.Context) {
	if _, err := h.st.PruneEvents(ctx, h.keepEvents); err != nil {
		h.logErr(ctx, "prune change feed", err)
	}
	// Every limit's window is shorter than a day.
	if _, err := h.st.PruneAttempts(ctx, h.st.Now().Add(-24*time.Hour)); err != nil {
		h.logErr(ctx, "prune counted attempts", err)
	}
	if p, err := h.st.PruneOutbox(ctx, h.keepOutbox); err != nil {
		h.logErr(ctx, "prune outbox", err)
	} else if p != (store.PrunedOutbox{}) {
		h.log.Info("pruned old notifications", "deliveries", p.Deliveries, "jobs", p.Jobs)
	}
}

func (h *housekeeping) logErr(ctx context.Context, what string, err error) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // shutting down
	}
	h.log.Error(what, "err", err)
}
