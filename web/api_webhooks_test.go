package web

import (
	"fmt"
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
