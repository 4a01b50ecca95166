package notify

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// A visitor's channel gets the verification, and every later message with
// its unsubscribe link, in its platform's own link markup, within the
// limits the operator's messages keep (TestChatFormatsStayWithinLimits),
// even for the longest update; the Teams card still meets its schema.
func TestChatSubscriptionBodies(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{cfg: Config{BaseURL: "https://status.example.com", PageName: "Acme"}}
	long := chatJob(strings.Repeat("Very long incident name ", 20), strings.Repeat("Paragraph with **bold** and a [link](https://example.com).\n\n", 400), 40)
	confirm := store.Job{ID: 9, Kind: store.JobChatConfirm}
	unsub := "https://status.example.com" + ChatUnsubscribePath + "abcdefghijkl.token"
	confirmURL := "https://status.example.com" + ChatConfirmPath + "abcdefghijkl.ctoken"
	links := map[string]struct{ confirm, unsub string }{
		store.FormatSlack:      {"<" + confirmURL + "|Confirm the subscription>", "<" + unsub + "|" + unsubscribeText + ">"},
		store.FormatDiscord:    {"[Confirm the subscription](" + confirmURL + ")", "[" + unsubscribeText + "](" + unsub + ")"},
		store.FormatGoogleChat: {`"url":"` + confirmURL + `"`, `"text":"` + unsubscribeText + `","onClick":{"openLink":{"url":"` + unsub + `"}}`},
		store.FormatTeams:      {`"url":"` + confirmURL + `"`, `"title":"` + unsubscribeText + `","url":"` + unsub + `"`},
	}
	schema := compileTeamsSchema(t)
	for _, p := range store.ChatPlatforms {
		t.Run(p, func(t *testing.T) {
			w := &store.WebhookTarget{Webhook: store.Webhook{ID: "abcdefghijkl", Format: p}, Origin: store.OriginVisitor,
				ManageToken: "abcdefghijkl.token", ConfirmToken: "abcdefghijkl.ctoken"}
			for _, c := range []struct {
				job  store.Job
				want string
			}{{confirm, links[p].confirm}, {long, links[p].unsub}} {
				b, err := d.encodeChatSubscriptionBody(c.job, w, templates.Site{Name: d.cfg.PageName, BaseURL: d.cfg.BaseURL})
				if err != nil {
					t.Fatal(err)
				}
				var compact bytes.Buffer
				json.Compact(&compact, b)
				// The JSON encoder escapes & < > in strings; compare as decoded.
				text := strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(compact.String())
				if !strings.Contains(text, c.want) {
					t.Errorf("%s: missing %s in\n%.2000s", c.job.Kind, c.want, text)
				}
				var v map[string]any
				json.Unmarshal(b, &v)
				switch p {
				case store.FormatSlack:
					if n := chatLen(str(v, "text")); n > slackTextMax {
						t.Errorf("text %d", n)
					}
					blocks, _ := v["blocks"].([]any)
					for _, bl := range blocks {
						if n := chatLen(str(bl, "text", "text")); n > slackSectionMax {
							t.Errorf("section %d", n)
						}
					}
				case store.FormatDiscord:
					if n := chatLen(str(get(v, "embeds", 0), "description")); n > discordDescriptionMax {
						t.Errorf("description %d", n)
					}
				case store.FormatGoogleChat:
					if len(b) > googleChatMaxBytes {
						t.Errorf("%d bytes", len(b))
					}
				case store.FormatTeams:
					if len(b) > teamsMaxBytes {
						t.Errorf("%d bytes", len(b))
					}
					doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
					if err := schema.Validate(doc); err != nil {
						t.Errorf("schema: %v", err)
					}
				}
			}
		})
	}
}

// compileTeamsSchema is the Adaptive Card schema's definitions for the
// elements Herald uses (testdata/teams-message.schema.json).
func compileTeamsSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.ReadFile("testdata/teams-message.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("teams.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("teams.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
