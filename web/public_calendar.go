package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// The maintenance calendars (RFC 5545): the whole page's at
// /maintenance.ics, one component's at /components/{id}/maintenance.ics and
// one window's at /maintenance/{id}/calendar.ics. Each event's UID is the
// maintenance's id at the page's host and its SEQUENCE the maintenance's
// revision, so a calendar that subscribed updates a moved window, and drops
// a cancelled one, instead of showing it twice.
const (
	calendarPath = "/maintenance.ics"
	// calendarKeep is how long a completed or cancelled window stays in the
	// feed: long enough for every subscribed calendar to have fetched it.
	calendarKeep = 30 * 24 * time.Hour
	calendarType = "text/calendar; charset=utf-8"
)

// calendarEvent is one VEVENT.
type calendarEvent struct {
	id, name          string
	from, until       time.Time
	created, modified time.Time
	sequence          int
	cancelled         bool
	status            string // the maintenance's status, in words
	components        []string
	body              string
}

// handleCalendar serves the page's calendar, or one component's.
func (s *Server) handleCalendar(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	key, component := "calendar", ""
	if id := c.Param("id"); id != "" {
		if _, ok := snap.components[id]; !ok {
			return echo.NewHTTPError(http.StatusNotFound, "no such component")
		}
		key, component = "calendar:"+id, id
	}
	p, err := snap.lazy.get(c.Request().Context(), snap.lang, key, func(ctx context.Context) (*page, error) {
		events, err := s.calendarEvents(ctx, snap, component)
		if err != nil {
			return nil, err
		}
		name := snap.site.Name + " maintenance"
		if component != "" {
			name = snap.site.Name + " " + snap.components[component].Name + " maintenance"
		}
		return newPageBytes(s.encodeCalendar(snap, name, events), calendarType)
	})
	if err != nil {
		return err
	}
	return s.servePage(c, p)
}

// handleMaintenanceCalendar serves one window as a calendar of one event,
// for "Add to calendar".
func (s *Server) handleMaintenanceCalendar(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	p, err := snap.lazy.get(c.Request().Context(), snap.lang, "calendar-maintenance:"+id, func(ctx context.Context) (*page, error) {
		m, err := s.store.GetMaintenance(ctx, id)
		if err == nil {
			if !snap.scope.Shows(m.Components, m.Pages) {
				return nil, nil
			}
			return newPageBytes(s.encodeCalendar(snap, snap.site.Name+" maintenance: "+m.Name, []calendarEvent{s.maintenanceEvent(snap, snap.scope.Maintenance(m))}), calendarType)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		cancelled, err := s.store.ListMaintenanceCancellations(ctx, time.Time{})
		if err != nil {
			return nil, err
		}
		for _, m := range cancelled {
			if m.ID == id && snap.scope.Shows(m.Components, m.Pages) {
				return newPageBytes(s.encodeCalendar(snap, snap.site.Name+" maintenance: "+m.Name, []calendarEvent{cancelledEvent(snap, m)}), calendarType)
			}
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "error.no_such_maintenance", "error.maintenance_missing")
	}
	return s.servePage(c, p)
}

// calendarEvents are the windows scheduled or under way, and those
// completed or cancelled lately, of one component or of all.
func (s *Server) calendarEvents(ctx context.Context, snap *snapshot, component string) ([]calendarEvent, error) {
	now := s.store.Now()
	list, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Scope: snap.scope, Limit: 500})
	if err != nil {
		return nil, err
	}
	cancelled, err := s.store.ListMaintenanceCancellations(ctx, now.Add(-calendarKeep))
	if err != nil {
		return nil, err
	}
	wanted := func(comps, pages []string) bool {
		return snap.scope.Shows(comps, pages) && (component == "" || slices.Contains(comps, component))
	}
	var out []calendarEvent
	for _, m := range list {
		if m.Status == store.MaintenanceCompleted && m.CompletedAt != nil && now.Sub(*m.CompletedAt) > calendarKeep {
			continue
		}
		if wanted(m.Components, m.Pages) {
			out = append(out, s.maintenanceEvent(snap, m))
		}
	}
	for _, m := range cancelled {
		if wanted(m.Components, m.Pages) {
			out = append(out, cancelledEvent(snap, m))
		}
	}
	return out, nil
}

func componentNames(snap *snapshot, ids []string) []string {
	var names []string
	for _, id := range ids {
		if c, ok := snap.components[id]; ok {
			names = append(names, c.Name)
		}
	}
	return names
}

func (s *Server) maintenanceEvent(snap *snapshot, m store.Maintenance) calendarEvent {
	e := calendarEvent{id: m.ID, name: m.Name, from: m.ScheduledFor, until: m.ScheduledUntil, created: m.CreatedAt, modified: m.UpdatedAt,
		sequence: m.Revision, status: m.Status.Label(), components: componentNames(snap, m.Components)}
	if len(m.Updates) > 0 {
		e.body = m.Updates[0].Body
		e.modified = later(e.modified, m.Updates[0].CreatedAt)
	}
	return e
}

func cancelledEvent(snap *snapshot, m store.MaintenanceCancellation) calendarEvent {
	return calendarEvent{id: m.ID, name: m.Name, from: m.ScheduledFor, until: m.ScheduledUntil, created: m.CreatedAt, modified: m.CancelledAt,
		sequence: m.Revision, cancelled: true, status: "Cancelled", components: componentNames(snap, m.Components)}
}

// encodeCalendar writes a VCALENDAR of the events, published (METHOD:PUBLISH)
// for subscription. Its bytes depend only on the data, so its ETag holds
// across rebuilds that change nothing here.
func (s *Server) encodeCalendar(snap *snapshot, name string, events []calendarEvent) []byte {
	host := "herald"
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	var w icsWriter
	w.line("BEGIN", "VCALENDAR")
	w.line("VERSION", "2.0")
	w.line("PRODID", "-//Herald//Status page maintenance//EN")
	w.line("CALSCALE", "GREGORIAN")
	w.line("METHOD", "PUBLISH")
	w.text("X-WR-CALNAME", name)
	w.text("NAME", name) // RFC 7986
	w.line("REFRESH-INTERVAL;VALUE=DURATION", "PT1H")
	w.line("X-PUBLISHED-TTL", "PT1H")
	for _, e := range events {
		link := snap.site.BaseURL + "/maintenance/" + e.id
		w.line("BEGIN", "VEVENT")
		w.text("UID", e.id+"@"+host)
		w.line("SEQUENCE", strconv.Itoa(e.sequence))
		w.line("DTSTAMP", icsTime(e.modified))
		w.line("CREATED", icsTime(e.created))
		w.line("LAST-MODIFIED", icsTime(e.modified))
		w.line("DTSTART", icsTime(e.from))
		w.line("DTEND", icsTime(e.until))
		summary := "Maintenance: " + e.name
		if e.cancelled {
			summary = "Cancelled: " + summary
		}
		w.text("SUMMARY", summary)
		desc := e.status
		if len(e.components) > 0 {
			desc += "\nAffects: " + strings.Join(e.components, ", ")
		}
		if b := strings.TrimSpace(e.body); b != "" {
			desc += "\n\n" + b
		}
		w.text("DESCRIPTION", desc+"\n\n"+link)
		w.line("URL", link)
		if e.cancelled {
			w.line("STATUS", "CANCELLED")
		} else {
			w.line("STATUS", "CONFIRMED")
		}
		// Maintenance does not make the reader busy.
		w.line("TRANSP", "TRANSPARENT")
		w.line("END", "VEVENT")
	}
	w.line("END", "VCALENDAR")
	return []byte(w.b.String())
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsWriter writes content lines: CRLF ends, folded at 75 octets without
// splitting a UTF-8 sequence (RFC 5545 3.1).
type icsWriter struct{ b strings.Builder }

// text writes a TEXT value, escaped (RFC 5545 3.3.11).
func (w *icsWriter) text(name, value string) {
	w.line(name, icsEscape.Replace(strings.ReplaceAll(value, "\r\n", "\n")))
}

var icsEscape = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", `\n`)

func (w *icsWriter) line(name, value string) {
	l := name + ":" + value
	n := 0 // octets on the current physical line
	for len(l) > 0 {
		_, size := utf8.DecodeRuneInString(l)
		if n+size > 75 {
			w.b.WriteString("\r\n ")
			n = 1
		}
		w.b.WriteString(l[:size])
		n += size
		l = l[size:]
	}
	w.b.WriteString("\r\n")
}
