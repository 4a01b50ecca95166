package store

import (
	"context"
	"strings"
	"testing"
)

// alertmanagerActor is who the webhook handler records as making changes.
var alertmanagerActor = Actor{Type: "integration", ID: "alertmanager", Name: "Alertmanager"}

func asAlertmanager(ctx context.Context) context.Context { return WithActor(ctx, alertmanagerActor) }

func firing(fp, component string, status ComponentStatus) Alert {
	return Alert{Fingerprint: fp, Firing: true, Component: component, Status: status, Title: "Alert " + fp, Summary: "Something is wrong with " + component, Field: "alerts[0].labels.component"}
}

func resolvedAlert(fp, component string) Alert {
	return Alert{Fingerprint: fp, Component: component, Title: "Alert " + fp, Field: "alerts[0].labels.component"}
}

func apply(t *testing.T, st *Store, b AlertBatch) AlertResult {
	t.Helper()
	if b.GroupKey == "" {
		b.GroupKey = `{}:{alertname="HighErrorRate"}`
	}
	if b.Name == "" {
		b.Name = "High error rate"
	}
	res, err := st.ApplyAlerts(asAlertmanager(t.Context()), b)
	if err != nil {
		t.Fatalf("ApplyAlerts: %v", err)
	}
	return res
}

// allCounts is tableCounts plus the integration tables.
func allCounts(t *testing.T, st *Store) map[string]int {
	t.Helper()
	counts := tableCounts(t, st)
	for _, table := range []string{"incident_drafts", "alert_groups", "alert_states"} {
		counts[table] = countRows(t, st, table)
	}
	return counts
}

// wantAllUnchanged is wantUnchanged over allCounts.
func wantAllUnchanged(t *testing.T, st *Store, before map[string]int) {
	t.Helper()
	after := allCounts(t, st)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("table %s has %d rows, had %d: the call should have changed nothing", table, after[table], n)
		}
	}
}

func publicIncidents(t *testing.T, st *Store) []Incident {
	t.Helper()
	list, err := st.ListIncidents(t.Context(), IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestAlertsOpenADraftThatStaysOffPublicIncidents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		api := mustCreateComponent(t, st, "API")
		events := lastEventID(t, st)

		res := apply(t, st, AlertBatch{Alerts: []Alert{firing("a1", "api", MajorOutage)}})
		if !res.Changed || !res.Draft || res.IncidentID == "" || res.Status != Investigating {
			t.Fatalf("result = %+v, want a changed draft, investigating", res)
		}
		if got := publicIncidents(t, st); len(got) != 0 {
			t.Errorf("public incident list has %d incidents, want none while the draft waits", len(got))
		}
		wantStatus(t, st, api, Operational) // held back until published
		if got := lastEventID(t, st); got != events {
			t.Errorf("change feed moved from %d to %d: a draft must not reach the public feed", events, got)
		}
		if _, err := st.GetIncident(t.Context(), res.IncidentID); !strings.Contains(errString(err), "not found") {
			t.Errorf("GetIncident(draft) = %v, want not found", err)
		}

		all, err := st.ListIncidentsWithDrafts(t.Context(), IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || !all[0].Draft || all[0].ID != res.IncidentID {
			t.Fatalf("admin list = %+v, want the one draft", all)
		}
		d := all[0]
		if d.Impact != ImpactCritical || d.Name != "High error rate" || len(d.Updates) != 1 {
			t.Errorf("draft = %+v, want critical impact, the batch's name, one update", d)
		}
		ac := d.Updates[0].AffectedComponents
		if len(ac) != 1 || ac[0].ComponentID != api.ID || ac[0].OldStatus != Operational || ac[0].NewStatus != MajorOutage {
			t.Errorf("draft update affects %+v, want API operational → major_outage", ac)
		}
		if !strings.Contains(d.Updates[0].Body, "Firing") || !strings.Contains(d.Updates[0].Body, "Alert a1") {
			t.Errorf("draft body = %q, want the firing alert named", d.Updates[0].Body)
		}
		entries := auditEntries(t, st)
		if entries[0].Action != "incident_draft.create" || entries[0].Actor != alertmanagerActor {
			t.Errorf("newest audit entry = %s by %+v, want incident_draft.create by the integration", entries[0].Action, entries[0].Actor)
		}
	})
}

func TestAlertsSamePayloadTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		for _, publish := range []bool{false, true} {
			t.Run(map[bool]string{false: "draft", true: "published"}[publish], func(t *testing.T) {
				st := newTestStore(t)
				mustCreateComponent(t, st, "API")
				b := AlertBatch{Publish: publish, Alerts: []Alert{firing("a1", "API", PartialOutage)}}
				first := apply(t, st, b)
				before := allCounts(t, st)
				events := lastEventID(t, st)
				second := apply(t, st, b)
				if second.Changed || second.IncidentID != first.IncidentID {
					t.Errorf("second result = %+v, want unchanged, same incident %s", second, first.IncidentID)
				}
				wantAllUnchanged(t, st, before)
				if got := lastEventID(t, st); got != events {
					t.Errorf("change feed moved on a repeated payload")
				}

				// The same holds for a repeated "resolved".
				r := AlertBatch{Publish: publish, Alerts: []Alert{resolvedAlert("a1", "API")}}
				apply(t, st, r)
				before = allCounts(t, st)
				if again := apply(t, st, r); again.Changed {
					t.Errorf("repeated resolved payload changed something: %+v", again)
				}
				wantAllUnchanged(t, st, before)
			})
		}
	})
}

func TestAlertsLifecycle(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name       string
			publish    bool
			onResolved IncidentStatus
			wantFinal  IncidentStatus
		}{
			{"published, resolved moves to monitoring", true, "", Monitoring},
			{"published, resolved resolves", true, Resolved, Resolved},
			{"draft then published, resolved moves to monitoring", false, "", Monitoring},
			{"draft then published, resolved resolves", false, Resolved, Resolved},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				api := mustCreateComponent(t, st, "API")
				db := mustCreateComponent(t, st, "Database")
				b := AlertBatch{Publish: tt.publish, OnResolved: tt.onResolved}

				b.Alerts = []Alert{firing("a1", api.ID, DegradedPerformance)}
				res := apply(t, st, b)
				// A second alert of the same group joins the same incident.
				b.Alerts = []Alert{firing("a1", api.ID, DegradedPerformance), firing("a2", "database", MajorOutage)}
				if again := apply(t, st, b); again.IncidentID != res.IncidentID || !again.Changed {
					t.Fatalf("second alert: %+v, want it to join %s", again, res.IncidentID)
				}
				// One resolves: its component rests, the incident stays open.
				b.Alerts = []Alert{firing("a1", api.ID, DegradedPerformance), resolvedAlert("a2", "database")}
				if mid := apply(t, st, b); mid.Status != Investigating {
					t.Errorf("with one alert still firing the incident is %s, want investigating", mid.Status)
				}
				if !tt.publish {
					wantStatus(t, st, api, Operational)
					wantStatus(t, st, db, Operational)
					inc, err := st.PublishDraft(t.Context(), res.IncidentID, DraftPublication{})
					if err != nil {
						t.Fatalf("PublishDraft: %v", err)
					}
					if inc.ID != res.IncidentID || inc.Draft || len(inc.Updates) != 3 {
						t.Fatalf("published = %s draft=%v with %d updates, want the draft's id and its 3 updates", inc.ID, inc.Draft, len(inc.Updates))
					}
					if inc.Impact != ImpactCritical {
						t.Errorf("published impact = %s, want critical (the worst alert so far)", inc.Impact)
					}
				}
				wantStatus(t, st, api, DegradedPerformance)
				wantStatus(t, st, db, Operational)

				b.Alerts = []Alert{resolvedAlert("a1", api.ID), resolvedAlert("a2", "database")}
				end := apply(t, st, b)
				if end.Status != tt.wantFinal || end.Draft {
					t.Errorf("after every alert resolved: %+v, want %s", end, tt.wantFinal)
				}
				inc, err := st.GetIncident(t.Context(), res.IncidentID)
				if err != nil {
					t.Fatal(err)
				}
				if inc.Status != tt.wantFinal {
					t.Errorf("incident is %s, want %s", inc.Status, tt.wantFinal)
				}
				wantStatus(t, st, api, Operational)
				wantStatus(t, st, db, Operational)
				if !strings.Contains(inc.Updates[0].Body, "Resolved") {
					t.Errorf("last update = %q, want the resolved alert named", inc.Updates[0].Body)
				}
			})
		}
	})
}

func TestAlertsRefiringAfterMonitoringReopens(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		api := mustCreateComponent(t, st, "API")
		b := AlertBatch{Publish: true, Alerts: []Alert{firing("a1", "API", MajorOutage)}}
		res := apply(t, st, b)
		apply(t, st, AlertBatch{Publish: true, Alerts: []Alert{resolvedAlert("a1", "API")}})
		again := apply(t, st, b)
		if again.IncidentID != res.IncidentID || again.Status != Investigating {
			t.Errorf("re-firing: %+v, want incident %s back to investigating", again, res.IncidentID)
		}
		wantStatus(t, st, api, MajorOutage)

		// Once resolved, the group's next alert opens a new incident.
		mustPostUpdate(t, st, res.IncidentID, IncidentUpdateInput{Status: Resolved})
		next := apply(t, st, AlertBatch{Publish: true, Alerts: []Alert{firing("a9", "API", PartialOutage)}})
		if next.IncidentID == res.IncidentID || next.IncidentID == "" {
			t.Errorf("alert after resolution joined %q, want a new incident", next.IncidentID)
		}
	})
}

func TestAlertsBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name  string
			batch AlertBatch
			field string
		}{
			{"unknown component", AlertBatch{GroupKey: "g", Name: "n", Alerts: []Alert{firing("a1", "API", MajorOutage), {Fingerprint: "a2", Firing: true, Component: "nope", Status: MajorOutage, Field: "alerts[1].labels.component"}}}, "alerts[1].labels.component"},
			{"no component label", AlertBatch{GroupKey: "g", Name: "n", Alerts: []Alert{{Fingerprint: "a2", Firing: true, Status: MajorOutage, Field: "alerts[0].labels.component"}}}, "alerts[0].labels.component"},
			{"no group key", AlertBatch{Name: "n", Alerts: []Alert{firing("a1", "API", MajorOutage)}}, "groupKey"},
			{"no alerts", AlertBatch{GroupKey: "g", Name: "n"}, "alerts"},
			{"no fingerprint", AlertBatch{GroupKey: "g", Name: "n", Alerts: []Alert{firing("", "API", MajorOutage)}}, "alerts[0].fingerprint"},
			{"bad on_resolved", AlertBatch{GroupKey: "g", Name: "n", OnResolved: Identified, Alerts: []Alert{firing("a1", "API", MajorOutage)}}, "on_resolved"},
			{"no name", AlertBatch{GroupKey: "g", Alerts: []Alert{firing("a1", "API", MajorOutage)}}, "name"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				mustCreateComponent(t, st, "API")
				before := allCounts(t, st)
				_, err := st.ApplyAlerts(asAlertmanager(t.Context()), tt.batch)
				wantValidationError(t, err, tt.field)
				wantAllUnchanged(t, st, before)
			})
		}
	})
}

func TestAlertsAmbiguousComponentName(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		// Names differ within a group; across groups they may repeat.
		mustCreateComponent(t, st, "API")
		mustCreateComponentIn(t, st, "api", mustCreateGroup(t, st, "EU").ID)
		_, err := st.ApplyAlerts(t.Context(), AlertBatch{GroupKey: "g", Name: "n", Alerts: []Alert{firing("a1", "API", MajorOutage)}})
		wantValidationError(t, err, "alerts[0].labels.component")
	})
}

func TestDraftPublishAndDiscard(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		api := mustCreateComponent(t, st, "API")

		res := apply(t, st, AlertBatch{Alerts: []Alert{firing("a1", "API", MajorOutage)}})
		name, impact := "Checkout errors", ImpactMajor
		inc, err := st.PublishDraft(t.Context(), res.IncidentID, DraftPublication{Name: &name, Impact: &impact})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Name != name || inc.Impact != impact {
			t.Errorf("published %q (%s), want the commander's edits %q (%s)", inc.Name, inc.Impact, name, impact)
		}
		wantStatus(t, st, api, MajorOutage)
		_, err = st.PublishDraft(t.Context(), res.IncidentID, DraftPublication{})
		wantConflict(t, err)
		wantConflict(t, st.DiscardDraft(t.Context(), res.IncidentID))
		wantNotFound(t, st.DiscardDraft(t.Context(), "nosuchdraft"))
		_, err = st.PublishDraft(t.Context(), "nosuchdraft", DraftPublication{})
		wantNotFound(t, err)

		// A discarded draft lets go of its group: repeats change nothing, a
		// new alert opens a new draft.
		b := AlertBatch{GroupKey: "other", Alerts: []Alert{firing("b1", "API", DegradedPerformance)}}
		d := apply(t, st, b)
		if err := st.DiscardDraft(t.Context(), d.IncidentID); err != nil {
			t.Fatal(err)
		}
		if drafts, _ := st.ListDrafts(t.Context()); len(drafts) != 0 {
			t.Errorf("%d drafts after discarding, want 0", len(drafts))
		}
		if again := apply(t, st, b); again.Changed {
			t.Errorf("repeat after discard changed something: %+v", again)
		}
		b.Alerts = append(b.Alerts, firing("b2", "API", PartialOutage))
		if fresh := apply(t, st, b); !fresh.Draft || fresh.IncidentID == d.IncidentID {
			t.Errorf("new alert after discard: %+v, want a new draft", fresh)
		}
	})
}

func TestDraftsNotifyOnlyWhenPublishedAndOnce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		mustCreateComponent(t, st, "API")
		mustCreateComponent(t, st, "Database")
		incidentJobs := func() int {
			var n int
			if err := st.read.QueryRowContext(t.Context(), `SELECT count(*) FROM outbox_jobs WHERE object_type = 'incident'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		jobs := countRows(t, st, "outbox_jobs")
		res := apply(t, st, AlertBatch{Alerts: []Alert{firing("a1", "API", MajorOutage)}})
		apply(t, st, AlertBatch{Alerts: []Alert{firing("a1", "API", MajorOutage), firing("a2", "Database", PartialOutage)}})
		if got := countRows(t, st, "outbox_jobs"); got != jobs {
			t.Fatalf("%d notification jobs queued for a draft, want none", got-jobs)
		}
		if _, err := st.PublishDraft(t.Context(), res.IncidentID, DraftPublication{}); err != nil {
			t.Fatal(err)
		}
		// Component changes go to webhooks as usual; the incident is told once.
		if got := incidentJobs(); got != 1 {
			t.Errorf("%d incident notifications queued on publishing a draft of two updates, want one", got)
		}
		var kind, payload string
		if err := st.read.QueryRowContext(t.Context(), `SELECT kind, payload FROM outbox_jobs WHERE object_type = 'incident' ORDER BY id DESC LIMIT 1`).Scan(&kind, &payload); err != nil {
			t.Fatal(err)
		}
		if kind != JobIncidentCreated || !strings.Contains(payload, "Alert a2") {
			t.Errorf("job %s carries %s, want incident.created with the incident as published (both alerts)", kind, payload)
		}
	})
}

func TestDraftResolvedBeforeApprovalPublishesAsARecord(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		api := mustCreateComponent(t, st, "API")
		res := apply(t, st, AlertBatch{OnResolved: Resolved, Alerts: []Alert{firing("a1", "API", MajorOutage)}})
		apply(t, st, AlertBatch{OnResolved: Resolved, Alerts: []Alert{resolvedAlert("a1", "API")}})
		inc, err := st.PublishDraft(t.Context(), res.IncidentID, DraftPublication{})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != Resolved || inc.ResolvedAt == nil || len(inc.Updates) != 2 {
			t.Errorf("published %s with %d updates, want resolved with both", inc.Status, len(inc.Updates))
		}
		wantStatus(t, st, api, Operational)
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
