package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StatusChange is one entry of a component's status history.
type StatusChange struct {
	ComponentID string
	Status      ComponentStatus
	At          time.Time
}

// StatusHistory returns each component's status changes since since, oldest
// first, preceded by the change that set its status at since (if it existed).
func (s *Store) StatusHistory(ctx context.Context, since time.Time) (map[string][]StatusChange, error) {
	since = since.UTC()
	// The changes since are read by time (their own index); the one before
	// them per component by one index probe each. Neither walks the older
	// history, which grows for as long as the page lives. They are put in
	// order here: an ORDER BY would lead the planner to walk the whole
	// (component_id, at) index to avoid a sort of a few rows.
	rows, err := s.read.QueryContext(ctx, `
		SELECT component_id, status, at, id FROM component_status_changes WHERE at >= ?
		UNION ALL
		SELECT s.component_id, s.status, s.at, s.id FROM components c
		CROSS JOIN component_status_changes s
		WHERE s.id = (SELECT l.id FROM component_status_changes l WHERE l.component_id = c.id AND l.at < ? ORDER BY l.at DESC, l.id DESC LIMIT 1)`, since, since)
	if err != nil {
		return nil, fmt.Errorf("store: status history: %w", err)
	}
	defer rows.Close()
	type change struct {
		StatusChange
		id int64
	}
	var all []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.ComponentID, &c.Status, &c.At, &c.id); err != nil {
			return nil, fmt.Errorf("store: status history: %w", err)
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: status history: %w", err)
	}
	slices.SortFunc(all, func(a, b change) int {
		return cmp.Or(strings.Compare(a.ComponentID, b.ComponentID), a.At.Compare(b.At), cmp.Compare(a.id, b.id))
	})
	out := map[string][]StatusChange{}
	for _, c := range all {
		out[c.ComponentID] = append(out[c.ComponentID], c.StatusChange)
	}
	return out, nil
}

// UptimeDay is one day of a component's uptime bar.
type UptimeDay struct {
	Date          time.Time       // midnight UTC
	HasData       bool            // false before the component existed
	Worst         ComponentStatus // the worst status the component had that day
	MajorOutage   time.Duration
	PartialOutage time.Duration
}

// Uptime is a component's record over a window of days.
type Uptime struct {
	Days []UptimeDay // oldest first; the last is today
	// NoData is how many days, at the start of Days, passed before the
	// component existed: the page draws them as one quiet segment.
	NoData int
	// Since is the day the component was added when that falls inside the
	// window (it is young), zero otherwise.
	Since time.Time
	// HasData reports that Percent means something: the component has
	// existed for at least a whole day. A younger one has no percentage;
	// the page says since when it exists instead.
	HasData bool
	// Percent is 0–100 over the days of the window the component existed,
	// each counted whole (see ComputeUptime).
	Percent float64
}

// partialOutageWeight is how much an hour of partial outage counts against
// uptime, relative to an hour of major outage (Statuspage's convention: 30%).
// Degraded performance and maintenance do not count as downtime.
const partialOutageWeight = 0.3

// ComputeUptime turns a component's status history (as StatusHistory returns
// it) into daily worst statuses and an uptime percentage for the days ending
// today (UTC), now included. added is when the component was added (its
// CreatedAt, which is also the start_date the Statuspage API gives).
//
// The percentage weighs downtime against whole days — every day of the
// window from the one the component was added, today included — never
// against the minutes it has existed: a 4-minute outage on a component added
// this morning is 4 minutes of a day, not half its life. Until a component
// has existed a whole day there is no percentage at all.
func ComputeUptime(added time.Time, changes []StatusChange, now time.Time, days int) Uptime {
	now, added = now.UTC(), added.UTC()
	today := midnightUTC(now)
	windowStart := today.AddDate(0, 0, -(days - 1))
	up := Uptime{Days: make([]UptimeDay, days)}
	for i := range up.Days {
		// UTC days are all 24 hours long.
		up.Days[i] = UptimeDay{Date: windowStart.Add(time.Duration(i) * 24 * time.Hour), Worst: Operational}
	}
	// History never starts before the component was added; should it
	// (an imported record), the days before it still show no data.
	existsFrom := windowStart
	if added.After(existsFrom) {
		existsFrom = added
		up.Since = midnightUTC(added)
	}
	var down float64
	for i, c := range changes {
		from := c.At.UTC()
		until := now
		if i+1 < len(changes) {
			until = changes[i+1].At.UTC()
		}
		if from.Before(existsFrom) {
			from = existsFrom
		}
		if !until.After(from) {
			// An instant status (changed again at once) still marks its day.
			if !c.At.Before(existsFrom) && !c.At.After(now) {
				markDay(&up, windowStart, c.At.UTC(), c.Status, 0)
			}
			continue
		}
		switch c.Status {
		case MajorOutage:
			down += until.Sub(from).Seconds()
		case PartialOutage:
			down += partialOutageWeight * until.Sub(from).Seconds()
		}
		// Walk the interval day by day.
		for d := from; d.Before(until); {
			end := midnightUTC(d).AddDate(0, 0, 1)
			if until.Before(end) {
				end = until
			}
			markDay(&up, windowStart, d, c.Status, end.Sub(d))
			d = end
		}
	}
	for _, d := range up.Days {
		if d.HasData {
			break
		}
		up.NoData++
	}
	if counted := days - up.NoData; counted > 0 && now.Sub(added) >= 24*time.Hour {
		up.HasData = true
		up.Percent = 100 * max(0, 1-down/(float64(counted)*24*time.Hour.Seconds()))
	}
	return up
}

func midnightUTC(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func markDay(up *Uptime, windowStart, at time.Time, status ComponentStatus, d time.Duration) {
	i := int(at.Sub(windowStart) / (24 * time.Hour))
	if i < 0 || i >= len(up.Days) {
		return
	}
	day := &up.Days[i]
	if day.HasData {
		day.Worst = worse(day.Worst, status)
	} else {
		day.Worst = status
	}
	day.HasData = true
	switch status {
	case MajorOutage:
		day.MajorOutage += d
	case PartialOutage:
		day.PartialOutage += d
	}
}

func worse(a, b ComponentStatus) ComponentStatus {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}
