package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPages(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		ctx := t.Context()
		api := mustCreateComponent(t, st, "API")
		eu := mustCreateGroup(t, st, "Europe")
		paris := mustCreateComponentIn(t, st, "Paris", eu.ID)

		p, err := st.CreatePage(ctx, PageInput{Slug: "acme", Name: " Acme Corp ", Host: "Status.Acme.example.", Components: []string{api.ID, api.ID}, Groups: []string{eu.ID}})
		if err != nil {
			t.Fatalf("CreatePage: %v", err)
		}
		if p.Name != "Acme Corp" || p.Host != "status.acme.example" || !slices.Equal(p.Components, []string{api.ID}) || !slices.Equal(p.Groups, []string{eu.ID}) {
			t.Errorf("page = %+v", p)
		}
		got, err := st.GetPage(ctx, p.ID)
		if err != nil || got.Slug != "acme" || !slices.Equal(got.Components, []string{api.ID}) || !slices.Equal(got.Groups, []string{eu.ID}) {
			t.Errorf("GetPage = %+v, %v", got, err)
		}
		// A component added to a chosen group later is on the page too.
		lyon := mustCreateComponentIn(t, st, "Lyon", eu.ID)
		other := mustCreateComponent(t, st, "Billing")
		comps, _ := st.ListComponents(ctx)
		sc := ScopeOf(got, comps)
		for c, want := range map[Component]bool{api: true, paris: true, lyon: true, other: false} {
			if sc.ShowsComponent(c.ID) != want {
				t.Errorf("page shows %s: %v, want %v", c.Name, !want, want)
			}
		}

		bad := []struct {
			in    PageInput
			field string
		}{
			{PageInput{Slug: "", Name: "X"}, "slug"},
			{PageInput{Slug: "Acme!", Name: "X"}, "slug"},
			{PageInput{Slug: "-acme", Name: "X"}, "slug"},
			{PageInput{Slug: "acme", Name: "Clash"}, "slug"},
			{PageInput{Slug: "beta", Name: ""}, "name"},
			{PageInput{Slug: "beta", Name: "Line\r\nBcc: x"}, "name"},
			{PageInput{Slug: "beta", Name: "B", Host: "status.acme.example"}, "host"},
			{PageInput{Slug: "beta", Name: "B", Host: "https://beta.example"}, "host"},
			{PageInput{Slug: "beta", Name: "B", Host: "beta.example:8080"}, "host"},
			{PageInput{Slug: "beta", Name: "B", Host: "localhost"}, "host"},
			{PageInput{Slug: "beta", Name: "B", Components: []string{"nope"}}, "components"},
			{PageInput{Slug: "beta", Name: "B", Groups: []string{"nope"}}, "groups"},
		}
		for _, b := range bad {
			_, err := st.CreatePage(ctx, b.in)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != b.field {
				t.Errorf("CreatePage(%+v) = %v, want a validation error on %s", b.in, err, b.field)
			}
		}
		if pages, _ := st.ListPages(ctx); len(pages) != 1 {
			t.Errorf("after refused input there are %d pages, want 1", len(pages))
		}

		// Moving it keeps the check: a second page may not take its slug.
		beta, err := st.CreatePage(ctx, PageInput{Slug: "beta", Name: "Beta"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdatePage(ctx, beta.ID, PagePatch{Slug: ptr("acme")}); err == nil {
			t.Error("a page took another's slug")
		}
		beta, err = st.UpdatePage(ctx, beta.ID, PagePatch{Host: ptr("beta.example"), Components: &[]string{other.ID}})
		if err != nil || beta.Host != "beta.example" || !slices.Equal(beta.Components, []string{other.ID}) {
			t.Fatalf("UpdatePage = %+v, %v", beta, err)
		}
		// A deleted component leaves the pages that listed it.
		if err := st.DeleteComponent(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if beta, _ = st.GetPage(ctx, beta.ID); len(beta.Components) != 0 {
			t.Errorf("beta still lists %v", beta.Components)
		}
		if err := st.DeletePage(ctx, beta.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetPage(ctx, beta.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetPage after delete: %v", err)
		}

		// The page's change feed event tells replicas to rebuild, and
		// says nothing of the page to anyone reading the live stream.
		events, _ := st.EventsSince(ctx, 0, 1000)
		var pageEvents int
		for _, e := range events {
			if e.ObjectType == "page" {
				pageEvents++
				if e.Public() || string(e.Payload) != `{"id":"`+e.ObjectID+`"}` {
					t.Errorf("page event %s %s is public or carries %s", e.Type, e.ObjectID, e.Payload)
				}
			}
		}
		if pageEvents != 4 {
			t.Errorf("%d page events, want 4 (create, create, update, delete)", pageEvents)
		}
	})
}

// What a page lists of the history is what ScopeOf says it shows, in the
// database's lists as in memory.
func TestPageScopeFiltersLists(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		api := mustCreateComponent(t, st, "API")
		billing := mustCreateComponent(t, st, "Billing")
		p, err := st.CreatePage(ctx, PageInput{Slug: "api", Name: "API", Components: []string{api.ID}})
		if err != nil {
			t.Fatal(err)
		}
		onAPI := mustCreateIncident(t, st, IncidentInput{Name: "API down", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		clock.Advance(time.Minute)
		onBilling := mustCreateIncident(t, st, IncidentInput{Name: "Billing down", Body: "x", Components: map[string]ComponentStatus{billing.ID: MajorOutage}})
		clock.Advance(time.Minute)
		everyone := mustCreateIncident(t, st, IncidentInput{Name: "Email delays", Body: "x"})
		mAPI := mustCreateMaintenance(t, st, MaintenanceInput{Name: "API work", Body: "x", Components: []string{api.ID}, ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour)})
		mBilling := mustCreateMaintenance(t, st, MaintenanceInput{Name: "Billing work", Body: "x", Components: []string{billing.ID}, ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour)})

		comps, _ := st.ListComponents(ctx)
		sc := ScopeOf(p, comps)
		incidents, err := st.ListIncidents(ctx, IncidentFilter{Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, inc := range incidents {
			names = append(names, inc.Name)
			if !sc.ShowsAffecting(inc.Components) {
				t.Errorf("the list has %s, which the page does not show", inc.Name)
			}
		}
		if !slices.Equal(names, []string{everyone.Name, onAPI.Name}) {
			t.Errorf("the page lists %v, want %v", names, []string{everyone.Name, onAPI.Name})
		}
		if sc.ShowsAffecting(onBilling.Components) {
			t.Error("the page shows the billing incident")
		}
		maint, err := st.ListMaintenances(ctx, MaintenanceFilter{Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		if len(maint) != 1 || maint[0].ID != mAPI.ID || sc.ShowsAffecting(mBilling.Components) {
			t.Errorf("the page lists maintenance %+v, want only %s", maint, mAPI.Name)
		}
		// A page of no components still has the news for everyone.
		empty := ScopeOf(Page{}, comps)
		if incidents, _ := st.ListIncidents(ctx, IncidentFilter{Scope: empty}); len(incidents) != 1 || incidents[0].ID != everyone.ID {
			t.Errorf("a page of nothing lists %d incidents, want the one for everyone", len(incidents))
		}
	})
}
