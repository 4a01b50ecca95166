package notify

import (
	"context"
	"fmt"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Link paths of visitors' chat subscriptions; the web package serves them.
const (
	ChatConfirmPath     = "/subscriptions/chat/confirm/"
	ChatUnsubscribePath = "/subscriptions/chat/unsubscribe/"
)

// chatSubscriptionBody is a message to a visitor's chat subscription, in
// its platform's format: the verification message with its one-time link,
// or a job's message with the channel's own unsubscribe link. Each carries
// the channel's tokens, so it is rendered per delivery, not once per job.
//
// A job is told as the channel's page shows it, from that page: its name,
// its links.
func (d *Dispatcher) chatSubscriptionBody(ctx context.Context, job store.Job, w *store.WebhookTarget) ([]byte, error) {
	site, _, _, err := d.pageSite(ctx, w.PageID)
	if err != nil {
		return nil, fmt.Errorf("chat subscription %s: %w", w.ID, err)
	}
	if job.Kind != store.JobChatConfirm {
		sc, err := d.st.PageScope(ctx, w.PageID)
		if err != nil {
			return nil, fmt.Errorf("chat subscription %s: %w", w.ID, err)
		}
		job = asPageShows(job, sc)
	}
	return d.encodeChatSubscriptionBody(job, w, site)
}

// encodeChatSubscriptionBody renders job, as it is, for w, a channel of
// the page site.
func (d *Dispatcher) encodeChatSubscriptionBody(job store.Job, w *store.WebhookTarget, site templates.Site) ([]byte, error) {
	render, ok := chatRenderers[w.Format]
	if !ok {
		return nil, fmt.Errorf("chat subscription %s: no renderer for format %q", w.ID, w.Format)
	}
	var m chatMessage
	if job.Kind == store.JobChatConfirm {
		m = chatMessage{
			Page: site.Name, Title: "Confirm this channel's subscription", At: job.CreatedAt,
			Intro: "Someone asked for " + site.Name + " status updates to be posted in this channel. " +
				"Nothing more will be posted unless someone here confirms. If nobody meant to, ignore this message.",
			Link: site.BaseURL + ChatConfirmPath + w.ConfirmToken, LinkText: "Confirm the subscription",
		}
	} else {
		var err error
		if m, err = d.chatMessageOf(job, site); err != nil {
			return nil, err
		}
		m.Unsubscribe = site.BaseURL + ChatUnsubscribePath + w.ManageToken
	}
	b, err := render(m)
	if err != nil {
		return nil, fmt.Errorf("job %d: %s body: %w", job.ID, w.Format, err)
	}
	return b, nil
}
