package notify

import (
	"encoding/json"
	"html"
	"strings"
)

// Google Chat's documented limits: a message (text and cards) of at most
// 32,000 bytes, and at most 100 widgets per card.
const (
	googleChatMaxBytes = 30000 // under 32,000, leaving room for what Chat adds
	googleChatWidgets  = 100
	googleChatTextMax  = 4096 // the message's own text, kept to a headline
)

// googleChatHTML is the HTML subset cards v2 text takes: b, i, s, a, br and
// font; everything else must be escaped.
var googleChatHTML = &chatMarkup{
	escape: strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace,
	strong: [2]string{"<b>", "</b>"}, em: [2]string{"<i>", "</i>"}, strike: [2]string{"<s>", "</s>"},
	code: [2]string{`<font color="#5f6368">`, "</font>"},
	link: func(url, text string) string { return `<a href="` + html.EscapeString(url) + `">` + text + "</a>" },
	codeBlock: func(code string) string {
		return `<font color="#5f6368">` + strings.ReplaceAll(html.EscapeString(code), "\n", "<br>") + "</font>"
	},
	heading: func(t string) string { return "<b>" + t + "</b>" },
	newline: "<br>", bullet: "• ", quote: "│ ",
}

type (
	gchatMessage struct {
		Text    string      `json:"text"`
		CardsV2 []gchatCard `json:"cardsV2"`
	}
	gchatCard struct {
		CardID string        `json:"cardId"`
		Card   gchatCardBody `json:"card"`
	}
	gchatCardBody struct {
		Header   gchatHeader    `json:"header"`
		Sections []gchatSection `json:"sections"`
	}
	gchatHeader struct {
		Title    string `json:"title"`
		Subtitle string `json:"subtitle,omitempty"`
	}
	gchatSection struct {
		Widgets []gchatWidget `json:"widgets"`
	}
	gchatWidget struct {
		TextParagraph *gchatTextParagraph `json:"textParagraph,omitempty"`
		DecoratedText *gchatDecoratedText `json:"decoratedText,omitempty"`
		ButtonList    *gchatButtonList    `json:"buttonList,omitempty"`
	}
	gchatTextParagraph struct {
		Text string `json:"text"`
	}
	gchatDecoratedText struct {
		TopLabel string `json:"topLabel"`
		Text     string `json:"text"`
		WrapText bool   `json:"wrapText"`
	}
	gchatButtonList struct {
		Buttons []gchatButton `json:"buttons"`
	}
	gchatButton struct {
		Text    string       `json:"text"`
		OnClick gchatOnClick `json:"onClick"`
	}
	gchatOnClick struct {
		OpenLink gchatOpenLink `json:"openLink"`
	}
	gchatOpenLink struct {
		URL string `json:"url"`
	}
)

// googleChatBody is a cards v2 message: a headline as the message text (what
// notifications show), and a card with the title, the page and status, what
// changed, the facts, the update and a button to the page.
func googleChatBody(m chatMessage) ([]byte, error) {
	mk := googleChatHTML
	blocks := mk.blocks(m.Body)
	return fitBytes(googleChatMaxBytes, func(budget int) ([]byte, error) { return json.Marshal(googleChatMessage(m, mk, blocks, budget)) })
}

func googleChatMessage(m chatMessage, mk *chatMarkup, blocks []chatBlock, budget int) gchatMessage {
	esc := mk.escape
	head := m.Title
	if m.Status != "" {
		head += " — " + m.Status
	}
	sub := m.Page
	if m.Status != "" {
		sub += " · " + m.Status
	}
	var w []gchatWidget
	if m.Intro != "" {
		w = append(w, gchatWidget{TextParagraph: &gchatTextParagraph{Text: "<b>" + esc(m.Intro) + "</b>"}})
	}
	for _, f := range m.Facts {
		w = append(w, gchatWidget{DecoratedText: &gchatDecoratedText{TopLabel: f.Name, Text: strings.ReplaceAll(esc(f.Value), "\n", "<br>"), WrapText: true}})
	}
	if body := fitBlocks(blocks, "<br><br>", "<br>", budget, readMore(mk, m.Link)); body != "" {
		w = append(w, gchatWidget{TextParagraph: &gchatTextParagraph{Text: body}})
	}
	buttons := []gchatButton{{Text: m.LinkText, OnClick: gchatOnClick{OpenLink: gchatOpenLink{URL: m.Link}}}}
	if m.Unsubscribe != "" {
		buttons = append(buttons, gchatButton{Text: unsubscribeText, OnClick: gchatOnClick{OpenLink: gchatOpenLink{URL: m.Unsubscribe}}})
	}
	w = append(w, gchatWidget{ButtonList: &gchatButtonList{Buttons: buttons}})
	if len(w) > googleChatWidgets {
		w = append(w[:googleChatWidgets-1], w[len(w)-1])
	}
	return gchatMessage{
		Text:    cutText(head, googleChatTextMax),
		CardsV2: []gchatCard{{CardID: "herald", Card: gchatCardBody{Header: gchatHeader{Title: m.Title, Subtitle: sub}, Sections: []gchatSection{{Widgets: w}}}}},
	}
}
