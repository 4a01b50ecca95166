package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgresURL reports whether database names a PostgreSQL server rather
// than a SQLite file.
func IsPostgresURL(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// RedactURL is a database URL as it may be shown or logged: without its
// password.
func RedactURL(database string) string {
	u, err := url.Parse(database)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(database, "@"); i > 0 {
			return "postgres://…@" + database[i+1:] // unparsable: show only the host part
		}
		return database
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Advisory lock namespaces (the first key of pg_advisory_xact_lock): one
// for the rule locks, one for the change feed, one for migrations, one for
// the housekeeping leader. The values spell "Hrld" plus a digit.
const (
	pgLockRules   = 0x48726c30
	pgLockFeed    = 0x48726c31
	pgLockMigrate = 0x48726c32
	pgLockLeader  = 0x48726c33
)

// pgChannel is the NOTIFY channel of the post-commit signal.
const pgChannel = "herald_changes"

// openPostgres connects to the PostgreSQL server at dsn, migrates it under
// a session lock (so one replica migrates while the others wait) and
// starts listening for the commits of every replica.
func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	s.where, s.dialect = RedactURL(dsn), postgresDialect{}
	s.writers.off = true // transactions run side by side
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("store: %s is not a PostgreSQL URL Herald can use: %s", s.where, redactedError(err, dsn))
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(pgAfterConnect))
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.write = &conn{db: db, d: s.dialect, health: &writeHealth{d: s.dialect}}
	s.read = s.write
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return fmt.Errorf("store: cannot reach PostgreSQL at %s: %s", s.where, redactedError(err, dsn))
	}
	if err := s.migrateLocked(ctx); err != nil {
		db.Close()
		return err
	}
	if s.stop, err = s.listen(ctx, cfg); err != nil {
		db.Close()
		return fmt.Errorf("store: listen for changes on %s: %s", s.where, redactedError(err, dsn))
	}
	return nil
}

// pgAfterConnect reads timestamptz back in UTC on every connection, as
// SQLite does, whatever the server's or the process's time zone.
func pgAfterConnect(_ context.Context, c *pgx.Conn) error {
	c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
	return nil
}

func redactedError(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// migrateLocked runs migrate holding a session-level advisory lock, so that
// replicas starting together migrate once, one after the other.
func (s *Store) migrateLocked(ctx context.Context) error {
	c, err := s.write.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, pgLockMigrate); err != nil {
		return fmt.Errorf("store: migrate: take the migration lock: %w", err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, pgLockMigrate)
	return s.migrate(ctx)
}

// listen keeps a LISTEN connection open and turns the other processes'
// NOTIFY into the post-commit signal here (a process signals its own
// commits directly, and ignores their echo). It returns once the first
// connection listens, so that no commit falls between Open and listening.
// After a lost connection it reconnects and signals the feed's newest id:
// readers then catch up from the feed by their own position, so nothing is
// skipped. It returns the function that stops it.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) (stop func(), err error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	first := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		backoff, reconnect := 100*time.Millisecond, false
		for ctx.Err() == nil {
			err := s.listenOnce(ctx, cfg, reconnect, func() {
				backoff = 100 * time.Millisecond
				if !reconnect {
					first <- nil
				}
			})
			if ctx.Err() != nil {
				return
			}
			if !reconnect {
				select {
				case first <- err:
				default: // it had connected: this is a lost connection
				}
			}
			reconnect = true
			s.listenErr.Store(&err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	})
	stop = func() { cancel(); wg.Wait() }
	if err := <-first; err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, reconnect bool, listening func()) error {
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+pgChannel); err != nil {
		return err
	}
	s.listenErr.Store(nil)
	listening()
	if reconnect {
		// Whatever was committed while no connection listened.
		var last *int64
		if err := c.QueryRow(ctx, `SELECT max(id) FROM events`).Scan(&last); err != nil {
			return err
		}
		catchUp := Change{Jobs: true}
		if last != nil {
			catchUp.Feed = *last
		}
		s.signal(catchUp)
	}
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if origin, ch, ok := parseChange(n.Payload); ok && origin != s.origin {
			s.signal(ch)
		}
	}
}

// formatChange and parseChange carry a Change in a NOTIFY payload:
// "<origin> <feed id> <jobs 0|1>", origin naming the committing process.
func formatChange(origin string, c Change) string {
	jobs := "0"
	if c.Jobs {
		jobs = "1"
	}
	return origin + " " + strconv.FormatInt(c.Feed, 10) + " " + jobs
}

func parseChange(payload string) (origin string, c Change, ok bool) {
	f := strings.Fields(payload)
	if len(f) != 3 {
		return "", Change{}, false
	}
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", Change{}, false
	}
	return f[0], Change{Feed: id, Jobs: f[2] == "1"}, true
}

// postgresDialect is the backend for several replicas on one database.
// Write transactions run concurrently (READ COMMITTED), so the contract's
// hooks do real work: advisory locks for the rules and the feed, SKIP
// LOCKED for claims, NOTIFY for the signal.
type postgresDialect struct{}

func (postgresDialect) name() string           { return "postgres" }
func (postgresDialect) rebind(q string) string { return numberPlaceholders(q) }
func (postgresDialect) timeType() string       { return "timestamptz" }

// lock takes a transaction-level advisory lock on kind/id: a row lock that
// also covers rows that do not exist yet (an address not yet subscribed)
// and whole kinds (id ""). Two keys hashing alike only wait for each other.
func (postgresDialect) lock(t *tx, kind, id string) error {
	_, err := t.exec(`SELECT pg_advisory_xact_lock(?, hashtext(?))`, pgLockRules, kind+":"+id) // kinds hold no ":"
	return err
}

// lockFeed serialises the transactions that write change-feed events from
// the moment they write them to their commit: an event id is taken only
// once every transaction holding a lower one has committed, so readers
// that ask for "after N" never miss a late commit.
func (postgresDialect) lockFeed(t *tx) error {
	_, err := t.exec(`SELECT pg_advisory_xact_lock(?, 0)`, pgLockFeed)
	return err
}

func (postgresDialect) claimSuffix() string { return " FOR UPDATE SKIP LOCKED" }

// readOptions: READ COMMITTED would let each query see a newer commit;
// REPEATABLE READ holds one snapshot for the transaction.
func (postgresDialect) readOptions() *sql.TxOptions {
	return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
}

// committed sends the post-commit signal to every replica: NOTIFY is
// delivered when, and only if, the transaction commits.
func (postgresDialect) committed(t *tx, c Change) error {
	_, err := t.exec(`SELECT pg_notify(?, ?)`, pgChannel, formatChange(t.store.origin, c))
	return err
}

func (postgresDialect) tables(ctx context.Context, s *Store) ([]string, error) {
	return stringsOf(s.read.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`))
}

// columnTypes turns SQLite's integer booleans into booleans for the
// table's boolean columns.
func (postgresDialect) columnTypes(ctx context.Context, t *tx, table string) (func(string, any) any, error) {
	rows, err := t.QueryContext(ctx, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND data_type = 'boolean'`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	booleans := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		booleans[name] = true
	}
	return func(column string, v any) any {
		if n, ok := v.(int64); ok && booleans[column] {
			return n != 0
		}
		return v
	}, rows.Err()
}

// afterCopy sets every identity sequence past the highest value copied, so
// that the next event, job or update continues from there.
func (postgresDialect) afterCopy(t *tx, tables []string) error {
	rows, err := t.QueryContext(t.ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return err
	}
	for _, c := range cols {
		if _, err := t.exec(`SELECT setval(pg_get_serial_sequence(?, ?), coalesce((SELECT max(`+c.column+`) FROM `+c.table+`), 0) + 1, false)`, c.table, c.column); err != nil {
			return fmt.Errorf("move the sequence of %s.%s on: %w", c.table, c.column, err)
		}
	}
	return nil
}

func (postgresDialect) settle(ctx context.Context, s *Store) error {
	if _, err := s.write.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

func (postgresDialect) backup(context.Context, *Store, string) error { return ErrBackupElsewhere }

// integrityCheck is what Herald can ask of PostgreSQL, which checks its own
// pages (data checksums, amcheck): that the schema answers.
func (postgresDialect) integrityCheck(ctx context.Context, s *Store) (string, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return "", err
	}
	return "ok", nil
}

// isUnavailable: the server refused to serve (shutting down, starting, a
// connection exception) or no connection could be made or kept. An error
// the server sent about the query itself is not one.
func (postgresDialect) isUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) || strings.Contains(err.Error(), "conn closed")
}

// cannotWrite: out of disk space or other resources (class 53 but memory),
// a read-only transaction forced on us (a hot standby, or
// default_transaction_read_only), or an I/O error on the server.
func (postgresDialect) cannotWrite(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "53000", "53100", "53400", "25006", "58030":
		return true
	}
	return false
}

func (postgresDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
