package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mode is the permission bits of name, failing the test when it is missing.
func mode(t *testing.T, name string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// The database, its WAL and shared-memory files and its backups hold
// webhook secrets and subscriber addresses: only their owner may read them.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.db")
	st := openTestStore(t, path)
	if _, _, err := st.CreateToken(t.Context(), "ci"); err != nil { // a write, so the WAL exists
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := st.Backup(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm", backup} {
		if m := mode(t, name); m != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(name), m)
		}
	}
}

// A database made world-readable by an older Herald is tightened when it is
// next opened, and the log says so.
func TestOpenTightensAnExistingDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "herald.db")
	first := openTestStore(t, path)
	if _, _, err := first.CreateToken(t.Context(), "ci"); err != nil {
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", path + "-shm"}
	for _, name := range files {
		if err := os.Chmod(name, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logged bytes.Buffer
	second, err := Open(t.Context(), path, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, name := range files {
		if m := mode(t, name); m != 0o600 {
			t.Errorf("%s has mode %04o after a second open, want 0600", filepath.Base(name), m)
		}
		if !strings.Contains(logged.String(), "file="+name+" was=0644 now=0600") {
			t.Errorf("nothing logged about %s:\n%s", filepath.Base(name), logged.String())
		}
	}
	if n, err := second.CountTokens(t.Context()); err != nil || n != 1 {
		t.Errorf("the tightened database holds %d tokens, %v; want its 1", n, err)
	}
}

// ExistingOnly opens a database that is there and refuses to make one that
// is not; without it a missing file is created as before.
func TestOpenExistingOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	st, err := Open(t.Context(), missing, ExistingOnly())
	if !errors.Is(err, ErrNoDatabase) {
		if st != nil {
			st.Close()
		}
		t.Fatalf("Open(missing, ExistingOnly()) = %v, want ErrNoDatabase", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused open left a file behind: %v", err)
	}

	path := filepath.Join(dir, "herald.db")
	made, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	made.Close()
	again, err := Open(t.Context(), path, ExistingOnly())
	if err != nil {
		t.Fatalf("Open(existing, ExistingOnly()): %v", err)
	}
	again.Close()
}

// A SQLite file that cannot grow (a full disk, here its page cap) fails
// writes with an error the store says is one of not being able to write,
// remembers it while writes keep failing, and forgets it once one commits.
func TestWriteFailureWhileTheDiskIsFull(t *testing.T) {
	t.Parallel()
	st := newTestStore(t)
	mustCreateComponent(t, st, "API")
	mustCreateIncident(t, st, IncidentInput{Name: "Down"}) // a job, to claim later
	var pages int64
	if err := st.write.QueryRowContext(t.Context(), `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	lift, err := st.CapSQLitePages(t.Context(), pages)
	if err != nil {
		t.Fatal(err)
	}
	if st.WriteFailure() != nil {
		t.Fatalf("a failure before any write failed: %v", st.WriteFailure())
	}
	var failed error
	for i := 0; failed == nil && i < 200; i++ {
		_, failed = st.CreateComponent(t.Context(), ComponentInput{Name: fmt.Sprintf("Component %d", i), Description: strings.Repeat("x", MaxDescriptionLength)})
	}
	if failed == nil || !st.CannotWrite(failed) {
		t.Fatalf("creates on a full file: %v, want an error that says the database cannot write", failed)
	}
	wf := st.WriteFailure()
	if wf == nil || !st.CannotWrite(wf) {
		t.Fatalf("WriteFailure = %v after a failed write", wf)
	}
	if _, err := st.CreateComponent(t.Context(), ComponentInput{Name: "Still full", Description: strings.Repeat("y", MaxDescriptionLength)}); err == nil {
		t.Fatal("a create succeeded on a full file")
	}
	if again := st.WriteFailure(); again == nil || !again.At.Equal(wf.At) {
		t.Errorf("WriteFailure = %v, want the first failure kept", again)
	}
	if err := lift(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A write made by a query (a dispatcher's claim, UPDATE … RETURNING)
	// counts, as one made by an Exec does.
	if _, ok, err := st.ClaimJob(t.Context(), "dispatcher", time.Minute); err != nil || !ok {
		t.Fatalf("ClaimJob = %v, %v", ok, err)
	}
	if wf := st.WriteFailure(); wf != nil {
		t.Errorf("WriteFailure = %v after a claim committed", wf)
	}
}

// A database that has gone read-only (a hot standby, a read-only mount, a
// server set to default_transaction_read_only) refuses writes with an error
// the store calls one of not being able to write, on both backends; a
// constraint or validation error is not one.
func TestReadOnlyDatabaseCannotWrite(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		c, err := st.write.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		readOnly, readWrite := `PRAGMA query_only = 1`, `PRAGMA query_only = 0`
		if onPostgres(t) {
			readOnly, readWrite = `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`, `SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE`
		}
		insert := st.dialect.rebind(`INSERT INTO rate_attempts (key, at) VALUES (?, ?)`)
		if _, err := c.ExecContext(t.Context(), readOnly); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(t.Context(), insert, "k", st.Now()); err == nil || !st.CannotWrite(err) {
			t.Errorf("a write to a read-only database: %v, want one the store says cannot write", err)
		}
		if _, err := c.ExecContext(t.Context(), readWrite); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(t.Context(), insert, nil, st.Now()); err == nil || st.CannotWrite(err) {
			t.Errorf("a NOT NULL violation: %v, want an error that is not a failure to write", err)
		}
		if st.CannotWrite(&ValidationError{Field: "name", Message: "is required"}) {
			t.Error("a validation error counted as the database not being able to write")
		}
	})
}
