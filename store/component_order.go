package store

import (
	"context"
	"fmt"
)

// MoveComponent moves a component one place up (delta -1) or down (+1)
// among the components of its group, renumbering them 0, 1, 2, … so that
// positions stay distinct whatever they were before.
func (s *Store) MoveComponent(ctx context.Context, id string, delta int) error {
	err := s.inTx(ctx, func(t *tx) error {
		c, err := t.component(id)
		if err != nil {
			return err
		}
		siblings, err := t.orderedIDs(`SELECT id FROM components WHERE coalesce(group_id, '') = ? ORDER BY position, name, id`, c.GroupID)
		if err != nil {
			return err
		}
		order, moved := moveWithin(siblings, id, delta)
		if !moved {
			return nil // already first or last: nothing changes
		}
		for pos, cid := range order {
			before, err := t.component(cid)
			if err != nil {
				return err
			}
			if before.Position == pos {
				continue
			}
			if _, err := t.exec(`UPDATE components SET position = ?, updated_at = ? WHERE id = ?`, pos, t.now, cid); err != nil {
				return err
			}
			after := before
			after.Position, after.UpdatedAt = pos, t.now
			t.record("component.update", "component", cid, before, after)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: move component: %w", err)
	}
	return nil
}

// MoveComponentGroup moves a group one place up (-1) or down (+1).
func (s *Store) MoveComponentGroup(ctx context.Context, id string, delta int) error {
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.group(id); err != nil {
			return err
		}
		groups, err := t.orderedIDs(`SELECT id FROM component_groups ORDER BY position, name, id`)
		if err != nil {
			return err
		}
		order, moved := moveWithin(groups, id, delta)
		if !moved {
			return nil
		}
		for pos, gid := range order {
			before, err := t.groupWithComponents(gid)
			if err != nil {
				return err
			}
			if before.Position == pos {
				continue
			}
			if _, err := t.exec(`UPDATE component_groups SET position = ?, updated_at = ? WHERE id = ?`, pos, t.now, gid); err != nil {
				return err
			}
			after := before
			after.Position, after.UpdatedAt = pos, t.now
			t.record("component_group.update", "component_group", gid, before, after)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: move component group: %w", err)
	}
	return nil
}

func (t *tx) orderedIDs(query string, args ...any) ([]string, error) {
	rows, err := t.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// moveWithin returns ids with id moved by delta places, and whether it moved.
func moveWithin(ids []string, id string, delta int) ([]string, bool) {
	from := -1
	for i, v := range ids {
		if v == id {
			from = i
		}
	}
	to := from + delta
	if from < 0 || delta == 0 || to < 0 || to >= len(ids) {
		return ids, false
	}
	out := append([]string(nil), ids...)
	out[from], out[to] = out[to], out[from]
	return out, true
}
