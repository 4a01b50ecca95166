package web

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// Registration refuses internal targets unless the operator allowed them:
// by address, by name that resolves inward, in either IP version.
func TestAPIWebhookSSRFRefusedAtRegistration(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t) // no allow list
	for _, u := range []string{
		"http://127.0.0.1:8080/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data/",
		"http://[::1]/hook", "http://localhost:9/hook", "http://192.168.1.10/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
		"http://0.0.0.0/",
		// IPv4-compatible, IPv4-translated, NAT64 and 6to4 of internal
		// addresses, documentation, benchmarking and other special ranges.
		"http://[::127.0.0.1]/", "http://[::7f00:1]/", "http://[::ffff:0:127.0.0.1]/", "http://[::ffff:0:8.8.8.8]/",
		"http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b:1::1]/", "http://[2002:7f00:1::1]/",
		"http://[2001::1]/", "http://[2001:db8::1]/", "http://[3fff::1]/", "http://[fec0::1]/", "http://[ff0e::1]/",
		"http://192.0.2.1/", "http://198.51.100.1/", "http://203.0.113.1/", "http://198.18.0.1/", "http://100.64.0.1/",
		"http://240.0.0.1/", "http://224.0.1.1/", "http://192.88.99.1/",
	} {
		t.Run(u, func(t *testing.T) {
			resp := ts.call(t, "POST", "/api/v1/webhooks", map[string]any{"url": u})
			var e apiErr
			resp.decode(t, &e)
			if resp.Status != 422 || e.Error.Field != "url" || !strings.Contains(e.Error.Message, "HERALD_WEBHOOK_ALLOW") {
				t.Errorf("%d %+v", resp.Status, e.Error)
			}
		})
	}
	for _, tt := range []struct{ url, field string }{{"ftp://example.com/", "url"}, {"https://user:pw@example.com/", "url"}, {"", "url"}} {
		resp := ts.call(t, "POST", "/api/v1/webhooks", map[string]any{"url": tt.url})
		var e apiErr
		resp.decode(t, &e)
		if resp.Status != 422 || e.Error.Field != tt.field {
			t.Errorf("%q: %d %+v", tt.url, resp.Status, e.Error)
		}
	}
	list, _ := ts.store.ListWebhooks(t.Context())
	if len(list) != 0 {
		t.Errorf("%d webhooks stored", len(list))
	}
	// Moving a registered endpoint inward is refused the same way.
	var w store.Webhook
	ts.call(t, "POST", "/api/v1/webhooks", map[string]any{"url": "http://93.184.216.34/hook"}).decode(t, &w)
	for _, u := range []string{"http://[::127.0.0.1]/", "http://[64:ff9b::10.0.0.1]/", "http://192.0.2.1/"} {
		resp := ts.call(t, "PATCH", "/api/v1/webhooks/"+w.ID, map[string]any{"url": u})
		if resp.Status != 422 {
			t.Errorf("PATCH to %s: %d %s", u, resp.Status, resp.Body)
		}
	}
	if got, _ := ts.store.GetWebhook(t.Context(), w.ID); got.URL != "http://93.184.216.34/hook" {
		t.Errorf("after refused changes the URL is %q", got.URL)
	}
}

// The whole path: register (secret shown once), an incident, a signed
// Statuspage-shaped delivery, the delivery log, and a replay with the same id.
func TestAPIWebhookDeliveryAndReplay(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	w := ts.registerWebhook(t, r, map[string]any{"events": []string{"incident.*"}})
	if !strings.HasPrefix(w.Secret, "whsec_") || w.Status != store.WebhookActive || w.Components == nil {
		t.Fatalf("created %+v", w)
	}
	get := ts.call(t, "GET", "/api/v1/webhooks/"+w.ID, nil)
	if strings.Contains(string(get.Body), w.Secret) || strings.Contains(string(get.Body), "secret") {
		t.Errorf("GET shows the secret: %s", get.Body)
	}
	ts.startDispatcher(t)
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Login failures", "body": "Investigating.", "components": map[string]string{api.ID: "major_outage"}})

	eventually(t, "the delivery", func() bool { return len(r.requests()) == 1 })
	got := r.requests()[0]
	if !got.SigOK {
		t.Fatal("the signature does not verify with the secret shown at registration")
	}
	incident, _ := got.Body["incident"].(map[string]any)
	page, _ := got.Body["page"].(map[string]any)
	if incident["name"] != "Login failures" || incident["id"] != inc.ID || page["status_indicator"] != "critical" {
		t.Errorf("body %v", got.Body)
	}
	if updates, _ := incident["incident_updates"].([]any); len(updates) != 1 {
		t.Errorf("incident_updates %v", incident["incident_updates"])
	}
	// The component status change is not sent: the filter is incident.* only.
	ts.drainOutbox(t)
	if n := len(r.requests()); n != 1 {
		t.Errorf("%d requests, want 1 (component.updated is filtered out)", n)
	}

	var log []store.WebhookDelivery
	eventually(t, "the log to record success", func() bool {
		ts.mustCall(t, 200, "GET", "/api/v1/webhooks/"+w.ID+"/deliveries", nil, &log)
		return len(log) == 1 && log[0].State == "sent"
	})
	d := log[0]
	if d.MessageID != got.ID || d.Event != "incident.created" || len(d.Log) != 1 || d.Log[0].StatusCode != 204 {
		t.Errorf("log %+v", d)
	}

	var replayed store.WebhookDelivery
	ts.mustCall(t, http.StatusAccepted, "POST", "/api/v1/webhooks/"+w.ID+"/deliveries/"+deliveryIDText(d.ID)+"/replay", nil, &replayed)
	eventually(t, "the replay", func() bool { return len(r.requests()) == 2 })
	if again := r.requests()[1]; again.ID != got.ID || !again.SigOK {
		t.Errorf("replay id %q (want %q), signature ok %v", again.ID, got.ID, again.SigOK)
	}

	// Rotation: a new secret, shown once; the old one no longer verifies.
	var rotated createdWebhook
	ts.mustCall(t, 200, "POST", "/api/v1/webhooks/"+w.ID+"/rotate-secret", nil, &rotated)
	if rotated.Secret == w.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rotated.Secret)
	}
	ts.call(t, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."})
	eventually(t, "the update", func() bool { return len(r.requests()) == 3 })
	if r.requests()[2].SigOK {
		t.Error("a delivery after rotation verifies with the old secret")
	}
	r.mu.Lock()
	r.secret = rotated.Secret
	r.mu.Unlock()
	ts.call(t, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."})
	eventually(t, "the resolution", func() bool { return len(r.requests()) == 4 })
	if !r.requests()[3].SigOK {
		t.Error("a delivery after rotation does not verify with the new secret")
	}
}

// A receiver that says 503 with Retry-After is asked again when it said,
// not on the schedule; one that says 410 Gone disables the endpoint.
func TestAPIWebhookRetryAfterAndGone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	busy, gone := newReceiver(t), newReceiver(t)
	busy.answer = func(int) (int, map[string]string) { return 503, map[string]string{"Retry-After": "120"} }
	gone.answer = func(int) (int, map[string]string) { return 410, nil }
	wb := ts.registerWebhook(t, busy, nil)
	wg := ts.registerWebhook(t, gone, nil)
	ts.startDispatcher(t)
	ts.createIncident(t, map[string]any{"name": "Slow", "body": "Slow."})

	var log []store.WebhookDelivery
	// The state is read with the attempt log but not in one snapshot (see
	// store.ListWebhookDeliveries): wait until the attempt is recorded in both.
	eventually(t, "the busy endpoint's first attempt to be recorded", func() bool {
		ts.mustCall(t, 200, "GET", "/api/v1/webhooks/"+wb.ID+"/deliveries", nil, &log)
		return len(log) == 1 && len(log[0].Log) == 1 && log[0].State != "sending"
	})
	d := log[0]
	if d.State != "pending" || d.LastStatus != 503 || d.NextAttemptAt == nil {
		t.Fatalf("busy delivery %+v", d)
	}
	// Measured from the attempt, not from the test's start, so that a slow
	// machine cannot move it.
	if wait := d.NextAttemptAt.Sub(d.Log[0].At); wait < 119*time.Second || wait > 121*time.Second {
		t.Errorf("next attempt %s after the first, want the 120s Retry-After asked for", wait)
	}

	eventually(t, "the gone endpoint to be disabled", func() bool {
		var w store.Webhook
		ts.mustCall(t, 200, "GET", "/api/v1/webhooks/"+wg.ID, nil, &w)
		return w.Status == store.WebhookDisabled
	})
	ts.createIncident(t, map[string]any{"name": "Again", "body": "Again."})
	ts.drainOutbox(t) // the busy endpoint's second delivery waits for its Retry-After: it does not hold this up
	if n := len(gone.requests()); n != 1 {
		t.Errorf("a disabled endpoint got %d requests, want 1", n)
	}
	// Resuming it by hand sends again.
	ts.mustCall(t, 200, "PATCH", "/api/v1/webhooks/"+wg.ID, map[string]any{"paused": false}, nil)
	var w store.Webhook
	ts.mustCall(t, 200, "GET", "/api/v1/webhooks/"+wg.ID, nil, &w)
	if w.Status != store.WebhookActive || w.DisabledReason != "" {
		t.Errorf("after resuming: %+v", w)
	}
}

// The Slack format: text and blocks, still signed.
func TestAPIWebhookSlackFormat(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	r := newReceiver(t)
	ts.registerWebhook(t, r, map[string]any{"format": "slack", "events": []string{"incident.created"}})
	ts.startDispatcher(t)
	ts.createIncident(t, map[string]any{"name": "Chat <down> & out", "body": "Investigating."})
	eventually(t, "the delivery", func() bool { return len(r.requests()) == 1 })
	got := r.requests()[0]
	text, _ := got.Body["text"].(string)
	blocks, _ := got.Body["blocks"].([]any)
	if !got.SigOK || !strings.Contains(text, "Chat &lt;down&gt; &amp; out") || len(blocks) != 4 {
		t.Errorf("slack body %v (signature ok %v)", got.Body, got.SigOK)
	}
	resp := ts.call(t, "POST", "/api/v1/webhooks", map[string]any{"url": r.URL, "format": "telegram"})
	if resp.Status != 422 || !strings.Contains(string(resp.Body), `"field":"format"`) || !strings.Contains(string(resp.Body), "statuspage, slack, teams, discord, googlechat, mattermost") {
		t.Errorf("unknown format: %d %s", resp.Status, resp.Body)
	}
	var hooks []store.Webhook
	ts.mustCall(t, 200, "GET", "/api/v1/webhooks", nil, &hooks)
	if len(hooks) != 1 {
		t.Errorf("the refused webhook was registered: %+v", hooks)
	}
	if resp = ts.call(t, "POST", "/api/v1/webhooks", map[string]any{"url": r.URL, "events": []string{"incident.exploded"}}); resp.Status != 422 {
		t.Errorf("unknown event: %d", resp.Status)
	}
}

// A webhook URL is shown whole to admins only: commanders see its scheme
// and host on every surface they reach — the API's endpoints and delivery
// log, the console's pages — and the audit views (whose entries carry the
// URL) are not theirs at all. For chat tools the URL's path is the
// credential.
func TestWebhookURLsByRole(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	// An endpoint nobody listens on, so that its delivery fails with an
	// error that quotes the URL it called.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	ln.Close()
	const path = "/services/T0001/B0001/Xq7SecretToken"
	full := origin + path
	var w createdWebhook
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/webhooks", map[string]any{"url": full}, &w)
	ts.startDispatcher(t, noRetries)
	ts.createIncident(t, map[string]any{"name": "Login failures", "body": "Investigating."})
	ts.drainOutbox(t)
	log, _ := ts.store.ListWebhookDeliveries(t.Context(), w.ID, 10, 0)
	if len(log) != 1 || log[0].State != "failed" || !strings.Contains(log[0].LastError, origin) {
		t.Fatalf("delivery log %+v: want one failed delivery whose error names the endpoint", log)
	}
	// The error is stored with the origin only: the log is copied into
	// backups and read by commanders, and repeats nothing an admin lacks.
	if strings.Contains(log[0].LastError, path) || strings.Contains(log[0].Log[0].Error, path) {
		t.Errorf("the stored error quotes the whole URL: %q", log[0].LastError)
	}

	commander := ts.addUser(t, "cmd@example.com", store.RoleCommander)
	_, cmdToken, err := ts.store.CreateUserToken(t.Context(), store.TokenInput{Name: "cmd", UserID: commander.ID, Role: store.RoleCommander})
	if err != nil {
		t.Fatal(err)
	}
	admin := ts.addUser(t, "boss@example.com", store.RoleAdmin)
	api := []string{"/api/v1/webhooks", "/api/v1/webhooks/" + w.ID, "/api/v1/webhooks/" + w.ID + "/deliveries"}
	console := []string{"/console/webhooks", "/console/webhooks/" + w.ID}
	audit := []string{"/console/audit", "/console/audit.csv"}

	t.Run("commander", func(t *testing.T) {
		for _, p := range api {
			resp := ts.callWithToken(t, cmdToken, "GET", p, nil)
			if resp.Status != 200 || !strings.Contains(string(resp.Body), origin) || strings.Contains(string(resp.Body), path) {
				t.Errorf("GET %s: %d, want the origin %s without the path: %s", p, resp.Status, origin, resp.Body)
			}
		}
		var got store.Webhook
		ts.callWithToken(t, cmdToken, "GET", "/api/v1/webhooks/"+w.ID, nil).decode(t, &got)
		if got.URL != origin {
			t.Errorf("the API shows a commander the URL %q, want %q", got.URL, origin)
		}
		if resp := ts.callWithToken(t, cmdToken, "GET", "/api/v1/audit-log", nil); resp.Status != http.StatusForbidden {
			t.Errorf("audit log: %d, want 403", resp.Status)
		}
		b := ts.signedIn(t, commander)
		for _, p := range console {
			page := b.get(p)
			if page.Status != 200 || !strings.Contains(page.Body, origin) || strings.Contains(page.Body, path) {
				t.Errorf("%s: %d, want the origin without the path", p, page.Status)
			}
		}
		if code := text(b.get("/console/webhooks/" + w.ID).Doc.Find("dl.facts code").First()); code != origin {
			t.Errorf("the console shows a commander the URL %q, want %q", code, origin)
		}
		for _, p := range append(audit, "/console") {
			page := b.get(p)
			if strings.Contains(page.Body, path) {
				t.Errorf("%s shows a commander the URL's path", p)
			}
			if p != "/console" && page.Status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", p, page.Status)
			}
		}
	})
	t.Run("admin", func(t *testing.T) {
		var got store.Webhook
		ts.call(t, "GET", "/api/v1/webhooks/"+w.ID, nil).decode(t, &got)
		var list []store.Webhook
		ts.call(t, "GET", "/api/v1/webhooks", nil).decode(t, &list)
		if got.URL != full || len(list) != 1 || list[0].URL != full {
			t.Errorf("the API shows an admin %q and %+v, want %q", got.URL, list, full)
		}
		b := ts.signedIn(t, admin)
		for _, p := range append(console, audit...) {
			if page := b.get(p); page.Status != 200 || !strings.Contains(page.Body, full) {
				t.Errorf("%s: %d, want the whole URL for an admin", p, page.Status)
			}
		}
	})
}

// Each chat format reaches its receiver in its own shape, signed like every
// webhook.
func TestAPIWebhookChatFormats(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withWebhookAllow(t, "127.0.0.1"))
	receivers := map[string]*receiver{}
	for _, f := range []string{store.FormatTeams, store.FormatDiscord, store.FormatGoogleChat, store.FormatMattermost} {
		receivers[f] = newReceiver(t)
		ts.registerWebhook(t, receivers[f], map[string]any{"format": f, "events": []string{"incident.created"}})
	}
	ts.startDispatcher(t)
	inc := ts.createIncident(t, map[string]any{"name": "Checkout errors", "body": "We are **looking** into it."})
	link := "/incidents/" + inc.ID
	checks := map[string]func(map[string]any) bool{
		store.FormatTeams: func(b map[string]any) bool {
			att, _ := b["attachments"].([]any)
			return b["type"] == "message" && len(att) == 1 && strings.Contains(fmt.Sprint(att[0]), "application/vnd.microsoft.card.adaptive") && strings.Contains(fmt.Sprint(att[0]), link)
		},
		store.FormatDiscord: func(b map[string]any) bool {
			return strings.Contains(fmt.Sprint(b["embeds"]), "title:Checkout errors") && strings.Contains(fmt.Sprint(b["embeds"]), "**looking**")
		},
		store.FormatGoogleChat: func(b map[string]any) bool {
			return strings.Contains(fmt.Sprint(b["cardsV2"]), "<b>looking</b>") && strings.Contains(fmt.Sprint(b["cardsV2"]), link)
		},
		store.FormatMattermost: func(b map[string]any) bool {
			return strings.Contains(fmt.Sprint(b["attachments"]), "title:Checkout errors") && strings.Contains(fmt.Sprint(b["attachments"]), "**looking**")
		},
	}
	for f, r := range receivers {
		eventually(t, f+" delivery", func() bool { return len(r.requests()) == 1 })
		got := r.requests()[0]
		if !got.SigOK || !checks[f](got.Body) {
			t.Errorf("%s body %v (signature ok %v)", f, got.Body, got.SigOK)
		}
	}
}
