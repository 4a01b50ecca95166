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
  herald token create --name N  create an API token (printed once, on the last line)
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
  herald mirror serve DIR       serve a static mirror (serve --mirror-dir DIR) as a static host would, to try it
  herald watch URL              print a status page's live events as they happen
  herald version                print the version

The database is --database (HERALD_DATABASE): a SQLite file (the default, herald.db) or a
PostgreSQL URL, postgres://user:password@host/dbname. Every flag has an environment variable:
--addr is HERALD_ADDR, --base-url is HERALD_BASE_URL, and so on.
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
