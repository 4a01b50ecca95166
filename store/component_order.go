package store

import (
	"context"
	"database/sql"
	"fmt"
)

// MoveComponent moves a component one place up (delta -1) or down (+1)
// among the components of its group.
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
		return reorder(t, "components", siblings, id, delta, t.component, func(c *Component, pos int) bool {
			moved := c.Position != pos
			c.Position, c.UpdatedAt = pos, t.now
			return moved
		})
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
		return reorder(t, "component_groups", groups, id, delta, t.groupWithComponents, func(g *ComponentGroup, pos int) bool {
			moved := g.Position != pos
			g.Position, g.UpdatedAt = pos, t.now
			return moved
		})
	})
	if err != nil {
		return fmt.Errorf("store: move component group: %w", err)
	}
	return nil
}

// reorder moves id by delta places among ids (the rows of table in their
// order), renumbering them 0, 1, 2, … so that positions stay distinct
// whatever they were before; each row whose position changes (place puts
// it at pos and says whether it moved) is recorded.
func reorder[T feedObject](t *tx, table string, ids []string, id string, delta int,
	load func(string) (T, error), place func(*T, int) bool) error {
	order, moved := moveWithin(ids, id, delta)
	if !moved {
		return nil // already first or last: nothing changes
	}
	kind, _ := (*new(T)).feedRef()
	for pos, oid := range order {
		before, err := load(oid)
		if err != nil {
			return err
		}
		after := before
		if !place(&after, pos) {
			continue
		}
		if _, err := t.exec(`UPDATE `+table+` SET position = ?, updated_at = ? WHERE id = ?`, pos, t.now, oid); err != nil {
			return err
		}
		t.record(kind+".update", kind, oid, before, after)
	}
	return nil
}

func (t *tx) orderedIDs(query string, args ...any) ([]string, error) {
	return stringsOf(t.QueryContext(t.ctx, query, args...))
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

// MaxPosition bounds a component's or group's position either way: far
// more places than any page has, and far enough from the integer limits
// that the next position (the last plus one) is always a number the
// database keeps as an integer.
const MaxPosition = 1_000_000

// checkPosition refuses a position out of range.
func checkPosition(p *int) error {
	if p != nil && (*p < -MaxPosition || *p > MaxPosition) {
		return invalid("position", "is %d; give a number from %d to %d", *p, -MaxPosition, MaxPosition)
	}
	return nil
}

// nextPosition is the place after the last of the positions lastQuery
// selects (its max), 0 when there are none. A position saved before the
// bound existed may be anything up to the integer limit: the next one is
// then MaxPosition rather than an overflow.
func (t *tx) nextPosition(lastQuery string, args ...any) (int, error) {
	var last sql.NullInt64
	if err := t.QueryRowContext(t.ctx, lastQuery, args...).Scan(&last); err != nil {
		return 0, fmt.Errorf("next position: %w", err)
	}
	if !last.Valid {
		return 0, nil
	}
	return int(min(last.Int64, MaxPosition-1)) + 1, nil
}
