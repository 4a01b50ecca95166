package store

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCreateComponentGroup(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)

		core := mustCreateGroup(t, st, "  Core  ")
		if core.ID == "" || len(core.ID) != 12 {
			t.Errorf("id = %q, want a 12-character id", core.ID)
		}
		if core.Name != "Core" {
			t.Errorf("name = %q, want it trimmed to %q", core.Name, "Core")
		}
		if core.Position != 0 || !core.CreatedAt.Equal(t0) || !core.UpdatedAt.Equal(t0) {
			t.Errorf("group = %+v, want position 0 created at %v", core, t0)
		}
		clk.Advance(time.Second)
		web := mustCreateGroup(t, st, "Web")
		if web.Position != 1 {
			t.Errorf("second group position = %d, want 1 (appended)", web.Position)
		}
		first, err := st.CreateComponentGroup(t.Context(), ComponentGroupInput{Name: "First", Description: "On top", Position: ptr(-1)})
		if err != nil {
			t.Fatal(err)
		}

		groups, err := st.ListComponentGroups(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.Name)
			if g.Components == nil {
				t.Errorf("group %q: Components is nil, want an empty list", g.Name)
			}
		}
		if want := []string{"First", "Core", "Web"}; !slices.Equal(names, want) {
			t.Errorf("groups in page order = %v, want %v", names, want)
		}
		got, err := st.GetComponentGroup(t.Context(), first.ID)
		if err != nil || got.Description != "On top" || got.Position != -1 {
			t.Errorf("GetComponentGroup = %+v, %v; want the description and position given", got, err)
		}
		_, err = st.GetComponentGroup(t.Context(), "nosuchgroup0")
		wantNotFound(t, err)
	})
}

func TestCreateComponent(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		core := mustCreateGroup(t, st, "Core")

		api := mustCreateComponentIn(t, st, "API", core.ID)
		db := mustCreateComponentIn(t, st, "Database", core.ID)
		web := mustCreateComponent(t, st, "Website")
		mail, err := st.CreateComponent(t.Context(), ComponentInput{Name: "Mail", Description: "Outgoing email", Status: DegradedPerformance, Position: ptr(7)})
		if err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			got        Component
			name       string
			group      string
			position   int
			status     ComponentStatus
			descripton string
		}{
			{api, "API", core.ID, 0, Operational, ""},
			{db, "Database", core.ID, 1, Operational, ""},
			{web, "Website", "", 0, Operational, ""},
			{mail, "Mail", "", 7, DegradedPerformance, "Outgoing email"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				stored, err := st.GetComponent(t.Context(), tt.got.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !sameComponent(stored, tt.got) {
					t.Errorf("stored %+v, returned %+v", stored, tt.got)
				}
				if stored.Name != tt.name || stored.GroupID != tt.group || stored.Position != tt.position || stored.Status != tt.status || stored.Description != tt.descripton {
					t.Errorf("got %+v, want name %q group %q position %d status %s", stored, tt.name, tt.group, tt.position, tt.status)
				}
				if !stored.CreatedAt.Equal(t0) || !stored.UpdatedAt.Equal(t0) {
					t.Errorf("times = %v / %v, want %v", stored.CreatedAt, stored.UpdatedAt, t0)
				}
			})
		}

		list, err := st.ListComponents(t.Context())
		if err != nil || len(list) != 4 {
			t.Fatalf("ListComponents = %d, %v; want 4", len(list), err)
		}
		g, err := st.GetComponentGroup(t.Context(), core.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{api.ID, db.ID}; !slices.Equal(g.Components, want) {
			t.Errorf("group components = %v, want %v in position order", g.Components, want)
		}
		_, err = st.GetComponent(t.Context(), "nosuchcompon")
		wantNotFound(t, err)
	})
}

func TestUpdateComponent(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		tests := []struct {
			name  string
			patch func(other ComponentGroup) ComponentPatch
			check func(t *testing.T, got Component, other ComponentGroup)
		}{
			{"name", func(ComponentGroup) ComponentPatch { return ComponentPatch{Name: ptr(" Public API ")} },
				func(t *testing.T, got Component, _ ComponentGroup) {
					if got.Name != "Public API" {
						t.Errorf("name = %q", got.Name)
					}
				}},
			{"description", func(ComponentGroup) ComponentPatch { return ComponentPatch{Description: ptr("REST and GraphQL")} },
				func(t *testing.T, got Component, _ ComponentGroup) {
					if got.Description != "REST and GraphQL" {
						t.Errorf("description = %q", got.Description)
					}
				}},
			{"clear description", func(ComponentGroup) ComponentPatch { return ComponentPatch{Description: ptr("")} },
				func(t *testing.T, got Component, _ ComponentGroup) {
					if got.Description != "" {
						t.Errorf("description = %q", got.Description)
					}
				}},
			{"position", func(ComponentGroup) ComponentPatch { return ComponentPatch{Position: ptr(5)} },
				func(t *testing.T, got Component, _ ComponentGroup) {
					if got.Position != 5 {
						t.Errorf("position = %d", got.Position)
					}
				}},
			{"status", func(ComponentGroup) ComponentPatch { return ComponentPatch{Status: ptr(PartialOutage)} },
				func(t *testing.T, got Component, _ ComponentGroup) {
					if got.Status != PartialOutage {
						t.Errorf("status = %s", got.Status)
					}
				}},
			{"move to another group", func(other ComponentGroup) ComponentPatch { return ComponentPatch{GroupID: &other.ID} },
				func(t *testing.T, got Component, other ComponentGroup) {
					if got.GroupID != other.ID {
						t.Errorf("group = %q, want %q", got.GroupID, other.ID)
					}
				}},
			{"move out of its group", func(ComponentGroup) ComponentPatch { return ComponentPatch{GroupID: ptr("")} },
				func(t *testing.T, got Component, _ ComponentGroup) {
					if got.GroupID != "" {
						t.Errorf("group = %q, want none", got.GroupID)
					}
				}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				clk := useClock(st, t0)
				core := mustCreateGroup(t, st, "Core")
				other := mustCreateGroup(t, st, "Other")
				c, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API", Description: "The API", GroupID: core.ID})
				if err != nil {
					t.Fatal(err)
				}
				later := clk.Advance(time.Hour)

				got, err := st.UpdateComponent(t.Context(), c.ID, tt.patch(other))
				if err != nil {
					t.Fatalf("UpdateComponent: %v", err)
				}
				tt.check(t, got, other)
				stored, err := st.GetComponent(t.Context(), c.ID)
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, stored, other)
				if !sameComponent(stored, got) {
					t.Errorf("stored %+v, returned %+v", stored, got)
				}
				if !stored.UpdatedAt.Equal(later) || !stored.CreatedAt.Equal(t0) {
					t.Errorf("created %v updated %v, want created %v updated %v", stored.CreatedAt, stored.UpdatedAt, t0, later)
				}

				// Fields not in the patch are unchanged.
				p := tt.patch(other)
				if p.Name == nil && stored.Name != c.Name {
					t.Errorf("name changed to %q", stored.Name)
				}
				if p.Description == nil && stored.Description != c.Description {
					t.Errorf("description changed to %q", stored.Description)
				}
				if p.GroupID == nil && stored.GroupID != c.GroupID {
					t.Errorf("group changed to %q", stored.GroupID)
				}
				if p.Position == nil && stored.Position != c.Position {
					t.Errorf("position changed to %d", stored.Position)
				}
				if p.Status == nil && stored.Status != c.Status {
					t.Errorf("status changed to %s", stored.Status)
				}

				// Groups list the component where it now is.
				groups, err := st.ListComponentGroups(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range groups {
					if in := slices.Contains(g.Components, c.ID); in != (g.ID == stored.GroupID) {
						t.Errorf("group %q lists the component: %v; component's group is %q", g.Name, in, stored.GroupID)
					}
				}
			})
		}

		t.Run("unknown id", func(t *testing.T) {
			st := newTestStore(t)
			_, err := st.UpdateComponent(t.Context(), "nosuchcompon", ComponentPatch{Name: ptr("x")})
			wantNotFound(t, err)
		})
	})
}

func TestUpdateComponentGroup(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		g, err := st.CreateComponentGroup(t.Context(), ComponentGroupInput{Name: "Core", Description: "Core services"})
		if err != nil {
			t.Fatal(err)
		}
		c := mustCreateComponentIn(t, st, "API", g.ID)
		tests := []struct {
			name  string
			patch ComponentGroupPatch
			want  func(ComponentGroup) ComponentGroup
		}{
			{"name", ComponentGroupPatch{Name: ptr("Platform")}, func(g ComponentGroup) ComponentGroup { g.Name = "Platform"; return g }},
			{"description", ComponentGroupPatch{Description: ptr("Everything")}, func(g ComponentGroup) ComponentGroup { g.Description = "Everything"; return g }},
			{"position", ComponentGroupPatch{Position: ptr(3)}, func(g ComponentGroup) ComponentGroup { g.Position = 3; return g }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, err := st.GetComponentGroup(t.Context(), g.ID)
				if err != nil {
					t.Fatal(err)
				}
				got, err := st.UpdateComponentGroup(t.Context(), g.ID, tt.patch)
				if err != nil {
					t.Fatalf("UpdateComponentGroup: %v", err)
				}
				want := tt.want(before)
				want.UpdatedAt = got.UpdatedAt
				if !slices.Equal(got.Components, []string{c.ID}) {
					t.Errorf("components = %v, want the group to keep %q", got.Components, c.ID)
				}
				got.Components, want.Components = nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %+v, want %+v", got, want)
				}
			})
		}
		t.Run("unknown id", func(t *testing.T) {
			_, err := st.UpdateComponentGroup(t.Context(), "nosuchgroup0", ComponentGroupPatch{Name: ptr("x")})
			wantNotFound(t, err)
		})
	})
}

func TestDeleteComponentGroupUngroupsItsComponents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		core := mustCreateGroup(t, st, "Core")
		keep := mustCreateGroup(t, st, "Web")
		api := mustCreateComponentIn(t, st, "API", core.ID)
		db := mustCreateComponentIn(t, st, "Database", core.ID)
		site := mustCreateComponentIn(t, st, "Website", keep.ID)

		if err := st.DeleteComponentGroup(t.Context(), core.ID); err != nil {
			t.Fatalf("DeleteComponentGroup: %v", err)
		}
		groups, err := st.ListComponentGroups(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 || groups[0].ID != keep.ID {
			t.Errorf("groups = %+v, want only %q", groups, keep.Name)
		}
		_, err = st.GetComponentGroup(t.Context(), core.ID)
		wantNotFound(t, err)
		for _, c := range []Component{api, db} {
			got, err := st.GetComponent(t.Context(), c.ID)
			if err != nil {
				t.Fatalf("component %q disappeared with its group: %v", c.Name, err)
			}
			if got.GroupID != "" {
				t.Errorf("component %q group = %q, want ungrouped", c.Name, got.GroupID)
			}
		}
		if got, _ := st.GetComponent(t.Context(), site.ID); got.GroupID != keep.ID {
			t.Errorf("component in another group moved to %q", got.GroupID)
		}
		wantNotFound(t, st.DeleteComponentGroup(t.Context(), core.ID))
	})
}

func TestDeleteComponent(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		g := mustCreateGroup(t, st, "Core")
		api := mustCreateComponentIn(t, st, "API", g.ID)
		db := mustCreateComponentIn(t, st, "Database", g.ID)

		if err := st.DeleteComponent(t.Context(), api.ID); err != nil {
			t.Fatalf("DeleteComponent: %v", err)
		}
		_, err := st.GetComponent(t.Context(), api.ID)
		wantNotFound(t, err)
		list, err := st.ListComponents(t.Context())
		if err != nil || len(list) != 1 || list[0].ID != db.ID {
			t.Errorf("ListComponents = %+v, %v; want only %q", list, err, db.Name)
		}
		if got, _ := st.GetComponentGroup(t.Context(), g.ID); !slices.Equal(got.Components, []string{db.ID}) {
			t.Errorf("group components = %v, want only %q", got.Components, db.ID)
		}
		if h := historyOf(t, st, api.ID); len(h) != 0 {
			t.Errorf("deleted component still has history %+v", h)
		}
		wantNotFound(t, st.DeleteComponent(t.Context(), api.ID))
	})
}

func TestComponentValidation(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		long := strings.Repeat("é", MaxNameLength+1)
		tests := []struct {
			name  string
			do    func(t *testing.T, st *Store, c Component, g ComponentGroup) error
			field string
		}{
			{"create: empty name", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: ""})
				return err
			}, "name"},
			{"create: blank name", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: " \t\n "})
				return err
			}, "name"},
			{"create: name over 255 characters", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: long})
				return err
			}, "name"},
			{"create: invalid UTF-8", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API \xff\xfe"})
				return err
			}, "name"},
			{"create: NUL in name", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API\x00"})
				return err
			}, "name"},
			{"create: description too long", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API", Description: strings.Repeat("x", MaxDescriptionLength+1)})
				return err
			}, "description"},
			{"create: unknown status", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API", Status: "on_fire"})
				return err
			}, "status"},
			{"create: nonexistent group", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API", GroupID: "nosuchgroup0"})
				return err
			}, "group_id"},
			{"update: empty name", func(t *testing.T, st *Store, c Component, _ ComponentGroup) error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr("")})
				return err
			}, "name"},
			{"update: name over 255 characters", func(t *testing.T, st *Store, c Component, _ ComponentGroup) error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr(long)})
				return err
			}, "name"},
			{"update: invalid UTF-8", func(t *testing.T, st *Store, c Component, _ ComponentGroup) error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Description: ptr("\xc3\x28")})
				return err
			}, "description"},
			{"update: unknown status with a valid name", func(t *testing.T, st *Store, c Component, _ ComponentGroup) error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr("Renamed"), Status: ptr(ComponentStatus("down"))})
				return err
			}, "status"},
			{"update: nonexistent group", func(t *testing.T, st *Store, c Component, _ ComponentGroup) error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr("Renamed"), GroupID: ptr("nosuchgroup0")})
				return err
			}, "group_id"},
			{"create group: empty name", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponentGroup(t.Context(), ComponentGroupInput{Name: ""})
				return err
			}, "name"},
			{"create group: name over 255 characters", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponentGroup(t.Context(), ComponentGroupInput{Name: long})
				return err
			}, "name"},
			{"create group: invalid UTF-8", func(t *testing.T, st *Store, _ Component, _ ComponentGroup) error {
				_, err := st.CreateComponentGroup(t.Context(), ComponentGroupInput{Name: "\xff"})
				return err
			}, "name"},
			{"update group: empty name", func(t *testing.T, st *Store, _ Component, g ComponentGroup) error {
				_, err := st.UpdateComponentGroup(t.Context(), g.ID, ComponentGroupPatch{Name: ptr("   ")})
				return err
			}, "name"},
			{"update group: description too long", func(t *testing.T, st *Store, _ Component, g ComponentGroup) error {
				_, err := st.UpdateComponentGroup(t.Context(), g.ID, ComponentGroupPatch{Position: ptr(9), Description: ptr(strings.Repeat("é", MaxDescriptionLength+1))})
				return err
			}, "description"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st := newTestStore(t)
				g := mustCreateGroup(t, st, "Core")
				c := mustCreateComponentIn(t, st, "API", g.ID)
				before := tableCounts(t, st)

				err := tt.do(t, st, c, g)
				wantValidationError(t, err, tt.field)
				wantUnchanged(t, st, before)
				if got, _ := st.GetComponent(t.Context(), c.ID); !sameComponent(got, c) {
					t.Errorf("component changed to %+v, want %+v", got, c)
				}
				if got, _ := st.GetComponentGroup(t.Context(), g.ID); got.Name != g.Name || got.Position != g.Position || got.Description != g.Description {
					t.Errorf("group changed to %+v, want %+v", got, g)
				}
			})
		}

		t.Run("name of exactly 255 characters is accepted", func(t *testing.T) {
			st := newTestStore(t)
			name := strings.Repeat("é", MaxNameLength)
			c, err := st.CreateComponent(t.Context(), ComponentInput{Name: name})
			if err != nil || c.Name != name {
				t.Errorf("CreateComponent(255 runes) = %q, %v", c.Name, err)
			}
		})
	})
}

// Alertmanager alerts name components by name: two of one name in a group
// would leave such an alert matching neither.
func TestComponentNamesDifferWithinAGroup(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		// Each case starts from: group Core with API and Web, and Search and
		// Mail outside any group.
		type world struct {
			core             ComponentGroup
			api, web, search Component
			twin             Component // made by a case's prepare
		}
		refused := []struct {
			name    string
			prepare func(t *testing.T, st *Store, w *world)
			do      func(t *testing.T, st *Store, w world) error
		}{
			{"create: the same name in the group, case and space aside", nil, func(t *testing.T, st *Store, w world) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: " api ", GroupID: w.core.ID})
				return err
			}},
			{"create: the same name outside any group", nil, func(t *testing.T, st *Store, w world) error {
				_, err := st.CreateComponent(t.Context(), ComponentInput{Name: "SEARCH"})
				return err
			}},
			{"update: renamed to a name taken in its group", nil, func(t *testing.T, st *Store, w world) error {
				_, err := st.UpdateComponent(t.Context(), w.web.ID, ComponentPatch{Name: ptr("Api"), Status: ptr(MajorOutage)})
				return err
			}},
			{"update: moved into a group where its name is taken", func(t *testing.T, st *Store, w *world) {
				w.twin = mustCreateComponentIn(t, st, "web", mustCreateGroup(t, st, "Edge").ID)
			}, func(t *testing.T, st *Store, w world) error {
				_, err := st.UpdateComponent(t.Context(), w.twin.ID, ComponentPatch{GroupID: ptr(w.core.ID)})
				return err
			}},
			{"update: moved out of its group next to a twin", func(t *testing.T, st *Store, w *world) {
				w.twin = mustCreateComponentIn(t, st, "Search", w.core.ID)
			}, func(t *testing.T, st *Store, w world) error {
				_, err := st.UpdateComponent(t.Context(), w.twin.ID, ComponentPatch{GroupID: ptr("")})
				return err
			}},
		}
		// Each case starts from: group Core with API and Web, and Search and
		// Mail outside any group.
		setup := func(t *testing.T) (*Store, world) {
			st := newTestStore(t)
			var w world
			w.core = mustCreateGroup(t, st, "Core")
			w.api = mustCreateComponentIn(t, st, "API", w.core.ID)
			w.web = mustCreateComponentIn(t, st, "Web", w.core.ID)
			w.search = mustCreateComponent(t, st, "Search")
			mustCreateComponent(t, st, "Mail")
			return st, w
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				st, w := setup(t)
				if tt.prepare != nil {
					tt.prepare(t, st, &w)
				}
				before, events := tableCounts(t, st), lastEventID(t, st)
				err := tt.do(t, st, w)
				wantValidationError(t, err, "name")
				if !strings.Contains(err.Error(), "names within a group must differ") {
					t.Errorf("error %q does not say why", err)
				}
				wantUnchanged(t, st, before)
				if last := lastEventID(t, st); last != events {
					t.Errorf("a refused change wrote change-feed events (%d to %d)", events, last)
				}
				for _, c := range []Component{w.web, w.twin} {
					if got, _ := st.GetComponent(t.Context(), c.ID); c.ID != "" && !sameComponent(got, c) {
						t.Errorf("%s changed to %+v", c.Name, got)
					}
				}
			})
		}

		t.Run("deleting a group that would leave twins outside any group", func(t *testing.T) {
			st, w := setup(t)
			edge := mustCreateGroup(t, st, "Edge")
			mustCreateComponentIn(t, st, "search", edge.ID)
			before, events := tableCounts(t, st), lastEventID(t, st)
			wantConflict(t, st.DeleteComponentGroup(t.Context(), edge.ID))
			wantUnchanged(t, st, before)
			if last := lastEventID(t, st); last != events {
				t.Errorf("a refused deletion wrote change-feed events (%d to %d)", events, last)
			}
			if err := st.DeleteComponentGroup(t.Context(), w.core.ID); err != nil {
				t.Errorf("deleting a group whose names are free outside: %v", err)
			}
		})

		t.Run("allowed", func(t *testing.T) {
			st, w := setup(t)
			if _, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API"}); err != nil {
				t.Errorf("the same name in another group (none): %v", err)
			}
			if _, err := st.UpdateComponent(t.Context(), w.api.ID, ComponentPatch{Name: ptr("api")}); err != nil {
				t.Errorf("renaming a component to its own name in another case: %v", err)
			}
			if _, err := st.UpdateComponent(t.Context(), w.web.ID, ComponentPatch{Name: ptr("Web"), Description: ptr("The site")}); err != nil {
				t.Errorf("saving a component with its name unchanged: %v", err)
			}
		})

		// A database from before the rule can hold twins: they keep working,
		// and renaming one tells them apart.
		t.Run("twins from before the rule", func(t *testing.T) {
			st, w := setup(t)
			if _, err := st.write.ExecContext(t.Context(), `UPDATE components SET name = 'API' WHERE id = ?`, w.web.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.UpdateComponent(t.Context(), w.web.ID, ComponentPatch{Status: ptr(MajorOutage), Description: ptr("still here")}); err != nil {
				t.Errorf("status change of a twin: %v", err)
			}
			if _, err := st.UpdateComponent(t.Context(), w.web.ID, ComponentPatch{Name: ptr("Web")}); err != nil {
				t.Errorf("renaming a twin apart: %v", err)
			}
		})
	})
}

func TestStatusHistory(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		other := mustCreateComponent(t, st, "Website")

		setStatus := func(at time.Time, status ComponentStatus) {
			t.Helper()
			clk.Set(at)
			if _, err := st.UpdateComponent(t.Context(), api.ID, ComponentPatch{Status: &status}); err != nil {
				t.Fatalf("set %s: %v", status, err)
			}
		}
		setStatus(t0.Add(1*time.Hour), DegradedPerformance)
		setStatus(t0.Add(2*time.Hour), DegradedPerformance) // the same again: nothing new
		setStatus(t0.Add(3*time.Hour), MajorOutage)
		clk.Set(t0.Add(4 * time.Hour))
		if _, err := st.UpdateComponent(t.Context(), api.ID, ComponentPatch{Name: ptr("Public API")}); err != nil { // not a status change
			t.Fatal(err)
		}
		// An incident's changes are recorded the same way.
		clk.Set(t0.Add(5 * time.Hour))
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Slow", Components: map[string]ComponentStatus{api.ID: PartialOutage}})
		clk.Set(t0.Add(6 * time.Hour))
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})

		want := []StatusChange{
			{api.ID, Operational, t0},
			{api.ID, DegradedPerformance, t0.Add(1 * time.Hour)},
			{api.ID, MajorOutage, t0.Add(3 * time.Hour)},
			{api.ID, PartialOutage, t0.Add(5 * time.Hour)},
			{api.ID, Operational, t0.Add(6 * time.Hour)},
		}
		if got := historyOf(t, st, api.ID); !equalHistory(got, want) {
			t.Errorf("history =\n%v\nwant\n%v", got, want)
		}
		if got := historyOf(t, st, other.ID); !equalHistory(got, []StatusChange{{other.ID, Operational, t0}}) {
			t.Errorf("untouched component's history = %v, want only its creation", got)
		}

		t.Run("since a time starts with the status then in force", func(t *testing.T) {
			h, err := st.StatusHistory(t.Context(), t0.Add(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := h[api.ID]; !equalHistory(got, want[1:]) {
				t.Errorf("history since +2h =\n%v\nwant\n%v", got, want[1:])
			}
			if got := h[other.ID]; !equalHistory(got, []StatusChange{{other.ID, Operational, t0}}) {
				t.Errorf("untouched component since +2h = %v, want its creation", got)
			}
		})
		t.Run("since a change's exact time includes it once", func(t *testing.T) {
			h, err := st.StatusHistory(t.Context(), t0.Add(3*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := h[api.ID]; !equalHistory(got, want[1:]) {
				t.Errorf("history since +3h =\n%v\nwant\n%v", got, want[1:])
			}
		})
	})
}

func equalHistory(got, want []StatusChange) bool {
	return slices.EqualFunc(got, want, func(a, b StatusChange) bool {
		return a.ComponentID == b.ComponentID && a.Status == b.Status && a.At.Equal(b.At)
	})
}

// sameComponent compares components field by field, times as instants.
func sameComponent(a, b Component) bool {
	return a.ID == b.ID && a.GroupID == b.GroupID && a.Name == b.Name && a.Description == b.Description &&
		a.Position == b.Position && a.Status == b.Status && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestUpdateThatChangesNothingWritesNothing(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		g := mustCreateGroup(t, st, "Core")
		c := mustCreateComponentIn(t, st, "API", g.ID)
		tests := map[string]func() error{
			"empty component patch": func() error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{})
				return err
			},
			"component patch with the current values": func() error {
				_, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr("API"), GroupID: ptr(g.ID), Status: ptr(Operational)})
				return err
			},
			"group patch with the current name": func() error {
				_, err := st.UpdateComponentGroup(t.Context(), g.ID, ComponentGroupPatch{Name: ptr("Core")})
				return err
			},
		}
		for name, do := range tests {
			t.Run(name, func(t *testing.T) {
				before := tableCounts(t, st)
				if err := do(); err != nil {
					t.Fatal(err)
				}
				wantUnchanged(t, st, before)
				if got, _ := st.GetComponent(t.Context(), c.ID); !sameComponent(got, c) {
					t.Errorf("component changed to %+v", got)
				}
			})
		}
	})
}

// A position saved before positions were bounded may be as far as the
// database's integers go: the next create after it still gets a position
// (the bound), not an overflow.
func TestNextPositionAfterAnUnboundedOne(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		g := mustCreateGroup(t, st, "Core")
		old := mustCreateComponentIn(t, st, "Old", g.ID)
		far := int64(1<<63 - 1)
		if onPostgres(t) {
			far = 1<<31 - 1 // its column is a 32-bit integer
		}
		if _, err := st.write.ExecContext(t.Context(), `UPDATE components SET position = ? WHERE id = ?`, far, old.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.write.ExecContext(t.Context(), `UPDATE component_groups SET position = ? WHERE id = ?`, far, g.ID); err != nil {
			t.Fatal(err)
		}
		next := mustCreateComponentIn(t, st, "New", g.ID)
		if next.Position != MaxPosition {
			t.Errorf("next position = %d, want %d", next.Position, MaxPosition)
		}
		ng := mustCreateGroup(t, st, "Next")
		if ng.Position != MaxPosition {
			t.Errorf("next group position = %d, want %d", ng.Position, MaxPosition)
		}
		if _, err := st.ListComponents(t.Context()); err != nil {
			t.Errorf("list after: %v", err)
		}
	})
}
