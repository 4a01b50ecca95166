package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/notify/twiliotest"
	"github.com/herald-status/herald/store"
)

// withTwilio offers text messages, with Twilio's auth token for inbound
// messages.
func withTwilio(tw *twiliotest.Server) testOption {
	return func(s *testSetup) { s.cfg.SMS, s.cfg.TwilioAuthToken = true, tw.AuthToken }
}

func smsThrough(tw *twiliotest.Server) func(*notify.Config) {
	return func(cfg *notify.Config) {
		cfg.SMS = &notify.SMSConfig{Provider: &notify.Twilio{BaseURL: tw.URL, AccountSID: tw.AccountSID, AuthToken: tw.AuthToken, From: "+15005550006"},
			Retry: []time.Duration{}}
	}
}

var smsCodeRE = regexp.MustCompile(`\b\d{6}\b`)

// The whole SMS story through real parts: the subscribe page's phone form
// texts a code through Twilio's Messages API; a wrong code is refused and
// counted; the right one confirms; an incident is texted with its link;
// the number replies STOP through Twilio's signed inbound webhook; the
// next incident is not texted. A bad or missing signature changes nothing.
func TestSMSSubscribeThroughTwilio(t *testing.T) {
	t.Parallel()
	tw := twiliotest.Start(t, "AC"+strings.Repeat("1", 32), "twilio-auth-token")
	ts := newTestServer(t, withTwilio(tw))
	ts.startDispatcher(t, smsThrough(tw))
	api := ts.createComponent(t, "API", nil)

	form, _ := ts.getPage(t, "/subscribe")
	if form.Find(`form[action="/subscribe/sms"] input[name=phone]`).Length() != 1 {
		t.Fatal("the subscribe page offers no phone form")
	}
	// Bad numbers are refused on the form, naming what is wrong, and text
	// nothing.
	for raw, want := range map[string]string{
		"not a number":     "must start with +",
		"+44 909 879 0000": "premium-rate",
		"+1 22000":         "short code",
		"+33 6":            "not",
	} {
		doc, status := ts.form(t, "/subscribe/sms", url.Values{"phone": {raw}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(text(doc.Find("#phone-error")), want) {
			t.Errorf("%q: %d %q, want 422 saying %q", raw, status, text(doc.Find("#phone-error")), want)
		}
	}
	doc, status := ts.form(t, "/subscribe/sms", url.Values{"phone": {"+33 6 12 34 56 78"}})
	if status != http.StatusOK || !strings.Contains(text(doc.Find("main")), "If +33612345678 can receive our texts") || doc.Find(`input[name=code]`).Length() != 1 {
		t.Fatalf("sign-up: %d %q", status, text(doc.Find("main")))
	}
	ts.drainOutbox(t)
	msgs := tw.Messages()
	if len(msgs) != 1 || msgs[0].To != "+33612345678" {
		t.Fatalf("Twilio took %+v, want the code to +33612345678", msgs)
	}
	code := smsCodeRE.FindString(msgs[0].Body)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	doc, status = ts.form(t, "/subscribe/sms/confirm", url.Values{"phone": {"+33612345678"}, "code": {wrong}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(text(doc.Find("#code-error")), "4 tries left") {
		t.Fatalf("a wrong code: %d %q", status, text(doc.Find("#code-error")))
	}
	doc, status = ts.form(t, "/subscribe/sms/confirm", url.Values{"phone": {"+33612345678"}, "code": {code}})
	if status != http.StatusOK || !strings.Contains(text(doc.Find("h2")), "subscribed by text message") {
		t.Fatalf("the right code: %d %q", status, text(doc.Find("main")))
	}
	doc, status = ts.form(t, "/subscribe/sms/confirm", url.Values{"phone": {"+33612345678"}, "code": {code}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(text(doc.Find("#code-error")), "used already") {
		t.Fatalf("a reused code: %d %q", status, text(doc.Find("#code-error")))
	}

	inc := ts.createIncident(t, map[string]any{"name": "API down", "status": "investigating", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})
	ts.drainOutbox(t)
	msgs = tw.Messages()
	if len(msgs) != 2 || !strings.Contains(msgs[1].Body, "http://status.example.test/incidents/"+inc.ID) || !strings.Contains(msgs[1].Body, "Stop: http://status.example.test/s/") {
		t.Fatalf("the incident's message: %+v", msgs)
	}

	// Inbound STOP: unsigned or badly signed, it is refused and stops
	// nothing; signed as Twilio signs, it stops.
	inbound := "http://status.example.test/sms/twilio/inbound"
	for _, s := range []twiliotest.Signing{twiliotest.Unsigned, twiliotest.BadSig} {
		if resp := tw.Inbound(t, ts.URL+"/sms/twilio/inbound", inbound, "+33612345678", "+15005550006", "STOP", s); resp.StatusCode != http.StatusForbidden {
			t.Errorf("inbound with signing %d: %d, want 403", s, resp.StatusCode)
		}
	}
	// Signed for another URL (not Herald's --base-url) is a bad signature.
	if resp := tw.Inbound(t, ts.URL+"/sms/twilio/inbound", ts.URL+"/sms/twilio/inbound", "+33612345678", "+15005550006", "STOP", twiliotest.Signed); resp.StatusCode != http.StatusForbidden {
		t.Errorf("inbound signed for another URL: %d, want 403", resp.StatusCode)
	}
	if list, _ := ts.store.ListSMSSubscribers(t.Context()); list[0].Status != store.SMSConfirmed {
		t.Fatalf("refused webhooks changed the subscription: %s", list[0].Status)
	}
	if resp := tw.Inbound(t, ts.URL+"/sms/twilio/inbound", inbound, "+33612345678", "+15005550006", " stop ", twiliotest.Signed); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed STOP: %d", resp.StatusCode)
	}
	if list, _ := ts.store.ListSMSSubscribers(t.Context()); list[0].Status != store.SMSStopped {
		t.Fatalf("after STOP: %s", list[0].Status)
	}
	ts.createIncident(t, map[string]any{"name": "API down again", "status": "investigating", "body": "Again.", "components": map[string]string{api.ID: "major_outage"}})
	ts.drainOutbox(t)
	if n := len(tw.Messages()); n != 2 {
		t.Errorf("a stopped number was texted: %d messages, want 2", n)
	}

	// The console shows the number masked, its status, what was texted
	// and what Twilio said it cost; an admin removes it.
	admin := ts.signedIn(t, ts.addUser(t, "admin@example.com", store.RoleAdmin))
	page := admin.get("/console/subscribers")
	rows := page.Doc.Find(`section[aria-labelledby=sms-subs-heading] tbody tr`)
	if rows.Length() != 1 || !strings.Contains(text(rows), "+33•••••••78") || !strings.Contains(text(rows), "Stopped") || !strings.Contains(text(rows), "0.0150 USD") {
		t.Fatalf("console SMS rows %q", text(rows))
	}
	if strings.Contains(page.Body, "+33612345678") {
		t.Error("the console shows the whole number")
	}
	if got := text(page.Doc.Find("#sms-totals")); !strings.Contains(got, "2 sent") || !strings.Contains(got, "0.0150 USD") {
		t.Errorf("SMS totals %q", got)
	}
	action, _ := rows.Find("form").Attr("action")
	if p := admin.post(action, nil); p.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.Status)
	}
	if list, _ := ts.store.ListSMSSubscribers(t.Context()); len(list) != 0 {
		t.Errorf("after remove: %+v", list)
	}
}

// The stop link in a message: a GET shows a button and changes nothing; the
// POST stops; a forged link is 404.
func TestSMSStopLink(t *testing.T) {
	t.Parallel()
	tw := twiliotest.Start(t, "AC"+strings.Repeat("2", 32), "token")
	ts := newTestServer(t, withTwilio(tw))
	ts.startDispatcher(t, smsThrough(tw))
	api := ts.createComponent(t, "API", nil)
	ts.form(t, "/subscribe/sms", url.Values{"phone": {"+16502530000"}})
	ts.drainOutbox(t)
	if _, err := ts.store.ConfirmSMS(t.Context(), "", "+16502530000", smsCodeRE.FindString(tw.Messages()[0].Body)); err != nil {
		t.Fatal(err)
	}
	ts.createIncident(t, map[string]any{"name": "API down", "status": "investigating", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})
	ts.drainOutbox(t)
	body := tw.Messages()[1].Body
	link := body[strings.Index(body, "/s/"):]
	doc, status := ts.getPage(t, link)
	if status != http.StatusOK || doc.Find(`form[method=post] button`).Length() != 1 || !strings.Contains(text(doc.Find("main")), "+16•••••••00") {
		t.Fatalf("stop page: %d %q", status, text(doc.Find("main")))
	}
	if list, _ := ts.store.ListSMSSubscribers(t.Context()); list[0].Status != store.SMSConfirmed {
		t.Fatalf("opening the link made it %s", list[0].Status)
	}
	if _, status := ts.getPage(t, link+"x"); status != http.StatusNotFound {
		t.Errorf("a forged stop link: %d", status)
	}
	doc, status = ts.form(t, link, nil)
	if status != http.StatusOK || !strings.Contains(text(doc.Find("h1")), "stopped") {
		t.Fatalf("stop: %d %q", status, text(doc.Find("main")))
	}
	if list, _ := ts.store.ListSMSSubscribers(t.Context()); list[0].Status != store.SMSStopped {
		t.Fatalf("after stop: %s", list[0].Status)
	}
}
