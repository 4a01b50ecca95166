package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/herald-status/herald/store"
)

// chatJob is an incident.created job as the store queues it.
func chatJob(name, body string, comps int) store.Job {
	at := time.Date(2026, 3, 4, 10, 5, 0, 0, time.UTC)
	var cs []store.Component
	for i := range comps {
		cs = append(cs, store.Component{ID: fmt.Sprintf("c%d", i), Name: fmt.Sprintf("Service %d", i), Status: store.MajorOutage})
	}
	inc := store.Incident{ID: "inc1", Name: name, Status: store.Investigating, Impact: store.ImpactMajor, CreatedAt: at, StartedAt: at,
		Updates: []store.IncidentUpdate{{ID: "u1", IncidentID: "inc1", Status: store.Investigating, Body: body, CreatedAt: at}}}
	return store.Job{ID: 7, Kind: store.JobIncidentCreated, CreatedAt: at, Payload: store.JobPayload{Incident: &inc, Components: cs,
		Page: store.PageStatus{Worst: store.MajorOutage, Indicator: store.ImpactCritical}}}
}

func chatBodies(t *testing.T, job store.Job) map[string]map[string]any {
	t.Helper()
	d := &Dispatcher{cfg: Config{BaseURL: "https://status.example.com", PageName: "Acme & Co"}}
	b, err := d.encodeWebhookBodies(job)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, f := range store.WebhookFormats {
		var v map[string]any
		if err := json.Unmarshal(b.of(f), &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = v
	}
	return out
}

// get walks a decoded JSON value by keys and indexes.
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

// Every chat is told what changed in its own markup: the title, status,
// impact and components, the update's Markdown in the chat's markup with
// what the markup treats specially escaped, and a link to the incident.
func TestChatFormatsSayWhatChanged(t *testing.T) {
	t.Parallel()
	body := "We see **errors** on checkout a<b & c>d 1*2_3.\n\n- first _item_\n- see [the docs](https://docs.example.com/a)"
	all := chatBodies(t, chatJob("Checkout <down>", body, 2))
	link := "https://status.example.com/incidents/inc1"
	tests := []struct {
		format string
		text   string // every piece of text the chat shows, joined
		want   []string
		not    []string
	}{
		{store.FormatSlack, fmt.Sprint(all["slack"]["blocks"]),
			[]string{"Checkout <down>", "We are reporting a new incident.", "*Impact*\nMajor", "Service 0: Major Outage", "*errors*", "a&lt;b &amp; c&gt;d", "• first _item_\n• see <https://docs.example.com/a|the docs>", "<" + link + "|View on the status page>", "Acme &amp; Co"},
			[]string{"a<b", "**errors**"}},
		{store.FormatTeams, fmt.Sprint(get(all["teams"], "attachments", 0, "content")),
			[]string{"Checkout <down>", "We are reporting a new incident.", "title:Impact value:Major", "Service 1: Major Outage", "**errors**", `1\*2\_3`, "- first _item_", "[the docs](https://docs.example.com/a)", "url:" + link},
			nil},
		{store.FormatDiscord, fmt.Sprint(get(all["discord"], "embeds", 0)),
			[]string{"title:Checkout <down>", "url:" + link, "**We are reporting a new incident.**", "name:Impact value:Major", "**errors**", `a\<b & c\>d`, `1\*2\_3`, "- first *item*", "[the docs](https://docs.example.com/a)", "color:" + fmt.Sprint(float64(toneMajor.rgb()))},
			nil},
		{store.FormatGoogleChat, fmt.Sprint(get(all["googlechat"], "cardsV2", 0, "card")),
			[]string{"title:Checkout <down>", "Acme & Co · Investigating", "<b>We are reporting a new incident.</b>", "topLabel:Impact", "<b>errors</b>", "a&lt;b &amp; c&gt;d", `• first <i>item</i><br>• see <a href="https://docs.example.com/a">the docs</a>`, "url:" + link},
			[]string{"a<b"}},
		{store.FormatMattermost, fmt.Sprint(get(all["mattermost"], "attachments", 0)),
			[]string{"title:Checkout <down>", "title_link:" + link, "**We are reporting a new incident.**", "title:Impact value:Major", "**errors**", `a\<b & c\>d`, "- first _item_", "[the docs](https://docs.example.com/a)", "color:" + toneMajor.hex()},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.text, w) {
					t.Errorf("missing %q in\n%s", w, tt.text)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(tt.text, n) {
					t.Errorf("unexpected %q in\n%s", n, tt.text)
				}
			}
		})
	}
	// Slack's fallback text, which Mattermost and Discord's /slack show,
	// says it all in one piece.
	text := str(all["slack"], "text")
	for _, w := range []string{"*[Acme &amp; Co] Checkout &lt;down&gt; — Investigating*", "We are reporting a new incident.", "*errors*", "<" + link + "|View on the status page>"} {
		if !strings.Contains(text, w) {
			t.Errorf("slack text misses %q:\n%s", w, text)
		}
	}
	// A mention in an update pings nobody on Discord.
	if p, ok := get(all["discord"], "allowed_mentions", "parse").([]any); !ok || len(p) != 0 {
		t.Errorf("discord allowed_mentions: %v", all["discord"]["allowed_mentions"])
	}
}

// A long message is cut cleanly and ends with "Read more" linking to the
// incident; every platform's documented limits hold.
func TestChatFormatsStayWithinLimits(t *testing.T) {
	t.Parallel()
	var long strings.Builder
	for i := range 400 {
		fmt.Fprintf(&long, "Paragraph %d with **bold** words, a [link](https://example.com/%d) and ünïcödé 🚧 text.\n\n", i, i)
	}
	title := strings.Repeat("Very long incident name ", 20)
	all := chatBodies(t, chatJob(title, long.String(), 40))
	link := "https://status.example.com/incidents/inc1"
	n := chatLen

	t.Run("slack", func(t *testing.T) {
		m := all["slack"]
		blocks, _ := m["blocks"].([]any)
		if len(blocks) > slackBlocksMax {
			t.Errorf("%d blocks", len(blocks))
		}
		for i, b := range blocks {
			switch str(b, "type") {
			case "header":
				if l := n(str(b, "text", "text")); l > slackHeaderMax {
					t.Errorf("header %d chars", l)
				}
			case "section":
				if l := n(str(b, "text", "text")); l > slackSectionMax || l == 0 {
					t.Errorf("section %d: %d chars", i, l)
				}
				fields, _ := get(b, "fields").([]any)
				if len(fields) > slackFields {
					t.Errorf("%d fields", len(fields))
				}
				for _, f := range fields {
					if l := n(str(f, "text")); l > slackFieldMax {
						t.Errorf("field %d chars", l)
					}
				}
			}
		}
		body := str(blocks[2], "text", "text")
		if !strings.HasSuffix(body, "<"+link+"|Read more>") || strings.Count(body, "Paragraph") < 10 {
			t.Errorf("cut body ends %q", body[max(0, len(body)-200):])
		}
		if l := n(str(m, "text")); l > slackTextMax {
			t.Errorf("text %d chars", l)
		}
	})
	t.Run("teams", func(t *testing.T) {
		raw, _ := json.Marshal(all["teams"])
		if len(raw) > teamsMaxBytes {
			t.Errorf("teams payload %d bytes", len(raw))
		}
		body, _ := get(all["teams"], "attachments", 0, "content", "body").([]any)
		last := str(body[len(body)-1], "text")
		if last != "[Read more]("+link+")" {
			t.Errorf("last block %q", last)
		}
	})
	t.Run("discord", func(t *testing.T) {
		e := get(all["discord"], "embeds", 0)
		total := n(str(e, "title")) + n(str(e, "description")) + n(str(e, "footer", "text"))
		if l := n(str(e, "title")); l > discordTitleMax {
			t.Errorf("title %d", l)
		}
		if l := n(str(e, "description")); l > discordDescriptionMax {
			t.Errorf("description %d", l)
		}
		fields, _ := get(e, "fields").([]any)
		if len(fields) > discordFieldsMax {
			t.Errorf("%d fields", len(fields))
		}
		for _, f := range fields {
			total += n(str(f, "name")) + n(str(f, "value"))
			if l := n(str(f, "value")); l > discordFieldValueMax {
				t.Errorf("field value %d", l)
			}
		}
		if total > discordEmbedTotalMax {
			t.Errorf("embed total %d", total)
		}
		if d := str(e, "description"); !strings.Contains(d, "[Read more]("+link+")") || !strings.Contains(d, "and 30 more") && !strings.Contains(fmt.Sprint(fields), "and 30 more") {
			t.Errorf("description/fields: %q %v", d[max(0, len(d)-300):], fields)
		}
	})
	t.Run("googlechat", func(t *testing.T) {
		raw, _ := json.Marshal(all["googlechat"])
		if len(raw) > 32000 {
			t.Errorf("google chat message %d bytes", len(raw))
		}
		widgets, _ := get(all["googlechat"], "cardsV2", 0, "card", "sections", 0, "widgets").([]any)
		if len(widgets) > googleChatWidgets {
			t.Errorf("%d widgets", len(widgets))
		}
		body := str(widgets[len(widgets)-2], "textParagraph", "text")
		if !strings.HasSuffix(body, `<a href="`+link+`">Read more</a>`) {
			t.Errorf("body ends %q", body[max(0, len(body)-200):])
		}
	})
	t.Run("mattermost", func(t *testing.T) {
		text := str(get(all["mattermost"], "attachments", 0), "text")
		if l := n(text); l > mattermostTextMax {
			t.Errorf("text %d", l)
		}
		if !strings.Contains(text, "[Read more]("+link+")") {
			t.Errorf("text ends %q", text[max(0, len(text)-200):])
		}
	})
}

// The Teams card checked against the Adaptive Card schema's definitions
// for the elements Herald uses (testdata/teams-message.schema.json), for
// every kind of message Herald sends.
func TestTeamsCardMatchesSchema(t *testing.T) {
	t.Parallel()
	schema := compileTeamsSchema(t)
	d := &Dispatcher{cfg: Config{BaseURL: "https://status.example.com", PageName: "Acme"}}
	at := time.Date(2026, 3, 4, 10, 5, 0, 0, time.UTC)
	mt := store.Maintenance{ID: "m1", Name: "DB upgrade", Status: store.MaintenanceScheduled, ScheduledFor: at, ScheduledUntil: at.Add(2 * time.Hour)}
	comp := store.Component{ID: "c1", Name: "API", Status: store.PartialOutage}
	jobs := map[string]store.Job{
		"incident":    chatJob("Checkout", "Investigating **now**.", 3),
		"empty body":  chatJob("Checkout", "", 0),
		"long":        chatJob("Checkout", strings.Repeat("word ", 20000), 0),
		"maintenance": {ID: 2, Kind: store.JobMaintenanceScheduled, CreatedAt: at, Payload: store.JobPayload{Maintenance: &mt}},
		"component":   {ID: 3, Kind: store.JobComponentUpdated, CreatedAt: at, Payload: store.JobPayload{Component: &comp, OldStatus: store.Operational}},
	}
	for name, job := range jobs {
		t.Run(name, func(t *testing.T) {
			b, err := d.encodeWebhookBodies(job)
			if err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.of(store.FormatTeams)))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(v); err != nil {
				t.Errorf("%v\n%s", err, b.of(store.FormatTeams))
			}
		})
	}
	// The schema does catch a card that breaks it.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","txt":"x"}]}}]}`))
	if schema.Validate(bad) == nil {
		t.Error("a TextBlock without text passed the schema")
	}
}
