package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// copyOrder is every table of Herald's schema, parents before children,
// as Copy writes them. A table Copy does not know makes it refuse (a test
// keeps this list and the migrations in step).
var copyOrder = []string{
	"component_groups", "components", "component_status_changes",
	"incidents", "incident_components", "incident_pages", "incident_updates", "incident_update_components",
	"maintenances", "maintenance_components", "maintenance_pages", "maintenance_updates", "maintenance_cancellations",
	"pages", "page_components", "page_groups", "viewer_links", "viewer_sessions",
	"page_branding", "brand_assets",
	"users", "sessions", "api_tokens", "user_factors", "recovery_codes", "pending_signins", "factor_required_roles", "sso_logins",
	"webauthn_credentials", "webauthn_ceremonies",
	"events", "audit_log", "notify_settings",
	"subscribers", "subscriber_components", "webhooks", "sms_subscribers", "sms_log",
	"outbox_jobs", "outbox_batches", "outbox_deliveries", "webhook_attempts", "outbox_counts", "outbox_results",
	"incident_templates", "postmortems", "postmortem_actions",
	"incident_drafts", "alert_groups", "alert_states", "rate_attempts", "settings",
}

// notCopied are the tables Copy leaves behind: the migrations' own record
// (the destination's migrations wrote it), and the readiness probe's
// scratch row, which is empty but for a moment.
var notCopied = []string{"schema_migrations", "write_probe"}

// CopyCount is how many rows Copy wrote to one table.
type CopyCount struct {
	Table string
	Rows  int
}

// CopyTo copies every row of this database into dest, which must be
// empty: every table, id, time, hashed secret and sequence — the change
// feed's position included, so that live clients reconnecting to the new
// database miss nothing and repeat nothing — in one transaction on dest.
// It moves a deployment between SQLite and PostgreSQL, either way.
func (s *Store) CopyTo(ctx context.Context, dest *Store) ([]CopyCount, error) {
	if err := s.knowsEveryTable(ctx); err != nil {
		return nil, err
	}
	if err := dest.mustBeEmpty(ctx); err != nil {
		return nil, err
	}
	var counts []CopyCount
	err := dest.inTx(ctx, func(t *tx) error {
		// The destination's own link key (its migration made one) gives
		// way to the source's, so links already mailed keep working.
		if _, err := t.exec(`DELETE FROM notify_settings`); err != nil {
			return err
		}
		for _, table := range copyOrder {
			n, err := s.copyTable(ctx, t, table)
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			counts = append(counts, CopyCount{Table: table, Rows: n})
		}
		return dest.dialect.afterCopy(t, copyOrder)
	})
	if err != nil {
		return nil, fmt.Errorf("store: copy to %s: %w", dest.where, err)
	}
	if err := dest.dialect.settle(ctx, dest); err != nil {
		return nil, fmt.Errorf("store: after the copy to %s: %w", dest.where, err)
	}
	return counts, nil
}

// knowsEveryTable refuses a source with tables Copy would leave behind.
func (s *Store) knowsEveryTable(ctx context.Context) error {
	tables, err := s.dialect.tables(ctx, s)
	if err != nil {
		return fmt.Errorf("store: copy: list tables: %w", err)
	}
	for _, table := range tables {
		if !slices.Contains(notCopied, table) && !slices.Contains(copyOrder, table) {
			return fmt.Errorf("store: copy: table %s is not one this Herald knows how to copy", table)
		}
	}
	return nil
}

// mustBeEmpty refuses a destination that holds anything but what its own
// migrations wrote.
func (s *Store) mustBeEmpty(ctx context.Context) error {
	for _, table := range copyOrder {
		if table == "notify_settings" {
			continue
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return fmt.Errorf("store: copy: read %s: %w", table, err)
		}
		if n > 0 {
			return fmt.Errorf("store: copy: %s is not empty (%s has %d rows): copy only into a new database, so that nothing is mixed or overwritten", s.where, table, n)
		}
	}
	return nil
}

// copyTable streams one table into t, a few hundred rows per statement.
func (s *Store) copyTable(ctx context.Context, t *tx, table string) (int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	conv, err := t.store.dialect.columnTypes(ctx, t, table)
	if err != nil {
		return 0, err
	}
	batch := max(1, min(500, 60000/len(cols)))
	var args []any
	n := 0
	flush := func(count int) error {
		if count == 0 {
			return nil
		}
		row := "(" + placeholders(len(cols)) + ")"
		_, err := t.exec(`INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `+strings.TrimSuffix(strings.Repeat(row+",", count), ","), args...)
		args = args[:0]
		return err
	}
	pending := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			args = append(args, conv(cols[i], v))
		}
		n++
		if pending++; pending == batch {
			if err := flush(pending); err != nil {
				return n, err
			}
			pending = 0
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush(pending)
}
