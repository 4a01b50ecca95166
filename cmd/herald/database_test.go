package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// A --database that cannot be used stops herald at start with a message
// that names the problem, and never shows the password.
func TestServeRefusesABadDatabase(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct{ database, want string }{
		"malformed URL":  {"postgres://herald:s3cret-pw@db.example.com:notaport/herald", "not a PostgreSQL URL"},
		"nobody listens": {"postgres://herald:s3cret-pw@127.0.0.1:1/herald?connect_timeout=2", "cannot reach PostgreSQL"},
		"empty":          {"", "--database is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := herald(t, "serve", "--addr", "127.0.0.1:0", "--database", tt.database)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve --database %q: %v, want an error saying %q", tt.database, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// herald copy moves a SQLite deployment to PostgreSQL, prints what it
// copied, and refuses to copy into a database that is not empty; herald
// backup on PostgreSQL runs pg_dump, and migrate reports the version.
func TestCopyBackupAndMigrateOnPostgres(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	dir := t.TempDir()
	db := newDatabase(t)
	if _, err := herald(t, "token", "create", "--database", db, "--name", "ci"); err != nil {
		t.Fatal(err)
	}
	dest := pg.NewDatabase(t)
	out, err := herald(t, "copy", "--from", db, "--to", dest)
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "1  api_tokens") || !strings.Contains(out, "rows in all") {
		t.Errorf("copy printed no counts:\n%s", out)
	}
	if out, err := herald(t, "token", "list", "--database", dest); err != nil || !strings.Contains(out, "ci") {
		t.Errorf("the copied token is not in PostgreSQL: %v\n%s", err, out)
	}
	if _, err := herald(t, "copy", "--from", db, "--to", dest); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second copy into the same database: %v, want it refused as not empty", err)
	}
	if _, err := herald(t, "copy", "--from", filepath.Join(dir, "missing.db"), "--to", pg.NewDatabase(t)); err == nil {
		t.Error("copying from a file that does not exist succeeded")
	}
	if out, err := herald(t, "migrate", "--database", dest); err != nil || !strings.Contains(out, "schema version") {
		t.Errorf("migrate on PostgreSQL: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("pg_dump"); err != nil {
		if pgtest.Required() {
			t.Fatal("pg_dump is required in CI (postgresql-client)")
		}
		t.Skip("pg_dump not installed: the PostgreSQL backup is not tried")
	}
	backup := filepath.Join(dir, "herald.dump")
	if out, err := herald(t, "backup", "--database", dest, backup); err != nil || !strings.Contains(out, "pg_dump") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file %v, %v: want a non-empty file only its owner reads", fi, err)
	}
}

// A command run where there is no database says so and leaves nothing
// behind: only serve and migrate (and copy's destination) make a new one.
func TestCommandsRefuseToCreateADatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // the default, ./herald.db, is what someone in the wrong folder gets
	for _, k := range []string{"HERALD_DATABASE", "HERALD_DB"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	const want = "no database at ./herald.db (run herald serve first, or pass --database)"
	for _, args := range [][]string{
		{"token", "create", "--name", "ci"},
		{"token", "create", "--name", "ci", "--role", "commander"},
		{"token", "list"},
		{"token", "revoke", "abcdefghijkl"},
		{"user", "add", "--email", "dana@example.com", "--role", "commander"},
		{"user", "list"},
		{"user", "reset-password", "--email", "dana@example.com"},
		{"backup", "backup.db"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			out, err := herald(t, args...)
			if err == nil || err.Error() != want {
				t.Fatalf("herald %v: %v, want the error %q", args, err, want)
			}
			if strings.Contains(out, "hrld_") {
				t.Errorf("herald %v printed a token for a database that does not exist:\n%s", args, out)
			}
		})
	}
	if _, err := herald(t, "copy", "--from", "herald.db", "--to", "new.db"); err == nil || !strings.Contains(err.Error(), "no database at ./herald.db") {
		t.Errorf("copy from a missing database: %v", err)
	}
	missing := filepath.Join(dir, "elsewhere", "herald.db")
	if _, err := herald(t, "token", "list", "--database", missing); err == nil || !strings.Contains(err.Error(), "no database at "+missing) {
		t.Errorf("token list --database %s: %v, want it named as missing", missing, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("refused commands left files behind: %v", left)
	}

	// Where there is one, the same commands work on it.
	if _, err := herald(t, "migrate"); err != nil {
		t.Fatal(err)
	}
	if out, err := herald(t, "token", "create", "--name", "ci"); err != nil || !strings.HasPrefix(lastLine(out), "hrld_") {
		t.Fatalf("token create after migrate: %v\n%s", err, out)
	}
}

// The database and its WAL, as serve leaves them, and a backup, are
// readable by their owner only: they hold webhook secrets.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "herald.db")
	_, _, stop := startServe(t, "--database", db, "--demo")
	defer stop()
	backup := filepath.Join(dir, "backup.db")
	if _, err := herald(t, "backup", "--database", db, backup); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{db, db + "-wal", db + "-shm", backup} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(name), m)
		}
	}
}
