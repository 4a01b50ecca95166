package notify

import (
	"encoding/json"
	"strings"
	"time"
)

// Discord's documented embed limits.
const (
	discordTitleMax       = 256
	discordDescriptionMax = 4096
	discordFieldNameMax   = 256
	discordFieldValueMax  = 1024
	discordFieldsMax      = 25
	discordFooterMax      = 2048
	discordEmbedTotalMax  = 6000 // title, description, fields, footer and author together
)

// discordMarkdown is Discord's Markdown; a backslash escapes the characters
// it would read as markup (and "<", which starts a mention).
var discordMarkdown = backslashMarkdown("\\*_~`|>#[]()<", both("*"), both("~~"))

type (
	discordMessage struct {
		Embeds          []discordEmbed  `json:"embeds"`
		AllowedMentions discordMentions `json:"allowed_mentions"`
	}
	// discordMentions is empty: a status message pings nobody, whatever
	// its text says.
	discordMentions struct {
		Parse []string `json:"parse"`
	}
	discordEmbed struct {
		Title       string         `json:"title"`
		URL         string         `json:"url,omitempty"`
		Description string         `json:"description,omitempty"`
		Color       int            `json:"color"`
		Fields      []discordField `json:"fields,omitempty"`
		Footer      *discordFooter `json:"footer,omitempty"`
		Timestamp   string         `json:"timestamp,omitempty"`
	}
	discordField struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	}
	discordFooter struct {
		Text string `json:"text"`
	}
)

// discordBody is one embed coloured by the tone: the title linking to the
// page, what changed and the update in the description, the facts as
// inline fields, the page in the footer.
func discordBody(m chatMessage) ([]byte, error) {
	mk := discordMarkdown
	esc := mk.escape
	e := discordEmbed{Title: cutText(m.Title, discordTitleMax), URL: m.Link, Color: m.Tone.rgb(), Footer: &discordFooter{Text: cutText(m.Page, discordFooterMax)}}
	if !m.At.IsZero() {
		e.Timestamp = m.At.UTC().Format(time.RFC3339)
	}
	for i, f := range m.Facts {
		if i == discordFieldsMax {
			break
		}
		e.Fields = append(e.Fields, discordField{Name: cutText(f.Name, discordFieldNameMax), Value: escCut(esc, f.Value, discordFieldValueMax), Inline: f.Name != "Components"})
	}
	used := chatLen(e.Title) + chatLen(e.Footer.Text)
	for _, f := range e.Fields {
		used += chatLen(f.Name) + chatLen(f.Value)
	}
	limit := min(discordDescriptionMax, discordEmbedTotalMax-used)
	intro := ""
	if m.Intro != "" {
		intro = "**" + escCut(esc, m.Intro, limit/2) + "**"
	}
	link := linkLine(mk, m)
	rest := limit - chatLen(intro) - chatLen(link) - 4
	body := fitBlocks(mk.blocks(m.Body), "\n\n", "\n", max(rest, 0), readMore(mk, m.Link))
	e.Description = strings.TrimSpace(strings.Join(nonEmpty(intro, body, link), "\n\n"))
	return json.Marshal(discordMessage{Embeds: []discordEmbed{e}, AllowedMentions: discordMentions{Parse: []string{}}})
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}
