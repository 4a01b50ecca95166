package web

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

// chatPlatforms is a TLS server standing in for every chat platform, at
// each platform's path shape: what it was posted, by path, and what it
// answers (204 unless the test says otherwise for a path).
type chatPlatforms struct {
	*httptest.Server
	mu     sync.Mutex
	got    map[string][]json.RawMessage
	answer map[string]int
}

// chatPaths are incoming webhook URLs' paths (and queries) as each
// platform documents them.
var chatPaths = map[string]string{
	store.FormatSlack:      "/services/T0001/B0001/XXXXXXXXXXXXXXXX",
	store.FormatDiscord:    "/api/webhooks/1234567890/secret-token",
	store.FormatGoogleChat: "/v1/spaces/AAAA1234/messages?key=the-key&token=the-token",
	store.FormatTeams:      "/workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=the-signature",
}

func newChatPlatforms(t *testing.T) *chatPlatforms {
	p := &chatPlatforms{got: map[string][]json.RawMessage{}, answer: map[string]int{}}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got[r.URL.Path] = append(p.got[r.URL.Path], body)
		status := p.answer[r.URL.Path]
		p.mu.Unlock()
		if status == 0 {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(p.Close)
	return p
}

// url is the incoming webhook URL of a platform's channel on this server.
func (p *chatPlatforms) url(platform string) string { return p.URL + chatPaths[platform] }

func (p *chatPlatforms) host() string { u, _ := url.Parse(p.URL); return u.Host }

func pathOf(platform string) string { u, _ := url.Parse(chatPaths[platform]); return u.Path }

// messages is what a platform's channel was posted, decoded.
func (p *chatPlatforms) messages(t *testing.T, platform string) []map[string]any {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, raw := range p.got[pathOf(platform)] {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s got a body that is not JSON: %v\n%s", platform, err, raw)
		}
		out = append(out, v)
	}
	return out
}

func (p *chatPlatforms) setAnswer(platform string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer[pathOf(platform)] = status
}

// withChatSubscriptions offers the chat form, with the platforms' stand-in
// taken for every platform's host, and lets webhooks reach it.
func withChatSubscriptions(t *testing.T, p *chatPlatforms) testOption {
	allow := withWebhookAllow(t, "127.0.0.1")
	return func(s *testSetup) {
		allow(s)
		s.cfg.ChatSubscriptions = true
		s.cfg.ChatHosts = []string{p.host()}
	}
}

// startChatDispatcher runs the dispatcher trusting the stand-in's
// certificate, with no retries: a refused delivery fails at once.
func (ts *testServer) startChatDispatcher(t *testing.T, p *chatPlatforms) {
	pool := x509.NewCertPool()
	pool.AddCert(p.Certificate())
	ts.startDispatcher(t, noRetries, func(c *notify.Config) { c.Webhooks.RootCAs = pool })
}

// chatLink is a message's link of the kind (ChatConfirmPath or
// ChatUnsubscribePath) in the place each platform shows links, as a path
// on the test server; it fails the test when the platform's place lacks it.
func chatLink(t *testing.T, platform string, msg map[string]any, kind string) string {
	t.Helper()
	re := regexp.MustCompile(`http://status\.example\.test(` + regexp.QuoteMeta(kind) + `[A-Za-z0-9_.-]+)`)
	var place string
	switch platform {
	case store.FormatSlack: // the context block's mrkdwn: <url|text>
		blocks, _ := msg["blocks"].([]any)
		place = str(blocks[len(blocks)-1], "elements", 0, "text")
		if !strings.Contains(place, "<http://status.example.test"+kind) {
			t.Fatalf("slack context has no <%s…|…> link: %q", kind, place)
		}
	case store.FormatDiscord: // the embed's description, Markdown
		place = str(get(msg, "embeds", 0), "description")
		if !strings.Contains(place, "](http://status.example.test"+kind) {
			t.Fatalf("discord description has no [..](%s…) link: %q", kind, place)
		}
	case store.FormatGoogleChat: // a button of the card's last widget
		widgets, _ := get(msg, "cardsV2", 0, "card", "sections", 0, "widgets").([]any)
		b, _ := json.Marshal(get(widgets[len(widgets)-1], "buttonList", "buttons"))
		place = string(b)
	case store.FormatTeams: // an Action.OpenUrl of the Adaptive Card
		b, _ := json.Marshal(get(msg, "attachments", 0, "content", "actions"))
		place = string(b)
		if !strings.Contains(place, `"type":"Action.OpenUrl"`) {
			t.Fatalf("teams card has no Action.OpenUrl: %s", place)
		}
	}
	m := re.FindStringSubmatch(place)
	if m == nil {
		t.Fatalf("%s message has no %s link where the platform shows links: %s", platform, kind, place)
	}
	return m[1]
}

// get walks decoded JSON by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string { s, _ := get(v, path...).(string); return s }

// checkChatShape checks a message has its platform's native shape and
// stays within the limits notify/chat_test.go checks, the Teams card
// against the same Adaptive Card schema (notify/testdata).
func checkChatShape(t *testing.T, platform string, msg map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(msg)
	switch platform {
	case store.FormatSlack:
		blocks, _ := msg["blocks"].([]any)
		if str(msg, "text") == "" || len(blocks) == 0 || len(blocks) > 50 || str(blocks[0], "type") != "header" {
			t.Errorf("not a Block Kit message: %s", raw)
		}
		if n := len([]rune(str(blocks[0], "text", "text"))); n > 150 {
			t.Errorf("slack header %d chars", n)
		}
	case store.FormatDiscord:
		if get(msg, "embeds", 0) == nil || len([]rune(str(get(msg, "embeds", 0), "description"))) > 4096 {
			t.Errorf("not a Discord embed within its limits: %s", raw)
		}
		if p, ok := get(msg, "allowed_mentions", "parse").([]any); !ok || len(p) != 0 {
			t.Errorf("discord message may ping: %s", raw)
		}
	case store.FormatGoogleChat:
		if get(msg, "cardsV2", 0, "card") == nil || len(raw) > 32000 {
			t.Errorf("not a Google Chat card v2 within its limits: %s", raw)
		}
	case store.FormatTeams:
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err := teamsSchema(t).Validate(v); err != nil {
			t.Errorf("teams card breaks the Adaptive Card schema: %v\n%s", err, raw)
		}
	}
}

var teamsSchemaOnce struct {
	sync.Once
	s   *jsonschema.Schema
	err error
}

func teamsSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	teamsSchemaOnce.Do(func() {
		f, err := os.ReadFile("../notify/testdata/teams-message.schema.json")
		if err != nil {
			teamsSchemaOnce.err = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(f))
		if err != nil {
			teamsSchemaOnce.err = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("teams.json", doc); err != nil {
			teamsSchemaOnce.err = err
			return
		}
		teamsSchemaOnce.s, teamsSchemaOnce.err = c.Compile("teams.json")
	})
	if teamsSchemaOnce.err != nil {
		t.Fatal(teamsSchemaOnce.err)
	}
	return teamsSchemaOnce.s
}

func chatSubscriptionOf(t *testing.T, st *store.Store, platform string) store.ChatSubscription {
	t.Helper()
	list, err := st.ListChatSubscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Platform == platform {
			return c
		}
	}
	t.Fatalf("no %s chat subscription in %+v", platform, list)
	return store.ChatSubscription{}
}

// A chat channel's whole subscription, for each platform: the form, the
// verification message in the platform's own format with a one-time link
// (a page with a button, so that a link unfurler confirms nothing), the
// confirmation, incidents posted with an unsubscribe link, the
// unsubscription; and a channel whose URL answers 404 twice is retired and
// shown so in the console, by its URL's origin only.
func TestChatSubscriptionEndToEnd(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	ts := newTestServer(t, withSubscriptions(), withChatSubscriptions(t, chat))
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Website", nil)
	ts.startChatDispatcher(t, chat)

	form, _ := ts.getPage(t, "/subscribe")
	if form.Find(`form[action="/subscribe/chat"] input[name=chat_url]`).Length() != 1 ||
		form.Find(`select[name=platform] option`).Length() != 1+len(store.ChatPlatforms) {
		t.Fatal("the subscribe page offers no chat form with a platform choice")
	}

	// Slack is recognised from its URL; the others are chosen explicitly
	// as well. Slack's channel follows the API only.
	for _, p := range store.ChatPlatforms {
		v := url.Values{"chat_url": {chat.url(p)}}
		if p != store.FormatSlack {
			v.Set("platform", p)
		} else {
			v.Set("components", api.ID)
		}
		doc, status := ts.form(t, "/subscribe/chat", v)
		if status != http.StatusOK || !strings.Contains(text(doc.Find(".notice")), "Check the channel") {
			t.Fatalf("%s sign-up: %d %q", p, status, text(doc.Find("main")))
		}
	}
	ts.drainOutbox(t)

	confirm := map[string]string{}
	for _, p := range store.ChatPlatforms {
		msgs := chat.messages(t, p)
		if len(msgs) != 1 {
			t.Fatalf("%s channel got %d messages, want the verification", p, len(msgs))
		}
		checkChatShape(t, p, msgs[0])
		confirm[p] = chatLink(t, p, msgs[0], notify.ChatConfirmPath)
		if c := chatSubscriptionOf(t, ts.store, p); c.Status != store.ChatPending {
			t.Fatalf("%s is %s before confirming", p, c.Status)
		}
	}

	// Opening the link shows a button and confirms nothing.
	doc, status := ts.getPage(t, confirm[store.FormatSlack])
	if status != http.StatusOK || doc.Find(`form[method=post] button`).Length() != 1 || !strings.Contains(text(doc.Find("main")), "Slack (https://127.0.0.1") {
		t.Fatalf("confirm page: %d %q", status, text(doc.Find("main")))
	}
	if strings.Contains(doc.Text(), "XXXXXXXXXXXXXXXX") {
		t.Error("the confirm page shows the webhook URL's secret path")
	}
	if c := chatSubscriptionOf(t, ts.store, store.FormatSlack); c.Status != store.ChatPending {
		t.Fatalf("opening the link made it %s", c.Status)
	}
	for _, p := range store.ChatPlatforms {
		doc, status := ts.form(t, confirm[p], nil)
		if status != http.StatusOK || !strings.Contains(text(doc.Find("h1")), "subscribed") {
			t.Fatalf("%s confirm: %d %q", p, status, text(doc.Find("main")))
		}
	}
	// The link works once.
	doc, status = ts.form(t, confirm[store.FormatDiscord], nil)
	if status != http.StatusConflict || !strings.Contains(text(doc.Find("h1")), "confirmed already") {
		t.Fatalf("reused confirmation: %d %q", status, text(doc.Find("main")))
	}

	inc := ts.createIncident(t, map[string]any{"name": "API errors", "status": "investigating", "impact": "major",
		"body": "We are looking into it.", "components": map[string]string{api.ID: "major_outage"}})
	ts.drainOutbox(t)
	unsubscribe := map[string]string{}
	for _, p := range store.ChatPlatforms {
		msgs := chat.messages(t, p)
		if len(msgs) != 2 {
			t.Fatalf("%s channel got %d messages, want the verification and the incident", p, len(msgs))
		}
		raw, _ := json.Marshal(msgs[1])
		if !strings.Contains(string(raw), "API errors") || !strings.Contains(string(raw), "/incidents/"+inc.ID) {
			t.Errorf("%s incident message: %s", p, raw)
		}
		checkChatShape(t, p, msgs[1])
		unsubscribe[p] = chatLink(t, p, msgs[1], notify.ChatUnsubscribePath)
	}

	// Slack's channel unsubscribes: a page with a button, then the POST.
	doc, status = ts.getPage(t, unsubscribe[store.FormatSlack])
	if status != http.StatusOK || doc.Find(`form[method=post] button`).Length() != 1 {
		t.Fatalf("unsubscribe page: %d %q", status, text(doc.Find("main")))
	}
	if c := chatSubscriptionOf(t, ts.store, store.FormatSlack); c.Status != store.WebhookActive {
		t.Fatalf("opening the unsubscribe link made it %s", c.Status)
	}
	doc, status = ts.form(t, unsubscribe[store.FormatSlack], nil)
	if status != http.StatusOK || !strings.Contains(text(doc.Find("h1")), "unsubscribed") {
		t.Fatalf("unsubscribe: %d %q", status, text(doc.Find("main")))
	}

	// Discord's webhook is deleted: it answers 404, and on the second
	// message Herald retires it.
	chat.setAnswer(store.FormatDiscord, http.StatusNotFound)
	for i := range 2 {
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": fmt.Sprintf("Update %d.", i)}, nil)
		ts.drainOutbox(t)
	}
	if n := len(chat.messages(t, store.FormatSlack)); n != 2 {
		t.Errorf("the unsubscribed Slack channel got %d messages, want the 2 from before", n)
	}
	for _, p := range []string{store.FormatTeams, store.FormatGoogleChat} {
		if n := len(chat.messages(t, p)); n != 4 {
			t.Errorf("%s got %d messages, want 4", p, n)
		}
	}
	if n := len(chat.messages(t, store.FormatDiscord)); n != 4 {
		t.Errorf("discord was posted %d times, want 4 (two of them answered 404)", n)
	}
	if c := chatSubscriptionOf(t, ts.store, store.FormatDiscord); c.Status != store.ChatRetired || !strings.Contains(c.RetiredReason, "404") {
		t.Fatalf("discord after two 404s: %s %q", c.Status, c.RetiredReason)
	}
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "monitoring", "body": "Fixed."}, nil)
	ts.drainOutbox(t)
	if n := len(chat.messages(t, store.FormatDiscord)); n != 4 {
		t.Errorf("the retired Discord channel was posted again: %d", n)
	}

	// The console lists the channels: platform, origin, status and why.
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	page := admin.get("/console/subscribers")
	rows := page.Doc.Find(`section[aria-labelledby=chat-subs-heading] tbody tr`)
	if rows.Length() != 4 {
		t.Fatalf("console lists %d chat channels, want 4:\n%s", rows.Length(), text(page.Doc.Find("main")))
	}
	want := map[string]string{"Slack": "Unsubscribed", "Discord": "Retired", "Microsoft Teams": "Active", "Google Chat": "Active"}
	rows.Each(func(_ int, r *goquery.Selection) {
		name := text(r.Find("td").First())
		if !strings.Contains(text(r), want[name]) || !strings.Contains(text(r), chat.URL) {
			t.Errorf("console row %q, want status %s and origin %s", text(r), want[name], chat.URL)
		}
		if name == "Discord" && !strings.Contains(text(r), "404") {
			t.Errorf("retired row says not why: %q", text(r))
		}
		if name == "Slack" && !strings.Contains(text(r), "API") {
			t.Errorf("slack row does not name its component: %q", text(r))
		}
	})
	for _, secret := range []string{"XXXXXXXXXXXXXXXX", "secret-token", "the-token", "the-signature", "/workflows/"} {
		if strings.Contains(page.Body, secret) {
			t.Errorf("the console shows a webhook URL's secret part %q", secret)
		}
	}

	// An admin removes the retired one.
	gone := chatSubscriptionOf(t, ts.store, store.FormatDiscord)
	if res := admin.post("/console/chat-subscriptions/"+gone.ID+"/delete", nil); res.Status >= 400 {
		t.Fatalf("remove: %d", res.Status)
	}
	if list, _ := ts.store.ListChatSubscriptions(t.Context()); len(list) != 3 {
		t.Fatalf("%d chat subscriptions after removing one", len(list))
	}
}

// signUpChat posts the chat form as a browser does.
func (ts *testServer) signUpChat(t *testing.T, rawURL, platform string) (*goquery.Document, int) {
	t.Helper()
	return ts.form(t, "/subscribe/chat", url.Values{"chat_url": {rawURL}, "platform": {platform}})
}

func chatSubscriptionCount(t *testing.T, st *store.Store) int {
	t.Helper()
	list, err := st.ListChatSubscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// Each kind of bad sign-up is refused with a message that says what is
// wrong, keeps what the visitor typed, stores nothing and posts nothing.
func TestChatSubscriptionBadInput(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	internal := "10.1.2.3" // taken for a platform's host, so that only the SSRF guard stands in the way
	ts := newTestServer(t, withChatSubscriptions(t, chat), func(s *testSetup) {
		s.cfg.ChatHosts = append(s.cfg.ChatHosts, internal)
		s.cfg.SubscribeLimit = 100
	})
	ts.startChatDispatcher(t, chat)
	tests := []struct {
		name, url, platform string
		want                string
	}{
		{"an internal address", "https://" + internal + chatPaths[store.FormatSlack], "", "Herald may not post to that address"},
		{"another platform's URL", chat.url(store.FormatDiscord), store.FormatSlack, "is a Discord webhook URL, not a Slack one"},
		{"not a webhook of the chosen platform", chat.URL + "/hooks/abc", store.FormatTeams, "is not a Microsoft Teams incoming webhook URL"},
		{"not a webhook at all", "https://example.com/some/page", "", "is not an incoming webhook URL of Slack, Microsoft Teams (Workflows), Discord or Google Chat"},
		{"not https", strings.Replace(chat.url(store.FormatSlack), "https://", "http://", 1), "", "must start with https://"},
		{"an unknown platform", chat.url(store.FormatSlack), "irc", "unknown chat platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, status := ts.signUpChat(t, tt.url, tt.platform)
			if status != http.StatusUnprocessableEntity || !strings.Contains(text(doc.Find("#chat-error")), tt.want) {
				t.Fatalf("%d %q, want 422 and %q", status, text(doc.Find("#chat-error")), tt.want)
			}
			if v, _ := doc.Find("#chat-url").Attr("value"); v != tt.url {
				t.Errorf("the form lost the URL typed: %q", v)
			}
			if doc.Find(`#chat-url[aria-invalid=true]`).Length() != 1 {
				t.Error("the URL field is not marked invalid")
			}
		})
	}
	ts.drainOutbox(t)
	if n := chatSubscriptionCount(t, ts.store); n != 0 {
		t.Errorf("%d chat subscriptions stored from bad input", n)
	}
	chat.mu.Lock()
	if len(chat.got) != 0 {
		t.Errorf("bad input posted to %v", chat.got)
	}
	chat.mu.Unlock()
}

// The links: a forged or cut confirmation or unsubscribe link is not
// valid, an expired one has expired, a used one is used; none changes
// anything.
func TestChatSubscriptionBadLinks(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	ts := newTestServer(t, withChatSubscriptions(t, chat))
	ts.startChatDispatcher(t, chat)
	start := time.Now().UTC()
	ts.at(t, start)
	ts.signUpChat(t, chat.url(store.FormatSlack), "")
	ts.drainOutbox(t)
	confirm := chatLink(t, store.FormatSlack, chat.messages(t, store.FormatSlack)[0], notify.ChatConfirmPath)
	forged := confirm[:len(confirm)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(confirm, "A")]
	unsubForged := notify.ChatUnsubscribePath + strings.TrimPrefix(confirm, notify.ChatConfirmPath)

	for _, bad := range []struct {
		name, path string
		status     int
		h1         string
	}{
		{"a forged confirmation link", forged, http.StatusNotFound, "not valid"},
		{"a cut confirmation link", confirm[:len(confirm)-6], http.StatusNotFound, "not valid"},
		{"a confirmation link for an unsubscribe link", unsubForged, http.StatusNotFound, "not valid"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				var doc *goquery.Document
				var status int
				if method == "GET" {
					doc, status = ts.getPage(t, bad.path)
				} else {
					doc, status = ts.form(t, bad.path, nil)
				}
				if status != bad.status || !strings.Contains(text(doc.Find("h1")), bad.h1) {
					t.Errorf("%s: %d %q", method, status, text(doc.Find("h1")))
				}
			}
			if c := chatSubscriptionOf(t, ts.store, store.FormatSlack); c.Status != store.ChatPending {
				t.Errorf("now %s", c.Status)
			}
		})
	}

	// A week and a day later the link has expired, and confirms nothing.
	ts.at(t, start.Add(store.ConfirmLinkLifetime+24*time.Hour))
	if doc, status := ts.form(t, confirm, nil); status != http.StatusGone || !strings.Contains(text(doc.Find("h1")), "expired") {
		t.Fatalf("expired link: %d %q", status, text(doc.Find("h1")))
	}
	if c := chatSubscriptionOf(t, ts.store, store.FormatSlack); c.Status != store.ChatPending {
		t.Fatalf("an expired link made it %s", c.Status)
	}
}

// One subscription per URL: signing the same URL up again gets the same
// answer and posts nothing more within the hour; after it, the
// verification again (with the link already posted still working).
func TestChatSubscriptionOncePerURL(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	ts := newTestServer(t, withChatSubscriptions(t, chat))
	ts.startChatDispatcher(t, chat)
	start := time.Now().UTC()
	ts.at(t, start)
	for range 3 {
		if doc, status := ts.signUpChat(t, chat.url(store.FormatTeams), ""); status != http.StatusOK || !strings.Contains(text(doc.Find(".notice")), "Check the channel") {
			t.Fatalf("sign-up: %d", status)
		}
	}
	ts.drainOutbox(t)
	if n := len(chat.messages(t, store.FormatTeams)); n != 1 || chatSubscriptionCount(t, ts.store) != 1 {
		t.Fatalf("three sign-ups within the hour posted %d messages and stored %d subscriptions", n, chatSubscriptionCount(t, ts.store))
	}
	ts.at(t, start.Add(store.MailInterval+time.Minute))
	ts.signUpChat(t, chat.url(store.FormatTeams), "")
	ts.drainOutbox(t)
	msgs := chat.messages(t, store.FormatTeams)
	if len(msgs) != 2 {
		t.Fatalf("a sign-up after the hour posted %d messages in all, want 2", len(msgs))
	}
	if doc, status := ts.form(t, chatLink(t, store.FormatTeams, msgs[0], notify.ChatConfirmPath), nil); status != http.StatusOK {
		t.Fatalf("the first link no longer confirms: %d %q", status, text(doc.Find("main")))
	}
	// Active: a sign-up again posts nothing.
	ts.at(t, start.Add(3*store.MailInterval))
	ts.signUpChat(t, chat.url(store.FormatTeams), "")
	ts.drainOutbox(t)
	if n := len(chat.messages(t, store.FormatTeams)); n != 2 {
		t.Errorf("a sign-up of an active channel posted again: %d", n)
	}
}

// Sign-ups from one address, by email and chat together, stop at the
// limit with a message saying so, and store nothing.
func TestChatSubscriptionRateLimit(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	ts := newTestServer(t, withSubscriptions(), withChatSubscriptions(t, chat), func(s *testSetup) { s.cfg.SubscribeLimit = 2 })
	ts.form(t, "/subscribe", url.Values{"email": {"a@example.com"}})
	ts.signUpChat(t, chat.url(store.FormatSlack), "")
	resp, err := http.PostForm(ts.URL+"/subscribe/chat", url.Values{"chat_url": {chat.url(store.FormatDiscord)}})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseBody(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(text(doc.Find("#chat-error")), "Too many attempts") {
		t.Fatalf("third sign-up: %d %q", resp.StatusCode, text(doc.Find("#chat-error")))
	}
	if n := chatSubscriptionCount(t, ts.store); n != 1 {
		t.Errorf("%d chat subscriptions, want only the one before the limit", n)
	}
}

// A public page's own form subscribes a channel to that page: its
// verification links back to the page, confirming there works, and the
// channel is told of the page's news as the page names it.
func TestChatSubscriptionOnAPage(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	ts := newTestServer(t, withSubscriptions(), withChatSubscriptions(t, chat))
	api := ts.createComponent(t, "API", nil)
	ledger := ts.createComponent(t, "Ledger", map[string]any{"internal": true})
	var acme store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "acme", "name": "Acme Corp", "components": []string{api.ID}}, &acme)
	ts.startChatDispatcher(t, chat)
	ts.waitFresh(t)
	form, _ := ts.getPage(t, "/p/acme/subscribe")
	if form.Find(`form[action="/p/acme/subscribe/chat"] input[name=chat_url]`).Length() != 1 {
		t.Fatal("the page's subscribe form offers no chat form of its own")
	}
	if doc, status := ts.form(t, "/p/acme/subscribe/chat", url.Values{"chat_url": {chat.url(store.FormatSlack)}}); status != http.StatusOK {
		t.Fatalf("sign-up: %d %q", status, text(doc.Find("main")))
	}
	ts.drainOutbox(t)
	msgs := chat.messages(t, store.FormatSlack)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the verification", len(msgs))
	}
	link := chatLink(t, store.FormatSlack, msgs[0], "/p/acme"+notify.ChatConfirmPath)
	if _, status := ts.form(t, link, nil); status != http.StatusOK {
		t.Fatalf("confirming at %s: %d", link, status)
	}
	ts.createIncident(t, map[string]any{"name": "Slow API", "body": "Slow.", "components": map[string]string{api.ID: "degraded_performance", ledger.ID: "major_outage"}})
	ts.drainOutbox(t)
	msgs = chat.messages(t, store.FormatSlack)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the verification and the incident", len(msgs))
	}
	body, _ := json.Marshal(msgs[1])
	if !strings.Contains(string(body), "Acme Corp") || !strings.Contains(string(body), "/p/acme/incidents/") || strings.Contains(string(body), "Ledger") {
		t.Errorf("the channel's message is not the page's, or names what it does not show: %s", body)
	}
}
