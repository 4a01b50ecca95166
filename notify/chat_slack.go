package notify

import (
	"encoding/json"
	"strings"
)

// Slack's documented Block Kit limits.
const (
	slackHeaderMax  = 150  // a header block's plain_text
	slackSectionMax = 3000 // a section's text
	slackFieldMax   = 2000 // each of a section's fields
	slackFields     = 10   // fields per section
	slackBlocksMax  = 50   // blocks per message
	// slackTextMax bounds the fallback text. Slack truncates a message's
	// text past 40,000 characters; Mattermost and Discord's /slack show
	// it as the message, where a screenful is plenty.
	slackTextMax = 4000
)

// slackMrkdwn is Slack's mrkdwn. Slack documents only &, < and > as needing
// escapes (there is no escape for * _ ~ `, which only format at word edges).
var slackMrkdwn = &chatMarkup{
	escape: strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace,
	strong: both("*"), em: both("_"), strike: both("~"), code: both("`"),
	link: func(url, text string) string {
		// A | or > would end Slack's <url|text> early.
		url = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(url)
		return "<" + url + "|" + text + ">"
	},
	codeBlock: func(code string) string {
		return "```\n" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(code) + "\n```"
	},
	heading: func(t string) string { return "*" + t + "*" },
	newline: "\n", bullet: "• ", quote: "> ",
}

type (
	slackText struct {
		Type  string `json:"type"`
		Text  string `json:"text"`
		Emoji bool   `json:"emoji,omitempty"`
	}
	slackBlock struct {
		Type     string      `json:"type"`
		Text     *slackText  `json:"text,omitempty"`
		Fields   []slackText `json:"fields,omitempty"`
		Elements []slackText `json:"elements,omitempty"`
	}
	slackMessage struct {
		Text   string       `json:"text"`
		Blocks []slackBlock `json:"blocks"`
	}
)

// slackBody is a Block Kit message: a header, what changed with its facts,
// the update, and a context line with the link. "text" says the same in
// one piece for notifications, and for Mattermost and Discord's /slack
// endpoint, which read it and ignore the blocks.
func slackBody(m chatMessage) ([]byte, error) {
	mk := slackMrkdwn
	esc := mk.escape
	link := linkLine(mk, m)
	more := readMore(mk, m.Link)
	body := mk.blocks(m.Body)

	head := "[" + m.Page + "] " + m.Title
	if m.Status != "" {
		head += " — " + m.Status
	}
	text := "*" + escCut(esc, head, 300) + "*"
	if m.Intro != "" {
		text += "\n" + esc(m.Intro)
	}
	text += "\n" + fitBlocks(body, "\n\n", "\n", slackTextMax-chatLen(text)-chatLen(link)-4, more)
	text = strings.TrimRight(text, "\n") + "\n" + link

	msg := slackMessage{Text: text}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "header", Text: &slackText{Type: "plain_text", Text: cutText(m.Title, slackHeaderMax), Emoji: true}})
	facts := slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: escCut(esc, orDefault(orDefault(m.Intro, m.Status), m.Title), slackSectionMax)}}
	for i, f := range m.Facts {
		if i == slackFields {
			break
		}
		facts.Fields = append(facts.Fields, slackText{Type: "mrkdwn", Text: "*" + esc(f.Name) + "*\n" + escCut(esc, f.Value, slackFieldMax-chatLen(esc(f.Name))-3)})
	}
	msg.Blocks = append(msg.Blocks, facts)
	if len(body) > 0 {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: fitBlocks(body, "\n\n", "\n", slackSectionMax, more)}})
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: link + " · " + escCut(esc, m.Page, 200)}}})
	return json.Marshal(msg)
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
