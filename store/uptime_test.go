package store

import (
	"math"
	"testing"
	"time"
)

// uptimeNow is "now" for the uptime tests: mid-afternoon, so today is partial.
var uptimeNow = time.Date(2025, time.March, 20, 15, 0, 0, 0, time.UTC)

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// dayIndex is the position of the day holding at in a window of days ending today.
func dayIndex(at time.Time, days int) int {
	return days - 1 - int(midnight(uptimeNow).Sub(midnight(at))/(24*time.Hour))
}

// outageStory is the component from the brief: created 10 days ago, a 2-hour
// major outage 3 days ago and a 10-hour partial outage yesterday.
func outageStory(id string) []StatusChange {
	created := uptimeNow.AddDate(0, 0, -10)
	major := time.Date(2025, time.March, 17, 10, 0, 0, 0, time.UTC)
	partial := time.Date(2025, time.March, 19, 8, 0, 0, 0, time.UTC)
	return []StatusChange{
		{id, Operational, created},
		{id, MajorOutage, major},
		{id, Operational, major.Add(2 * time.Hour)},
		{id, PartialOutage, partial},
		{id, Operational, partial.Add(10 * time.Hour)},
	}
}

func TestComputeUptime(t *testing.T) {
	t.Parallel()
	const days = 90
	story := outageStory("api")
	up := ComputeUptime(story[0].At, story, uptimeNow, days)

	if len(up.Days) != days {
		t.Fatalf("%d days, want %d", len(up.Days), days)
	}
	if today := up.Days[days-1].Date; !today.Equal(midnight(uptimeNow)) {
		t.Errorf("last day = %v, want today %v", today, midnight(uptimeNow))
	}
	if first := up.Days[0].Date; !first.Equal(midnight(uptimeNow).AddDate(0, 0, -(days - 1))) {
		t.Errorf("first day = %v", first)
	}
	created := dayIndex(uptimeNow.AddDate(0, 0, -10), days)
	majorDay := dayIndex(uptimeNow.AddDate(0, 0, -3), days)
	partialDay := dayIndex(uptimeNow.AddDate(0, 0, -1), days)
	for i, d := range up.Days {
		if i > 0 && !d.Date.Equal(up.Days[i-1].Date.AddDate(0, 0, 1)) {
			t.Errorf("day %d is %v, not the day after %v", i, d.Date, up.Days[i-1].Date)
		}
		want := UptimeDay{Date: d.Date, HasData: i >= created, Worst: Operational}
		switch i {
		case majorDay:
			want.Worst, want.MajorOutage = MajorOutage, 2*time.Hour
		case partialDay:
			want.Worst, want.PartialOutage = PartialOutage, 10*time.Hour
		}
		if d.HasData != want.HasData || (d.HasData && (d.Worst != want.Worst || d.MajorOutage != want.MajorOutage || d.PartialOutage != want.PartialOutage)) {
			t.Errorf("day %d (%s) = %+v, want %+v", i, d.Date.Format(time.DateOnly), d, want)
		}
	}
	if !up.HasData {
		t.Error("HasData = false")
	}
	if up.NoData != created || !up.Since.Equal(midnight(story[0].At)) {
		t.Errorf("NoData = %d, Since = %v; want %d days before it was added on %v", up.NoData, up.Since, created, midnight(story[0].At))
	}
	// Eleven whole days: the day it was added, nine more, and today.
	counted := 11 * 24 * time.Hour
	want := 100 * (1 - (2*time.Hour.Seconds()+0.3*10*time.Hour.Seconds())/counted.Seconds())
	if math.Abs(up.Percent-want) > 1e-9 {
		t.Errorf("Percent = %.6f, want %.6f", up.Percent, want)
	}
}

func TestComputeUptimeCases(t *testing.T) {
	t.Parallel()
	today := midnight(uptimeNow)
	tests := []struct {
		name        string
		added       time.Time // zero: when the first change was
		changes     []StatusChange
		days        int
		wantHasData bool
		wantPercent float64
		wantNoData  int
		wantSince   time.Time
		wantDays    map[int]UptimeDay // by index from the end: 0 is today, 1 yesterday
	}{
		{
			name: "no history", changes: nil, days: 90, wantHasData: false, wantPercent: 0, wantNoData: 90,
			wantDays: map[int]UptimeDay{0: {HasData: false}, 1: {HasData: false}, 89: {HasData: false}},
		},
		{
			name: "an outage spanning midnight marks both days",
			changes: []StatusChange{
				{"c", Operational, today.AddDate(0, 0, -5)},
				{"c", MajorOutage, today.AddDate(0, 0, -1).Add(-2 * time.Hour)}, // 22:00 two days ago
				{"c", Operational, today.AddDate(0, 0, -1).Add(3 * time.Hour)},  // 03:00 yesterday
			},
			days: 90, wantHasData: true, wantNoData: 84, wantSince: today.AddDate(0, 0, -5),
			wantPercent: 100 * (1 - 5*time.Hour.Seconds()/(6*24*time.Hour).Seconds()),
			wantDays: map[int]UptimeDay{
				2: {HasData: true, Worst: MajorOutage, MajorOutage: 2 * time.Hour},
				1: {HasData: true, Worst: MajorOutage, MajorOutage: 3 * time.Hour},
				0: {HasData: true, Worst: Operational},
				3: {HasData: true, Worst: Operational},
			},
		},
		{
			name: "an outage still going counts until now",
			changes: []StatusChange{
				{"c", Operational, today.AddDate(0, 0, -1)},
				{"c", PartialOutage, today.Add(5 * time.Hour)},
			},
			days: 90, wantHasData: true, wantNoData: 88, wantSince: today.AddDate(0, 0, -1),
			wantPercent: 100 * (1 - 0.3*10*time.Hour.Seconds()/(2*24*time.Hour).Seconds()),
			wantDays: map[int]UptimeDay{
				0: {HasData: true, Worst: PartialOutage, PartialOutage: 10 * time.Hour},
				1: {HasData: true, Worst: Operational},
				2: {HasData: false},
			},
		},
		{
			name: "degraded performance and maintenance show but are not downtime",
			changes: []StatusChange{
				{"c", Operational, today.AddDate(0, 0, -3)},
				{"c", DegradedPerformance, today.AddDate(0, 0, -2).Add(time.Hour)},
				{"c", UnderMaintenance, today.AddDate(0, 0, -1).Add(time.Hour)},
				{"c", Operational, today.AddDate(0, 0, -1).Add(2 * time.Hour)},
			},
			days: 90, wantHasData: true, wantPercent: 100, wantNoData: 86, wantSince: today.AddDate(0, 0, -3),
			wantDays: map[int]UptimeDay{
				3: {HasData: true, Worst: Operational},
				2: {HasData: true, Worst: DegradedPerformance},
				1: {HasData: true, Worst: DegradedPerformance},
				0: {HasData: true, Worst: Operational},
			},
		},
		{
			name: "history from before the window counts only inside it",
			changes: []StatusChange{
				{"c", MajorOutage, today.AddDate(0, 0, -200)},
				{"c", Operational, today.AddDate(0, 0, -8)},
			},
			days: 10, wantHasData: true,
			wantPercent: 90, // one day down of ten
			wantDays: map[int]UptimeDay{
				9: {HasData: true, Worst: MajorOutage, MajorOutage: 24 * time.Hour},
				8: {HasData: true, Worst: Operational},
			},
		},
		{
			name: "a status that lasted no time still marks its day",
			changes: []StatusChange{
				{"c", Operational, today.AddDate(0, 0, -3)},
				{"c", MajorOutage, today.AddDate(0, 0, -2).Add(time.Hour)},
				{"c", Operational, today.AddDate(0, 0, -2).Add(time.Hour)},
			},
			days: 90, wantHasData: true, wantPercent: 100, wantNoData: 86, wantSince: today.AddDate(0, 0, -3),
			wantDays: map[int]UptimeDay{
				2: {HasData: true, Worst: MajorOutage},
				1: {HasData: true, Worst: Operational},
			},
		},
		{
			name: "created today",
			changes: []StatusChange{
				{"c", Operational, today.Add(time.Hour)},
			},
			days: 90, wantHasData: false, wantNoData: 89, wantSince: today,
			wantDays: map[int]UptimeDay{0: {HasData: true, Worst: Operational}, 1: {HasData: false}},
		},
		{
			// The brief's alarm: a 4-minute outage on a component added 9
			// minutes ago was "51.73% uptime". It has no percentage yet.
			name: "a 4-minute outage on a 9-minute-old component",
			changes: []StatusChange{
				{"c", Operational, uptimeNow.Add(-9 * time.Minute)},
				{"c", MajorOutage, uptimeNow.Add(-6 * time.Minute)},
				{"c", Operational, uptimeNow.Add(-2 * time.Minute)},
			},
			days: 90, wantHasData: false, wantNoData: 89, wantSince: today,
			wantDays: map[int]UptimeDay{0: {HasData: true, Worst: MajorOutage, MajorOutage: 4 * time.Minute}},
		},
		{
			name: "a day old: 4 minutes count against two whole days",
			changes: []StatusChange{
				{"c", Operational, uptimeNow.Add(-24 * time.Hour)},
				{"c", MajorOutage, uptimeNow.Add(-6 * time.Minute)},
				{"c", Operational, uptimeNow.Add(-2 * time.Minute)},
			},
			days: 90, wantHasData: true, wantNoData: 88, wantSince: today.AddDate(0, 0, -1),
			wantPercent: 100 * (1 - (4*time.Minute).Seconds()/(2*24*time.Hour).Seconds()),
			wantDays: map[int]UptimeDay{
				1: {HasData: true, Worst: Operational},
				0: {HasData: true, Worst: MajorOutage, MajorOutage: 4 * time.Minute},
			},
		},
		{
			name:  "days before it was added show no data even with older history",
			added: today.AddDate(0, 0, -2),
			changes: []StatusChange{
				{"c", MajorOutage, today.AddDate(0, 0, -5)},
				{"c", Operational, today.AddDate(0, 0, -1)},
			},
			days: 90, wantHasData: true, wantNoData: 87, wantSince: today.AddDate(0, 0, -2),
			wantPercent: 100 * (1 - (24*time.Hour).Seconds()/(3*24*time.Hour).Seconds()),
			wantDays: map[int]UptimeDay{
				3: {HasData: false},
				2: {HasData: true, Worst: MajorOutage, MajorOutage: 24 * time.Hour},
				1: {HasData: true, Worst: Operational},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added := tt.added
			if added.IsZero() && len(tt.changes) > 0 {
				added = tt.changes[0].At
			}
			up := ComputeUptime(added, tt.changes, uptimeNow, tt.days)
			if len(up.Days) != tt.days {
				t.Fatalf("%d days, want %d", len(up.Days), tt.days)
			}
			if up.NoData != tt.wantNoData || !up.Since.Equal(tt.wantSince) {
				t.Errorf("NoData = %d, Since = %v; want %d, %v", up.NoData, up.Since, tt.wantNoData, tt.wantSince)
			}
			if up.HasData != tt.wantHasData {
				t.Errorf("HasData = %v, want %v", up.HasData, tt.wantHasData)
			}
			if math.Abs(up.Percent-tt.wantPercent) > 1e-9 {
				t.Errorf("Percent = %.6f, want %.6f", up.Percent, tt.wantPercent)
			}
			for back, want := range tt.wantDays {
				got := up.Days[tt.days-1-back]
				if !got.Date.Equal(today.AddDate(0, 0, -back)) {
					t.Errorf("%d days back: date %v", back, got.Date)
				}
				if got.HasData != want.HasData {
					t.Errorf("%d days back: HasData = %v, want %v", back, got.HasData, want.HasData)
					continue
				}
				if want.HasData && (got.Worst != want.Worst || got.MajorOutage != want.MajorOutage || got.PartialOutage != want.PartialOutage) {
					t.Errorf("%d days back = %+v, want %+v", back, got, want)
				}
			}
		})
	}
}

// TestUptimeFromRecordedHistory runs the story through a real database: the
// statuses set over ten days come back from StatusHistory and give the same
// bar as the hand-written history.
func TestUptimeFromRecordedHistory(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		story := outageStory("")
		clk := useClock(st, story[0].At)
		c := mustCreateComponent(t, st, "API")
		// The major outage is told through an incident, the partial one by hand.
		clk.Set(story[1].At)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{c.ID: MajorOutage}})
		clk.Set(story[2].At)
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved})
		for _, ch := range story[3:] {
			clk.Set(ch.At)
			if _, err := st.UpdateComponent(t.Context(), c.ID, ComponentPatch{Status: ptr(ch.Status)}); err != nil {
				t.Fatal(err)
			}
		}

		const days = 90
		history, err := st.StatusHistory(t.Context(), midnight(uptimeNow).AddDate(0, 0, -(days-1)))
		if err != nil {
			t.Fatal(err)
		}
		got := ComputeUptime(c.CreatedAt, history[c.ID], uptimeNow, days)
		want := ComputeUptime(story[0].At, outageStory(c.ID), uptimeNow, days)
		if got.HasData != want.HasData || math.Abs(got.Percent-want.Percent) > 1e-9 {
			t.Errorf("recorded history gives %.4f%% (data %v), want %.4f%% (data %v)", got.Percent, got.HasData, want.Percent, want.HasData)
		}
		for i := range want.Days {
			g, w := got.Days[i], want.Days[i]
			if g.HasData != w.HasData || g.Worst != w.Worst || g.MajorOutage != w.MajorOutage || g.PartialOutage != w.PartialOutage {
				t.Errorf("day %s: got %+v, want %+v", w.Date.Format(time.DateOnly), g, w)
			}
		}

		// A narrower window starts with the status in force at its start.
		recent, err := st.StatusHistory(t.Context(), midnight(uptimeNow).AddDate(0, 0, -1))
		if err != nil {
			t.Fatal(err)
		}
		up := ComputeUptime(c.CreatedAt, recent[c.ID], uptimeNow, 2)
		if !up.Days[0].HasData || up.Days[0].Worst != PartialOutage || up.Days[0].PartialOutage != 10*time.Hour || !up.Days[1].HasData || up.Days[1].Worst != Operational {
			t.Errorf("two-day bar = %+v", up.Days)
		}
	})
}
