package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IncidentTemplate is a ready-made start for an incident or an update
// ("Investigating elevated error rates"), so a commander under stress
// edits rather than writes.
type IncidentTemplate struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`   // what the commander picks it by
	Title     string         `json:"title"`  // the incident name it suggests
	Status    IncidentStatus `json:"status"` // the status it suggests
	Impact    Impact         `json:"impact"` // "" lets components decide
	Body      string         `json:"body"`   // Markdown message
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// IncidentTemplateInput creates or replaces a template.
type IncidentTemplateInput struct {
	Name   string
	Title  string
	Status IncidentStatus
	Impact Impact
	Body   string
}

func (in IncidentTemplateInput) check() (IncidentTemplateInput, error) {
	var err error
	if in.Name, err = checkLine("name", in.Name, MaxNameLength, true); err != nil {
		return in, err
	}
	if in.Title, err = checkLine("title", in.Title, MaxNameLength, false); err != nil {
		return in, err
	}
	if in.Status == "" {
		in.Status = Investigating
	}
	if !in.Status.Valid() {
		return in, invalid("status", "unknown incident status %q; use one of %s", in.Status, joinValues(IncidentStatuses))
	}
	if in.Impact != "" && !in.Impact.Valid() {
		return in, invalid("impact", "unknown impact %q; use one of %s", in.Impact, joinValues(Impacts))
	}
	if in.Body, err = checkText("body", in.Body, MaxBodyLength, true); err != nil {
		return in, err
	}
	return in, nil
}

const templateColumns = `id, name, title, status, impact, body, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (IncidentTemplate, error) {
	var tp IncidentTemplate
	err := row.Scan(&tp.ID, &tp.Name, &tp.Title, &tp.Status, &tp.Impact, &tp.Body, &tp.CreatedAt, &tp.UpdatedAt)
	return tp, err
}

func getTemplate(ctx context.Context, q querier, id string) (IncidentTemplate, error) {
	tp, err := scanTemplate(q.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM incident_templates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return tp, &NotFoundError{Kind: "template", ID: id}
	}
	return tp, err
}

// ListIncidentTemplates returns every template by name.
func (s *Store) ListIncidentTemplates(ctx context.Context) ([]IncidentTemplate, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+templateColumns+` FROM incident_templates ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list templates: %w", err)
	}
	defer rows.Close()
	var out []IncidentTemplate
	for rows.Next() {
		tp, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list templates: %w", err)
		}
		out = append(out, tp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list templates: %w", err)
	}
	return out, nil
}

// GetIncidentTemplate returns one template.
func (s *Store) GetIncidentTemplate(ctx context.Context, id string) (IncidentTemplate, error) {
	tp, err := getTemplate(ctx, s.read, id)
	if err != nil {
		return IncidentTemplate{}, fmt.Errorf("store: get template: %w", err)
	}
	return tp, nil
}

// CreateIncidentTemplate adds a template.
func (s *Store) CreateIncidentTemplate(ctx context.Context, in IncidentTemplateInput) (IncidentTemplate, error) {
	var tp IncidentTemplate
	err := s.inTx(ctx, func(t *tx) error {
		in, err := in.check()
		if err != nil {
			return err
		}
		tp = IncidentTemplate{ID: newID(), Name: in.Name, Title: in.Title, Status: in.Status, Impact: in.Impact, Body: in.Body, CreatedAt: t.now, UpdatedAt: t.now}
		if _, err := t.exec(`INSERT INTO incident_templates (`+templateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tp.ID, tp.Name, tp.Title, tp.Status, tp.Impact, tp.Body, tp.CreatedAt, tp.UpdatedAt); err != nil {
			return err
		}
		t.record("template.create", "incident_template", tp.ID, nil, tp)
		return nil
	})
	if err != nil {
		return IncidentTemplate{}, fmt.Errorf("store: create template: %w", err)
	}
	return tp, nil
}

// UpdateIncidentTemplate replaces a template's fields.
func (s *Store) UpdateIncidentTemplate(ctx context.Context, id string, in IncidentTemplateInput) (IncidentTemplate, error) {
	var tp IncidentTemplate
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getTemplate(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		in, err := in.check()
		if err != nil {
			return err
		}
		tp = before
		tp.Name, tp.Title, tp.Status, tp.Impact, tp.Body = in.Name, in.Title, in.Status, in.Impact, in.Body
		if tp == before {
			return nil // nothing changes
		}
		tp.UpdatedAt = t.now
		if _, err := t.exec(`UPDATE incident_templates SET name = ?, title = ?, status = ?, impact = ?, body = ?, updated_at = ? WHERE id = ?`,
			tp.Name, tp.Title, tp.Status, tp.Impact, tp.Body, tp.UpdatedAt, id); err != nil {
			return err
		}
		t.record("template.update", "incident_template", id, before, tp)
		return nil
	})
	if err != nil {
		return IncidentTemplate{}, fmt.Errorf("store: update template: %w", err)
	}
	return tp, nil
}

// DeleteIncidentTemplate removes a template.
func (s *Store) DeleteIncidentTemplate(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getTemplate(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM incident_templates WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("template.delete", "incident_template", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete template: %w", err)
	}
	return nil
}
