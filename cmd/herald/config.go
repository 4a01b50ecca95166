package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

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

// dbFlag is the database flag every command shares.
func dbFlag(fs *flagSet) *string {
	return fs.String("db", "herald.db", "SQLite database file")
}

// openForCLI parses a subcommand's flags and opens the database for it,
// with its changes recorded as made from the command line.
func openForCLI(ctx context.Context, fs *flagSet, args []string, db *string) (context.Context, *store.Store, error) {
	if err := fs.Parse(args); err != nil {
		return ctx, nil, err
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return ctx, nil, err
	}
	return store.WithActor(ctx, cliActor()), st, nil
}

func openStore(ctx context.Context, path string) (*store.Store, error) {
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
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
