package web

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

func TestAPISubscribers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)

	var imported store.Subscriber
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/subscribers", map[string]any{"email": "Ada@Example.com", "components": []string{api.ID}, "confirmed": true}, &imported)
	if imported.ID == "" || imported.Email != "ada@example.com" || imported.Status != store.SubscriberConfirmed || len(imported.Components) != 1 {
		t.Fatalf("imported %+v", imported)
	}
	var pending store.Subscriber
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/subscribers", map[string]any{"email": "bob@example.com"}, &pending)
	if pending.Status != store.SubscriberPending || len(pending.Components) != 0 {
		t.Fatalf("added %+v", pending)
	}
	if n := pendingJobs(t, ts.store); n != 1 {
		t.Errorf("%d jobs: the unconfirmed address should get one confirmation email, the import none", n)
	}

	bad := []struct {
		name        string
		body        any
		status      int
		code, field string
	}{
		{"duplicate", map[string]any{"email": "ADA@example.com"}, 409, "conflict", ""},
		{"not an address", map[string]any{"email": "ada"}, 422, "invalid_value", "email"},
		{"header injection", map[string]any{"email": "ada@example.com\r\nBcc: x@example.com"}, 422, "invalid_value", "email"},
		{"domain literal", map[string]any{"email": "a@[127.0.0.1]", "confirmed": true}, 422, "invalid_value", "email"},
		{"metadata literal", map[string]any{"email": "a@[169.254.169.254]"}, 422, "invalid_value", "email"},
		{"numeric domain", map[string]any{"email": "a@10.0.0.1", "confirmed": true}, 422, "invalid_value", "email"},
		{"leading hyphen", map[string]any{"email": "a@-example.com", "confirmed": true}, 422, "invalid_value", "email"},
		{"trailing hyphen", map[string]any{"email": "a@example-.com", "confirmed": true}, 422, "invalid_value", "email"},
		{"underscore", map[string]any{"email": "a@ex_ample.com", "confirmed": true}, 422, "invalid_value", "email"},
		{"long label", map[string]any{"email": "a@" + strings.Repeat("l", 64) + ".com", "confirmed": true}, 422, "invalid_value", "email"},
		{"long local part", map[string]any{"email": strings.Repeat("l", 65) + "@example.com", "confirmed": true}, 422, "invalid_value", "email"},
		{"unknown component", map[string]any{"email": "c@example.com", "components": []string{"nope"}}, 422, "invalid_value", "components"},
		{"unknown field", map[string]any{"email": "d@example.com", "name": "D"}, 400, "unknown_field", "name"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.call(t, "POST", "/api/v1/subscribers", tt.body)
			var e apiErr
			resp.decode(t, &e)
			if resp.Status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field {
				t.Errorf("%d %+v, want %d %s %s", resp.Status, e.Error, tt.status, tt.code, tt.field)
			}
		})
	}
	if n, _ := ts.store.CountSubscribers(t.Context(), ""); n != 2 {
		t.Errorf("%d subscribers after bad requests, want 2", n)
	}

	var list []store.Subscriber
	ts.mustCall(t, 200, "GET", "/api/v1/subscribers?status=confirmed", nil, &list)
	if len(list) != 1 || list[0].ID != imported.ID {
		t.Errorf("confirmed list %+v", list)
	}
	if resp := ts.call(t, "GET", "/api/v1/subscribers?status=happy", nil); resp.Status != 400 {
		t.Errorf("unknown status filter: %d", resp.Status)
	}

	resp := ts.call(t, "GET", "/api/v1/subscribers/export", nil)
	if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != "id,email,status,components,created_at,confirmed_at,bounces,page_id" ||
		rows[1][1] != "ada@example.com" || rows[1][3] != api.ID || rows[2][2] != "pending" {
		t.Errorf("csv %q", rows)
	}

	ts.mustCall(t, http.StatusNoContent, "DELETE", "/api/v1/subscribers/"+pending.ID, nil, nil)
	if resp := ts.call(t, "GET", "/api/v1/subscribers/"+pending.ID, nil); resp.Status != 404 {
		t.Errorf("deleted subscriber: %d", resp.Status)
	}
}

// The export streams in pages; a list longer than one page comes out whole.
func TestAPISubscribersExportLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	list := make([]store.SubscriberInput, 2500)
	for i := range list {
		list[i].Email = "user" + strconv.Itoa(i) + "@example.com"
	}
	if _, err := ts.store.ImportSubscribers(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	resp := ts.call(t, "GET", "/api/v1/subscribers/export", nil)
	rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2501 {
		t.Errorf("%d rows, want header + 2500", len(rows))
	}
}
