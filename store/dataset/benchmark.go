package dataset

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-status/herald/store"
)

// Benchmark fills an empty store with the data set the README's performance
// figures are quoted for (issue 2, "Speed"): 30 components in 5 groups, and
// 3 active incidents with 10 updates each, some components not operational.
// The Go benchmarks in web and cmd/herald-bench build this same one, so their
// figures measure the same page.
func Benchmark(ctx context.Context, st *store.Store) error {
	return benchmark.build(ctx, st)
}

// BenchmarkIncidentNames are the active incidents the benchmark data set
// opens, for a load generator to check that the page it measures shows them.
func BenchmarkIncidentNames() []string {
	names := make([]string, len(benchmark.incidents))
	for i, in := range benchmark.incidents {
		names[i] = in.name
	}
	return names
}

// benchGroup is a group whose components all serve every customer.
func benchGroup(name string, components ...string) group {
	g := group{name: name, description: "Everything under " + name + "."}
	for _, c := range components {
		g.components = append(g.components, component{name: c, description: c + " for all customers."})
	}
	return g
}

var benchmark = page{
	actor: store.Actor{Type: "system", ID: "herald-bench", Name: "herald-bench"},
	groups: []group{
		benchGroup("Core platform", "REST API", "GraphQL API", "Web application", "Sign-in and SSO", "Mobile API", "Admin console"),
		benchGroup("Data", "Primary database", "Read replicas", "Object storage", "Search index", "Backups", "Data export"),
		benchGroup("Messaging", "Email delivery", "SMS delivery", "Push notifications", "Webhooks", "Chat integrations", "Event stream"),
		benchGroup("Payments", "Card payments", "Invoicing", "Payouts", "Fraud checks", "Tax calculation", "Billing portal"),
		benchGroup("Regions", "EU West (Dublin)", "EU Central (Frankfurt)", "US East (Virginia)", "US West (Oregon)", "Asia Pacific (Singapore)", "South America (São Paulo)"),
	},
	incidents: []incident{
		{
			name:  "Sign-in failures for most users after a database change",
			began: ago(4 * time.Hour),
			updates: []update{
				{0, store.Investigating, "We are investigating reports that users cannot sign in. Existing sessions keep working; **new sign-ins fail** with an error page.", map[string]store.ComponentStatus{"Sign-in and SSO": store.MajorOutage, "Web application": store.PartialOutage}},
				{20 * time.Minute, store.Investigating, "About 75% of sign-in attempts fail. The failures started at the same time as a schema change to the primary database, which we are examining first.", map[string]store.ComponentStatus{"Primary database": store.DegradedPerformance}},
				{40 * time.Minute, store.Investigating, "Mobile apps are affected too: token refreshes go through the same path. API keys are **not** affected, so integrations keep running.", map[string]store.ComponentStatus{"Mobile API": store.PartialOutage}},
				{time.Hour, store.Identified, "We have identified the cause: a migration dropped an index the session table relies on, so each sign-in scans the whole table and times out under load.", nil},
				{time.Hour + 20*time.Minute, store.Identified, "Rebuilding the index online would take about 40 minutes. We are rebuilding it on a replica first so that the primary stays available.\n\n- rebuild started on the replica\n- sign-in traffic reduced with a queue to keep the database responsive", nil},
				{time.Hour + 40*time.Minute, store.Identified, "The index rebuild on the replica is 60% done. Support has extended the session lifetime so that users who are signed in stay signed in.", nil},
				{2 * time.Hour, store.Identified, "The rebuilt index has been verified on the replica. We are promoting it now; expect a short burst of errors (under a minute) during the switch-over.", map[string]store.ComponentStatus{"Read replicas": store.DegradedPerformance}},
				{2*time.Hour + 20*time.Minute, store.Identified, "The switch-over is complete. Sign-ins are succeeding again for most users while the queue drains; some may still see a slow first attempt.", map[string]store.ComponentStatus{"Sign-in and SSO": store.PartialOutage, "Web application": store.DegradedPerformance}},
				{2*time.Hour + 40*time.Minute, store.Monitoring, "Sign-in success rates are back to normal levels. We are monitoring the database and the sign-in queue closely before lifting the rate limit.", map[string]store.ComponentStatus{"Mobile API": store.DegradedPerformance}},
				{3 * time.Hour, store.Monitoring, "The rate limit has been lifted at 50% of traffic. Error rates remain normal; we will lift it completely within the next 30 minutes and post a postmortem once resolved.", map[string]store.ComponentStatus{"Sign-in and SSO": store.DegradedPerformance}},
			},
		},
		{
			name:  "Delayed webhook and email delivery",
			began: ago(2 * time.Hour),
			updates: []update{
				{0, store.Investigating, "Webhooks and notification emails are arriving late — currently up to 15 minutes. No messages have been lost.", map[string]store.ComponentStatus{"Webhooks": store.DegradedPerformance, "Email delivery": store.DegradedPerformance}},
				{10 * time.Minute, store.Investigating, "The delay is growing: the delivery queue holds about 240,000 messages. We are adding workers while we look for the cause.", map[string]store.ComponentStatus{"Webhooks": store.PartialOutage}},
				{20 * time.Minute, store.Identified, "A single customer endpoint that answers very slowly is holding delivery workers for their full 30-second timeout. We are isolating slow endpoints into their own pool.", nil},
				{30 * time.Minute, store.Identified, "Slow endpoints now have their own pool. The queue has stopped growing and is shrinking by about 8,000 messages a minute.", nil},
				{40 * time.Minute, store.Identified, "Email delivery has caught up and is back to normal; webhooks are still about 6 minutes behind.", map[string]store.ComponentStatus{"Email delivery": store.Operational}},
				{50 * time.Minute, store.Identified, "Webhook delay is down to 3 minutes. Retries scheduled during the incident will be sent in order, with their original idempotency ids.", nil},
				{time.Hour, store.Identified, "We are also lowering the per-endpoint concurrency for endpoints that keep timing out, so that one endpoint can no longer slow down everyone else.", map[string]store.ComponentStatus{"Webhooks": store.DegradedPerformance}},
				{time.Hour + 10*time.Minute, store.Monitoring, "The backlog is cleared. New webhooks are delivered within seconds. We are monitoring delivery times.", nil},
				{time.Hour + 20*time.Minute, store.Monitoring, "Delivery times remain normal. If your endpoint rejected messages during the incident, you can replay them from the delivery log in the console.", nil},
				{time.Hour + 30*time.Minute, store.Monitoring, "We will keep monitoring for another hour before resolving. Chat integrations were never affected.", nil},
			},
		},
		{
			name:  "Elevated error rates in US East (Virginia)",
			began: ago(50 * time.Minute),
			updates: []update{
				{0, store.Investigating, "About 4% of API requests served from US East are failing with 502 errors. Other regions are not affected.", map[string]store.ComponentStatus{"US East (Virginia)": store.PartialOutage, "REST API": store.DegradedPerformance}},
				{5 * time.Minute, store.Investigating, "The errors come from one of three load balancer pools in the region. We are draining it.", nil},
				{10 * time.Minute, store.Investigating, "Draining the pool has lowered the error rate to 1%. Card payments routed through US East may be retried by your client.", map[string]store.ComponentStatus{"Card payments": store.DegradedPerformance}},
				{15 * time.Minute, store.Identified, "Our cloud provider has confirmed a networking problem in one availability zone. We are moving traffic out of that zone.", nil},
				{20 * time.Minute, store.Identified, "Traffic has moved to the two healthy zones. Latency is about 30 ms higher than usual while capacity scales up.", map[string]store.ComponentStatus{"US East (Virginia)": store.DegradedPerformance}},
				{25 * time.Minute, store.Identified, "Capacity has scaled up; latency is back to normal. Card payments are processing normally.", map[string]store.ComponentStatus{"Card payments": store.Operational}},
				{30 * time.Minute, store.Identified, "The provider reports that the zone is recovering. We will keep traffic out of it until they confirm it is stable.", nil},
				{35 * time.Minute, store.Identified, "The GraphQL API saw a brief spike of timeouts while caches warmed in the new zones; it has passed.", nil},
				{40 * time.Minute, store.Monitoring, "Error rates have been normal for 15 minutes. We are monitoring.", map[string]store.ComponentStatus{"REST API": store.Operational}},
				{45 * time.Minute, store.Monitoring, "The provider has confirmed the zone is healthy. We will move traffic back gradually over the next hour and keep this incident open until then.", nil},
			},
		},
	},
}

// Subscribers adds n confirmed subscribers, user0@example.com onwards, to
// every component: the audience a fan-out benchmark sends one update to.
func Subscribers(ctx context.Context, st *store.Store, n int) error {
	for start := 0; start < n; start += subscriberSlice {
		list := make([]store.SubscriberInput, min(subscriberSlice, n-start))
		for i := range list {
			list[i].Email = fmt.Sprintf("user%d@example.com", start+i)
		}
		if _, err := st.ImportSubscribers(ctx, list); err != nil {
			return fmt.Errorf("dataset: subscribers %d to %d: %w", start, start+len(list), err)
		}
	}
	return nil
}

// subscriberSlice is how many subscribers one transaction imports: one
// transaction of 100,000 rows would hold the writer (and its memory) for the
// whole import. A variable so that a test can cross a slice cheaply.
var subscriberSlice = 10000
