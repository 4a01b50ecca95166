package templates

import (
	"context"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// SubscribePage is the public subscribe form, and the form again with the
// problem when the address was refused.
type SubscribePage struct {
	Site       Site
	Groups     []GroupView
	Email      string
	Selected   map[string]bool // component ids ticked
	Error      string
	Subscribed bool // the form was accepted: "check your inbox"
	// Language is the language chosen for the emails (emailLanguage).
	Language string
	// EmailOffered: the email form is shown (email delivery is set up).
	EmailOffered bool
	// The chat form: ChatAction is where it posts, "" when chat
	// subscriptions are not offered on this page.
	ChatAction     string
	ChatURL        string
	ChatPlatform   string // "" to recognise it from the URL
	ChatSelected   map[string]bool
	ChatError      string
	ChatSubscribed bool // the chat form was accepted: "check the channel"
	// The phone form: SMSAction is where it posts, "" when text messages
	// are not offered on this page. SMSCode asks for the code sent to
	// Phone (posting to SMSAction+"/confirm"); SMSConfirmed says it is done.
	SMSAction    string
	Phone        string
	SMSError     string
	SMSCode      bool
	SMSConfirmed bool
}

// SMSStopPage is the page the stop link of a text message leads to: a
// button to stop (Step "stop"), or what came of it ("stopped", "invalid").
type SMSStopPage struct {
	Site  Site
	Token string
	Sub   store.SMSSubscriber
	Step  string
}

// ChatSubscriptionPage is a page reached from a link posted into a chat
// channel: confirm or unsubscribe, or the outcome of one of those.
type ChatSubscriptionPage struct {
	Site  Site
	Token string
	Sub   store.ChatSubscription
	Step  string // confirm | confirmed | used | unsubscribe | unsubscribed | invalid | expired
}

// SubscriptionPage is a page reached from a link in an email: confirm,
// manage preferences, unsubscribe, or the outcome of one of those.
type SubscriptionPage struct {
	Site       Site
	Token      string
	Subscriber store.Subscriber
	Groups     []GroupView
	// Step is what the page offers or reports: "confirm", "confirmed",
	// "manage", "saved", "language-saved", "unsubscribe", "unsubscribed",
	// "invalid".
	Step  string
	Error string // translated, as the page's other words
	// Language is the emails' language, as the manage page's choice shows
	// it: the subscriber's, else the page's default.
	Language string
}

// Follows reports whether the subscriber follows component id specifically.
func (p SubscriptionPage) Follows(id string) bool {
	for _, c := range p.Subscriber.Components {
		if c == id {
			return true
		}
	}
	return false
}

// subscriptionState says where a subscription stands, as one sentence.
func subscriptionState(ctx context.Context, sub store.Subscriber) string {
	id := "subscription.state_unsubscribed"
	switch sub.Status {
	case store.SubscriberConfirmed:
		id = "subscription.state_confirmed"
	case store.SubscriberPending:
		id = "subscription.state_pending"
	case store.SubscriberSuspended:
		id = "subscription.state_suspended"
	}
	return i18n.T(ctx, id, i18n.Args{"Email": sub.Email})
}
