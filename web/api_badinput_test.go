package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// Bad input to the admin API: each request gets the right 4xx in the API's
// error shape, {"error":{"code","message","field"}}, and changes nothing —
// checked by comparing everything the API lists (and the change feed and
// audit log behind it) before and after.

// badInputFixture is a server holding one of everything, and the ids to aim at.
type badInputFixture struct {
	*testServer
	ids *strings.Replacer // {group} {component} {incident} {resolved} {maintenance} {completed}
}

func newBadInputFixture(t *testing.T) badInputFixture {
	t.Helper()
	ts := newTestServer(t)
	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g)
	c := ts.createComponent(t, "API", map[string]any{"group_id": g.ID})
	other := ts.createComponent(t, "Website", nil)
	inc := ts.createIncident(t, map[string]any{"name": "API slow", "body": "Looking.", "components": map[string]string{c.ID: "degraded_performance"}})
	resolved := ts.createIncident(t, map[string]any{"name": "Old outage", "status": "resolved", "body": "Over."})
	// Far in the future, so the maintenance clock leaves them alone.
	from := time.Now().Add(30 * 24 * time.Hour)
	var m, done store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Upgrade", "message": "Upgrading.", "components": []string{c.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &m)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{
		"name": "Finished", "message": "Earlier work.", "components": []string{other.ID}, "scheduled_for": from, "scheduled_until": from.Add(time.Hour),
	}, &done)
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances/"+done.ID+"/updates", map[string]any{"status": "completed", "body": "Done early."}, nil)
	var page store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "customers", "name": "Customers", "host": "status.customer.example", "components": []string{c.ID}}, &page)
	return badInputFixture{testServer: ts, ids: strings.NewReplacer(
		"{group}", g.ID, "{component}", c.ID, "{incident}", inc.ID, "{resolved}", resolved.ID,
		"{maintenance}", m.ID, "{completed}", done.ID, "{page}", page.ID,
	)}
}

// state is everything the API can list, plus the change feed's position and
// the audit log's length: equal states mean nothing changed.
func (f badInputFixture) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/api/v1/component-groups",
		"/api/v1/components",
		"/api/v1/pages",
		"/api/v1/incidents?limit=500",
		"/api/v1/maintenances",
		f.ids.Replace("/api/v1/incidents/{resolved}"),
	} {
		resp := f.call(t, "GET", p, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, resp.Status, resp.Body)
		}
		fmt.Fprintf(&b, "%s\n%s\n", p, resp.Body)
	}
	ctx := context.Background()
	last, err := f.store.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := f.store.QueryAuditLog(ctx, store.AuditFilter{ObjectType: "", ObjectID: "", Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "last event %d, %d audit entries\n", last, len(audit))
	return b.String()
}

// badCase is one bad request and the error it must get.
type badCase struct {
	name        string
	method      string
	path        string // ids in braces, here and in body and field, are the fixture's
	body        string
	contentType string // "" means application/json; "-" sends none
	auth        string // the whole Authorization header; "" means the fixture's token, "-" sends none
	chunked     bool   // send without Content-Length
	status      int
	code        string
	field       string
}

// send makes the request exactly as described: raw body, headers as given.
func (f badInputFixture) send(t *testing.T, tc badCase) apiResponse {
	t.Helper()
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(f.ids.Replace(tc.body))
		if tc.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
	}
	req, err := http.NewRequest(tc.method, f.URL+f.ids.Replace(tc.path), body)
	if err != nil {
		t.Fatal(err)
	}
	switch tc.contentType {
	case "":
		req.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		req.Header.Set("Content-Type", tc.contentType)
	}
	switch tc.auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+f.token)
	case "-":
	default:
		req.Header.Set("Authorization", tc.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// run sends each case and checks its error and that nothing changed.
func (f badInputFixture) run(t *testing.T, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.state(t)
			resp := f.send(t, tc)
			wantError(t, resp, tc.status, tc.code, f.ids.Replace(tc.field))
			if tc.status == http.StatusUnauthorized {
				if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
				}
			}
			if after := f.state(t); after != before {
				t.Errorf("%s %s changed the state:\nbefore:\n%s\nafter:\n%s", tc.method, tc.path, before, after)
			}
		})
	}
}

// writeEndpoints are every API call that takes a body, each with a body it
// would accept (and that would change something).
var writeEndpoints = []struct{ method, path, valid string }{
	{"POST", "/api/v1/component-groups", `{"name":"New group"}`},
	{"PATCH", "/api/v1/component-groups/{group}", `{"name":"Renamed"}`},
	{"PUT", "/api/v1/component-groups/{group}", `{"name":"Renamed"}`},
	{"POST", "/api/v1/components", `{"name":"New component"}`},
	{"PATCH", "/api/v1/components/{component}", `{"status":"major_outage"}`},
	{"PUT", "/api/v1/components/{component}", `{"status":"major_outage"}`},
	{"POST", "/api/v1/incidents", `{"name":"New incident","body":"Looking."}`},
	{"PATCH", "/api/v1/incidents/{incident}", `{"name":"Renamed"}`},
	{"PUT", "/api/v1/incidents/{incident}", `{"impact":"critical"}`},
	{"POST", "/api/v1/incidents/{incident}/updates", `{"status":"resolved","body":"Fixed."}`},
	{"POST", "/api/v1/incidents/{resolved}/postmortem", `{"body":"What happened."}`},
	{"PUT", "/api/v1/incidents/{resolved}/postmortem", `{"body":"What happened."}`},
	{"POST", "/api/v1/maintenances", `{"name":"New window","message":"Soon.","scheduled_for":"2040-01-01T00:00:00Z","scheduled_until":"2040-01-01T01:00:00Z"}`},
	{"PATCH", "/api/v1/maintenances/{maintenance}", `{"name":"Renamed"}`},
	{"PUT", "/api/v1/maintenances/{maintenance}", `{"name":"Renamed"}`},
	{"POST", "/api/v1/maintenances/{maintenance}/updates", `{"status":"in_progress","body":"Started."}`},
	{"POST", "/api/v1/pages", `{"slug":"partners","name":"Partners"}`},
	{"PATCH", "/api/v1/pages/{page}", `{"name":"Renamed"}`},
}

// Every endpoint that reads a body refuses a body it cannot read, in the same way.
func TestAPIBadBodies(t *testing.T) {
	t.Parallel()
	f := newBadInputFixture(t)
	const mib = 1 << 20
	for _, ep := range writeEndpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			huge := ep.valid[:len(ep.valid)-1] + `,"padding":"` + strings.Repeat("a", mib) + `"}`
			cases := []badCase{
				{name: "malformed JSON", body: `{"name": "x",`, status: 400, code: "malformed_json"},
				{name: "not JSON", body: `name=x`, status: 400, code: "malformed_json"},
				{name: "single quotes", body: `{'name': 'x'}`, status: 400, code: "malformed_json"},
				{name: "trailing garbage", body: ep.valid + ` garbage`, status: 400, code: "malformed_json"},
				{name: "trailing bracket", body: ep.valid + `]`, status: 400, code: "malformed_json"},
				{name: "two objects", body: ep.valid + ep.valid, status: 400, code: "malformed_json"},
				{name: "empty body", body: ``, status: 400, code: "malformed_json"},
				{name: "whitespace body", body: " \n\t", status: 400, code: "malformed_json"},
				{name: "unknown field", body: `{"bogus_field":1,` + ep.valid[1:], status: 400, code: "unknown_field", field: "bogus_field"},
				{name: "unknown field last", body: ep.valid[:len(ep.valid)-1] + `,"Name ":"x"}`, status: 400, code: "unknown_field", field: "Name "},
				{name: "array body", body: `[` + ep.valid + `]`, status: 400, code: "invalid_type"},
				{name: "string body", body: `"hello"`, status: 400, code: "invalid_type"},
				{name: "number body", body: `42`, status: 400, code: "invalid_type"},
				{name: "null body", body: `null`, status: 400, code: "invalid_type"},
				{name: "null body in spaces", body: " null\n", status: 400, code: "invalid_type"},
				{name: "text/plain", body: ep.valid, contentType: "text/plain", status: 415, code: "unsupported_media_type"},
				{name: "form", body: ep.valid, contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
				{name: "over 1 MiB", body: huge, status: 413, code: "body_too_large"},
				{name: "over 1 MiB chunked", body: huge, chunked: true, status: 413, code: "body_too_large"},
			}
			for i := range cases {
				cases[i].method, cases[i].path = ep.method, ep.path
			}
			f.run(t, cases)
		})
	}
	// A body is application/json whatever the parameters, and may omit the type.
	t.Run("content type variants are accepted", func(t *testing.T) {
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "-"} {
			resp := f.send(t, badCase{method: "POST", path: "/api/v1/component-groups", body: `{"name":"Type ` + ct + `"}`, contentType: ct})
			if resp.Status != http.StatusCreated {
				t.Errorf("Content-Type %q: %d %s", ct, resp.Status, resp.Body)
			}
		}
	})
}

func TestAPIBadFields(t *testing.T) {
	t.Parallel()
	f := newBadInputFixture(t)
	long := strings.Repeat("n", store.MaxNameLength+1)
	longMulti := strings.Repeat("é", store.MaxNameLength+1)
	window := `"scheduled_for":"2040-01-01T00:00:00Z","scheduled_until":"2040-01-01T01:00:00Z"`

	t.Run("wrong JSON types", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "group name number", method: "POST", path: "/api/v1/component-groups", body: `{"name":5}`, status: 400, code: "invalid_type", field: "name"},
			{name: "group position string", method: "PATCH", path: "/api/v1/component-groups/{group}", body: `{"position":"1"}`, status: 400, code: "invalid_type", field: "position"},
			{name: "component position fraction", method: "POST", path: "/api/v1/components", body: `{"name":"x","position":1.5}`, status: 400, code: "invalid_type", field: "position"},
			{name: "component status number", method: "PATCH", path: "/api/v1/components/{component}", body: `{"status":3}`, status: 400, code: "invalid_type", field: "status"},
			{name: "component group_id number", method: "POST", path: "/api/v1/components", body: `{"name":"x","group_id":7}`, status: 400, code: "invalid_type", field: "group_id"},
			{name: "component name bool", method: "PUT", path: "/api/v1/components/{component}", body: `{"name":true}`, status: 400, code: "invalid_type", field: "name"},
			{name: "incident components list", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","components":["{component}"]}`, status: 400, code: "invalid_type", field: "components"},
			{name: "incident components value number", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","components":{"{component}":4}}`, status: 400, code: "invalid_type", field: "components"},
			{name: "incident body object", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":{"text":"y"}}`, status: 400, code: "invalid_type", field: "body"},
			{name: "incident impact number", method: "PATCH", path: "/api/v1/incidents/{incident}", body: `{"impact":2}`, status: 400, code: "invalid_type", field: "impact"},
			{name: "update status array", method: "POST", path: "/api/v1/incidents/{incident}/updates", body: `{"status":["resolved"],"body":"y"}`, status: 400, code: "invalid_type", field: "status"},
			{name: "postmortem body number", method: "POST", path: "/api/v1/incidents/{resolved}/postmortem", body: `{"body":1}`, status: 400, code: "invalid_type", field: "body"},
			{name: "maintenance components string", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","components":"{component}",` + window + `}`, status: 400, code: "invalid_type", field: "components"},
			{name: "maintenance scheduled_for number", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":5,"scheduled_until":"2040-01-01T01:00:00Z"}`, status: 400, code: "invalid_type", field: "scheduled_for"},
			{name: "maintenance scheduled_until bool", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"scheduled_until":true}`, status: 400, code: "invalid_type", field: "scheduled_until"},
			{name: "maintenance auto_transition string", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"auto_transition":"yes"}`, status: 400, code: "invalid_type", field: "auto_transition"},
			{name: "maintenance update status number", method: "POST", path: "/api/v1/maintenances/{maintenance}/updates", body: `{"status":1,"body":"y"}`, status: 400, code: "invalid_type", field: "status"},
		})
	})
	t.Run("unknown enum values", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "component status on create", method: "POST", path: "/api/v1/components", body: `{"name":"x","status":"broken"}`, status: 422, code: "invalid_value", field: "status"},
			{name: "empty component status on create", method: "POST", path: "/api/v1/components", body: `{"name":"x","status":""}`, status: 422, code: "invalid_value", field: "status"},
			{name: "component status on patch", method: "PATCH", path: "/api/v1/components/{component}", body: `{"status":"Operational"}`, status: 422, code: "invalid_value", field: "status"},
			{name: "component status on put", method: "PUT", path: "/api/v1/components/{component}", body: `{"name":"Renamed","status":""}`, status: 422, code: "invalid_value", field: "status"},
			{name: "incident status", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","status":"fixed"}`, status: 422, code: "invalid_value", field: "status"},
			{name: "incident impact", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","impact":"huge"}`, status: 422, code: "invalid_value", field: "impact"},
			{name: "incident component status", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","components":{"{component}":"on_fire"}}`, status: 422, code: "invalid_value", field: "components.{component}"},
			{name: "impact on patch", method: "PATCH", path: "/api/v1/incidents/{incident}", body: `{"impact":"severe"}`, status: 422, code: "invalid_value", field: "impact"},
			{name: "update status", method: "POST", path: "/api/v1/incidents/{incident}/updates", body: `{"status":"done","body":"y"}`, status: 422, code: "invalid_value", field: "status"},
			{name: "update component status", method: "POST", path: "/api/v1/incidents/{incident}/updates", body: `{"body":"y","components":{"{component}":"down"}}`, status: 422, code: "invalid_value", field: "components.{component}"},
			{name: "maintenance status", method: "POST", path: "/api/v1/maintenances/{maintenance}/updates", body: `{"status":"started","body":"y"}`, status: 422, code: "invalid_value", field: "status"},
		})
	})
	t.Run("missing required fields", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "group name", method: "POST", path: "/api/v1/component-groups", body: `{"description":"x"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "group blank name", method: "PATCH", path: "/api/v1/component-groups/{group}", body: `{"name":"   "}`, status: 422, code: "invalid_value", field: "name"},
			{name: "component name", method: "POST", path: "/api/v1/components", body: `{}`, status: 422, code: "invalid_value", field: "name"},
			{name: "component empty name", method: "PATCH", path: "/api/v1/components/{component}", body: `{"name":""}`, status: 422, code: "invalid_value", field: "name"},
			{name: "incident name", method: "POST", path: "/api/v1/incidents", body: `{"body":"y"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "incident body", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","components":{"{component}":"major_outage"}}`, status: 422, code: "invalid_value", field: "body"},
			{name: "incident blank body", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":" \n "}`, status: 422, code: "invalid_value", field: "body"},
			{name: "incident empty name on patch", method: "PATCH", path: "/api/v1/incidents/{incident}", body: `{"name":""}`, status: 422, code: "invalid_value", field: "name"},
			{name: "update body", method: "POST", path: "/api/v1/incidents/{incident}/updates", body: `{"status":"resolved"}`, status: 422, code: "invalid_value", field: "body"},
			{name: "postmortem body", method: "POST", path: "/api/v1/incidents/{resolved}/postmortem", body: `{}`, status: 422, code: "invalid_value", field: "body"},
			{name: "maintenance name", method: "POST", path: "/api/v1/maintenances", body: `{"message":"y",` + window + `}`, status: 422, code: "invalid_value", field: "name"},
			{name: "maintenance message", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x",` + window + `}`, status: 422, code: "invalid_value", field: "message"},
			{name: "maintenance scheduled_for", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_until":"2040-01-01T01:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_for"},
			{name: "maintenance scheduled_until", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":"2040-01-01T01:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_until"},
			{name: "maintenance update body", method: "POST", path: "/api/v1/maintenances/{maintenance}/updates", body: `{"status":"in_progress"}`, status: 422, code: "invalid_value", field: "body"},
		})
	})
	t.Run("too long", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "group name", method: "POST", path: "/api/v1/component-groups", body: `{"name":"` + long + `"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "group name on patch", method: "PATCH", path: "/api/v1/component-groups/{group}", body: `{"name":"` + longMulti + `"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "group description", method: "POST", path: "/api/v1/component-groups", body: `{"name":"x","description":"` + strings.Repeat("d", store.MaxDescriptionLength+1) + `"}`, status: 422, code: "invalid_value", field: "description"},
			{name: "component name", method: "POST", path: "/api/v1/components", body: `{"name":"` + longMulti + `"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "component name on put", method: "PUT", path: "/api/v1/components/{component}", body: `{"name":"` + long + `"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "component description", method: "PATCH", path: "/api/v1/components/{component}", body: `{"description":"` + strings.Repeat("d", store.MaxDescriptionLength+1) + `"}`, status: 422, code: "invalid_value", field: "description"},
			{name: "incident name", method: "POST", path: "/api/v1/incidents", body: `{"name":"` + long + `","body":"y"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "incident name on patch", method: "PATCH", path: "/api/v1/incidents/{incident}", body: `{"name":"` + long + `"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "incident body", method: "POST", path: "/api/v1/incidents/{incident}/updates", body: `{"body":"` + strings.Repeat("b", store.MaxBodyLength+1) + `"}`, status: 422, code: "invalid_value", field: "body"},
			{name: "maintenance name", method: "POST", path: "/api/v1/maintenances", body: `{"name":"` + long + `","message":"y",` + window + `}`, status: 422, code: "invalid_value", field: "name"},
			{name: "maintenance name on patch", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"name":"` + long + `"}`, status: 422, code: "invalid_value", field: "name"},
		})
	})
	t.Run("references to objects that do not exist", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "incident component", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","components":{"nosuchcompon":"major_outage"}}`, status: 422, code: "invalid_value", field: "components"},
			{name: "incident component among real ones", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"y","components":{"{component}":"major_outage","zzzzzzzzzzzz":"major_outage"}}`, status: 422, code: "invalid_value", field: "components"},
			{name: "update component", method: "POST", path: "/api/v1/incidents/{incident}/updates", body: `{"status":"resolved","body":"y","components":{"nosuchcompon":"operational"}}`, status: 422, code: "invalid_value", field: "components"},
			{name: "component group", method: "POST", path: "/api/v1/components", body: `{"name":"x","group_id":"nosuchgroup0"}`, status: 422, code: "invalid_value", field: "group_id"},
			{name: "component group on patch", method: "PATCH", path: "/api/v1/components/{component}", body: `{"group_id":"nosuchgroup0"}`, status: 422, code: "invalid_value", field: "group_id"},
			{name: "maintenance component", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","components":["{component}","nosuchcompon"],` + window + `}`, status: 422, code: "invalid_value", field: "components"},
			{name: "maintenance component on patch", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"components":["nosuchcompon"]}`, status: 422, code: "invalid_value", field: "components"},
			{name: "component name taken in its group", method: "POST", path: "/api/v1/components", body: `{"name":" api ","group_id":"{group}"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "page component", method: "POST", path: "/api/v1/pages", body: `{"slug":"x","name":"X","components":["{component}","nosuchcompon"]}`, status: 422, code: "invalid_value", field: "components"},
			{name: "page group", method: "PATCH", path: "/api/v1/pages/{page}", body: `{"groups":["nosuchgroup0"]}`, status: 422, code: "invalid_value", field: "groups"},
			{name: "page slug taken", method: "POST", path: "/api/v1/pages", body: `{"slug":"customers","name":"Again"}`, status: 422, code: "invalid_value", field: "slug"},
			{name: "page host taken", method: "POST", path: "/api/v1/pages", body: `{"slug":"again","name":"Again","host":"STATUS.customer.example"}`, status: 422, code: "invalid_value", field: "host"},
			{name: "page host of the default page", method: "POST", path: "/api/v1/pages", body: `{"slug":"again","name":"Again","host":"status.example.test"}`, status: 422, code: "invalid_value", field: "host"},
			{name: "page host with a scheme", method: "PATCH", path: "/api/v1/pages/{page}", body: `{"host":"https://x.example"}`, status: 422, code: "invalid_value", field: "host"},
			{name: "page host with a port", method: "PATCH", path: "/api/v1/pages/{page}", body: `{"host":"x.example:8443"}`, status: 422, code: "invalid_value", field: "host"},
			{name: "page slug malformed", method: "PATCH", path: "/api/v1/pages/{page}", body: `{"slug":"../admin"}`, status: 422, code: "invalid_value", field: "slug"},
			{name: "page name with a line break", method: "PATCH", path: "/api/v1/pages/{page}", body: `{"name":"A\r\nB"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "component moved next to one of its name", method: "PATCH", path: "/api/v1/components/{component}", body: `{"name":"website","group_id":""}`, status: 422, code: "invalid_value", field: "name"},
		})
	})
	// The decoder would turn these into U+FFFD before the store could see
	// them; they are refused as sent, naming the field.
	t.Run("text that is not UTF-8", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "component name", method: "POST", path: "/api/v1/components", body: "{\"name\":\"Web\xffsite\"}", status: 400, code: "invalid_utf8", field: "name"},
			{name: "truncated sequence", method: "POST", path: "/api/v1/components", body: "{\"description\":\"ok\",\"name\":\"caf\xc3\"}", status: 400, code: "invalid_utf8", field: "name"},
			{name: "group description on patch", method: "PATCH", path: "/api/v1/component-groups/{group}", body: "{\"name\":\"Core\",\"description\":\"\xed\xa0\x80\"}", status: 400, code: "invalid_utf8", field: "description"},
			{name: "lone surrogate escape", method: "POST", path: "/api/v1/incidents", body: `{"name":"x","body":"half a pair: \ud83d here"}`, status: 400, code: "invalid_utf8", field: "body"},
			{name: "low surrogate first", method: "POST", path: "/api/v1/incidents", body: `{"name":"\udc00","body":"y"}`, status: 400, code: "invalid_utf8", field: "name"},
			{name: "in a map value", method: "POST", path: "/api/v1/incidents", body: "{\"name\":\"x\",\"body\":\"y\",\"components\":{\"{component}\":\"major\xfe\"}}", status: 400, code: "invalid_utf8", field: "components.{component}"},
		})
		// Escapes that do stand for characters are taken as they are.
		for _, body := range []string{`{"name":"Grinning \ud83d\ude00"}`, `{"name":"A back\\slash\\ud800"}`, "{\"name\":\"caf\u00e9 \xc3\xa9 \ufffd\"}"} {
			if resp := f.send(t, badCase{method: "POST", path: "/api/v1/components", body: body}); resp.Status != http.StatusCreated {
				t.Errorf("%s: %d %s", body, resp.Status, resp.Body)
			}
		}
	})
	// One-line fields hold no control characters (they retitled terminals
	// through herald watch and broke the SVG badge); bodies keep their
	// line breaks.
	t.Run("control characters in one-line fields", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "component name with ESC", method: "POST", path: "/api/v1/components", body: `{"name":"Web\u001b]0;pwned\u0007"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "component name with DEL", method: "PATCH", path: "/api/v1/components/{component}", body: `{"name":"Web\u007f"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "group name with C1", method: "POST", path: "/api/v1/component-groups", body: `{"name":"Core\u009b2J"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "group name with a tab", method: "PATCH", path: "/api/v1/component-groups/{group}", body: `{"name":"Co\tre"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "incident name with a line break", method: "POST", path: "/api/v1/incidents", body: `{"name":"Down\nFAKE: resolved","body":"y"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "incident name on patch", method: "PATCH", path: "/api/v1/incidents/{incident}", body: `{"name":"\u001b[2J"}`, status: 422, code: "invalid_value", field: "name"},
			{name: "maintenance name", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x\u0001","message":"y",` + window + `}`, status: 422, code: "invalid_value", field: "name"},
		})
		if resp := f.send(t, badCase{method: "POST", path: "/api/v1/incidents", body: `{"name":"Slow","body":"Line one.\n\nLine\ttwo.\r\n"}`}); resp.Status != http.StatusCreated {
			t.Errorf("a body with line breaks and a tab: %d %s", resp.Status, resp.Body)
		}
	})
	t.Run("positions out of range", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "component at the integer limit", method: "POST", path: "/api/v1/components", body: `{"name":"x","position":9223372036854775807}`, status: 422, code: "invalid_value", field: "position"},
			{name: "component far below", method: "POST", path: "/api/v1/components", body: `{"name":"x","position":-9223372036854775808}`, status: 422, code: "invalid_value", field: "position"},
			{name: "component just past the bound", method: "PATCH", path: "/api/v1/components/{component}", body: `{"position":1000001}`, status: 422, code: "invalid_value", field: "position"},
			{name: "group at the integer limit", method: "POST", path: "/api/v1/component-groups", body: `{"name":"x","position":9223372036854775807}`, status: 422, code: "invalid_value", field: "position"},
			{name: "group on patch", method: "PATCH", path: "/api/v1/component-groups/{group}", body: `{"position":-1000001}`, status: 422, code: "invalid_value", field: "position"},
		})
	})
	t.Run("maintenance windows", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "until before for", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":"2040-01-01T02:00:00Z","scheduled_until":"2040-01-01T01:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_until"},
			{name: "until equal to for", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":"2040-01-01T01:00:00Z","scheduled_until":"2040-01-01T01:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_until"},
			{name: "until before for across offsets", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":"2040-01-01T01:00:00Z","scheduled_until":"2040-01-01T02:30:00+02:00"}`, status: 422, code: "invalid_value", field: "scheduled_until"},
			{name: "patch until before existing for", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"scheduled_until":"2001-01-01T00:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_until"},
			{name: "time not RFC 3339", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":"tomorrow","scheduled_until":"2040-01-01T01:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_for"},
			{name: "starts in the past", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","scheduled_for":"2001-01-01T00:00:00Z","scheduled_until":"2040-01-01T01:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_for"},
			{name: "moved to start in the past", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"scheduled_for":"2001-01-01T00:00:00Z"}`, status: 422, code: "invalid_value", field: "scheduled_for"},
			{name: "date without time", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"scheduled_until":"2040-01-02"}`, status: 422, code: "invalid_value", field: "scheduled_until"},
			{name: "message and body differ", method: "POST", path: "/api/v1/maintenances", body: `{"name":"x","message":"y","body":"z",` + window + `}`, status: 400, code: "ambiguous_field", field: "message"},
			{name: "message on patch", method: "PATCH", path: "/api/v1/maintenances/{maintenance}", body: `{"message":"post an update instead"}`, status: 400, code: "unknown_field", field: "message"},
		})
	})
	t.Run("not allowed in the current state", func(t *testing.T) {
		f.run(t, []badCase{
			{name: "postmortem on open incident", method: "POST", path: "/api/v1/incidents/{incident}/postmortem", body: `{"body":"too early"}`, status: 409, code: "conflict"},
			{name: "maintenance backwards", method: "POST", path: "/api/v1/maintenances/{completed}/updates", body: `{"status":"in_progress","body":"again"}`, status: 409, code: "conflict"},
			{name: "completed maintenance patched", method: "PATCH", path: "/api/v1/maintenances/{completed}", body: `{"name":"Renamed"}`, status: 409, code: "conflict"},
		})
	})
}

func TestAPIBadTokens(t *testing.T) {
	t.Parallel()
	f := newBadInputFixture(t)
	ctx := context.Background()
	revoked, revokedRaw, err := f.store.CreateToken(ctx, "old integration")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// The right token id with a different secret.
	last := "A"
	if strings.HasSuffix(f.token, last) {
		last = "B"
	}
	tampered := f.token[:len(f.token)-1] + last
	headers := []struct{ name, auth string }{
		{"missing", "-"},
		{"empty", " "},
		{"scheme only", "Bearer"},
		{"scheme and spaces", "Bearer    "},
		{"token without scheme", f.token},
		{"basic auth", "Basic dXNlcjpwYXNz"},
		{"other scheme", "Token " + f.token},
		{"wrong token", "Bearer not-a-token"},
		{"unknown token", "Bearer hrld_aaaaaaaaaaaa_c2VjcmV0"},
		{"right id wrong secret", "Bearer " + tampered},
		{"token with junk after", "Bearer " + f.token + "x"},
		{"revoked token", "Bearer " + revokedRaw},
	}
	requests := []struct{ method, path, body string }{
		{"GET", "/api/v1/components", ""},
		{"POST", "/api/v1/components", `{"name":"Sneaky"}`},
		{"PATCH", "/api/v1/components/{component}", `{"status":"major_outage"}`},
		{"DELETE", "/api/v1/component-groups/{group}", ""},
		{"POST", "/api/v1/incidents/{incident}/updates", `{"status":"resolved","body":"Fixed."}`},
		{"GET", "/api/v1/nosuchthing", ""},
	}
	var cases []badCase
	for _, h := range headers {
		for _, r := range requests {
			cases = append(cases, badCase{name: h.name + "/" + r.method + " " + r.path, method: r.method, path: r.path, body: r.body, auth: h.auth, status: 401, code: "unauthorized"})
		}
	}
	f.run(t, cases)

	t.Run("the scheme is case-insensitive", func(t *testing.T) {
		resp := f.send(t, badCase{method: "GET", path: "/api/v1/components", auth: "bearer " + f.token})
		if resp.Status != http.StatusOK {
			t.Errorf("lower-case bearer: %d %s", resp.Status, resp.Body)
		}
	})
}

func TestAPINotFound(t *testing.T) {
	t.Parallel()
	f := newBadInputFixture(t)
	const id = "nosuchobject"
	var cases []badCase
	add := func(method, path, body string) {
		cases = append(cases, badCase{name: method + " " + path, method: method, path: path, body: body, status: 404, code: "not_found"})
	}
	for _, kind := range []struct{ path, patch string }{
		{"/api/v1/component-groups/", `{"name":"x"}`},
		{"/api/v1/components/", `{"name":"x"}`},
		{"/api/v1/incidents/", `{"name":"x"}`},
		{"/api/v1/maintenances/", `{"name":"x"}`},
	} {
		add("GET", kind.path+id, "")
		add("PATCH", kind.path+id, kind.patch)
		add("PUT", kind.path+id, kind.patch)
	}
	add("DELETE", "/api/v1/component-groups/"+id, "")
	add("DELETE", "/api/v1/components/"+id, "")
	add("GET", "/api/v1/incidents/"+id+"/updates", "")
	add("POST", "/api/v1/incidents/"+id+"/updates", `{"status":"resolved","body":"Fixed."}`)
	add("GET", "/api/v1/incidents/"+id+"/postmortem", "")
	add("POST", "/api/v1/incidents/"+id+"/postmortem", `{"body":"What happened."}`)
	add("PUT", "/api/v1/incidents/"+id+"/postmortem", `{"body":"What happened."}`)
	add("POST", "/api/v1/maintenances/"+id+"/updates", `{"status":"in_progress","body":"Started."}`)
	// Real ids of the wrong kind are not found either.
	add("GET", "/api/v1/components/{group}", "")
	add("GET", "/api/v1/incidents/{component}", "")
	add("POST", "/api/v1/maintenances/{incident}/updates", `{"status":"completed","body":"Done."}`)
	// A published postmortem is something to find; none yet is not.
	add("GET", "/api/v1/incidents/{resolved}/postmortem", "")
	// Unknown API paths answer in the API's shape.
	add("GET", "/api/v1/whatever", "")
	add("POST", "/api/v1/whatever", `{}`)
	add("GET", "/api/v1/incidents/{incident}/timeline", "")
	add("GET", "/api/v2/components", "")
	add("GET", "/api/", "")
	f.run(t, cases)
}

func TestAPIBadQueryParams(t *testing.T) {
	t.Parallel()
	f := newBadInputFixture(t)
	var cases []badCase
	for _, q := range []struct{ query, field string }{
		{"since=yesterday", "since"},
		{"since=2026-01-01", "since"},
		{"since=1700000000", "since"},
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=501", "limit"},
		{"limit=ten", "limit"},
		{"offset=-1", "offset"},
		{"offset=x", "offset"},
		{"unresolved=maybe", "unresolved"},
	} {
		cases = append(cases, badCase{name: "incidents " + q.query, method: "GET", path: "/api/v1/incidents?" + q.query, status: 400, code: "invalid_value", field: q.field})
	}
	cases = append(cases,
		badCase{name: "maintenances status=bogus", method: "GET", path: "/api/v1/maintenances?status=bogus", status: 400, code: "invalid_value", field: "status"},
		badCase{name: "maintenances status=scheduled,bogus", method: "GET", path: "/api/v1/maintenances?status=scheduled,bogus", status: 400, code: "invalid_value", field: "status"},
	)
	f.run(t, cases)
}

// A PATCH that changes nothing writes nothing: no audit entry, no event.
func TestAPIEmptyPatchChangesNothing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c := ts.createComponent(t, "API", nil)
	var g store.ComponentGroup
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Core"}, &g)
	inc := ts.createIncident(t, map[string]any{"name": "Down", "body": "x"})
	var m store.Maintenance
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/maintenances", map[string]any{"name": "Upgrade", "message": "m",
		"scheduled_for": "2030-01-01T00:00:00Z", "scheduled_until": "2030-01-01T01:00:00Z", "components": []string{c.ID}}, &m)
	last := ts.lastEventID(t)
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/components/" + c.ID, `{}`},
		{"/api/v1/components/" + c.ID, `{"name":"API","status":"operational"}`},
		{"/api/v1/component-groups/" + g.ID, `{"name":"Core"}`},
		{"/api/v1/incidents/" + inc.ID, `{"name":"Down"}`},
		{"/api/v1/maintenances/" + m.ID, `{"components":["` + c.ID + `"]}`},
	} {
		if r := ts.call(t, "PATCH", tc.path, tc.body); r.Status != http.StatusOK {
			t.Fatalf("PATCH %s %s: %d %s", tc.path, tc.body, r.Status, r.Body)
		}
	}
	if got := ts.lastEventID(t); got != last {
		t.Fatalf("no-op PATCHes appended %d events", got-last)
	}
}
