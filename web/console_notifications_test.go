package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

func (ts *testServer) subscriberCount(t *testing.T) int {
	t.Helper()
	list, err := ts.store.ListSubscribers(t.Context(), store.SubscriberFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// An admin adds a subscriber from the console and finds it by searching; a
// bad address re-renders the form with the message and adds nothing; the
// CSV export streams the same file as the API's.
func TestConsoleSubscribersAdmin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	api := ts.createComponent(t, "API", nil)

	p := admin.post("/console/subscribers", url.Values{"email": {"not an address"}, "components": {api.ID}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad email: %d\n%.500s", p.Status, p.Body)
	}
	if msg := p.Doc.Find(".error-summary").Text(); !strings.Contains(strings.ToLower(msg), "email") {
		t.Errorf("error summary %q", msg)
	}
	if p.Doc.Find("#e-email").Length() != 1 || p.Doc.Find("#f-email").AttrOr("aria-describedby", "") != "e-email" {
		t.Error("the message is not tied to the email field")
	}
	if v := p.Doc.Find("#f-email").AttrOr("value", ""); v != "not an address" {
		t.Errorf("typed email not kept: %q", v)
	}
	if _, ok := p.Doc.Find(`input[name=components][value="` + api.ID + `"]`).Attr("checked"); !ok {
		t.Error("ticked component not kept")
	}
	if n := ts.subscriberCount(t); n != 0 {
		t.Fatalf("%d subscribers after a bad email", n)
	}

	p = admin.post("/console/subscribers", url.Values{"email": {"Ops@Example.com"}, "confirmed": {"on"}})
	if p.Status != http.StatusSeeOther || location(p) != "/console/subscribers?msg=subscriber-added" {
		t.Fatalf("add: %d to %q\n%.500s", p.Status, location(p), p.Body)
	}
	admin.post("/console/subscribers", url.Values{"email": {"someone@else.org"}, "components": {api.ID}})
	p = admin.get(location(p))
	if p.Status != 200 || !strings.Contains(p.Doc.Find(".flash").Text(), "Subscriber added") {
		t.Fatalf("list after add: %d %q", p.Status, p.Doc.Find(".flash").Text())
	}
	if rows := p.Doc.Find("tbody tr").Length(); rows != 2 {
		t.Errorf("%d rows, want 2", rows)
	}
	p = admin.get("/console/subscribers?q=ops%40example&status=confirmed")
	if rows := p.Doc.Find("tbody tr"); rows.Length() != 1 || !strings.Contains(rows.Text(), "ops@example.com") || !strings.Contains(rows.Text(), "Confirmed") {
		t.Errorf("search: %q", rows.Text())
	}
	if p := admin.get("/console/subscribers?q=ops&status=pending"); p.Doc.Find("tbody tr").Length() != 0 {
		t.Error("status filter lets a confirmed subscriber through")
	}
	if p := admin.get("/console/subscribers?q=else.org"); !strings.Contains(p.Doc.Find("tbody").Text(), "API") {
		t.Errorf("components not shown: %q", p.Doc.Find("tbody").Text())
	}

	p = admin.get("/console/subscribers.csv")
	if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") || !strings.Contains(p.Body, "ops@example.com") || !strings.HasPrefix(p.Body, "id,email,status") {
		t.Errorf("export: %d %q\n%s", p.Status, p.Header.Get("Content-Type"), p.Body)
	}

	// Removal asks for confirmation first.
	subs, _ := ts.store.ListSubscribers(t.Context(), store.SubscriberFilter{Email: "ops@"})
	if len(subs) != 1 {
		t.Fatalf("%d subscribers found by email", len(subs))
	}
	if p := admin.post("/console/subscribers/"+subs[0].ID+"/delete", nil); p.Status != http.StatusUnprocessableEntity || p.Doc.Find("#e-confirm").Length() != 1 {
		t.Errorf("unconfirmed removal: %d", p.Status)
	}
	if n := ts.subscriberCount(t); n != 2 {
		t.Fatalf("unconfirmed removal removed: %d left", n)
	}
	p = admin.post("/console/subscribers/"+subs[0].ID+"/delete", url.Values{"confirm": {"yes"}})
	if p.Status != http.StatusSeeOther || location(p) != "/console/subscribers?msg=subscriber-removed" {
		t.Fatalf("remove: %d %q", p.Status, location(p))
	}
	if n := ts.subscriberCount(t); n != 1 {
		t.Errorf("%d subscribers after removal, want 1", n)
	}
}

// Paging: a page holds subscribersPerPage, with links between pages that
// keep the search.
func TestConsoleSubscribersPaged(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	for i := range subscribersPerPage + 3 {
		if _, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "p" + itoaTest(i) + "@example.com", Confirmed: true}); err != nil {
			t.Fatal(err)
		}
	}
	p := admin.get("/console/subscribers?q=example")
	if n := p.Doc.Find("tbody tr").Length(); n != subscribersPerPage {
		t.Fatalf("first page: %d rows", n)
	}
	next, ok := p.Doc.Find(`a[rel=next]`).Attr("href")
	if !ok || !strings.Contains(next, "q=example") || !strings.Contains(next, "page=2") {
		t.Fatalf("next link %q", next)
	}
	p = admin.get(next)
	if n := p.Doc.Find("tbody tr").Length(); n != 3 || p.Doc.Find(`a[rel=next]`).Length() != 0 || p.Doc.Find(`a[rel=prev]`).Length() != 1 {
		t.Errorf("second page: %d rows", n)
	}
}

func itoaTest(i int) string { return strconv.Itoa(i) }

// A commander reads subscribers and webhooks (and sees them in the
// navigation) but every change is refused and changes nothing; a viewer
// sees neither.
func TestConsoleSubscribersCommanderReadsOnly(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	w := ts.registerWebhook(t, r, nil)
	sub, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "reader@example.com", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	cmd := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))

	p := cmd.get("/console/subscribers")
	if p.Status != 200 || !strings.Contains(p.Doc.Find("tbody").Text(), "reader@example.com") {
		t.Fatalf("commander list: %d", p.Status)
	}
	if p.Doc.Find(`form[method=post][action="/console/subscribers"]`).Length() != 0 {
		t.Error("a commander is shown the add form")
	}
	nav := p.Doc.Find(`nav[aria-label=Console]`)
	if nav.Find(`a[href="/console/subscribers"]`).Length() != 1 || nav.Find(`a[href="/console/webhooks"]`).Length() != 1 {
		t.Error("subscribers and webhooks missing from a commander's navigation")
	}
	if p := cmd.get("/console/subscribers/" + sub.ID); p.Status != 200 || p.Doc.Find(`form[action$="/delete"]`).Length() != 0 {
		t.Errorf("commander subscriber page: %d, with a remove form", p.Status)
	}
	if p := cmd.get("/console/subscribers.csv"); p.Status != 200 || !strings.Contains(p.Body, "reader@example.com") {
		t.Errorf("commander export: %d", p.Status)
	}
	p = cmd.get("/console/webhooks")
	if p.Status != 200 || !strings.Contains(p.Body, r.URL) || p.Doc.Find(`form[method=post][action="/console/webhooks"]`).Length() != 0 {
		t.Errorf("commander webhooks: %d", p.Status)
	}
	p = cmd.get("/console/webhooks/" + w.ID)
	if p.Status != 200 || p.Doc.Find(`form[method=post]`).Not(`[action="/console/logout"]`).Length() != 0 {
		t.Errorf("commander webhook page: %d, or with change forms", p.Status)
	}

	for _, tt := range []struct {
		path string
		form url.Values
	}{
		{"/console/subscribers", url.Values{"email": {"new@example.com"}, "confirmed": {"on"}}},
		{"/console/subscribers/" + sub.ID + "/delete", url.Values{"confirm": {"yes"}}},
		{"/console/webhooks", url.Values{"url": {r.URL + "/other"}}},
		{"/console/webhooks/" + w.ID + "/pause", nil},
		{"/console/webhooks/" + w.ID + "/rotate-secret", nil},
		{"/console/webhooks/" + w.ID + "/delete", url.Values{"confirm": {"yes"}}},
	} {
		if p := cmd.post(tt.path, tt.form); p.Status != http.StatusForbidden {
			t.Errorf("commander POST %s: %d, want 403", tt.path, p.Status)
		}
	}
	if n := ts.subscriberCount(t); n != 1 {
		t.Errorf("%d subscribers, want 1", n)
	}
	list, _ := ts.store.ListWebhooks(t.Context())
	if len(list) != 1 || list[0].Status != store.WebhookActive {
		t.Errorf("webhooks after refused changes: %+v", list)
	}

	viewer := ts.signedIn(t, ts.addUser(t, "viewer@example.com", store.RoleViewer))
	p = viewer.get("/console")
	if p.Doc.Find(`a[href="/console/subscribers"]`).Length() != 0 || p.Doc.Find(`a[href="/console/webhooks"]`).Length() != 0 {
		t.Error("a viewer's navigation links to subscribers or webhooks")
	}
	if p := viewer.get("/console/subscribers"); p.Status != http.StatusForbidden {
		t.Errorf("viewer list: %d", p.Status)
	}
}

// Registering a webhook shows its secret once; a failed delivery appears in
// the log with a Replay button that only an admin may press, and replaying
// it makes a new attempt; pause, resume and rotation work.
func TestConsoleWebhookRegisterAndReplay(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	r.answer = func(int) (int, map[string]string) { return 500, nil }
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	cmd := ts.signedIn(t, ts.addUser(t, "cmd@example.com", store.RoleCommander))

	// Bad input: re-rendered with the message, nothing stored.
	p := admin.post("/console/webhooks", url.Values{"url": {"http://10.0.0.1/hook"}, "description": {"internal"}})
	if p.Status != http.StatusUnprocessableEntity || p.Doc.Find("#e-url").Length() != 1 || p.Doc.Find("#f-description").AttrOr("value", "") != "internal" {
		t.Errorf("blocked URL: %d %q", p.Status, p.Doc.Find(".error-summary").Text())
	}
	if p := admin.post("/console/webhooks", url.Values{"url": {r.URL}, "format": {"telegram"}}); p.Status != http.StatusUnprocessableEntity || p.Doc.Find("#e-format").Length() != 1 {
		t.Errorf("bad format: %d", p.Status)
	}
	// The form offers every format and keeps the one chosen.
	if p := admin.post("/console/webhooks", url.Values{"url": {"http://10.0.0.1/hook"}, "format": {"teams"}}); p.Doc.Find("#f-format option").Length() != len(store.WebhookFormats) ||
		p.Doc.Find("#f-format option[selected]").AttrOr("value", "") != "teams" {
		t.Errorf("format choices: %q", p.Doc.Find("#f-format").Text())
	}
	if list, _ := ts.store.ListWebhooks(t.Context()); len(list) != 0 {
		t.Fatalf("%d webhooks stored after bad input", len(list))
	}

	p = admin.post("/console/webhooks", url.Values{"url": {r.URL + "/hook"}, "description": {"ops"}, "events": {"incident.created"}, "format": {"statuspage"}})
	if p.Status != http.StatusCreated {
		t.Fatalf("register: %d\n%.500s", p.Status, p.Body)
	}
	secret := strings.TrimSpace(p.Doc.Find(".secret-value").Text())
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown %q", secret)
	}
	if p.Header.Get("Cache-Control") != "private, no-store" {
		t.Error("the page with the secret may be cached")
	}
	list, _ := ts.store.ListWebhooks(t.Context())
	if len(list) != 1 || list[0].Description != "ops" || len(list[0].Events) != 1 {
		t.Fatalf("stored %+v", list)
	}
	w := list[0]
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	if p := admin.get("/console/webhooks/" + w.ID); p.Status != 200 || strings.Contains(p.Body, secret) || p.Doc.Find(".secret").Length() != 0 {
		t.Errorf("the secret is shown again on reload (%d)", p.Status)
	}
	if p := admin.get("/console/webhooks"); strings.Contains(p.Body, secret) {
		t.Error("the secret is on the list")
	}

	ts.startDispatcher(t, noRetries)
	ts.createIncident(t, map[string]any{"name": "Outage", "body": "Investigating."})
	var d store.WebhookDelivery
	eventually(t, "the delivery to fail", func() bool {
		ds, err := ts.store.ListWebhookDeliveries(t.Context(), w.ID, 10, 0)
		if err != nil || len(ds) != 1 || ds[0].State != "failed" {
			return false
		}
		d = ds[0]
		return true
	})
	if !r.requests()[0].SigOK {
		t.Error("the secret shown does not verify the delivery")
	}
	p = admin.get("/console/webhooks/" + w.ID)
	row := p.Doc.Find("table.deliveries tbody tr")
	if row.Length() != 1 || !strings.Contains(row.Text(), "500") || !strings.Contains(row.Text(), "incident.created") || !strings.Contains(row.Text(), " ms") {
		t.Errorf("log row %q", row.Text())
	}
	replay := "/console/webhooks/" + w.ID + "/deliveries/" + deliveryIDText(d.ID) + "/replay"
	if row.Find(`form[action="`+replay+`"] button`).Length() != 1 {
		t.Fatalf("no Replay button for the failed delivery")
	}
	if p := cmd.get("/console/webhooks/" + w.ID); p.Status != 200 || p.Doc.Find(`form[action="`+replay+`"]`).Length() != 0 || !strings.Contains(p.Doc.Find("table.deliveries").Text(), "500") {
		t.Errorf("commander log: %d", p.Status)
	}
	if p := cmd.post(replay, nil); p.Status != http.StatusForbidden {
		t.Errorf("commander replay: %d, want 403", p.Status)
	}
	if p := admin.postRaw(replay, url.Values{}); p.Status != http.StatusForbidden {
		t.Errorf("replay without CSRF token: %d, want 403", p.Status)
	}
	ts.drainOutbox(t)
	if n := len(r.requests()); n != 1 {
		t.Fatalf("refused replays sent %d requests, want 1", n)
	}

	p = admin.post(replay, nil)
	if p.Status != http.StatusSeeOther || location(p) != "/console/webhooks/"+w.ID+"?msg=delivery-replayed" {
		t.Fatalf("replay: %d %q\n%.300s", p.Status, location(p), p.Body)
	}
	eventually(t, "the replay's attempt", func() bool {
		ds, _ := ts.store.ListWebhookDeliveries(t.Context(), w.ID, 10, 0)
		return len(ds) == 1 && len(ds[0].Log) == 2 && ds[0].State == "failed"
	})
	if got := r.requests(); len(got) != 2 || got[1].ID != got[0].ID {
		t.Errorf("replay requests %d", len(got))
	}
	p = admin.get("/console/webhooks/" + w.ID)
	if n := p.Doc.Find("table.deliveries tbody tr").Length(); n != 2 {
		t.Errorf("%d attempt rows after replay, want 2", n)
	}

	// Pause, resume, rotate.
	if p := admin.post("/console/webhooks/"+w.ID+"/pause", nil); p.Status != http.StatusSeeOther {
		t.Errorf("pause: %d", p.Status)
	}
	if got, _ := ts.store.GetWebhook(t.Context(), w.ID); got.Status != store.WebhookPaused {
		t.Errorf("after pause: %s", got.Status)
	}
	if p := admin.get("/console/webhooks/" + w.ID); p.Doc.Find(`form[action$="/resume"]`).Length() != 1 {
		t.Error("no resume button on a paused webhook")
	}
	admin.post("/console/webhooks/"+w.ID+"/resume", nil)
	if got, _ := ts.store.GetWebhook(t.Context(), w.ID); got.Status != store.WebhookActive {
		t.Errorf("after resume: %s", got.Status)
	}
	p = admin.post("/console/webhooks/"+w.ID+"/rotate-secret", nil)
	rotated := strings.TrimSpace(p.Doc.Find(".secret-value").Text())
	if p.Status != 200 || !strings.HasPrefix(rotated, "whsec_") || rotated == secret {
		t.Errorf("rotate: %d %q", p.Status, rotated)
	}
	if p := admin.get("/console/webhooks/" + w.ID); strings.Contains(p.Body, rotated) {
		t.Error("the rotated secret is shown again")
	}

	// Deletion asks for confirmation.
	if p := admin.post("/console/webhooks/"+w.ID+"/delete", nil); p.Status != http.StatusUnprocessableEntity {
		t.Errorf("unconfirmed delete: %d", p.Status)
	}
	if p := admin.post("/console/webhooks/"+w.ID+"/delete", url.Values{"confirm": {"yes"}}); p.Status != http.StatusSeeOther {
		t.Errorf("delete: %d", p.Status)
	}
	if list, _ := ts.store.ListWebhooks(t.Context()); len(list) != 0 {
		t.Errorf("%d webhooks after delete", len(list))
	}
}

// The subscriber and webhook forms refuse a POST without its CSRF token and
// change nothing.
func TestConsoleSubscribersCSRF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	sub, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "keep@example.com", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		form url.Values
	}{
		{"/console/subscribers", url.Values{"email": {"new@example.com"}}},
		{"/console/subscribers/" + sub.ID + "/delete", url.Values{"confirm": {"yes"}}},
		{"/console/webhooks", url.Values{"url": {"http://127.0.0.1:9/hook"}}},
	} {
		if p := admin.postRaw(tt.path, tt.form); p.Status != http.StatusForbidden {
			t.Errorf("POST %s without token: %d, want 403", tt.path, p.Status)
		}
		tt.form.Set(csrfField, "wrong")
		if p := admin.postRaw(tt.path, tt.form); p.Status != http.StatusForbidden {
			t.Errorf("POST %s with a wrong token: %d, want 403", tt.path, p.Status)
		}
	}
	if n := ts.subscriberCount(t); n != 1 {
		t.Errorf("%d subscribers, want 1", n)
	}
	if list, _ := ts.store.ListWebhooks(t.Context()); len(list) != 0 {
		t.Errorf("%d webhooks, want 0", len(list))
	}
}
