package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PastIncident is a resolved incident written straight into the history:
// one component went to Down at Start and back to operational at End,
// with an update for each.
type PastIncident struct {
	Name        string
	Impact      Impact
	ComponentID string
	Down        ComponentStatus
	Start, End  time.Time
}

// importBatch incidents go in one multi-row statement per table: eight
// parameters a row keeps it far below either backend's parameter limit.
const importBatch = 200

// ImportPastIncidents writes resolved incidents in bulk, a few hundred a
// statement, so that years of history (100,000 incidents) take seconds
// where posting them one by one would take hours. It is how the benchmarks
// and `herald-bench history` build a long history. The incidents are history
// only: they go on no change feed and notify nobody, and the pages show
// them from their next rebuild. All or nothing: one bad incident refuses
// the lot.
func (s *Store) ImportPastIncidents(ctx context.Context, incs []PastIncident) error {
	err := s.inTx(ctx, func(t *tx) error {
		known := map[string]string{} // component id → name
		rows, err := t.QueryContext(t.ctx, `SELECT id, name FROM components`)
		if err != nil {
			return fmt.Errorf("components: %w", err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return err
			}
			known[id] = name
		}
		if err := rows.Close(); err != nil {
			return err
		}
		total := len(incs)
		for len(incs) > 0 {
			n := min(importBatch, len(incs))
			if err := t.importIncidents(incs[:n], known); err != nil {
				return err
			}
			incs = incs[n:]
		}
		t.record("incident.import", "incident", "", nil, map[string]int{"incidents": total})
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.dialect.settle(ctx, s); err != nil {
		return fmt.Errorf("store: after importing incidents: %w", err)
	}
	return nil
}

func (t *tx) importIncidents(incs []PastIncident, components map[string]string) error {
	var inc, link, upd, iuc, csc strings.Builder
	var incArgs, linkArgs, updArgs, iucArgs, cscArgs []any
	for i, p := range incs {
		name, err := checkLine("name", p.Name, MaxNameLength, true)
		if err != nil {
			return err
		}
		compName, ok := components[p.ComponentID]
		switch {
		case !p.Impact.Valid():
			return invalid("impact", "unknown impact %q; use one of %s", p.Impact, joinValues(Impacts))
		case !ok:
			return invalid("component_id", "no component %q", p.ComponentID)
		case !p.Down.Valid() || p.Down == Operational:
			return invalid("status", "%q is not a status a component goes down to", p.Down)
		case !p.Start.Before(p.End) || p.End.After(t.now):
			return invalid("resolved_at", "must be after the start and no later than now")
		}
		start, end := p.Start.UTC().Truncate(time.Microsecond), p.End.UTC().Truncate(time.Microsecond)
		id := newID()
		sep := ","
		if i == 0 {
			sep = ""
		}
		inc.WriteString(sep + "(?, ?, 'resolved', ?, ?, ?, ?, ?)")
		incArgs = append(incArgs, id, name, p.Impact, start, end, end, start)
		link.WriteString(sep + "(?, ?)")
		linkArgs = append(linkArgs, id, p.ComponentID)
		opened, closed := newID(), newID()
		upd.WriteString(sep + "(?, ?, 'investigating', 'Looking.', ?), (?, ?, 'resolved', 'Fixed.', ?)")
		updArgs = append(updArgs, opened, id, start, closed, id, end)
		iuc.WriteString(sep + "(?, ?, ?, 'operational', ?), (?, ?, ?, ?, 'operational')")
		iucArgs = append(iucArgs, opened, p.ComponentID, compName, p.Down, closed, p.ComponentID, compName, p.Down)
		csc.WriteString(sep + "(?, ?, ?), (?, 'operational', ?)")
		cscArgs = append(cscArgs, p.ComponentID, p.Down, start, p.ComponentID, end)
	}
	for _, w := range []struct {
		table, columns, values string
		args                   []any
	}{
		{"incidents", "id, name, status, impact, created_at, updated_at, resolved_at, started_at", inc.String(), incArgs},
		{"incident_components", "incident_id, component_id", link.String(), linkArgs},
		{"incident_updates", "id, incident_id, status, body, created_at", upd.String(), updArgs},
		{"incident_update_components", "update_id, component_id, component_name, old_status, new_status", iuc.String(), iucArgs},
		{"component_status_changes", "component_id, status, at", csc.String(), cscArgs},
	} {
		if _, err := t.exec(`INSERT INTO `+w.table+` (`+w.columns+`) VALUES `+w.values, w.args...); err != nil {
			return fmt.Errorf("import into %s: %w", w.table, err)
		}
	}
	return nil
}

// PastHistory is n resolved incidents five minutes apart, three minutes
// each, over comps in turn, the newest a little over two years before now:
// years of history, none of it in the 90 days the pages show.
func PastHistory(now time.Time, comps []Component, n int) []PastIncident {
	start := now.AddDate(-3, 0, 0)
	incs := make([]PastIncident, n)
	for i := range incs {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		incs[i] = PastIncident{
			Name:        fmt.Sprintf("Old incident %d", i+1),
			Impact:      ImpactMajor,
			ComponentID: comps[i%len(comps)].ID,
			Down:        MajorOutage,
			Start:       at,
			End:         at.Add(3 * time.Minute),
		}
	}
	return incs
}
