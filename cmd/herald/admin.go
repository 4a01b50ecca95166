package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
)

// cliActor is recorded in the audit log for changes made from the command line.
func cliActor() store.Actor {
	name := os.Getenv("USER")
	if name == "" {
		name = "cli"
	}
	return store.Actor{Type: "cli", ID: name, Name: name}
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("token: say create, list or revoke")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("herald token "+sub, stderr)
	db := dbFlag(fs)
	var name, role *string
	if sub == "create" {
		name = fs.String("name", "", "what the token is for, e.g. \"pagerduty\"")
		role = fs.FlagSet.String("role", "", "what the token may do: admin (the default: everything its owner, the first admin, may do), "+
			"commander (incidents, maintenance, component status; what herald incident needs) or viewer (read only)")
	}
	ctx, st, err := openForCLI(ctx, fs, args, db)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "create":
		if *name == "" {
			return errors.New("token create: --name is required")
		}
		if r := store.Role(*role); r != "" && !r.Valid() {
			return fmt.Errorf("token create: --role %q: use admin, commander or viewer", *role)
		}
		tok, raw, err := st.CreateUserToken(ctx, store.TokenInput{Name: *name, Role: store.Role(*role)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created API token %s (%s, acts as %s). It is shown only now; store it safely:\n%s\n", tok.ID, tok.Name, tok.EffectiveRole, raw)
		return nil
	case "list":
		list, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tROLE\tCREATED\tLAST USED\tSTATE")
		for _, t := range list {
			state := "active"
			if t.RevokedAt != nil {
				state = "revoked " + t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.EffectiveRole, t.CreatedAt.Format(time.RFC3339), fmtTimePtr(t.LastUsedAt), state)
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("token revoke: give the token id (see herald token list)")
		}
		if err := st.RevokeToken(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked API token %s.\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("token: unknown subcommand %q; say create, list or revoke", sub)
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("herald migrate", stderr)
	db := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Database %s is at schema version %d.\n", st.Path(), v)
	return nil
}

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("herald backup", stderr)
	db := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("backup: give the file to write, e.g. herald backup herald-2026-11-25.db")
	}
	dest := fs.Arg(0)
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file", dest)
	}
	if store.IsPostgresURL(*db) {
		return pgDump(ctx, *db, dest, stdout)
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote a consistent copy of %s to %s.\n", st.Path(), dest)
	return nil
}

// pgDump backs a PostgreSQL database up with pg_dump, PostgreSQL's own
// consistent online backup, in its custom format (restore with
// pg_restore). Without pg_dump it says how to do it.
func pgDump(ctx context.Context, database, dest string, stdout io.Writer) error {
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return fmt.Errorf("backup: a PostgreSQL database is backed up with pg_dump, which is not installed here: install it "+
			"(apt-get install postgresql-client) and run herald backup again, or run pg_dump --format=custom --file=%s '%s' yourself", dest, store.RedactURL(database))
	}
	cmd := exec.CommandContext(ctx, bin, "--format=custom", "--file="+dest, "--dbname="+database)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("backup: pg_dump failed: %v: %s", err, strings.TrimSpace(strings.ReplaceAll(string(out), database, store.RedactURL(database))))
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "Wrote a consistent copy of %s to %s with pg_dump (restore it with pg_restore --dbname=URL %s).\n", store.RedactURL(database), dest, dest)
	return nil
}
