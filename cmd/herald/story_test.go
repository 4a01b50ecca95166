package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// The story Herald exists for, end to end with real parts: monitoring fires
// at 10:05 (a real Alertmanager, fed by amtool as a user would); the draft
// is on the console dashboard with its age; at 10:10 the commanders are
// reminded by email through a real SMTP conversation and in the team's
// chat; at 10:12 a commander publishes it from a template; a subscriber is
// emailed and a signed webhook delivered; the incident page says the
// impact began at 10:05, the uptime history counts the outage from then,
// and the console and /metrics say the public waited 7 minutes. Time moves
// by the store's clock, not by sleeping.
func TestStoryFromTheFirstAlertToEveryoneTold(t *testing.T) {
	t.Parallel()
	amBin, amtool := requireAlertmanager(t)

	// 10:05 yesterday: in the past for Alertmanager, now for Herald.
	y := time.Now().UTC().AddDate(0, 0, -1)
	fired := time.Date(y.Year(), y.Month(), y.Day(), 10, 5, 0, 0, time.UTC)
	clock := &storyClock{now: fired.Add(20 * time.Second)}

	database := filepath.Join(t.TempDir(), "herald.db")
	checkout, tmpl := seedStory(t, database, clock)
	mail := newRelay(t, 0)
	hooks := newHookRecorder(t)
	ctx := context.WithValue(context.Background(), storeClockKey{}, clock.Now)
	base, out, stop := startServeCtx(t, ctx, append([]string{"--database", database, "--page-name", "Acme", "--housekeeping-interval", "50ms",
		"--webhook-allow", "127.0.0.1", "--metrics-public", "--log-format", "text"}, mail.flags()...)...)
	defer stop()
	token := printedToken(t, out.String())
	var public, team struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	for _, w := range []struct {
		body map[string]any
		out  any
	}{
		{map[string]any{"url": hooks.url + "/public", "description": "customer portal"}, &public},
		{map[string]any{"url": hooks.url + "/team", "description": "#incidents", "audience": "team", "format": "slack"}, &team},
	} {
		if code := api(t, base, token, "POST", "/api/v1/webhooks", w.body, w.out); code != http.StatusCreated {
			t.Fatalf("register webhook: %d", code)
		}
	}

	// 10:05: monitoring fires; Alertmanager tells Herald.
	startAlertmanager(t, amBin, amtool, base, token, fired)
	var draftID string
	eventually(t, "the draft from Alertmanager", func() bool {
		var list []store.Incident
		api(t, base, token, "GET", "/api/v1/incidents", nil, &list)
		if len(list) > 0 && list[0].Draft {
			draftID = list[0].ID
		}
		return draftID != ""
	})
	bob := &console{t: t, cookies: map[string]string{}}
	if !bob.signIn(base, "bob@example.com", "a commander's password") {
		t.Fatal("bob cannot sign in")
	}

	// 10:09: the draft is first on the dashboard, 4 minutes old.
	clock.set(fired.Add(4*time.Minute + 20*time.Second))
	_, dash := bob.do("GET", base+"/console", nil)
	if !regexp.MustCompile(`(?s)id="drafts".*Checkout is failing.*Opened by Alertmanager 4 min ago`).MatchString(dash) {
		t.Errorf("the dashboard does not show the draft with its age:\n%s", section(dash, `id="drafts"`))
	}

	// 10:10: nobody has published it; the commanders are reminded.
	clock.set(fired.Add(5*time.Minute + 20*time.Second))
	eventually(t, "the reminder to both commanders", func() bool {
		return len(mailsTo(mail, "alice@example.com")) == 1 && len(mailsTo(mail, "bob@example.com")) == 1
	})
	reminder := mailsTo(mail, "bob@example.com")[0]
	subject, text := readMail(t, reminder)
	if subject != "[Acme team] Draft waiting 5 min: Checkout is failing for 12% of orders" || !strings.Contains(text, base+"/console/drafts/"+draftID) {
		t.Errorf("the reminder reads %q:\n%s", subject, text)
	}
	if strings.Contains(string(reminder.raw), "List-Unsubscribe") || !strings.Contains(text, base+"/console/account") {
		t.Errorf("the reminder is not a team email (no unsubscribe list, the account page to change it):\n%s", reminder.raw)
	}
	eventually(t, "the reminder in the team's chat", func() bool { return len(hooks.at("/team")) == 1 })
	if body := string(hooks.at("/team")[0].body); !strings.Contains(body, "Draft waiting 5 min") || !strings.Contains(body, "/console/drafts/"+draftID) {
		t.Errorf("the team's chat got %s", body)
	}

	// 10:12: bob publishes it from the template.
	clock.set(fired.Add(7 * time.Minute))
	resp := bob.post(base, "/console/drafts/"+draftID+"?template="+tmpl.ID, "/console/drafts/"+draftID+"/publish", url.Values{
		"name": {"Checkout errors"}, "status": {"investigating"}, "impact": {"critical"}, "body": {strings.ReplaceAll(tmpl.Body, "{components}", "Checkout")},
		"component." + checkout.ID: {"major_outage"}, "notify": {"on"}, "next_update_in": {"30"}, "template": {tmpl.ID}, "action": {"submit"},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	eventually(t, "the subscriber's email", func() bool { return len(mailsTo(mail, "reader@example.com")) == 1 })
	if subject, text := readMail(t, mailsTo(mail, "reader@example.com")[0]); subject != "[Acme] Checkout errors" || !strings.Contains(text, "Checkout is failing; we are on it.") {
		t.Errorf("the subscriber was told %q:\n%s", subject, text)
	}
	// The public webhook hears of the incident (and of the component it
	// took down), signed with its own secret.
	var created *hookRequest
	eventually(t, "the signed webhook", func() bool {
		for _, h := range hooks.at("/public") {
			if hookEvent(t, h.body) == store.JobIncidentCreated {
				created = &h
			}
		}
		return created != nil
	})
	if !signedBy(public.Secret, created.header, created.body) {
		t.Errorf("the webhook's signature does not verify: %v", created.header)
	}

	// What everyone sees now.
	page := body(t, base+"/incidents/"+draftID)
	if !regexp.MustCompile(`Impact began</dt><dd><time[^>]*>[^<]*10:05 UTC`).MatchString(page) {
		t.Errorf("the incident page does not say the impact began at 10:05:\n%s", section(page, "Impact began"))
	}
	day := fired.Format("Jan 2, 2006") + ": Major Outage, major outage 7 min"
	if !strings.Contains(body(t, base+"/"), day) {
		t.Errorf("the uptime bar does not count the outage from 10:05 (want %q)", day)
	}
	// The relay has the email a moment before Herald records it as sent.
	var incPage string
	eventually(t, "the console's clock to see the delivery", func() bool {
		_, incPage = bob.do("GET", base+"/console/incidents/"+draftID, nil)
		return !strings.Contains(incPage, "no subscriber reached yet")
	})
	if want := "First public update 7 min after the impact began; first subscriber reached 7 min after"; !strings.Contains(incPage, want) {
		t.Errorf("the console's clock lacks %q:\n%s", want, section(incPage, `class="clock`))
	}
	metrics := body(t, base+"/metrics")
	for _, want := range []string{"herald_incident_time_to_public_seconds_sum 420", "herald_incident_time_to_public_seconds_count 1",
		"herald_incident_time_to_first_delivery_seconds_sum 420"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Everyone was told once, each what is theirs.
	if got := len(mailsTo(mail, "alice@example.com")); got != 1 {
		t.Errorf("alice got %d emails, want the one reminder", got)
	}
	for _, h := range hooks.at("/team") {
		if !strings.Contains(string(h.body), "Draft waiting") {
			t.Errorf("the team's chat got a public event: %s", h.body)
		}
	}
	for _, h := range hooks.at("/public") {
		if e := hookEvent(t, h.body); store.IsTeamKind(e) {
			t.Errorf("the public webhook got %s", e)
		}
	}
}

// hookEvent is a Statuspage-shaped webhook body's event.
func hookEvent(t *testing.T, body []byte) string {
	t.Helper()
	var sp struct {
		Meta struct{ Event string } `json:"meta"`
	}
	if err := json.Unmarshal(body, &sp); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	return sp.Meta.Event
}

// The escalation policy across a restart: a draft arrives, Herald is
// down when its reminder falls due, and the reminder goes out once when
// Herald starts again — and not again at the start after that.
func TestEscalationReminderDueWhileDown(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().AddDate(0, 0, -1).Truncate(time.Minute)
	clock := &storyClock{now: start}
	database := filepath.Join(t.TempDir(), "herald.db")
	seedStory(t, database, clock)
	mail := newRelay(t, 0)
	ctx := context.WithValue(context.Background(), storeClockKey{}, clock.Now)
	args := append([]string{"--database", database, "--housekeeping-interval", "50ms", "--log-format", "text"}, mail.flags()...)

	base, out, stop := startServeCtx(t, ctx, args...)
	token := printedToken(t, out.String())
	alert := `{"version":"4","status":"firing","receiver":"herald","groupKey":"{}:{alertname=\"CheckoutErrors\"}",
		"commonLabels":{"alertname":"CheckoutErrors"},"commonAnnotations":{"summary":"Checkout errors"},
		"alerts":[{"status":"firing","labels":{"alertname":"CheckoutErrors","component":"Checkout","severity":"critical"},
		"annotations":{"summary":"Checkout errors"},"startsAt":"` + start.Format(time.RFC3339) + `","fingerprint":"c1"}]}`
	if code := api(t, base, token, "POST", "/api/v1/integrations/alertmanager", json.RawMessage(alert), nil); code != http.StatusOK {
		t.Fatalf("alert: %d", code)
	}
	stop() // Herald is down for an hour

	clock.set(start.Add(time.Hour))
	base, _, stop = startServeCtx(t, ctx, args...)
	eventually(t, "the reminder after the start", func() bool { return len(mailsTo(mail, "alice@example.com")) == 1 })
	// An incident opened now goes quiet while Herald is down again: its
	// overdue email at the next start shows that start ran the policy.
	if code := api(t, base, token, "POST", "/api/v1/incidents", map[string]any{"name": "Slow search", "body": "Looking."}, nil); code != http.StatusCreated {
		t.Fatalf("incident: %d", code)
	}
	stop()

	clock.set(start.Add(2 * time.Hour))
	_, _, stop = startServeCtx(t, ctx, args...)
	eventually(t, "the overdue email after the second start", func() bool { return len(mailsTo(mail, "alice@example.com")) == 2 })
	stop()
	for _, who := range []string{"alice@example.com", "bob@example.com"} {
		var reminders []string
		for _, m := range mailsTo(mail, who) {
			if subject, _ := readMail(t, m); strings.Contains(subject, "Draft waiting") {
				reminders = append(reminders, subject)
			}
		}
		if len(reminders) != 1 || !strings.Contains(reminders[0], "Draft waiting 1 h") {
			t.Errorf("%s was reminded %q, want once, saying the draft has waited an hour", who, reminders)
		}
	}
}

// requireAlertmanager finds Debian's prometheus-alertmanager and amtool;
// without them the test skips, unless HERALD_REQUIRE_ALERTMANAGER=1 (CI).
func requireAlertmanager(t *testing.T) (string, string) {
	t.Helper()
	am, err1 := exec.LookPath("prometheus-alertmanager")
	if err1 != nil {
		am, err1 = exec.LookPath("alertmanager")
	}
	tool, err2 := exec.LookPath("amtool")
	if err1 != nil || err2 != nil {
		if os.Getenv("HERALD_REQUIRE_ALERTMANAGER") == "1" {
			t.Fatal("Alertmanager is required (HERALD_REQUIRE_ALERTMANAGER=1) but not installed")
		}
		t.Skip("Alertmanager not installed: the story test is skipped (apt-get install prometheus-alertmanager)")
	}
	return am, tool
}

// startAlertmanager runs Alertmanager with Herald as its webhook receiver,
// as the README wires it, and fires one alert with amtool.
func startAlertmanager(t *testing.T, bin, amtool, herald, token string, fired time.Time) {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: herald
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: herald
    webhook_configs:
      - url: %s/api/v1/integrations/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: %s
`, herald, token)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	am := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+dir,
		"--web.listen-address="+am, "--cluster.listen-address=")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager:\n%s", logs.String())
		}
	})
	eventually(t, "Alertmanager to be ready", func() bool {
		resp, err := http.Get("http://" + am + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	add := exec.Command(amtool, "--alertmanager.url=http://"+am, "alert", "add", "alertname=CheckoutErrors", "component=Checkout", "severity=critical",
		"--annotation=summary=Checkout is failing for 12% of orders", "--start="+fired.Format(time.RFC3339))
	if b, err := add.CombinedOutput(); err != nil {
		t.Fatalf("amtool alert add: %v\n%s", err, b)
	}
}

// seedStory makes the page: a component, a template, an admin and a
// commander (both wanting team emails, as by default) and a subscriber.
func seedStory(t *testing.T, database string, clock *storyClock) (store.Component, store.IncidentTemplate) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetClock(clock.Now)
	c, err := st.CreateComponent(ctx, store.ComponentInput{Name: "Checkout"})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := st.CreateIncidentTemplate(ctx, store.IncidentTemplateInput{Name: "Degraded checkout", Body: "{components} is failing; we are on it."})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		email string
		role  store.Role
	}{{"alice@example.com", store.RoleAdmin}, {"bob@example.com", store.RoleCommander}} {
		user, _, err := st.CreateUser(ctx, store.UserInput{Email: u.email, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetPassword(ctx, user.ID, "a commander's password"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddSubscriber(ctx, store.SubscriberInput{Email: "reader@example.com", Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	return c, tp
}

// storyClock is the time Herald believes it is, moved by the test.
type storyClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *storyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *storyClock) set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
}

// hookRecorder is a webhook receiver that keeps every request by path.
type hookRecorder struct {
	url string
	mu  sync.Mutex
	got map[string][]hookRequest
}

type hookRequest struct {
	header http.Header
	body   []byte
}

func newHookRecorder(t *testing.T) *hookRecorder {
	t.Helper()
	h := &hookRecorder{got: map[string][]hookRequest{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], hookRequest{header: r.Header.Clone(), body: body})
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *hookRecorder) at(path string) []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got[path])
}

// signedBy checks a Standard Webhooks signature as a receiver would.
func signedBy(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return slices.Contains(strings.Fields(h.Get("webhook-signature")), want)
}

// mailsTo is what the relay received for one recipient.
func mailsTo(r *relay, to string) []relayed {
	var out []relayed
	for _, m := range r.messages() {
		if slices.Contains(m.to, to) {
			out = append(out, m)
		}
	}
	return out
}

// readMail returns a message's subject and its plain-text part, decoded.
func readMail(t *testing.T, m relayed) (string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(m.raw))))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(part))
	if err != nil {
		t.Fatal(err)
	}
	return subject, string(text)
}

// body is the page at u.
func body(t *testing.T, u string) string {
	t.Helper()
	_, _, b := get(t, u)
	return b
}

// section is the part of a page around marker, for failure messages.
func section(page, marker string) string {
	i := strings.Index(page, marker)
	if i < 0 {
		return "(" + marker + " not on the page)"
	}
	return page[i:min(len(page), i+1500)]
}
