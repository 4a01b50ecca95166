package main

// The commander's commands (incident, maintenance, component) against a
// real `herald serve`: what a person sees in the terminal, what a script
// gets from --json, and that the change is really there in the API.

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// commandPost is a Herald with two groups and four components, one name
// used in both groups, and a commander's token made with herald token
// create, as a commander starts.
type commandPost struct {
	t                           *testing.T
	db, base, admin, token      string
	coreAPI, edgeAPI, web, srch string
}

func newCommandPost(t *testing.T) *commandPost {
	t.Helper()
	db := filepath.Join(t.TempDir(), "herald.db")
	base, out, stop := startServe(t, "--database", db)
	t.Cleanup(stop)
	cp := &commandPost{t: t, db: db, base: base, admin: printedToken(t, out.String())}
	group := func(name string) string {
		var g store.ComponentGroup
		if code := api(t, base, cp.admin, "POST", "/api/v1/component-groups", map[string]string{"name": name}, &g); code != http.StatusCreated {
			t.Fatalf("create group %s: %d", name, code)
		}
		return g.ID
	}
	component := func(name, groupID string) string {
		var c store.Component
		if code := api(t, base, cp.admin, "POST", "/api/v1/components", map[string]string{"name": name, "group_id": groupID}, &c); code != http.StatusCreated {
			t.Fatalf("create component %s: %d", name, code)
		}
		return c.ID
	}
	core, edge := group("Core"), group("Edge")
	cp.coreAPI, cp.web, cp.edgeAPI, cp.srch = component("API", core), component("Web", core), component("API", edge), component("Search", "")
	made, err := herald(t, "token", "create", "--database", db, "--name", "terminal", "--role", "commander")
	if err != nil {
		t.Fatal(err)
	}
	cp.token = lastLine(made)
	return cp
}

// run runs herald against the server with the commander's token.
func (cp *commandPost) run(args ...string) (string, error) {
	cp.t.Helper()
	return herald(cp.t, append(args, "--url", cp.base, "--token", cp.token)...)
}

// ok is run, failing the test on an error.
func (cp *commandPost) ok(args ...string) string {
	cp.t.Helper()
	out, err := cp.run(args...)
	if err != nil {
		cp.t.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// read is what the API answers to an admin's GET of path.
func read[T any](cp *commandPost, path string) T {
	cp.t.Helper()
	var v T
	if code := api(cp.t, cp.base, cp.admin, "GET", "/api/v1"+path, nil, &v); code != http.StatusOK {
		cp.t.Fatalf("GET %s: %d", path, code)
	}
	return v
}

// incident is the incident as the API has it.
func (cp *commandPost) incident(id string) store.Incident {
	return read[store.Incident](cp, "/incidents/"+id)
}

// status is a component's status as the API has it.
func (cp *commandPost) status(id string) store.ComponentStatus {
	return read[store.Component](cp, "/components/"+id).Status
}

func (cp *commandPost) countIncidents() int {
	return len(read[[]store.Incident](cp, "/incidents"))
}

// aligned checks that a table's rows start every column where its header
// does, as tabwriter lays it out, and returns the rows by their first cell.
func aligned(t *testing.T, table string) map[string][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := []rune(lines[0])
	var starts []int
	for i, r := range header {
		if r != ' ' && (i == 0 || header[i-1] == ' ' && i > 1 && header[i-2] == ' ') {
			starts = append(starts, i)
		}
	}
	rows := map[string][]string{}
	for _, line := range lines[1:] {
		row := []rune(line)
		var cells []string
		for j, at := range starts {
			if at >= len(row) || row[at] == ' ' || (at > 0 && row[at-1] != ' ') {
				t.Fatalf("column %d of %q does not start under its header:\n%s", j, line, table)
			}
			end := len(row)
			if j+1 < len(starts) {
				end = starts[j+1]
			}
			cells = append(cells, strings.TrimSpace(string(row[at:end])))
		}
		rows[cells[0]] = cells
	}
	return rows
}

var openedID = regexp.MustCompile(`Opened incident (\w+)`)

// A commander opens an incident, posts updates and resolves it from a
// terminal, and every step is the API's state afterwards.
func TestIncidentFromATerminal(t *testing.T) {
	t.Parallel()
	cp := newCommandPost(t)

	out := cp.ok("incident", "open", "--impact", "major", "--component", "Core/API=major_outage", "Logins failing", "We are looking into it.")
	m := openedID.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, `"Logins failing": investigating, impact major`) || !strings.Contains(out, "API: operational → major_outage") ||
		!strings.Contains(out, cp.base+"/incidents/"+m[1]) {
		t.Fatalf("incident open printed:\n%s", out)
	}
	id := m[1]
	inc := cp.incident(id)
	if inc.Name != "Logins failing" || inc.Impact != store.ImpactMajor || inc.Status != store.Investigating || len(inc.Components) != 1 || inc.Components[0] != cp.coreAPI {
		t.Fatalf("the opened incident is %+v", inc)
	}
	if s := cp.status(cp.coreAPI); s != store.MajorOutage {
		t.Errorf("Core's API is %s, want major_outage", s)
	}

	// Flags after the id, as people type them; the promise is kept.
	out = cp.ok("incident", "update", id, "--status", "monitoring", "--next-update", "30m", "--internal-note", "Pool resized on db-2.", "Fix deployed; watching.")
	if !strings.Contains(out, "now monitoring") || !strings.Contains(out, "Next update promised by") {
		t.Errorf("incident update printed:\n%s", out)
	}
	inc = cp.incident(id)
	if inc.Status != store.Monitoring || inc.Updates[0].Body != "Fix deployed; watching." || inc.NextUpdateAt == nil || inc.Updates[0].InternalNote != "Pool resized on db-2." {
		t.Fatalf("after the update the incident is %s, latest %q (note %q), promise %v", inc.Status, inc.Updates[0].Body, inc.Updates[0].InternalNote, inc.NextUpdateAt)
	}

	// The message from stdin ("-"), with the URL and token from the
	// environment, in a process of its own.
	note := "Rolled back the **schema change**.\nSign-ins recover.\n"
	stdout, stderr, code := heraldIn(t, note, []string{"HERALD_URL=" + cp.base, "HERALD_TOKEN=" + cp.token},
		"incident", "update", id, "--status", "identified", "--component", cp.coreAPI+"=partial_outage", "-")
	if code != 0 || !strings.Contains(stdout, "API: major_outage → partial_outage") {
		t.Fatalf("incident update - exited %d:\n%s%s", code, stdout, stderr)
	}
	if got := cp.incident(id).Updates[0].Body; got != strings.TrimSpace(note) {
		t.Errorf("the update read from stdin is %q, want %q", got, strings.TrimSpace(note))
	}

	// The open incident in the list, as a table and as JSON.
	rows := aligned(t, cp.ok("incident", "list"))
	if row := rows[id]; row == nil || row[1] != "identified" || row[2] != "major" || row[3] != "Logins failing" || row[4] != "API" {
		t.Errorf("incident list row for %s: %q", id, row)
	}
	var listed []store.Incident
	if err := json.Unmarshal([]byte(cp.ok("incident", "list", "--json")), &listed); err != nil || len(listed) != 1 || listed[0].ID != id {
		t.Errorf("incident list --json: %v %+v", err, listed)
	}

	show := cp.ok("incident", "show", id)
	for _, want := range []string{"Logins failing", "status       Identified", "impact       Major", "API (Core) partial_outage", "Updates, newest first:", "Sign-ins recover.", "· API: operational → major_outage"} {
		if !strings.Contains(show, want) {
			t.Errorf("incident show has no %q:\n%s", want, show)
		}
	}
	if strings.Index(show, "Sign-ins recover.") > strings.Index(show, "Fix deployed") || strings.Index(show, "Fix deployed") > strings.Index(show, "We are looking into it.") {
		t.Errorf("incident show is not newest first:\n%s", show)
	}

	// A refused update is the API's message and field, and changes nothing.
	before := len(cp.incident(id).Updates)
	if _, err := cp.run("incident", "update", id, "--status", "fixed", "Done?"); err == nil || !strings.Contains(err.Error(), `status: unknown incident status "fixed"`) {
		t.Errorf("an unknown status: %v", err)
	}
	if _, err := cp.run("incident", "update", "nosuchincident", "Hello"); err == nil || !strings.Contains(err.Error(), `"nosuchincident" not found`) {
		t.Errorf("an unknown incident: %v", err)
	}
	if after := len(cp.incident(id).Updates); after != before {
		t.Errorf("refused updates posted: %d updates, were %d", after, before)
	}

	out = cp.ok("incident", "resolve", id, "Logins work normally again.")
	if !strings.Contains(out, `Resolved incident `+id) || !strings.Contains(out, "API: partial_outage → operational") {
		t.Errorf("incident resolve printed:\n%s", out)
	}
	if inc := cp.incident(id); inc.Status != store.Resolved || cp.status(cp.coreAPI) != store.Operational {
		t.Errorf("after resolve: incident %s, API %s", inc.Status, cp.status(cp.coreAPI))
	}
	if out := cp.ok("incident", "list"); !strings.HasPrefix(out, "No open incidents") {
		t.Errorf("incident list after resolving:\n%s", out)
	}
	if rows := aligned(t, cp.ok("incident", "list", "--all")); rows[id] == nil || rows[id][1] != "resolved" {
		t.Errorf("incident list --all: %q", rows[id])
	}
}

// Components are named as people name them; a name that is ambiguous or
// unknown is an error listing the candidates, and changes nothing.
func TestComponentsByName(t *testing.T) {
	t.Parallel()
	cp := newCommandPost(t)

	rows := aligned(t, cp.ok("component", "list"))
	for id, want := range map[string][]string{
		cp.coreAPI: {cp.coreAPI, "API", "Core", "operational"},
		cp.edgeAPI: {cp.edgeAPI, "API", "Edge", "operational"},
		cp.srch:    {cp.srch, "Search", "—", "operational"},
	} {
		if strings.Join(rows[id], "|") != strings.Join(want, "|") {
			t.Errorf("component list row %q, want %q", rows[id], want)
		}
	}
	var listed []store.Component
	if err := json.Unmarshal([]byte(cp.ok("component", "list", "--json")), &listed); err != nil || len(listed) != 4 {
		t.Errorf("component list --json: %v, %d components", err, len(listed))
	}

	if out := cp.ok("component", "set-status", "web", "degraded-performance"); out != "Web (Core): operational → degraded_performance\n" {
		t.Errorf("set-status by name printed %q", out)
	}
	if out := cp.ok("component", "set-status", "Edge/API", "partial_outage"); !strings.Contains(out, "API (Edge): operational → partial_outage") {
		t.Errorf("set-status by group and name printed %q", out)
	}
	if s := cp.status(cp.web); s != store.DegradedPerformance {
		t.Errorf("Web is %s after set-status", s)
	}

	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"ambiguous", []string{"component", "set-status", "API", "major_outage"}, []string{`component "API" is ambiguous`, cp.coreAPI + "  API (Core)", cp.edgeAPI + "  API (Edge)"}},
		{"unknown", []string{"component", "set-status", "Billing", "major_outage"}, []string{`no component "Billing"; the components are:`, cp.srch + "  Search"}},
		{"a near miss", []string{"component", "set-status", "Sea", "major_outage"}, []string{`no component "Sea"; did you mean one of these?`, cp.srch + "  Search"}},
		{"an unknown status", []string{"component", "set-status", "Search", "broken"}, []string{`status: unknown component status "broken"`}},
		{"ambiguous in an incident", []string{"incident", "open", "--component", "API=major_outage", "Down", "Looking."}, []string{`component "API" is ambiguous`}},
		{"no status in an incident", []string{"incident", "open", "--component", "Search", "Down", "Looking."}, []string{"write it as NAME=STATUS"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cp.run(tt.args...)
			for _, want := range tt.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("herald %v: %v, want it to say %q", tt.args, err, want)
				}
			}
		})
	}
	if cp.status(cp.coreAPI) != store.Operational || cp.status(cp.edgeAPI) != store.PartialOutage || cp.status(cp.srch) != store.Operational || cp.countIncidents() != 0 {
		t.Errorf("refused commands changed something: API %s and %s, Search %s, %d incidents",
			cp.status(cp.coreAPI), cp.status(cp.edgeAPI), cp.status(cp.srch), cp.countIncidents())
	}
}

// Maintenance is scheduled by component name and listed; a viewer's token,
// or none, is refused with a message that says what to do.
func TestMaintenanceAndTokensFromATerminal(t *testing.T) {
	t.Parallel()
	cp := newCommandPost(t)
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute)
	out := cp.ok("maintenance", "schedule", "--start", start.Format(time.RFC3339), "--duration", "90m", "--component", "Search", "--component", "Core/API",
		"--remind-before", "1h", "Index rebuild", "Search may return stale results.")
	m := regexp.MustCompile(`Scheduled maintenance (\w+) "Index rebuild"`).FindStringSubmatch(out)
	// The maintenance keeps its components by id, which are random: either order.
	if m == nil || !(strings.Contains(out, "Under maintenance then: Search, API.") || strings.Contains(out, "Under maintenance then: API, Search.")) {
		t.Fatalf("maintenance schedule printed:\n%s", out)
	}
	got := read[store.Maintenance](cp, "/maintenances/"+m[1])
	if !got.ScheduledFor.Equal(start) || !got.ScheduledUntil.Equal(start.Add(90*time.Minute)) || !slices.Equal(slices.Sorted(slices.Values(got.Components)), slices.Sorted(slices.Values([]string{cp.srch, cp.coreAPI}))) || !got.AutoTransition || got.RemindBefore != 60 {
		t.Errorf("the scheduled maintenance is %+v", got)
	}
	rows := aligned(t, cp.ok("maintenance", "list"))
	if row := rows[m[1]]; row == nil || row[1] != "scheduled" || row[2] != "Index rebuild" || row[3] != fmtTime(start) || (row[5] != "Search, API" && row[5] != "API, Search") {
		t.Errorf("maintenance list row: %q", row)
	}
	var listed []store.Maintenance
	if err := json.Unmarshal([]byte(cp.ok("maintenance", "list", "--json")), &listed); err != nil || len(listed) != 1 {
		t.Errorf("maintenance list --json: %v %+v", err, listed)
	}
	if _, err := cp.run("maintenance", "schedule", "--start", start.Format(time.RFC3339), "Index rebuild", "Again."); err == nil || !strings.Contains(err.Error(), "--end or --duration") {
		t.Errorf("a maintenance without an end: %v", err)
	}
	if _, err := cp.run("maintenance", "schedule", "--start", start.Format(time.RFC3339), "--duration", "1h", "--remind-before", "-10m", "Index rebuild", "Again."); err == nil || !strings.Contains(err.Error(), "--remind-before") {
		t.Errorf("a negative reminder: %v", err)
	}

	made, err := herald(t, "token", "create", "--database", cp.db, "--name", "dashboard", "--role", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	_, err = herald(t, "incident", "open", "--url", cp.base, "--token", lastLine(made), "Down", "Looking.")
	if err == nil || !strings.Contains(err.Error(), "this needs the commander role; you act as") || !strings.Contains(err.Error(), "herald token list") {
		t.Errorf("a viewer opening an incident: %v", err)
	}
	if _, err := herald(t, "incident", "list", "--url", cp.base, "--token", "hrld_abcdefghijkl_wrong"); err == nil || !strings.Contains(err.Error(), "check --token or HERALD_TOKEN") {
		t.Errorf("a wrong token: %v", err)
	}
	_, stderr, code := heraldIn(t, "", []string{"HERALD_TOKEN="}, "incident", "list", "--url", cp.base)
	if code == 0 || !strings.Contains(stderr, "no API token: pass --token or set HERALD_TOKEN") {
		t.Errorf("no token: status %d, said %q", code, stderr)
	}
	if cp.countIncidents() != 0 {
		t.Error("a refused command opened an incident")
	}
}
