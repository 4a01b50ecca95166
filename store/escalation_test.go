package store

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// drainJobs expands every pending job and returns, per job kind, who got a
// delivery: an email address or a webhook's description.
// expandJobs claims every job there is and expands it for channels.
func expandJobs(t *testing.T, st *Store, channels ...string) []Job {
	t.Helper()
	var jobs []Job
	for {
		job, ok, err := st.ClaimJob(t.Context(), "test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return jobs
		}
		for done := false; !done; {
			if _, done, err = st.ExpandJob(t.Context(), job.ID, "test", 100, time.Minute, channels); err != nil {
				t.Fatal(err)
			}
		}
		jobs = append(jobs, job)
	}
}

func drainJobs(t *testing.T, st *Store) map[string][]string {
	t.Helper()
	ctx := t.Context()
	out := map[string][]string{}
	for _, job := range expandJobs(t, st, ChannelEmail, ChannelWebhook) {
		out[job.Kind] = append(out[job.Kind], "job")
	}
	for _, ch := range []string{ChannelEmail, ChannelWebhook} {
		ds, err := st.ClaimDeliveries(ctx, ch, "test", 1000, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var results []DeliveryResult
		for _, d := range ds {
			job, err := st.GetJob(ctx, d.JobID)
			if err != nil {
				t.Fatal(err)
			}
			who := d.Email
			if d.Webhook != nil {
				who = d.Webhook.Description
			}
			if IsTeamKind(job.Kind) && ch == ChannelEmail && !d.TeamMember {
				who += " (not a team member)"
			}
			out[job.Kind] = append(out[job.Kind], who)
			results = append(results, DeliveryResult{Delivery: d, Outcome: Sent})
		}
		if err := st.RecordResults(ctx, "test", results); err != nil {
			t.Fatal(err)
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// team makes an opted-in admin, a commander who turned draft emails off, a
// viewer and a disabled commander, and a team and a public webhook.
func team(t *testing.T, st *Store) {
	t.Helper()
	ctx := t.Context()
	mk := func(email string, role Role) User {
		u, _, err := st.CreateUser(ctx, UserInput{Email: email, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	mk("admin@example.com", RoleAdmin)
	quiet := mk("quiet@example.com", RoleCommander)
	if _, err := st.UpdateUser(ctx, quiet.ID, UserPatch{NotifyDrafts: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	mk("viewer@example.com", RoleViewer)
	gone := mk("gone@example.com", RoleCommander)
	if _, err := st.UpdateUser(ctx, gone.ID, UserPatch{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://chat.example.com/team", Description: "team chat", Audience: AudienceTeam, Format: FormatSlack}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/public", Description: "public hook"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddSubscriber(ctx, SubscriberInput{Email: "reader@example.com", Confirmed: true}); err != nil {
		t.Fatal(err)
	}
}

// A draft left waiting reminds the team once — the opted-in commanders and
// admins by email and the team's webhook, never subscribers or public
// webhooks — however often the policy runs.
func TestEscalationRemindsOfADraftOnce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		team(t, st)
		id := mustDraft(t, st)
		drainJobs(t, st) // the subscription's own mail, if any
		p := DefaultEscalationPolicy()

		clock.Advance(4 * time.Minute)
		if e, err := st.Escalate(t.Context(), p); err != nil || len(e.Reminded) != 0 {
			t.Fatalf("at 4 min: %+v, %v; want no reminder yet", e, err)
		}
		clock.Advance(time.Minute)
		e, err := st.Escalate(t.Context(), p)
		if err != nil || !slices.Equal(e.Reminded, []string{id}) {
			t.Fatalf("at 5 min: %+v, %v; want the draft reminded of", e, err)
		}
		got := drainJobs(t, st)
		if want := []string{"admin@example.com", "job", "team chat"}; !slices.Equal(got[JobTeamDraftWaiting], want) {
			t.Errorf("the reminder went to %q, want %q", got[JobTeamDraftWaiting], want)
		}
		clock.Advance(time.Hour)
		if e, err := st.Escalate(t.Context(), p); err != nil || len(e.Reminded) != 0 {
			t.Errorf("a second pass reminded again: %+v, %v", e, err)
		}
		if got := drainJobs(t, st); len(got) != 0 {
			t.Errorf("a second pass queued %v", got)
		}

		// Publishing tells subscribers and the public webhook, not the team's.
		if _, err := st.PublishDraft(t.Context(), id, DraftPublication{}); err != nil {
			t.Fatal(err)
		}
		got = drainJobs(t, st)
		if want := []string{"job", "public hook", "reader@example.com"}; !slices.Equal(got[JobIncidentCreated], want) {
			t.Errorf("the publication went to %q, want %q", got[JobIncidentCreated], want)
		}
	})
}

// With publish_after set, a draft nobody touched is published with the
// holding statement — unless a commander held it, which is audited.
func TestEscalationPublishesTheHoldingStatement(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		team(t, st)
		held := mustDraft(t, st) // component "Checkout", major outage: impact critical
		p := DefaultEscalationPolicy()
		p.PublishAfter = map[Impact]time.Duration{ImpactCritical: 10 * time.Minute}

		commander := WithActor(ctx, Actor{Type: "user", ID: "u1", Name: "ann@example.com"})
		if _, err := st.HoldDraft(commander, held, "checking with the payments team"); err != nil {
			t.Fatal(err)
		}
		if e := auditEntries(t, st)[0]; e.Action != "incident_draft.hold" || e.Actor.Name != "ann@example.com" || !jsonHas(e.After, "checking with the payments team") {
			t.Errorf("the hold is not audited with who and why: %+v %s", e, e.After)
		}
		other := mustDraftOf(t, st, "g2", "Search slow", "Search")
		drainJobs(t, st)

		clock.Advance(10 * time.Minute)
		e, err := st.Escalate(ctx, p)
		if err != nil || !slices.Equal(e.Published, []string{other}) {
			t.Fatalf("escalate: %+v, %v; want only the unheld draft published", e, err)
		}
		inc, err := st.GetIncident(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if want := "We are investigating reports of problems with Search. Next update within 30 minutes."; inc.Updates[0].Body != want {
			t.Errorf("holding statement %q, want %q", inc.Updates[0].Body, want)
		}
		if inc.NextUpdateAt == nil || !inc.NextUpdateAt.Equal(clock.Now().Add(HoldingPromise)) {
			t.Errorf("the statement promises %v, want the next update in 30 min", inc.NextUpdateAt)
		}
		if byPolicy := auditEntries(t, st); !slices.ContainsFunc(byPolicy, func(a AuditEntry) bool {
			return a.Action == "incident_draft.publish" && a.Actor.ID == "escalation"
		}) {
			t.Error("the publication is not audited as the escalation policy's")
		}
		got := drainJobs(t, st)
		if !slices.Contains(got[JobIncidentCreated], "reader@example.com") || !slices.Contains(got[JobTeamHoldingPublished], "team chat") {
			t.Errorf("jobs %v: want subscribers told and the team told it was published for them", got)
		}
		if _, err := st.GetIncidentOrDraft(ctx, held); err != nil {
			t.Fatal(err)
		} else if d, _ := st.IsDraft(ctx, held); !d {
			t.Error("the held draft was published")
		}

		// Released, it is published on the next pass.
		if _, err := st.ReleaseDraft(commander, held); err != nil {
			t.Fatal(err)
		}
		if e, err := st.Escalate(ctx, p); err != nil || !slices.Equal(e.Published, []string{held}) {
			t.Errorf("after release: %+v, %v", e, err)
		}
		// Holding what is now an incident is a conflict.
		_, err = st.HoldDraft(commander, held, "")
		wantConflict(t, err)
	})
}

// A missed promise, or an hour without an update, makes an incident
// overdue: the team is told once, until the next update.
func TestEscalationTellsOfOverdueIncidents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		team(t, st)
		p := DefaultEscalationPolicy()
		promise := clock.Now().Add(30 * time.Minute)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Body: "Looking.", NextUpdateAt: &promise})
		drainJobs(t, st)

		clock.Advance(29 * time.Minute)
		if _, ok := p.Overdue(mustGet(t, st, inc.ID), clock.Now()); ok {
			t.Error("overdue before the promised time")
		}
		clock.Advance(time.Minute)
		if over, ok := p.Overdue(mustGet(t, st, inc.ID), clock.Now()); !ok || !over.Promised {
			t.Errorf("at the promised time: %+v, %v; want overdue, promise missed", over, ok)
		}
		for range 2 {
			if _, err := st.Escalate(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got := drainJobs(t, st)
		if want := []string{"admin@example.com", "job", "quiet@example.com", "team chat"}; !slices.Equal(got[JobTeamIncidentOverdue], want) {
			t.Errorf("overdue told to %q, want %q (once, to everyone who wants overdue news)", got[JobTeamIncidentOverdue], want)
		}

		// An update ends it; an hour of silence after it, with no promise,
		// makes it overdue again.
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified, Body: "Found it."})
		clock.Advance(59 * time.Minute)
		if e, _ := st.Escalate(ctx, p); len(e.Overdue) != 0 {
			t.Errorf("overdue 59 min after an update: %+v", e)
		}
		clock.Advance(time.Minute)
		if e, _ := st.Escalate(ctx, p); !slices.Equal(e.Overdue, []string{inc.ID}) {
			t.Errorf("not overdue after an hour of silence: %+v", e)
		}
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed."})
		clock.Advance(24 * time.Hour)
		if e, _ := st.Escalate(ctx, p); len(e.Overdue) != 0 {
			t.Errorf("a resolved incident is overdue: %+v", e)
		}
	})
}

// A policy that cannot work is refused with the field named, and nothing is
// saved; a good one is saved, audited, and read back.
func TestEscalationPolicyRefusedAndSaved(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		def := DefaultEscalationPolicy()
		bad := map[string]EscalationPolicy{
			"publish_after.major": {RemindAfter: 10 * time.Minute, StaleAfter: time.Hour, PublishAfter: map[Impact]time.Duration{ImpactMajor: 5 * time.Minute}},
			"remind_after":        {RemindAfter: 0, StaleAfter: time.Hour},
			"stale_after":         {RemindAfter: time.Minute, StaleAfter: 30 * 24 * time.Hour},
			"publish_after.huge":  {RemindAfter: time.Minute, StaleAfter: time.Hour, PublishAfter: map[Impact]time.Duration{"huge": time.Hour}},
			"holding_template":    {RemindAfter: time.Minute, StaleAfter: time.Hour, HoldingTemplate: "no-such-template"},
		}
		for field, p := range bad {
			_, err := st.SaveEscalationPolicy(ctx, p, def)
			wantValidationError(t, err, field)
		}
		if got, err := st.EscalationPolicy(ctx, def); err != nil || got.Saved {
			t.Fatalf("a refused policy was saved: %+v, %v", got, err)
		}
		tp, err := st.CreateIncidentTemplate(ctx, IncidentTemplateInput{Name: "Holding", Title: "Problems with {components}", Body: "We know {components} is failing."})
		if err != nil {
			t.Fatal(err)
		}
		good := EscalationPolicy{RemindAfter: 3 * time.Minute, StaleAfter: 45 * time.Minute, HoldingTemplate: tp.ID,
			PublishAfter: map[Impact]time.Duration{ImpactCritical: 3 * time.Minute, ImpactMajor: 15 * time.Minute}}
		if _, err := st.SaveEscalationPolicy(ctx, good, def); err != nil {
			t.Fatal(err)
		}
		got, err := st.EscalationPolicy(ctx, def)
		if err != nil || !got.Saved || got.RemindAfter != good.RemindAfter || got.StaleAfter != good.StaleAfter ||
			got.PublishAfter[ImpactMajor] != 15*time.Minute || got.HoldingTemplate != tp.ID {
			t.Errorf("read back %+v, %v; want %+v", got, err, good)
		}
		if e := auditEntries(t, st)[0]; e.Action != "settings.escalation" || !strings.Contains(string(e.After), `"remind_after_s":180`) {
			t.Errorf("the policy is not audited: %+v", e)
		}

		// The template's words, with the components named, make the statement.
		clock := useClock(st, t0)
		id := mustDraftOf(t, st, "g1", "Pay", "Payments")
		clock.Advance(15 * time.Minute)
		if _, err := st.Escalate(ctx, got); err != nil {
			t.Fatal(err)
		}
		inc := mustGet(t, st, id)
		if inc.Name != "Problems with Payments" || inc.Updates[0].Body != "We know Payments is failing." {
			t.Errorf("published %q: %q; want the template's words", inc.Name, inc.Updates[0].Body)
		}
	})
}

// A reminder that fell due while Herald was down is sent once when it
// starts again: the due work is in the database, not in a timer.
func TestEscalationAcrossARestart(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/herald.db"
	st := openTestStore(t, path)
	useClock(st, t0)
	team(t, st)
	mustDraft(t, st)
	drainJobs(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Down for an hour; then two starts each run the policy, as
	// housekeeping does at start.
	for i := range 2 {
		st = openTestStore(t, path)
		useClock(st, t0.Add(time.Hour))
		if _, err := st.Escalate(t.Context(), DefaultEscalationPolicy()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := drainJobs(t, st); !slices.Equal(got[JobTeamDraftWaiting], []string{"admin@example.com", "job", "team chat"}) {
		t.Errorf("after the restarts the reminder went to %q, want once to the admin and the team chat", got[JobTeamDraftWaiting])
	}
}

func mustGet(t *testing.T, st *Store, id string) Incident {
	t.Helper()
	inc, err := st.GetIncident(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// mustDraftOf opens a draft from an alert group about a new component.
func mustDraftOf(t *testing.T, st *Store, group, name, component string) string {
	t.Helper()
	c := mustCreateComponent(t, st, component)
	res, err := st.ApplyAlerts(t.Context(), AlertBatch{GroupKey: group, Name: name, OnResolved: Resolved,
		Alerts: []Alert{{Fingerprint: group + "f", Title: name, Component: c.ID, Status: MajorOutage, Firing: true}}})
	if err != nil || !res.Draft {
		t.Fatalf("ApplyAlerts = %+v, %v; want a draft", res, err)
	}
	return res.IncidentID
}

// One draft the policy cannot publish (its holding statement's title is too
// long) is reported and does not stop the pass: the next draft is still
// reminded of. A draft whose alerts have resolved is not announced as an
// investigation, and a held draft is not reminded of.
func TestEscalationCarriesOnPastAFailingDraft(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		team(t, st)
		tp, err := st.CreateIncidentTemplate(ctx, IncidentTemplateInput{Name: "Loud", Title: strings.Repeat("{components} ", 19), Body: "Problems with {components}."})
		if err != nil {
			t.Fatal(err)
		}
		p := EscalationPolicy{RemindAfter: 5 * time.Minute, StaleAfter: time.Hour, HoldingTemplate: tp.ID,
			PublishAfter: map[Impact]time.Duration{ImpactCritical: 5 * time.Minute}}
		bad := mustDraftOf(t, st, "g1", "Long names", strings.Repeat("A long component name ", 2))
		resolved := mustDraftOf(t, st, "g2", "Over already", "Search")
		res, err := st.ApplyAlerts(ctx, AlertBatch{GroupKey: "g2", Name: "Over already", OnResolved: Monitoring,
			Alerts: []Alert{{Fingerprint: "g2f", Title: "Over already", Component: mustComponentID(t, st, "Search"), Firing: false}}})
		if err != nil || res.IncidentID != resolved {
			t.Fatalf("resolve: %+v, %v", res, err)
		}
		held := mustDraftOf(t, st, "g3", "On it", "Billing")
		if _, err := st.HoldDraft(ctx, held, "mine"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Minute)
		e, err := st.Escalate(ctx, p)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("escalate: %v; want the failing draft %s reported", err, bad)
		}
		if !slices.Contains(e.Reminded, resolved) || slices.Contains(e.Reminded, held) {
			t.Errorf("reminded %v: want the resolved draft reminded of despite the failure, the held one not", e.Reminded)
		}
		if len(e.Published) != 0 {
			t.Errorf("published %v: want neither the failing nor the resolved draft", e.Published)
		}
		if d, _ := st.IsDraft(ctx, resolved); !d {
			t.Error("a draft whose alerts resolved was published as an investigation")
		}
	})
}

func mustComponentID(t *testing.T, st *Store, name string) string {
	t.Helper()
	list, err := st.ListComponents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Name == name {
			return c.ID
		}
	}
	t.Fatalf("no component %q", name)
	return ""
}
