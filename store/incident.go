package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// IncidentStatus is where an incident stands.
type IncidentStatus string

const (
	Investigating IncidentStatus = "investigating"
	Identified    IncidentStatus = "identified"
	Monitoring    IncidentStatus = "monitoring"
	Resolved      IncidentStatus = "resolved"
)

// IncidentStatuses lists every incident status in lifecycle order.
var IncidentStatuses = []IncidentStatus{Investigating, Identified, Monitoring, Resolved}

func (s IncidentStatus) Valid() bool {
	switch s {
	case Investigating, Identified, Monitoring, Resolved:
		return true
	}
	return false
}

func (s IncidentStatus) Label() string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// Incident is something going wrong, told to visitors as a timeline of updates.
type Incident struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Status    IncidentStatus `json:"status"`
	Impact    Impact         `json:"impact"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	// StartedAt is when the impact began: the earliest alert behind the
	// incident, or what the commander said; CreatedAt when neither did.
	StartedAt time.Time `json:"started_at"`
	// NextUpdateAt is the next update the latest one promised, if any.
	NextUpdateAt *time.Time `json:"next_update_at"`
	MonitoringAt *time.Time `json:"monitoring_at"`
	ResolvedAt   *time.Time `json:"resolved_at"`
	Components   []string   `json:"components"` // ids of the components it affects
	// Pages narrows it to chosen pages (ids, DefaultPageID for the default
	// page): shown only on those that show what it affects. Empty: not
	// narrowed, shown on every page that shows what it affects.
	Pages      []string         `json:"pages"`
	Updates    []IncidentUpdate `json:"incident_updates"` // newest first
	Postmortem *Postmortem      `json:"postmortem"`
	// Draft marks an incident proposed by an integration and not yet
	// published; drafts live apart (see draft.go) and no public surface
	// reads them. Source is the integration that proposed it, Hold a
	// commander's hold on it.
	Draft  bool       `json:"draft"`
	Source string     `json:"source,omitempty"`
	Hold   *DraftHold `json:"hold,omitempty"`
}

// IncidentUpdate is one message on an incident's timeline.
type IncidentUpdate struct {
	ID         string         `json:"id"`
	IncidentID string         `json:"incident_id"`
	Status     IncidentStatus `json:"status"`
	Body       string         `json:"body"`
	// InternalNote is shown on private pages and to their subscribers,
	// beside Body; never on a public page or in the change feed
	// (Incident.feedPayload). "" for none.
	InternalNote       string              `json:"internal_note,omitempty"`
	CreatedAt          time.Time           `json:"created_at"`
	AffectedComponents []AffectedComponent `json:"affected_components"`
	// DeliverNotifications says whether subscribers were told of it.
	DeliverNotifications bool `json:"deliver_notifications"`
	// EditedAt is when its message was last corrected (nil: never).
	EditedAt *time.Time `json:"edited_at,omitempty"`
}

// Public is the incident without its updates' internal notes: what
// anything public may carry.
func (i Incident) Public() Incident {
	if !slices.ContainsFunc(i.Updates, func(u IncidentUpdate) bool { return u.InternalNote != "" }) {
		return i
	}
	i.Updates = slices.Clone(i.Updates)
	for k := range i.Updates {
		i.Updates[k].InternalNote = ""
	}
	return i
}

// AffectedComponent is a component status change made by an update.
type AffectedComponent struct {
	ComponentID string          `json:"component_id"`
	Name        string          `json:"name"`
	OldStatus   ComponentStatus `json:"old_status"`
	NewStatus   ComponentStatus `json:"new_status"`
}

// Postmortem is the published account of a resolved incident.
type Postmortem struct {
	Body        string    `json:"body"`
	PublishedAt time.Time `json:"published_at"`
	// The structured parts written in the console's postmortem editor
	// (store/postmortem.go); empty when only a body was published.
	RootCause  string             `json:"root_cause,omitempty"`
	Resolution string             `json:"resolution,omitempty"`
	Actions    []CorrectiveAction `json:"corrective_actions,omitempty"`
}

// Open reports whether the incident is not yet resolved.
func (i Incident) Open() bool { return i.Status != Resolved }

// IncidentInput opens an incident. Status "" means investigating; Impact ""
// is derived from the worst new component status.
type IncidentInput struct {
	Name   string
	Status IncidentStatus
	Impact Impact
	Body   string
	// InternalNote is the first update's note for private pages.
	InternalNote string
	// Pages narrows it to chosen pages (Incident.Pages); none: not narrowed.
	Pages      []string
	Components map[string]ComponentStatus
	// StartedAt is when the impact began, if before now (the zero value:
	// now). The components' status history counts from then.
	StartedAt time.Time
	// NextUpdateAt promises the next update by then (nil: no promise).
	NextUpdateAt *time.Time
	// SkipNotify keeps subscribers from being told (the zero value notifies).
	SkipNotify bool
	// Key is the submission's idempotency key (a form's hidden token, an
	// API client's Idempotency-Key): a second call with the same key
	// changes nothing and returns the incident the first one made.
	Key string

	// Set when an integration's draft becomes the incident.
	firstSignal, draftCreated *time.Time
}

// IncidentUpdateInput posts an update. Status "" keeps the current status.
type IncidentUpdateInput struct {
	Status IncidentStatus
	Body   string
	// InternalNote is shown on private pages only ("" for none).
	InternalNote string
	Components   map[string]ComponentStatus
	// Impact, when not "", changes the incident's impact in the same
	// transaction (the console's one update form carries it).
	Impact Impact
	// SkipNotify keeps subscribers from being told of this update (the
	// commander's "notify" switch; the zero value notifies).
	SkipNotify bool
	// NextUpdateAt promises the next update by then. nil makes no promise:
	// this update is the one an earlier promise was for.
	NextUpdateAt *time.Time
	// Key is the submission's idempotency key, as IncidentInput.Key.
	Key string
}

// IncidentPatch changes the fields that are not nil.
type IncidentPatch struct {
	Name   *string
	Impact *Impact
	// Pages narrows it to chosen pages; an empty list widens it again.
	Pages *[]string
	// StartedAt backdates (or corrects) when the impact began: not in the
	// future, not after the incident's first update.
	StartedAt *time.Time
}

// IncidentFilter selects incidents for ListIncidents.
type IncidentFilter struct {
	Unresolved bool      // only open incidents
	Resolved   bool      // only resolved incidents
	Since      time.Time // created at or after, when not zero
	// Before lists only what comes after the keyset in the list's order
	// (newest first): paging that costs the same on every page. After
	// lists the Limit entries just before it (newer), still newest first.
	Before, After *Keyset
	// Scope lists only what that page shows; nil: everything.
	Scope  *Scope
	Limit  int // default 50
	Offset int
}

// impactFor derives an impact from component statuses, as Statuspage does
// when the commander does not choose one.
func impactFor(components map[string]ComponentStatus) Impact {
	impact := ImpactNone
	for _, st := range components {
		impact = impact.Worse(st.Impact())
	}
	return impact
}

func checkComponentChanges(components map[string]ComponentStatus) error {
	for id, st := range components {
		if !st.Valid() {
			return invalid("components."+id, "unknown component status %q; use one of %s", st, joinValues(ComponentStatuses))
		}
	}
	return nil
}

// CreateIncident opens an incident with its first update and applies its
// component statuses, all in one transaction.
func (s *Store) CreateIncident(ctx context.Context, in IncidentInput) (Incident, error) {
	var inc Incident
	err := s.inTx(ctx, func(t *tx) (err error) {
		inc, err = t.createIncident(newID(), in)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: create incident: %w", err)
	}
	return inc, nil
}

// createIncident is CreateIncident inside a transaction, under a chosen id:
// publishing a draft keeps the draft's id.
func (t *tx) createIncident(id string, in IncidentInput) (Incident, error) {
	if made, done, err := t.submitted(in.Key, ""); err != nil || done {
		return made, err
	}
	name, err := checkLine("name", in.Name, MaxNameLength, true)
	if err != nil {
		return Incident{}, err
	}
	status := in.Status
	if status == "" {
		status = Investigating
	}
	if !status.Valid() {
		return Incident{}, invalid("status", "unknown incident status %q; use one of %s", status, joinValues(IncidentStatuses))
	}
	impact := in.Impact
	if impact == "" {
		impact = impactFor(in.Components)
	}
	if !impact.Valid() {
		return Incident{}, invalid("impact", "unknown impact %q; use one of %s", impact, joinValues(Impacts))
	}
	if err := checkComponentChanges(in.Components); err != nil {
		return Incident{}, err
	}
	started := in.StartedAt.UTC().Truncate(time.Microsecond)
	switch {
	case started.IsZero():
		started = t.now
	case started.After(t.now):
		return Incident{}, invalid("started_at", "is in the future; give when the impact began, at the latest now")
	}
	if err := t.checkPromise(in.NextUpdateAt); err != nil {
		return Incident{}, err
	}
	if _, err := t.exec(`INSERT INTO incidents (id, name, status, impact, created_at, updated_at, started_at, first_signal_at, draft_created_at, time_to_public_s)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, name, Investigating, impact, t.now, t.now, started, in.firstSignal, in.draftCreated, seconds(t.now.Sub(started))); err != nil {
		return Incident{}, err
	}
	if err := t.setIncidentPages(id, in.Pages); err != nil {
		return Incident{}, err
	}
	if err := t.addIncidentUpdate(id, Investigating, started, IncidentUpdateInput{Status: status, Body: in.Body, InternalNote: in.InternalNote, Components: in.Components, NextUpdateAt: in.NextUpdateAt, SkipNotify: in.SkipNotify, Key: in.Key}); err != nil {
		return Incident{}, err
	}
	after, err := getIncident(t.ctx, t.sqlTx, id)
	if err != nil {
		return Incident{}, err
	}
	t.record("incident.create", "incident", id, nil, after)
	if !in.SkipNotify {
		t.notifyIncident(JobIncidentCreated, after)
	}
	return after, nil
}

// PostIncidentUpdate adds an update to an incident's timeline, moves it to
// the update's status and applies the update's component statuses. Resolving
// returns the incident's components to operational, unless another open
// incident or a maintenance in progress still holds them.
func (s *Store) PostIncidentUpdate(ctx context.Context, incidentID string, in IncidentUpdateInput) (Incident, error) {
	var inc Incident
	err := s.inTx(ctx, func(t *tx) (err error) {
		inc, err = t.postUpdate(incidentID, in)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: post incident update: %w", err)
	}
	return inc, nil
}

// postUpdate is PostIncidentUpdate inside a transaction: the update, its
// component changes, its audit entry, feed event and job.
func (t *tx) postUpdate(incidentID string, in IncidentUpdateInput) (Incident, error) {
	// Resolving hands components back by reading other open incidents.
	if err := t.lock("incident", incidentID); err != nil {
		return Incident{}, err
	}
	if made, done, err := t.submitted(in.Key, incidentID); err != nil || done {
		return made, err
	}
	before, err := getIncident(t.ctx, t.sqlTx, incidentID)
	if err != nil {
		return Incident{}, err
	}
	if in.Status == "" {
		in.Status = before.Status
	}
	if in.Impact != "" && in.Impact != before.Impact {
		if !in.Impact.Valid() {
			return Incident{}, invalid("impact", "unknown impact %q; use one of %s", in.Impact, joinValues(Impacts))
		}
		if _, err := t.exec(`UPDATE incidents SET impact = ? WHERE id = ?`, in.Impact, incidentID); err != nil {
			return Incident{}, err
		}
	}
	if err := t.checkPromise(in.NextUpdateAt); err != nil {
		return Incident{}, err
	}
	if err := t.addIncidentUpdate(incidentID, before.Status, t.now, in); err != nil {
		return Incident{}, err
	}
	after, err := getIncident(t.ctx, t.sqlTx, incidentID)
	if err != nil {
		return Incident{}, err
	}
	t.record("incident.update_posted", "incident", incidentID, before, after)
	if !in.SkipNotify {
		kind := JobIncidentUpdated
		if after.Status == Resolved && before.Status != Resolved {
			kind = JobIncidentResolved
		}
		t.notifyIncident(kind, after)
	}
	return after, nil
}

// addIncidentUpdate writes one update of an incident that stood at
// previous: the timeline entry, the component changes it makes (in their
// history from statusAt: when the impact began, for the first update), its
// promise, and the incident's new status. It records nothing; its callers
// do.
func (t *tx) addIncidentUpdate(incidentID string, previous IncidentStatus, statusAt time.Time, in IncidentUpdateInput) error {
	if !in.Status.Valid() {
		return invalid("status", "unknown incident status %q; use one of %s", in.Status, joinValues(IncidentStatuses))
	}
	body, err := checkText("body", in.Body, MaxBodyLength, true)
	if err != nil {
		return err
	}
	note, err := checkText("internal_note", in.InternalNote, MaxBodyLength, false)
	if err != nil {
		return err
	}
	if err := checkComponentChanges(in.Components); err != nil {
		return err
	}
	updateID := newID()
	if _, err := t.exec(`INSERT INTO incident_updates (id, incident_id, status, body, internal_note, created_at, deliver_notifications, submission_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		updateID, incidentID, in.Status, body, note, t.now, !in.SkipNotify, nullIfEmpty(in.Key)); err != nil {
		return fmt.Errorf("insert update: %w", err)
	}

	// Apply explicit component changes in a stable order.
	ids := make([]string, 0, len(in.Components))
	for id := range in.Components {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, cid := range ids {
		c, err := t.component(cid)
		if err != nil {
			return asFieldError("components", err)
		}
		if _, err := t.exec(`INSERT INTO incident_components (incident_id, component_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, incidentID, cid); err != nil {
			return fmt.Errorf("link component: %w", err)
		}
		if err := t.changeComponentForUpdate(updateID, c, in.Components[cid], statusAt); err != nil {
			return err
		}
	}

	// The update keeps any earlier promise; it may make the next one.
	// Nothing is promised of a resolved incident.
	var promise any
	if in.NextUpdateAt != nil && in.Status != Resolved {
		promise = in.NextUpdateAt.UTC()
	}
	set := `status = ?, updated_at = ?, next_update_at = ?, overdue_notified_at = NULL`
	args := []any{in.Status, t.now, promise}
	switch in.Status {
	case Monitoring:
		set += `, monitoring_at = coalesce(monitoring_at, ?), resolved_at = NULL`
		args = append(args, t.now)
	case Resolved:
		set += `, resolved_at = coalesce(resolved_at, ?)`
		args = append(args, t.now)
	default:
		set += `, resolved_at = NULL`
	}
	if _, err := t.exec(`UPDATE incidents SET `+set+` WHERE id = ?`, append(args, incidentID)...); err != nil {
		return fmt.Errorf("update incident: %w", err)
	}

	// Components are returned to rest only when the incident becomes
	// resolved: a follow-up note on a resolved incident must not undo
	// statuses set since.
	if in.Status == Resolved && previous != Resolved {
		linked, err := t.incidentComponents(incidentID)
		if err != nil {
			return err
		}
		for _, cid := range linked {
			if _, explicit := in.Components[cid]; explicit {
				continue
			}
			if err := t.lock("component", cid); err != nil {
				return err
			}
			c, err := t.component(cid)
			if err != nil {
				return err
			}
			restored, err := t.restingStatus(cid, incidentID, "")
			if err != nil {
				return err
			}
			if restored != c.Status {
				if err := t.changeComponentForUpdate(updateID, c, restored, t.now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// changeComponentForUpdate sets a component's status (in its history from
// at) and records the change on the update's timeline entry.
func (t *tx) changeComponentForUpdate(updateID string, c Component, status ComponentStatus, at time.Time) error {
	if _, err := t.setComponentStatusFrom(c, status, at); err != nil {
		return err
	}
	if _, err := t.exec(`INSERT INTO incident_update_components (update_id, component_id, component_name, old_status, new_status) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (update_id, component_id) DO UPDATE SET component_name = excluded.component_name, old_status = excluded.old_status, new_status = excluded.new_status`,
		updateID, c.ID, c.Name, c.Status, status); err != nil {
		return fmt.Errorf("record component change: %w", err)
	}
	return nil
}

// checkPromise refuses a promised update time that has already passed.
func (t *tx) checkPromise(at *time.Time) error {
	if at != nil && !at.After(t.now) {
		return invalid("next_update_at", "%s has already passed; promise the next update at a time to come", at.UTC().Format(time.RFC3339))
	}
	return nil
}

// seconds is a duration in whole seconds, never below zero.
func seconds(d time.Duration) int64 { return max(0, int64(d/time.Second)) }

func (t *tx) incidentComponents(incidentID string) ([]string, error) {
	return t.orderedIDs(`SELECT component_id FROM incident_components WHERE incident_id = ? ORDER BY component_id`, incidentID)
}

// restingStatus is the status a component should have once the incident
// exceptIncident (or the maintenance exceptMaintenance) no longer holds it:
// the status the latest other open incident gave it; else its current status
// if another open incident affects it without having set one; else
// under_maintenance while a maintenance is in progress on it; else operational.
func (t *tx) restingStatus(componentID, exceptIncident, exceptMaintenance string) (ComponentStatus, error) {
	var st ComponentStatus
	// Both reads start from the open incidents, which are few however
	// long the history (CROSS JOIN keeps SQLite's planner to that order);
	// starting from the component would read every change it ever had.
	err := t.QueryRowContext(t.ctx, `
		SELECT iuc.new_status FROM incidents i
		CROSS JOIN incident_updates iu CROSS JOIN incident_update_components iuc
		WHERE i.status <> 'resolved' AND i.id <> ? AND iu.incident_id = i.id
		AND iuc.update_id = iu.id AND iuc.component_id = ?
		ORDER BY iu.created_at DESC, iu.seq DESC LIMIT 1`, exceptIncident, componentID).Scan(&st)
	switch {
	case err == nil:
		return st, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("resting status of %s: %w", componentID, err)
	}
	var n int
	if err := t.QueryRowContext(t.ctx, `
		SELECT count(*) FROM incidents i CROSS JOIN incident_components ic
		WHERE i.status <> 'resolved' AND i.id <> ? AND ic.incident_id = i.id AND ic.component_id = ?`, exceptIncident, componentID).Scan(&n); err != nil {
		return "", fmt.Errorf("resting status of %s: %w", componentID, err)
	}
	if n > 0 {
		c, err := t.component(componentID)
		return c.Status, err
	}
	if err := t.QueryRowContext(t.ctx, `
		SELECT count(*) FROM maintenance_components mc JOIN maintenances m ON m.id = mc.maintenance_id
		WHERE mc.component_id = ? AND m.status IN ('in_progress', 'verifying') AND m.id <> ?`, componentID, exceptMaintenance).Scan(&n); err != nil {
		return "", fmt.Errorf("resting status of %s: %w", componentID, err)
	}
	if n > 0 {
		return UnderMaintenance, nil
	}
	return Operational, nil
}

// UpdateIncident changes an incident's name or impact.
func (s *Store) UpdateIncident(ctx context.Context, id string, p IncidentPatch) (Incident, error) {
	var after Incident
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getIncident(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		after = before
		name, impact := before.Name, before.Impact
		if p.Name != nil {
			if name, err = checkLine("name", *p.Name, MaxNameLength, true); err != nil {
				return err
			}
		}
		if p.Impact != nil {
			if !p.Impact.Valid() {
				return invalid("impact", "unknown impact %q; use one of %s", *p.Impact, joinValues(Impacts))
			}
			impact = *p.Impact
		}
		started := before.StartedAt
		if p.StartedAt != nil {
			started = p.StartedAt.UTC().Truncate(time.Microsecond)
			first := before.Updates[len(before.Updates)-1].CreatedAt // newest first
			switch {
			case started.After(t.now):
				return invalid("started_at", "is in the future; give when the impact began")
			case started.After(first):
				return invalid("started_at", "is after the incident's first update (%s); the impact began before anyone wrote about it", first.Format(time.RFC3339))
			}
		}
		pages := before.Pages
		if p.Pages != nil {
			if pages, err = t.checkNarrowing(*p.Pages); err != nil {
				return err
			}
		}
		if name == before.Name && impact == before.Impact && started.Equal(before.StartedAt) && slices.Equal(pages, before.Pages) {
			return nil // nothing changes
		}
		if !slices.Equal(pages, before.Pages) {
			if err := t.setIncidentPages(id, pages); err != nil {
				return err
			}
			after.Pages = pages
		}
		if _, err := t.exec(`UPDATE incidents SET name = ?, impact = ?, updated_at = ?, started_at = ?, time_to_public_s = ?, time_to_delivery_s = ? WHERE id = ?`,
			name, impact, t.now, started, seconds(before.CreatedAt.Sub(started)), t.deliverySeconds(id, started), id); err != nil {
			return err
		}
		if !started.Equal(before.StartedAt) {
			if err := t.moveStart(before, started); err != nil {
				return err
			}
			if after, err = getIncident(t.ctx, t.sqlTx, id); err != nil {
				return err
			}
		} else {
			after.Name, after.Impact, after.UpdatedAt = name, impact, t.now
		}
		t.record("incident.update", "incident", id, before, after)
		return nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: update incident: %w", err)
	}
	return after, nil
}

// moveStart moves the status history the incident's first update wrote,
// dated when the impact began, to the new start: the uptime record counts
// the outage from when it began, not from when it was posted. A component
// that has changed since the new start keeps that change in order.
func (t *tx) moveStart(inc Incident, started time.Time) error {
	first := inc.Updates[len(inc.Updates)-1]
	for _, a := range first.AffectedComponents {
		var last sql.NullTime
		if err := t.QueryRowContext(t.ctx, `SELECT at FROM component_status_changes WHERE component_id = ? AND at < ? ORDER BY at DESC LIMIT 1`,
			a.ComponentID, inc.StartedAt).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("history of %s: %w", a.ComponentID, err)
		}
		at := started
		if last.Valid && !last.Time.Before(at) {
			at = last.Time.Add(time.Microsecond)
		}
		if _, err := t.exec(`UPDATE component_status_changes SET at = ? WHERE component_id = ? AND at = ? AND status = ?`,
			at, a.ComponentID, inc.StartedAt, a.NewStatus); err != nil {
			return fmt.Errorf("history of %s: %w", a.ComponentID, err)
		}
	}
	return nil
}

// deliverySeconds is the time from started to the incident's first
// delivery, nil (NULL) for an incident that has had none.
func (t *tx) deliverySeconds(id string, started time.Time) any {
	var first sql.NullTime
	if err := t.QueryRowContext(t.ctx, `SELECT first_delivery_at FROM incidents WHERE id = ?`, id).Scan(&first); err != nil || !first.Valid {
		return nil
	}
	return seconds(first.Time.Sub(started))
}

// PublishPostmortem publishes (or revises) a resolved incident's postmortem.
func (s *Store) PublishPostmortem(ctx context.Context, id, body string) (Incident, error) {
	var after Incident
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getIncident(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		if before.Status != Resolved {
			return &ConflictError{Message: "a postmortem can be published once the incident is resolved"}
		}
		body, err := checkText("body", body, MaxBodyLength, true)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE incidents SET postmortem_body = ?, postmortem_published_at = coalesce(postmortem_published_at, ?), updated_at = ? WHERE id = ?`,
			body, t.now, t.now, id); err != nil {
			return err
		}
		if after, err = getIncident(t.ctx, t.sqlTx, id); err != nil {
			return err
		}
		t.record("incident.postmortem_published", "incident", id, before.Postmortem, after.Postmortem)
		t.publish(after)
		// Subscribers hear of the first publication, not of every revision.
		if before.Postmortem == nil {
			t.notifyIncident(JobPostmortemPublished, after)
		}
		return nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: publish postmortem: %w", err)
	}
	return after, nil
}

// GetIncident returns one incident with its timeline.
func (s *Store) GetIncident(ctx context.Context, id string) (Incident, error) {
	var inc Incident
	err := s.reading(ctx, func(q querier) (err error) {
		inc, err = getIncident(ctx, q, id)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident: %w", err)
	}
	return inc, nil
}

// ListIncidents returns incidents newest first, each with its timeline.
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	var where []string
	var args []any
	if f.Unresolved {
		where = append(where, "status <> 'resolved'")
	}
	if f.Resolved {
		where = append(where, "status = 'resolved'")
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, f.Since.UTC())
	}
	if f.Scope != nil {
		w, a := f.Scope.where("incidents", "incident_components", "incident_pages", "incident_id")
		where, args = append(where, w), append(args, a...)
	}
	w, a, order, reversed := keysetPage("created_at", f.Before, f.After)
	where, args = append(where, w...), append(args, a...)
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q += ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	args = append(args, f.Limit, f.Offset)
	var incidents []Incident
	err := s.reading(ctx, func(rq querier) (err error) {
		incidents, err = queryIncidents(ctx, rq, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	if reversed {
		slices.Reverse(incidents)
	}
	for i := range incidents {
		incidents[i] = f.Scope.Incident(incidents[i])
	}
	return incidents, nil
}

// CountIncidents counts incidents matching f (ignoring Limit and Offset).
func (s *Store) CountIncidents(ctx context.Context, f IncidentFilter) (int, error) {
	q := `SELECT count(*) FROM incidents WHERE (NOT ? OR status <> 'resolved') AND (NOT ? OR status = 'resolved') AND created_at >= ?`
	var n int
	since := f.Since
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	if err := s.read.QueryRowContext(ctx, q, f.Unresolved, f.Resolved, since.UTC()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count incidents: %w", err)
	}
	return n, nil
}

const incidentColumns = `id, name, status, impact, created_at, updated_at, monitoring_at, resolved_at, postmortem_body, postmortem_published_at, started_at, next_update_at`

func getIncident(ctx context.Context, q querier, id string) (Incident, error) {
	list, err := queryIncidents(ctx, q, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id)
	if err != nil {
		return Incident{}, err
	}
	if len(list) == 0 {
		return Incident{}, &NotFoundError{Kind: "incident", ID: id}
	}
	return list[0], nil
}

// queryIncidents runs a query selecting incidentColumns and loads each
// incident's components and timeline with one query each, not one per incident.
func queryIncidents(ctx context.Context, q querier, query string, args ...any) ([]Incident, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []Incident
	index := map[string]int{}
	for rows.Next() {
		var inc Incident
		var monitoring, resolved, pmAt, started, next sql.NullTime
		var pmBody string
		if err := rows.Scan(&inc.ID, &inc.Name, &inc.Status, &inc.Impact, &inc.CreatedAt, &inc.UpdatedAt, &monitoring, &resolved, &pmBody, &pmAt, &started, &next); err != nil {
			rows.Close()
			return nil, err
		}
		inc.StartedAt = inc.CreatedAt
		if started.Valid {
			inc.StartedAt = started.Time.UTC()
		}
		inc.NextUpdateAt = timePtr(next)
		inc.MonitoringAt = timePtr(monitoring)
		inc.ResolvedAt = timePtr(resolved)
		if pmAt.Valid {
			inc.Postmortem = &Postmortem{Body: pmBody, PublishedAt: pmAt.Time}
		}
		inc.Components, inc.Pages = []string{}, []string{}
		inc.Updates = []IncidentUpdate{}
		index[inc.ID] = len(out)
		out = append(out, inc)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(out))
	for _, inc := range out {
		ids = append(ids, inc.ID)
	}
	in := placeholders(len(ids))

	crow, err := q.QueryContext(ctx, `SELECT incident_id, component_id FROM incident_components WHERE incident_id IN (`+in+`) ORDER BY component_id`, ids...)
	if err != nil {
		return nil, err
	}
	for crow.Next() {
		var iid, cid string
		if err := crow.Scan(&iid, &cid); err != nil {
			crow.Close()
			return nil, err
		}
		out[index[iid]].Components = append(out[index[iid]].Components, cid)
	}
	if err := crow.Close(); err != nil {
		return nil, err
	}
	prow, err := q.QueryContext(ctx, `SELECT incident_id, page_id FROM incident_pages WHERE incident_id IN (`+in+`) ORDER BY page_id`, ids...)
	if err != nil {
		return nil, err
	}
	for prow.Next() {
		var iid, pid string
		if err := prow.Scan(&iid, &pid); err != nil {
			prow.Close()
			return nil, err
		}
		out[index[iid]].Pages = append(out[index[iid]].Pages, pid)
	}
	if err := prow.Close(); err != nil {
		return nil, err
	}

	if err := loadPostmortemParts(ctx, q, out, index); err != nil {
		return nil, err
	}

	// A withdrawn update (deleted_at) is kept for the record and shown nowhere.
	urow, err := q.QueryContext(ctx, `SELECT id, incident_id, status, body, internal_note, created_at, deliver_notifications, edited_at FROM incident_updates
		WHERE incident_id IN (`+in+`) AND deleted_at IS NULL ORDER BY created_at DESC, seq DESC`, ids...)
	if err != nil {
		return nil, err
	}
	updateAt := map[string][2]int{}
	for urow.Next() {
		var u IncidentUpdate
		var edited sql.NullTime
		if err := urow.Scan(&u.ID, &u.IncidentID, &u.Status, &u.Body, &u.InternalNote, &u.CreatedAt, &u.DeliverNotifications, &edited); err != nil {
			urow.Close()
			return nil, err
		}
		u.EditedAt = timePtr(edited)
		u.AffectedComponents = []AffectedComponent{}
		i := index[u.IncidentID]
		updateAt[u.ID] = [2]int{i, len(out[i].Updates)}
		out[i].Updates = append(out[i].Updates, u)
	}
	if err := urow.Close(); err != nil {
		return nil, err
	}

	arow, err := q.QueryContext(ctx, `SELECT iuc.update_id, iuc.component_id, iuc.component_name, iuc.old_status, iuc.new_status
		FROM incident_update_components iuc JOIN incident_updates iu ON iu.id = iuc.update_id
		WHERE iu.incident_id IN (`+in+`) AND iu.deleted_at IS NULL ORDER BY iuc.component_name, iuc.component_id`, ids...)
	if err != nil {
		return nil, err
	}
	defer arow.Close()
	for arow.Next() {
		var uid string
		var a AffectedComponent
		if err := arow.Scan(&uid, &a.ComponentID, &a.Name, &a.OldStatus, &a.NewStatus); err != nil {
			return nil, err
		}
		at := updateAt[uid]
		u := &out[at[0]].Updates[at[1]]
		u.AffectedComponents = append(u.AffectedComponents, a)
	}
	return out, arow.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}
