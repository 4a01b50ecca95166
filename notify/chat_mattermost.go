package notify

import (
	"encoding/json"
	"strings"
)

// mattermostTextMax bounds an attachment's text, well within the 16,383
// characters a Mattermost post holds.
const mattermostTextMax = 8000

// mattermostMarkdown is Mattermost's (GitHub-flavoured) Markdown, escaped
// with backslashes.
var mattermostMarkdown = backslashMarkdown("\\*_~`|>#[]<", both("_"), both("~~"))

type (
	mattermostMessage struct {
		Text        string                 `json:"text"`
		Attachments []mattermostAttachment `json:"attachments"`
	}
	mattermostAttachment struct {
		Fallback  string            `json:"fallback"`
		Color     string            `json:"color"`
		Pretext   string            `json:"pretext,omitempty"`
		Title     string            `json:"title"`
		TitleLink string            `json:"title_link"`
		Text      string            `json:"text"`
		Fields    []mattermostField `json:"fields,omitempty"`
		Footer    string            `json:"footer,omitempty"`
	}
	mattermostField struct {
		Short bool   `json:"short"`
		Title string `json:"title"`
		Value string `json:"value"`
	}
)

// mattermostBody is one message attachment: the colour bar by tone, the
// title linking to the page, what changed and the update as its text, the
// facts as fields.
func mattermostBody(m chatMessage) ([]byte, error) {
	mk := mattermostMarkdown
	esc := mk.escape
	head := m.Title
	if m.Status != "" {
		head += " — " + m.Status
	}
	a := mattermostAttachment{Fallback: cutText("["+m.Page+"] "+head+": "+m.Intro, 500), Color: m.Tone.hex(), Pretext: esc(m.Page), Title: cutText(m.Title, 250), TitleLink: m.Link}
	for _, f := range m.Facts {
		a.Fields = append(a.Fields, mattermostField{Short: f.Name != "Components", Title: f.Name, Value: esc(f.Value)})
	}
	intro := ""
	if m.Intro != "" {
		intro = "**" + esc(m.Intro) + "**"
	}
	link := linkLine(mk, m)
	body := fitBlocks(mk.blocks(m.Body), "\n\n", "\n", mattermostTextMax-chatLen(intro)-chatLen(link)-4, readMore(mk, m.Link))
	a.Text = strings.Join(nonEmpty(intro, body, link), "\n\n")
	return json.Marshal(mattermostMessage{Attachments: []mattermostAttachment{a}})
}
