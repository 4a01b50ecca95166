package store

import (
	"net/url"
	"slices"
	"testing"
)

// The platforms' incoming webhook URLs, as each documents them, are
// recognised; look-alikes are not.
func TestChatPlatformOf(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX":                                                                                    FormatSlack,
		"https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi":                                                                                                   FormatDiscord,
		"https://discordapp.com/api/webhooks/123456789012345678/abcDEF-ghi":                                                                                                FormatDiscord,
		"https://canary.discord.com/api/webhooks/1/t":                                                                                                                      FormatDiscord,
		"https://chat.googleapis.com/v1/spaces/AAAAbbbb/messages?key=AIza&token=tok%3D":                                                                                    FormatGoogleChat,
		"https://prod-12.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s": FormatTeams,
		"https://default0123.45.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/0123abcd/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s": FormatTeams,
		"https://hooks.slack.com/workflows/T0/A0/1/x":                                         "", // Workflow Builder: another payload
		"https://hooks.slack.com.evil.example/services/T/B/X":                                 "",
		"https://evil.example/services/T/B/X":                                                 "",
		"https://discord.com/api/webhooks/123":                                                "",
		"https://chat.googleapis.com/v1/spaces/AAAA/messages":                                 "", // no key and token
		"https://prod-1.westus.logic.azure.com/workflows/x/triggers/manual/paths/invoke":      "", // unsigned
		"https://contoso.webhook.office.com/webhookb2/x/IncomingWebhook/y/z":                  "", // a retired Office 365 connector
		"https://logic.azure.com.evil.example/workflows/x/triggers/manual/paths/invoke?sig=s": "",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := chatPlatformOf(u, nil); got != want {
			t.Errorf("chatPlatformOf(%s) = %q, want %q", raw, got, want)
		}
	}
	// A relay's host stands for every platform, the path telling which.
	u, _ := url.Parse("https://relay.example:8443/api/webhooks/1/t")
	if got := chatPlatformOf(u, []string{"relay.example:8443"}); got != FormatDiscord {
		t.Errorf("relay host: %q", got)
	}
}

// A sign-up stores a pending subscription and queues one verification;
// bad input stores and queues nothing; a page's subscription hears only of
// what its page shows.
func TestChatSubscriptionStore(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		web := mustCreateComponent(t, st, "Website")
		page, err := st.CreatePage(ctx, PageInput{Slug: "api", Name: "API status", Components: []string{api.ID}})
		if err != nil {
			t.Fatal(err)
		}
		slack := "https://hooks.slack.com/services/T0/B0/secret"
		for _, bad := range []struct {
			in    ChatSubscriptionInput
			field string
		}{
			{ChatSubscriptionInput{URL: "http://hooks.slack.com/services/T0/B0/secret"}, "url"},
			{ChatSubscriptionInput{URL: slack, Platform: FormatDiscord}, "url"},
			{ChatSubscriptionInput{URL: slack, Platform: "irc"}, "platform"},
			{ChatSubscriptionInput{URL: slack, Components: []string{"nope"}}, "components"},
			{ChatSubscriptionInput{URL: slack, PageID: "nope"}, "page_id"},
			{ChatSubscriptionInput{URL: slack, PageID: page.ID, Components: []string{web.ID}}, "components"}, // not on its page
		} {
			before, jobs := countRows(t, st, "webhooks"), countRows(t, st, "outbox_jobs")
			wantValidationError(t, st.SubscribeChat(ctx, bad.in), bad.field)
			if countRows(t, st, "webhooks") != before || countRows(t, st, "outbox_jobs") != jobs {
				t.Errorf("%+v wrote rows", bad.in)
			}
		}
		jobs := countRows(t, st, "outbox_jobs")
		if err := st.SubscribeChat(ctx, ChatSubscriptionInput{URL: slack, PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		if err := st.SubscribeChat(ctx, ChatSubscriptionInput{URL: slack, PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListChatSubscriptions(ctx)
		if err != nil || len(list) != 1 || list[0].Status != ChatPending || list[0].Origin != "https://hooks.slack.com" || list[0].Platform != FormatSlack || list[0].PageID != page.ID {
			t.Fatalf("after two sign-ups: %+v %v", list, err)
		}
		if n := countRows(t, st, "outbox_jobs") - jobs; n != 1 {
			t.Fatalf("two sign-ups within the hour queued %d jobs, want 1", n)
		}
		// The operator's webhooks do not list it, nor can the API reach it.
		if hooks, _ := st.ListWebhooks(ctx); len(hooks) != 0 {
			t.Errorf("ListWebhooks shows a visitor's subscription: %+v", hooks)
		}
		_, err = st.GetWebhook(ctx, list[0].ID)
		wantNotFound(t, err)

		// Confirmed by its link (as the sender signs it), it hears of an
		// incident on the API, which its page shows, and not of one on the
		// website alone.
		var nonce string
		if err := st.read.QueryRowContext(ctx, `SELECT token_nonce FROM webhooks WHERE id = ?`, list[0].ID).Scan(&nonce); err != nil {
			t.Fatal(err)
		}
		key, err := st.links.get(ctx, st.read)
		if err != nil {
			t.Fatal(err)
		}
		confirm := newLinkSigner(key).signExpiring(purposeChatConfirm, list[0].ID, nonce, t0)
		if _, err := st.ConfirmSubscription(ctx, confirm); err == nil {
			t.Error("a chat confirmation token confirmed an email subscriber")
		}
		if c, err := st.ConfirmChatSubscription(ctx, confirm); err != nil || c.Status != WebhookActive {
			t.Fatalf("confirm: %+v %v", c, err)
		}
		if got := drainJobs(t, st); !slices.Equal(got[JobChatConfirm], []string{"", "job"}) {
			t.Errorf("the verification went to %v, want the channel", got)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "Website down", Components: map[string]ComponentStatus{web.ID: MajorOutage}})
		if got := drainJobs(t, st); !slices.Equal(got[JobIncidentCreated], []string{"job"}) {
			t.Errorf("an incident its page does not show went to %v", got)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "API down", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		if got := drainJobs(t, st); !slices.Equal(got[JobIncidentCreated], []string{"", "job"}) {
			t.Errorf("an incident its page shows went to %v, want the channel", got)
		}
	})
}
