package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/pgtest"
)

// twoReplicas starts A (first, so it creates the first admin and token) and
// B on a fresh PostgreSQL database, and returns them with the API token.
func twoReplicas(t *testing.T, database string, args ...string) (a, b *replica, token string) {
	t.Helper()
	a = startReplica(t, "A", database, args...)
	token = printedToken(t, a.out.String())
	b = startReplica(t, "B", database, args...)
	return a, b, token
}

// A change made on one replica reaches the live streams of the other, in
// the same order with the same ids; a client that reconnects to the other
// replica with Last-Event-ID gets exactly what it missed.
func TestReplicasShareTheChangeFeed(t *testing.T) {
	t.Parallel()
	database := pgtest.Start(t).NewDatabase(t)
	a, b, token := twoReplicas(t, database)
	onA, onB := openEvents(t, a.url, 0), openEvents(t, b.url, 0)

	var comp store.Component
	if code := api(t, a.url, token, "POST", "/api/v1/components", map[string]any{"name": "API"}, &comp); code != http.StatusCreated {
		t.Fatalf("create component on A: %d", code)
	}
	posted := time.Now()
	var inc store.Incident
	if code := api(t, a.url, token, "POST", "/api/v1/incidents", map[string]any{"name": "Logins failing", "body": "Looking.",
		"components": map[string]string{comp.ID: "major_outage"}}, &inc); code != http.StatusCreated {
		t.Fatalf("create incident on A: %d", code)
	}
	var seenA, seenB []event
	for len(seenB) == 0 || seenB[len(seenB)-1].typ != "incident.created" {
		seenB = append(seenB, onB.next(t))
	}
	t.Logf("an incident posted on A reached a stream on B after %s", time.Since(posted).Round(time.Millisecond))
	for len(seenA) < len(seenB) {
		seenA = append(seenA, onA.next(t))
	}
	if !slices.Equal(seenA, seenB) {
		t.Fatalf("A streamed %v, B streamed %v: the same changes must come in the same order with the same ids", seenA, seenB)
	}

	// A client on A leaves after what it has seen; changes are made on
	// both replicas; it comes back to B.
	onA.close()
	last := seenA[len(seenA)-1].id
	api(t, b.url, token, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "A bad deploy."}, nil)
	api(t, a.url, token, "PATCH", "/api/v1/components/"+comp.ID, map[string]any{"description": "The public API"}, nil)
	api(t, b.url, token, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Rolled back."}, nil)
	var continuous []event
	for len(continuous) == 0 || continuous[len(continuous)-1].typ != "incident.updated" || len(continuous) < 4 {
		continuous = append(continuous, onB.next(t))
		if len(continuous) > 20 {
			t.Fatalf("unexpected events %v", continuous)
		}
	}
	back := openEvents(t, b.url, last)
	var resumed []event
	for len(resumed) < len(continuous) {
		resumed = append(resumed, back.next(t))
	}
	if !slices.Equal(resumed, continuous) {
		t.Errorf("after reconnecting to B with Last-Event-ID %d the client got %v; a client that stayed got %v", last, resumed, continuous)
	}
	for i := 1; i < len(continuous); i++ {
		if continuous[i].id <= continuous[i-1].id {
			t.Errorf("event ids out of order: %v", continuous)
		}
	}
}

// The replicas' dispatchers share the outbox: 3,000 subscribers each get an
// incident once; when A is killed in the middle of the next fan-out, B
// finishes it, nobody is missed and nobody gets it more than twice.
func TestReplicasFanOutOnceAndSurviveAKill(t *testing.T) {
	t.Parallel()
	database := pgtest.Start(t).NewDatabase(t)
	mail := newRelay(t, 2*time.Millisecond)
	args := append(mail.flags(), "--outbox-lease", "3s", "--smtp-concurrency", "2")
	a, b, token := twoReplicas(t, database, args...)
	const n = 3000
	st, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list := make([]store.SubscriberInput, n)
	for i := range list {
		list[i].Email = fmt.Sprintf("reader%d@example.com", i)
	}
	if added, err := st.ImportSubscribers(context.Background(), list); err != nil || added != n {
		t.Fatalf("import: %d, %v", added, err)
	}

	api(t, a.url, token, "POST", "/api/v1/incidents", map[string]any{"name": "Logins failing", "body": "Looking."}, nil)
	eventually(t, "every subscriber to be mailed", func() bool { _, total := mail.counts(); return total >= n })
	var counts map[string]int
	eventuallyOr(t, "the outbox to be done", func() bool {
		counts, _ = st.OutboxCounts(context.Background())
		return counts["email/sent"] == n
	}, func() string {
		got, total := mail.counts()
		return fmt.Sprintf("counts %v; %d messages to %d recipients", counts, total, len(got))
	})
	got, total := mail.counts()
	if len(got) != n || total != n {
		t.Fatalf("%d messages to %d recipients, want %d to %d: each exactly once (%s)", total, len(got), n, n, describe(a, b))
	}

	api(t, b.url, token, "POST", "/api/v1/incidents", map[string]any{"name": "Checkout failing", "body": "Looking."}, nil)
	eventually(t, "the second fan-out to be under way", func() bool { _, total := mail.counts(); return total >= n+300 })
	a.kill(t)
	eventually(t, "B to finish the fan-out", func() bool {
		c, _ := st.OutboxCounts(context.Background())
		return c["email/sent"] == 2*n
	})
	got, _ = mail.counts()
	for i := range n {
		addr := fmt.Sprintf("reader%d@example.com", i)
		if got[addr] < 2 || got[addr] > 3 {
			t.Errorf("%s got %d messages for two incidents: each must come at least once, and at most twice after the kill", addr, got[addr])
		}
	}
}

// A maintenance window starts once and ends once however many replicas
// watch the clock: one leads, and subscribers get one "started" and one
// "completed".
func TestReplicasStartMaintenanceOnce(t *testing.T) {
	t.Parallel()
	database := pgtest.Start(t).NewDatabase(t)
	a, b, token := twoReplicas(t, database, "--housekeeping-interval", "100ms")
	now := time.Now().UTC()
	var m store.Maintenance
	if code := api(t, a.url, token, "POST", "/api/v1/maintenances", map[string]any{"name": "Database upgrade", "message": "Planned.",
		"scheduled_for": now.Add(time.Second), "scheduled_until": now.Add(3 * time.Second)}, &m); code != http.StatusCreated {
		t.Fatalf("schedule: %d", code)
	}
	eventually(t, "the window to complete", func() bool {
		var got store.Maintenance
		api(t, b.url, token, "GET", "/api/v1/maintenances/"+m.ID, nil, &got)
		return got.Status == store.MaintenanceCompleted
	})
	st, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got store.Maintenance
	api(t, a.url, token, "GET", "/api/v1/maintenances/"+m.ID, nil, &got)
	if len(got.Updates) != 3 {
		t.Errorf("the window has %d updates, want scheduled, started, completed: each step once", len(got.Updates))
	}
	started, completed := 0, 0
	for id := int64(1); ; id++ {
		job, err := st.GetJob(context.Background(), id)
		if err != nil {
			break
		}
		switch job.Kind {
		case store.JobMaintenanceStarted:
			started++
		case store.JobMaintenanceCompleted:
			completed++
		}
	}
	if started != 1 || completed != 1 {
		t.Errorf("%d started and %d completed notifications, want one of each (%s)", started, completed, describe(a, b))
	}

	// Whichever leads, with A gone B runs the clock: the next window
	// still starts and completes on time.
	a.kill(t)
	now = time.Now().UTC()
	var next store.Maintenance
	if code := api(t, b.url, token, "POST", "/api/v1/maintenances", map[string]any{"name": "Network failover", "message": "Planned.",
		"scheduled_for": now.Add(time.Second), "scheduled_until": now.Add(2 * time.Second)}, &next); code != http.StatusCreated {
		t.Fatalf("schedule on B: %d", code)
	}
	eventually(t, "B to complete the window once A is gone", func() bool {
		var got store.Maintenance
		api(t, b.url, token, "GET", "/api/v1/maintenances/"+next.ID, nil, &got)
		return got.Status == store.MaintenanceCompleted
	})
}

// Sign-in limits hold across replicas: guesses spread over A and B are
// counted together; a session made on A works on B, and signing out on B
// ends it on A.
func TestReplicasShareLimitsAndSessions(t *testing.T) {
	t.Parallel()
	database := pgtest.Start(t).NewDatabase(t)
	a, b, _ := twoReplicas(t, database)
	mustUser(t, database, "ops@example.com", store.RoleAdmin, "correct horse battery")

	guesser := &console{t: t, cookies: map[string]string{}}
	for i := range 5 {
		r := []*replica{a, b}[i%2]
		if guesser.signIn(r.url, "ops@example.com", fmt.Sprintf("guess %d", i)) {
			t.Fatal("a wrong password signed in")
		}
	}
	if guesser.signIn(b.url, "ops@example.com", "correct horse battery") {
		t.Error("after five failures spread over A and B the account still took a sign-in: the replicas count apart")
	}

	admin := mustUser(t, database, "lead@example.com", store.RoleAdmin, "another good password")
	browser := &console{t: t, cookies: map[string]string{}}
	if !browser.signIn(a.url, admin.Email, "another good password") {
		t.Fatal("sign-in on A failed")
	}
	if resp, _ := browser.do(http.MethodGet, b.url+"/console", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session made on A is refused on B: %d", resp.StatusCode)
	}
	saved := maps(browser.cookies)
	browser.post(b.url, "/console", "/console/logout", url.Values{})
	stale := &console{t: t, cookies: saved}
	if resp, _ := stale.do(http.MethodGet, a.url+"/console", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out on B the old session still opens the console on A: %d", resp.StatusCode)
	}
}

func maps(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Two admins demoting each other at the same moment, one on each replica,
// leave one admin.
func TestReplicasKeepTheLastAdmin(t *testing.T) {
	t.Parallel()
	database := pgtest.Start(t).NewDatabase(t)
	a, b, _ := twoReplicas(t, database)
	st, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The first start's admin steps down, leaving two admins to race.
	users, _ := st.ListUsers(context.Background())
	one := mustUser(t, database, "one@example.com", store.RoleAdmin, "the first password")
	two := mustUser(t, database, "two@example.com", store.RoleAdmin, "the second password")
	if _, err := st.UpdateUser(context.Background(), users[0].ID, store.UserPatch{Role: ptr(store.RoleViewer)}); err != nil {
		t.Fatal(err)
	}
	first, second := &console{t: t, cookies: map[string]string{}}, &console{t: t, cookies: map[string]string{}}
	if !first.signIn(a.url, one.Email, "the first password") || !second.signIn(b.url, two.Email, "the second password") {
		t.Fatal("sign-in failed")
	}
	demote := func(c *console, base string, u store.User) {
		c.post(base, "/console/users/"+u.ID, "/console/users/"+u.ID, url.Values{"name": {u.Name}, "role": {"viewer"}, "active": {"on"}})
	}
	var wg sync.WaitGroup
	wg.Go(func() { demote(first, a.url, two) })
	wg.Go(func() { demote(second, b.url, one) })
	wg.Wait()
	admins := 0
	users, _ = st.ListUsers(context.Background())
	for _, u := range users {
		if u.Role == store.RoleAdmin && u.Active() {
			admins++
		}
	}
	if admins != 1 {
		t.Errorf("%d active admins left, want exactly one", admins)
	}
}

// When the database goes away both replicas keep serving the page and
// their open streams, say they are not ready, and answer writes with 503;
// when it is back, writes work again and the streams carry on from the
// feed with no gap.
func TestReplicasRideOutADatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartPrivate(t)
	database := pg.NewDatabase(t)
	a, b, token := twoReplicas(t, database)
	onB := openEvents(t, b.url, 0)
	var inc store.Incident
	api(t, a.url, token, "POST", "/api/v1/incidents", map[string]any{"name": "Logins failing", "body": "Looking."}, &inc)
	first := onB.next(t)

	pg.Pause(t)
	for _, r := range []*replica{a, b} {
		resp, err := http.Get(r.url + "/")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s stopped serving the page while the database is away: %v %v", r.name, resp, err)
		}
		resp.Body.Close()
		eventually(t, r.name+"'s /readyz to fail", func() bool {
			resp, err := http.Get(r.url + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusServiceUnavailable
		})
	}
	code := api(t, a.url, token, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, nil)
	if code != http.StatusServiceUnavailable {
		t.Errorf("a write while the database is away answered %d, want 503", code)
	}

	pg.Resume(t)
	eventually(t, "writes to work again", func() bool {
		return api(t, a.url, token, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, nil) == http.StatusCreated
	})
	api(t, b.url, token, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	st, err := store.Open(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want, err := st.EventsSince(context.Background(), first.id, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range want {
		if got := onB.next(t); got.id != e.ID || got.typ != e.Type {
			t.Fatalf("B's stream, open through the outage, carried %+v where the feed has %d %s: a gap or a repeat", got, e.ID, e.Type)
		}
	}
}
