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

// Drafts are incidents an integration proposes (Alertmanager, for now) and a
// commander approves. They live in their own table rather than as a flag on
// incidents: every public surface and every notification reads incidents, so
// a draft cannot reach any of them by a filter someone forgot. Publishing
// replays the draft's updates as a real incident, under the same id, in one
// transaction.

// draftUpdate is one update a draft posts when it is published.
type draftUpdate struct {
	ID     string         `json:"id"`
	Status IncidentStatus `json:"status"`
	Body   string         `json:"body"`
	// Components are the statuses the update sets, as they stood when it
	// was received (what a commander reviewing the draft sees).
	Components map[string]ComponentStatus `json:"components"`
	// Rest lists the components the update hands back (their alerts have
	// resolved): their status is worked out again when the draft is
	// published, since other incidents may have changed it meanwhile.
	Rest []string  `json:"rest,omitempty"`
	At   time.Time `json:"at"`
}

// draft is a row of incident_drafts.
type draft struct {
	ID        string
	Source    string
	Name      string
	Impact    Impact
	Updates   []draftUpdate // oldest first
	CreatedAt time.Time
	UpdatedAt time.Time
	StartedAt *time.Time // the earliest alert behind it
	Hold      *DraftHold
	// RemindedAt is when the commanders were told it waits.
	RemindedAt *time.Time
}

// DraftHold is a commander's word that a draft must not be published by
// itself (the escalation policy's holding statement): who, when and why.
type DraftHold struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

const draftColumns = `id, source, name, impact, updates, created_at, updated_at, started_at, held_at, held_by, hold_reason, reminded_at`

func queryDrafts(ctx context.Context, q querier, query string, args ...any) ([]draft, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []draft
	for rows.Next() {
		var d draft
		var updates, heldBy, reason string
		var started, held, reminded sql.NullTime
		if err := rows.Scan(&d.ID, &d.Source, &d.Name, &d.Impact, &updates, &d.CreatedAt, &d.UpdatedAt, &started, &held, &heldBy, &reason, &reminded); err != nil {
			return nil, err
		}
		d.StartedAt, d.RemindedAt = timePtr(started), timePtr(reminded)
		if held.Valid {
			d.Hold = &DraftHold{At: held.Time.UTC(), By: heldBy, Reason: reason}
		}
		if err := json.Unmarshal([]byte(updates), &d.Updates); err != nil {
			return nil, fmt.Errorf("draft %s: updates: %w", d.ID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func getDraft(ctx context.Context, q querier, id string) (draft, error) {
	list, err := queryDrafts(ctx, q, `SELECT `+draftColumns+` FROM incident_drafts WHERE id = ?`, id)
	if err != nil {
		return draft{}, err
	}
	if len(list) == 0 {
		return draft{}, &NotFoundError{Kind: "incident", ID: id}
	}
	return list[0], nil
}

// status is where the draft's incident would stand once published.
func (d draft) status() IncidentStatus {
	if len(d.Updates) == 0 {
		return Investigating
	}
	return d.Updates[len(d.Updates)-1].Status
}

// incident shows the draft as the API shows an incident, with "draft": true.
// Each affected component's old status is its status now: what publishing
// would change it from.
func (d draft) incident(components map[string]Component) Incident {
	inc := Incident{
		ID: d.ID, Name: d.Name, Status: d.status(), Impact: d.Impact,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, StartedAt: d.CreatedAt,
		Components: []string{}, Updates: []IncidentUpdate{}, Draft: true, Source: d.Source, Hold: d.Hold,
	}
	if d.StartedAt != nil {
		inc.StartedAt = *d.StartedAt
	}
	seen := map[string]bool{}
	for i := len(d.Updates) - 1; i >= 0; i-- {
		u := d.Updates[i]
		iu := IncidentUpdate{ID: u.ID, IncidentID: d.ID, Status: u.Status, Body: u.Body, CreatedAt: u.At, AffectedComponents: []AffectedComponent{}}
		for cid, st := range u.Components {
			c, ok := components[cid]
			if !ok {
				continue // deleted since; publishing skips it too
			}
			iu.AffectedComponents = append(iu.AffectedComponents, AffectedComponent{ComponentID: cid, Name: c.Name, OldStatus: c.Status, NewStatus: st})
			if !seen[cid] {
				seen[cid] = true
				inc.Components = append(inc.Components, cid)
			}
		}
		sort.Slice(iu.AffectedComponents, func(a, b int) bool { return iu.AffectedComponents[a].Name < iu.AffectedComponents[b].Name })
		inc.Updates = append(inc.Updates, iu)
	}
	sort.Strings(inc.Components)
	if inc.Status == Resolved {
		at := d.UpdatedAt
		inc.ResolvedAt = &at
	}
	return inc
}

func componentsByID(ctx context.Context, q querier) (map[string]Component, error) {
	list, err := listComponents(ctx, q)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Component, len(list))
	for _, c := range list {
		m[c.ID] = c
	}
	return m, nil
}

// createDraft stores a new draft with its first update.
func (t *tx) createDraft(id, source, name string, impact Impact, first draftUpdate, began time.Time) error {
	name, err := checkLine("name", name, MaxNameLength, true)
	if err != nil {
		return err
	}
	d := draft{ID: id, Source: source, Name: name, Impact: impact, Updates: []draftUpdate{first}, CreatedAt: t.now, UpdatedAt: t.now}
	if !began.IsZero() {
		d.StartedAt = &began
	}
	updates, err := json.Marshal(d.Updates)
	if err != nil {
		return fmt.Errorf("draft updates: %w", err)
	}
	if _, err := t.exec(`INSERT INTO incident_drafts (id, source, name, impact, updates, created_at, updated_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Source, d.Name, d.Impact, string(updates), d.CreatedAt, d.UpdatedAt, d.StartedAt); err != nil {
		return fmt.Errorf("insert draft: %w", err)
	}
	// No change-feed event: the feed is public (live streams replay it).
	t.record("incident_draft.create", "incident_draft", id, nil, d)
	return nil
}

// appendDraftUpdate adds an update to a draft and raises its impact to at
// least impact.
func (t *tx) appendDraftUpdate(id string, u draftUpdate, impact Impact, began time.Time) error {
	before, err := getDraft(t.ctx, t.sqlTx, id)
	if err != nil {
		return err
	}
	after := before
	after.Updates = append(slices.Clone(before.Updates), u)
	after.Impact = before.Impact.Worse(impact)
	after.UpdatedAt = t.now
	if !began.IsZero() && (after.StartedAt == nil || began.Before(*after.StartedAt)) {
		after.StartedAt = &began // an alert that began earlier joined
	}
	updates, err := json.Marshal(after.Updates)
	if err != nil {
		return fmt.Errorf("draft updates: %w", err)
	}
	if _, err := t.exec(`UPDATE incident_drafts SET impact = ?, updates = ?, updated_at = ?, started_at = ? WHERE id = ?`, after.Impact, string(updates), t.now, after.StartedAt, id); err != nil {
		return fmt.Errorf("update draft: %w", err)
	}
	t.record("incident_draft.update", "incident_draft", id, before, after)
	return nil
}

// isDraft reports whether id is a draft.
func (t *tx) isDraft(id string) (bool, error) {
	var n int
	if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM incident_drafts WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("look up draft %s: %w", id, err)
	}
	return n > 0, nil
}

// ListDrafts returns every draft, newest first, as the API shows incidents.
func (s *Store) ListDrafts(ctx context.Context) ([]Incident, error) {
	drafts, err := queryDrafts(ctx, s.read, `SELECT `+draftColumns+` FROM incident_drafts ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list drafts: %w", err)
	}
	if len(drafts) == 0 {
		return []Incident{}, nil
	}
	comps, err := componentsByID(ctx, s.read)
	if err != nil {
		return nil, fmt.Errorf("store: list drafts: %w", err)
	}
	out := make([]Incident, len(drafts))
	for i, d := range drafts {
		out[i] = d.incident(comps)
	}
	return out, nil
}

// ListIncidentsWithDrafts is ListIncidents for the admin API: on the first
// page, drafts that match the filter come before the incidents, since they
// wait on someone.
func (s *Store) ListIncidentsWithDrafts(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	list, err := s.ListIncidents(ctx, f)
	if err != nil || f.Offset > 0 {
		return list, err
	}
	drafts, err := s.ListDrafts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Incident
	for _, d := range drafts {
		if (f.Unresolved && d.Status == Resolved) || (f.Resolved && d.Status != Resolved) || (!f.Since.IsZero() && d.CreatedAt.Before(f.Since)) {
			continue
		}
		out = append(out, d)
	}
	return append(out, list...), nil
}

// GetIncidentOrDraft returns the incident id, or the draft id (with Draft
// set) for the admin API.
func (s *Store) GetIncidentOrDraft(ctx context.Context, id string) (Incident, error) {
	inc, err := s.GetIncident(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return inc, err
	}
	d, err := getDraft(ctx, s.read, id)
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident: %w", err)
	}
	comps, err := componentsByID(ctx, s.read)
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident: %w", err)
	}
	return d.incident(comps), nil
}

// IsDraft reports whether id names a draft (not yet published).
func (s *Store) IsDraft(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM incident_drafts WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("store: look up draft %s: %w", id, err)
	}
	return n > 0, nil
}

// DraftPublication is how a commander publishes a draft. Name and Impact,
// when set, rename and re-rate it. With no Body the draft's updates are
// replayed as they came, as if they had been posted one by one (the API's
// one-call publish); with a Body the commander's own words — message,
// status, component statuses, a promise — are the incident's first public
// update instead, and the alerts stay behind it for the team to read.
type DraftPublication struct {
	Name         *string
	Impact       *Impact
	Body         string
	Status       IncidentStatus
	Components   map[string]ComponentStatus
	NextUpdateAt *time.Time
	SkipNotify   bool
}

// PublishDraft makes a draft a real incident, under the same id, so that
// the timeline, component statuses, change feed and everything that
// follows them see an ordinary incident. A draft is published once: a
// second commander publishing the same draft gets a conflict.
func (s *Store) PublishDraft(ctx context.Context, id string, p DraftPublication) (Incident, error) {
	var final Incident
	err := s.inTx(ctx, func(t *tx) error {
		d, err := t.lockDraft(id, "")
		if err != nil {
			return err
		}
		final, err = t.publishDraft(d, p)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: publish draft: %w", err)
	}
	return final, nil
}

// lockDraft takes a draft's lock and reads it: a draft is published,
// discarded or held by whoever comes first. Whoever comes second, when
// the draft has become an incident, gets a conflict saying so and then
// why what they meant to do is moot.
func (t *tx) lockDraft(id, moot string) (draft, error) {
	if err := t.lock("incident_draft", id); err != nil {
		return draft{}, err
	}
	d, err := getDraft(t.ctx, t.sqlTx, id)
	if errors.Is(err, ErrNotFound) {
		if _, ierr := getIncident(t.ctx, t.sqlTx, id); ierr == nil {
			return draft{}, &ConflictError{Message: "this draft has already been published (by someone else, a moment ago?): it is an incident now" + moot}
		}
	}
	return d, err
}

// publishDraft publishes the draft d, which the caller has locked.
func (t *tx) publishDraft(d draft, p DraftPublication) (Incident, error) {
	if p.Name != nil {
		d.Name = *p.Name // createIncident checks it
	}
	if p.Impact != nil {
		if !p.Impact.Valid() {
			return Incident{}, invalid("impact", "unknown impact %q; use one of %s", *p.Impact, joinValues(Impacts))
		}
		d.Impact = *p.Impact
	}
	if len(d.Updates) == 0 {
		return Incident{}, fmt.Errorf("draft %s has no updates", d.ID)
	}
	in := IncidentInput{Name: d.Name, Impact: d.Impact, SkipNotify: true, firstSignal: d.StartedAt, draftCreated: &d.CreatedAt}
	if d.StartedAt != nil {
		in.StartedAt = *d.StartedAt
	}
	var final Incident
	var err error
	if strings.TrimSpace(p.Body) != "" {
		in.Status, in.Body, in.Components, in.NextUpdateAt = p.Status, p.Body, p.Components, p.NextUpdateAt
		final, err = t.createIncident(d.ID, in)
	} else {
		final, err = t.replayDraft(d.ID, d, in)
	}
	if err != nil {
		return Incident{}, err
	}
	// Subscribers hear of it once, as it stands now, not once per update
	// the draft gathered while it waited.
	if !p.SkipNotify {
		t.notifyIncident(JobIncidentCreated, final)
	}
	if _, err := t.exec(`DELETE FROM incident_drafts WHERE id = ?`, d.ID); err != nil {
		return Incident{}, fmt.Errorf("delete draft: %w", err)
	}
	t.record("incident_draft.publish", "incident_draft", d.ID, d, nil)
	return final, nil
}

// replayDraft posts the draft's updates in order as the incident in.
func (t *tx) replayDraft(id string, d draft, in IncidentInput) (Incident, error) {
	first := d.Updates[0]
	comps, err := t.replayComponents(id, first)
	if err != nil {
		return Incident{}, err
	}
	in.Status, in.Body, in.Components = first.Status, first.Body, comps
	final, err := t.createIncident(id, in)
	if err != nil {
		return Incident{}, err
	}
	for _, u := range d.Updates[1:] {
		comps, err := t.replayComponents(id, u)
		if err != nil {
			return Incident{}, err
		}
		if final, err = t.postUpdate(id, IncidentUpdateInput{Status: u.Status, Body: u.Body, Components: comps, SkipNotify: true}); err != nil {
			return Incident{}, err
		}
	}
	return final, nil
}

// replayComponents is the component change a draft update makes when
// published: components deleted since are left out, and those handed back
// get their resting status as it is now.
func (t *tx) replayComponents(incidentID string, u draftUpdate) (map[string]ComponentStatus, error) {
	out := map[string]ComponentStatus{}
	for cid, st := range u.Components {
		if _, err := t.component(cid); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[cid] = st
		if slices.Contains(u.Rest, cid) {
			rest, err := t.restingStatus(cid, incidentID, "")
			if err != nil {
				return nil, err
			}
			out[cid] = rest
		}
	}
	return out, nil
}

// DiscardDraft deletes a draft without publishing it (a false alarm). The
// alert group it came from lets go of it: the same alerts repeated change
// nothing, and a new alert of the group opens a new draft.
func (s *Store) DiscardDraft(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		d, err := t.lockDraft(id, ", and a published incident is part of the record: resolve it instead of discarding it")
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM incident_drafts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete draft: %w", err)
		}
		if _, err := t.exec(`DELETE FROM alert_groups WHERE incident_id = ?`, id); err != nil {
			return fmt.Errorf("release alert group: %w", err)
		}
		t.record("incident_draft.discard", "incident_draft", id, d, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: discard draft: %w", err)
	}
	return nil
}

// CountDrafts is how many drafts wait for approval.
func (s *Store) CountDrafts(ctx context.Context) (int, error) {
	var n sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM incident_drafts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count drafts: %w", err)
	}
	return int(n.Int64), nil
}
