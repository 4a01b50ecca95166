package store

import (
	"context"
	"fmt"
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
	rows, err := s.read.QueryContext(ctx, `
		SELECT component_id, status, at, id FROM component_status_changes WHERE at >= ?
		UNION ALL
		SELECT component_id, status, at, id FROM component_status_changes
		WHERE id IN (SELECT max(id) FROM component_status_changes WHERE at < ? GROUP BY component_id)
		ORDER BY 1, 3, 4`, since, since)
	if err != nil {
		return nil, fmt.Errorf("store: status history: %w", err)
	}
	defer rows.Close()
	out := map[string][]StatusChange{}
	for rows.Next() {
		var c StatusChange
		var id int64
		if err := rows.Scan(&c.ComponentID, &c.Status, &c.At, &id); err != nil {
			return nil, fmt.Errorf("store: status history: %w", err)
		}
		out[c.ComponentID] = append(out[c.ComponentID], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: status history: %w", err)
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
	Days    []UptimeDay // oldest first; the last is today
	Percent float64     // 0–100 over the part of the window the component existed
	HasData bool
}

// partialOutageWeight is how much an hour of partial outage counts against
// uptime, relative to an hour of major outage (Statuspage's convention: 30%).
// Degraded performance and maintenance do not count as downtime.
const partialOutageWeight = 0.3

// ComputeUptime turns a component's status history (as StatusHistory returns
// it) into daily worst statuses and an uptime percentage for the days ending
// today (UTC), now included.
func ComputeUptime(changes []StatusChange, now time.Time, days int) Uptime {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	windowStart := today.AddDate(0, 0, -(days - 1))
	up := Uptime{Days: make([]UptimeDay, days)}
	for i := range up.Days {
		up.Days[i] = UptimeDay{Date: windowStart.AddDate(0, 0, i), Worst: Operational}
	}
	var total, down float64
	for i, c := range changes {
		from := c.At.UTC()
		until := now
		if i+1 < len(changes) {
			until = changes[i+1].At.UTC()
		}
		if from.Before(windowStart) {
			from = windowStart
		}
		if !until.After(from) {
			// An instant status (changed again at once) still marks its day.
			if !c.At.Before(windowStart) && !c.At.After(now) {
				markDay(&up, windowStart, c.At.UTC(), c.Status, 0)
			}
			continue
		}
		total += until.Sub(from).Seconds()
		switch c.Status {
		case MajorOutage:
			down += until.Sub(from).Seconds()
		case PartialOutage:
			down += partialOutageWeight * until.Sub(from).Seconds()
		}
		// Walk the interval day by day.
		for d := from; d.Before(until); {
			dayEnd := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
			end := until
			if dayEnd.Before(end) {
				end = dayEnd
			}
			markDay(&up, windowStart, d, c.Status, end.Sub(d))
			d = end
		}
	}
	if total > 0 {
		up.HasData = true
		up.Percent = 100 * (1 - down/total)
	}
	return up
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
