package web

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-status/herald/store"
)

// The data set the README's performance figures are quoted for (issue 2,
// "Speed"): 30 components in 5 groups, and 3 active incidents with 10
// updates each, some components not operational. It lives here, beside the
// pages it exercises, so that cmd/herald-bench and the Go benchmarks in this
// package build exactly the same one.

var benchGroups = []struct {
	name       string
	components []string
}{
	{"Core platform", []string{"REST API", "GraphQL API", "Web application", "Sign-in and SSO", "Mobile API", "Admin console"}},
	{"Data", []string{"Primary database", "Read replicas", "Object storage", "Search index", "Backups", "Data export"}},
	{"Messaging", []string{"Email delivery", "SMS delivery", "Push notifications", "Webhooks", "Chat integrations", "Event stream"}},
	{"Payments", []string{"Card payments", "Invoicing", "Payouts", "Fraud checks", "Tax calculation", "Billing portal"}},
	{"Regions", []string{"EU West (Dublin)", "EU Central (Frankfurt)", "US East (Virginia)", "US West (Oregon)", "Asia Pacific (Singapore)", "South America (São Paulo)"}},
}

type benchUpdate struct {
	status  store.IncidentStatus
	body    string
	changes map[string]store.ComponentStatus // component name → status
}

type benchIncident struct {
	name    string
	started time.Duration // before now
	every   time.Duration // between updates
	updates []benchUpdate // oldest first; exactly 10
}

var benchIncidents = []benchIncident{
	{
		name:    "Sign-in failures for most users after a database change",
		started: 4 * time.Hour,
		every:   20 * time.Minute,
		updates: []benchUpdate{
			{store.Investigating, "We are investigating reports that users cannot sign in. Existing sessions keep working; **new sign-ins fail** with an error page.", map[string]store.ComponentStatus{"Sign-in and SSO": store.MajorOutage, "Web application": store.PartialOutage}},
			{store.Investigating, "About 75% of sign-in attempts fail. The failures started at the same time as a schema change to the primary database, which we are examining first.", map[string]store.ComponentStatus{"Primary database": store.DegradedPerformance}},
			{store.Investigating, "Mobile apps are affected too: token refreshes go through the same path. API keys are **not** affected, so integrations keep running.", map[string]store.ComponentStatus{"Mobile API": store.PartialOutage}},
			{store.Identified, "We have identified the cause: a migration dropped an index the session table relies on, so each sign-in scans the whole table and times out under load.", nil},
			{store.Identified, "Rebuilding the index online would take about 40 minutes. We are rebuilding it on a replica first so that the primary stays available.\n\n- rebuild started on the replica\n- sign-in traffic reduced with a queue to keep the database responsive", nil},
			{store.Identified, "The index rebuild on the replica is 60% done. Support has extended the session lifetime so that users who are signed in stay signed in.", nil},
			{store.Identified, "The rebuilt index has been verified on the replica. We are promoting it now; expect a short burst of errors (under a minute) during the switch-over.", map[string]store.ComponentStatus{"Read replicas": store.DegradedPerformance}},
			{store.Identified, "The switch-over is complete. Sign-ins are succeeding again for most users while the queue drains; some may still see a slow first attempt.", map[string]store.ComponentStatus{"Sign-in and SSO": store.PartialOutage, "Web application": store.DegradedPerformance}},
			{store.Monitoring, "Sign-in success rates are back to normal levels. We are monitoring the database and the sign-in queue closely before lifting the rate limit.", map[string]store.ComponentStatus{"Mobile API": store.DegradedPerformance}},
			{store.Monitoring, "The rate limit has been lifted at 50% of traffic. Error rates remain normal; we will lift it completely within the next 30 minutes and post a postmortem once resolved.", map[string]store.ComponentStatus{"Sign-in and SSO": store.DegradedPerformance}},
		},
	},
	{
		name:    "Delayed webhook and email delivery",
		started: 2 * time.Hour,
		every:   10 * time.Minute,
		updates: []benchUpdate{
			{store.Investigating, "Webhooks and notification emails are arriving late — currently up to 15 minutes. No messages have been lost.", map[string]store.ComponentStatus{"Webhooks": store.DegradedPerformance, "Email delivery": store.DegradedPerformance}},
			{store.Investigating, "The delay is growing: the delivery queue holds about 240,000 messages. We are adding workers while we look for the cause.", map[string]store.ComponentStatus{"Webhooks": store.PartialOutage}},
			{store.Identified, "A single customer endpoint that answers very slowly is holding delivery workers for their full 30-second timeout. We are isolating slow endpoints into their own pool.", nil},
			{store.Identified, "Slow endpoints now have their own pool. The queue has stopped growing and is shrinking by about 8,000 messages a minute.", nil},
			{store.Identified, "Email delivery has caught up and is back to normal; webhooks are still about 6 minutes behind.", map[string]store.ComponentStatus{"Email delivery": store.Operational}},
			{store.Identified, "Webhook delay is down to 3 minutes. Retries scheduled during the incident will be sent in order, with their original idempotency ids.", nil},
			{store.Identified, "We are also lowering the per-endpoint concurrency for endpoints that keep timing out, so that one endpoint can no longer slow down everyone else.", map[string]store.ComponentStatus{"Webhooks": store.DegradedPerformance}},
			{store.Monitoring, "The backlog is cleared. New webhooks are delivered within seconds. We are monitoring delivery times.", nil},
			{store.Monitoring, "Delivery times remain normal. If your endpoint rejected messages during the incident, you can replay them from the delivery log in the console.", nil},
			{store.Monitoring, "We will keep monitoring for another hour before resolving. Chat integrations were never affected.", nil},
		},
	},
	{
		name:    "Elevated error rates in US East (Virginia)",
		started: 50 * time.Minute,
		every:   5 * time.Minute,
		updates: []benchUpdate{
			{store.Investigating, "About 4% of API requests served from US East are failing with 502 errors. Other regions are not affected.", map[string]store.ComponentStatus{"US East (Virginia)": store.PartialOutage, "REST API": store.DegradedPerformance}},
			{store.Investigating, "The errors come from one of three load balancer pools in the region. We are draining it.", nil},
			{store.Investigating, "Draining the pool has lowered the error rate to 1%. Card payments routed through US East may be retried by your client.", map[string]store.ComponentStatus{"Card payments": store.DegradedPerformance}},
			{store.Identified, "Our cloud provider has confirmed a networking problem in one availability zone. We are moving traffic out of that zone.", nil},
			{store.Identified, "Traffic has moved to the two healthy zones. Latency is about 30 ms higher than usual while capacity scales up.", map[string]store.ComponentStatus{"US East (Virginia)": store.DegradedPerformance}},
			{store.Identified, "Capacity has scaled up; latency is back to normal. Card payments are processing normally.", map[string]store.ComponentStatus{"Card payments": store.Operational}},
			{store.Identified, "The provider reports that the zone is recovering. We will keep traffic out of it until they confirm it is stable.", nil},
			{store.Identified, "The GraphQL API saw a brief spike of timeouts while caches warmed in the new zones; it has passed.", nil},
			{store.Monitoring, "Error rates have been normal for 15 minutes. We are monitoring.", map[string]store.ComponentStatus{"REST API": store.Operational}},
			{store.Monitoring, "The provider has confirmed the zone is healthy. We will move traffic back gradually over the next hour and keep this incident open until then.", nil},
		},
	},
}

// BuildBenchmarkDataSet fills an empty store with the benchmark data set. History is
// written as of the times it happened, so the page shows a realistic
// timeline; the clock is restored before returning.
func BuildBenchmarkDataSet(ctx context.Context, st *store.Store) error {
	ctx = store.WithActor(ctx, store.Actor{Type: "system", ID: "herald-bench", Name: "herald-bench"})
	now := time.Now().UTC()
	at := func(t time.Time) { st.SetClock(func() time.Time { return t }) }
	defer st.SetClock(time.Now)

	// Created 100 days ago so every uptime bar covers its 90 days.
	at(now.AddDate(0, 0, -100))
	ids := map[string]string{}
	for _, g := range benchGroups {
		group, err := st.CreateComponentGroup(ctx, store.ComponentGroupInput{Name: g.name, Description: "Everything under " + g.name + "."})
		if err != nil {
			return fmt.Errorf("group %s: %w", g.name, err)
		}
		for _, name := range g.components {
			c, err := st.CreateComponent(ctx, store.ComponentInput{Name: name, GroupID: group.ID, Description: name + " for all customers."})
			if err != nil {
				return fmt.Errorf("component %s: %w", name, err)
			}
			ids[name] = c.ID
		}
	}
	byID := func(changes map[string]store.ComponentStatus) (map[string]store.ComponentStatus, error) {
		out := make(map[string]store.ComponentStatus, len(changes))
		for name, s := range changes {
			id, ok := ids[name]
			if !ok {
				return nil, fmt.Errorf("no component %q", name)
			}
			out[id] = s
		}
		return out, nil
	}
	for _, bi := range benchIncidents {
		start := now.Add(-bi.started)
		var inc store.Incident
		for i, u := range bi.updates {
			at(start.Add(time.Duration(i) * bi.every))
			changes, err := byID(u.changes)
			if err != nil {
				return err
			}
			if i == 0 {
				inc, err = st.CreateIncident(ctx, store.IncidentInput{Name: bi.name, Status: u.status, Body: u.body, Components: changes})
			} else {
				_, err = st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: u.status, Body: u.body, Components: changes})
			}
			if err != nil {
				return fmt.Errorf("incident %q update %d: %w", bi.name, i+1, err)
			}
		}
	}
	return nil
}

// BenchmarkIncidentNames are the active incidents the data set opens, for a
// load generator to check the page it measures shows them.
func BenchmarkIncidentNames() []string {
	names := make([]string, len(benchIncidents))
	for i, bi := range benchIncidents {
		names[i] = bi.name
	}
	return names
}
