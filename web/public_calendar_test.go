package web

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/herald-status/herald/store"
)

// calendar fetches a calendar and parses it with an independent iCalendar
// parser, checking the line rules a strict client relies on.
func (ts *testServer) calendar(t *testing.T, path string) (map[string]*ical.Event, []byte) {
	t.Helper()
	resp, body := ts.fetch(t, "GET", path, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\r\n")), []byte("\r\n")) {
		if len(line) > 75 || bytes.ContainsAny(line, "\r\n") {
			t.Errorf("%s line %d is %d octets or not CRLF-ended: %q", path, i+1, len(line), line)
		}
	}
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", path, err, body)
	}
	events := map[string]*ical.Event{}
	for _, e := range cal.Events() {
		uid, _ := e.Props.Text(ical.PropUID)
		events[uid] = &e
	}
	return events, body
}

func propText(t *testing.T, e *ical.Event, name string) string {
	t.Helper()
	v, err := e.Props.Text(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func sequence(t *testing.T, e *ical.Event) string {
	t.Helper()
	p := e.Props.Get(ical.PropSequence)
	if p == nil {
		t.Fatal("no SEQUENCE")
	}
	return p.Value
}

// The maintenance calendar: a stable UID per window, a SEQUENCE that rises
// when the window moves (the store's tests reopen it), text escaped and
// folded, a component's own calendar, and a cancelled window kept as
// CANCELLED so that calendars drop it.
func TestMaintenanceCalendar(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	web := ts.createComponent(t, "Web", nil)
	from := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	long := "Upgrading the database; expect short pauses, retries\\and a \"brief\" read-only period. " + strings.Repeat("Ünïcödé words fold cleanly. ", 6)
	var m, other store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "DB upgrade, phase 1; primary", "message": long, "components": []string{api.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &m)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "CDN swap", "message": "Swapping.", "components": []string{web.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &other)
	uid := m.ID + "@status.example.test"

	events, _ := ts.calendar(t, "/maintenance.ics")
	e := events[uid]
	if len(events) != 2 || e == nil {
		t.Fatalf("events %v, want %s and another", events, uid)
	}
	if got := propText(t, e, ical.PropSummary); got != "Maintenance: DB upgrade, phase 1; primary" {
		t.Errorf("summary %q", got)
	}
	if d := propText(t, e, ical.PropDescription); !strings.Contains(d, strings.TrimSpace(long)) || !strings.Contains(d, "Affects: API") || !strings.Contains(d, "/maintenance/"+m.ID) {
		t.Errorf("description %q", d)
	}
	if start, err := e.DateTimeStart(time.UTC); err != nil || !start.Equal(from) {
		t.Errorf("start %v %v, want %v", start, err, from)
	}
	if s := propText(t, e, ical.PropStatus); s != "CONFIRMED" || sequence(t, e) != "0" {
		t.Errorf("status %s sequence %s", s, sequence(t, e))
	}

	// Moving the window keeps the UID and raises SEQUENCE.
	moved := from.Add(3 * time.Hour)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/maintenances/"+m.ID, map[string]any{"scheduled_for": moved, "scheduled_until": moved.Add(2 * time.Hour)}, nil)
	events, _ = ts.calendar(t, "/maintenance.ics")
	if e = events[uid]; e == nil || sequence(t, e) != "1" {
		t.Fatalf("after the move: %v", events)
	}
	if end, err := e.DateTimeEnd(time.UTC); err != nil || !end.Equal(moved.Add(2*time.Hour)) {
		t.Errorf("end %v %v", end, err)
	}

	// One component's calendar holds only its windows.
	events, _ = ts.calendar(t, "/components/"+web.ID+"/maintenance.ics")
	if len(events) != 1 || events[other.ID+"@status.example.test"] == nil {
		t.Errorf("web's calendar: %v", events)
	}
	if resp, _ := ts.fetch(t, "GET", "/components/nope/maintenance.ics", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown component: %d", resp.StatusCode)
	}

	// The window's own calendar, for "Add to calendar".
	events, _ = ts.calendar(t, "/maintenance/"+m.ID+"/calendar.ics")
	if e = events[uid]; len(events) != 1 || e == nil || sequence(t, e) != "1" {
		t.Fatalf("its own calendar: %v", events)
	}

	// A cancelled window stays, CANCELLED, with a higher SEQUENCE.
	if err := ts.store.CancelMaintenance(t.Context(), m.ID); err != nil {
		t.Fatal(err)
	}
	events, _ = ts.calendar(t, "/maintenance.ics")
	if e = events[uid]; e == nil || propText(t, e, ical.PropStatus) != "CANCELLED" || sequence(t, e) != "2" {
		t.Fatalf("after cancelling: %v", events)
	}
	if events, _ = ts.calendar(t, "/maintenance/"+m.ID+"/calendar.ics"); events[uid] == nil {
		t.Errorf("the cancelled window's own calendar: %v", events)
	}
	if resp, _ := ts.fetch(t, "GET", "/maintenance/nope/calendar.ics", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown maintenance: %d", resp.StatusCode)
	}
}

// The writer's line rules on their own: escaping of the four specials and
// folding at 75 octets between characters, never inside one.
func TestCalendarLines(t *testing.T) {
	t.Parallel()
	var w icsWriter
	w.text("SUMMARY", "a,b;c\\d\ne")
	w.text("DESCRIPTION", strings.Repeat("é", 60))
	out := w.b.String()
	if !strings.HasPrefix(out, "SUMMARY:a\\,b\\;c\\\\d\\ne\r\n") {
		t.Errorf("escaped: %q", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > 75 || !strings.HasPrefix(line, " ") && !strings.Contains(line, ":") {
			t.Errorf("line %q (%d octets)", line, len(line))
		}
		if !utf8Valid(line) {
			t.Errorf("a character was split: %q", line)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// icalendarScript reads a calendar from stdin with Python's icalendar (an
// implementation Herald shares nothing with) and prints each event as
// "UID SEQUENCE STATUS START-END" in UTC, one a line.
const icalendarScript = `
import sys, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
for e in cal.walk("VEVENT"):
    fmt = "%Y%m%dT%H%M%SZ"
    print(e["UID"], int(e.get("SEQUENCE", 0)), e.get("STATUS", ""),
          e.decoded("DTSTART").strftime(fmt) + "-" + e.decoded("DTEND").strftime(fmt), e["SUMMARY"])
`

// pythonWithIcalendar is a Python that has the icalendar module: Debian's
// (where .ci/run installs python3-icalendar) or the first on PATH. Without
// one the test skips, unless HERALD_REQUIRE_ICALENDAR=1 (set by .ci/run).
func pythonWithIcalendar(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import icalendar").Run() == nil {
			return path
		}
	}
	if os.Getenv("HERALD_REQUIRE_ICALENDAR") == "1" {
		t.Fatal("no python3 with the icalendar module; HERALD_REQUIRE_ICALENDAR=1 requires it (apt-get install python3-icalendar)")
	}
	t.Skip("no python3 with the icalendar module")
	return ""
}

// Python's icalendar reads the feed as Herald's own parser does: a moved
// window keeps its UID with a higher SEQUENCE and its new times, and a
// cancelled one is CANCELLED.
func TestCalendarReadByPythonIcalendar(t *testing.T) {
	t.Parallel()
	py := pythonWithIcalendar(t)
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	from := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	var m, off store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Ünïcödé upgrade; phase 1, primary", "message": "Soon.", "components": []string{api.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &m)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Called off", "message": "Soon.", "components": []string{api.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &off)
	moved := from.Add(3 * time.Hour)
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/maintenances/"+m.ID, map[string]any{"scheduled_for": moved, "scheduled_until": moved.Add(2 * time.Hour)}, nil)
	if err := ts.store.CancelMaintenance(t.Context(), off.ID); err != nil {
		t.Fatal(err)
	}
	_, body := ts.calendar(t, "/maintenance.ics")
	cmd := exec.Command(py, "-c", icalendarScript)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("icalendar refused the feed: %v\n%s", err, out)
	}
	const f = "20060102T150405Z"
	want := map[string]string{
		m.ID + "@status.example.test":   "1 CONFIRMED " + moved.Format(f) + "-" + moved.Add(2*time.Hour).Format(f) + " Maintenance: Ünïcödé upgrade; phase 1, primary",
		off.ID + "@status.example.test": "CANCELLED " + from.Format(f) + "-" + from.Add(time.Hour).Format(f) + " Cancelled: Maintenance: Called off",
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		uid, rest, _ := strings.Cut(line, " ")
		got[uid] = rest
	}
	if len(got) != len(want) {
		t.Fatalf("icalendar read %d events, want %d:\n%s", len(got), len(want), out)
	}
	for uid, w := range want {
		g := got[uid]
		if uid == off.ID+"@status.example.test" {
			// Its SEQUENCE is the store's business, as long as it rose.
			seq, rest, _ := strings.Cut(g, " ")
			if seq == "0" || rest != w {
				t.Errorf("icalendar reads %s as %q, want a raised sequence and %q", uid, g, w)
			}
			continue
		}
		if g != w {
			t.Errorf("icalendar reads %s as %q, want %q", uid, g, w)
		}
	}
}
