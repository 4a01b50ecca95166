package store

import (
	"slices"
	"testing"
	"time"
)

// An incident narrowed to chosen pages is on those pages alone — in their
// lists and to their subscribers — even when it names no component (news
// for everyone, otherwise); widened again, it is everywhere it affects. A
// page that does not exist is refused, changing nothing.
func TestIncidentNarrowedToPages(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		inside, err := st.CreatePage(ctx, PageInput{Slug: "inside", Name: "Inside", Components: []string{api.ID}, Access: AccessIP, IPRanges: []string{"10.0.0.0/8"}})
		if err != nil {
			t.Fatal(err)
		}
		slugs := map[string]string{"": "default", inside.ID: "inside"}
		for _, in := range []SubscriberInput{{Email: "pub@example.com", Confirmed: true}, {Email: "ops@example.com", PageID: inside.ID, Confirmed: true}} {
			if _, err := st.AddSubscriber(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		before := tableCounts(t, st)
		_, err = st.CreateIncident(ctx, IncidentInput{Name: "x", Body: "x", Pages: []string{"nosuch"}})
		wantValidationError(t, err, "pages")
		wantUnchanged(t, st, before)

		inc := mustCreateIncident(t, st, IncidentInput{Name: "Payroll run late", Body: "x", Pages: []string{inside.ID}})
		if !slices.Equal(inc.Pages, []string{inside.ID}) {
			t.Fatalf("pages %v", inc.Pages)
		}
		if got, want := mailedTo(t, st, slugs), []string{"ops@example.com on inside"}; !slices.Equal(got, want) {
			t.Errorf("an incident narrowed to the inside page went to %v, want %v", got, want)
		}
		comps, _ := st.ListComponents(ctx)
		def, in := DefaultScope(comps), ScopeOf(inside, comps)
		if def.Shows(inc.Components, inc.Pages) || !in.Shows(inc.Components, inc.Pages) {
			t.Error("the narrowed incident is on the default page, or not on its own")
		}
		for _, c := range []struct {
			sc   *Scope
			want int
		}{{def, 0}, {in, 1}} {
			if list, _ := st.ListIncidents(ctx, IncidentFilter{Scope: c.sc}); len(list) != c.want {
				t.Errorf("the %s page lists %d incidents, want %d", c.sc.page, len(list), c.want)
			}
		}
		// Widened: everywhere again.
		wide, err := st.UpdateIncident(ctx, inc.ID, IncidentPatch{Pages: &[]string{}})
		if err != nil || len(wide.Pages) != 0 || !def.Shows(wide.Components, wide.Pages) {
			t.Fatalf("widened: %+v, %v", wide.Pages, err)
		}
		if list, _ := st.ListIncidents(ctx, IncidentFilter{Scope: def}); len(list) != 1 {
			t.Errorf("the default page lists %d incidents after widening, want 1", len(list))
		}
		// Narrowed to the default page and a page since removed: it stays
		// narrowed, never widened by the removal.
		narrow, err := st.UpdateIncident(ctx, inc.ID, IncidentPatch{Pages: &[]string{DefaultPageID, inside.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DeletePage(ctx, inside.ID); err != nil {
			t.Fatal(err)
		}
		again, err := st.GetIncident(ctx, inc.ID)
		if err != nil || !slices.Equal(again.Pages, narrow.Pages) {
			t.Errorf("after the page was removed the incident is on %v, want %v", again.Pages, narrow.Pages)
		}
	})
}

// A maintenance narrowed to a page is on that page alone, reminds its
// subscribers alone, and its cancellation keeps where it was shown.
func TestMaintenanceNarrowedToPages(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		inside, err := st.CreatePage(ctx, PageInput{Slug: "inside", Name: "Inside", Components: []string{api.ID}})
		if err != nil {
			t.Fatal(err)
		}
		slugs := map[string]string{"": "default", inside.ID: "inside"}
		for _, in := range []SubscriberInput{{Email: "pub@example.com", Confirmed: true}, {Email: "ops@example.com", PageID: inside.ID, Confirmed: true}} {
			if _, err := st.AddSubscriber(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		before := tableCounts(t, st)
		_, err = st.CreateMaintenance(ctx, MaintenanceInput{Name: "x", Body: "x", Components: []string{api.ID}, Pages: []string{"nosuch"}, ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour)})
		wantValidationError(t, err, "pages")
		wantUnchanged(t, st, before)

		m := mustCreateMaintenance(t, st, MaintenanceInput{Name: "Ledger vacuum", Body: "x", Components: []string{api.ID}, Pages: []string{inside.ID},
			ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour)})
		if got, want := mailedTo(t, st, slugs), []string{"ops@example.com on inside"}; !slices.Equal(got, want) {
			t.Errorf("a maintenance narrowed to the inside page went to %v, want %v", got, want)
		}
		comps, _ := st.ListComponents(ctx)
		for _, c := range []struct {
			sc   *Scope
			want int
		}{{DefaultScope(comps), 0}, {ScopeOf(inside, comps), 1}} {
			if list, _ := st.ListMaintenances(ctx, MaintenanceFilter{Scope: c.sc}); len(list) != c.want {
				t.Errorf("the %s page lists %d maintenances, want %d", c.sc.page, len(list), c.want)
			}
		}
		if err := st.CancelMaintenance(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		cancelled, err := st.ListMaintenanceCancellations(ctx, t0.Add(-time.Hour))
		if err != nil || len(cancelled) != 1 || !slices.Equal(cancelled[0].Pages, []string{inside.ID}) {
			t.Errorf("the cancellation %+v, %v; want it narrowed to the inside page", cancelled, err)
		}
	})
}

// An operator's webhook for subscribers hears what the default page shows:
// not an incident on internal components alone, nor one narrowed to
// another page, nor an internal component's change; the team's hear all.
func TestSubscriberWebhooksHearTheDefaultPage(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		ledger, err := st.CreateComponent(ctx, ComponentInput{Name: "Ledger", Internal: true})
		if err != nil {
			t.Fatal(err)
		}
		inside, err := st.CreatePage(ctx, PageInput{Slug: "inside", Name: "Inside", Components: []string{api.ID, ledger.ID}, Access: AccessSignedIn})
		if err != nil {
			t.Fatal(err)
		}
		hook, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/public", Description: "public"})
		if err != nil {
			t.Fatal(err)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "On the ledger", Body: "x", Components: map[string]ComponentStatus{ledger.ID: MajorOutage}})
		mustCreateIncident(t, st, IncidentInput{Name: "Narrowed", Body: "x", Pages: []string{inside.ID}})
		public := mustCreateIncident(t, st, IncidentInput{Name: "On the API", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		expandJobs(t, st, ChannelWebhook)
		ds, err := st.ClaimDeliveries(ctx, ChannelWebhook, "test", 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			job, err := st.GetJob(ctx, d.JobID)
			if err != nil {
				t.Fatal(err)
			}
			if d.RecipientID == hook.ID {
				got = append(got, job.Kind+" "+job.ObjectID)
			}
		}
		// The API's incident, and the API's component change it made.
		if len(got) != 2 || !slices.Contains(got, JobIncidentCreated+" "+public.ID) {
			t.Errorf("the subscribers' webhook got %v, want the API's incident and its component change alone", got)
		}
	})
}

// A private page's subscribers are those it is for: a viewer of a page for
// viewers by email, a console user of one for signed-in people. Others are
// refused (the public form: the same answer, and nothing kept), and those
// who leave the list stop hearing from it.
func TestPrivatePageSubscribersAreItsViewers(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		partners, err := st.CreatePage(ctx, PageInput{Slug: "partners", Name: "Partners", Access: AccessEmail, Viewers: []string{"@partner.example"}})
		if err != nil {
			t.Fatal(err)
		}
		staff, err := st.CreatePage(ctx, PageInput{Slug: "staff", Name: "Staff", Access: AccessSignedIn})
		if err != nil {
			t.Fatal(err)
		}
		opsUser, _ := mustCreateUser(t, st, "ops@acme.example", RoleViewer)
		before := tableCounts(t, st)
		if err := st.SubscribeEmail(ctx, SubscriberInput{PageID: partners.ID, Email: "eve@elsewhere.example"}); err != nil {
			t.Fatalf("the public form's answer to an address the page is not for: %v, want the same as any", err)
		}
		_, err = st.AddSubscriber(ctx, SubscriberInput{PageID: staff.ID, Email: "eve@elsewhere.example", Confirmed: true})
		wantValidationError(t, err, "email")
		wantUnchanged(t, st, before)
		for _, in := range []SubscriberInput{{PageID: partners.ID, Email: "ana@partner.example", Confirmed: true}, {PageID: staff.ID, Email: "ops@acme.example", Confirmed: true}} {
			if _, err := st.AddSubscriber(ctx, in); err != nil {
				t.Fatalf("%+v: %v", in, err)
			}
		}
		// The domain leaves the list: its subscriber stops hearing.
		if _, err := st.UpdatePage(ctx, partners.ID, PagePatch{Viewers: &[]string{"bo@partner.example"}}); err != nil {
			t.Fatal(err)
		}
		list, _ := st.ListSubscribers(ctx, SubscriberFilter{Email: "ana@"})
		if len(list) != 1 || list[0].Status != SubscriberUnsubscribed {
			t.Errorf("after the domain left the list the subscriber is %+v, want unsubscribed", list)
		}
		if list, _ := st.ListSubscribers(ctx, SubscriberFilter{Email: "ops@"}); len(list) != 1 || list[0].Status != SubscriberConfirmed {
			t.Errorf("the staff page's subscriber is %+v, want still confirmed", list)
		}
		// A console user disabled stops hearing from the staff page.
		if _, err := st.UpdateUser(ctx, opsUser.ID, UserPatch{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if list, _ := st.ListSubscribers(ctx, SubscriberFilter{Email: "ops@"}); len(list) != 1 || list[0].Status != SubscriberUnsubscribed {
			t.Errorf("after the user was disabled the staff page's subscriber is %+v, want unsubscribed", list)
		}
	})
}
