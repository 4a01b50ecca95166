package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// MaintenanceStatus is where a maintenance window stands.
type MaintenanceStatus string

const (
	MaintenanceScheduled  MaintenanceStatus = "scheduled"
	MaintenanceInProgress MaintenanceStatus = "in_progress"
	MaintenanceVerifying  MaintenanceStatus = "verifying"
	MaintenanceCompleted  MaintenanceStatus = "completed"
)

var MaintenanceStatuses = []MaintenanceStatus{MaintenanceScheduled, MaintenanceInProgress, MaintenanceVerifying, MaintenanceCompleted}

// step is the position in the lifecycle; -1 for unknown values.
func (s MaintenanceStatus) step() int {
	for i, v := range MaintenanceStatuses {
		if v == s {
			return i
		}
	}
	return -1
}

func (s MaintenanceStatus) Valid() bool { return s.step() >= 0 }

// Active reports whether the window has started and not completed: its
// components are under maintenance.
func (s MaintenanceStatus) Active() bool {
	return s == MaintenanceInProgress || s == MaintenanceVerifying
}

func (s MaintenanceStatus) Label() string {
	switch s {
	case MaintenanceScheduled:
		return "Scheduled"
	case MaintenanceInProgress:
		return "In progress"
	case MaintenanceVerifying:
		return "Verifying"
	case MaintenanceCompleted:
		return "Completed"
	}
	return string(s)
}

// Maintenance is planned work announced ahead. While it is in progress (or
// being verified) its components are under maintenance.
type Maintenance struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Status         MaintenanceStatus `json:"status"`
	ScheduledFor   time.Time         `json:"scheduled_for"`
	ScheduledUntil time.Time         `json:"scheduled_until"`
	AutoTransition bool              `json:"auto_transition"` // start and complete at the scheduled times
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	StartedAt      *time.Time        `json:"started_at"`
	CompletedAt    *time.Time        `json:"completed_at"`
	Components     []string          `json:"components"`
	// Pages narrows it to chosen pages, as Incident.Pages.
	Pages   []string            `json:"pages"`
	Updates []MaintenanceUpdate `json:"maintenance_updates"` // newest first
	// RemindBefore is how many minutes before the start subscribers are
	// reminded (0: no reminder); RemindedAt is when they were.
	RemindBefore int        `json:"remind_before_minutes"`
	RemindedAt   *time.Time `json:"reminded_at"`
	// Revision rises each time the window is moved or changed: a calendar
	// event's SEQUENCE. Not part of the API's shape.
	Revision int `json:"-"`
}

// MaintenanceUpdate is one message on a maintenance's timeline.
type MaintenanceUpdate struct {
	ID            string            `json:"id"`
	MaintenanceID string            `json:"maintenance_id"`
	Status        MaintenanceStatus `json:"status"`
	Body          string            `json:"body"`
	CreatedAt     time.Time         `json:"created_at"`
}

// MaintenanceInput schedules a maintenance. AutoTransition nil means true.
type MaintenanceInput struct {
	Name           string
	Body           string
	Components     []string
	Pages          []string // narrowed to these pages; none: not narrowed
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	AutoTransition *bool
	// RemindBefore is how many minutes before the start to remind
	// subscribers; 0 sends no reminder.
	RemindBefore int
	// SkipNotify keeps subscribers from being told (the zero value notifies).
	SkipNotify bool
}

// MaintenancePatch changes the fields that are not nil.
type MaintenancePatch struct {
	Name           *string
	Components     *[]string
	Pages          *[]string // an empty list widens it again
	ScheduledFor   *time.Time
	ScheduledUntil *time.Time
	AutoTransition *bool
	RemindBefore   *int
}

// MaintenanceUpdateInput posts an update; Status "" keeps the current one.
type MaintenanceUpdateInput struct {
	Status MaintenanceStatus
	Body   string
	// SkipNotify keeps subscribers from being told of a start or completion
	// (the zero value notifies).
	SkipNotify bool
}

// MaintenanceFilter selects maintenance for ListMaintenances.
type MaintenanceFilter struct {
	Statuses []MaintenanceStatus // any of these; all when empty
	Before   *Keyset             // as IncidentFilter.Before, by scheduled_for
	After    *Keyset             // as IncidentFilter.After, by scheduled_for
	Scope    *Scope              // only what that page shows; nil: everything
	Limit    int                 // default 50
	Offset   int
}

// CreateMaintenance schedules a maintenance window.
func (s *Store) CreateMaintenance(ctx context.Context, in MaintenanceInput) (Maintenance, error) {
	var after Maintenance
	err := s.inTx(ctx, func(t *tx) error {
		name, err := checkLine("name", in.Name, MaxNameLength, true)
		if err != nil {
			return err
		}
		body, err := checkText("body", in.Body, MaxBodyLength, true)
		if err != nil {
			return err
		}
		if err := checkWindow(in.ScheduledFor, in.ScheduledUntil); err != nil {
			return err
		}
		if err := t.checkStartsAhead(in.ScheduledFor); err != nil {
			return err
		}
		if err := checkRemindBefore(in.RemindBefore); err != nil {
			return err
		}
		auto := in.AutoTransition == nil || *in.AutoTransition
		id := newID()
		if _, err := t.exec(`INSERT INTO maintenances (id, name, status, scheduled_for, scheduled_until, auto_transition, created_at, updated_at, remind_before, remind_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, name, MaintenanceScheduled, in.ScheduledFor.UTC(), in.ScheduledUntil.UTC(), auto, t.now, t.now,
			nullIfZero(in.RemindBefore), t.remindAt(in.ScheduledFor, in.RemindBefore)); err != nil {
			return err
		}
		if err := t.linkMaintenanceComponents(id, in.Components); err != nil {
			return err
		}
		if err := t.setMaintenancePages(id, in.Pages); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO maintenance_updates (id, maintenance_id, status, body, created_at) VALUES (?, ?, ?, ?, ?)`,
			newID(), id, MaintenanceScheduled, body, t.now); err != nil {
			return err
		}
		if after, err = getMaintenance(t.ctx, t.sqlTx, id); err != nil {
			return err
		}
		t.record("maintenance.create", "maintenance", id, nil, after)
		if !in.SkipNotify {
			t.notifyMaintenance(JobMaintenanceScheduled, after)
		}
		return nil
	})
	if err != nil {
		return Maintenance{}, fmt.Errorf("store: create maintenance: %w", err)
	}
	return after, nil
}

// startGrace is how far in the past a maintenance may still be scheduled to
// start: "now" typed into a form reaches the store a little later.
const startGrace = time.Minute

// checkStartsAhead refuses a window that starts in the past. Accepted, it
// would be announced to every subscriber as upcoming and started (and, were
// it over, completed) by the clock a moment later.
func (t *tx) checkStartsAhead(from time.Time) error {
	if from.Before(t.now.Add(-startGrace)) {
		return invalid("scheduled_for", "is in the past (%s; it is now %s): a maintenance is announced before it starts, so choose a start from now on; to record work already done, schedule it now and post its completion",
			from.UTC().Format("Jan 2 15:04 UTC"), t.now.UTC().Format("Jan 2 15:04 UTC"))
	}
	return nil
}

// MaxRemindBefore is the longest ahead a reminder may be asked for: a
// week. A reminder further ahead is not one.
const MaxRemindBefore = 7 * 24 * 60

// checkRemindBefore refuses a reminder before a start that is negative or
// absurdly far ahead.
func checkRemindBefore(minutes int) error {
	if minutes < 0 || minutes > MaxRemindBefore {
		return invalid("remind_before_minutes", "must be between 0 (no reminder) and %d minutes (a week), not %d", MaxRemindBefore, minutes)
	}
	return nil
}

// remindAt is when the reminder of a window starting at from is due,
// minutes before it: nil when none is wanted, or when that moment has
// passed already (subscribers were just told of the window, or of its
// move; a reminder on its heels would only repeat it).
func (t *tx) remindAt(from time.Time, minutes int) any {
	if minutes == 0 {
		return nil
	}
	at := from.UTC().Add(-time.Duration(minutes) * time.Minute)
	if !at.After(t.now) {
		return nil
	}
	return at
}

func nullIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func checkWindow(from, until time.Time) error {
	if from.IsZero() {
		return invalid("scheduled_for", "is required")
	}
	if until.IsZero() {
		return invalid("scheduled_until", "is required")
	}
	if !until.After(from) {
		return invalid("scheduled_until", "must be after scheduled_for")
	}
	return nil
}

func (t *tx) linkMaintenanceComponents(id string, components []string) error {
	if _, err := t.exec(`DELETE FROM maintenance_components WHERE maintenance_id = ?`, id); err != nil {
		return err
	}
	for _, cid := range components {
		if _, err := t.component(cid); err != nil {
			return asFieldError("components", err)
		}
		if _, err := t.exec(`INSERT INTO maintenance_components (maintenance_id, component_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, cid); err != nil {
			return err
		}
	}
	return nil
}

// UpdateMaintenance changes a maintenance's name, window or components.
func (s *Store) UpdateMaintenance(ctx context.Context, id string, p MaintenancePatch) (Maintenance, error) {
	var after Maintenance
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.maintenanceForChange(id)
		if err != nil {
			return err
		}
		if before.Status == MaintenanceCompleted {
			return &ConflictError{Message: "a completed maintenance cannot be changed"}
		}
		m := before
		if p.Name != nil {
			if m.Name, err = checkLine("name", *p.Name, MaxNameLength, true); err != nil {
				return err
			}
		}
		if p.ScheduledFor != nil {
			m.ScheduledFor = p.ScheduledFor.UTC()
		}
		if p.ScheduledUntil != nil {
			m.ScheduledUntil = p.ScheduledUntil.UTC()
		}
		if err := checkWindow(m.ScheduledFor, m.ScheduledUntil); err != nil {
			return err
		}
		// Moving the start of a window that has not started yet is
		// scheduling it again; one under way started when it did.
		if before.Status == MaintenanceScheduled && !m.ScheduledFor.Equal(before.ScheduledFor) {
			if err := t.checkStartsAhead(m.ScheduledFor); err != nil {
				return err
			}
		}
		if p.AutoTransition != nil {
			m.AutoTransition = *p.AutoTransition
		}
		if p.RemindBefore != nil {
			if err := checkRemindBefore(*p.RemindBefore); err != nil {
				return err
			}
			m.RemindBefore = *p.RemindBefore
		}
		sameComponents := p.Components == nil || slices.Equal(sortedCopy(*p.Components), before.Components)
		pages := before.Pages
		if p.Pages != nil {
			if pages, err = t.checkNarrowing(*p.Pages); err != nil {
				return err
			}
		}
		samePages := slices.Equal(pages, before.Pages)
		sameWindow := m.ScheduledFor.Equal(before.ScheduledFor) && m.ScheduledUntil.Equal(before.ScheduledUntil)
		if m.Name == before.Name && sameWindow && m.AutoTransition == before.AutoTransition && sameComponents && samePages && m.RemindBefore == before.RemindBefore {
			after = before
			return nil // nothing changes
		}
		// A window's reminder is re-armed for its new start, or its new
		// lead, until it has been sent: once per window.
		if before.Status == MaintenanceScheduled && before.RemindedAt == nil &&
			(!m.ScheduledFor.Equal(before.ScheduledFor) || m.RemindBefore != before.RemindBefore) {
			if _, err := t.exec(`UPDATE maintenances SET remind_at = ? WHERE id = ?`, t.remindAt(m.ScheduledFor, m.RemindBefore), id); err != nil {
				return err
			}
		}
		if _, err := t.exec(`UPDATE maintenances SET name = ?, scheduled_for = ?, scheduled_until = ?, auto_transition = ?, remind_before = ?, updated_at = ?, revision = revision + 1 WHERE id = ?`,
			m.Name, m.ScheduledFor, m.ScheduledUntil, m.AutoTransition, nullIfZero(m.RemindBefore), t.now, id); err != nil {
			return err
		}
		if !samePages {
			if err := t.setMaintenancePages(id, pages); err != nil {
				return err
			}
		}
		if p.Components != nil {
			if err := t.linkMaintenanceComponents(id, *p.Components); err != nil {
				return err
			}
			if before.Status.Active() {
				// Components added to a running window go under maintenance;
				// those removed from it return to rest.
				if err := t.applyMaintenanceStatus(id, before.Components, *p.Components); err != nil {
					return err
				}
			}
		}
		if after, err = getMaintenance(t.ctx, t.sqlTx, id); err != nil {
			return err
		}
		t.record("maintenance.update", "maintenance", id, before, after)
		return nil
	})
	if err != nil {
		return Maintenance{}, fmt.Errorf("store: update maintenance: %w", err)
	}
	return after, nil
}

func sortedCopy(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// applyMaintenanceStatus puts the components in now under maintenance and
// returns those only in was to their resting status.
func (t *tx) applyMaintenanceStatus(id string, was, now []string) error {
	keep := map[string]bool{}
	for _, cid := range now {
		keep[cid] = true
		if err := t.holdForMaintenance(cid); err != nil {
			return err
		}
	}
	for _, cid := range was {
		if keep[cid] {
			continue
		}
		if err := t.lock("component", cid); err != nil {
			return err
		}
		c, err := t.component(cid)
		if err != nil {
			return err
		}
		st, err := t.restingStatus(cid, "", id)
		if err != nil {
			return err
		}
		if _, err := t.setComponentStatus(c, st); err != nil {
			return err
		}
	}
	return nil
}

// holdForMaintenance marks a component under maintenance unless an open
// incident has it degraded or down: an outage is more important to show.
func (t *tx) holdForMaintenance(cid string) error {
	c, err := t.component(cid)
	if err != nil {
		return err
	}
	if c.Status.Worse(UnderMaintenance) != UnderMaintenance {
		return nil
	}
	_, err = t.setComponentStatus(c, UnderMaintenance)
	return err
}

// PostMaintenanceUpdate posts a message and, when the status moves forward
// (scheduled → in_progress → verifying → completed), applies it to the
// components. Moving backwards is refused.
func (s *Store) PostMaintenanceUpdate(ctx context.Context, id string, in MaintenanceUpdateInput) (Maintenance, error) {
	var after Maintenance
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.maintenanceForChange(id)
		if err != nil {
			return err
		}
		body, err := checkText("body", in.Body, MaxBodyLength, true)
		if err != nil {
			return err
		}
		after, err = t.postMaintenanceUpdate(before, in.Status, body, in.SkipNotify)
		return err
	})
	if err != nil {
		return Maintenance{}, fmt.Errorf("store: post maintenance update: %w", err)
	}
	return after, nil
}

// postMaintenanceUpdate moves m to status with a message, by hand or by
// the clock: the timeline entry, the components' statuses, the audit entry
// and feed event, and — for a start or a completion — the subscribers' job.
func (t *tx) postMaintenanceUpdate(m Maintenance, status MaintenanceStatus, body string, skipNotify bool) (Maintenance, error) {
	if status == "" {
		status = m.Status
	}
	if !status.Valid() {
		return Maintenance{}, invalid("status", "unknown maintenance status %q; use one of %s", status, joinValues(MaintenanceStatuses))
	}
	if status.step() < m.Status.step() {
		return Maintenance{}, &ConflictError{Message: fmt.Sprintf("maintenance is %s; it cannot go back to %s", m.Status, status)}
	}
	if _, err := t.exec(`INSERT INTO maintenance_updates (id, maintenance_id, status, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		newID(), m.ID, status, body, t.now); err != nil {
		return Maintenance{}, err
	}
	set, args := `status = ?, updated_at = ?`, []any{status, t.now}
	if status.Active() || status == MaintenanceCompleted {
		// Started (or over): a reminder that it starts soon is too late.
		set += `, remind_at = NULL, started_at = coalesce(started_at, ?)`
		args = append(args, t.now)
	}
	if status == MaintenanceCompleted {
		set += `, completed_at = coalesce(completed_at, ?)`
		args = append(args, t.now)
	}
	if _, err := t.exec(`UPDATE maintenances SET `+set+` WHERE id = ?`, append(args, m.ID)...); err != nil {
		return Maintenance{}, err
	}
	var err error
	switch {
	case status.Active() && !m.Status.Active():
		err = t.applyMaintenanceStatus(m.ID, nil, m.Components)
	case status == MaintenanceCompleted && m.Status.Active():
		// Only a window that had started put its components under
		// maintenance; one completed straight from scheduled leaves them be.
		err = t.applyMaintenanceStatus(m.ID, m.Components, nil)
	}
	if err != nil {
		return Maintenance{}, err
	}
	after, err := getMaintenance(t.ctx, t.sqlTx, m.ID)
	if err != nil {
		return Maintenance{}, err
	}
	t.record("maintenance.update_posted", "maintenance", m.ID, m, after)
	// Subscribers are told that a window started or completed; other
	// updates are not mailed.
	switch {
	case skipNotify:
	case status == MaintenanceCompleted && m.Status != MaintenanceCompleted:
		t.notifyMaintenance(JobMaintenanceCompleted, after)
	case status.Active() && m.Status == MaintenanceScheduled:
		t.notifyMaintenance(JobMaintenanceStarted, after)
	}
	return after, nil
}

// AdvanceMaintenances starts the scheduled windows whose time has come and
// completes the running ones whose time is up, for windows that transition
// automatically. It returns how many it moved.
func (s *Store) AdvanceMaintenances(ctx context.Context) (int, error) {
	moved := 0
	err := s.inTx(WithActor(ctx, SystemActor), func(t *tx) error {
		const due = `auto_transition AND ((status = 'scheduled' AND scheduled_for <= ?) OR (status IN ('scheduled', 'in_progress', 'verifying') AND scheduled_until <= ?))`
		return t.eachMaintenance(`SELECT id FROM maintenances WHERE `+due+` ORDER BY scheduled_for`, []any{t.now, t.now}, func(m Maintenance) error {
			next, body := MaintenanceInProgress, "Scheduled maintenance is currently in progress. We will provide updates as necessary."
			if !m.ScheduledUntil.After(t.now) {
				next, body = MaintenanceCompleted, "The scheduled maintenance has been completed."
			}
			if !m.AutoTransition || m.Status.step() >= next.step() || (next == MaintenanceInProgress && m.ScheduledFor.After(t.now)) {
				return nil // no longer due
			}
			if _, err := t.postMaintenanceUpdate(m, next, body, false); err != nil {
				return fmt.Errorf("advance maintenance %s: %w", m.ID, err)
			}
			moved++
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store: advance maintenances: %w", err)
	}
	return moved, nil
}

// RemindMaintenances queues the reminder of each scheduled window whose
// reminder is due (remind_before minutes before its start), by the store's
// clock, as one job each to the subscribers and webhooks who want it. The
// job and the reminder's being done are one transaction, so a window is
// reminded once, whatever crashes or replicas; its due time is a column,
// so a restart keeps it. A window that started, or whose start has
// passed, gets no reminder. It returns how many it queued.
func (s *Store) RemindMaintenances(ctx context.Context) (int, error) {
	reminded := 0
	err := s.inTx(WithActor(ctx, SystemActor), func(t *tx) error {
		return t.eachMaintenance(`SELECT id FROM maintenances WHERE remind_at IS NOT NULL AND remind_at <= ? ORDER BY remind_at`, []any{t.now}, func(m Maintenance) error {
			var due sql.NullTime // read again under the lock: it may have moved
			if err := t.QueryRowContext(t.ctx, `SELECT remind_at FROM maintenances WHERE id = ?`, m.ID).Scan(&due); err != nil {
				return err
			}
			if !due.Valid || due.Time.After(t.now) {
				return nil
			}
			if m.Status != MaintenanceScheduled || !m.ScheduledFor.After(t.now) {
				_, err := t.exec(`UPDATE maintenances SET remind_at = NULL WHERE id = ?`, m.ID)
				return err
			}
			if _, err := t.exec(`UPDATE maintenances SET remind_at = NULL, reminded_at = ? WHERE id = ?`, t.now, m.ID); err != nil {
				return err
			}
			after, err := getMaintenance(t.ctx, t.sqlTx, m.ID)
			if err != nil {
				return err
			}
			t.record("maintenance.remind", "maintenance", m.ID, m, after)
			t.notifyMaintenance(JobMaintenanceReminder, after)
			reminded++
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store: remind of maintenance: %w", err)
	}
	return reminded, nil
}

// eachMaintenance runs fn on each maintenance query lists (its ids, with
// args), in order, locked and read again: a commander (or another
// replica's clock) may have changed it since the list was read. One
// cancelled meanwhile is skipped.
func (t *tx) eachMaintenance(query string, args []any, fn func(Maintenance) error) error {
	ids, err := t.orderedIDs(query, args...)
	if err != nil {
		return err
	}
	for _, id := range ids {
		m, err := t.maintenanceForChange(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// maintenanceForChange locks a maintenance (a transition is check-then-
// write: it only moves forward, and once) and loads it.
func (t *tx) maintenanceForChange(id string) (Maintenance, error) {
	if err := t.lock("maintenance", id); err != nil {
		return Maintenance{}, err
	}
	return getMaintenance(t.ctx, t.sqlTx, id)
}

// CancelMaintenance calls off a window that has not started: it is removed
// from the page (the audit log keeps what it was). A window in progress is
// ended instead by completing it, which returns its components to rest.
func (s *Store) CancelMaintenance(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.maintenanceForChange(id)
		if err != nil {
			return err
		}
		if before.Status != MaintenanceScheduled {
			return &ConflictError{Message: fmt.Sprintf("maintenance is %s; only a scheduled maintenance can be cancelled — complete it instead", before.Status)}
		}
		comps, _ := json.Marshal(before.Components)
		pages, _ := json.Marshal(before.Pages)
		if _, err := t.exec(`INSERT INTO maintenance_cancellations (id, name, scheduled_for, scheduled_until, components, pages, revision, created_at, cancelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, before.Name, before.ScheduledFor, before.ScheduledUntil, string(comps), string(pages), before.Revision+1, before.CreatedAt, t.now); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM maintenances WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("maintenance.cancel", "maintenance", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: cancel maintenance: %w", err)
	}
	return nil
}

// GetMaintenance returns one maintenance with its timeline.
func (s *Store) GetMaintenance(ctx context.Context, id string) (Maintenance, error) {
	var m Maintenance
	err := s.reading(ctx, func(q querier) (err error) {
		m, err = getMaintenance(ctx, q, id)
		return err
	})
	if err != nil {
		return Maintenance{}, fmt.Errorf("store: get maintenance: %w", err)
	}
	return m, nil
}

// ListMaintenances returns maintenance windows by scheduled start, latest first.
func (s *Store) ListMaintenances(ctx context.Context, f MaintenanceFilter) ([]Maintenance, error) {
	q := `SELECT ` + maintenanceColumns + ` FROM maintenances`
	var args []any
	var where []string
	if len(f.Statuses) > 0 {
		where = append(where, `status IN (`+placeholders(len(f.Statuses))+`)`)
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.Scope != nil {
		w, a := f.Scope.where("maintenances", "maintenance_components", "maintenance_pages", "maintenance_id")
		where, args = append(where, w), append(args, a...)
	}
	w, a, order, reversed := keysetPage("scheduled_for", f.Before, f.After)
	where, args = append(where, w...), append(args, a...)
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q += ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	args = append(args, f.Limit, f.Offset)
	var list []Maintenance
	err := s.reading(ctx, func(rq querier) (err error) {
		list, err = queryMaintenances(ctx, rq, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list maintenances: %w", err)
	}
	if reversed {
		slices.Reverse(list)
	}
	for i := range list {
		list[i] = f.Scope.Maintenance(list[i])
	}
	return list, nil
}

const maintenanceColumns = `id, name, status, scheduled_for, scheduled_until, auto_transition, created_at, updated_at, started_at, completed_at, revision, remind_before, reminded_at`

func getMaintenance(ctx context.Context, q querier, id string) (Maintenance, error) {
	list, err := queryMaintenances(ctx, q, `SELECT `+maintenanceColumns+` FROM maintenances WHERE id = ?`, id)
	if err != nil {
		return Maintenance{}, err
	}
	if len(list) == 0 {
		return Maintenance{}, &NotFoundError{Kind: "maintenance", ID: id}
	}
	return list[0], nil
}

func queryMaintenances(ctx context.Context, q querier, query string, args ...any) ([]Maintenance, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []Maintenance
	index := map[string]int{}
	for rows.Next() {
		var m Maintenance
		var started, completed, reminded sql.NullTime
		var remind sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Name, &m.Status, &m.ScheduledFor, &m.ScheduledUntil, &m.AutoTransition, &m.CreatedAt, &m.UpdatedAt, &started, &completed, &m.Revision,
			&remind, &reminded); err != nil {
			rows.Close()
			return nil, err
		}
		m.StartedAt, m.CompletedAt, m.RemindedAt = timePtr(started), timePtr(completed), timePtr(reminded)
		m.RemindBefore = int(remind.Int64)
		m.Components, m.Updates = []string{}, []MaintenanceUpdate{}
		index[m.ID] = len(out)
		out = append(out, m)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, m := range out {
		ids = append(ids, m.ID)
	}
	in := placeholders(len(ids))
	crow, err := q.QueryContext(ctx, `SELECT maintenance_id, component_id FROM maintenance_components WHERE maintenance_id IN (`+in+`)`, ids...)
	if err != nil {
		return nil, err
	}
	for crow.Next() {
		var mid, cid string
		if err := crow.Scan(&mid, &cid); err != nil {
			crow.Close()
			return nil, err
		}
		out[index[mid]].Components = append(out[index[mid]].Components, cid)
	}
	if err := crow.Close(); err != nil {
		return nil, err
	}
	prow, err := q.QueryContext(ctx, `SELECT maintenance_id, page_id FROM maintenance_pages WHERE maintenance_id IN (`+in+`) ORDER BY page_id`, ids...)
	if err != nil {
		return nil, err
	}
	for prow.Next() {
		var mid, pid string
		if err := prow.Scan(&mid, &pid); err != nil {
			prow.Close()
			return nil, err
		}
		out[index[mid]].Pages = append(out[index[mid]].Pages, pid)
	}
	if err := prow.Close(); err != nil {
		return nil, err
	}
	for i := range out {
		sort.Strings(out[i].Components)
	}
	urow, err := q.QueryContext(ctx, `SELECT id, maintenance_id, status, body, created_at FROM maintenance_updates WHERE maintenance_id IN (`+in+`) ORDER BY created_at DESC, seq DESC`, ids...)
	if err != nil {
		return nil, err
	}
	defer urow.Close()
	for urow.Next() {
		var u MaintenanceUpdate
		if err := urow.Scan(&u.ID, &u.MaintenanceID, &u.Status, &u.Body, &u.CreatedAt); err != nil {
			return nil, err
		}
		out[index[u.MaintenanceID]].Updates = append(out[index[u.MaintenanceID]].Updates, u)
	}
	return out, urow.Err()
}

// ParseMaintenanceStatuses turns "scheduled,in_progress" into statuses.
func ParseMaintenanceStatuses(s string) ([]MaintenanceStatus, error) {
	var out []MaintenanceStatus
	for _, part := range strings.Split(s, ",") {
		st := MaintenanceStatus(strings.TrimSpace(part))
		if st == "" {
			continue
		}
		if !st.Valid() {
			return nil, invalid("status", "unknown maintenance status %q; use one of %s", st, joinValues(MaintenanceStatuses))
		}
		out = append(out, st)
	}
	return out, nil
}

// MaintenanceCancellation is a window that was called off, as it was: the
// calendar feed lists it as cancelled so that calendars drop the event.
type MaintenanceCancellation struct {
	ID             string
	Name           string
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	Components     []string
	Pages          []string
	Revision       int
	CreatedAt      time.Time
	CancelledAt    time.Time
}

// ListMaintenanceCancellations returns the windows cancelled since, newest
// first.
func (s *Store) ListMaintenanceCancellations(ctx context.Context, since time.Time) ([]MaintenanceCancellation, error) {
	var out []MaintenanceCancellation
	err := s.reading(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, name, scheduled_for, scheduled_until, components, pages, revision, created_at, cancelled_at
			FROM maintenance_cancellations WHERE cancelled_at >= ? ORDER BY cancelled_at DESC, id LIMIT 500`, since.UTC())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c MaintenanceCancellation
			var comps, pages string
			if err := rows.Scan(&c.ID, &c.Name, &c.ScheduledFor, &c.ScheduledUntil, &comps, &pages, &c.Revision, &c.CreatedAt, &c.CancelledAt); err != nil {
				return err
			}
			if err := errors.Join(json.Unmarshal([]byte(comps), &c.Components), json.Unmarshal([]byte(pages), &c.Pages)); err != nil {
				return fmt.Errorf("cancelled maintenance %s components and pages: %w", c.ID, err)
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list cancelled maintenance: %w", err)
	}
	return out, nil
}
