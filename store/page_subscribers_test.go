package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// mailedTo expands and claims every job's email and returns who got each,
// as "address@page" (page "" is the default page), and records them sent.
func mailedTo(t *testing.T, st *Store, pageSlug map[string]string) []string {
	t.Helper()
	ctx := t.Context()
	expandJobs(t, st, ChannelEmail)
	ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "test", 1000, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var results []DeliveryResult
	for _, d := range ds {
		out = append(out, d.Email+" on "+pageSlug[d.PageID])
		results = append(results, DeliveryResult{Delivery: d, Outcome: Sent})
	}
	if err := st.RecordResults(ctx, "test", results); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Subscribers belong to a page and hear of what it shows: an internal
// component's incident reaches the internal page's subscribers only, one
// on a public component both, news for everyone every page's.
func TestSubscribersBelongToAPage(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		db, err := st.CreateComponent(ctx, ComponentInput{Name: "Primary database", Internal: true})
		if err != nil {
			t.Fatal(err)
		}
		inside, err := st.CreatePage(ctx, PageInput{Slug: "inside", Name: "Inside", Components: []string{api.ID, db.ID}, Access: AccessIP, IPRanges: []string{"10.0.0.0/8"}})
		if err != nil {
			t.Fatal(err)
		}
		slugs := map[string]string{"": "default", inside.ID: "inside"}

		// One address, a subscriber of each page.
		for _, in := range []SubscriberInput{
			{Email: "ann@example.com", Confirmed: true},
			{Email: "ann@example.com", PageID: inside.ID, Confirmed: true},
			{Email: "bob@example.com", PageID: inside.ID, Components: []string{db.ID}, Confirmed: true},
		} {
			if _, err := st.AddSubscriber(ctx, in); err != nil {
				t.Fatalf("AddSubscriber(%+v): %v", in, err)
			}
		}
		before := tableCounts(t, st)
		_, err = st.AddSubscriber(ctx, SubscriberInput{Email: "ANN@example.com", PageID: inside.ID})
		wantConflict(t, err)
		// The default page does not show the database: nobody follows it there.
		_, err = st.AddSubscriber(ctx, SubscriberInput{Email: "cy@example.com", Components: []string{db.ID}})
		wantValidationError(t, err, "components")
		err = st.SubscribeEmail(ctx, SubscriberInput{Email: "cy@example.com", PageID: "nosuchpage"})
		wantValidationError(t, err, "page_id")
		_, err = st.ImportSubscribers(ctx, []SubscriberInput{{Email: "dee@example.com", Components: []string{db.ID}}})
		wantValidationError(t, err, "subscribers[0].components")
		wantUnchanged(t, st, before)

		mustCreateIncident(t, st, IncidentInput{Name: "Replica lag", Body: "x", Components: map[string]ComponentStatus{db.ID: DegradedPerformance}})
		if got, want := mailedTo(t, st, slugs), []string{"ann@example.com on inside", "bob@example.com on inside"}; !slices.Equal(got, want) {
			t.Errorf("an incident on the internal database went to %v, want %v", got, want)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "API errors", Body: "x", Components: map[string]ComponentStatus{api.ID: PartialOutage}})
		if got, want := mailedTo(t, st, slugs), []string{"ann@example.com on default", "ann@example.com on inside"}; !slices.Equal(got, want) {
			t.Errorf("an incident on the API went to %v, want %v", got, want)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "Email delays", Body: "x"})
		if got, want := mailedTo(t, st, slugs), []string{"ann@example.com on default", "ann@example.com on inside"}; !slices.Equal(got, want) {
			t.Errorf("news for everyone went to %v, want every page's subscribers of everything", got)
		}

		// The default page's scope leaves the internal component out.
		comps, _ := st.ListComponents(ctx)
		sc := DefaultScope(comps)
		if sc.ShowsComponent(db.ID) || !sc.ShowsComponent(api.ID) || !ScopeOf(inside, comps).ShowsComponent(db.ID) {
			t.Error("the default page shows the internal component, or the inside page does not")
		}
		if list, _ := st.ListIncidents(ctx, IncidentFilter{Scope: sc}); len(list) != 2 {
			t.Errorf("the default page lists %d incidents, want the API's and the news for everyone", len(list))
		}

		// A page removed takes its subscribers with it.
		if err := st.DeletePage(ctx, inside.ID); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListSubscribers(ctx, SubscriberFilter{})
		if err != nil || len(list) != 1 || list[0].PageID != "" || list[0].Email != "ann@example.com" {
			t.Errorf("after the page was removed the subscribers are %+v, %v; want the default page's alone", list, err)
		}
	})
}

// The SQLite migration that lets an address follow several pages rebuilds
// the subscribers table: every subscriber, what it follows and its place in
// the fan-out order survive it, and a subscriber added after follows the
// others.
func TestPageSubscribersMigrationKeepsSubscribers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	where := filepath.Join(t.TempDir(), "herald.db")
	st := openTestStore(t, where)
	api := mustCreateComponent(t, st, "API")
	var ids []string
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		s, err := st.AddSubscriber(ctx, SubscriberInput{Email: email, Components: []string{api.ID}, Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	if err := st.DeleteSubscriber(ctx, ids[2]); err != nil { // the highest rowid gone
		t.Fatal(err)
	}
	seqs := func(st *Store) map[string]int64 {
		out := map[string]int64{}
		rows, err := st.read.QueryContext(ctx, `SELECT email, seq FROM subscribers`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var e string
			var n int64
			if err := rows.Scan(&e, &n); err != nil {
				t.Fatal(err)
			}
			out[e] = n
		}
		return out
	}
	was := seqs(st)
	// Back to before the migration, so that it runs again on reopening;
	// and before 37, which adds a column to the table 29 rebuilds.
	for _, undo := range []string{`ALTER TABLE components DROP COLUMN internal`, `DELETE FROM schema_migrations WHERE version = 29`,
		`ALTER TABLE page_branding DROP COLUMN language`, `ALTER TABLE page_branding DROP COLUMN languages`, `DELETE FROM schema_migrations WHERE version = 37`} {
		if _, err := st.write.ExecContext(ctx, undo); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	again := openTestStore(t, where)
	is := seqs(again)
	if len(is) != 2 || is["a@example.com"] != was["a@example.com"] || is["b@example.com"] != was["b@example.com"] {
		t.Fatalf("after the migration the subscribers' seqs are %v, want %v", is, was)
	}
	list, err := again.ListSubscribers(ctx, SubscriberFilter{})
	if err != nil || len(list) != 2 || !slices.Equal(list[0].Components, []string{api.ID}) || list[0].Status != SubscriberConfirmed {
		t.Fatalf("after the migration: %+v, %v", list, err)
	}
	d, err := again.AddSubscriber(ctx, SubscriberInput{Email: "d@example.com", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := seqs(again)[d.Email]; n <= was["b@example.com"] {
		t.Errorf("a subscriber added after the migration has seq %d, not after the others (%v)", n, was)
	}
	var fk int
	if err := again.write.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign keys are %d after the migration, want on", fk)
	}
}
