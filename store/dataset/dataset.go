// Package dataset fills an empty store with an example status page: the
// demo that `herald serve --demo` shows, and the data set the benchmarks and
// cmd/herald-bench measure (the README's figures are quoted for it). Both are
// written through the store's public methods, as a commander would have
// written them, so what they show is what Herald itself makes of such a day.
package dataset

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-status/herald/store"
)

// page is one data set.
type page struct {
	actor        store.Actor
	groups       []group
	ungrouped    []component // after the groups, in this order
	incidents    []incident  // opened in this order
	maintenances []maintenance
}

type group struct {
	name        string
	description string
	components  []component
}

type component struct {
	name        string
	description string
}

// incident is one incident's timeline.
type incident struct {
	name       string
	impact     store.Impact // "" lets the components decide
	began      func(now time.Time) time.Time
	updates    []update // oldest first; the first opens the incident
	postmortem *postmortem
}

type update struct {
	after   time.Duration // since the incident began
	status  store.IncidentStatus
	body    string
	changes map[string]store.ComponentStatus // component name → status
}

type postmortem struct {
	after time.Duration // since the incident began
	body  string
}

// maintenance is a window announced planned ahead.
type maintenance struct {
	name       string
	body       string
	components []string // by name
	announced  func(now time.Time) time.Time
	from       func(now time.Time) time.Time
	lasts      time.Duration
}

// ago is a moment d before now.
func ago(d time.Duration) func(time.Time) time.Time {
	return func(now time.Time) time.Time { return now.Add(-d) }
}

// build writes p into st. History is written as of the times it happened
// (the store stamps every row by its clock, so the page shows a real
// timeline and real uptime bars); the store's clock is back on the wall
// clock when build returns.
func (p page) build(ctx context.Context, st *store.Store) error {
	ctx = store.WithActor(ctx, p.actor)
	now := time.Now().UTC()
	at := func(t time.Time) { st.SetClock(func() time.Time { return t }) }
	defer st.SetClock(time.Now)

	// Created 100 days ago so that every uptime bar covers its 90 days.
	at(now.AddDate(0, 0, -100))
	ids, err := p.createComponents(ctx, st)
	if err != nil {
		return err
	}
	byID := func(names map[string]store.ComponentStatus) (map[string]store.ComponentStatus, error) {
		if names == nil {
			return nil, nil
		}
		out := make(map[string]store.ComponentStatus, len(names))
		for name, s := range names {
			id, ok := ids[name]
			if !ok {
				return nil, fmt.Errorf("no component %q", name)
			}
			out[id] = s
		}
		return out, nil
	}
	for _, in := range p.incidents {
		began := in.began(now)
		var inc store.Incident
		for i, u := range in.updates {
			at(began.Add(u.after))
			changes, err := byID(u.changes)
			if err != nil {
				return fmt.Errorf("dataset: incident %q update %d: %w", in.name, i+1, err)
			}
			if i == 0 {
				inc, err = st.CreateIncident(ctx, store.IncidentInput{Name: in.name, Status: u.status, Impact: in.impact, Body: u.body, Components: changes})
			} else {
				_, err = st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: u.status, Body: u.body, Components: changes})
			}
			if err != nil {
				return fmt.Errorf("dataset: incident %q update %d: %w", in.name, i+1, err)
			}
		}
		if pm := in.postmortem; pm != nil {
			at(began.Add(pm.after))
			if _, err := st.PublishPostmortem(ctx, inc.ID, pm.body); err != nil {
				return fmt.Errorf("dataset: incident %q postmortem: %w", in.name, err)
			}
		}
	}
	for _, m := range p.maintenances {
		at(m.announced(now))
		var comps []string
		for _, name := range m.components {
			id, ok := ids[name]
			if !ok {
				return fmt.Errorf("dataset: maintenance %q: no component %q", m.name, name)
			}
			comps = append(comps, id)
		}
		from := m.from(now)
		if _, err := st.CreateMaintenance(ctx, store.MaintenanceInput{Name: m.name, Body: m.body, Components: comps,
			ScheduledFor: from, ScheduledUntil: from.Add(m.lasts)}); err != nil {
			return fmt.Errorf("dataset: maintenance %q: %w", m.name, err)
		}
	}
	return nil
}

// createComponents makes the groups and components in page order and
// returns the components' ids by name.
func (p page) createComponents(ctx context.Context, st *store.Store) (map[string]string, error) {
	ids := map[string]string{}
	add := func(c component, groupID string) error {
		made, err := st.CreateComponent(ctx, store.ComponentInput{Name: c.name, GroupID: groupID, Description: c.description})
		if err != nil {
			return fmt.Errorf("dataset: component %q: %w", c.name, err)
		}
		ids[c.name] = made.ID
		return nil
	}
	for _, g := range p.groups {
		made, err := st.CreateComponentGroup(ctx, store.ComponentGroupInput{Name: g.name, Description: g.description})
		if err != nil {
			return nil, fmt.Errorf("dataset: group %q: %w", g.name, err)
		}
		for _, c := range g.components {
			if err := add(c, made.ID); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range p.ungrouped {
		if err := add(c, ""); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
