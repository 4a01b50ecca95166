package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// IncidentClock is the time-to-tell clock of one incident: the gap between
// something going wrong and everyone being told, moment by moment.
type IncidentClock struct {
	FirstSignal   *time.Time // the earliest alert behind it, if an integration opened it
	ImpactBegan   time.Time  // started_at
	DraftCreated  *time.Time // when it waited as a draft
	FirstPublic   time.Time  // the first public post
	FirstDelivery *time.Time // the first message a relay or endpoint accepted
	LastDelivery  *time.Time
	Resolved      *time.Time
}

// ToPublic is how long after the impact began the public first heard.
func (c IncidentClock) ToPublic() time.Duration { return c.FirstPublic.Sub(c.ImpactBegan) }

// ToFirstDelivery is how long after the impact began the first subscriber
// was reached; false when nobody has been yet.
func (c IncidentClock) ToFirstDelivery() (time.Duration, bool) {
	if c.FirstDelivery == nil {
		return 0, false
	}
	return c.FirstDelivery.Sub(c.ImpactBegan), true
}

// Clock returns an incident's time-to-tell clock.
func (s *Store) Clock(ctx context.Context, id string) (IncidentClock, error) {
	var c IncidentClock
	var started, signal, draft, first, last, resolved sql.NullTime
	err := s.read.QueryRowContext(ctx, `SELECT created_at, started_at, first_signal_at, draft_created_at, first_delivery_at, last_delivery_at, resolved_at
		FROM incidents WHERE id = ?`, id).Scan(&c.FirstPublic, &started, &signal, &draft, &first, &last, &resolved)
	if err == sql.ErrNoRows {
		return IncidentClock{}, fmt.Errorf("store: clock: %w", &NotFoundError{Kind: "incident", ID: id})
	}
	if err != nil {
		return IncidentClock{}, fmt.Errorf("store: clock: %w", err)
	}
	c.ImpactBegan = c.FirstPublic
	if started.Valid {
		c.ImpactBegan = started.Time.UTC()
	}
	c.FirstSignal, c.DraftCreated, c.FirstDelivery, c.LastDelivery, c.Resolved = timePtr(signal), timePtr(draft), timePtr(first), timePtr(last), timePtr(resolved)
	return c, nil
}

// ClockBuckets are the upper bounds, in seconds, of the time-to-tell
// histograms: a minute to a day.
var ClockBuckets = []float64{60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400}

// ClockHistogram is how many incidents took at most each ClockBuckets
// bound to tell, with their count and total seconds (Prometheus's shape).
type ClockHistogram struct {
	Count   uint64
	Sum     float64
	Buckets map[float64]uint64 // cumulative
}

// ClockHistograms reads the time-to-public and time-to-first-delivery of
// every incident, aggregated in the database: each replica reports the
// same figures, and they only grow.
func (s *Store) ClockHistograms(ctx context.Context) (toPublic, toDelivery ClockHistogram, err error) {
	read := func(column string) (ClockHistogram, error) {
		q := `SELECT count(` + column + `), coalesce(sum(` + column + `), 0)`
		for _, b := range ClockBuckets {
			q += fmt.Sprintf(`, coalesce(sum(CASE WHEN %s <= %d THEN 1 ELSE 0 END), 0)`, column, int64(b))
		}
		vals := make([]int64, 2+len(ClockBuckets))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := s.read.QueryRowContext(ctx, q+` FROM incidents`).Scan(ptrs...); err != nil {
			return ClockHistogram{}, err
		}
		h := ClockHistogram{Count: uint64(vals[0]), Sum: float64(vals[1]), Buckets: map[float64]uint64{}}
		for i, b := range ClockBuckets {
			h.Buckets[b] = uint64(vals[2+i])
		}
		return h, nil
	}
	if toPublic, err = read("time_to_public_s"); err != nil {
		return toPublic, toDelivery, fmt.Errorf("store: clock histograms: %w", err)
	}
	if toDelivery, err = read("time_to_delivery_s"); err != nil {
		return toPublic, toDelivery, fmt.Errorf("store: clock histograms: %w", err)
	}
	return toPublic, toDelivery, nil
}

// ClockMonth is one month of the time-to-tell report.
type ClockMonth struct {
	Month                    time.Time // the first of the month, UTC
	Incidents                int
	MedianToPublic           time.Duration
	WorstToPublic            time.Duration
	MedianToFirstDelivery    time.Duration // 0 when no incident reached anyone
	WorstToFirstDelivery     time.Duration
	WorstIncident, WorstName string // the incident that took longest to tell
}

// ClockReport is the time to tell of the incidents whose impact began
// since since, month by month, oldest first.
func (s *Store) ClockReport(ctx context.Context, since time.Time) ([]ClockMonth, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, created_at, started_at, time_to_public_s, time_to_delivery_s FROM incidents
		WHERE coalesce(started_at, created_at) >= ? ORDER BY created_at`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: clock report: %w", err)
	}
	defer rows.Close()
	type row struct {
		id, name          string
		began             time.Time
		public, delivered sql.NullInt64
	}
	byMonth := map[time.Time][]row{}
	for rows.Next() {
		var r row
		var created time.Time
		var started sql.NullTime
		if err := rows.Scan(&r.id, &r.name, &created, &started, &r.public, &r.delivered); err != nil {
			return nil, fmt.Errorf("store: clock report: %w", err)
		}
		r.began = created.UTC()
		if started.Valid {
			r.began = started.Time.UTC()
		}
		m := time.Date(r.began.Year(), r.began.Month(), 1, 0, 0, 0, 0, time.UTC)
		byMonth[m] = append(byMonth[m], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: clock report: %w", err)
	}
	var out []ClockMonth
	for m, list := range byMonth {
		cm := ClockMonth{Month: m, Incidents: len(list)}
		var public, delivered []time.Duration
		for _, r := range list {
			d := time.Duration(r.public.Int64) * time.Second
			public = append(public, d)
			if d >= cm.WorstToPublic {
				cm.WorstToPublic, cm.WorstIncident, cm.WorstName = d, r.id, r.name
			}
			if r.delivered.Valid {
				delivered = append(delivered, time.Duration(r.delivered.Int64)*time.Second)
			}
		}
		cm.MedianToPublic = median(public)
		if len(delivered) > 0 {
			cm.MedianToFirstDelivery, cm.WorstToFirstDelivery = median(delivered), slices.Max(delivered)
		}
		out = append(out, cm)
	}
	slices.SortFunc(out, func(a, b ClockMonth) int { return a.Month.Compare(b.Month) })
	return out, nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}
