package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// AlertBatch is one Alertmanager notification in Herald's terms: the caller
// (the webhook handler) has already read labels and severities.
type AlertBatch struct {
	GroupKey string
	// Name names the incident if the batch opens one.
	Name   string
	Alerts []Alert
	// Publish opens incidents at once; otherwise they wait as drafts.
	Publish bool
	// OnResolved is where an incident goes once every alert of its group
	// has resolved: Monitoring (the default) or Resolved.
	OnResolved IncidentStatus
}

// Alert is one alert of a batch.
type Alert struct {
	Fingerprint string
	Firing      bool
	// Component is the component's id or name, as the alert labels it.
	Component string
	// Status is what a firing alert makes its component.
	Status  ComponentStatus
	Title   string // the alert's name, e.g. HighErrorRate
	Summary string // its summary annotation, if any
	// Field is where the component came from in the request, named in the
	// error when it matches no component: "alerts[2].labels.component".
	Field string
	// Labels are the alert's labels, as Alertmanager sent them.
	Labels map[string]string
	// StartsAt is when the alert began firing (zero when not said): the
	// incident's impact began at its earliest alert.
	StartsAt time.Time
}

// AlertInfo is one alert behind an incident or a draft, as the console
// shows it.
type AlertInfo struct {
	Title       string            `json:"title"`
	Summary     string            `json:"summary"`
	Labels      map[string]string `json:"labels"`
	ComponentID string            `json:"component_id"`
	Firing      bool              `json:"firing"`
	StartsAt    *time.Time        `json:"starts_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// AlertResult says what a batch did.
type AlertResult struct {
	// IncidentID is the incident (or draft) the group feeds, "" if none.
	IncidentID string         `json:"incident_id,omitempty"`
	Draft      bool           `json:"draft"`
	Status     IncidentStatus `json:"status,omitempty"`
	// Changed is false when the batch told Herald nothing new (a repeated
	// notification): nothing was written.
	Changed bool `json:"changed"`
}

// alertState is what Herald last acted on for one alert.
type alertState struct {
	component string
	status    ComponentStatus
	firing    bool
}

const (
	maxGroupKeyLength = 4096
	maxAlertText      = 300
	maxAlertLines     = 25
)

// ApplyAlerts applies an Alertmanager notification: a firing alert sets its
// component's status and opens (or joins) its group's incident; when every
// alert of the group has resolved the incident moves to b.OnResolved. Only
// what differs from the last notification is acted on, so the same payload
// sent twice changes nothing the second time. An alert whose component does
// not exist fails the whole batch, with nothing changed.
func (s *Store) ApplyAlerts(ctx context.Context, b AlertBatch) (AlertResult, error) {
	var res AlertResult
	if err := checkBatch(&b); err != nil {
		return res, fmt.Errorf("store: apply alerts: %w", err)
	}
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		res, err = t.applyAlerts(b)
		return err
	})
	if err != nil {
		return AlertResult{}, fmt.Errorf("store: apply alerts: %w", err)
	}
	return res, nil
}

func checkBatch(b *AlertBatch) error {
	if strings.TrimSpace(b.GroupKey) == "" {
		return invalid("groupKey", "is required")
	}
	if len(b.GroupKey) > maxGroupKeyLength {
		return invalid("groupKey", "is %d bytes long; the limit is %d", len(b.GroupKey), maxGroupKeyLength)
	}
	switch b.OnResolved {
	case "":
		b.OnResolved = Monitoring
	case Monitoring, Resolved:
	default:
		return invalid("on_resolved", "must be monitoring or resolved, not %q", b.OnResolved)
	}
	if len(b.Alerts) == 0 {
		return invalid("alerts", "must hold at least one alert")
	}
	for i, a := range b.Alerts {
		if a.Fingerprint == "" {
			return invalid(fmt.Sprintf("alerts[%d].fingerprint", i), "is required")
		}
		if a.Firing && !a.Status.Valid() {
			return invalid(fmt.Sprintf("alerts[%d]", i), "unknown component status %q", a.Status)
		}
	}
	return nil
}

func (t *tx) applyAlerts(b AlertBatch) (AlertResult, error) {
	comps, err := listComponents(t.ctx, t.sqlTx)
	if err != nil {
		return AlertResult{}, err
	}
	byID := make(map[string]Component, len(comps))
	for _, c := range comps {
		byID[c.ID] = c
	}
	// Resolve every alert's component first: one unknown component fails
	// the batch before anything is written.
	latest := map[string]Alert{} // by fingerprint; the last one in the payload wins
	var order []string
	for _, a := range b.Alerts {
		id, err := matchComponent(comps, a)
		if err != nil {
			return AlertResult{}, err
		}
		a.Component = id
		if _, dup := latest[a.Fingerprint]; !dup {
			order = append(order, a.Fingerprint)
		}
		latest[a.Fingerprint] = a
	}

	states, err := t.alertStates(b.GroupKey)
	if err != nil {
		return AlertResult{}, err
	}
	target, isDraft, err := t.openGroupIncident(b.GroupKey)
	if err != nil {
		return AlertResult{}, err
	}
	res := AlertResult{IncidentID: target, Draft: isDraft}

	// What is new since the last notification.
	var fired, resolved []Alert
	var moved []string
	for _, fp := range order {
		a := latest[fp]
		prev, seen := states[fp]
		next := alertState{component: a.Component, status: a.Status, firing: a.Firing}
		if !a.Firing {
			next.status = prev.status
		}
		switch {
		case seen && prev == next:
			continue // already acted on
		case !seen && !a.Firing:
			continue // resolved before Herald heard of it: nothing to tell
		}
		if seen && prev.component != next.component {
			moved = append(moved, prev.component)
		}
		if err := t.saveAlertState(b.GroupKey, fp, next, a); err != nil {
			return AlertResult{}, err
		}
		states[fp] = next
		if a.Firing {
			fired = append(fired, a)
		} else if prev.firing {
			resolved = append(resolved, a)
		}
	}
	if target == "" {
		// The group's last incident is over (or was discarded): an alert
		// that resolves now has nothing left to tell; a firing one opens a
		// new incident.
		resolved = nil
	}
	if len(fired) == 0 && len(resolved) == 0 {
		return res, nil
	}
	res.Changed = true

	// The status each touched component should have: the worst its firing
	// alerts of this group ask for, or (none left) whatever it rests at.
	touched := map[string]bool{}
	for _, a := range fired {
		touched[a.Component] = true
	}
	for _, a := range resolved {
		touched[a.Component] = true
	}
	for _, c := range moved {
		touched[c] = true // an alert now labelled with another component lets go of its old one
	}
	anyFiring := false
	worst := map[string]ComponentStatus{}
	for _, st := range states {
		if !st.firing {
			continue
		}
		anyFiring = true
		if cur, ok := worst[st.component]; !ok {
			worst[st.component] = st.status
		} else {
			worst[st.component] = cur.Worse(st.status)
		}
	}
	u := draftUpdate{ID: newID(), Components: map[string]ComponentStatus{}, At: t.now}
	for cid := range touched {
		if _, ok := byID[cid]; !ok {
			continue
		}
		if st, ok := worst[cid]; ok {
			u.Components[cid] = st
			continue
		}
		u.Rest = append(u.Rest, cid)
		if u.Components[cid], err = t.restingStatus(cid, target, ""); err != nil {
			return AlertResult{}, err
		}
	}
	sort.Strings(u.Rest)
	u.Body = alertBody(fired, resolved, byID, u.Components)
	impact := impactFor(worst)

	var current IncidentStatus
	var currentImpact Impact
	switch {
	case target == "":
	case isDraft:
		d, err := getDraft(t.ctx, t.sqlTx, target)
		if err != nil {
			return AlertResult{}, err
		}
		current = d.status()
	default:
		inc, err := getIncident(t.ctx, t.sqlTx, target)
		if err != nil {
			return AlertResult{}, err
		}
		current, currentImpact = inc.Status, inc.Impact
	}
	switch {
	case !anyFiring:
		u.Status = b.OnResolved
	case current == "" || current == Monitoring || current == Resolved:
		u.Status = Investigating // firing again after it looked fixed (a resolved draft reopens)
	default:
		u.Status = current // a commander's "identified" stands
	}

	switch {
	case target == "":
		id := newID()
		res = AlertResult{IncidentID: id, Draft: !b.Publish, Changed: true}
		if b.Publish {
			began := earliestStart(fired, t.now)
			in := IncidentInput{Name: b.Name, Status: u.Status, Impact: impact, Body: u.Body, Components: u.Components, StartedAt: began}
			if !began.IsZero() {
				in.firstSignal = &began
			}
			_, err = t.createIncident(id, in)
		} else {
			err = t.createDraft(id, "alertmanager", b.Name, impact, u, earliestStart(fired, t.now))
		}
		if err != nil {
			return AlertResult{}, err
		}
		if _, err := t.exec(`INSERT INTO alert_groups (group_key, incident_id, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (group_key) DO UPDATE SET incident_id = excluded.incident_id, updated_at = excluded.updated_at`,
			b.GroupKey, id, t.now, t.now); err != nil {
			return AlertResult{}, fmt.Errorf("link alert group: %w", err)
		}
	case isDraft:
		if err := t.appendDraftUpdate(target, u, impact, earliestStart(fired, t.now)); err != nil {
			return AlertResult{}, err
		}
	default:
		// A worse alert joining makes the incident worse, but alerts never
		// play it down (a commander may have set it by hand).
		if _, err := t.postUpdate(target, IncidentUpdateInput{Status: u.Status, Body: u.Body, Components: u.Components,
			Impact: currentImpact.Worse(impact)}); err != nil {
			return AlertResult{}, err
		}
	}
	res.Status = u.Status
	return res, nil
}

// matchComponent finds the component an alert names: by id, else by name
// (case-insensitively, and only if the name is unique).
func matchComponent(comps []Component, a Alert) (string, error) {
	ref := strings.TrimSpace(a.Component)
	if ref == "" {
		return "", invalid(a.Field, "alert %q has no component label; label it with a component's id or name", a.Title)
	}
	var byName []string
	for _, c := range comps {
		if c.ID == ref {
			return c.ID, nil
		}
		if strings.EqualFold(c.Name, ref) {
			byName = append(byName, c.ID)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return "", invalid(a.Field, "alert %q names component %q, and no component has that id or name", a.Title, ref)
	}
	return "", invalid(a.Field, "alert %q names component %q, and %d components have that name; label it with the id", a.Title, ref, len(byName))
}

func (t *tx) alertStates(groupKey string) (map[string]alertState, error) {
	rows, err := t.QueryContext(t.ctx, `SELECT fingerprint, component_id, status, firing FROM alert_states WHERE group_key = ?`, groupKey)
	if err != nil {
		return nil, fmt.Errorf("read alert states: %w", err)
	}
	defer rows.Close()
	out := map[string]alertState{}
	for rows.Next() {
		var fp string
		var st alertState
		if err := rows.Scan(&fp, &st.component, &st.status, &st.firing); err != nil {
			return nil, fmt.Errorf("read alert states: %w", err)
		}
		out[fp] = st
	}
	return out, rows.Err()
}

func (t *tx) saveAlertState(groupKey, fingerprint string, st alertState, a Alert) error {
	labels, err := json.Marshal(a.Labels)
	if err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	var starts any
	if !a.StartsAt.IsZero() {
		starts = a.StartsAt.UTC()
	}
	_, err = t.exec(`INSERT INTO alert_states (group_key, fingerprint, component_id, status, firing, updated_at, title, summary, labels, starts_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_key, fingerprint) DO UPDATE SET component_id = excluded.component_id, status = excluded.status, firing = excluded.firing,
		updated_at = excluded.updated_at, title = excluded.title, summary = excluded.summary, labels = excluded.labels, starts_at = coalesce(excluded.starts_at, alert_states.starts_at)`,
		groupKey, fingerprint, st.component, st.status, st.firing, t.now, clip(a.Title), clip(a.Summary), string(labels), starts)
	if err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	return nil
}

// openGroupIncident is the incident or draft the group feeds, "" when it has
// none or its incident is resolved (a new alert then opens a new one).
func (t *tx) openGroupIncident(groupKey string) (id string, isDraft bool, err error) {
	err = t.QueryRowContext(t.ctx, `SELECT incident_id FROM alert_groups WHERE group_key = ?`, groupKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read alert group: %w", err)
	}
	if isDraft, err = t.isDraft(id); err != nil || isDraft {
		return id, isDraft, err
	}
	var status IncidentStatus
	err = t.QueryRowContext(t.ctx, `SELECT status FROM incidents WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) || status == Resolved {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read incident %s: %w", id, err)
	}
	return id, false, nil
}

// alertBody writes an update's message: one line per alert that fired or
// resolved, with the component and the status it now has.
func alertBody(fired, resolved []Alert, comps map[string]Component, statuses map[string]ComponentStatus) string {
	var b strings.Builder
	lines := 0
	write := func(verb string, a Alert) {
		lines++
		if lines > maxAlertLines {
			return
		}
		b.WriteString("- **")
		b.WriteString(verb)
		b.WriteString(":** ")
		b.WriteString(clip(a.Title))
		if s := clip(a.Summary); s != "" && s != clip(a.Title) {
			b.WriteString(" — ")
			b.WriteString(s)
		}
		if c, ok := comps[a.Component]; ok {
			b.WriteString(" (")
			b.WriteString(clip(c.Name))
			if st, ok := statuses[a.Component]; ok {
				b.WriteString(": ")
				b.WriteString(st.Label())
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	for _, a := range fired {
		write("Firing", a)
	}
	for _, a := range resolved {
		write("Resolved", a)
	}
	if lines > maxAlertLines {
		fmt.Fprintf(&b, "- …and %d more\n", lines-maxAlertLines)
	}
	return strings.TrimSpace(b.String())
}

// clip shortens alert text to a line's worth, on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxAlertText {
		return s
	}
	r := []rune(s)
	return string(r[:maxAlertText-1]) + "…"
}

// Alerts returns the alerts behind each of the incidents or drafts ids,
// firing first, then by when they began.
func (s *Store) Alerts(ctx context.Context, ids []string) (map[string][]AlertInfo, error) {
	out := map[string][]AlertInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.read.QueryContext(ctx, `SELECT g.incident_id, a.title, a.summary, a.labels, a.component_id, a.firing, a.starts_at, a.updated_at
		FROM alert_states a JOIN alert_groups g ON g.group_key = a.group_key WHERE g.incident_id IN (`+placeholders(len(ids))+`)
		ORDER BY a.firing DESC, a.starts_at, a.fingerprint`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, labels string
		var a AlertInfo
		var starts sql.NullTime
		if err := rows.Scan(&id, &a.Title, &a.Summary, &labels, &a.ComponentID, &a.Firing, &starts, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("store: alerts: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
			return nil, fmt.Errorf("store: alerts: labels: %w", err)
		}
		a.StartsAt = timePtr(starts)
		out[id] = append(out[id], a)
	}
	return out, rows.Err()
}

// earliestStart is when the earliest of the firing alerts began, zero when
// none says; never after now (a monitor's clock may run ahead).
func earliestStart(alerts []Alert, now time.Time) time.Time {
	var first time.Time
	for _, a := range alerts {
		if a.Firing && !a.StartsAt.IsZero() && (first.IsZero() || a.StartsAt.Before(first)) {
			first = a.StartsAt
		}
	}
	if first.After(now) {
		first = now
	}
	return first.UTC().Truncate(time.Microsecond)
}
