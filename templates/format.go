package templates

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// isoTime is the machine-readable form for <time datetime>.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// shortTime is how a visitor reads a moment: "Nov 25, 22:50 UTC".
func shortTime(t time.Time) string { return t.UTC().Format("Jan 2, 15:04 UTC") }

// longDate is "November 25, 2026".
func longDate(t time.Time) string { return t.UTC().Format("January 2, 2006") }

func monthName(t time.Time) string { return t.UTC().Format("January 2006") }

// feedTime is a moment in a feed entry, which a reader shows without our
// script to localise it: "Nov 25, 2026 22:50 UTC".
func feedTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") }

func statusClass(s store.ComponentStatus) string { return "st-" + string(s) }

func impactClass(i store.Impact) string { return "impact-" + string(i) }

func uptimePercent(u store.Uptime) string {
	if !u.HasData {
		return "No data"
	}
	return fmt.Sprintf("%.2f%% uptime", u.Percent)
}

// uptimeSummary is the text alternative of a component's uptime bar: the
// percentage and each day that was not fully operational.
func uptimeSummary(name string, u store.Uptime) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, last %d days: %s.", name, len(u.Days), uptimePercent(u))
	var bad []string
	for _, d := range u.Days {
		if d.HasData && d.Worst.Severity() >= store.DegradedPerformance.Severity() {
			bad = append(bad, fmt.Sprintf("%s on %s", d.Worst.Label(), d.Date.Format("Jan 2")))
		}
	}
	if len(bad) == 0 {
		b.WriteString(" No outages or degradation recorded.")
	} else {
		b.WriteString(" " + strings.Join(bad, "; ") + ".")
	}
	return b.String()
}

func dayTitle(d store.UptimeDay) string {
	if !d.HasData {
		return d.Date.Format("Jan 2, 2006") + ": no data"
	}
	s := d.Date.Format("Jan 2, 2006") + ": " + d.Worst.Label()
	if d.MajorOutage > 0 {
		s += ", major outage " + HumanDuration(d.MajorOutage)
	}
	if d.PartialOutage > 0 {
		s += ", partial outage " + HumanDuration(d.PartialOutage)
	}
	return s
}

// HumanDuration is a duration as people say it: "5 min", "1 h 10 min".
func HumanDuration(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// componentNames lists the names of the given component ids that still exist.
func componentNames(ids []string, all map[string]store.Component) string {
	var names []string
	for _, id := range ids {
		if c, ok := all[id]; ok {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names) // ids are random; names read better in order
	return strings.Join(names, ", ")
}

func incidentURL(id string) string    { return "/incidents/" + id }
func maintenanceURL(id string) string { return "/maintenance/" + id }

func itoa(i int) string { return strconv.Itoa(i) }

func itoa64(i int64) string { return strconv.FormatInt(i, 10) }

func duration(from time.Time, until *time.Time) string {
	if until == nil {
		return ""
	}
	return HumanDuration(until.Sub(from))
}

// timeValue is a moment and how to write it for people.
type timeValue struct {
	T    time.Time
	Long bool
}

func (t timeValue) Text() string {
	if t.Long {
		return longDate(t.T)
	}
	return shortTime(t.T)
}

func at(t time.Time) timeValue  { return timeValue{T: t} }
func day(t time.Time) timeValue { return timeValue{T: t, Long: true} }
