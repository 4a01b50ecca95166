package store

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestCreateMaintenance(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		db := mustCreateComponent(t, st, "Database")
		paris := time.FixedZone("CET", 3600)
		from, until := t0.Add(24*time.Hour).In(paris), t0.Add(26*time.Hour).In(paris)

		m, err := st.CreateMaintenance(t.Context(), MaintenanceInput{
			Name: " Database upgrade ", Body: "We will upgrade the database.",
			Components: []string{db.ID, api.ID, api.ID}, ScheduledFor: from, ScheduledUntil: until,
		})
		if err != nil {
			t.Fatalf("CreateMaintenance: %v", err)
		}
		if m.Name != "Database upgrade" || m.Status != MaintenanceScheduled || !m.AutoTransition {
			t.Errorf("maintenance = %q %s auto %v, want %q scheduled auto true", m.Name, m.Status, m.AutoTransition, "Database upgrade")
		}
		if !m.ScheduledFor.Equal(from) || !m.ScheduledUntil.Equal(until) {
			t.Errorf("window = %v–%v, want %v–%v", m.ScheduledFor, m.ScheduledUntil, from, until)
		}
		if _, off := m.ScheduledFor.Zone(); off != 0 {
			t.Errorf("scheduled_for comes back with offset %d, want UTC", off)
		}
		if m.StartedAt != nil || m.CompletedAt != nil || !m.CreatedAt.Equal(t0) {
			t.Errorf("started %v completed %v created %v", m.StartedAt, m.CompletedAt, m.CreatedAt)
		}
		want := []string{api.ID, db.ID}
		sort.Strings(want)
		if !slices.Equal(m.Components, want) {
			t.Errorf("components = %v, want %v (each once)", m.Components, want)
		}
		if len(m.Updates) != 1 || m.Updates[0].Status != MaintenanceScheduled || m.Updates[0].Body != "We will upgrade the database." {
			t.Errorf("updates = %+v, want the announcement", m.Updates)
		}
		// Scheduling does not touch the components.
		wantStatus(t, st, api, Operational)
		wantStatus(t, st, db, Operational)

		manual, err := st.CreateMaintenance(t.Context(), MaintenanceInput{Name: "Manual", Body: "By hand.", ScheduledFor: from, ScheduledUntil: until, AutoTransition: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if manual.AutoTransition || len(manual.Components) != 0 || manual.Components == nil {
			t.Errorf("manual maintenance = auto %v components %#v", manual.AutoTransition, manual.Components)
		}
		_, err = st.GetMaintenance(t.Context(), "nosuchmainte")
		wantNotFound(t, err)
	})
}

func TestCreateMaintenanceValidation(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		from, until := t0.Add(time.Hour), t0.Add(2*time.Hour)
		tests := []struct {
			name  string
			in    func(api Component) MaintenanceInput
			field string
		}{
			{"empty name", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "", Body: "x", Components: []string{api.ID}, ScheduledFor: from, ScheduledUntil: until}
			}, "name"},
			{"name too long", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: strings.Repeat("x", 256), Body: "x", Components: []string{api.ID}, ScheduledFor: from, ScheduledUntil: until}
			}, "name"},
			{"empty body", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "", Components: []string{api.ID}, ScheduledFor: from, ScheduledUntil: until}
			}, "body"},
			{"no start", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID}, ScheduledUntil: until}
			}, "scheduled_for"},
			{"no end", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID}, ScheduledFor: from}
			}, "scheduled_until"},
			{"end equals start", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID}, ScheduledFor: from, ScheduledUntil: from}
			}, "scheduled_until"},
			{"end before start", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID}, ScheduledFor: until, ScheduledUntil: from}
			}, "scheduled_until"},
			{"unknown component", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID, "nosuchcompon"}, ScheduledFor: from, ScheduledUntil: until}
			}, "components"},
			// It would be announced as upcoming, then started and completed
			// by the clock a moment later.
			{"starts in the past", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID}, ScheduledFor: t0.Add(-2 * time.Hour), ScheduledUntil: t0.Add(-time.Hour)}
			}, "scheduled_for"},
			{"started just over a minute ago", func(api Component) MaintenanceInput {
				return MaintenanceInput{Name: "Upgrade", Body: "x", Components: []string{api.ID}, ScheduledFor: t0.Add(-time.Minute - time.Second), ScheduledUntil: until}
			}, "scheduled_for"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				useClock(st, t0)
				api := mustCreateComponent(t, st, "API")
				before := tableCounts(t, st)
				_, err := st.CreateMaintenance(t.Context(), tt.in(api))
				wantValidationError(t, err, tt.field)
				wantUnchanged(t, st, before)
			})
		}
		t.Run("a start within a minute past is taken as now", func(t *testing.T) {
			st := newTestStore(t)
			useClock(st, t0)
			m, err := st.CreateMaintenance(t.Context(), MaintenanceInput{Name: "Upgrade", Body: "Now.", ScheduledFor: t0.Add(-50 * time.Second), ScheduledUntil: until})
			if err != nil || m.Status != MaintenanceScheduled {
				t.Fatalf("CreateMaintenance 50 s ago = %+v, %v; want it scheduled", m, err)
			}
		})
		t.Run("the refusal names the rule", func(t *testing.T) {
			st := newTestStore(t)
			useClock(st, t0)
			_, err := st.CreateMaintenance(t.Context(), MaintenanceInput{Name: "Upgrade", Body: "x", ScheduledFor: t0.Add(-time.Hour), ScheduledUntil: t0})
			if err == nil || !strings.Contains(err.Error(), "is in the past") {
				t.Errorf("error = %v, want it to say the start is in the past", err)
			}
		})
	})
}

func TestMaintenanceLifecycle(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		db := mustCreateComponent(t, st, "Database")
		bystander := mustCreateComponent(t, st, "Website")
		m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{api.ID, db.ID}, ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(3 * time.Hour), AutoTransition: ptr(false)})

		started := clk.Advance(time.Hour)
		steps := []struct {
			status MaintenanceStatus
			want   ComponentStatus
			check  func(t *testing.T, m Maintenance, at time.Time)
		}{
			{MaintenanceInProgress, UnderMaintenance, func(t *testing.T, m Maintenance, at time.Time) {
				if m.StartedAt == nil || !m.StartedAt.Equal(at) || m.CompletedAt != nil {
					t.Errorf("started %v completed %v, want started %v", m.StartedAt, m.CompletedAt, at)
				}
			}},
			{"", UnderMaintenance, func(t *testing.T, m Maintenance, at time.Time) {
				if m.Status != MaintenanceInProgress {
					t.Errorf("an update without a status moved it to %s", m.Status)
				}
			}},
			{MaintenanceVerifying, UnderMaintenance, func(t *testing.T, m Maintenance, at time.Time) {
				if m.StartedAt == nil || !m.StartedAt.Equal(started) {
					t.Errorf("StartedAt = %v, want it kept at %v", m.StartedAt, started)
				}
			}},
			{MaintenanceCompleted, Operational, func(t *testing.T, m Maintenance, at time.Time) {
				if m.CompletedAt == nil || !m.CompletedAt.Equal(at) {
					t.Errorf("CompletedAt = %v, want %v", m.CompletedAt, at)
				}
			}},
		}
		for i, step := range steps {
			at := clk.Now()
			body := "step " + string(rune('1'+i))
			got, err := st.PostMaintenanceUpdate(t.Context(), m.ID, MaintenanceUpdateInput{Status: step.status, Body: body})
			if err != nil {
				t.Fatalf("step %d (%s): %v", i, step.status, err)
			}
			if step.status != "" && got.Status != step.status {
				t.Errorf("step %d: status %s, want %s", i, got.Status, step.status)
			}
			if got.Updates[0].Body != body || got.Updates[0].Status != got.Status || !got.Updates[0].CreatedAt.Equal(at) {
				t.Errorf("step %d: newest update = %+v", i, got.Updates[0])
			}
			if len(got.Updates) != i+2 {
				t.Errorf("step %d: %d updates, want %d", i, len(got.Updates), i+2)
			}
			wantStatus(t, st, api, step.want)
			wantStatus(t, st, db, step.want)
			wantStatus(t, st, bystander, Operational)
			step.check(t, got, at)
			clk.Advance(30 * time.Minute)
		}
		// The history shows the window.
		h := historyOf(t, st, api.ID)
		if len(h) != 3 || h[1].Status != UnderMaintenance || !h[1].At.Equal(started) || h[2].Status != Operational {
			t.Errorf("history = %+v, want operational, under_maintenance at %v, operational", h, started)
		}
	})
}

func TestMaintenanceRefusesGoingBackwards(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		order := MaintenanceStatuses
		for i, from := range order {
			for _, to := range order[:i] {
				t.Run(string(from)+" to "+string(to), func(t *testing.T) {
					st := newTestStore(t)
					useClock(st, t0)
					api := mustCreateComponent(t, st, "API")
					m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{api.ID}, ScheduledFor: t0, ScheduledUntil: t0.Add(time.Hour)})
					if from != MaintenanceScheduled {
						mustPostMaintenanceUpdate(t, st, m.ID, from)
					}
					componentBefore := statusOf(t, st, api.ID)
					before := tableCounts(t, st)

					_, err := st.PostMaintenanceUpdate(t.Context(), m.ID, MaintenanceUpdateInput{Status: to, Body: "back"})
					wantConflict(t, err)
					wantUnchanged(t, st, before)
					if got, _ := st.GetMaintenance(t.Context(), m.ID); got.Status != from {
						t.Errorf("status = %s, want it still %s", got.Status, from)
					}
					wantStatus(t, st, api, componentBefore)
				})
			}
		}

		st := newTestStore(t)
		useClock(st, t0)
		m := mustCreateMaintenance(t, st, MaintenanceInput{ScheduledFor: t0, ScheduledUntil: t0.Add(time.Hour)})
		bad := []struct {
			name  string
			in    MaintenanceUpdateInput
			field string
		}{
			{"unknown status", MaintenanceUpdateInput{Status: "paused", Body: "x"}, "status"},
			{"empty body", MaintenanceUpdateInput{Status: MaintenanceInProgress, Body: ""}, "body"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				before := tableCounts(t, st)
				_, err := st.PostMaintenanceUpdate(t.Context(), m.ID, tt.in)
				wantValidationError(t, err, tt.field)
				wantUnchanged(t, st, before)
			})
		}
		t.Run("unknown maintenance", func(t *testing.T) {
			_, err := st.PostMaintenanceUpdate(t.Context(), "nosuchmainte", MaintenanceUpdateInput{Status: MaintenanceInProgress, Body: "x"})
			wantNotFound(t, err)
		})
	})
}

func TestMaintenanceAndIncidents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		window := MaintenanceInput{ScheduledFor: t0, ScheduledUntil: t0.Add(4 * time.Hour), AutoTransition: ptr(false)}
		tests := []struct {
			name string
			run  func(t *testing.T, st *Store, clk *testClock, api Component)
		}{
			{"an outage stays shown when maintenance starts", func(t *testing.T, st *Store, clk *testClock, api Component) {
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
				w := window
				w.Components = []string{api.ID}
				m := mustCreateMaintenance(t, st, w)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceInProgress)
				wantStatus(t, st, api, MajorOutage)
				clk.Advance(time.Minute)
				mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
				wantStatus(t, st, api, UnderMaintenance)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceCompleted)
				wantStatus(t, st, api, Operational)
			}},
			{"completing returns to an open incident's status", func(t *testing.T, st *Store, clk *testClock, api Component) {
				w := window
				w.Components = []string{api.ID}
				m := mustCreateMaintenance(t, st, w)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceInProgress)
				clk.Advance(time.Minute)
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Slow after upgrade", Components: map[string]ComponentStatus{api.ID: DegradedPerformance}})
				wantStatus(t, st, api, DegradedPerformance)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceCompleted)
				wantStatus(t, st, api, DegradedPerformance)
				clk.Advance(time.Minute)
				mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
				wantStatus(t, st, api, Operational)
			}},
			{"an incident marking it operational during maintenance", func(t *testing.T, st *Store, clk *testClock, api Component) {
				w := window
				w.Components = []string{api.ID}
				m := mustCreateMaintenance(t, st, w)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceInProgress)
				clk.Advance(time.Minute)
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Blip", Components: map[string]ComponentStatus{api.ID: PartialOutage}})
				clk.Advance(time.Minute)
				mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
				wantStatus(t, st, api, UnderMaintenance)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceCompleted)
				wantStatus(t, st, api, Operational)
			}},
			{"overlapping windows: the one still running holds it", func(t *testing.T, st *Store, clk *testClock, api Component) {
				w := window
				w.Components = []string{api.ID}
				first := mustCreateMaintenance(t, st, w)
				second := mustCreateMaintenance(t, st, w)
				mustPostMaintenanceUpdate(t, st, first.ID, MaintenanceInProgress)
				mustPostMaintenanceUpdate(t, st, second.ID, MaintenanceInProgress)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, first.ID, MaintenanceCompleted)
				wantStatus(t, st, api, UnderMaintenance)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, second.ID, MaintenanceCompleted)
				wantStatus(t, st, api, Operational)
			}},
			{"completing a window that never started leaves its components alone", func(t *testing.T, st *Store, clk *testClock, api Component) {
				if _, err := st.UpdateComponent(t.Context(), api.ID, ComponentPatch{Status: ptr(DegradedPerformance)}); err != nil {
					t.Fatal(err)
				}
				w := window
				w.Components = []string{api.ID}
				m := mustCreateMaintenance(t, st, w)
				clk.Advance(time.Minute)
				mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceCompleted)
				wantStatus(t, st, api, DegradedPerformance)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				clk := useClock(st, t0)
				api := mustCreateComponent(t, st, "API")
				tt.run(t, st, clk, api)
			})
		}
	})
}

func TestUpdateMaintenance(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		t.Run("fields", func(t *testing.T) {
			st := newTestStore(t)
			clk := useClock(st, t0)
			api := mustCreateComponent(t, st, "API")
			db := mustCreateComponent(t, st, "Database")
			m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{api.ID}, ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour)})
			at := clk.Advance(time.Minute)
			from, until := t0.Add(3*time.Hour), t0.Add(5*time.Hour)
			got, err := st.UpdateMaintenance(t.Context(), m.ID, MaintenancePatch{
				Name: ptr("Bigger upgrade"), Components: &[]string{db.ID}, ScheduledFor: &from, ScheduledUntil: &until, AutoTransition: ptr(false),
			})
			if err != nil {
				t.Fatalf("UpdateMaintenance: %v", err)
			}
			if got.Name != "Bigger upgrade" || !got.ScheduledFor.Equal(from) || !got.ScheduledUntil.Equal(until) || got.AutoTransition || !slices.Equal(got.Components, []string{db.ID}) {
				t.Errorf("got %+v", got)
			}
			if !got.UpdatedAt.Equal(at) || got.Status != MaintenanceScheduled || len(got.Updates) != 1 {
				t.Errorf("updated %v status %s updates %d", got.UpdatedAt, got.Status, len(got.Updates))
			}
			wantStatus(t, st, api, Operational)
			wantStatus(t, st, db, Operational)
		})
		t.Run("components of a running window", func(t *testing.T) {
			st := newTestStore(t)
			useClock(st, t0)
			api := mustCreateComponent(t, st, "API")
			db := mustCreateComponent(t, st, "Database")
			m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{api.ID}, ScheduledFor: t0, ScheduledUntil: t0.Add(time.Hour)})
			mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceInProgress)
			if _, err := st.UpdateMaintenance(t.Context(), m.ID, MaintenancePatch{Components: &[]string{db.ID}}); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, st, api, Operational)
			wantStatus(t, st, db, UnderMaintenance)
		})
		bad := []struct {
			name  string
			patch func(api Component) MaintenancePatch
			field string
		}{
			{"empty name", func(Component) MaintenancePatch { return MaintenancePatch{Name: ptr("")} }, "name"},
			{"end before start", func(Component) MaintenancePatch {
				return MaintenancePatch{Name: ptr("Fine"), ScheduledUntil: ptr(t0.Add(-time.Hour))}
			}, "scheduled_until"},
			{"start after end", func(Component) MaintenancePatch { return MaintenancePatch{ScheduledFor: ptr(t0.Add(10 * time.Hour))} }, "scheduled_until"},
			{"unknown component", func(api Component) MaintenancePatch {
				return MaintenancePatch{Name: ptr("Fine"), Components: &[]string{api.ID, "nosuchcompon"}}
			}, "components"},
			{"moved to start in the past", func(Component) MaintenancePatch {
				return MaintenancePatch{Name: ptr("Fine"), ScheduledFor: ptr(t0.Add(-time.Hour))}
			}, "scheduled_for"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				useClock(st, t0)
				api := mustCreateComponent(t, st, "API")
				db := mustCreateComponent(t, st, "Database")
				m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{db.ID}, ScheduledFor: t0, ScheduledUntil: t0.Add(time.Hour)})
				before := tableCounts(t, st)
				_, err := st.UpdateMaintenance(t.Context(), m.ID, tt.patch(api))
				wantValidationError(t, err, tt.field)
				wantUnchanged(t, st, before)
				got, _ := st.GetMaintenance(t.Context(), m.ID)
				if got.Name != m.Name || !got.ScheduledUntil.Equal(m.ScheduledUntil) || !slices.Equal(got.Components, m.Components) {
					t.Errorf("maintenance changed to %+v", got)
				}
			})
		}
		t.Run("a window under way may be renamed and moved", func(t *testing.T) {
			st := newTestStore(t)
			clk := useClock(st, t0)
			m := mustCreateMaintenance(t, st, MaintenanceInput{ScheduledFor: t0.Add(time.Minute), ScheduledUntil: t0.Add(time.Hour)})
			clk.Advance(time.Hour / 2)
			mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceInProgress)
			if _, err := st.UpdateMaintenance(t.Context(), m.ID, MaintenancePatch{Name: ptr("Longer"), ScheduledFor: ptr(t0), ScheduledUntil: ptr(t0.Add(2 * time.Hour))}); err != nil {
				t.Errorf("UpdateMaintenance of a window that started = %v, want it accepted", err)
			}
		})
		t.Run("completed cannot change", func(t *testing.T) {
			st := newTestStore(t)
			useClock(st, t0)
			m := mustCreateMaintenance(t, st, MaintenanceInput{ScheduledFor: t0, ScheduledUntil: t0.Add(time.Hour)})
			mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceCompleted)
			_, err := st.UpdateMaintenance(t.Context(), m.ID, MaintenancePatch{Name: ptr("Later")})
			wantConflict(t, err)
		})
		t.Run("unknown maintenance", func(t *testing.T) {
			st := newTestStore(t)
			_, err := st.UpdateMaintenance(t.Context(), "nosuchmainte", MaintenancePatch{Name: ptr("x")})
			wantNotFound(t, err)
		})
	})
}

func TestAdvanceMaintenances(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		now := t0.Add(10 * time.Hour)
		type window struct {
			name      string
			from, to  time.Duration // from t0
			auto      bool
			startedBy MaintenanceStatus // posted by hand before the clock moves
			want      MaintenanceStatus
			wantComp  ComponentStatus
		}
		windows := []window{
			{"due to start", 9 * time.Hour, 12 * time.Hour, true, "", MaintenanceInProgress, UnderMaintenance},
			{"starting exactly now", 10 * time.Hour, 12 * time.Hour, true, "", MaintenanceInProgress, UnderMaintenance},
			{"not yet due", 11 * time.Hour, 12 * time.Hour, true, "", MaintenanceScheduled, Operational},
			{"due but manual", 9 * time.Hour, 12 * time.Hour, false, "", MaintenanceScheduled, Operational},
			{"running and ended", 1 * time.Hour, 2 * time.Hour, true, MaintenanceInProgress, MaintenanceCompleted, Operational},
			{"verifying and ended", 1 * time.Hour, 10 * time.Hour, true, MaintenanceVerifying, MaintenanceCompleted, Operational},
			{"running, ended, but manual", 1 * time.Hour, 2 * time.Hour, false, MaintenanceInProgress, MaintenanceInProgress, UnderMaintenance},
			{"missed entirely", 1 * time.Hour, 2 * time.Hour, true, "", MaintenanceCompleted, Operational},
		}
		ids := map[string]string{}
		comps := map[string]Component{}
		for _, w := range windows {
			c := mustCreateComponent(t, st, w.name)
			m := mustCreateMaintenance(t, st, MaintenanceInput{Name: w.name, Components: []string{c.ID}, ScheduledFor: t0.Add(w.from), ScheduledUntil: t0.Add(w.to), AutoTransition: &w.auto})
			if w.startedBy != "" {
				mustPostMaintenanceUpdate(t, st, m.ID, w.startedBy)
			}
			ids[w.name], comps[w.name] = m.ID, c
		}

		clk.Set(now)
		since := lastEventID(t, st)
		auditBefore := len(auditEntries(t, st))
		alice := Actor{Type: "user", ID: "u1", Name: "Alice"}
		moved, err := st.AdvanceMaintenances(WithActor(t.Context(), alice))
		if err != nil {
			t.Fatalf("AdvanceMaintenances: %v", err)
		}
		wantMoved := 0
		for _, w := range windows {
			t.Run(w.name, func(t *testing.T) {
				m, err := st.GetMaintenance(t.Context(), ids[w.name])
				if err != nil {
					t.Fatal(err)
				}
				if m.Status != w.want {
					t.Errorf("status = %s, want %s", m.Status, w.want)
				}
				wantStatus(t, st, comps[w.name], w.wantComp)
				before := w.startedBy
				if before == "" {
					before = MaintenanceScheduled
				}
				if m.Status == before {
					return
				}
				if m.Updates[0].Status != w.want || m.Updates[0].Body == "" || !m.Updates[0].CreatedAt.Equal(now) {
					t.Errorf("automatic update = %+v, want a %s message at %v", m.Updates[0], w.want, now)
				}
				if w.want == MaintenanceCompleted && (m.CompletedAt == nil || !m.CompletedAt.Equal(now)) {
					t.Errorf("CompletedAt = %v, want %v", m.CompletedAt, now)
				}
				if w.want == MaintenanceInProgress && (m.StartedAt == nil || !m.StartedAt.Equal(now)) {
					t.Errorf("StartedAt = %v, want %v", m.StartedAt, now)
				}
				entries, err := st.QueryAuditLog(t.Context(), AuditFilter{ObjectType: "maintenance", ObjectID: m.ID, Limit: 1})
				if err != nil || len(entries) != 1 {
					t.Fatalf("audit = %+v, %v", entries, err)
				}
				if e := entries[0]; e.Actor != SystemActor || e.Action != "maintenance.update_posted" || !e.At.Equal(now) {
					t.Errorf("audit entry = %+v, want maintenance.update_posted by %+v", e, SystemActor)
				}
			})
			if w.want != w.startedBy && !(w.startedBy == "" && w.want == MaintenanceScheduled) {
				wantMoved++
			}
		}
		if moved != wantMoved {
			t.Errorf("AdvanceMaintenances moved %d, want %d", moved, wantMoved)
		}
		if n := len(auditEntries(t, st)) - auditBefore; n != wantMoved {
			t.Errorf("%d audit entries written, want one per window moved (%d)", n, wantMoved)
		}
		events, err := st.EventsSince(t.Context(), since, 1000)
		if err != nil {
			t.Fatal(err)
		}
		updated := map[string]bool{}
		for _, e := range events {
			if e.Type == "maintenance.updated" {
				updated[e.ObjectID] = true
			}
		}
		if len(updated) != wantMoved {
			t.Errorf("change feed names %d maintenances, want %d", len(updated), wantMoved)
		}

		t.Run("running again moves nothing", func(t *testing.T) {
			since := lastEventID(t, st)
			moved, err := st.AdvanceMaintenances(t.Context())
			if err != nil || moved != 0 {
				t.Errorf("AdvanceMaintenances = %d, %v; want 0", moved, err)
			}
			if last := lastEventID(t, st); last != since {
				t.Errorf("events written when nothing moved")
			}
		})
		t.Run("later, the running windows complete", func(t *testing.T) {
			clk.Set(t0.Add(12 * time.Hour))
			if _, err := st.AdvanceMaintenances(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"due to start", "starting exactly now", "not yet due"} {
				m, _ := st.GetMaintenance(t.Context(), ids[name])
				if m.Status != MaintenanceCompleted {
					t.Errorf("%q is %s, want completed", name, m.Status)
				}
				wantStatus(t, st, comps[name], Operational)
			}
			if m, _ := st.GetMaintenance(t.Context(), ids["due but manual"]); m.Status != MaintenanceScheduled {
				t.Errorf("manual window is %s, want still scheduled", m.Status)
			}
		})
	})
}

func TestListMaintenances(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		var ids []string
		for i := range 4 {
			m := mustCreateMaintenance(t, st, MaintenanceInput{ScheduledFor: t0.Add(time.Duration(i) * time.Hour), ScheduledUntil: t0.Add(time.Duration(i+1) * time.Hour)})
			ids = append(ids, m.ID)
		}
		mustPostMaintenanceUpdate(t, st, ids[1], MaintenanceInProgress)
		mustPostMaintenanceUpdate(t, st, ids[0], MaintenanceCompleted)

		tests := []struct {
			name   string
			filter MaintenanceFilter
			want   []string
		}{
			{"all, latest start first", MaintenanceFilter{}, []string{ids[3], ids[2], ids[1], ids[0]}},
			{"scheduled", MaintenanceFilter{Statuses: []MaintenanceStatus{MaintenanceScheduled}}, []string{ids[3], ids[2]}},
			{"active", MaintenanceFilter{Statuses: []MaintenanceStatus{MaintenanceInProgress, MaintenanceVerifying}}, []string{ids[1]}},
			{"completed", MaintenanceFilter{Statuses: []MaintenanceStatus{MaintenanceCompleted}}, []string{ids[0]}},
			{"limit and offset", MaintenanceFilter{Limit: 2, Offset: 1}, []string{ids[2], ids[1]}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				list, err := st.ListMaintenances(t.Context(), tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, m := range list {
					got = append(got, m.ID)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
			})
		}

		t.Run("ParseMaintenanceStatuses", func(t *testing.T) {
			got, err := ParseMaintenanceStatuses(" scheduled, in_progress,,")
			if err != nil || !slices.Equal(got, []MaintenanceStatus{MaintenanceScheduled, MaintenanceInProgress}) {
				t.Errorf("got %v, %v", got, err)
			}
			_, err = ParseMaintenanceStatuses("scheduled,later")
			wantValidationError(t, err, "status")
		})
	})
}

// A window's revision rises with each change, is stored (a reopened store
// reads it back), and a cancelled window leaves a record one revision on.
func TestMaintenanceRevisionAndCancellation(t *testing.T) {
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		from := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		c := mustCreateComponent(t, st, "API")
		m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{c.ID}, ScheduledFor: from, ScheduledUntil: from.Add(time.Hour)})
		if m.Revision != 0 {
			t.Fatalf("new window revision %d", m.Revision)
		}
		moved := from.Add(time.Hour)
		m, err := st.UpdateMaintenance(t.Context(), m.ID, MaintenancePatch{ScheduledFor: &moved, ScheduledUntil: ptr(moved.Add(time.Hour))})
		if err != nil || m.Revision != 1 {
			t.Fatalf("after a move: revision %d, %v", m.Revision, err)
		}
		if m, err = st.UpdateMaintenance(t.Context(), m.ID, MaintenancePatch{ScheduledFor: &moved}); err != nil || m.Revision != 1 {
			t.Fatalf("a patch that changes nothing: revision %d, %v", m.Revision, err)
		}
		if !onPostgres(t) {
			path := filepath.Join(t.TempDir(), "again.db")
			a := openTestStore(t, path)
			x := mustCreateMaintenance(t, a, MaintenanceInput{ScheduledFor: from, ScheduledUntil: from.Add(time.Hour)})
			if _, err := a.UpdateMaintenance(t.Context(), x.ID, MaintenancePatch{Name: ptr("Renamed")}); err != nil {
				t.Fatal(err)
			}
			a.Close()
			if got, err := openTestStore(t, path).GetMaintenance(t.Context(), x.ID); err != nil || got.Revision != 1 {
				t.Errorf("reopened: revision %d, %v", got.Revision, err)
			}
		}
		before := st.Now()
		if err := st.CancelMaintenance(t.Context(), m.ID); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListMaintenanceCancellations(t.Context(), before.Add(-time.Minute))
		if err != nil || len(list) != 1 {
			t.Fatalf("cancellations %v, %v", list, err)
		}
		got := list[0]
		if got.ID != m.ID || got.Name != m.Name || got.Revision != 2 || !got.ScheduledFor.Equal(moved) || len(got.Components) != 1 || got.Components[0] != c.ID {
			t.Errorf("cancellation %+v", got)
		}
		if list, _ := st.ListMaintenanceCancellations(t.Context(), st.Now().Add(time.Minute)); len(list) != 0 {
			t.Errorf("since later: %v", list)
		}
	})
}

// A maintenance's reminder is a job queued once, remind_before minutes
// before its start by the store's clock; none for a window that started
// first or whose reminder would have fallen before it was scheduled; a
// window moved after its reminder went is not reminded again; webhooks get
// it only when their filter names it; bad leads are refused, naming the
// field, and change nothing.
func TestMaintenanceReminders(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		named, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/reminders", Events: []string{JobMaintenanceReminder}})
		if err != nil {
			t.Fatal(err)
		}
		family, _, _ := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/maintenance", Events: []string{"maintenance.*"}})
		st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/everything"})
		expandAll(t, st, "setup", 100) // the webhooks' own jobs, if any

		for _, bad := range []int{-1, MaxRemindBefore + 1} {
			before := tableCounts(t, st)
			_, err := st.CreateMaintenance(ctx, MaintenanceInput{Name: "Bad", Body: "x", ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour), RemindBefore: bad})
			wantValidationError(t, err, "remind_before_minutes")
			wantUnchanged(t, st, before)
		}
		m := mustCreateMaintenance(t, st, MaintenanceInput{ScheduledFor: t0.Add(3 * time.Hour), ScheduledUntil: t0.Add(4 * time.Hour), RemindBefore: 30, SkipNotify: true})
		if m.RemindBefore != 30 || m.RemindedAt != nil {
			t.Fatalf("created %+v, want 30 minutes and not yet reminded", m)
		}
		before := tableCounts(t, st)
		_, err = st.UpdateMaintenance(ctx, m.ID, MaintenancePatch{RemindBefore: ptr(-5)})
		wantValidationError(t, err, "remind_before_minutes")
		wantUnchanged(t, st, before)
		// Ten minutes ahead with an hour's reminder: announced, never reminded.
		mustCreateMaintenance(t, st, MaintenanceInput{Name: "Soon", ScheduledFor: t0.Add(10 * time.Minute), ScheduledUntil: t0.Add(time.Hour), RemindBefore: 60, SkipNotify: true})
		started := mustCreateMaintenance(t, st, MaintenanceInput{Name: "Started early", ScheduledFor: t0.Add(3 * time.Hour), ScheduledUntil: t0.Add(4 * time.Hour), RemindBefore: 60, SkipNotify: true})
		mustPostMaintenanceUpdate(t, st, started.ID, MaintenanceInProgress)

		remind := func(want int) {
			t.Helper()
			if n, err := st.RemindMaintenances(ctx); err != nil || n != want {
				t.Fatalf("RemindMaintenances = %d, %v; want %d", n, err, want)
			}
		}
		clock.Set(t0.Add(2*time.Hour + 29*time.Minute))
		remind(0)
		clock.Set(t0.Add(2*time.Hour + 31*time.Minute))
		remind(1)
		remind(0)
		got, _ := st.GetMaintenance(ctx, m.ID)
		if got.RemindedAt == nil || !got.RemindedAt.Equal(t0.Add(2*time.Hour+31*time.Minute)) {
			t.Errorf("RemindedAt = %v", got.RemindedAt)
		}
		// Moved once reminded: no second reminder.
		later := t0.Add(6 * time.Hour)
		if _, err := st.UpdateMaintenance(ctx, m.ID, MaintenancePatch{ScheduledFor: &later, ScheduledUntil: ptr(later.Add(time.Hour))}); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(5*time.Hour + 45*time.Minute))
		remind(0)

		// One job, to the webhooks that name it.
		jobs := expandAll(t, st, "a", 100)
		var kinds []string
		for _, j := range jobs {
			kinds = append(kinds, j.Kind+" "+j.ObjectID)
		}
		if len(jobs) != 2 || jobs[1].Kind != JobMaintenanceReminder || jobs[1].ObjectID != m.ID {
			t.Fatalf("jobs %v, want maintenance.started for the early start and one maintenance.reminder for %s", kinds, m.ID)
		}
		ds, err := st.ClaimDeliveries(ctx, ChannelWebhook, "a", 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, d := range ds {
			if d.JobID == jobs[1].ID {
				to = append(to, d.RecipientID)
			}
		}
		slices.Sort(to)
		want := []string{named.ID, family.ID}
		slices.Sort(want)
		if !slices.Equal(to, want) {
			t.Errorf("the reminder went to webhooks %v, want those naming it or maintenance.* (%v), not the one taking every event", to, want)
		}
	})
}
