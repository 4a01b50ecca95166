package store

import (
	"errors"
	"net/netip"
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
			if !sc.Shows(inc.Components, nil) {
				t.Errorf("the list has %s, which the page does not show", inc.Name)
			}
		}
		if !slices.Equal(names, []string{everyone.Name, onAPI.Name}) {
			t.Errorf("the page lists %v, want %v", names, []string{everyone.Name, onAPI.Name})
		}
		if sc.Shows(onBilling.Components, nil) {
			t.Error("the page shows the billing incident")
		}
		maint, err := st.ListMaintenances(ctx, MaintenanceFilter{Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		if len(maint) != 1 || maint[0].ID != mAPI.ID || sc.Shows(mBilling.Components, nil) {
			t.Errorf("the page lists maintenance %+v, want only %s", maint, mAPI.Name)
		}
		// A page of no components still has the news for everyone.
		empty := ScopeOf(Page{}, comps)
		if incidents, _ := st.ListIncidents(ctx, IncidentFilter{Scope: empty}); len(incidents) != 1 || incidents[0].ID != everyone.ID {
			t.Errorf("a page of nothing lists %d incidents, want the one for everyone", len(incidents))
		}
	})
}

// Who may see a page: kept on both backends, refused when malformed, and
// judged by Admits for addresses.
func TestPageAccess(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		ctx := t.Context()
		open, err := st.CreatePage(ctx, PageInput{Slug: "open", Name: "Open"})
		if err != nil || open.Access != AccessPublic || open.Private() || open.IPRanges == nil {
			t.Fatalf("a page without access = %+v, %v; want public, with an empty list of ranges", open, err)
		}
		p, err := st.CreatePage(ctx, PageInput{Slug: "office", Name: "Office", Access: AccessIP, IPRanges: []string{" 10.1.2.3/8 ", "2001:db8::/32", "203.0.113.7", "10.0.0.0/8"}})
		if err != nil {
			t.Fatalf("CreatePage: %v", err)
		}
		want := []string{"10.0.0.0/8", "2001:db8::/32", "203.0.113.7/32"}
		if !slices.Equal(p.IPRanges, want) || !p.Private() {
			t.Errorf("ranges = %v, want %v", p.IPRanges, want)
		}
		if got, _ := st.GetPage(ctx, p.ID); got.Access != AccessIP || !slices.Equal(got.IPRanges, want) {
			t.Errorf("GetPage = %+v", got)
		}
		for addr, in := range map[string]bool{"10.200.0.1": true, "::ffff:10.0.0.9": true, "2001:db8:1::5": true, "203.0.113.7": true, "203.0.113.8": false, "192.0.2.1": false} {
			if p.Admits(netip.MustParseAddr(addr)) != in {
				t.Errorf("Admits(%s) = %v, want %v", addr, !in, in)
			}
		}
		// Signed-in access keeps the ranges for a switch back, and admits
		// nobody by address.
		p, err = st.UpdatePage(ctx, p.ID, PagePatch{Access: ptr(AccessSignedIn)})
		if err != nil || p.Access != AccessSignedIn || !slices.Equal(p.IPRanges, want) || p.Admits(netip.MustParseAddr("10.0.0.1")) {
			t.Errorf("to signed_in: %+v, %v", p, err)
		}

		for _, b := range []struct {
			patch PagePatch
			field string
		}{
			{PagePatch{Access: ptr("secret")}, "access"},
			{PagePatch{Access: ptr(AccessIP), IPRanges: &[]string{}}, "ip_ranges"},
			{PagePatch{Access: ptr(AccessIP), IPRanges: &[]string{" "}}, "ip_ranges"},
			{PagePatch{IPRanges: &[]string{"10.0.0.0/33"}}, "ip_ranges"},
			{PagePatch{IPRanges: &[]string{"office"}}, "ip_ranges"},
			{PagePatch{IPRanges: &[]string{"fe80::1%eth0"}}, "ip_ranges"},
		} {
			_, err := st.UpdatePage(ctx, open.ID, b.patch)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != b.field {
				t.Errorf("UpdatePage(%+v) = %v, want a validation error on %s", b.patch, err, b.field)
			}
		}
		if got, _ := st.GetPage(ctx, open.ID); got.Access != AccessPublic || len(got.IPRanges) != 0 {
			t.Errorf("refused changes changed the page: %+v", got)
		}
	})
}
