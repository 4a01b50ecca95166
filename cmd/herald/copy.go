package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
)

// cmdCopy moves a deployment between databases (SQLite to PostgreSQL, or
// back): every row, id, time, hashed secret and the change feed's position.
func cmdCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("herald copy", stderr)
	from := fs.FlagSet.String("from", "", "the database to copy: a SQLite file or a postgres:// URL")
	to := fs.FlagSet.String("to", "", "the new, empty database to copy into: a SQLite file or a postgres:// URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("copy: give both --from and --to, e.g. herald copy --from herald.db --to postgres://herald@db/herald")
	}
	src, err := openExistingOr(ctx, *from, "--from names the database to copy")
	if err != nil {
		return err
	}
	defer src.Close()
	dest, err := openStore(ctx, *to)
	if err != nil {
		return err
	}
	defer dest.Close()
	counts, err := src.CopyTo(ctx, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Copied %s to %s:\n\n", src.Path(), dest.Path())
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	total := 0
	for _, c := range counts {
		fmt.Fprintf(w, "%d\t  %s\n", c.Rows, c.Table)
		total += c.Rows
	}
	fmt.Fprintf(w, "%d\t  rows in all\n", total)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nStart Herald with --database %s to use it.\n", dest.Path())
	return nil
}
