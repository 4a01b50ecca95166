package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// auditFilter reads the audit log's filters from the query string, the same
// for the page, the CSV export and the API. from and to are days (UTC),
// to inclusive; since and until are exact RFC 3339 times.
func auditFilter(q url.Values) (store.AuditFilter, error) {
	var f store.AuditFilter
	if a := q.Get("actor"); a != "" {
		typ, id, ok := strings.Cut(a, ":")
		if !ok {
			return f, badRequest("invalid_value", "actor", "actor must be type:id, such as user:abc123")
		}
		f.ActorType, f.ActorID = typ, id
	}
	if v := q.Get("actor_type"); v != "" {
		f.ActorType = v
	}
	if v := q.Get("actor_id"); v != "" {
		f.ActorID = v
	}
	f.ObjectType, f.ObjectID = strings.TrimSpace(q.Get("object_type")), strings.TrimSpace(q.Get("object_id"))
	day := func(field string) (time.Time, error) {
		v := q.Get(field)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return t, badRequest("invalid_value", field, "%s must be a date such as 2026-11-25", field)
		}
		return t, nil
	}
	exact := func(field string) (time.Time, error) {
		v := q.Get(field)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return t, badRequest("invalid_value", field, "%s must be an RFC 3339 time, such as 2026-11-25T09:00:00Z", field)
		}
		return t, nil
	}
	var err error
	if f.Since, err = day("from"); err != nil {
		return f, err
	}
	to, err := day("to")
	if err != nil {
		return f, err
	}
	if !to.IsZero() {
		f.Until = to.AddDate(0, 0, 1)
	}
	if t, err := exact("since"); err != nil {
		return f, err
	} else if !t.IsZero() {
		f.Since = t
	}
	if t, err := exact("until"); err != nil {
		return f, err
	} else if !t.IsZero() {
		f.Until = t
	}
	if v := q.Get("before_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, badRequest("invalid_value", "before_id", "before_id must be an entry id")
		}
		f.BeforeID = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, badRequest("invalid_value", "limit", "limit must be a number from 1 to 1000")
		}
		f.Limit = n
	}
	return f, nil
}

const auditPageSize = 100

func (s *Server) consoleAudit(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	view := templates.AuditPage{
		Console: s.consoleView(c, "audit"), Actor: q.Get("actor"), ObjectType: q.Get("object_type"),
		ObjectID: q.Get("object_id"), From: q.Get("from"), To: q.Get("to"),
	}
	var err error
	if view.Actors, err = s.store.AuditActors(ctx); err != nil {
		return err
	}
	if view.ObjectTypes, err = s.store.AuditObjectTypes(ctx); err != nil {
		return err
	}
	status := http.StatusOK
	f, ferr := auditFilter(q)
	if ferr != nil {
		view.Error = s.classify(ferr).Message
		status = http.StatusBadRequest
	} else {
		f.Limit = auditPageSize
		entries, err := s.store.QueryAuditLog(ctx, f)
		if err != nil {
			return err
		}
		view.Rows = templates.AuditRows(entries)
		if len(entries) == auditPageSize {
			older := cloneValues(q)
			older.Set("before_id", strconv.FormatInt(entries[len(entries)-1].ID, 10))
			view.Older = "/console/audit?" + older.Encode()
		}
	}
	csvQuery := cloneValues(q)
	csvQuery.Del("before_id")
	view.CSV = "/console/audit.csv?" + csvQuery.Encode()
	return s.render(c, status, templates.Audit(view))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

// consoleAuditCSV exports the filtered audit log (up to 10,000 entries,
// newest first) for a spreadsheet or an auditor.
func (s *Server) consoleAuditCSV(c echo.Context) error {
	f, err := auditFilter(c.QueryParams())
	if err != nil {
		return err
	}
	f.Limit = 10000
	entries, err := s.store.QueryAuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	header := []string{"id", "at", "actor_type", "actor_id", "actor_name", "action", "object_type", "object_id", "before", "after"}
	return s.writeCSV(c, "herald-audit-log.csv", header, func(row func(...string) error) error {
		for _, e := range entries {
			if err := row(strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Actor.Type, e.Actor.ID, e.Actor.Name,
				e.Action, e.ObjectType, e.ObjectID, string(e.Before), string(e.After)); err != nil {
				return err
			}
		}
		return nil
	})
}

// apiAuditLog is GET /api/v1/audit-log, for admins: the same filters as the
// console page, newest first.
func (s *Server) apiAuditLog(c echo.Context) error {
	f, err := auditFilter(c.QueryParams())
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	entries, err := s.store.QueryAuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(entries))
}
