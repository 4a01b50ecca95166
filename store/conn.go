package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// conn is a connection pool whose queries are written once, with ?
// placeholders, and rebound for the backend (PostgreSQL numbers them).
// Every query the store runs goes through a conn or a sqlTx.
type conn struct {
	db *sql.DB // never used directly: its queries would not be rebound
	d  dialect
	// health, on the pool that writes, learns how each write ended.
	health *writeHealth
}

func (c *conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.db.ExecContext(ctx, c.d.rebind(query), args...)
	c.health.note(err, changed(res, err))
	return res, err
}

// changed reports whether an Exec that succeeded changed rows, so wrote to
// the database (an UPDATE that matched nothing proves nothing).
func changed(res sql.Result, err error) bool {
	if err != nil {
		return false
	}
	n, err := res.RowsAffected()
	return err == nil && n > 0
}

func (c *conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.db.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c *conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.db.QueryRowContext(ctx, c.d.rebind(query), args...)
}

func (c *conn) Close() error { return c.db.Close() }

func (c *conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	t, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &sqlTx{Tx: t, d: c.d, health: c.health}, nil
}

// sqlTx is a transaction of a conn, rebinding the same way.
type sqlTx struct {
	*sql.Tx
	d      dialect
	health *writeHealth
	wrote  bool // an Exec changed rows: its commit is a write
}

func (t *sqlTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.Tx.ExecContext(ctx, t.d.rebind(query), args...)
	if err != nil {
		t.health.note(err, false)
	}
	t.wrote = t.wrote || changed(res, err)
	return res, err
}

// Commit commits, telling the pool's health whether a change was saved.
func (t *sqlTx) Commit() error {
	err := t.Tx.Commit()
	t.health.note(err, t.wrote)
	return err
}

// A change made by a query (UPDATE … RETURNING) is a write too: a
// dispatcher's claims and results go that way, and on a server where
// nobody posts they are the only writes that could show the database
// writes again. (Whether it matched rows is not known here; a transaction
// whose query failed is rolled back, not committed.)
func (t *sqlTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := t.Tx.QueryContext(ctx, t.d.rebind(query), args...)
	if err != nil {
		t.health.note(err, false)
	}
	t.wrote = t.wrote || (err == nil && changes(query))
	return rows, err
}

func (t *sqlTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.wrote = t.wrote || changes(query)
	return t.Tx.QueryRowContext(ctx, t.d.rebind(query), args...)
}

// changes reports whether query is a statement that changes rows.
func changes(query string) bool {
	q := strings.TrimSpace(query)
	for _, verb := range []string{"INSERT", "UPDATE", "DELETE"} {
		if len(q) > len(verb) && strings.EqualFold(q[:len(verb)], verb) {
			return true
		}
	}
	return false
}

// numberPlaceholders turns each ? into $1, $2, … in order. The store's SQL
// never has a ? inside a string literal or an identifier, so no parsing is
// needed beyond that.
func numberPlaceholders(query string) string {
	n := strings.Count(query, "?")
	if n == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 2*n)
	i := 0
	for {
		j := strings.IndexByte(query, '?')
		if j < 0 {
			b.WriteString(query)
			return b.String()
		}
		i++
		b.WriteString(query[:j])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
		query = query[j+1:]
	}
}

// reading runs fn in a read-only transaction, so that a result assembled
// from several queries (an incident and its timeline, a delivery and its
// attempts) is one moment's view, never half before and half after a
// commit that landed between two of them.
func (s *Store) reading(ctx context.Context, fn func(q querier) error) error {
	t, err := s.read.BeginTx(ctx, s.dialect.readOptions())
	if err != nil {
		return err
	}
	defer t.Rollback() // read-only: nothing to commit
	return fn(t)
}

// stringsOf reads a query's one text column into a slice.
func stringsOf(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
