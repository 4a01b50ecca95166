package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// flagSet is a flag.FlagSet whose flags also read HERALD_* environment
// variables; an explicit flag wins over the environment.
type flagSet struct {
	*flag.FlagSet
	envErrs []error
}

func newFlagSet(name string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flagSet{FlagSet: fs}
}

// synopsis makes -h begin with how the command is written.
func (fs *flagSet) synopsis(line string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\nFlags:\n", line)
		fs.PrintDefaults()
	}
}

// envName is the variable a flag reads: --base-url is HERALD_BASE_URL.
func envName(flagName string) string {
	return "HERALD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (fs *flagSet) String(name, def, usage string) *string {
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v
	}
	return fs.FlagSet.String(name, def, usage+" ("+envName(name)+")")
}

func (fs *flagSet) Bool(name string, def bool, usage string) *bool {
	if v, ok := os.LookupEnv(envName(name)); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fs.envErrs = append(fs.envErrs, fmt.Errorf("%s=%q: want true or false", envName(name), v))
		}
		def = b
	}
	return fs.FlagSet.Bool(name, def, usage+" ("+envName(name)+")")
}

// Parse parses args and reports bad environment values too.
func (fs *flagSet) Parse(args []string) error {
	if err := fs.FlagSet.Parse(args); err != nil {
		return err
	}
	if len(fs.envErrs) > 0 {
		return fs.envErrs[0]
	}
	return nil
}

// dbFlag is the database flag every command shares: --database (a SQLite
// file, or a postgres:// URL), with --db and HERALD_DB kept as older
// spellings of it.
func dbFlag(fs *flagSet) *string {
	def := "herald.db"
	if v, ok := os.LookupEnv("HERALD_DB"); ok {
		def = v
	}
	if v, ok := os.LookupEnv(envName("database")); ok {
		def = v
	}
	db := fs.FlagSet.String("database", def, "the database: a SQLite file, or a PostgreSQL URL such as postgres://herald:secret@db.internal/herald ("+envName("database")+")")
	fs.FlagSet.Var(aliasFlag{db}, "db", "the same as --database")
	return db
}

// aliasFlag is a second name for a string flag.
type aliasFlag struct{ p *string }

func (a aliasFlag) String() string {
	if a.p == nil {
		return ""
	}
	return *a.p
}
func (a aliasFlag) Set(v string) error { *a.p = v; return nil }

// openForCLI parses a subcommand's flags and opens the existing database
// for it, with its changes recorded as made from the command line.
func openForCLI(ctx context.Context, fs *flagSet, args []string, db *string) (context.Context, *store.Store, error) {
	if err := fs.Parse(args); err != nil {
		return ctx, nil, err
	}
	st, err := openExisting(ctx, *db)
	if err != nil {
		return ctx, nil, err
	}
	return store.WithActor(ctx, cliActor()), st, nil
}

// openStore opens the database, creating a SQLite file that is not there
// yet: for serve, migrate and the destination of copy only.
func openStore(ctx context.Context, database string, opts ...store.Option) (*store.Store, error) {
	if database == "" {
		return nil, fmt.Errorf("--database is empty: give a SQLite file or a postgres:// URL")
	}
	st, err := store.Open(ctx, database, opts...)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.RedactURL(database), err)
	}
	return st, nil
}

// openExisting opens a database that must already be there. Every command
// but serve and migrate uses it: one run in the wrong folder would
// otherwise make an empty database there and, say, print a token that the
// real server has never heard of.
func openExisting(ctx context.Context, database string) (*store.Store, error) {
	return openExistingOr(ctx, database, "run herald serve first, or pass --database")
}

// openExistingOr is openExisting with what to do when there is none.
func openExistingOr(ctx context.Context, database, hint string) (*store.Store, error) {
	st, err := openStore(ctx, database, store.ExistingOnly())
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, fmt.Errorf("no database at %s (%s)", displayPath(database), hint)
	}
	return st, err
}

// displayPath shows a relative file as ./herald.db, so that it reads as a
// place in the current folder.
func displayPath(p string) string {
	if filepath.IsAbs(p) || strings.HasPrefix(p, "."+string(filepath.Separator)) || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
		return p
	}
	return "." + string(filepath.Separator) + p
}

// buildVersion is set at link time (-ldflags "-X main.buildVersion=v1.2.3").
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

func (fs *flagSet) Int(name string, def int, usage string) *int {
	if v, ok := os.LookupEnv(envName(name)); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			fs.envErrs = append(fs.envErrs, fmt.Errorf("%s=%q: want a whole number", envName(name), v))
		}
		def = n
	}
	return fs.FlagSet.Int(name, def, usage+" ("+envName(name)+")")
}

func (fs *flagSet) Duration(name string, def time.Duration, usage string) *time.Duration {
	if v, ok := os.LookupEnv(envName(name)); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			fs.envErrs = append(fs.envErrs, fmt.Errorf("%s=%q: want a duration such as 5s or 2m", envName(name), v))
		}
		def = d
	}
	return fs.FlagSet.Duration(name, def, usage+" ("+envName(name)+")")
}
