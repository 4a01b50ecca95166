package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

func subscriberByEmail(t *testing.T, st *store.Store, email string) (store.Subscriber, bool) {
	t.Helper()
	list, err := st.ListSubscribers(t.Context(), store.SubscriberFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Email == email {
			return s, true
		}
	}
	return store.Subscriber{}, false
}

// The whole double opt-in as a visitor lives it: the form, the confirmation
// link (a page with a button, since mail scanners follow links), and only
// then a subscription. Subscribing again tells nothing and mails nothing
// more within the hour.
func TestSubscribeDoubleOptIn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	api := ts.createComponent(t, "API", nil)

	home, _ := ts.page(t, "/")
	if href, _ := home.Find(".subscribe-link a").Attr("href"); href != "/subscribe" {
		t.Fatalf("the status page does not offer subscriptions (link %q)", href)
	}
	form, status := ts.getPage(t, "/subscribe")
	if status != 200 || form.Find(`form[action="/subscribe"] input[name=email]`).Length() != 1 || form.Find(`input[name=components][value="`+api.ID+`"]`).Length() != 1 {
		t.Fatalf("subscribe form: status %d", status)
	}
	checkAccessible(t, "/subscribe", form)

	doc, status := ts.form(t, "/subscribe", url.Values{"email": {"Ada@Example.com"}, "components": {api.ID}})
	if status != 200 || !strings.Contains(text(doc.Find("main")), "Check your inbox") {
		t.Fatalf("after subscribing: %d %q", status, text(doc.Find("main")))
	}
	sub, ok := subscriberByEmail(t, ts.store, "ada@example.com")
	if !ok || sub.Status != store.SubscriberPending || strings.Join(sub.Components, ",") != api.ID {
		t.Fatalf("subscriber %+v (found %v)", sub, ok)
	}
	if n := pendingJobs(t, ts.store); n != 1 {
		t.Fatalf("%d notification jobs after subscribing, want the one confirmation email", n)
	}

	manage, confirm, err := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Following the link shows a button and changes nothing yet.
	page, status := ts.getPage(t, "/subscriptions/confirm/"+confirm)
	if status != 200 || page.Find(`form[method=post][action="/subscriptions/confirm/`+confirm+`"] button`).Length() != 1 {
		t.Fatalf("confirmation page: %d", status)
	}
	if s, _ := subscriberByEmail(t, ts.store, "ada@example.com"); s.Status != store.SubscriberPending {
		t.Fatalf("a GET confirmed the subscription")
	}
	page, status = ts.form(t, "/subscriptions/confirm/"+confirm, nil)
	if status != 200 || text(page.Find("h1")) != "You are subscribed" {
		t.Fatalf("after confirming: %d %q", status, text(page.Find("h1")))
	}
	if href, _ := page.Find(`a[href^="/subscriptions/manage/"]`).Attr("href"); href != "/subscriptions/manage/"+manage {
		t.Errorf("manage link %q", href)
	}
	if s, _ := subscriberByEmail(t, ts.store, "ada@example.com"); s.Status != store.SubscriberConfirmed {
		t.Fatalf("status %s after confirming", s.Status)
	}

	// Again, for a known address: the same answer, and no more email within the hour.
	doc, status = ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}})
	if status != 200 || !strings.Contains(text(doc.Find("main")), "Check your inbox") {
		t.Fatalf("re-subscribing: %d", status)
	}
	if n := pendingJobs(t, ts.store); n != 1 {
		t.Errorf("%d jobs after re-subscribing within the hour, want still 1", n)
	}
	if s, _ := subscriberByEmail(t, ts.store, "ada@example.com"); strings.Join(s.Components, ",") != api.ID {
		t.Errorf("the public form changed a confirmed subscription's components to %v", s.Components)
	}
	// A forged or mistyped link is a 404 and changes nothing.
	for _, bad := range []string{"nope", sub.ID + ".AAAAAAAAAAAAAAAAAAAAAAAA", manage} {
		if _, status := ts.form(t, "/subscriptions/confirm/"+bad, nil); status != 404 {
			t.Errorf("confirm with %q: %d, want 404", bad, status)
		}
	}
}

// Bad addresses are refused with the form shown again, and store nothing.
func TestSubscribeRefusesBadAddresses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions(), func(s *testSetup) { s.cfg.SubscribeLimit = 100 })
	for _, email := range []string{"", "not-an-email", "a@b.com\r\nBcc: victim@example.com", "Ada <ada@example.com>", "ada@localhost", strings.Repeat("a", 250) + "@example.com",
		// Domains that are not DNS names: the relay would be sent where they point.
		"probe@[10.0.0.1]", "a@[169.254.169.254]", "a@10.0.0.1", "a@-example.com", "a@example-.com", "a@ex_ample.com",
		"a@" + strings.Repeat("l", 64) + ".com", strings.Repeat("l", 65) + "@example.com"} {
		t.Run(email, func(t *testing.T) {
			doc, status := ts.form(t, "/subscribe", url.Values{"email": {email}})
			if status != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422", status)
			}
			if msg := text(doc.Find(".form-error")); !strings.Contains(msg, "email address") {
				t.Errorf("error %q", msg)
			}
			if v, _ := doc.Find("input[name=email]").Attr("aria-invalid"); v != "true" {
				t.Error("the field is not marked invalid")
			}
		})
	}
	if n, _ := ts.store.CountSubscribers(t.Context(), ""); n != 0 {
		t.Errorf("%d subscribers stored", n)
	}
	if _, status := ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}, "components": {"nosuchcomponent"}}); status != 422 {
		t.Errorf("unknown component: %d", status)
	}
}

func TestSubscribeRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	for i := range 6 {
		_, status := ts.form(t, "/subscribe", url.Values{"email": {"user" + string(rune('a'+i)) + "@example.com"}})
		want := 200
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Errorf("post %d: %d, want %d", i+1, status, want)
		}
	}
	if n, _ := ts.store.CountSubscribers(t.Context(), ""); n != 5 {
		t.Errorf("%d subscribers, want the 5 within the limit", n)
	}
}

// Without SMTP there is no form, and the page does not offer one.
func TestSubscribeOffOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	home, _ := ts.page(t, "/")
	if home.Find(".subscribe-link").Length() != 0 {
		t.Error("the page offers subscriptions without email configured")
	}
	if _, status := ts.getPage(t, "/subscribe"); status != 404 {
		t.Errorf("GET /subscribe: %d", status)
	}
}

// RFC 8058 one-click: the mail provider POSTs List-Unsubscribe=One-Click to
// the List-Unsubscribe URL with no cookie; the page's button does the same.
func TestUnsubscribeByLinkAndOneClick(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	tests := []struct {
		name string
		post func(t *testing.T, path string) int
	}{
		{"one-click POST", func(t *testing.T, path string) int {
			resp, err := http.Post(ts.URL+path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}},
		{"page button", func(t *testing.T, path string) int {
			doc, status := ts.getPage(t, path)
			if status != 200 || doc.Find(`form[method=post][action="`+path+`"] button`).Length() != 1 {
				t.Fatalf("unsubscribe page: %d", status)
			}
			_, status = ts.form(t, path, nil)
			return status
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "u" + string(rune('a'+i)) + "@example.com", Confirmed: true})
			if err != nil {
				t.Fatal(err)
			}
			manage, _, _ := ts.store.SubscriberLinks(t.Context(), sub.ID)
			path := notify.UnsubscribePath + manage
			for range 2 { // a provider may POST twice
				if status := tt.post(t, path); status != 200 {
					t.Fatalf("unsubscribe: %d", status)
				}
			}
			got, _ := ts.store.GetSubscriber(t.Context(), sub.ID)
			if got.Status != store.SubscriberUnsubscribed {
				t.Errorf("status %s after unsubscribing", got.Status)
			}
		})
	}
}

// The preferences link changes what a subscriber follows and can bring an
// unsubscribed address back.
func TestManagePreferences(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	api, web := ts.createComponent(t, "API", nil), ts.createComponent(t, "Website", nil)
	sub, err := ts.store.AddSubscriber(t.Context(), store.SubscriberInput{Email: "ada@example.com", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	manage, _, _ := ts.store.SubscriberLinks(t.Context(), sub.ID)
	path := notify.ManagePath + manage

	doc, status := ts.getPage(t, path)
	if status != 200 || doc.Find("input[name=components]").Length() != 2 {
		t.Fatalf("manage page: %d", status)
	}
	checkAccessible(t, path, doc)
	if !doc.Find("input[name=maintenance_reminders]").Is("[checked]") {
		t.Error("maintenance reminders are not shown on by default")
	}
	// Unticking the reminders (a browser sends nothing for it) turns them off.
	doc, status = ts.form(t, path, url.Values{"action": {"save"}, "components": {web.ID}})
	if status != 200 || !strings.Contains(text(doc.Find(".notice")), "saved") {
		t.Fatalf("save: %d", status)
	}
	if checked, _ := doc.Find(`input[value="` + web.ID + `"]`).Attr("checked"); checked == "" && !doc.Find(`input[value="`+web.ID+`"]`).Is("[checked]") {
		t.Error("the saved choice is not shown ticked")
	}
	got, _ := ts.store.GetSubscriber(t.Context(), sub.ID)
	if strings.Join(got.Components, ",") != web.ID || got.MaintenanceReminders {
		t.Errorf("components %v, reminders %v; want [%s] and no reminders", got.Components, got.MaintenanceReminders, web.ID)
	}
	if doc.Find("input[name=maintenance_reminders]").Is("[checked]") {
		t.Error("reminders turned off are shown on")
	}
	if ts.form(t, path, url.Values{"action": {"save"}, "maintenance_reminders": {"on"}}); !mustSubscriber(t, ts, sub.ID).MaintenanceReminders {
		t.Error("ticking the reminders again did not turn them on")
	}
	_ = api

	ts.form(t, notify.UnsubscribePath+manage, nil)
	if _, status := ts.form(t, path, url.Values{"action": {"resubscribe"}}); status != 200 {
		t.Fatalf("resubscribe: %d", status)
	}
	if got, _ := ts.store.GetSubscriber(t.Context(), sub.ID); got.Status != store.SubscriberConfirmed {
		t.Errorf("status %s after resubscribing", got.Status)
	}
}

// A confirmation link works for a week (by the store's clock), then says
// it has expired and confirms nothing; subscribing again sends a new one.
func TestConfirmationLinksExpire(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	start := time.Now().UTC()
	ts.at(t, start)
	if _, status := ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}}); status != 200 {
		t.Fatalf("subscribe: %d", status)
	}
	sub, _ := subscriberByEmail(t, ts.store, "ada@example.com")
	_, confirm, err := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	ts.at(t, start.Add(store.ConfirmLinkLifetime-time.Minute))
	if page, status := ts.getPage(t, "/subscriptions/confirm/"+confirm); status != 200 || page.Find("form button").Length() != 1 {
		t.Fatalf("the link a minute before it expires: %d", status)
	}
	ts.at(t, start.Add(store.ConfirmLinkLifetime+time.Second))
	page, status := ts.getPage(t, "/subscriptions/confirm/"+confirm)
	if status != http.StatusGone || text(page.Find("h1")) != "This link has expired" || page.Find("form").Length() != 0 {
		t.Errorf("the expired link's page: %d %q", status, text(page.Find("h1")))
	}
	page, status = ts.form(t, "/subscriptions/confirm/"+confirm, nil)
	if status != http.StatusGone || !strings.Contains(text(page.Find("main")), "subscribe again") {
		t.Errorf("confirming with the expired link: %d %q", status, text(page.Find("main")))
	}
	if s, _ := subscriberByEmail(t, ts.store, "ada@example.com"); s.Status != store.SubscriberPending {
		t.Fatalf("an expired link made the subscription %s", s.Status)
	}
	// A new subscription, a new link that works.
	if _, status := ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}}); status != 200 {
		t.Fatalf("subscribe again: %d", status)
	}
	_, fresh, _ := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if page, status := ts.form(t, "/subscriptions/confirm/"+fresh, nil); status != 200 || text(page.Find("h1")) != "You are subscribed" {
		t.Errorf("the new link: %d %q", status, text(page.Find("h1")))
	}
}

// An old confirmation link does not subscribe an address again after it
// unsubscribed, nor after it subscribed afresh: only the new
// subscription's own link confirms it.
func TestOldConfirmationLinkAfterUnsubscribe(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	start := time.Now().UTC()
	ts.at(t, start)
	ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}})
	sub, _ := subscriberByEmail(t, ts.store, "ada@example.com")
	manage, confirm, _ := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if page, status := ts.form(t, "/subscriptions/confirm/"+confirm, nil); status != 200 || text(page.Find("h1")) != "You are subscribed" {
		t.Fatalf("confirm: %d", status)
	}
	if _, status := ts.form(t, "/subscriptions/unsubscribe/"+manage, nil); status != 200 {
		t.Fatalf("unsubscribe: %d", status)
	}
	// The one-click POST may come twice.
	if _, status := ts.form(t, "/subscriptions/unsubscribe/"+manage, url.Values{"List-Unsubscribe": {"One-Click"}}); status != 200 {
		t.Errorf("unsubscribing again: %d", status)
	}
	for _, step := range []string{"GET", "POST"} {
		var status int
		if step == "GET" {
			_, status = ts.getPage(t, "/subscriptions/confirm/"+confirm)
		} else {
			_, status = ts.form(t, "/subscriptions/confirm/"+confirm, nil)
		}
		if status != http.StatusGone {
			t.Errorf("%s the old confirmation link after unsubscribing: %d, want 410", step, status)
		}
	}
	if s, _ := subscriberByEmail(t, ts.store, "ada@example.com"); s.Status != store.SubscriberUnsubscribed {
		t.Fatalf("the old link made the subscription %s", s.Status)
	}

	// Someone fills in the form for the address again (past the hour, so a
	// new email goes out): the old link still does not confirm it.
	ts.at(t, start.Add(2*time.Hour))
	ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}})
	if _, status := ts.form(t, "/subscriptions/confirm/"+confirm, nil); status != http.StatusNotFound {
		t.Errorf("the old link after a fresh subscription: %d, want 404", status)
	}
	if s, _ := subscriberByEmail(t, ts.store, "ada@example.com"); s.Status != store.SubscriberPending {
		t.Fatalf("status %s, want pending until the new link is followed", s.Status)
	}
	_, fresh, _ := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if page, status := ts.form(t, "/subscriptions/confirm/"+fresh, nil); status != 200 || text(page.Find("h1")) != "You are subscribed" {
		t.Errorf("the fresh subscription's link: %d", status)
	}
}

func mustSubscriber(t *testing.T, ts *testServer, id string) store.Subscriber {
	t.Helper()
	sub, err := ts.store.GetSubscriber(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}
