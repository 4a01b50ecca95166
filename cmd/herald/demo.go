package main

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-status/herald/store"
)

// fillDemo fills an empty database with a realistic example page: groups of
// components, a resolved incident with its whole timeline and postmortem, an
// active incident and an upcoming maintenance. It does nothing (and returns
// false) when the database already has components.
func fillDemo(ctx context.Context, st *store.Store) (bool, error) {
	existing, err := st.ListComponents(ctx)
	if err != nil || len(existing) > 0 {
		return false, err
	}
	ctx = store.WithActor(ctx, store.Actor{Type: "system", ID: "demo", Name: "Demo data"})
	now := time.Now().UTC()
	// Write history as of the times it happened, then return to the present.
	at := func(t time.Time) { st.SetClock(func() time.Time { return t }) }
	defer st.SetClock(time.Now)

	at(now.AddDate(0, 0, -100))
	groups := map[string][]string{
		"Core platform": {"API", "Web application", "Sign-in"},
		"Data":          {"Primary database", "Object storage"},
		"Notifications": {"Email delivery", "Webhooks"},
	}
	order := []string{"Core platform", "Data", "Notifications"}
	ids := map[string]string{}
	for _, gname := range order {
		g, err := st.CreateComponentGroup(ctx, store.ComponentGroupInput{Name: gname})
		if err != nil {
			return false, err
		}
		for _, cname := range groups[gname] {
			c, err := st.CreateComponent(ctx, store.ComponentInput{Name: cname, GroupID: g.ID})
			if err != nil {
				return false, err
			}
			ids[cname] = c.ID
		}
	}
	status, err := st.CreateComponent(ctx, store.ComponentInput{Name: "Website", Description: "Marketing site and documentation"})
	if err != nil {
		return false, err
	}
	ids["Website"] = status.ID

	step := func(t time.Time, f func() error) error { at(t); return f() }

	// An old, short incident for the history page and the uptime bars.
	old := now.AddDate(0, 0, -37).Truncate(time.Hour).Add(14 * time.Hour)
	var oldInc store.Incident
	if err := step(old, func() (err error) {
		oldInc, err = st.CreateIncident(ctx, store.IncidentInput{Name: "Delayed email notifications", Impact: store.ImpactMinor,
			Body: "Emails are arriving up to 20 minutes late. We are investigating.", Components: map[string]store.ComponentStatus{ids["Email delivery"]: store.DegradedPerformance}})
		return err
	}); err != nil {
		return false, err
	}
	if err := step(old.Add(50*time.Minute), func() error {
		_, err := st.PostIncidentUpdate(ctx, oldInc.ID, store.IncidentUpdateInput{Status: store.Resolved, Body: "Our email provider has cleared its backlog; all delayed messages were delivered."})
		return err
	}); err != nil {
		return false, err
	}

	// The story Herald exists for: a database change takes down sign-in.
	start := now.AddDate(0, 0, -5).Truncate(time.Hour).Add(-2 * time.Hour)
	var inc store.Incident
	steps := []struct {
		after time.Duration
		do    func() error
	}{
		{0, func() (err error) {
			inc, err = st.CreateIncident(ctx, store.IncidentInput{
				Name: "Sign-in failing for most users", Impact: store.ImpactCritical,
				Body:       "Most users cannot sign in: about **75%** of sign-in attempts fail with an error. We are investigating.",
				Components: map[string]store.ComponentStatus{ids["Sign-in"]: store.MajorOutage, ids["Web application"]: store.PartialOutage},
			})
			return err
		}},
		{40 * time.Minute, func() error {
			_, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified,
				Body: "We traced the failures to a database schema change deployed at 09:02 UTC, which locks the sessions table. We are rolling it back."})
			return err
		}},
		{2*time.Hour + 30*time.Minute, func() error {
			_, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified,
				Body:       "The rollback is running. Sign-in works for some users again; the web application is still slow.",
				Components: map[string]store.ComponentStatus{ids["Sign-in"]: store.PartialOutage, ids["Web application"]: store.DegradedPerformance}})
			return err
		}},
		{3*time.Hour + 40*time.Minute, func() error {
			_, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Monitoring,
				Body:       "The rollback is complete and sign-in succeeds normally. We are watching error rates.",
				Components: map[string]store.ComponentStatus{ids["Sign-in"]: store.Operational, ids["Web application"]: store.Operational}})
			return err
		}},
		{4*time.Hour + 10*time.Minute, func() error {
			_, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Resolved,
				Body: "Sign-in has been working normally for 30 minutes. This incident is resolved; a postmortem will follow."})
			return err
		}},
		{2 * 24 * time.Hour, func() error {
			_, err := st.PublishPostmortem(ctx, inc.ID, postmortemText)
			return err
		}},
	}
	for _, s := range steps {
		if err := step(start.Add(s.after), s.do); err != nil {
			return false, fmt.Errorf("resolved incident: %w", err)
		}
	}

	// Something happening right now.
	if err := step(now.Add(-35*time.Minute), func() (err error) {
		inc, err = st.CreateIncident(ctx, store.IncidentInput{
			Name: "Elevated webhook delivery errors", Impact: store.ImpactMinor,
			Body:       "Some webhook deliveries are failing with timeouts. Failed deliveries are retried automatically.",
			Components: map[string]store.ComponentStatus{ids["Webhooks"]: store.DegradedPerformance},
		})
		return err
	}); err != nil {
		return false, err
	}
	if err := step(now.Add(-10*time.Minute), func() error {
		_, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified,
			Body: "A network change slowed connections to one region. We are reverting it."})
		return err
	}); err != nil {
		return false, err
	}

	// Planned work.
	at(now.Add(-time.Hour))
	from := now.AddDate(0, 0, 2).Truncate(time.Hour)
	if _, err := st.CreateMaintenance(ctx, store.MaintenanceInput{
		Name:         "Primary database upgrade",
		Body:         "We will upgrade the primary database. The API and web application may be read-only for up to 15 minutes.",
		Components:   []string{ids["Primary database"], ids["API"]},
		ScheduledFor: from, ScheduledUntil: from.Add(time.Hour),
	}); err != nil {
		return false, err
	}
	return true, nil
}

const postmortemText = `## Summary
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
