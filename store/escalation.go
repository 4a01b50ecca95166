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

// Default to telling. An alert that becomes a draft nobody looks at is the
// failure Herald exists to prevent, so the escalation policy keeps time on
// the team: it reminds the commanders of a draft left waiting, can publish
// a holding statement by itself, and tells them when an incident's promise
// is missed or it has gone quiet. Escalate applies it; housekeeping runs
// Escalate on the leader, at start (so that what fell due while Herald was
// down is done once) and then every tick.

// EscalationPolicy is when the escalation steps in.
type EscalationPolicy struct {
	// RemindAfter is how long a draft may wait before the commanders are
	// told of it.
	RemindAfter time.Duration
	// PublishAfter is, per impact, how long a draft may wait before Herald
	// publishes the holding statement itself; an impact not named never is.
	PublishAfter map[Impact]time.Duration
	// StaleAfter is how long an open incident with no promise may go
	// without an update before the commanders are told.
	StaleAfter time.Duration
	// HoldingTemplate is the id of the template the holding statement is
	// written from; "" for the built-in statement.
	HoldingTemplate string
	// Saved says the policy was saved in the console (else it is the
	// defaults Herald was started with).
	Saved bool
}

// DefaultEscalationPolicy is the policy when none is saved and no flag says
// otherwise: remind after 5 minutes, never publish alone, flag silence
// after an hour.
func DefaultEscalationPolicy() EscalationPolicy {
	return EscalationPolicy{RemindAfter: 5 * time.Minute, StaleAfter: time.Hour, PublishAfter: map[Impact]time.Duration{}}
}

// Bounds of the policy's durations.
const (
	minEscalationWait = time.Minute
	maxEscalationWait = 7 * 24 * time.Hour
)

// HoldingPromise is the next update a holding statement promises.
const HoldingPromise = 30 * time.Minute

// BuiltinHoldingStatement is the holding statement when no template is
// chosen; {components} becomes the names of the affected components.
const BuiltinHoldingStatement = "We are investigating reports of problems with {components}. Next update within 30 minutes."

// checkEscalationWait refuses a duration outside the policy's bounds.
func checkEscalationWait(field string, d time.Duration) error {
	if d < minEscalationWait || d > maxEscalationWait {
		return invalid(field, "is %s; use between 1 minute and 7 days", minutesText(d))
	}
	return nil
}

// Check refuses a policy that cannot work: durations out of bounds, an
// unknown impact, a draft published before anyone was reminded of it.
// Whether the template exists is checked when the policy is saved.
func (p EscalationPolicy) Check() error {
	if err := checkEscalationWait("remind_after", p.RemindAfter); err != nil {
		return err
	}
	if err := checkEscalationWait("stale_after", p.StaleAfter); err != nil {
		return err
	}
	for impact, d := range p.PublishAfter {
		field := "publish_after." + string(impact)
		if !impact.Valid() {
			return invalid(field, "unknown impact %q; use one of %s", impact, joinValues(Impacts))
		}
		if err := checkEscalationWait(field, d); err != nil {
			return err
		}
		if d < p.RemindAfter {
			return invalid(field, "is %s, shorter than remind_after (%s): the commanders must be reminded before Herald publishes for them", minutesText(d), minutesText(p.RemindAfter))
		}
	}
	return nil
}

// minutesText is a duration in the minutes the policy is set in.
func minutesText(d time.Duration) string {
	if d%time.Minute != 0 || d < time.Minute {
		return d.String()
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

// PublishAfterFor is how long a draft of impact may wait before the holding
// statement goes out, and whether it ever does.
func (p EscalationPolicy) PublishAfterFor(impact Impact) (time.Duration, bool) {
	d, ok := p.PublishAfter[impact]
	return d, ok && d > 0
}

// Overdue is why an open incident needs its commanders: a promise missed,
// or silence.
type Overdue struct {
	// Since is when it became overdue: the promised time, or the last
	// update plus StaleAfter.
	Since time.Time
	// Promised says a promise was missed (else the incident went stale).
	Promised bool
	// LastUpdate is when the incident was last updated.
	LastUpdate time.Time
}

// Overdue reports whether inc is overdue at now: the one home of the rule
// the dashboard shows and Escalate tells the team of.
func (p EscalationPolicy) Overdue(inc Incident, now time.Time) (Overdue, bool) {
	if inc.Status == Resolved || inc.Draft {
		return Overdue{}, false
	}
	last := inc.CreatedAt
	if len(inc.Updates) > 0 {
		last = inc.Updates[0].CreatedAt
	}
	if inc.NextUpdateAt != nil {
		return Overdue{Since: *inc.NextUpdateAt, Promised: true, LastUpdate: last}, !now.Before(*inc.NextUpdateAt)
	}
	due := last.Add(p.StaleAfter)
	return Overdue{Since: due, LastUpdate: last}, p.StaleAfter > 0 && !now.Before(due)
}

// policyRecord is the policy as the settings table keeps it: durations in
// seconds, so the JSON reads plainly.
type policyRecord struct {
	RemindAfter     int64            `json:"remind_after_s"`
	PublishAfter    map[Impact]int64 `json:"publish_after_s"`
	StaleAfter      int64            `json:"stale_after_s"`
	HoldingTemplate string           `json:"holding_template"`
}

const escalationKey = "escalation"

// EscalationPolicy returns the saved policy, or defaults when none is.
func (s *Store) EscalationPolicy(ctx context.Context, defaults EscalationPolicy) (EscalationPolicy, error) {
	p, err := savedPolicy(ctx, s.read, defaults)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("store: escalation policy: %w", err)
	}
	return p, nil
}

func savedPolicy(ctx context.Context, q querier, defaults EscalationPolicy) (EscalationPolicy, error) {
	var rec policyRecord
	ok, err := getSetting(ctx, q, escalationKey, &rec)
	if err != nil || !ok {
		return defaults, err
	}
	p := EscalationPolicy{
		RemindAfter: time.Duration(rec.RemindAfter) * time.Second, StaleAfter: time.Duration(rec.StaleAfter) * time.Second,
		PublishAfter: map[Impact]time.Duration{}, HoldingTemplate: rec.HoldingTemplate, Saved: true,
	}
	for impact, sec := range rec.PublishAfter {
		p.PublishAfter[impact] = time.Duration(sec) * time.Second
	}
	return p, nil
}

// SaveEscalationPolicy checks and saves the policy, audited.
func (s *Store) SaveEscalationPolicy(ctx context.Context, p EscalationPolicy, defaults EscalationPolicy) (EscalationPolicy, error) {
	if err := p.Check(); err != nil {
		return EscalationPolicy{}, fmt.Errorf("store: save escalation policy: %w", err)
	}
	err := s.inTx(ctx, func(t *tx) error {
		if p.HoldingTemplate != "" {
			if _, err := getTemplate(t.ctx, t.sqlTx, p.HoldingTemplate); errors.Is(err, ErrNotFound) {
				return invalid("holding_template", "there is no template %q; choose one of the templates, or the built-in statement", p.HoldingTemplate)
			} else if err != nil {
				return err
			}
		}
		if err := t.lock("setting", escalationKey); err != nil {
			return err
		}
		before, err := savedPolicy(t.ctx, t.sqlTx, defaults)
		if err != nil {
			return err
		}
		rec := p.record()
		if err := t.putSetting(escalationKey, rec); err != nil {
			return err
		}
		t.record("settings.escalation", "setting", escalationKey, before.record(), rec)
		return nil
	})
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("store: save escalation policy: %w", err)
	}
	p.Saved = true
	return p, nil
}

func (p EscalationPolicy) record() policyRecord {
	rec := policyRecord{RemindAfter: seconds(p.RemindAfter), StaleAfter: seconds(p.StaleAfter), PublishAfter: map[Impact]int64{}, HoldingTemplate: p.HoldingTemplate}
	for impact, d := range p.PublishAfter {
		if d > 0 {
			rec.PublishAfter[impact] = seconds(d)
		}
	}
	return rec
}

// getSetting reads a setting into v; ok is false when it is not set.
func getSetting(ctx context.Context, q querier, key string, v any) (bool, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("setting %s: %w", key, err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("setting %s: %w", key, err)
	}
	return true, nil
}

func (t *tx) putSetting(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	if _, err := t.exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, string(raw)); err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	return nil
}

// HoldDraft stops the escalation policy from publishing a draft by itself:
// a commander is on it. The hold, its reason and who pressed it are
// audited; reason may be empty.
func (s *Store) HoldDraft(ctx context.Context, id, reason string) (Incident, error) {
	reason, err := checkText("reason", reason, MaxDescriptionLength, false)
	if err != nil {
		return Incident{}, fmt.Errorf("store: hold draft: %w", err)
	}
	return s.setDraftHold(ctx, id, &reason)
}

// ReleaseDraft lifts a hold: the policy may publish the draft again.
func (s *Store) ReleaseDraft(ctx context.Context, id string) (Incident, error) {
	return s.setDraftHold(ctx, id, nil)
}

func (s *Store) setDraftHold(ctx context.Context, id string, reason *string) (Incident, error) {
	var out Incident
	moot := ", so there is no draft left to hold"
	if reason == nil {
		moot = ", and its hold ended with it"
	}
	err := s.inTx(ctx, func(t *tx) error {
		d, err := t.lockDraft(id, moot)
		if err != nil {
			return err
		}
		before := d.Hold
		action := "incident_draft.release"
		if reason != nil {
			actor := ActorFrom(t.ctx)
			d.Hold = &DraftHold{At: t.now, By: actor.Name, Reason: *reason}
			action = "incident_draft.hold"
			_, err = t.exec(`UPDATE incident_drafts SET held_at = ?, held_by = ?, hold_reason = ? WHERE id = ?`, t.now, actor.Name, *reason, id)
		} else {
			d.Hold = nil
			_, err = t.exec(`UPDATE incident_drafts SET held_at = NULL, held_by = '', hold_reason = '' WHERE id = ?`, id)
		}
		if err != nil {
			return fmt.Errorf("hold draft: %w", err)
		}
		t.record(action, "incident_draft", id, map[string]any{"hold": before}, map[string]any{"hold": d.Hold})
		comps, err := componentsByID(t.ctx, t.sqlTx)
		if err != nil {
			return err
		}
		out = d.incident(comps)
		return nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: hold draft: %w", err)
	}
	return out, nil
}

// Escalation is what one Escalate pass did.
type Escalation struct {
	Reminded  []string // drafts the team was reminded of
	Published []string // drafts published with the holding statement
	Overdue   []string // incidents the team was told are overdue
}

// Escalate applies the policy at the store's now. Each step is one
// transaction that marks what it did (reminded_at, overdue_notified_at, the
// draft gone) with the team's job, so a crash repeats nothing and loses
// nothing: a reminder is sent once, however often Escalate runs. A step
// that fails (a holding statement too long to publish, say) is reported
// and the pass goes on: one bad draft must not silence the rest.
func (s *Store) Escalate(ctx context.Context, p EscalationPolicy) (Escalation, error) {
	var done Escalation
	var errs []error
	ctx = WithActor(ctx, Actor{Type: "system", ID: "escalation", Name: "Herald (escalation policy)"})
	drafts, err := queryDrafts(ctx, s.read, `SELECT `+draftColumns+` FROM incident_drafts ORDER BY created_at, id`)
	if err != nil {
		return done, fmt.Errorf("store: escalate: %w", err)
	}
	now := s.now()
	step := func(list *[]string, id string, do func() (bool, error)) {
		if ok, err := do(); err != nil {
			errs = append(errs, err)
		} else if ok {
			*list = append(*list, id)
		}
	}
	for _, d := range drafts {
		if d.RemindedAt == nil && d.Hold == nil && !now.Before(d.CreatedAt.Add(p.RemindAfter)) {
			step(&done.Reminded, d.ID, func() (bool, error) { return s.remindDraft(ctx, d.ID, p) })
		}
		if after, ok := p.PublishAfterFor(d.Impact); ok && d.Hold == nil && d.alertsOpen() && !now.Before(d.CreatedAt.Add(after)) {
			step(&done.Published, d.ID, func() (bool, error) { return s.publishHolding(ctx, d.ID, p) })
		}
	}
	// Every open incident: the oldest are the likeliest to be overdue.
	open, err := s.ListIncidents(ctx, IncidentFilter{Unresolved: true, Limit: 100000})
	if err != nil {
		return done, errors.Join(append(errs, fmt.Errorf("store: escalate: %w", err))...)
	}
	for _, inc := range open {
		if _, ok := p.Overdue(inc, now); ok {
			step(&done.Overdue, inc.ID, func() (bool, error) { return s.tellOverdue(ctx, inc.ID, p) })
		}
	}
	return done, errors.Join(errs...)
}

// alertsOpen reports whether the alerts behind a draft still fire: once
// they have all resolved, a holding statement ("we are investigating")
// would tell subscribers of a problem that is over, so the policy leaves
// the draft to a commander (publish it as a record, or discard it).
func (d draft) alertsOpen() bool {
	st := d.status()
	return st != Resolved && st != Monitoring
}

// remindDraft tells the team a draft waits, unless it has been told (or
// the draft was published) meanwhile.
func (s *Store) remindDraft(ctx context.Context, id string, p EscalationPolicy) (bool, error) {
	reminded := false
	err := s.inTx(ctx, func(t *tx) error {
		d, err := t.lockDraft(id, "")
		if err != nil {
			return err
		}
		if d.RemindedAt != nil || d.Hold != nil || t.now.Before(d.CreatedAt.Add(p.RemindAfter)) {
			return nil // told meanwhile, or a commander is on it
		}
		if _, err := t.exec(`UPDATE incident_drafts SET reminded_at = ? WHERE id = ?`, t.now, id); err != nil {
			return fmt.Errorf("remind: %w", err)
		}
		comps, err := componentsByID(t.ctx, t.sqlTx)
		if err != nil {
			return err
		}
		t.notifyTeam(JobTeamDraftWaiting, d.incident(comps), TeamNotice{Since: d.CreatedAt})
		reminded = true
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !isConflict(err) {
		return false, fmt.Errorf("store: remind of draft %s: %w", id, err)
	}
	return reminded, nil
}

// publishHolding publishes a draft's holding statement, unless a commander
// held it, published it or discarded it meanwhile.
func (s *Store) publishHolding(ctx context.Context, id string, p EscalationPolicy) (bool, error) {
	published := false
	err := s.inTx(ctx, func(t *tx) error {
		d, err := t.lockDraft(id, "")
		if err != nil {
			return err
		}
		after, ok := p.PublishAfterFor(d.Impact)
		if !ok || d.Hold != nil || !d.alertsOpen() || t.now.Before(d.CreatedAt.Add(after)) {
			return nil
		}
		comps, err := componentsByID(t.ctx, t.sqlTx)
		if err != nil {
			return err
		}
		pub, err := t.holdingStatement(d, comps, p.HoldingTemplate)
		if err != nil {
			return err
		}
		inc, err := t.publishDraft(d, pub)
		if err != nil {
			return err
		}
		t.notifyTeam(JobTeamHoldingPublished, inc, TeamNotice{Since: d.CreatedAt})
		published = true
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !isConflict(err) {
		return false, fmt.Errorf("store: holding statement for draft %s: %w", id, err)
	}
	return published, nil
}

// holdingStatement is the publication of d the policy makes: the chosen
// template's words (or the built-in statement) about the components the
// alerts name, at the statuses they asked for, promising the next update.
func (t *tx) holdingStatement(d draft, comps map[string]Component, templateID string) (DraftPublication, error) {
	statuses := map[string]ComponentStatus{}
	for _, u := range d.Updates {
		for cid, st := range u.Components {
			if _, ok := comps[cid]; ok {
				statuses[cid] = st
			}
		}
	}
	var names []string
	for cid := range statuses {
		names = append(names, comps[cid].Name)
	}
	sort.Strings(names)
	named := "some of our services"
	if len(names) > 0 {
		named = joinNames(names)
	}
	body, status, title := BuiltinHoldingStatement, Investigating, ""
	if templateID != "" {
		tp, err := getTemplate(t.ctx, t.sqlTx, templateID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return DraftPublication{}, err
		}
		if err == nil { // a template deleted since falls back to the built-in statement
			body, status, title = tp.Body, tp.Status, tp.Title
		}
	}
	pub := DraftPublication{Body: strings.ReplaceAll(body, "{components}", named), Status: status, Components: statuses}
	if title = strings.TrimSpace(strings.ReplaceAll(title, "{components}", named)); title != "" {
		pub.Name = &title
	}
	if status != Resolved {
		next := t.now.Add(HoldingPromise)
		pub.NextUpdateAt = &next
	}
	return pub, nil
}

// joinNames lists names as a sentence does: "A", "A and B", "A, B and C".
func joinNames(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// tellOverdue tells the team an incident is overdue, once until its next
// update (which clears overdue_notified_at).
func (s *Store) tellOverdue(ctx context.Context, id string, p EscalationPolicy) (bool, error) {
	told := false
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.lock("incident", id); err != nil {
			return err
		}
		var notified sql.NullTime
		if err := t.QueryRowContext(t.ctx, `SELECT overdue_notified_at FROM incidents WHERE id = ?`, id).Scan(&notified); err != nil {
			return err
		}
		if notified.Valid {
			return nil
		}
		inc, err := getIncident(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		over, ok := p.Overdue(inc, t.now)
		if !ok {
			return nil
		}
		if _, err := t.exec(`UPDATE incidents SET overdue_notified_at = ? WHERE id = ?`, t.now, id); err != nil {
			return fmt.Errorf("mark overdue: %w", err)
		}
		t.notifyTeam(JobTeamIncidentOverdue, inc, TeamNotice{Since: over.Since, Promised: over.Promised, LastUpdate: &over.LastUpdate})
		told = true
		return nil
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: overdue incident %s: %w", id, err)
	}
	return told, nil
}

func isConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// Team notifications: what the escalation policy tells commanders and
// admins (by email, when they chose to hear it) and the team's own
// webhooks — never subscribers, never public webhooks.
const (
	JobTeamDraftWaiting     = "team.draft_waiting"
	JobTeamIncidentOverdue  = "team.incident_overdue"
	JobTeamHoldingPublished = "team.holding_published"
)

// TeamJobKinds are the kinds a team webhook can filter on.
var TeamJobKinds = []string{JobTeamDraftWaiting, JobTeamIncidentOverdue, JobTeamHoldingPublished}

// IsTeamKind reports whether a job kind is for the team alone.
func IsTeamKind(kind string) bool { return slices.Contains(TeamJobKinds, kind) }

// TeamNotice is what a team job says besides the incident (or draft).
type TeamNotice struct {
	// Since is when the wait began: the draft's arrival, or when the
	// incident became overdue.
	Since time.Time `json:"since"`
	// Promised says a promised update was missed (incident_overdue).
	Promised bool `json:"promised,omitempty"`
	// LastUpdate is the incident's last update (incident_overdue).
	LastUpdate *time.Time `json:"last_update,omitempty"`
}

// notifyTeam queues a team job about inc.
func (t *tx) notifyTeam(kind string, inc Incident, n TeamNotice) {
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: kind, ObjectType: "team", ObjectID: inc.ID, Components: sortedCopy(inc.Components),
		Payload: JobPayload{Incident: &inc, Team: &n}}, email: true, webhook: true})
}
