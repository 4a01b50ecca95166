package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CorrectiveAction is one item of a postmortem's checklist: what will be
// done so it does not happen again, who owns it and by when. Who owns it
// is the team's business: the published postmortem leaves it out (see
// loadPostmortemParts); the editor's draft keeps it.
type CorrectiveAction struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Owner       string `json:"owner,omitempty"`
	DueDate     string `json:"due_date"` // YYYY-MM-DD, or "" when not set
	Done        bool   `json:"done"`
}

// PostmortemDraft is a postmortem as the editor sees it, published or not.
type PostmortemDraft struct {
	IncidentID  string             `json:"incident_id"`
	Body        string             `json:"body"` // the summary, Markdown
	RootCause   string             `json:"root_cause"`
	Resolution  string             `json:"resolution"`
	Actions     []CorrectiveAction `json:"corrective_actions"`
	PublishedAt *time.Time         `json:"published_at"`
}

// PostmortemInput saves the editor. Publish makes it public (a published
// postmortem stays public and each save revises it).
type PostmortemInput struct {
	Body       string
	RootCause  string
	Resolution string
	Actions    []CorrectiveAction // ID and order are assigned on save
	Publish    bool
	// SkipNotify keeps subscribers from hearing of the first publication
	// (they never hear of later revisions).
	SkipNotify bool
}

// GetPostmortemDraft returns a resolved or open incident's postmortem as it
// stands, empty when none was written.
func (s *Store) GetPostmortemDraft(ctx context.Context, incidentID string) (PostmortemDraft, error) {
	d, err := getPostmortemDraft(ctx, s.read, incidentID)
	if err != nil {
		return PostmortemDraft{}, fmt.Errorf("store: get postmortem: %w", err)
	}
	return d, nil
}

func getPostmortemDraft(ctx context.Context, q querier, incidentID string) (PostmortemDraft, error) {
	d := PostmortemDraft{IncidentID: incidentID, Actions: []CorrectiveAction{}}
	var published sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT i.postmortem_body, i.postmortem_published_at, coalesce(p.root_cause, ''), coalesce(p.resolution, '')
		FROM incidents i LEFT JOIN postmortems p ON p.incident_id = i.id WHERE i.id = ?`, incidentID).
		Scan(&d.Body, &published, &d.RootCause, &d.Resolution)
	if errors.Is(err, sql.ErrNoRows) {
		return d, &NotFoundError{Kind: "incident", ID: incidentID}
	}
	if err != nil {
		return d, err
	}
	d.PublishedAt = timePtr(published)
	actions, err := postmortemActions(ctx, q, []any{incidentID})
	if err != nil {
		return d, err
	}
	if a := actions[incidentID]; a != nil {
		d.Actions = a
	}
	return d, nil
}

func postmortemActions(ctx context.Context, q querier, ids []any) (map[string][]CorrectiveAction, error) {
	rows, err := q.QueryContext(ctx, `SELECT incident_id, id, description, owner, due_date, done FROM postmortem_actions
		WHERE incident_id IN (`+placeholders(len(ids))+`) ORDER BY position, id`, ids...)
	if err != nil {
		return nil, fmt.Errorf("read corrective actions: %w", err)
	}
	defer rows.Close()
	out := map[string][]CorrectiveAction{}
	for rows.Next() {
		var iid string
		var a CorrectiveAction
		if err := rows.Scan(&iid, &a.ID, &a.Description, &a.Owner, &a.DueDate, &a.Done); err != nil {
			return nil, fmt.Errorf("read corrective actions: %w", err)
		}
		out[iid] = append(out[iid], a)
	}
	return out, rows.Err()
}

// loadPostmortemParts fills in the structured parts of the published
// postmortems among incidents (queryIncidents calls it; index maps id to
// position in incidents).
func loadPostmortemParts(ctx context.Context, q querier, incidents []Incident, index map[string]int) error {
	var ids []any
	for _, inc := range incidents {
		if inc.Postmortem != nil {
			ids = append(ids, inc.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT incident_id, root_cause, resolution FROM postmortems WHERE incident_id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return fmt.Errorf("read postmortems: %w", err)
	}
	for rows.Next() {
		var iid, rc, res string
		if err := rows.Scan(&iid, &rc, &res); err != nil {
			rows.Close()
			return fmt.Errorf("read postmortems: %w", err)
		}
		pm := incidents[index[iid]].Postmortem
		pm.RootCause, pm.Resolution = rc, res
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read postmortems: %w", err)
	}
	actions, err := postmortemActions(ctx, q, ids)
	if err != nil {
		return err
	}
	for iid, list := range actions {
		// The published postmortem is what the public reads — the page, the
		// change feed, anything built from an Incident — and names no
		// owners: a person's name on a public page is for them to choose,
		// and no one has been asked. The console reads the draft.
		for i := range list {
			list[i].Owner = ""
		}
		incidents[index[iid]].Postmortem.Actions = list
	}
	return nil
}

// SavePostmortem stores the postmortem editor's content for a resolved
// incident and, with in.Publish (or once published), shows it on the
// incident page.
func (s *Store) SavePostmortem(ctx context.Context, incidentID string, in PostmortemInput) (PostmortemDraft, error) {
	var d PostmortemDraft
	err := s.inTx(ctx, func(t *tx) error {
		inc, err := getIncident(t.ctx, t.sqlTx, incidentID)
		if err != nil {
			return err
		}
		if inc.Status != Resolved {
			return &ConflictError{Message: "a postmortem can be written once the incident is resolved"}
		}
		before, err := getPostmortemDraft(t.ctx, t.sqlTx, incidentID)
		if err != nil {
			return err
		}
		body, err := checkText("body", in.Body, MaxBodyLength, in.Publish || before.PublishedAt != nil)
		if err != nil {
			return err
		}
		rootCause, err := checkText("root_cause", in.RootCause, MaxBodyLength, false)
		if err != nil {
			return err
		}
		resolution, err := checkText("resolution", in.Resolution, MaxBodyLength, false)
		if err != nil {
			return err
		}
		actions, err := checkActions(in.Actions)
		if err != nil {
			return err
		}
		publish := in.Publish || before.PublishedAt != nil
		set, args := `postmortem_body = ?, updated_at = ?`, []any{body, t.now}
		if publish {
			set += `, postmortem_published_at = coalesce(postmortem_published_at, ?)`
			args = append(args, t.now)
		}
		if _, err := t.exec(`UPDATE incidents SET `+set+` WHERE id = ?`, append(args, incidentID)...); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO postmortems (incident_id, root_cause, resolution, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET root_cause = excluded.root_cause, resolution = excluded.resolution, updated_at = excluded.updated_at`,
			incidentID, rootCause, resolution, t.now); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM postmortem_actions WHERE incident_id = ?`, incidentID); err != nil {
			return err
		}
		for i, a := range actions {
			if _, err := t.exec(`INSERT INTO postmortem_actions (id, incident_id, position, description, owner, due_date, done) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				a.ID, incidentID, i, a.Description, a.Owner, a.DueDate, a.Done); err != nil {
				return err
			}
		}
		if d, err = getPostmortemDraft(t.ctx, t.sqlTx, incidentID); err != nil {
			return err
		}
		action := "incident.postmortem_saved"
		if publish {
			action = "incident.postmortem_published"
		}
		t.record(action, "incident", incidentID, before, d)
		if !publish {
			return nil
		}
		after, err := getIncident(t.ctx, t.sqlTx, incidentID)
		if err != nil {
			return err
		}
		t.publish(after)
		// Subscribers hear of the first publication, not of every revision.
		if before.PublishedAt == nil && !in.SkipNotify {
			t.notifyIncident(JobPostmortemPublished, after)
		}
		return nil
	})
	if err != nil {
		return PostmortemDraft{}, fmt.Errorf("store: save postmortem: %w", err)
	}
	return d, nil
}

// checkActions validates the checklist; rows left entirely blank (the
// editor's spare rows) are dropped.
func checkActions(in []CorrectiveAction) ([]CorrectiveAction, error) {
	var out []CorrectiveAction
	for i, a := range in {
		field := fmt.Sprintf("actions.%d", i)
		desc, err := checkText(field+".description", a.Description, MaxDescriptionLength, false)
		if err != nil {
			return nil, err
		}
		owner, err := checkLine(field+".owner", a.Owner, MaxNameLength, false)
		if err != nil {
			return nil, err
		}
		due, err := checkLine(field+".due_date", a.DueDate, 10, false)
		if err != nil {
			return nil, err
		}
		if desc == "" && owner == "" && due == "" {
			continue
		}
		if desc == "" {
			return nil, invalid(field+".description", "is required when an owner or due date is given")
		}
		if due != "" {
			if _, err := time.Parse(time.DateOnly, due); err != nil {
				return nil, invalid(field+".due_date", "%q is not a date like 2026-12-31", due)
			}
		}
		out = append(out, CorrectiveAction{ID: newID(), Description: desc, Owner: owner, DueDate: due, Done: a.Done})
	}
	if len(out) > 100 {
		return nil, invalid("actions", "has %d items; the limit is 100", len(out))
	}
	return out, nil
}
