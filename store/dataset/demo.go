package dataset

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-status/herald/store"
)

// Demo fills an empty store with the example page `herald serve --demo`
// shows: groups of components, a resolved incident with its whole timeline
// and postmortem, an older short one, an active incident and an upcoming
// maintenance. It does nothing and reports false when the store already has
// components: a demo must never write into someone's real page.
func Demo(ctx context.Context, st *store.Store) (bool, error) {
	existing, err := st.ListComponents(ctx)
	if err != nil {
		return false, fmt.Errorf("dataset: demo: %w", err)
	}
	if len(existing) > 0 {
		return false, nil
	}
	return true, demo.build(ctx, st)
}

var demo = page{
	actor: store.Actor{Type: "system", ID: "demo", Name: "Demo data"},
	groups: []group{
		{name: "Core platform", components: []component{{name: "API"}, {name: "Web application"}, {name: "Sign-in"}}},
		{name: "Data", components: []component{{name: "Primary database"}, {name: "Object storage"}}},
		{name: "Notifications", components: []component{{name: "Email delivery"}, {name: "Webhooks"}}},
	},
	ungrouped: []component{{name: "Website", description: "Marketing site and documentation"}},
	incidents: []incident{
		{
			// An old, short incident for the history page and the uptime bars.
			name: "Delayed email notifications", impact: store.ImpactMinor,
			began: func(now time.Time) time.Time { return now.AddDate(0, 0, -37).Truncate(time.Hour).Add(14 * time.Hour) },
			updates: []update{
				{0, store.Investigating, "Emails are arriving up to 20 minutes late. We are investigating.", map[string]store.ComponentStatus{"Email delivery": store.DegradedPerformance}},
				{50 * time.Minute, store.Resolved, "Our email provider has cleared its backlog; all delayed messages were delivered.", nil},
			},
		},
		{
			// The story Herald exists for: a database change takes down sign-in.
			name: "Sign-in failing for most users", impact: store.ImpactCritical,
			began: func(now time.Time) time.Time { return now.AddDate(0, 0, -5).Truncate(time.Hour).Add(-2 * time.Hour) },
			updates: []update{
				{0, store.Investigating, "Most users cannot sign in: about **75%** of sign-in attempts fail with an error. We are investigating.",
					map[string]store.ComponentStatus{"Sign-in": store.MajorOutage, "Web application": store.PartialOutage}},
				{40 * time.Minute, store.Identified, "We traced the failures to a database schema change deployed at 09:02 UTC, which locks the sessions table. We are rolling it back.", nil},
				{2*time.Hour + 30*time.Minute, store.Identified, "The rollback is running. Sign-in works for some users again; the web application is still slow.",
					map[string]store.ComponentStatus{"Sign-in": store.PartialOutage, "Web application": store.DegradedPerformance}},
				{3*time.Hour + 40*time.Minute, store.Monitoring, "The rollback is complete and sign-in succeeds normally. We are watching error rates.",
					map[string]store.ComponentStatus{"Sign-in": store.Operational, "Web application": store.Operational}},
				{4*time.Hour + 10*time.Minute, store.Resolved, "Sign-in has been working normally for 30 minutes. This incident is resolved; a postmortem will follow.", nil},
			},
			postmortem: &postmortem{after: 2 * 24 * time.Hour, body: demoPostmortem},
		},
		{
			// Something happening right now.
			name: "Elevated webhook delivery errors", impact: store.ImpactMinor,
			began: ago(35 * time.Minute),
			updates: []update{
				{0, store.Investigating, "Some webhook deliveries are failing with timeouts. Failed deliveries are retried automatically.",
					map[string]store.ComponentStatus{"Webhooks": store.DegradedPerformance}},
				{25 * time.Minute, store.Identified, "A network change slowed connections to one region. We are reverting it.", nil},
			},
		},
	},
	maintenances: []maintenance{{
		name:       "Primary database upgrade",
		body:       "We will upgrade the primary database. The API and web application may be read-only for up to 15 minutes.",
		components: []string{"Primary database", "API"},
		announced:  ago(time.Hour),
		from:       func(now time.Time) time.Time { return now.AddDate(0, 0, 2).Truncate(time.Hour) },
		lasts:      time.Hour,
	}},
}

const demoPostmortem = `## Summary
For four hours, about 75% of sign-in attempts failed. A schema change to the sessions table took a lock that
blocked session writes.

## Root cause
The migration added an index without ` + "`CONCURRENTLY`" + `, holding a write lock on a 40-million-row table.

## Resolution
We rolled the migration back and rebuilt the index concurrently during low traffic.

## Corrective actions
- [x] Lint migrations for locking operations before deploy (owner: platform team)
- [ ] Post to the status page within 10 minutes of a page (owner: on-call)
- [ ] Load-test sign-in against production-sized data (owner: identity team)
`
