package dataset

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// shown is what the public page would show, read back through the store.
type shown struct {
	groups      map[string][]string // group → its components, in page order
	ungrouped   []string
	status      map[string]store.ComponentStatus // every component not operational
	open        []store.Incident
	resolved    []store.Incident
	maintenance []store.Maintenance
	uptime      map[string]store.Uptime // 90 days, by component name
}

func read(t *testing.T, st *store.Store) shown {
	t.Helper()
	ctx := t.Context()
	comps, err := st.ListComponents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := st.ListComponentGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	open, err := st.ListIncidents(ctx, store.IncidentFilter{Unresolved: true})
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := st.ListIncidents(ctx, store.IncidentFilter{Resolved: true})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := st.ListMaintenances(ctx, store.MaintenanceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	history, err := st.StatusHistory(ctx, st.Now().AddDate(0, 0, -90))
	if err != nil {
		t.Fatal(err)
	}
	s := shown{groups: map[string][]string{}, status: map[string]store.ComponentStatus{}, open: open, resolved: resolved,
		maintenance: ms, uptime: map[string]store.Uptime{}}
	names := map[string]string{}
	for _, c := range comps {
		names[c.ID] = c.Name
		if c.GroupID == "" {
			s.ungrouped = append(s.ungrouped, c.Name)
		}
		if c.Status != store.Operational {
			s.status[c.Name] = c.Status
		}
		s.uptime[c.Name] = store.ComputeUptime(c.CreatedAt, history[c.ID], st.Now(), 90)
	}
	for _, g := range groups {
		s.groups[g.Name] = []string{}
		for _, id := range g.Components {
			s.groups[g.Name] = append(s.groups[g.Name], names[id])
		}
	}
	return s
}

// timeline checks that an incident's updates read newest first, each
// posted before the next and none in the future, and returns the oldest.
func timeline(t *testing.T, st *store.Store, inc store.Incident) store.IncidentUpdate {
	t.Helper()
	if len(inc.Updates) == 0 {
		t.Fatalf("%q has no updates", inc.Name)
	}
	for i, u := range inc.Updates {
		if u.CreatedAt.After(st.Now()) {
			t.Errorf("%q update %q is in the future (%s)", inc.Name, u.Body, u.CreatedAt)
		}
		if i > 0 && !u.CreatedAt.Before(inc.Updates[i-1].CreatedAt) {
			t.Errorf("%q: update %q is not older than the one above it", inc.Name, u.Body)
		}
	}
	return inc.Updates[len(inc.Updates)-1]
}

// fullBars checks that every component's uptime bar covers all 90 days.
func fullBars(t *testing.T, s shown) {
	t.Helper()
	for name, up := range s.uptime {
		if !up.Days[0].HasData {
			t.Errorf("%s: the uptime bar starts empty; the data set should cover 90 days", name)
		}
	}
}

func names(incs []store.Incident) []string {
	var out []string
	for _, in := range incs {
		out = append(out, in.Name)
	}
	return out
}

func TestDemo(t *testing.T) {
	st := newStore(t)
	filled, err := Demo(t.Context(), st)
	if err != nil || !filled {
		t.Fatalf("Demo on an empty store = %v, %v; want true", filled, err)
	}
	s := read(t, st)

	wantGroups := map[string][]string{
		"Core platform": {"API", "Web application", "Sign-in"},
		"Data":          {"Primary database", "Object storage"},
		"Notifications": {"Email delivery", "Webhooks"},
	}
	for g, want := range wantGroups {
		if !slices.Equal(s.groups[g], want) {
			t.Errorf("group %q shows %q, want %q", g, s.groups[g], want)
		}
	}
	if len(s.groups) != len(wantGroups) || !slices.Equal(s.ungrouped, []string{"Website"}) {
		t.Errorf("groups %v and ungrouped %q; want the three groups and Website on its own", s.groups, s.ungrouped)
	}

	// Something is happening right now, and only that shows as not operational.
	if got := names(s.open); !slices.Equal(got, []string{"Elevated webhook delivery errors"}) {
		t.Fatalf("open incidents %q, want the webhook one", got)
	}
	if now := s.open[0]; now.Status != store.Identified || len(now.Updates) != 2 {
		t.Errorf("the open incident is %s with %d updates, want identified with 2", now.Status, len(now.Updates))
	}
	if first := timeline(t, st, s.open[0]); st.Now().Sub(first.CreatedAt) > time.Hour {
		t.Errorf("the open incident began %s, want within the last hour", first.CreatedAt)
	}
	if want := map[string]store.ComponentStatus{"Webhooks": store.DegradedPerformance}; !maps.Equal(s.status, want) {
		t.Errorf("components not operational: %v, want %v", s.status, want)
	}

	// History: the sign-in outage with its postmortem, and an older short one.
	if got := names(s.resolved); !slices.Equal(got, []string{"Sign-in failing for most users", "Delayed email notifications"}) {
		t.Fatalf("resolved incidents %q, want the sign-in outage, then the email delay", got)
	}
	signin := s.resolved[0]
	timeline(t, st, signin)
	if len(signin.Updates) != 5 || signin.Impact != store.ImpactCritical || signin.Postmortem == nil {
		t.Errorf("sign-in outage: %d updates, impact %s, postmortem %v; want 5, critical, published", len(signin.Updates), signin.Impact, signin.Postmortem)
	}
	if days := st.Now().Sub(*signin.ResolvedAt).Hours() / 24; days < 4 || days > 6 {
		t.Errorf("the sign-in outage was resolved %.1f days ago, want about 5", days)
	}
	timeline(t, st, s.resolved[1])
	fullBars(t, s)
	if up := s.uptime["Sign-in"]; up.Percent >= 100 || !slices.ContainsFunc(up.Days, func(d store.UptimeDay) bool { return d.Worst == store.MajorOutage }) {
		t.Errorf("Sign-in's uptime bar shows no outage (%.3f%%)", up.Percent)
	}
	if up := s.uptime["Email delivery"]; !slices.ContainsFunc(up.Days, func(d store.UptimeDay) bool { return d.Worst == store.DegradedPerformance }) {
		t.Error("Email delivery's uptime bar shows no degraded day")
	}

	// Planned work ahead.
	if len(s.maintenance) != 1 || s.maintenance[0].Name != "Primary database upgrade" || s.maintenance[0].Status != store.MaintenanceScheduled ||
		!s.maintenance[0].ScheduledFor.After(st.Now()) {
		t.Errorf("maintenance %+v, want the database upgrade scheduled ahead", s.maintenance)
	}

	// Written into the past, but what comes next is stamped now.
	if skew := time.Since(st.Now()).Abs(); skew > time.Minute {
		t.Errorf("the store's clock is %s off the wall clock after the demo", skew)
	}

	// A second start leaves the page as it is.
	filled, err = Demo(t.Context(), st)
	if err != nil || filled {
		t.Fatalf("Demo on a filled store = %v, %v; want false", filled, err)
	}
	if again := read(t, st); len(again.open)+len(again.resolved) != 3 || len(again.uptime) != 8 {
		t.Errorf("a second Demo changed the page: %d incidents, %d components", len(again.open)+len(again.resolved), len(again.uptime))
	}
}

func TestBenchmark(t *testing.T) {
	st := newStore(t)
	if err := Benchmark(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	s := read(t, st)

	// The shape the README's figures are quoted for.
	if len(s.groups) != 5 || len(s.ungrouped) != 0 || len(s.uptime) != 30 {
		t.Errorf("%d groups, %d components (%d ungrouped); want 30 in 5 groups", len(s.groups), len(s.uptime), len(s.ungrouped))
	}
	for g, comps := range s.groups {
		if len(comps) != 6 {
			t.Errorf("group %q has %d components, want 6", g, len(comps))
		}
	}
	if len(s.resolved) != 0 || len(s.maintenance) != 0 {
		t.Errorf("%d resolved incidents and %d maintenances, want none", len(s.resolved), len(s.maintenance))
	}
	if got, want := names(s.open), BenchmarkIncidentNames(); !sameSet(got, want) || len(want) != 3 {
		t.Fatalf("open incidents %q, want the 3 of BenchmarkIncidentNames %q", got, want)
	}
	for _, inc := range s.open {
		if len(inc.Updates) != 10 {
			t.Errorf("%q has %d updates, want 10", inc.Name, len(inc.Updates))
		}
		timeline(t, st, inc)
	}
	oldest := slices.MinFunc(s.open, func(a, b store.Incident) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if began := st.Now().Sub(oldest.CreatedAt); began < 4*time.Hour || began > 4*time.Hour+time.Minute {
		t.Errorf("the oldest incident began %s ago, want 4h", began)
	}
	want := map[string]store.ComponentStatus{
		"Sign-in and SSO": store.DegradedPerformance, "Web application": store.DegradedPerformance, "Mobile API": store.DegradedPerformance,
		"Primary database": store.DegradedPerformance, "Read replicas": store.DegradedPerformance, "Webhooks": store.DegradedPerformance,
		"US East (Virginia)": store.DegradedPerformance,
	}
	if !maps.Equal(s.status, want) {
		t.Errorf("components not operational: %v, want %v", s.status, want)
	}
	fullBars(t, s)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestSubscribers(t *testing.T) {
	st := newStore(t)
	defer func(was int) { subscriberSlice = was }(subscriberSlice)
	subscriberSlice = 4
	const n = 10 // two whole slices and a part
	if err := Subscribers(t.Context(), st, n); err != nil {
		t.Fatal(err)
	}
	if got, err := st.CountSubscribers(t.Context(), store.SubscriberConfirmed); err != nil || got != n {
		t.Errorf("%d confirmed subscribers (%v), want %d", got, err, n)
	}
	last, err := st.ListSubscribers(t.Context(), store.SubscriberFilter{Email: fmt.Sprintf("user%d@", n-1)})
	if err != nil || len(last) != 1 {
		t.Errorf("the last subscriber: %v, %v; want user%d@example.com", last, err, n-1)
	}
}

func TestBenchmarkScaled(t *testing.T) {
	st := newStore(t)
	if err := BenchmarkScaled(context.Background(), st, 60); err != nil {
		t.Fatal(err)
	}
	s := read(t, st)
	if len(s.groups) != 10 || len(s.uptime) != 60 {
		t.Errorf("%d groups, %d components; want 60 in 10 groups", len(s.groups), len(s.uptime))
	}
	if len(s.groups["Payments 2"]) != 6 || len(s.status) != 7 {
		t.Errorf("Payments 2 holds %q; %d components not operational, want the Benchmark's 7", s.groups["Payments 2"], len(s.status))
	}
	for _, n := range []int{0, 29, 31} {
		if err := BenchmarkScaled(context.Background(), newStore(t), n); err == nil {
			t.Errorf("%d components: no error", n)
		}
	}
}
