package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// highestMigration reads the migrations folder itself, so the test does not
// trust the code it checks to count them.
func highestMigration(t *testing.T, backend string) (highest, count int) {
	t.Helper()
	entries, err := os.ReadDir("migrations/" + backend)
	if err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			t.Fatalf("migration %s is not numbered: %v", e.Name(), err)
		}
		highest = max(highest, n)
		count++
	}
	if count == 0 {
		t.Fatal("no migrations found")
	}
	return highest, count
}

func TestOpenMigratesFromEmpty(t *testing.T) {
	t.Parallel()
	highest, count := highestMigration(t, "sqlite")
	path := filepath.Join(t.TempDir(), "herald.db")

	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open on a new file: %v", err)
	}
	if got, err := st.SchemaVersion(t.Context()); err != nil || got != highest {
		t.Fatalf("SchemaVersion = %d, %v; want %d", got, err, highest)
	}
	if n := countRows(t, st, "schema_migrations"); n != count {
		t.Errorf("schema_migrations has %d rows, want one per migration (%d)", n, count)
	}
	for _, table := range []string{
		"component_groups", "components", "component_status_changes", "incidents", "incident_components",
		"incident_updates", "incident_update_components", "maintenances", "maintenance_components",
		"maintenance_updates", "api_tokens", "events", "audit_log",
	} {
		var n int
		if err := st.read.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: found %d, %v", table, n, err)
		}
	}
	if st.Path() != path {
		t.Errorf("Path() = %q, want %q", st.Path(), path)
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	c, err := st.CreateComponent(t.Context(), ComponentInput{Name: "API"})
	if err != nil {
		t.Fatalf("CreateComponent: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Opening again applies nothing twice and keeps the data.
	for i := range 2 {
		st := openTestStore(t, path)
		if got, err := st.SchemaVersion(t.Context()); err != nil || got != highest {
			t.Errorf("reopen %d: SchemaVersion = %d, %v; want %d", i+1, got, err, highest)
		}
		if n := countRows(t, st, "schema_migrations"); n != count {
			t.Errorf("reopen %d: schema_migrations has %d rows, want %d", i+1, n, count)
		}
		got, err := st.GetComponent(t.Context(), c.ID)
		if err != nil || got.Name != "API" {
			t.Errorf("reopen %d: GetComponent = %+v, %v; want the component created before", i+1, got, err)
		}
	}
}

func TestOpenRefusesWhatIsNotADatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not a database\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"a text file":         garbage,
		"a missing directory": filepath.Join(dir, "missing", "herald.db"),
		"a directory":         dir,
	}
	for name, path := range tests {
		t.Run(name, func(t *testing.T) {
			st, err := Open(t.Context(), path)
			if err == nil {
				st.Close()
				t.Fatalf("Open(%s) succeeded, want an error", path)
			}
		})
	}
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	st := newTestStore(t)
	for name, db := range map[string]querier{"write": st.write, "read": st.read} {
		t.Run(name, func(t *testing.T) {
			var mode string
			if err := db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v; want wal", mode, err)
			}
			var fk int
			if err := db.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
				t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
			}
			var busy int
			if err := db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&busy); err != nil || busy <= 0 {
				t.Errorf("busy_timeout = %d, %v; want a positive wait", busy, err)
			}
		})
	}
}

func TestForeignKeysAreEnforced(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		_, err := st.write.ExecContext(t.Context(), `INSERT INTO components (id, group_id, name, status, created_at, updated_at) VALUES ('x', 'no-such-group', 'X', 'operational', ?, ?)`, t0, t0)
		if err == nil {
			t.Fatal("inserting a component in a group that does not exist succeeded; foreign keys are off")
		}
	})
}

func TestConcurrentWritersAllSucceed(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		const writers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each*2)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := st.CreateComponent(t.Context(), ComponentInput{Name: "c" + strconv.Itoa(w) + "-" + strconv.Itoa(i)}); err != nil {
						errs <- err
					}
					if _, err := st.ListComponents(t.Context()); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent write or read: %v", err)
		}
		if n := countRows(t, st, "components"); n != writers*each {
			t.Errorf("%d components stored, want %d", n, writers*each)
		}
	})
}

func TestBackup(t *testing.T) {
	t.Parallel()
	st := newTestStore(t)
	g := mustCreateGroup(t, st, "Core")
	api := mustCreateComponentIn(t, st, "API", g.ID)
	inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
	_, token, err := st.CreateToken(t.Context(), "ci")
	if err != nil {
		t.Fatal(err)
	}

	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := st.Backup(t.Context(), dest); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	// The original keeps working after the backup.
	mustCreateComponent(t, st, "Added after the backup")

	b := openTestStore(t, dest)
	highest, _ := highestMigration(t, "sqlite")
	if v, err := b.SchemaVersion(t.Context()); err != nil || v != highest {
		t.Errorf("backup SchemaVersion = %d, %v; want %d", v, err, highest)
	}
	gotComponents, err := b.ListComponents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(gotComponents) != 1 || gotComponents[0].ID != api.ID || gotComponents[0].GroupID != g.ID || gotComponents[0].Status != MajorOutage {
		t.Errorf("backup components = %+v, want only %q, in group %q, major_outage", gotComponents, api.Name, g.Name)
	}
	gotInc, err := b.GetIncident(t.Context(), inc.ID)
	if err != nil {
		t.Fatalf("backup GetIncident: %v", err)
	}
	if !reflect.DeepEqual(gotInc, inc) {
		t.Errorf("backup incident differs:\n got %+v\nwant %+v", gotInc, inc)
	}
	if _, err := b.AuthenticateToken(t.Context(), token); err != nil {
		t.Errorf("token does not authenticate against the backup: %v", err)
	}
	if orig, copied := countRows(t, st, "audit_log"), countRows(t, b, "audit_log"); copied != orig-1 {
		t.Errorf("backup audit log has %d entries, want %d (all but the change made after it)", copied, orig-1)
	}

	t.Run("refuses to overwrite an existing file", func(t *testing.T) {
		before, err := os.ReadFile(dest)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Backup(t.Context(), dest); err == nil {
			t.Fatal("Backup over an existing backup succeeded, want an error")
		}
		after, err := os.ReadFile(dest)
		if err != nil {
			t.Fatal(err)
		}
		if string(before) != string(after) {
			t.Error("the existing backup file was changed")
		}
	})
}

// change is one kind of change a user can make, set up on a fresh store.
type change struct {
	name       string
	setup      func(t *testing.T, st *Store) string // returns the id the change acts on
	do         func(ctx context.Context, st *Store, id string) (objectID string, err error)
	action     string // audit action
	objectType string
	event      string // change feed type; "" when the change is not public
	hasBefore  bool
	hasAfter   bool
}

func everyChange() []change {
	none := func(t *testing.T, st *Store) string { return "" }
	group := func(t *testing.T, st *Store) string { return mustCreateGroup(t, st, "Core").ID }
	component := func(t *testing.T, st *Store) string { return mustCreateComponent(t, st, "API").ID }
	incident := func(t *testing.T, st *Store) string {
		c := mustCreateComponent(t, st, "API")
		return mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{c.ID: MajorOutage}}).ID
	}
	resolvedIncident := func(t *testing.T, st *Store) string {
		id := incident(t, st)
		mustPostUpdate(t, st, id, IncidentUpdateInput{Status: Resolved})
		return id
	}
	maintenance := func(t *testing.T, st *Store) string {
		c := mustCreateComponent(t, st, "API")
		return mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{c.ID}, ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)}).ID
	}
	token := func(t *testing.T, st *Store) string {
		tok, _, err := st.CreateToken(t.Context(), "ci")
		if err != nil {
			t.Fatal(err)
		}
		return tok.ID
	}
	return []change{
		{"create group", none, func(ctx context.Context, st *Store, _ string) (string, error) {
			g, err := st.CreateComponentGroup(ctx, ComponentGroupInput{Name: "Core"})
			return g.ID, err
		}, "component_group.create", "component_group", "component_group.created", false, true},
		{"update group", group, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.UpdateComponentGroup(ctx, id, ComponentGroupPatch{Name: ptr("Platform")})
			return id, err
		}, "component_group.update", "component_group", "component_group.updated", true, true},
		{"delete group", group, func(ctx context.Context, st *Store, id string) (string, error) {
			return id, st.DeleteComponentGroup(ctx, id)
		}, "component_group.delete", "component_group", "component_group.deleted", true, false},
		{"create component", none, func(ctx context.Context, st *Store, _ string) (string, error) {
			c, err := st.CreateComponent(ctx, ComponentInput{Name: "API"})
			return c.ID, err
		}, "component.create", "component", "component.created", false, true},
		{"update component", component, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.UpdateComponent(ctx, id, ComponentPatch{Name: ptr("Public API")})
			return id, err
		}, "component.update", "component", "component.updated", true, true},
		{"change component status", component, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.UpdateComponent(ctx, id, ComponentPatch{Status: ptr(DegradedPerformance)})
			return id, err
		}, "component.update", "component", "component.updated", true, true},
		{"delete component", component, func(ctx context.Context, st *Store, id string) (string, error) {
			return id, st.DeleteComponent(ctx, id)
		}, "component.delete", "component", "component.deleted", true, false},
		{"create incident", component, func(ctx context.Context, st *Store, cid string) (string, error) {
			inc, err := st.CreateIncident(ctx, IncidentInput{Name: "Down", Body: "Looking.", Components: map[string]ComponentStatus{cid: MajorOutage}})
			return inc.ID, err
		}, "incident.create", "incident", "incident.created", false, true},
		{"post incident update", incident, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.PostIncidentUpdate(ctx, id, IncidentUpdateInput{Status: Identified, Body: "Found it."})
			return id, err
		}, "incident.update_posted", "incident", "incident.updated", true, true},
		{"update incident", incident, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.UpdateIncident(ctx, id, IncidentPatch{Name: ptr("Logins down")})
			return id, err
		}, "incident.update", "incident", "incident.updated", true, true},
		{"publish postmortem", resolvedIncident, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.PublishPostmortem(ctx, id, "What happened.")
			return id, err
		}, "incident.postmortem_published", "incident", "incident.updated", false, true},
		{"create maintenance", component, func(ctx context.Context, st *Store, cid string) (string, error) {
			m, err := st.CreateMaintenance(ctx, MaintenanceInput{Name: "Upgrade", Body: "Planned.", Components: []string{cid}, ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)})
			return m.ID, err
		}, "maintenance.create", "maintenance", "maintenance.created", false, true},
		{"update maintenance", maintenance, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.UpdateMaintenance(ctx, id, MaintenancePatch{Name: ptr("Bigger upgrade")})
			return id, err
		}, "maintenance.update", "maintenance", "maintenance.updated", true, true},
		{"post maintenance update", maintenance, func(ctx context.Context, st *Store, id string) (string, error) {
			_, err := st.PostMaintenanceUpdate(ctx, id, MaintenanceUpdateInput{Status: MaintenanceInProgress, Body: "Started."})
			return id, err
		}, "maintenance.update_posted", "maintenance", "maintenance.updated", true, true},
		{"create token", none, func(ctx context.Context, st *Store, _ string) (string, error) {
			tok, _, err := st.CreateToken(ctx, "ci")
			return tok.ID, err
		}, "token.create", "api_token", "", false, true},
		{"revoke token", token, func(ctx context.Context, st *Store, id string) (string, error) {
			return id, st.RevokeToken(ctx, id)
		}, "token.revoke", "api_token", "", true, true},
	}
}

func TestAuditLogRecordsEveryChange(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		alice := Actor{Type: "user", ID: "u1", Name: "Alice"}
		for _, ch := range everyChange() {
			t.Run(ch.name, func(t *testing.T) {
				st := newTestStore(t)
				clk := useClock(st, t0)
				id := ch.setup(t, st)
				before := len(auditEntries(t, st))
				at := clk.Advance(time.Minute)

				objectID, err := ch.do(WithActor(t.Context(), alice), st, id)
				if err != nil {
					t.Fatalf("change: %v", err)
				}
				entries := auditEntries(t, st)
				if len(entries) != before+1 {
					t.Fatalf("audit log grew by %d entries, want 1", len(entries)-before)
				}
				e := entries[0]
				if e.Actor != alice {
					t.Errorf("actor = %+v, want %+v", e.Actor, alice)
				}
				if e.Action != ch.action || e.ObjectType != ch.objectType || e.ObjectID != objectID {
					t.Errorf("entry = %s %s %s, want %s %s %s", e.Action, e.ObjectType, e.ObjectID, ch.action, ch.objectType, objectID)
				}
				if !e.At.Equal(at) {
					t.Errorf("entry at %v, want %v", e.At, at)
				}
				for _, side := range []struct {
					name string
					raw  json.RawMessage
					want bool
				}{{"before", e.Before, ch.hasBefore}, {"after", e.After, ch.hasAfter}} {
					if (side.raw != nil) != side.want {
						t.Errorf("%s = %s, want present: %v", side.name, side.raw, side.want)
					}
					if side.raw != nil && !json.Valid(side.raw) {
						t.Errorf("%s is not valid JSON: %s", side.name, side.raw)
					}
				}
				// The filtered view finds the same entry.
				byObject, err := st.QueryAuditLog(t.Context(), AuditFilter{ObjectType: ch.objectType, ObjectID: objectID, Limit: 1})
				if err != nil || len(byObject) != 1 || byObject[0].ID != e.ID {
					t.Errorf("AuditLog(%s, %s) = %+v, %v; want the entry just written", ch.objectType, objectID, byObject, err)
				}
			})
		}
	})
}

func TestAuditLogBeforeAndAfter(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		c := mustCreateComponent(t, st, "API")
		if _, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr("Public API"), Status: ptr(MajorOutage)}); err != nil {
			t.Fatal(err)
		}
		e := auditEntries(t, st)[0]
		var before, after Component
		if err := json.Unmarshal(e.Before, &before); err != nil {
			t.Fatalf("before: %v", err)
		}
		if err := json.Unmarshal(e.After, &after); err != nil {
			t.Fatalf("after: %v", err)
		}
		if before.Name != "API" || before.Status != Operational {
			t.Errorf("before = %+v, want the component as it was (API, operational)", before)
		}
		if after.Name != "Public API" || after.Status != MajorOutage {
			t.Errorf("after = %+v, want the component as it is now (Public API, major_outage)", after)
		}
	})
}

func TestAuditActorDefaultsToSystem(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		mustCreateComponent(t, st, "API") // a plain context: no actor
		if got := auditEntries(t, st)[0].Actor; got != SystemActor {
			t.Errorf("actor = %+v, want %+v", got, SystemActor)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		mustCreateComponent(t, st, "API")
		original := auditEntries(t, st)
		tests := map[string]string{
			"update": `UPDATE audit_log SET actor_name = 'Mallory'`,
			"delete": `DELETE FROM audit_log`,
		}
		for name, stmt := range tests {
			t.Run(name, func(t *testing.T) {
				_, err := st.write.ExecContext(t.Context(), stmt)
				if err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: error = %v, want the append-only trigger to refuse it", stmt, err)
				}
				if got := auditEntries(t, st); !reflect.DeepEqual(got, original) {
					t.Errorf("audit log changed: %+v, want %+v", got, original)
				}
			})
		}
	})
}

func TestChangeFeedRecordsEveryPublicChange(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		for _, ch := range everyChange() {
			t.Run(ch.name, func(t *testing.T) {
				st := newTestStore(t)
				id := ch.setup(t, st)
				since := lastEventID(t, st)
				signals, stop := st.Changes()
				defer stop()

				objectID, err := ch.do(t.Context(), st, id)
				if err != nil {
					t.Fatalf("change: %v", err)
				}
				events, err := st.EventsSince(t.Context(), since, 100)
				if err != nil {
					t.Fatal(err)
				}
				if ch.event == "" {
					if len(events) != 0 || signalled(signals) {
						t.Errorf("a change that is not public wrote events %+v or signalled", events)
					}
					return
				}
				if !signalled(signals) {
					t.Error("subscriber was not signalled")
				}
				if len(events) == 0 {
					t.Fatal("no event appended")
				}
				found := false
				for i, e := range events {
					if i > 0 && e.ID <= events[i-1].ID {
						t.Errorf("events out of order: %d after %d", e.ID, events[i-1].ID)
					}
					if e.Type == ch.event && e.ObjectType == ch.objectType && e.ObjectID == objectID {
						found = true
					}
				}
				if !found {
					t.Errorf("events = %+v, want one %s on %s %s", events, ch.event, ch.objectType, objectID)
				}
				if last := lastEventID(t, st); last != events[len(events)-1].ID {
					t.Errorf("LastEventID = %d, want %d", last, events[len(events)-1].ID)
				}
			})
		}
	})
}

func TestChangeFeedIgnoresRefusedChanges(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		c := mustCreateComponent(t, st, "API")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{c.ID: MajorOutage}})
		m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{c.ID}, ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)})
		mustPostMaintenanceUpdate(t, st, m.ID, MaintenanceVerifying)

		refused := map[string]func(ctx context.Context) error{
			"component with no name": func(ctx context.Context) error {
				_, err := st.CreateComponent(ctx, ComponentInput{Name: " "})
				return err
			},
			"component with unknown status": func(ctx context.Context) error {
				_, err := st.UpdateComponent(ctx, c.ID, ComponentPatch{Name: ptr("renamed"), Status: ptr(ComponentStatus("sideways"))})
				return err
			},
			"incident on unknown component": func(ctx context.Context) error {
				_, err := st.CreateIncident(ctx, IncidentInput{Name: "X", Body: "x", Components: map[string]ComponentStatus{c.ID: Operational, "nosuchcompon": MajorOutage}})
				return err
			},
			"update on unknown incident": func(ctx context.Context) error {
				_, err := st.PostIncidentUpdate(ctx, "nosuchincide", IncidentUpdateInput{Status: Resolved, Body: "x"})
				return err
			},
			"postmortem on an open incident": func(ctx context.Context) error {
				_, err := st.PublishPostmortem(ctx, inc.ID, "too early")
				return err
			},
			"maintenance going backwards": func(ctx context.Context) error {
				_, err := st.PostMaintenanceUpdate(ctx, m.ID, MaintenanceUpdateInput{Status: MaintenanceInProgress, Body: "again"})
				return err
			},
			"delete unknown group": func(ctx context.Context) error {
				return st.DeleteComponentGroup(ctx, "nosuchgroup0")
			},
		}
		signals, stop := st.Changes()
		defer stop()
		for name, do := range refused {
			t.Run(name, func(t *testing.T) {
				before := tableCounts(t, st)
				since := lastEventID(t, st)
				if err := do(t.Context()); err == nil {
					t.Fatal("change succeeded, want it refused")
				}
				if last := lastEventID(t, st); last != since {
					t.Errorf("LastEventID moved from %d to %d", since, last)
				}
				if signalled(signals) {
					t.Error("subscriber was signalled for a refused change")
				}
				wantUnchanged(t, st, before)
			})
		}
	})
}

func TestChanges(t *testing.T) {
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		if id := lastEventID(t, st); id != 0 {
			t.Errorf("LastEventID on an empty database = %d, want 0", id)
		}
		first, stopFirst := st.Changes()
		second, stopSecond := st.Changes()
		defer stopSecond()

		t.Run("every listener is signalled, once for several changes, with the newest feed id", func(t *testing.T) {
			mustCreateComponent(t, st, "API")
			mustCreateComponent(t, st, "Web")
			c1, ok1 := pendingChange(first)
			c2, ok2 := pendingChange(second)
			if !ok1 || !ok2 {
				t.Fatal("a listener was not signalled")
			}
			if signalled(first) || signalled(second) {
				t.Error("signals are not coalesced: a second one was pending")
			}
			events, err := st.EventsSince(t.Context(), 0, 100)
			if err != nil || len(events) != 2 {
				t.Fatalf("EventsSince(0) = %d events, %v; want both changes", len(events), err)
			}
			want := Change{Feed: events[1].ID}
			if c1 != want || c2 != want {
				t.Errorf("signals = %+v, %+v; want %+v (the newest event, no jobs)", c1, c2, want)
			}
		})
		t.Run("a change that queues notifications says so, merged with what is pending", func(t *testing.T) {
			c := mustCreateComponent(t, st, "Status")
			mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{c.ID: MajorOutage}})
			mustCreateComponent(t, st, "Later") // no job: the merged signal still says jobs were queued
			got, ok := pendingChange(second)
			if !ok || !got.Jobs || got.Feed != lastEventID(t, st) {
				t.Errorf("signal = %+v, %v; want jobs and feed id %d", got, ok, lastEventID(t, st))
			}
			pendingChange(first)
		})
		t.Run("notification work without a public change signals jobs only", func(t *testing.T) {
			if err := st.SubscribeEmail(t.Context(), SubscriberInput{Email: "reader@example.com"}); err != nil {
				t.Fatal(err)
			}
			if got, ok := pendingChange(second); !ok || got != (Change{Jobs: true}) {
				t.Errorf("signal = %+v, %v; want jobs only", got, ok)
			}
			pendingChange(first)
		})
		t.Run("EventsSince pages", func(t *testing.T) {
			page, err := st.EventsSince(t.Context(), 0, 1)
			if err != nil || len(page) != 1 {
				t.Fatalf("EventsSince(0, 1) = %+v, %v", page, err)
			}
			all, err := st.EventsSince(t.Context(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			rest, err := st.EventsSince(t.Context(), page[0].ID, 100)
			if err != nil || len(rest) != len(all)-1 || rest[0].ID <= page[0].ID {
				t.Errorf("EventsSince(%d) = %d events, %v; want the %d after it", page[0].ID, len(rest), err, len(all)-1)
			}
		})
		t.Run("a stopped subscription is not signalled", func(t *testing.T) {
			stopFirst()
			mustCreateComponent(t, st, "Mail")
			if signalled(first) {
				t.Error("stopped subscriber was signalled")
			}
			if !signalled(second) {
				t.Error("remaining subscriber was not signalled")
			}
		})
	})
}

func TestChangeFeedPayload(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		g := mustCreateGroup(t, st, "Core")
		c := mustCreateComponentIn(t, st, "API", g.ID)

		// newEvents returns what one change appended.
		newEvents := func(t *testing.T, change func()) []Event {
			t.Helper()
			since := lastEventID(t, st)
			change()
			events, err := st.EventsSince(t.Context(), since, 100)
			if err != nil {
				t.Fatal(err)
			}
			return events
		}

		t.Run("one event per object, with its state after the change", func(t *testing.T) {
			events := newEvents(t, func() {
				if _, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Name: ptr("Public API"), Status: ptr(MajorOutage)}); err != nil {
					t.Fatal(err)
				}
			})
			if len(events) != 1 || events[0].Type != "component.updated" || events[0].ObjectID != c.ID {
				t.Fatalf("events = %+v, want one component.updated", events)
			}
			var got Component
			if err := json.Unmarshal(events[0].Payload, &got); err != nil {
				t.Fatalf("payload %s: %v", events[0].Payload, err)
			}
			if got.ID != c.ID || got.Name != "Public API" || got.Status != MajorOutage || got.GroupID != g.ID {
				t.Errorf("payload = %+v, want the renamed component in major_outage", got)
			}
		})
		t.Run("an incident carries its timeline and the components it changed", func(t *testing.T) {
			var inc Incident
			events := newEvents(t, func() {
				inc = mustCreateIncident(t, st, IncidentInput{Name: "Down", Body: "Looking.", Components: map[string]ComponentStatus{c.ID: PartialOutage}})
			})
			types := map[string]json.RawMessage{}
			for _, e := range events {
				types[e.Type+" "+e.ObjectID] = e.Payload
			}
			var gotInc Incident
			if err := json.Unmarshal(types["incident.created "+inc.ID], &gotInc); err != nil {
				t.Fatalf("incident.created payload: %v (events %+v)", err, events)
			}
			if gotInc.Name != "Down" || len(gotInc.Updates) != 1 || gotInc.Updates[0].Body != "Looking." {
				t.Errorf("incident payload = %+v", gotInc)
			}
			var gotC Component
			if err := json.Unmarshal(types["component.updated "+c.ID], &gotC); err != nil {
				t.Fatalf("component.updated payload: %v (events %+v)", err, events)
			}
			if gotC.Status != PartialOutage {
				t.Errorf("component payload status = %s, want partial_outage", gotC.Status)
			}
		})
		t.Run("a group lists its components", func(t *testing.T) {
			events := newEvents(t, func() {
				if _, err := st.UpdateComponentGroup(t.Context(), g.ID, ComponentGroupPatch{Name: ptr("Platform")}); err != nil {
					t.Fatal(err)
				}
			})
			var got ComponentGroup
			if len(events) != 1 || json.Unmarshal(events[0].Payload, &got) != nil {
				t.Fatalf("events = %+v", events)
			}
			if got.Name != "Platform" || !reflect.DeepEqual(got.Components, []string{c.ID}) {
				t.Errorf("group payload = %+v", got)
			}
		})
		t.Run("a deleted object carries only its id", func(t *testing.T) {
			events := newEvents(t, func() {
				if err := st.DeleteComponent(t.Context(), c.ID); err != nil {
					t.Fatal(err)
				}
			})
			if len(events) != 1 || events[0].Type != "component.deleted" {
				t.Fatalf("events = %+v", events)
			}
			var got map[string]any
			if err := json.Unmarshal(events[0].Payload, &got); err != nil || !reflect.DeepEqual(got, map[string]any{"id": c.ID}) {
				t.Errorf("payload = %s, %v; want {\"id\": %q}", events[0].Payload, err, c.ID)
			}
		})
	})
}

func TestPruneEvents(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		if id, err := st.OldestEventID(t.Context()); err != nil || id != 0 {
			t.Errorf("OldestEventID on an empty feed = %d, %v; want 0", id, err)
		}
		for i := range 5 {
			mustCreateComponent(t, st, "c"+strconv.Itoa(i))
		}
		all, err := st.EventsSince(t.Context(), 0, 100)
		if err != nil || len(all) != 5 {
			t.Fatalf("EventsSince = %d events, %v; want 5", len(all), err)
		}
		last := lastEventID(t, st)

		n, err := st.PruneEvents(t.Context(), 2)
		if err != nil || n != 3 {
			t.Errorf("PruneEvents(2) = %d, %v; want 3 deleted", n, err)
		}
		kept, err := st.EventsSince(t.Context(), 0, 100)
		if err != nil || !reflect.DeepEqual(kept, all[3:]) {
			t.Errorf("kept %+v, %v; want the two newest", kept, err)
		}
		if oldest, err := st.OldestEventID(t.Context()); err != nil || oldest != all[3].ID {
			t.Errorf("OldestEventID = %d, %v; want %d", oldest, err, all[3].ID)
		}
		if got := lastEventID(t, st); got != last {
			t.Errorf("LastEventID = %d after pruning, want %d", got, last)
		}
		if n, err := st.PruneEvents(t.Context(), 10); err != nil || n != 0 {
			t.Errorf("PruneEvents(10) with 2 left = %d, %v; want 0", n, err)
		}
		// New events keep counting up: a client's Last-Event-ID never points at
		// a reused id.
		mustCreateComponent(t, st, "after")
		if got := lastEventID(t, st); got != last+1 {
			t.Errorf("next event id = %d, want %d", got, last+1)
		}
		if n, err := st.PruneEvents(t.Context(), 0); err != nil || n != 3 {
			t.Errorf("PruneEvents(0) = %d, %v; want all 3 deleted", n, err)
		}
		mustCreateComponent(t, st, "after pruning everything")
		if got := lastEventID(t, st); got != last+2 {
			t.Errorf("event id after emptying the feed = %d, want %d (not reused)", got, last+2)
		}
	})
}

// A database a newer Herald has migrated further is refused with a message
// that says which version it needs, on both backends.
func TestOpenRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		if _, err := st.write.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (999, ?)`, t0); err != nil {
			t.Fatal(err)
		}
		where := st.Path()
		if onPostgres(t) {
			where = strings.Replace(st.Path(), "xxxxx", "", 1) // no password on the test server
		}
		_, err := Open(t.Context(), where)
		var tooNew *SchemaTooNewError
		if !errors.As(err, &tooNew) || tooNew.Database != 999 || !strings.Contains(err.Error(), "version 999") {
			t.Fatalf("Open on a database at version 999 = %v, want a SchemaTooNewError naming 999", err)
		}
	})
}
