// Command herald runs the Herald status page server and administers it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usage is the top-level help.
const usage = `herald — status page and incident communication server

Usage:
  herald serve [flags]          run the server (herald serve -h lists every flag)

Incidents from a terminal, over the API of a running Herald (--url or HERALD_URL, default
http://127.0.0.1:8080; --token or HERALD_TOKEN; --json prints the API's answer for scripts;
a MESSAGE of "-" is read from stdin):
  herald incident open [--impact I] [--component NAME=STATUS]… TITLE MESSAGE
  herald incident update ID [--status S] [--component NAME=STATUS]… [--next-update 30m] MESSAGE
  herald incident resolve ID MESSAGE
  herald incident list [--all]  open incidents and drafts (--all: resolved ones too)
  herald incident show ID       one incident and its timeline
  herald maintenance schedule --start T (--end T | --duration D) [--component NAME]… TITLE MESSAGE
  herald maintenance list [--all]
  herald component list
  herald component set-status COMPONENT STATUS
                                COMPONENT is an id or a name; STATUS is operational, degraded_performance,
                                partial_outage, major_outage or under_maintenance

Administration, on the database itself (--database):
  herald token create --name N [--role R]
                                create an API token (printed once, on the last line) that acts as
                                admin (the default), commander or viewer
  herald token list             list API tokens
  herald token revoke ID        revoke an API token
  herald user add --email E --role R
                                add a console user (admin, commander or viewer); prints a one-time password on the last line
  herald user list              list console users
  herald user reset-password --email E
                                give a user a new one-time password and sign them out
  herald migrate                apply database migrations and exit
  herald backup FILE            write an online, consistent copy of the database to FILE
                                (on PostgreSQL: with pg_dump, when it is installed)
  herald copy --from DB --to DB copy a deployment into a new, empty database (SQLite and PostgreSQL, either way)

Other:
  herald mirror serve DIR       serve a static mirror (serve --mirror-dir DIR) as a static host would, to try it
  herald watch URL              print a status page's live events as they happen, until Ctrl-C
  herald version                print the version

The database is --database (HERALD_DATABASE): a SQLite file (the default, herald.db) or a
PostgreSQL URL, postgres://user:password@host/dbname. Only serve, migrate and copy --to create
a SQLite file that is not there yet; the other commands refuse, so that one run in the wrong
folder does not start an empty database. Every flag has an environment variable: --addr is
HERALD_ADDR, --base-url is HERALD_BASE_URL, and so on. herald COMMAND SUBCOMMAND -h lists the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald:", err)
		os.Exit(1)
	}
}

// run dispatches a command line; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "token":
		return cmdToken(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	case "copy":
		return cmdCopy(ctx, rest, stdout, stderr)
	case "mirror":
		return cmdMirror(ctx, rest, stdout, stderr)
	case "watch":
		return cmdWatch(ctx, rest, stdout, stderr)
	case "incident":
		return cmdIncident(ctx, rest, stdout, stderr)
	case "maintenance":
		return cmdMaintenance(ctx, rest, stdout, stderr)
	case "component":
		return cmdComponent(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "herald", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
