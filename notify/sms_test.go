package notify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/herald-status/herald/notify/twiliotest"
	"github.com/herald-status/herald/store"
)

// Messages are GSM-7 when the text allows (typographic punctuation made
// plain), one segment when they fit, else cut at a word; the incident link
// and the stop link are always whole.
func TestSMSText(t *testing.T) {
	t.Parallel()
	const link, stop = "https://status.acme.test/incidents/abcdefghijkl", "https://status.acme.test/s/abcdefghijkl.0123456789abcdefghijklmn"
	short := smsText(chatMessage{Page: "Acme", Title: "API down", Status: "Investigating", Body: "We’re on it — “soon”…", Link: link}, stop)
	if n, gsm := smsSegments(short); !gsm || n > 2 || !strings.Contains(short, `We're on it - "soon"...`) {
		t.Errorf("short message %q: %d segments, GSM-7 %v", short, n, gsm)
	}
	tiny := smsText(chatMessage{Page: "Acme", Title: "API down", Link: "https://a.test/i/1"}, "https://a.test/s/x")
	if n, gsm := smsSegments(tiny); n != 1 || !gsm {
		t.Errorf("a short message takes %d segments: %q", n, tiny)
	}
	long := smsText(chatMessage{Page: "Acme", Title: "API down", Status: "Investigating", Body: strings.Repeat("Requests fail intermittently. ", 40), Link: link}, stop)
	if n, _ := smsSegments(long); n > 2 {
		t.Errorf("a long update takes %d segments: %q", n, long)
	}
	if !strings.HasSuffix(long, " "+link+" Stop: "+stop) || !strings.Contains(long, "...") {
		t.Errorf("a long update lost its links or its cut mark: %q", long)
	}
	uni := smsText(chatMessage{Page: "Acme", Title: "API 停止", Body: strings.Repeat("障害が発生しています。", 20), Link: link}, stop)
	if n, _ := smsSegments(uni); n > 2 || !strings.HasSuffix(uni, " "+link+" Stop: "+stop) {
		t.Errorf("a UCS-2 message: %d segments: %q", n, uni)
	}
	if c := smsCodeText("Acme", "123456"); !strings.Contains(c, "123456") {
		t.Errorf("code message %q", c)
	}
	if n, gsm := smsSegments(smsCodeText("Acme status", "123456")); n != 1 || !gsm {
		t.Errorf("the code message takes %d segments", n)
	}
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// A number subscribes; its code arrives through Twilio's Messages API; it
// confirms; an incident's messages arrive with their links and the price
// Twilio reports, until the per-incident cap skips (and counts) the rest.
func TestSMSThroughTwilio(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newStore(t)
	tw := twiliotest.Start(t, "AC"+strings.Repeat("0", 32), "token-secret")
	api := mustComponent(t, st, "API")
	startDispatcher(t, st, Config{SMS: &SMSConfig{
		Provider:       &Twilio{BaseURL: tw.URL, AccountSID: tw.AccountSID, AuthToken: tw.AuthToken, From: "+15005550006"},
		MaxPerIncident: 2,
	}})
	const phone = "+33612345678"
	if err := st.SubscribeSMS(ctx, store.SMSSubscriberInput{Phone: "+33 6 12 34 56 78"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the code message", func() bool { return len(tw.Messages()) == 1 })
	m := tw.Messages()[0]
	code := codeRE.FindString(m.Body)
	if m.To != phone || m.From != "+15005550006" || code == "" {
		t.Fatalf("code message %+v", m)
	}
	if _, err := st.ConfirmSMS(ctx, "", phone, code); err != nil {
		t.Fatal(err)
	}

	inc := mustIncident(t, st, store.IncidentInput{Name: "API down", Components: map[string]store.ComponentStatus{api.ID: store.MajorOutage}})
	eventually(t, "the incident's message", func() bool { return len(tw.Messages()) == 2 })
	m = tw.Messages()[1]
	if !strings.Contains(m.Body, "API down") || !strings.Contains(m.Body, "https://status.acme.test/incidents/"+inc.ID) ||
		!strings.Contains(m.Body, "Stop: https://status.acme.test/s/") {
		t.Errorf("incident message %q", m.Body)
	}
	for _, body := range []string{"Found it.", "Fixing it."} {
		if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a message sent and one skipped by the cap", func() bool {
		tot, err := st.SMSTotals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tot.Sent == 3 && tot.Skipped == 1
	})
	if n := len(tw.Messages()); n != 3 {
		t.Errorf("Twilio took %d messages, want 3", n)
	}
	tot, _ := st.SMSTotals(ctx)
	if tot.Cost != "0.0225 USD" {
		t.Errorf("cost %q, want 0.0225 USD", tot.Cost)
	}
	list, _ := st.ListSMSSubscribers(ctx)
	if len(list) != 1 || list[0].Sent != 3 || list[0].Cost != "0.0225 USD" {
		t.Errorf("subscriber %+v", list)
	}
}

// A generic gateway is called at its URL template, the number and the text
// URL-encoded into {to} and {message}; a 5xx is worth retrying, a 4xx not.
func TestSMSGateway(t *testing.T) {
	t.Parallel()
	var got []*http.Request
	status := http.StatusOK
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r)
		s := status
		mu.Unlock()
		w.WriteHeader(s)
	}))
	t.Cleanup(srv.Close)
	gw := &Gateway{URL: srv.URL + "/send?key=k&to={to}&text={message}", Method: "get"}
	if err := gw.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Send(t.Context(), "+33612345678", "API down & more: 100%"); err != nil {
		t.Fatal(err)
	}
	q := got[0].URL.Query()
	if got[0].Method != http.MethodGet || q.Get("to") != "+33612345678" || q.Get("text") != "API down & more: 100%" || q.Get("key") != "k" {
		t.Errorf("the gateway got %s %s", got[0].Method, got[0].URL)
	}
	for code, temporary := range map[int]bool{http.StatusServiceUnavailable: true, http.StatusTooManyRequests: true, http.StatusBadRequest: false} {
		mu.Lock()
		status = code
		mu.Unlock()
		_, err := gw.Send(t.Context(), "+33612345678", "x")
		var se *SMSError
		if !errors.As(err, &se) || se.Temporary != temporary || se.Status != code || strings.Contains(se.Error(), "key=k") {
			t.Errorf("answer %d: %v, want temporary %v and no URL", code, err, temporary)
		}
	}
	for _, bad := range []Gateway{{URL: "https://sms.example/send?to={to}"}, {URL: "ftp://x/{to}/{message}"}, {URL: "https://x/{to}/{message}", Method: "PUT"}} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v passes", bad)
		}
	}
}
