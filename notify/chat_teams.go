package notify

import (
	"encoding/json"
	"strings"
)

// teamsMaxBytes keeps a Teams message under the documented ~28 KB a
// Workflows post takes, with room for the envelope Teams adds.
const teamsMaxBytes = 27 * 1024

// teamsMarkdown is the Markdown subset an Adaptive Card's TextBlock shows:
// bold, italic, lists and links. It has no code or strikethrough, and
// takes backslash escapes for the characters it would read as markup.
var teamsMarkdown = &chatMarkup{
	escape: strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "`", "\\`").Replace,
	strong: both("**"), em: both("_"),
	link: func(url, text string) string {
		return "[" + text + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(url) + ")"
	},
	heading: func(t string) string { return "**" + t + "**" },
	newline: "\n", bullet: "- ", quote: "│ ",
}

func init() {
	teamsMarkdown.codeBlock = teamsMarkdown.escape
}

type (
	teamsEnvelope struct {
		Type        string            `json:"type"`
		Attachments []teamsAttachment `json:"attachments"`
	}
	teamsAttachment struct {
		ContentType string    `json:"contentType"`
		Content     teamsCard `json:"content"`
	}
	teamsCard struct {
		Schema   string         `json:"$schema"`
		Type     string         `json:"type"`
		Version  string         `json:"version"`
		Body     []teamsElement `json:"body"`
		Actions  []teamsAction  `json:"actions,omitempty"`
		Fallback string         `json:"fallbackText,omitempty"`
	}
	// teamsElement is a TextBlock or a FactSet.
	teamsElement struct {
		Type     string      `json:"type"`
		Text     string      `json:"text,omitempty"`
		Wrap     bool        `json:"wrap,omitempty"`
		Size     string      `json:"size,omitempty"`
		Weight   string      `json:"weight,omitempty"`
		Color    string      `json:"color,omitempty"`
		IsSubtle bool        `json:"isSubtle,omitempty"`
		Spacing  string      `json:"spacing,omitempty"`
		Style    string      `json:"style,omitempty"`
		Facts    []teamsFact `json:"facts,omitempty"`
	}
	teamsFact struct {
		Title string `json:"title"`
		Value string `json:"value"`
	}
	teamsAction struct {
		Type  string `json:"type"`
		Title string `json:"title"`
		URL   string `json:"url"`
	}
)

// teamsColor is the tone in an Adaptive Card's named colours.
func teamsColor(t chatTone) string {
	switch t {
	case toneGood:
		return "Good"
	case toneMinor, toneMajor:
		return "Warning"
	case toneCritical:
		return "Attention"
	case toneMaintenance:
		return "Accent"
	}
	return "Default"
}

// teamsBody is a Teams Workflows message: the attachment envelope around
// an Adaptive Card 1.4, with the page, the title in the tone's colour, what
// changed, the facts, the update one TextBlock per paragraph, and a button
// to the page. A long update is cut so the whole stays under Teams' limit.
func teamsBody(m chatMessage) ([]byte, error) {
	mk := teamsMarkdown
	blocks := mk.blocks(m.Body)
	more := readMore(mk, m.Link)
	return fitBytes(teamsMaxBytes, func(budget int) ([]byte, error) { return json.Marshal(teamsMessage(m, mk, blocks, budget, more)) })
}

func teamsMessage(m chatMessage, mk *chatMarkup, blocks []chatBlock, budget int, more string) teamsEnvelope {
	esc := mk.escape
	card := teamsCard{
		Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		Fallback: cutText(m.Title+": "+m.Intro, 300),
	}
	card.Body = append(card.Body,
		teamsElement{Type: "TextBlock", Text: esc(m.Page), Size: "Small", IsSubtle: true, Wrap: true},
		teamsElement{Type: "TextBlock", Text: esc(m.Title), Size: "Large", Weight: "Bolder", Color: teamsColor(m.Tone), Wrap: true, Spacing: "None"},
	)
	if m.Intro != "" {
		card.Body = append(card.Body, teamsElement{Type: "TextBlock", Text: esc(m.Intro), Wrap: true})
	}
	if len(m.Facts) > 0 {
		set := teamsElement{Type: "FactSet"}
		for _, f := range m.Facts {
			set.Facts = append(set.Facts, teamsFact{Title: f.Name, Value: f.Value}) // FactSet values are plain text
		}
		card.Body = append(card.Body, set)
	}
	used := 0
	for i, b := range blocks {
		l := chatLen(b.markup)
		if used+l > budget {
			if left := budget - used; left >= 40 || i == 0 {
				card.Body = append(card.Body, teamsElement{Type: "TextBlock", Text: cutText(b.plain, max(left, 1)), Wrap: true})
			}
			card.Body = append(card.Body, teamsElement{Type: "TextBlock", Text: more, Wrap: true})
			break
		}
		used += l
		el := teamsElement{Type: "TextBlock", Text: b.markup, Wrap: true}
		if i == 0 {
			el.Spacing = "Medium"
		}
		card.Body = append(card.Body, el)
	}
	card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: m.LinkText, URL: m.Link}}
	if m.Unsubscribe != "" {
		card.Actions = append(card.Actions, teamsAction{Type: "Action.OpenUrl", Title: unsubscribeText, URL: m.Unsubscribe})
	}
	return teamsEnvelope{Type: "message", Attachments: []teamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
