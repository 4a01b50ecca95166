package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ComponentGroup gathers components on the page ("API", "Web app", …).
type ComponentGroup struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Position    int       `json:"position"`
	Components  []string  `json:"components"` // component ids, in page order
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Component is one part of the service whose status visitors follow.
type Component struct {
	ID          string          `json:"id"`
	GroupID     string          `json:"group_id,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Position    int             `json:"position"`
	Status      ComponentStatus `json:"status"`
	// Internal: shown only on the pages that choose it, never on the
	// default page (ScopeOf, DefaultScope).
	Internal  bool      `json:"internal"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ComponentGroupInput creates a group. Position nil means "after the others".
type ComponentGroupInput struct {
	Name        string
	Description string
	Position    *int
}

// ComponentGroupPatch changes the fields that are not nil.
type ComponentGroupPatch struct {
	Name        *string
	Description *string
	Position    *int
}

// ComponentInput creates a component. GroupID "" means ungrouped; Status ""
// means operational; Position nil means "after the others in its group".
type ComponentInput struct {
	Name        string
	Description string
	GroupID     string
	Position    *int
	Status      ComponentStatus
	Internal    bool
}

// ComponentPatch changes the fields that are not nil. GroupID pointing at ""
// removes the component from its group.
type ComponentPatch struct {
	Name        *string
	Description *string
	GroupID     *string
	Position    *int
	Status      *ComponentStatus
	Internal    *bool
}

const componentColumns = `id, coalesce(group_id, ''), name, description, position, status, internal, created_at, updated_at`

// componentPageOrder lists components as the page shows them: ungrouped ones
// first, then each group in its order, each by position.
const componentPageOrder = `SELECT c.id, coalesce(c.group_id, ''), c.name, c.description, c.position, c.status, c.internal, c.created_at, c.updated_at
	FROM components c LEFT JOIN component_groups g ON g.id = c.group_id
	ORDER BY c.group_id IS NOT NULL, g.position, g.id, c.position, c.name, c.id`

func scanComponent(row interface{ Scan(...any) error }) (Component, error) {
	var c Component
	err := row.Scan(&c.ID, &c.GroupID, &c.Name, &c.Description, &c.Position, &c.Status, &c.Internal, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// ListComponents returns every component in page order (group, then position).
func (s *Store) ListComponents(ctx context.Context) ([]Component, error) {
	return listComponents(ctx, s.read)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func listComponents(ctx context.Context, q querier) ([]Component, error) {
	rows, err := q.QueryContext(ctx, componentPageOrder)
	if err != nil {
		return nil, fmt.Errorf("store: list components: %w", err)
	}
	defer rows.Close()
	var out []Component
	for rows.Next() {
		c, err := scanComponent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list components: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list components: %w", err)
	}
	return out, nil
}

// GetComponent returns one component.
func (s *Store) GetComponent(ctx context.Context, id string) (Component, error) {
	c, err := getComponent(ctx, s.read, id)
	if err != nil {
		return Component{}, fmt.Errorf("store: get component: %w", err)
	}
	return c, nil
}

func getComponent(ctx context.Context, q querier, id string) (Component, error) {
	c, err := scanComponent(q.QueryRowContext(ctx, `SELECT `+componentColumns+` FROM components WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Component{}, &NotFoundError{Kind: "component", ID: id}
	}
	return c, err
}

func (t *tx) component(id string) (Component, error) { return getComponent(t.ctx, t.sqlTx, id) }

// CreateComponent adds a component and records its first status.
func (s *Store) CreateComponent(ctx context.Context, in ComponentInput) (Component, error) {
	var c Component
	err := s.inTx(ctx, func(t *tx) error {
		name, err := checkLine("name", in.Name, MaxNameLength, true)
		if err != nil {
			return err
		}
		desc, err := checkText("description", in.Description, MaxDescriptionLength, false)
		if err != nil {
			return err
		}
		status := in.Status
		if status == "" {
			status = Operational
		}
		if !status.Valid() {
			return invalid("status", "unknown component status %q; use one of %s", status, joinValues(ComponentStatuses))
		}
		if in.GroupID != "" {
			if _, err := t.group(in.GroupID); err != nil {
				return asFieldError("group_id", err)
			}
		}
		if err := t.checkNameFree(name, in.GroupID, ""); err != nil {
			return err
		}
		if err := checkPosition(in.Position); err != nil {
			return err
		}
		pos := 0
		if in.Position != nil {
			pos = *in.Position
		} else if pos, err = t.nextPosition(`SELECT max(position) FROM components WHERE coalesce(group_id, '') = ?`, in.GroupID); err != nil {
			return err
		}
		c = Component{ID: newID(), GroupID: in.GroupID, Name: name, Description: desc, Position: pos, Status: status, Internal: in.Internal, CreatedAt: t.now, UpdatedAt: t.now}
		if _, err := t.exec(`INSERT INTO components (id, group_id, name, description, position, status, internal, created_at, updated_at) VALUES (?, nullif(?, ''), ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.GroupID, c.Name, c.Description, c.Position, c.Status, c.Internal, c.CreatedAt, c.UpdatedAt); err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO component_status_changes (component_id, status, at) VALUES (?, ?, ?)`, c.ID, c.Status, t.now); err != nil {
			return err
		}
		t.record("component.create", "component", c.ID, nil, c)
		return nil
	})
	if err != nil {
		return Component{}, fmt.Errorf("store: create component: %w", err)
	}
	return c, nil
}

// UpdateComponent changes a component's fields.
func (s *Store) UpdateComponent(ctx context.Context, id string, p ComponentPatch) (Component, error) {
	var c Component
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.component(id)
		if err != nil {
			return err
		}
		c = before
		if p.Name != nil {
			if c.Name, err = checkLine("name", *p.Name, MaxNameLength, true); err != nil {
				return err
			}
		}
		if p.Description != nil {
			if c.Description, err = checkText("description", *p.Description, MaxDescriptionLength, false); err != nil {
				return err
			}
		}
		if p.GroupID != nil {
			if *p.GroupID != "" {
				if _, err := t.group(*p.GroupID); err != nil {
					return asFieldError("group_id", err)
				}
			}
			if *p.GroupID != before.GroupID && p.Position == nil {
				// Moved without a position: it goes after the others there.
				if c.Position, err = t.nextPosition(`SELECT max(position) FROM components WHERE coalesce(group_id, '') = ?`, *p.GroupID); err != nil {
					return err
				}
			}
			c.GroupID = *p.GroupID
		}
		if err := checkPosition(p.Position); err != nil {
			return err
		}
		if p.Position != nil {
			c.Position = *p.Position
		}
		if p.Internal != nil {
			c.Internal = *p.Internal
		}
		if p.Status != nil && !p.Status.Valid() {
			return invalid("status", "unknown component status %q; use one of %s", *p.Status, joinValues(ComponentStatuses))
		}
		// Only a new name or group is checked: a component that already
		// shares its name (from before the rule) can still change status.
		if c.Name != before.Name || c.GroupID != before.GroupID {
			if err := t.checkNameFree(c.Name, c.GroupID, c.ID); err != nil {
				return err
			}
		}
		if c == before && (p.Status == nil || *p.Status == before.Status) {
			return nil // nothing changes: no write, no audit entry, no event
		}
		c.UpdatedAt = t.now
		if _, err := t.exec(`UPDATE components SET group_id = nullif(?, ''), name = ?, description = ?, position = ?, internal = ?, updated_at = ? WHERE id = ?`,
			c.GroupID, c.Name, c.Description, c.Position, c.Internal, c.UpdatedAt, c.ID); err != nil {
			return err
		}
		if p.Status != nil {
			if c, err = t.setComponentStatus(c, *p.Status); err != nil {
				return err
			}
		}
		t.record("component.update", "component", c.ID, before, c)
		return nil
	})
	if err != nil {
		return Component{}, fmt.Errorf("store: update component: %w", err)
	}
	return c, nil
}

// checkNameFree refuses a component name already used in the group
// (groupID "" for the ungrouped components), ignoring case and surrounding
// space, by any component but self. Alertmanager alerts name components by
// name, and two of the same name make such an alert match neither.
//
// Databases from before this rule may hold such twins; they stay as they
// are (no constraint could be added over them), and renaming one is how
// they are told apart.
func (t *tx) checkNameFree(name, groupID, self string) error {
	// Two writers each checking, then both inserting, is what the lock
	// prevents on a backend with concurrent writers.
	if err := t.lock("component_name", groupID); err != nil {
		return err
	}
	rows, err := t.QueryContext(t.ctx, `SELECT id, name FROM components WHERE coalesce(group_id, '') = ?`, groupID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var taken string
	for rows.Next() {
		var id, other string
		if err := rows.Scan(&id, &other); err != nil {
			return err
		}
		if id != self && strings.EqualFold(strings.TrimSpace(other), strings.TrimSpace(name)) {
			taken = other
		}
	}
	if err := rows.Err(); err != nil || taken == "" {
		return err
	}
	where := "outside any group"
	if groupID != "" {
		g, err := t.group(groupID)
		if err != nil {
			return err
		}
		where = fmt.Sprintf("in the group %q", g.Name)
	}
	return invalid("name", "is taken: another component %s is called %q (names within a group must differ, since alerts find components by name)", where, taken)
}

// DeleteComponent removes a component. Incident timelines keep its name.
func (s *Store) DeleteComponent(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.component(id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM components WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("component.delete", "component", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete component: %w", err)
	}
	return nil
}

// setComponentStatus changes the status of c (as the caller holds it) and
// records the change in its history, on the change feed and for webhooks.
// It returns the component after; nothing is written when the status does
// not change.
func (t *tx) setComponentStatus(c Component, status ComponentStatus) (Component, error) {
	return t.setComponentStatusFrom(c, status, t.now)
}

// setComponentStatusFrom is setComponentStatus with the change dated at
// (not later than now) in the history: an incident opened after its impact
// began counts the outage from when it began. A component that has changed
// since then keeps its history in order: the change goes after the last one.
func (t *tx) setComponentStatusFrom(c Component, status ComponentStatus, at time.Time) (Component, error) {
	if c.Status == status {
		return c, nil
	}
	if at.After(t.now) {
		at = t.now
	}
	if at.Before(t.now) {
		var last sql.NullTime
		if err := t.QueryRowContext(t.ctx, `SELECT at FROM component_status_changes WHERE component_id = ? ORDER BY at DESC LIMIT 1`, c.ID).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Component{}, fmt.Errorf("history of component %s: %w", c.ID, err)
		}
		if last.Valid && !last.Time.Before(at) {
			at = last.Time.Add(time.Microsecond)
		}
	}
	if _, err := t.exec(`UPDATE components SET status = ?, updated_at = ? WHERE id = ?`, status, t.now, c.ID); err != nil {
		return Component{}, fmt.Errorf("set status of component %s: %w", c.ID, err)
	}
	if _, err := t.exec(`INSERT INTO component_status_changes (component_id, status, at) VALUES (?, ?, ?)`, c.ID, status, at); err != nil {
		return Component{}, fmt.Errorf("record status of component %s: %w", c.ID, err)
	}
	t.notifyComponent(c.ID, c.Status)
	after := c
	after.Status, after.UpdatedAt = status, t.now
	t.publish(after)
	return after, nil
}

// ListComponentGroups returns every group in page order, with its components' ids.
func (s *Store) ListComponentGroups(ctx context.Context) ([]ComponentGroup, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, description, position, created_at, updated_at FROM component_groups ORDER BY position, name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list component groups: %w", err)
	}
	defer rows.Close()
	var out []ComponentGroup
	index := map[string]int{}
	for rows.Next() {
		var g ComponentGroup
		if err := rows.Scan(&g.ID, &g.Name, &g.Description, &g.Position, &g.CreatedAt, &g.UpdatedAt); err != nil {
			return nil, fmt.Errorf("store: list component groups: %w", err)
		}
		g.Components = []string{}
		index[g.ID] = len(out)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list component groups: %w", err)
	}
	components, err := s.ListComponents(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range components {
		if i, ok := index[c.GroupID]; ok {
			out[i].Components = append(out[i].Components, c.ID)
		}
	}
	return out, nil
}

// GetComponentGroup returns one group with its components' ids.
func (s *Store) GetComponentGroup(ctx context.Context, id string) (ComponentGroup, error) {
	groups, err := s.ListComponentGroups(ctx)
	if err != nil {
		return ComponentGroup{}, err
	}
	for _, g := range groups {
		if g.ID == id {
			return g, nil
		}
	}
	return ComponentGroup{}, fmt.Errorf("store: get component group: %w", &NotFoundError{Kind: "component group", ID: id})
}

func (t *tx) group(id string) (ComponentGroup, error) {
	var g ComponentGroup
	err := t.QueryRowContext(t.ctx, `SELECT id, name, description, position, created_at, updated_at FROM component_groups WHERE id = ?`, id).
		Scan(&g.ID, &g.Name, &g.Description, &g.Position, &g.CreatedAt, &g.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return g, &NotFoundError{Kind: "component group", ID: id}
	}
	return g, err
}

func (t *tx) groupWithComponents(id string) (ComponentGroup, error) {
	g, err := t.group(id)
	if err != nil {
		return g, err
	}
	rows, err := t.QueryContext(t.ctx, `SELECT id FROM components WHERE group_id = ? ORDER BY position, name, id`, id)
	if err != nil {
		return g, err
	}
	defer rows.Close()
	g.Components = []string{}
	for rows.Next() {
		var cid string
		if err := rows.Scan(&cid); err != nil {
			return g, err
		}
		g.Components = append(g.Components, cid)
	}
	return g, rows.Err()
}

// CreateComponentGroup adds a group.
func (s *Store) CreateComponentGroup(ctx context.Context, in ComponentGroupInput) (ComponentGroup, error) {
	var g ComponentGroup
	err := s.inTx(ctx, func(t *tx) error {
		name, err := checkLine("name", in.Name, MaxNameLength, true)
		if err != nil {
			return err
		}
		desc, err := checkText("description", in.Description, MaxDescriptionLength, false)
		if err != nil {
			return err
		}
		if err := checkPosition(in.Position); err != nil {
			return err
		}
		pos := 0
		if in.Position != nil {
			pos = *in.Position
		} else if pos, err = t.nextPosition(`SELECT max(position) FROM component_groups`); err != nil {
			return err
		}
		g = ComponentGroup{ID: newID(), Name: name, Description: desc, Position: pos, Components: []string{}, CreatedAt: t.now, UpdatedAt: t.now}
		if _, err := t.exec(`INSERT INTO component_groups (id, name, description, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			g.ID, g.Name, g.Description, g.Position, g.CreatedAt, g.UpdatedAt); err != nil {
			return err
		}
		t.record("component_group.create", "component_group", g.ID, nil, g)
		return nil
	})
	if err != nil {
		return ComponentGroup{}, fmt.Errorf("store: create component group: %w", err)
	}
	return g, nil
}

// UpdateComponentGroup changes a group's fields.
func (s *Store) UpdateComponentGroup(ctx context.Context, id string, p ComponentGroupPatch) (ComponentGroup, error) {
	var g ComponentGroup
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.groupWithComponents(id)
		if err != nil {
			return err
		}
		g = before
		if p.Name != nil {
			if g.Name, err = checkLine("name", *p.Name, MaxNameLength, true); err != nil {
				return err
			}
		}
		if p.Description != nil {
			if g.Description, err = checkText("description", *p.Description, MaxDescriptionLength, false); err != nil {
				return err
			}
		}
		if err := checkPosition(p.Position); err != nil {
			return err
		}
		if p.Position != nil {
			g.Position = *p.Position
		}
		if g.Name == before.Name && g.Description == before.Description && g.Position == before.Position {
			return nil // nothing changes
		}
		g.UpdatedAt = t.now
		if _, err := t.exec(`UPDATE component_groups SET name = ?, description = ?, position = ?, updated_at = ? WHERE id = ?`,
			g.Name, g.Description, g.Position, g.UpdatedAt, g.ID); err != nil {
			return err
		}
		t.record("component_group.update", "component_group", g.ID, before, g)
		return nil
	})
	if err != nil {
		return ComponentGroup{}, fmt.Errorf("store: update component group: %w", err)
	}
	return g, nil
}

// DeleteComponentGroup removes a group; its components stay, ungrouped.
func (s *Store) DeleteComponentGroup(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.groupWithComponents(id)
		if err != nil {
			return err
		}
		// Its components join those outside any group, where each name
		// must still be free.
		for _, cid := range before.Components {
			c, err := t.component(cid)
			if err != nil {
				return err
			}
			var ve *ValidationError
			if err := t.checkNameFree(c.Name, "", cid); errors.As(err, &ve) {
				return &ConflictError{Message: fmt.Sprintf("deleting the group would leave two components called %q outside any group (names within a group must differ, since alerts find components by name); rename one first", c.Name)}
			} else if err != nil {
				return err
			}
		}
		if _, err := t.exec(`DELETE FROM component_groups WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("component_group.delete", "component_group", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete component group: %w", err)
	}
	return nil
}

// asFieldError turns "the referenced object does not exist" into a
// validation error on the field that referenced it.
func asFieldError(field string, err error) error {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return invalid(field, "%s %q does not exist", nf.Kind, nf.ID)
	}
	return err
}

func joinValues[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
