package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// A chat subscription is a visitor's: someone pasted a chat tool's incoming
// webhook URL on the subscribe page. It is a row of webhooks with origin
// "visitor", so that it is expanded, delivered, retried and guarded as an
// operator's endpoint is (outbox_jobs.go expandWebhooks); what differs is
// who may create it (anyone, behind a confirmation posted into the
// channel), its statuses, and that the console shows its URL's origin only.

// Webhook origins: who registered an endpoint.
const (
	OriginOperator = "operator"
	OriginVisitor  = "visitor"
)

// Chat subscription statuses, besides WebhookActive.
const (
	ChatPending      WebhookStatus = "pending"      // waiting for someone in the channel to confirm
	ChatRetired      WebhookStatus = "retired"      // by Herald: the URL answered 404 or 410 ChatGoneLimit times
	ChatUnsubscribed WebhookStatus = "unsubscribed" // by someone in the channel
)

// JobChatConfirm is the message that asks a channel to confirm its
// subscription; its object is the webhook.
const JobChatConfirm = "chat.confirm"

// ChatGoneLimit is how many 404 or 410 answers in a row (across
// deliveries) retire a chat subscription: the channel or its webhook was
// deleted. One could be a platform's hiccup; two are not.
const ChatGoneLimit = 2

// ChatPlatforms are the formats a visitor may subscribe a channel with, in
// the order the form offers them.
var ChatPlatforms = []string{FormatSlack, FormatTeams, FormatDiscord, FormatGoogleChat}

// ChatPlatformName is a platform as people call it.
func ChatPlatformName(format string) string {
	switch format {
	case FormatSlack:
		return "Slack"
	case FormatTeams:
		return "Microsoft Teams"
	case FormatDiscord:
		return "Discord"
	case FormatGoogleChat:
		return "Google Chat"
	}
	return format
}

// chatSubscriptionEvents are what a chat subscription hears: what an email
// subscriber hears (incidents and maintenance), not every component change
// nor reminders.
var chatSubscriptionEvents = []string{JobIncidentCreated, JobIncidentUpdated, JobIncidentResolved, JobPostmortemPublished,
	JobMaintenanceScheduled, JobMaintenanceStarted, JobMaintenanceCompleted}

const (
	purposeChatConfirm = "chat-confirm"
	purposeChatManage  = "chat-manage"
)

// ErrLinkUsed is a genuine confirmation link for a subscription that is
// confirmed already.
var ErrLinkUsed = errors.New("this confirmation link has been used already")

// chatPlatformOf recognises the platform of an incoming webhook URL by its
// host and path, as each platform documents its URLs:
//
//	Slack        https://hooks.slack.com/services/T…/B…/…
//	Discord      https://discord.com/api/webhooks/{id}/{token} (and discordapp.com, ptb., canary.)
//	Google Chat  https://chat.googleapis.com/v1/spaces/{space}/messages?key=…&token=…
//	Teams        https://….logic.azure.com/workflows/{id}/triggers/…/paths/invoke?…&sig=…
//	             https://….environment.api.powerplatform.com/powerautomate/automations/direct/workflows/{id}/…?…&sig=…
//
// alsoHosts are host names (with their port, if any) that stand for every
// platform's own, the platform then told by the path alone: for a relay in
// front of the platforms, or a test's receivers. "" when none matches.
func chatPlatformOf(u *url.URL, alsoHosts []string) string {
	host := strings.ToLower(u.Hostname())
	relay := slices.Contains(alsoHosts, strings.ToLower(u.Host))
	path := u.Path
	parts := strings.Split(strings.Trim(path, "/"), "/")
	q := u.Query()
	switch {
	case (relay || host == "hooks.slack.com") && len(parts) == 4 && parts[0] == "services" && parts[1] != "" && parts[2] != "" && parts[3] != "":
		return FormatSlack
	case (relay || slices.Contains([]string{"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}, host)) &&
		len(parts) == 4 && parts[0] == "api" && parts[1] == "webhooks" && parts[2] != "" && parts[3] != "":
		return FormatDiscord
	case (relay || host == "chat.googleapis.com") && len(parts) == 4 && parts[0] == "v1" && parts[1] == "spaces" && parts[2] != "" && parts[3] == "messages" &&
		q.Get("key") != "" && q.Get("token") != "":
		return FormatGoogleChat
	case (relay || strings.HasSuffix(host, ".logic.azure.com") || strings.HasSuffix(host, ".environment.api.powerplatform.com")) &&
		strings.Contains("/"+strings.Trim(path, "/")+"/", "/workflows/") && q.Get("sig") != "":
		return FormatTeams
	}
	return ""
}

// CheckChatURL checks a URL a visitor pasted: https, a webhook URL of
// platform (or, when platform is "", of any platform recognised), and
// returns it with its platform. Whether its host may be dialled is the SSRF
// guard's call (the web handler's, before SubscribeChat checks the form
// again; the sender's, at each dial).
func CheckChatURL(raw, platform string, alsoHosts []string) (string, string, error) {
	if platform != "" && !slices.Contains(ChatPlatforms, platform) {
		return "", "", invalid("platform", "unknown chat platform %q; use one of %s", platform, strings.Join(ChatPlatforms, ", "))
	}
	u, err := CheckWebhookURL(raw)
	if err != nil {
		return "", "", err
	}
	parsed, _ := url.Parse(u)
	if parsed.Scheme != "https" {
		return "", "", invalid("url", "must start with https://: chat platforms give webhook URLs on https only")
	}
	got := chatPlatformOf(parsed, alsoHosts)
	switch {
	case got == "" && platform == "":
		return "", "", invalid("url", "is not an incoming webhook URL of Slack, Microsoft Teams (Workflows), Discord or Google Chat")
	case got == "":
		return "", "", invalid("url", "is not a %s incoming webhook URL", ChatPlatformName(platform))
	case platform != "" && got != platform:
		return "", "", invalid("url", "is a %s webhook URL, not a %s one; choose %s or paste a %s URL", ChatPlatformName(got), ChatPlatformName(platform), ChatPlatformName(got), ChatPlatformName(platform))
	}
	return u, got, nil
}

// ChatSubscription is a visitor's chat subscription as the console shows
// it: never its URL, whose path is the channel's credential.
type ChatSubscription struct {
	ID       string        `json:"id"`
	PageID   string        `json:"page_id"` // "" for the default page
	Platform string        `json:"platform"`
	Origin   string        `json:"origin"` // the URL's scheme and host (WebhookOrigin)
	Status   WebhookStatus `json:"status"`
	// Components it follows; empty means every component.
	Components    []string   `json:"components"`
	RetiredReason string     `json:"retired_reason"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	ConfirmedAt   *time.Time `json:"confirmed_at"`
}

// ChatSubscriptionInput is the subscribe form's chat part.
type ChatSubscriptionInput struct {
	URL        string
	Platform   string // "" to recognise it from the URL
	PageID     string // "" for the default page
	Components []string
	// AlsoHosts: see chatPlatformOf.
	AlsoHosts []string
}

// SubscribeChat handles the form: a new URL gets a verification message
// posted into its channel; a URL already pending gets it again, but not
// within MailInterval of the last one; an active one gets nothing (its
// channel's messages carry the unsubscribe link). It says nothing of which
// of these happened.
func (s *Store) SubscribeChat(ctx context.Context, in ChatSubscriptionInput) error {
	err := s.inTx(ctx, func(t *tx) error {
		u, platform, err := CheckChatURL(in.URL, in.Platform, in.AlsoHosts)
		if err != nil {
			return err
		}
		// The page exists, and shows the components chosen: the email
		// subscribers' rule.
		comps, err := t.checkSubscriberComponents(in.PageID, in.Components)
		if err != nil {
			return err
		}
		// One subscription per page and URL is a check-then-write rule.
		if err := t.lock("chat_url", in.PageID+" "+u); err != nil {
			return err
		}
		co, _ := json.Marshal(comps)
		ev, _ := json.Marshal(chatSubscriptionEvents)
		var id string
		var status WebhookStatus
		var posted sql.NullTime
		err = t.QueryRowContext(t.ctx, `SELECT id, status, last_posted_at FROM webhooks WHERE origin = 'visitor' AND page_id = ? AND url = ?`, in.PageID, u).Scan(&id, &status, &posted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			secret, err := newWebhookSecret()
			if err != nil {
				return err
			}
			id = newID()
			if _, err := t.exec(`INSERT INTO webhooks (id, url, description, secret, audience, events, components, format, status, origin, page_id, token_nonce, created_at, updated_at)
				VALUES (?, ?, '', ?, 'subscribers', ?, ?, ?, 'pending', 'visitor', ?, ?, ?, ?)`, id, u, secret, string(ev), string(co), platform, in.PageID, randomString(16), t.now, t.now); err != nil {
				return fmt.Errorf("insert chat subscription: %w", err)
			}
			after, err := t.chatSubscription(id)
			if err != nil {
				return err
			}
			t.ctx = WithActor(t.ctx, Actor{Type: "visitor", Name: after.Origin})
			t.record("chat_subscription.create", "chat_subscription", id, nil, after)
			return t.postChatConfirm(id)
		case err != nil:
			return err
		case status == WebhookActive:
			return nil
		}
		before, err := t.chatSubscription(id)
		if err != nil {
			return err
		}
		// Pending: the link already posted still works. Ended (retired,
		// unsubscribed): it starts afresh with a new nonce, so that no link
		// posted before works for it.
		nonce := ""
		if status != ChatPending {
			nonce = randomString(16)
		}
		if _, err := t.exec(`UPDATE webhooks SET status = 'pending', format = ?, components = ?, token_nonce = CASE WHEN ? = '' THEN token_nonce ELSE ? END,
			disabled_reason = '', gone_count = 0, failing_since = NULL, updated_at = ? WHERE id = ?`, platform, string(co), nonce, nonce, t.now, id); err != nil {
			return err
		}
		after, err := t.chatSubscription(id)
		if err != nil {
			return err
		}
		t.ctx = WithActor(t.ctx, Actor{Type: "visitor", Name: after.Origin})
		t.record("chat_subscription.resubscribe", "chat_subscription", id, before, after)
		if posted.Valid && t.now.Sub(posted.Time) < MailInterval {
			return nil
		}
		return t.postChatConfirm(id)
	})
	if err != nil {
		return fmt.Errorf("store: subscribe chat: %w", err)
	}
	return nil
}

// postChatConfirm queues the verification message to one chat subscription.
func (t *tx) postChatConfirm(id string) error {
	if _, err := t.exec(`UPDATE webhooks SET last_posted_at = ? WHERE id = ?`, t.now, id); err != nil {
		return err
	}
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: JobChatConfirm, ObjectType: "webhook", ObjectID: id}, webhook: true})
	return nil
}

// chatByToken is the chat subscription a link names, and the row's status.
// A confirmation link works while it has not expired and the subscription
// is pending; for one confirmed already it is ErrLinkUsed.
func chatByToken(ctx context.Context, q querier, k *linkKey, token, purpose string, now time.Time) (ChatSubscription, error) {
	id, expired, err := checkLink(ctx, q, k, `SELECT token_nonce FROM webhooks WHERE id = ? AND origin = 'visitor'`, token, purpose, purpose == purposeChatConfirm, now)
	if err != nil {
		return ChatSubscription{}, err
	}
	list, err := queryChatSubscriptions(ctx, q, `WHERE id = ?`, id)
	if err != nil {
		return ChatSubscription{}, err
	}
	if len(list) == 0 {
		return ChatSubscription{}, ErrBadLink
	}
	sub := list[0]
	if purpose == purposeChatConfirm {
		switch {
		case sub.Status == WebhookActive:
			return sub, ErrLinkUsed
		case expired || sub.Status != ChatPending:
			return ChatSubscription{}, ErrLinkExpired
		}
	}
	return sub, nil
}

// CheckChatConfirmLink returns the subscription a confirmation link names
// without confirming it (the page shows a button for that, so that a link
// prefetcher confirms nothing). A used link returns the subscription and
// ErrLinkUsed.
func (s *Store) CheckChatConfirmLink(ctx context.Context, token string) (ChatSubscription, error) {
	sub, err := chatByToken(ctx, s.read, &s.links, token, purposeChatConfirm, s.now())
	if err != nil {
		return sub, fmt.Errorf("store: check chat confirmation link: %w", err)
	}
	return sub, nil
}

// ChatByUnsubscribeLink returns the subscription an unsubscribe link names.
func (s *Store) ChatByUnsubscribeLink(ctx context.Context, token string) (ChatSubscription, error) {
	sub, err := chatByToken(ctx, s.read, &s.links, token, purposeChatManage, s.now())
	if err != nil {
		return ChatSubscription{}, fmt.Errorf("store: chat subscription by link: %w", err)
	}
	return sub, nil
}

// ConfirmChatSubscription makes the subscription a confirmation link names
// active. A link used already changes nothing (ErrLinkUsed).
func (s *Store) ConfirmChatSubscription(ctx context.Context, token string) (ChatSubscription, error) {
	return s.changeChatByLink(ctx, token, purposeChatConfirm, "chat_subscription.confirm", func(t *tx, sub ChatSubscription) error {
		_, err := t.exec(`UPDATE webhooks SET status = 'active', confirmed_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`, t.now, t.now, sub.ID)
		return err
	})
}

// UnsubscribeChat ends the subscription an unsubscribe link names; once
// ended, doing it again changes nothing.
func (s *Store) UnsubscribeChat(ctx context.Context, token string) (ChatSubscription, error) {
	return s.changeChatByLink(ctx, token, purposeChatManage, "chat_subscription.unsubscribe", func(t *tx, sub ChatSubscription) error {
		_, err := t.exec(`UPDATE webhooks SET status = 'unsubscribed', updated_at = ? WHERE id = ? AND status IN ('pending', 'active')`, t.now, sub.ID)
		return err
	})
}

// changeChatByLink runs change on the subscription a link names, audited as
// done by the channel, and records nothing when nothing changed.
func (s *Store) changeChatByLink(ctx context.Context, token, purpose, action string, change func(*tx, ChatSubscription) error) (ChatSubscription, error) {
	var after ChatSubscription
	err := s.inTx(ctx, func(t *tx) error {
		before, err := chatByToken(t.ctx, t.sqlTx, &t.store.links, token, purpose, t.now)
		if err != nil {
			return err
		}
		if err := change(t, before); err != nil {
			return err
		}
		if after, err = t.chatSubscription(before.ID); err != nil {
			return err
		}
		if after.Status == before.Status {
			return nil
		}
		t.ctx = WithActor(t.ctx, Actor{Type: "chat", ID: before.ID, Name: before.Origin})
		t.record(action, "chat_subscription", before.ID, before, after)
		return nil
	})
	if err != nil {
		return after, fmt.Errorf("store: %s: %w", action, err)
	}
	return after, nil
}

// ListChatSubscriptions returns every visitor's chat subscription, oldest
// first.
func (s *Store) ListChatSubscriptions(ctx context.Context) ([]ChatSubscription, error) {
	list, err := queryChatSubscriptions(ctx, s.read, `ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: list chat subscriptions: %w", err)
	}
	return list, nil
}

// DeleteChatSubscription removes a chat subscription (an admin's call);
// its pending deliveries are skipped when their turn comes.
func (s *Store) DeleteChatSubscription(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.chatSubscription(id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM webhooks WHERE id = ? AND origin = 'visitor'`, id); err != nil {
			return err
		}
		t.record("chat_subscription.delete", "chat_subscription", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete chat subscription: %w", err)
	}
	return nil
}

func (t *tx) chatSubscription(id string) (ChatSubscription, error) {
	list, err := queryChatSubscriptions(t.ctx, t.sqlTx, `WHERE id = ?`, id)
	if err != nil {
		return ChatSubscription{}, err
	}
	if len(list) == 0 {
		return ChatSubscription{}, &NotFoundError{Kind: "chat subscription", ID: id}
	}
	return list[0], nil
}

// queryChatSubscriptions reads visitors' rows of webhooks, cutting each
// URL to its origin as it is read: the whole URL never leaves the store but
// to the sender.
func queryChatSubscriptions(ctx context.Context, q querier, cond string, args ...any) ([]ChatSubscription, error) {
	cond = strings.Replace(cond, "WHERE ", "AND ", 1)
	rows, err := q.QueryContext(ctx, `SELECT id, page_id, format, url, status, components, disabled_reason, created_at, updated_at, confirmed_at
		FROM webhooks WHERE origin = 'visitor' `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ChatSubscription
	for rows.Next() {
		var c ChatSubscription
		var raw, co string
		var confirmed sql.NullTime
		if err := rows.Scan(&c.ID, &c.PageID, &c.Platform, &raw, &c.Status, &co, &c.RetiredReason, &c.CreatedAt, &c.UpdatedAt, &confirmed); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(co), &c.Components); err != nil {
			return nil, fmt.Errorf("chat subscription %s components: %w", c.ID, err)
		}
		if c.Components == nil {
			c.Components = []string{}
		}
		c.Origin = WebhookOrigin(raw)
		c.ConfirmedAt = timePtr(confirmed)
		out = append(out, c)
	}
	return out, rows.Err()
}
