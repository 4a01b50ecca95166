package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/store/pgtest"
)

// backends runs a store test on both backends, gatus's way: once on SQLite
// and once on PostgreSQL, as subtests named "sqlite" and "postgres". Inside
// them newTestStore opens a database of the subtest's backend. Tests that
// inspect SQLite itself (its pragmas, its file) are not wrapped.
func backends(t *testing.T, test func(t *testing.T)) {
	t.Run("sqlite", test)
	t.Run("postgres", func(t *testing.T) {
		pgtest.Start(t)
		test(t)
	})
}

// onPostgres reports whether t runs under backends' "postgres" subtest.
func onPostgres(t *testing.T) bool { return strings.Contains(t.Name()+"/", "/postgres/") }

// newTestStore opens a fresh database: a file in the test's temporary
// directory, or a new database on the throwaway PostgreSQL server.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	if onPostgres(t) {
		return openTestStore(t, pgtest.Start(t).NewDatabaseLike(t, "herald_template", func(url string) error {
			st, err := Open(context.Background(), url)
			if err != nil {
				return err
			}
			return st.Close()
		}))
	}
	return openTestStore(t, filepath.Join(t.TempDir(), "herald.db"))
}

// openTestStore opens (or reopens) the database at path and closes it when
// the test ends.
func openTestStore(t testing.TB, path string) *Store {
	t.Helper()
	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
}

func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// useClock makes st's clock start at start and move only when the test says.
func useClock(st *Store, start time.Time) *testClock {
	c := &testClock{now: start}
	st.SetClock(c.Now)
	return c
}

// t0 is an arbitrary fixed instant tests with a controlled clock start from.
var t0 = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func mustCreateGroup(t *testing.T, st *Store, name string) ComponentGroup {
	t.Helper()
	g, err := st.CreateComponentGroup(t.Context(), ComponentGroupInput{Name: name})
	if err != nil {
		t.Fatalf("CreateComponentGroup(%q): %v", name, err)
	}
	return g
}

func mustCreateComponent(t testing.TB, st *Store, name string) Component {
	t.Helper()
	return mustCreateComponentIn(t, st, name, "")
}

func mustCreateComponentIn(t testing.TB, st *Store, name, groupID string) Component {
	t.Helper()
	c, err := st.CreateComponent(t.Context(), ComponentInput{Name: name, GroupID: groupID})
	if err != nil {
		t.Fatalf("CreateComponent(%q): %v", name, err)
	}
	return c
}

func mustCreateIncident(t testing.TB, st *Store, in IncidentInput) Incident {
	t.Helper()
	if in.Body == "" {
		in.Body = "We are investigating."
	}
	inc, err := st.CreateIncident(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateIncident(%q): %v", in.Name, err)
	}
	return inc
}

func mustPostUpdate(t *testing.T, st *Store, incidentID string, in IncidentUpdateInput) Incident {
	t.Helper()
	if in.Body == "" {
		in.Body = "Update: " + string(in.Status)
	}
	inc, err := st.PostIncidentUpdate(t.Context(), incidentID, in)
	if err != nil {
		t.Fatalf("PostIncidentUpdate(%s, %s): %v", incidentID, in.Status, err)
	}
	return inc
}

func mustCreateMaintenance(t *testing.T, st *Store, in MaintenanceInput) Maintenance {
	t.Helper()
	if in.Name == "" {
		in.Name = "Database upgrade"
	}
	if in.Body == "" {
		in.Body = "We will upgrade the database."
	}
	m, err := st.CreateMaintenance(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateMaintenance(%q): %v", in.Name, err)
	}
	return m
}

func mustPostMaintenanceUpdate(t *testing.T, st *Store, id string, status MaintenanceStatus) Maintenance {
	t.Helper()
	m, err := st.PostMaintenanceUpdate(t.Context(), id, MaintenanceUpdateInput{Status: status, Body: "Now " + string(status)})
	if err != nil {
		t.Fatalf("PostMaintenanceUpdate(%s, %s): %v", id, status, err)
	}
	return m
}

// statusOf is the component's current status as the page would show it.
func statusOf(t *testing.T, st *Store, id string) ComponentStatus {
	t.Helper()
	c, err := st.GetComponent(t.Context(), id)
	if err != nil {
		t.Fatalf("GetComponent(%s): %v", id, err)
	}
	return c.Status
}

func wantStatus(t *testing.T, st *Store, c Component, want ComponentStatus) {
	t.Helper()
	if got := statusOf(t, st, c.ID); got != want {
		t.Errorf("component %q is %s, want %s", c.Name, got, want)
	}
}

// historyOf is every status change recorded for a component, oldest first.
func historyOf(t *testing.T, st *Store, id string) []StatusChange {
	t.Helper()
	h, err := st.StatusHistory(t.Context(), time.Time{})
	if err != nil {
		t.Fatalf("StatusHistory: %v", err)
	}
	return h[id]
}

// countRows counts the rows of a table, read straight from the database.
func countRows(t *testing.T, st *Store, table string) int {
	t.Helper()
	var n int
	if err := st.read.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// tableCounts snapshots the row count of every table that holds user data,
// so a test can check that a refused change wrote nothing at all.
func tableCounts(t *testing.T, st *Store) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{
		"component_groups", "components", "component_status_changes",
		"incidents", "incident_components", "incident_updates", "incident_update_components",
		"maintenances", "maintenance_components", "maintenance_updates",
		"api_tokens", "events", "audit_log",
	} {
		counts[table] = countRows(t, st, table)
	}
	return counts
}

func wantUnchanged(t *testing.T, st *Store, before map[string]int) {
	t.Helper()
	after := tableCounts(t, st)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("table %s has %d rows after a refused change, had %d", table, after[table], n)
		}
	}
}

func wantValidationError(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError on %q", err, err, field)
	}
	if ve.Field != field {
		t.Errorf("ValidationError.Field = %q, want %q (message %q)", ve.Field, field, ve.Message)
	}
	if ve.Message == "" {
		t.Errorf("ValidationError on %q has no message", field)
	}
}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want *ConflictError", err, err)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("error = %v, want errors.Is(err, ErrNotFound)", err)
	}
}

// lastEventID is the id of the newest change feed entry.
func lastEventID(t *testing.T, st *Store) int64 {
	t.Helper()
	id, err := st.LastEventID(t.Context())
	if err != nil {
		t.Fatalf("LastEventID: %v", err)
	}
	return id
}

// auditEntries returns the audit log, newest first.
func auditEntries(t *testing.T, st *Store) []AuditEntry {
	t.Helper()
	entries, err := st.QueryAuditLog(t.Context(), AuditFilter{ObjectType: "", ObjectID: "", Limit: 1000})
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	return entries
}

// signalled reports whether a change signal is pending on ch, without waiting:
// the store signals before the changing method returns.
// signalled reports whether a post-commit signal is pending (signals are
// sent before the committing call returns, so no wait is needed).
func signalled(ch <-chan Change) bool {
	_, ok := pendingChange(ch)
	return ok
}

func pendingChange(ch <-chan Change) (Change, bool) {
	select {
	case c := <-ch:
		return c, true
	default:
		return Change{}, false
	}
}
