package templates

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// StatusName is what the page is called wherever it names itself (titles,
// headings, feeds, emails): its name with "Status" after it, unless the
// name says so already — "Acme" is "Acme Status", and "Acme Status" stays
// "Acme Status", not "Acme Status Status".
func StatusName(name string) string {
	name = strings.TrimSpace(name)
	for _, w := range strings.Fields(name) {
		if strings.EqualFold(strings.Trim(w, ".,:;!?()"), "status") {
			return name
		}
	}
	return name + " Status"
}

// ConfirmLinkDays is how many days a confirmation link works, for the pages
// that say so.
func ConfirmLinkDays() string { return strconv.Itoa(int(store.ConfirmLinkLifetime.Hours() / 24)) }

// isoTime is the machine-readable form for <time datetime>.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// longDate is "November 25, 2026".
func longDate(t time.Time) string { return t.UTC().Format("January 2, 2006") }

// monthName is a month in English, for the console: "November 2026".
func monthName(t time.Time) string { return t.UTC().Format("January 2006") }

// feedTime is a moment in a feed entry, which a reader shows without our
// script to localise it: "Nov 25, 2026 22:50 UTC".
func feedTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") }

func statusClass(s store.ComponentStatus) string { return "st-" + string(s) }

func impactClass(i store.Impact) string { return "impact-" + string(i) }

// uptimePercent is what the legend says under a bar: the percentage, since
// when for a component younger than the window, or only since when for one
// younger than a day (store.ComputeUptime decides).
func uptimePercent(ctx context.Context, u store.Uptime) string {
	pct := fmt.Sprintf("%.2f", u.Percent)
	switch {
	case u.HasData && !u.Since.IsZero():
		return i18n.T(ctx, "home.uptime_since", i18n.Args{"Percent": pct, "Since": i18n.ShortDate(ctx, u.Since)})
	case u.HasData:
		return i18n.T(ctx, "home.uptime", i18n.Args{"Percent": pct})
	case !u.Since.IsZero():
		return i18n.T(ctx, "home.since", i18n.Args{"Since": i18n.ShortDate(ctx, u.Since)})
	}
	return i18n.T(ctx, "home.no_data")
}

// noDataText is the segment for the days before the component existed.
func noDataText(ctx context.Context, u store.Uptime) string {
	if u.NoData == len(u.Days) {
		return i18n.T(ctx, "home.no_data")
	}
	return i18n.T(ctx, "home.no_data_before", i18n.Args{"Date": i18n.ShortDate(ctx, u.Days[u.NoData].Date)})
}

// dayText is one day of the bar in words: "Mar 3, 2025: Major Outage,
// major outage 2 h".
func dayText(ctx context.Context, d store.UptimeDay) string {
	s := i18n.MediumDate(ctx, d.Date) + ": " + StatusLabel(ctx, d.Worst)
	if d.MajorOutage > 0 {
		s += ", " + i18n.T(ctx, "home.day_major", i18n.Args{"Duration": localDuration(ctx, d.MajorOutage)})
	}
	if d.PartialOutage > 0 {
		s += ", " + i18n.T(ctx, "home.day_partial", i18n.Args{"Duration": localDuration(ctx, d.PartialOutage)})
	}
	return s
}

// HumanDuration is a duration as people say it, in English: "5 min",
// "1 h 10 min" (the console, the team's emails).
func HumanDuration(d time.Duration) string { return localDuration(context.Background(), d) }

// localDuration is a duration as a visitor says it, in the page's
// language: "1 h 10 min", "1 Std. 10 Min.", "1時間10分".
func localDuration(ctx context.Context, d time.Duration) string {
	if d < time.Minute {
		return i18n.T(ctx, "duration.under_minute")
	}
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return i18n.T(ctx, "duration.minutes", i18n.Args{"Minutes": m})
	case m == 0:
		return i18n.T(ctx, "duration.hours", i18n.Args{"Hours": h})
	}
	return i18n.T(ctx, "duration.hours_minutes", i18n.Args{"Hours": h, "Minutes": m})
}

// timeMark stands for a <time> in a message that a template writes around
// it (phrase): the text/template of a message cannot hold an element.
const timeMark = "\x00"

// phrase is message id split where its {{.Time}} (or, for two, its
// {{.From}} and {{.Until}}) go: the words before, between and after the
// <time> elements the template writes there, in the order the language
// puts them ("by 14:00" in English, "14:00まで" in Japanese).
func phrase(ctx context.Context, id string, args ...i18n.Args) []string {
	a := i18n.Args{"Time": timeMark, "From": timeMark, "Until": timeMark}
	if len(args) > 0 {
		for k, v := range args[0] {
			a[k] = v
		}
	}
	return strings.Split(i18n.T(ctx, id, a), timeMark)
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

func incidentURL(ctx context.Context, id string) string    { return Href(ctx, "/incidents/"+id) }
func maintenanceURL(ctx context.Context, id string) string { return Href(ctx, "/maintenance/"+id) }

func itoa(i int) string { return strconv.Itoa(i) }

func itoa64(i int64) string { return strconv.FormatInt(i, 10) }

// incidentDuration is how long a resolved incident lasted: from when its
// impact began, as its own page says, to its resolution.
func incidentDuration(ctx context.Context, inc store.Incident) string {
	if inc.ResolvedAt == nil {
		return ""
	}
	return localDuration(ctx, inc.ResolvedAt.Sub(inc.StartedAt))
}

// maintenanceWindow is when a maintenance ran, or was to run where it did
// not say: the times it started and completed, else the scheduled ones.
func maintenanceWindow(m store.Maintenance) (from, until time.Time) {
	from, until = m.ScheduledFor, m.ScheduledUntil
	if m.StartedAt != nil {
		from = *m.StartedAt
	}
	if m.CompletedAt != nil && m.CompletedAt.After(from) {
		until = *m.CompletedAt
	}
	return from, until
}

// firstLine is the first line of a Markdown text with the marks that
// would make it a heading, quote or list item taken off: a one-line
// excerpt, its emphasis and links kept.
func firstLine(src string) string {
	for _, line := range strings.Split(src, "\n") {
		for {
			trimmed := blockMark.ReplaceAllString(strings.TrimSpace(line), "")
			if trimmed == line {
				break
			}
			line = trimmed
		}
		if line != "" && !strings.HasPrefix(line, "```") && !strings.HasPrefix(line, "~~~") {
			return line
		}
	}
	return ""
}

// blockMark is what starts a Markdown heading, quote or list item.
var blockMark = regexp.MustCompile(`^(#{1,6}\s+|>\s*|[-*+]\s+|\d{1,9}[.)]\s+)`)

// timeValue is a moment and how to write it for people.
type timeValue struct {
	T    time.Time
	Long bool
}

func (t timeValue) Text(ctx context.Context) string {
	if t.Long {
		return i18n.LongDate(ctx, t.T)
	}
	return i18n.ShortTime(ctx, t.T)
}

func at(t time.Time) timeValue  { return timeValue{T: t} }
func day(t time.Time) timeValue { return timeValue{T: t, Long: true} }

// GroupURL is a component group's own page.
func GroupURL(ctx context.Context, id string) string { return Href(ctx, "/groups/"+id) }

// GroupElementID is the id of a group's element on the status page.
func GroupElementID(id string) string { return "group-" + id }

func componentCount(n int) string {
	if n == 1 {
		return "1 component"
	}
	return strconv.Itoa(n) + " components"
}
