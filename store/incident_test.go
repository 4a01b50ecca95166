package store

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestCreateIncident(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		db := mustCreateComponent(t, st, "Database")
		web := mustCreateComponent(t, st, "Website")
		at := clk.Advance(time.Hour)

		inc, err := st.CreateIncident(t.Context(), IncidentInput{
			Name:       "Logins failing",
			Body:       "We are investigating failed logins.",
			Components: map[string]ComponentStatus{api.ID: MajorOutage, db.ID: DegradedPerformance},
		})
		if err != nil {
			t.Fatalf("CreateIncident: %v", err)
		}

		if inc.Name != "Logins failing" || inc.Status != Investigating || inc.Impact != ImpactCritical {
			t.Errorf("incident = %q %s %s, want %q investigating critical", inc.Name, inc.Status, inc.Impact, "Logins failing")
		}
		if !inc.CreatedAt.Equal(at) || !inc.UpdatedAt.Equal(at) || inc.MonitoringAt != nil || inc.ResolvedAt != nil || inc.Postmortem != nil {
			t.Errorf("incident times = created %v updated %v monitoring %v resolved %v postmortem %v", inc.CreatedAt, inc.UpdatedAt, inc.MonitoringAt, inc.ResolvedAt, inc.Postmortem)
		}
		if !inc.Open() {
			t.Error("a new incident is not open")
		}
		wantIDs := []string{api.ID, db.ID}
		sort.Strings(wantIDs)
		if !slices.Equal(inc.Components, wantIDs) {
			t.Errorf("components = %v, want %v", inc.Components, wantIDs)
		}
		wantStatus(t, st, api, MajorOutage)
		wantStatus(t, st, db, DegradedPerformance)
		wantStatus(t, st, web, Operational)

		if len(inc.Updates) != 1 {
			t.Fatalf("%d updates, want the first one", len(inc.Updates))
		}
		u := inc.Updates[0]
		if u.Status != Investigating || u.Body != "We are investigating failed logins." || !u.CreatedAt.Equal(at) || u.IncidentID != inc.ID || u.ID == "" {
			t.Errorf("first update = %+v", u)
		}
		wantAffected := []AffectedComponent{
			{api.ID, "API", Operational, MajorOutage},
			{db.ID, "Database", Operational, DegradedPerformance},
		}
		if !slices.Equal(u.AffectedComponents, wantAffected) {
			t.Errorf("affected components = %+v, want %+v", u.AffectedComponents, wantAffected)
		}
		got, err := st.GetIncident(t.Context(), inc.ID)
		if err != nil || got.ID != inc.ID || len(got.Updates) != 1 {
			t.Errorf("GetIncident = %+v, %v", got, err)
		}

		t.Run("with a status and no components", func(t *testing.T) {
			inc := mustCreateIncident(t, st, IncidentInput{Name: "Slow emails", Status: Identified, Impact: ImpactMinor})
			if inc.Status != Identified || inc.Impact != ImpactMinor || len(inc.Components) != 0 || inc.Updates[0].Status != Identified {
				t.Errorf("incident = %+v", inc)
			}
			if inc.Components == nil || inc.Updates[0].AffectedComponents == nil {
				t.Error("empty lists are nil; JSON would show null")
			}
		})
		t.Run("created monitoring", func(t *testing.T) {
			inc := mustCreateIncident(t, st, IncidentInput{Name: "Watching", Status: Monitoring})
			if inc.MonitoringAt == nil || !inc.MonitoringAt.Equal(at) {
				t.Errorf("MonitoringAt = %v, want %v", inc.MonitoringAt, at)
			}
		})
	})
}

func TestCreateIncidentDerivesImpact(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name     string
			statuses []ComponentStatus
			impact   Impact // given
			want     Impact
		}{
			{"major outage is critical", []ComponentStatus{MajorOutage}, "", ImpactCritical},
			{"partial outage is major", []ComponentStatus{PartialOutage}, "", ImpactMajor},
			{"degraded performance is minor", []ComponentStatus{DegradedPerformance}, "", ImpactMinor},
			{"under maintenance is none", []ComponentStatus{UnderMaintenance}, "", ImpactNone},
			{"operational is none", []ComponentStatus{Operational}, "", ImpactNone},
			{"no components is none", nil, "", ImpactNone},
			{"the worst status counts", []ComponentStatus{DegradedPerformance, MajorOutage, PartialOutage}, "", ImpactCritical},
			{"a given impact wins", []ComponentStatus{MajorOutage}, ImpactMinor, ImpactMinor},
			{"a given none wins", []ComponentStatus{PartialOutage}, ImpactNone, ImpactNone},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				components := map[string]ComponentStatus{}
				for i, s := range tt.statuses {
					components[mustCreateComponent(t, st, "c"+string(rune('a'+i))).ID] = s
				}
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Trouble", Impact: tt.impact, Components: components})
				if inc.Impact != tt.want {
					t.Errorf("impact = %s, want %s", inc.Impact, tt.want)
				}
			})
		}
	})
}

func TestCreateIncidentValidation(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name  string
			in    func(api, db Component) IncidentInput
			field string
		}{
			{"empty name", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: "  ", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "name"},
			{"name over 255 characters", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: strings.Repeat("ß", 256), Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "name"},
			{"name not UTF-8", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: "bad \xff", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "name"},
			{"unknown status", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: "Down", Status: "panicking", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "status"},
			{"unknown impact", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: "Down", Impact: "catastrophic", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "impact"},
			{"unknown component status", func(api, db Component) IncidentInput {
				return IncidentInput{Name: "Down", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage, db.ID: "melting"}}
			}, "components." + "DB"},
			{"unknown component id", func(api, _ Component) IncidentInput {
				// "0…" sorts before any real id and "z…" after: the known one is
				// applied before or after the failure; either way nothing stays.
				return IncidentInput{Name: "Down", Body: "x", Components: map[string]ComponentStatus{api.ID: MajorOutage, "000000000000": MajorOutage, "zzzzzzzzzzzz": PartialOutage}}
			}, "components"},
			{"empty body", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: "Down", Body: " ", Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "body"},
			{"body too long", func(api, _ Component) IncidentInput {
				return IncidentInput{Name: "Down", Body: strings.Repeat("x", MaxBodyLength+1), Components: map[string]ComponentStatus{api.ID: MajorOutage}}
			}, "body"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				api := mustCreateComponent(t, st, "API")
				db := mustCreateComponent(t, st, "Database")
				before := tableCounts(t, st)

				_, err := st.CreateIncident(t.Context(), tt.in(api, db))
				field := strings.ReplaceAll(tt.field, "DB", db.ID)
				wantValidationError(t, err, field)
				wantUnchanged(t, st, before)
				wantStatus(t, st, api, Operational)
				wantStatus(t, st, db, Operational)
				if list, _ := st.ListIncidents(t.Context(), IncidentFilter{}); len(list) != 0 {
					t.Errorf("ListIncidents = %d incidents, want none", len(list))
				}
			})
		}
	})
}

func TestPostIncidentUpdate(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		db := mustCreateComponent(t, st, "Database")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Body: "Investigating.", Components: map[string]ComponentStatus{api.ID: MajorOutage}})

		steps := []struct {
			status     IncidentStatus
			body       string
			components map[string]ComponentStatus
			wantStatus IncidentStatus
			check      func(t *testing.T, inc Incident, at time.Time)
		}{
			{Identified, "A bad migration.", map[string]ComponentStatus{api.ID: PartialOutage, db.ID: MajorOutage}, Identified, func(t *testing.T, inc Incident, at time.Time) {
				wantStatus(t, st, api, PartialOutage)
				wantStatus(t, st, db, MajorOutage)
				want := []AffectedComponent{{api.ID, "API", MajorOutage, PartialOutage}, {db.ID, "Database", Operational, MajorOutage}}
				if got := inc.Updates[0].AffectedComponents; !slices.Equal(got, want) {
					t.Errorf("affected = %+v, want %+v", got, want)
				}
				if len(inc.Components) != 2 {
					t.Errorf("components = %v, want both (the update added the database)", inc.Components)
				}
			}},
			{"", "Still working on it.", nil, Identified, func(t *testing.T, inc Incident, at time.Time) {
				if len(inc.Updates[0].AffectedComponents) != 0 {
					t.Errorf("an update changing nothing lists %+v", inc.Updates[0].AffectedComponents)
				}
			}},
			{Monitoring, "Fix deployed.", map[string]ComponentStatus{api.ID: Operational, db.ID: Operational}, Monitoring, func(t *testing.T, inc Incident, at time.Time) {
				if inc.MonitoringAt == nil || !inc.MonitoringAt.Equal(at) {
					t.Errorf("MonitoringAt = %v, want %v", inc.MonitoringAt, at)
				}
				if inc.ResolvedAt != nil {
					t.Errorf("ResolvedAt = %v while monitoring", inc.ResolvedAt)
				}
			}},
			{Resolved, "All good.", nil, Resolved, func(t *testing.T, inc Incident, at time.Time) {
				if inc.ResolvedAt == nil || !inc.ResolvedAt.Equal(at) {
					t.Errorf("ResolvedAt = %v, want %v", inc.ResolvedAt, at)
				}
				if inc.MonitoringAt == nil || !inc.MonitoringAt.Equal(at.Add(-time.Minute)) {
					t.Errorf("MonitoringAt = %v, want it kept from the monitoring update", inc.MonitoringAt)
				}
				if inc.Open() {
					t.Error("resolved incident is still open")
				}
			}},
		}
		var bodies []string
		for i, step := range steps {
			at := clk.Advance(time.Minute)
			got, err := st.PostIncidentUpdate(t.Context(), inc.ID, IncidentUpdateInput{Status: step.status, Body: step.body, Components: step.components})
			if err != nil {
				t.Fatalf("step %d (%s): %v", i, step.status, err)
			}
			bodies = append([]string{step.body}, bodies...)
			if got.Status != step.wantStatus || got.Updates[0].Status != step.wantStatus {
				t.Errorf("step %d: incident %s, update %s; want %s", i, got.Status, got.Updates[0].Status, step.wantStatus)
			}
			if !got.UpdatedAt.Equal(at) || !got.Updates[0].CreatedAt.Equal(at) {
				t.Errorf("step %d: updated %v, update created %v; want %v", i, got.UpdatedAt, got.Updates[0].CreatedAt, at)
			}
			step.check(t, got, at)
		}

		final, err := st.GetIncident(t.Context(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var gotBodies []string
		for i, u := range final.Updates {
			gotBodies = append(gotBodies, u.Body)
			if i > 0 && u.CreatedAt.After(final.Updates[i-1].CreatedAt) {
				t.Errorf("updates not newest first: %v after %v", u.CreatedAt, final.Updates[i-1].CreatedAt)
			}
		}
		if want := append(bodies, "Investigating."); !slices.Equal(gotBodies, want) {
			t.Errorf("timeline = %q, want %q", gotBodies, want)
		}
	})
}

func TestIncidentUpdatesAtTheSameInstantStayInOrder(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0) // the clock does not move: every update has the same time
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Quick", Body: "first"})
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Body: "second"})
		got := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Body: "third"})
		var bodies []string
		for _, u := range got.Updates {
			bodies = append(bodies, u.Body)
		}
		if want := []string{"third", "second", "first"}; !slices.Equal(bodies, want) {
			t.Errorf("timeline = %v, want %v", bodies, want)
		}
	})
}

func TestPostIncidentUpdateValidation(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name  string
			in    func(api Component) IncidentUpdateInput
			field string
		}{
			{"unknown status", func(api Component) IncidentUpdateInput {
				return IncidentUpdateInput{Status: "done", Body: "x", Components: map[string]ComponentStatus{api.ID: Operational}}
			}, "status"},
			{"empty body", func(api Component) IncidentUpdateInput {
				return IncidentUpdateInput{Status: Resolved, Body: "", Components: map[string]ComponentStatus{api.ID: Operational}}
			}, "body"},
			{"unknown component status", func(api Component) IncidentUpdateInput {
				return IncidentUpdateInput{Status: Identified, Body: "x", Components: map[string]ComponentStatus{api.ID: "gone"}}
			}, "components." + "API"},
			{"unknown component", func(api Component) IncidentUpdateInput {
				return IncidentUpdateInput{Status: Resolved, Body: "x", Components: map[string]ComponentStatus{api.ID: Operational, "zzzzzzzzzzzz": Operational}}
			}, "components"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				api := mustCreateComponent(t, st, "API")
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
				before := tableCounts(t, st)

				_, err := st.PostIncidentUpdate(t.Context(), inc.ID, tt.in(api))
				wantValidationError(t, err, strings.ReplaceAll(tt.field, "API", api.ID))
				wantUnchanged(t, st, before)
				wantStatus(t, st, api, MajorOutage)
				got, _ := st.GetIncident(t.Context(), inc.ID)
				if got.Status != Investigating || len(got.Updates) != 1 || got.ResolvedAt != nil {
					t.Errorf("incident changed: %s, %d updates, resolved %v", got.Status, len(got.Updates), got.ResolvedAt)
				}
			})
		}
		t.Run("unknown incident", func(t *testing.T) {
			st := newTestStore(t)
			_, err := st.PostIncidentUpdate(t.Context(), "nosuchincide", IncidentUpdateInput{Status: Resolved, Body: "x"})
			wantNotFound(t, err)
			if n := countRows(t, st, "incident_updates"); n != 0 {
				t.Errorf("%d updates written for an unknown incident", n)
			}
		})
	})
}

func TestResolvingReturnsComponents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		type world struct {
			st   *Store
			clk  *testClock
			api  Component
			main Incident // the incident the test resolves
		}
		tests := []struct {
			name    string
			arrange func(t *testing.T, w *world)
			resolve map[string]ComponentStatus // components given in the resolving update
			want    ComponentStatus
		}{
			{"alone: back to operational", func(t *testing.T, w *world) {}, nil, Operational},
			{"an explicit status in the resolving update is kept", func(t *testing.T, w *world) {}, map[string]ComponentStatus{"API": DegradedPerformance}, DegradedPerformance},
			{"another open incident keeps its status", func(t *testing.T, w *world) {
				w.clk.Advance(time.Minute)
				mustCreateIncident(t, w.st, IncidentInput{Name: "Other", Components: map[string]ComponentStatus{w.api.ID: MajorOutage}})
			}, nil, MajorOutage},
			{"another open incident's latest status is taken", func(t *testing.T, w *world) {
				// The other incident set partial, then major; the main one
				// set degraded last. Once the main one resolves, the other's
				// latest status shows.
				w.clk.Advance(time.Minute)
				other := mustCreateIncident(t, w.st, IncidentInput{Name: "Other", Components: map[string]ComponentStatus{w.api.ID: PartialOutage}})
				w.clk.Advance(time.Minute)
				mustPostUpdate(t, w.st, other.ID, IncidentUpdateInput{Status: Identified, Components: map[string]ComponentStatus{w.api.ID: MajorOutage}})
				w.clk.Advance(time.Minute)
				mustPostUpdate(t, w.st, w.main.ID, IncidentUpdateInput{Status: Identified, Components: map[string]ComponentStatus{w.api.ID: DegradedPerformance}})
				wantStatus(t, w.st, w.api, DegradedPerformance)
			}, nil, MajorOutage},
			{"an already resolved incident does not count", func(t *testing.T, w *world) {
				w.clk.Advance(time.Minute)
				other := mustCreateIncident(t, w.st, IncidentInput{Name: "Other", Components: map[string]ComponentStatus{w.api.ID: MajorOutage}})
				w.clk.Advance(time.Minute)
				mustPostUpdate(t, w.st, other.ID, IncidentUpdateInput{Status: Resolved})
			}, nil, Operational},
			{"a maintenance in progress holds it", func(t *testing.T, w *world) {
				m := mustCreateMaintenance(t, w.st, MaintenanceInput{Components: []string{w.api.ID}, ScheduledFor: t0, ScheduledUntil: t0.Add(24 * time.Hour)})
				mustPostMaintenanceUpdate(t, w.st, m.ID, MaintenanceInProgress)
				wantStatus(t, w.st, w.api, PartialOutage) // the outage shows over the maintenance
			}, nil, UnderMaintenance},
			{"a maintenance being verified holds it", func(t *testing.T, w *world) {
				m := mustCreateMaintenance(t, w.st, MaintenanceInput{Components: []string{w.api.ID}, ScheduledFor: t0, ScheduledUntil: t0.Add(24 * time.Hour)})
				mustPostMaintenanceUpdate(t, w.st, m.ID, MaintenanceVerifying)
			}, nil, UnderMaintenance},
			{"a completed maintenance does not", func(t *testing.T, w *world) {
				m := mustCreateMaintenance(t, w.st, MaintenanceInput{Components: []string{w.api.ID}, ScheduledFor: t0, ScheduledUntil: t0.Add(24 * time.Hour)})
				mustPostMaintenanceUpdate(t, w.st, m.ID, MaintenanceInProgress)
				mustPostMaintenanceUpdate(t, w.st, m.ID, MaintenanceCompleted)
			}, nil, Operational},
			{"a scheduled maintenance does not", func(t *testing.T, w *world) {
				mustCreateMaintenance(t, w.st, MaintenanceInput{Components: []string{w.api.ID}, ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(24 * time.Hour)})
			}, nil, Operational},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				w := &world{st: st, clk: useClock(st, t0)}
				w.api = mustCreateComponent(t, st, "API")
				other := mustCreateComponent(t, st, "Website")
				w.main = mustCreateIncident(t, st, IncidentInput{Name: "Main", Components: map[string]ComponentStatus{w.api.ID: PartialOutage}})
				tt.arrange(t, w)
				before := statusOf(t, st, w.api.ID)

				resolve := map[string]ComponentStatus{}
				for k, v := range tt.resolve {
					resolve[strings.ReplaceAll(k, "API", w.api.ID)] = v
				}
				w.clk.Advance(time.Minute)
				inc := mustPostUpdate(t, st, w.main.ID, IncidentUpdateInput{Status: Resolved, Components: resolve})

				wantStatus(t, st, w.api, tt.want)
				wantStatus(t, st, other, Operational)
				// The resolving update tells what it changed, and only that.
				affected := inc.Updates[0].AffectedComponents
				if before == tt.want {
					if len(affected) != 0 {
						t.Errorf("resolving update lists %+v, but changed nothing", affected)
					}
				} else if want := []AffectedComponent{{w.api.ID, "API", before, tt.want}}; !slices.Equal(affected, want) {
					t.Errorf("resolving update lists %+v, want %+v", affected, want)
				}
			})
		}
	})
}

func TestReopenIncident(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Flapping", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		clk.Advance(time.Hour)
		resolved := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
		if resolved.ResolvedAt == nil {
			t.Fatal("ResolvedAt not set")
		}

		clk.Advance(time.Hour)
		reopened := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Investigating, Components: map[string]ComponentStatus{api.ID: PartialOutage}})
		if reopened.ResolvedAt != nil || !reopened.Open() || reopened.Status != Investigating {
			t.Errorf("reopened = %s, resolved at %v; want investigating with no resolved time", reopened.Status, reopened.ResolvedAt)
		}
		wantStatus(t, st, api, PartialOutage)
		if open, _ := st.ListIncidents(t.Context(), IncidentFilter{Unresolved: true}); len(open) != 1 {
			t.Errorf("%d open incidents, want the reopened one", len(open))
		}

		again := clk.Advance(time.Hour)
		final := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
		if final.ResolvedAt == nil || !final.ResolvedAt.Equal(again) {
			t.Errorf("ResolvedAt = %v, want the second resolution %v", final.ResolvedAt, again)
		}
		wantStatus(t, st, api, Operational)
	})
}

func TestUpdateIncident(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name  string
			patch IncidentPatch
			want  func(Incident) Incident
			field string // validation error expected on this field
		}{
			{"name", IncidentPatch{Name: ptr(" Logins down ")}, func(i Incident) Incident { i.Name = "Logins down"; return i }, ""},
			{"impact", IncidentPatch{Impact: ptr(ImpactMinor)}, func(i Incident) Incident { i.Impact = ImpactMinor; return i }, ""},
			{"both", IncidentPatch{Name: ptr("X"), Impact: ptr(ImpactNone)}, func(i Incident) Incident { i.Name, i.Impact = "X", ImpactNone; return i }, ""},
			{"empty name", IncidentPatch{Name: ptr("")}, nil, "name"},
			{"name too long", IncidentPatch{Name: ptr(strings.Repeat("x", 256))}, nil, "name"},
			{"unknown impact", IncidentPatch{Name: ptr("Fine name"), Impact: ptr(Impact("huge"))}, nil, "impact"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				clk := useClock(st, t0)
				api := mustCreateComponent(t, st, "API")
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
				at := clk.Advance(time.Hour)
				before := tableCounts(t, st)

				got, err := st.UpdateIncident(t.Context(), inc.ID, tt.patch)
				if tt.field != "" {
					wantValidationError(t, err, tt.field)
					wantUnchanged(t, st, before)
					stored, _ := st.GetIncident(t.Context(), inc.ID)
					if stored.Name != inc.Name || stored.Impact != inc.Impact || !stored.UpdatedAt.Equal(inc.UpdatedAt) {
						t.Errorf("incident changed to %+v", stored)
					}
					return
				}
				if err != nil {
					t.Fatalf("UpdateIncident: %v", err)
				}
				want := tt.want(inc)
				if got.Name != want.Name || got.Impact != want.Impact || got.Status != inc.Status || len(got.Updates) != 1 {
					t.Errorf("got %q %s %s with %d updates, want %q %s %s with 1", got.Name, got.Impact, got.Status, len(got.Updates), want.Name, want.Impact, inc.Status)
				}
				if !got.UpdatedAt.Equal(at) {
					t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, at)
				}
				wantStatus(t, st, api, MajorOutage)
			})
		}
		t.Run("unknown incident", func(t *testing.T) {
			st := newTestStore(t)
			_, err := st.UpdateIncident(t.Context(), "nosuchincide", IncidentPatch{Name: ptr("x")})
			wantNotFound(t, err)
		})
	})
}

func TestPublishPostmortem(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing"})

		for _, status := range []IncidentStatus{Investigating, Identified, Monitoring} {
			t.Run("refused while "+string(status), func(t *testing.T) {
				mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: status})
				before := tableCounts(t, st)
				_, err := st.PublishPostmortem(t.Context(), inc.ID, "What happened.")
				wantConflict(t, err)
				wantUnchanged(t, st, before)
				if got, _ := st.GetIncident(t.Context(), inc.ID); got.Postmortem != nil {
					t.Errorf("postmortem = %+v on an open incident", got.Postmortem)
				}
			})
		}

		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
		t.Run("body is required", func(t *testing.T) {
			before := tableCounts(t, st)
			_, err := st.PublishPostmortem(t.Context(), inc.ID, " \n ")
			wantValidationError(t, err, "body")
			wantUnchanged(t, st, before)
		})
		published := clk.Advance(24 * time.Hour)
		t.Run("published once resolved", func(t *testing.T) {
			got, err := st.PublishPostmortem(t.Context(), inc.ID, "# What happened\n\nA migration locked the users table.")
			if err != nil {
				t.Fatalf("PublishPostmortem: %v", err)
			}
			if got.Postmortem == nil || got.Postmortem.Body != "# What happened\n\nA migration locked the users table." || !got.Postmortem.PublishedAt.Equal(published) {
				t.Errorf("postmortem = %+v, want the body published at %v", got.Postmortem, published)
			}
		})
		t.Run("revising keeps the first publication time", func(t *testing.T) {
			clk.Advance(time.Hour)
			got, err := st.PublishPostmortem(t.Context(), inc.ID, "Revised.")
			if err != nil {
				t.Fatal(err)
			}
			if got.Postmortem == nil || got.Postmortem.Body != "Revised." || !got.Postmortem.PublishedAt.Equal(published) {
				t.Errorf("postmortem = %+v, want the revised body first published at %v", got.Postmortem, published)
			}
		})
		t.Run("unknown incident", func(t *testing.T) {
			_, err := st.PublishPostmortem(t.Context(), "nosuchincide", "x")
			wantNotFound(t, err)
		})
	})
}

func TestListIncidents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		// Five incidents a day apart; the second and fourth are resolved.
		var ids []string
		for i := range 5 {
			clk.Set(t0.Add(time.Duration(i) * 24 * time.Hour))
			inc := mustCreateIncident(t, st, IncidentInput{Name: "Incident " + string(rune('A'+i))})
			if i == 1 || i == 3 {
				mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
			}
			ids = append(ids, inc.ID)
		}
		newestFirst := func(idx ...int) []string {
			var out []string
			for _, i := range idx {
				out = append(out, ids[i])
			}
			return out
		}
		tests := []struct {
			name   string
			filter IncidentFilter
			want   []string
			count  int
		}{
			{"all, newest first", IncidentFilter{}, newestFirst(4, 3, 2, 1, 0), 5},
			{"unresolved", IncidentFilter{Unresolved: true}, newestFirst(4, 2, 0), 3},
			{"resolved", IncidentFilter{Resolved: true}, newestFirst(3, 1), 2},
			{"since a creation time includes it", IncidentFilter{Since: t0.Add(2 * 24 * time.Hour)}, newestFirst(4, 3, 2), 3},
			{"since between two", IncidentFilter{Since: t0.Add(36 * time.Hour)}, newestFirst(4, 3, 2), 3},
			{"since in another time zone", IncidentFilter{Since: t0.Add(36 * time.Hour).In(time.FixedZone("UTC+5", 5*3600))}, newestFirst(4, 3, 2), 3},
			{"unresolved since", IncidentFilter{Unresolved: true, Since: t0.Add(24 * time.Hour)}, newestFirst(4, 2), 2},
			{"limit", IncidentFilter{Limit: 2}, newestFirst(4, 3), 5},
			{"limit and offset", IncidentFilter{Limit: 2, Offset: 2}, newestFirst(2, 1), 5},
			{"offset past the end", IncidentFilter{Offset: 10}, nil, 5},
			{"since after all", IncidentFilter{Since: t0.Add(30 * 24 * time.Hour)}, nil, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				list, err := st.ListIncidents(t.Context(), tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, inc := range list {
					got = append(got, inc.ID)
					if len(inc.Updates) == 0 {
						t.Errorf("incident %q listed without its timeline", inc.Name)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("ids = %v, want %v", got, tt.want)
				}
				n, err := st.CountIncidents(t.Context(), tt.filter)
				if err != nil || n != tt.count {
					t.Errorf("CountIncidents = %d, %v; want %d", n, err, tt.count)
				}
			})
		}
		t.Run("unknown id", func(t *testing.T) {
			_, err := st.GetIncident(t.Context(), "nosuchincide")
			wantNotFound(t, err)
		})
	})
}

func TestComponentChangesKeepTimelineNames(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		api := mustCreateComponent(t, st, "API")
		db := mustCreateComponent(t, st, "Database")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{api.ID: MajorOutage, db.ID: PartialOutage}})

		if _, err := st.UpdateComponent(t.Context(), db.ID, ComponentPatch{Name: ptr("Primary database")}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteComponent(t.Context(), api.ID); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetIncident(t.Context(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Components, []string{db.ID}) {
			t.Errorf("components = %v, want the deleted component gone, only %q", got.Components, db.ID)
		}
		want := []AffectedComponent{
			{api.ID, "API", Operational, MajorOutage},
			{db.ID, "Database", Operational, PartialOutage},
		}
		if affected := got.Updates[0].AffectedComponents; !slices.Equal(affected, want) {
			t.Errorf("timeline = %+v, want the names as they were %+v", affected, want)
		}
		// Resolving works with the component gone.
		resolved := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
		if resolved.Status != Resolved {
			t.Errorf("status = %s", resolved.Status)
		}
		wantStatus(t, st, db, Operational)
	})
}

func TestFollowUpOnResolvedIncidentLeavesComponentsAlone(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		for _, status := range []IncidentStatus{"", Resolved} {
			t.Run("status "+string(status), func(t *testing.T) {
				st := newTestStore(t)
				clk := useClock(st, t0)
				api := mustCreateComponent(t, st, "API")
				inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
				clk.Advance(time.Hour)
				mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
				wantStatus(t, st, api, Operational)

				// Later, something unrelated degrades the API, set by hand.
				clk.Advance(time.Hour)
				if _, err := st.UpdateComponent(t.Context(), api.ID, ComponentPatch{Status: ptr(DegradedPerformance)}); err != nil {
					t.Fatal(err)
				}
				// A follow-up note on the old incident must not flip it back.
				clk.Advance(time.Hour)
				got := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: status, Body: "Root cause found; postmortem to follow."})
				if got.Status != Resolved || len(got.Updates[0].AffectedComponents) != 0 {
					t.Errorf("follow-up: status %s, affected %+v; want resolved, nothing changed", got.Status, got.Updates[0].AffectedComponents)
				}
				wantStatus(t, st, api, DegradedPerformance)
			})
		}
	})
}
