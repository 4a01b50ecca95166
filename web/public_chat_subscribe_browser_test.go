package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

// The subscribe page with its chat form (and with a refusal), the confirm
// page, and the console's list of chat channels in every status, at a
// desktop's and a phone's width, light and dark: screenshots to look at,
// and the checks every console page gets.
func TestBrowserChatSubscriptionPagesLookRight(t *testing.T) {
	t.Parallel()
	chat := newChatPlatforms(t)
	ts := newTestServer(t, withSubscriptions(), withChatSubscriptions(t, chat))
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Website", nil)
	ts.startChatDispatcher(t, chat)
	for _, p := range store.ChatPlatforms {
		ts.form(t, "/subscribe/chat", url.Values{"chat_url": {chat.url(p)}, "components": {api.ID}})
	}
	ts.drainOutbox(t)
	link := func(p, kind string) string {
		return chatLink(t, p, chat.messages(t, p)[len(chat.messages(t, p))-1], kind)
	}
	confirmSlack := link(store.FormatSlack, notify.ChatConfirmPath) // Slack stays pending
	for _, p := range []string{store.FormatTeams, store.FormatDiscord, store.FormatGoogleChat} {
		ts.form(t, link(p, notify.ChatConfirmPath), nil)
	}
	inc := ts.createIncident(t, map[string]any{"name": "API errors", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})
	ts.drainOutbox(t)
	ts.form(t, link(store.FormatGoogleChat, notify.ChatUnsubscribePath), nil)
	chat.setAnswer(store.FormatDiscord, http.StatusNotFound)
	for range 2 {
		ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "identified", "body": "Found it."}, nil)
		ts.drainOutbox(t)
	}

	dir := screenshotDir(t)
	ctx, problems := consoleBrowser(t, ts)
	lookEverywhere(t, ctx, problems, ts, dir, consoleStop{"/subscribe", "/subscribe"})
	lookEverywhere(t, ctx, problems, ts, dir, consoleStop{"/subscriptions/chat/confirm/:token", confirmSlack})
	// A refusal, as the visitor sees it.
	browse(t, ctx, problems, "a refused URL",
		chromedp.Navigate(ts.URL+"/subscribe"),
		chromedp.SendKeys(chromedp.CSS("#chat-url"), "https://example.com/not/a/webhook"),
		chromedp.Submit(chromedp.CSS("#chat-url")),
		chromedp.WaitVisible(chromedp.CSS("#chat-error")))
	shoot(t, ctx, dir, "subscribe-chat-refused.png")
	admin := ts.addUser(t, "ann@example.com", store.RoleAdmin)
	signInWithBrowser(t, ctx, problems, ts, admin.Email, testPassword)
	lookEverywhere(t, ctx, problems, ts, dir, consoleStop{"/console/subscribers", "/console/subscribers#chat-subs-heading"})
	noProblems(t, ctx, problems, "status of 422") // the refusal's answer
}
