package notify

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/herald-status/herald/store"
)

// What a subscriber's mail client sees: the headers that identify, thread
// and unsubscribe, and both parts from the templates.
func TestEmailHeadersAndParts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	api := mustComponent(t, st, "API")
	subscribers(t, st, 1)
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})

	inc := mustIncident(t, st, store.IncidentInput{Name: "Login failures", Body: "Logins fail for **75%** of users & we are on it.",
		Components: map[string]store.ComponentStatus{api.ID: store.MajorOutage}})
	if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Resolved, Body: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two messages", func() bool { return sink.received() == 2 })
	msgs := sink.messages()
	first, second := msgs[0], msgs[1]
	// Both share a subject; they may arrive in either order.
	if !strings.HasPrefix(first.Header.Get("Message-ID"), "<incident.") {
		first, second = second, first
	}
	subs, _ := st.ListSubscribers(ctx, store.SubscriberFilter{})
	manage, _, _ := st.SubscriberLinks(ctx, subs[0].ID)

	tests := []struct{ header, want string }{
		{"From", `"Acme Status" <status@acme.test>`},
		{"To", "<user0@example.com>"},
		{"Reply-To", "<support@acme.test>"},
		{"Subject", "[Acme] Login failures"},
		{"List-Unsubscribe", "<https://status.acme.test/subscriptions/unsubscribe/" + manage + ">"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
		{"MIME-Version", "1.0"},
	}
	for _, tt := range tests {
		if got := first.Header.Get(tt.header); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.header, got, tt.want)
		}
	}
	if _, err := mail.ParseDate(first.Header.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", first.Header.Get("Date"), err)
	}
	if first.From != "status@acme.test" || len(first.To) != 1 || first.To[0] != "user0@example.com" {
		t.Errorf("envelope %s → %v", first.From, first.To)
	}
	// Threading: the first message opens the thread, the next replies to it.
	root := first.Header.Get("Message-ID")
	if !strings.HasPrefix(root, "<incident."+inc.ID+".") || !strings.HasSuffix(root, "@acme.test>") {
		t.Errorf("first Message-ID %q is not the incident thread's root", root)
	}
	if first.Header.Get("In-Reply-To") != "" {
		t.Errorf("the first message replies to %q", first.Header.Get("In-Reply-To"))
	}
	if got := second.Header.Get("In-Reply-To"); got != root {
		t.Errorf("In-Reply-To %q, want %q", got, root)
	}
	if got := second.Header.Get("References"); got != root {
		t.Errorf("References %q, want %q", got, root)
	}
	if second.Header.Get("Message-ID") == root {
		t.Error("the reply reuses the root's Message-ID")
	}
	// Both parts, from the templates.
	for _, want := range []string{"Login failures", "Logins fail for **75%** of users & we are on it.", "API: Major Outage",
		"https://status.acme.test/incidents/" + inc.ID, "https://status.acme.test/subscriptions/manage/" + manage} {
		if !strings.Contains(first.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, first.Text)
		}
	}
	for _, want := range []string{"<strong>75%</strong>", "&amp; we are on it", `href="https://status.acme.test/subscriptions/unsubscribe/` + manage + `"`} {
		if !strings.Contains(first.HTML, want) {
			t.Errorf("HTML part lacks %q", want)
		}
	}
	if !strings.Contains(second.Text, "This incident has been resolved.") {
		t.Errorf("resolution text: %s", second.Text)
	}
}

// A line break in an incident name must not let it add headers: the store
// refuses control characters in names, so none reaches a Subject.
func TestEmailHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	var ve *store.ValidationError
	if _, err := st.CreateIncident(t.Context(), store.IncidentInput{Name: "Outage\r\nBcc: victim@evil.test\r\nX-Injected: yes", Body: "x"}); !errors.As(err, &ve) || ve.Field != "name" {
		t.Errorf("an incident name with CR LF: %v, want refused naming the name", err)
	}
	// Configuration is checked too.
	for _, from := range []string{"status@acme.test\r\nBcc: x@evil.test", "\"Acme\nBcc: x@evil.test\" <status@acme.test>"} {
		if _, err := New(st, Config{SMTP: &SMTPConfig{Host: "127.0.0.1", From: from}}); err == nil {
			t.Errorf("From %q accepted", from)
		}
	}
}

// Subscribers to some components hear only about what touches them.
func TestEmailComponentFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	api, web := mustComponent(t, st, "API"), mustComponent(t, st, "Website")
	if _, err := st.ImportSubscribers(ctx, []store.SubscriberInput{
		{Email: "all@example.com"}, {Email: "api@example.com", Components: []string{api.ID}}, {Email: "web@example.com", Components: []string{web.ID}},
	}); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	mustIncident(t, st, store.IncidentInput{Name: "API down", Components: map[string]store.ComponentStatus{api.ID: store.MajorOutage}})
	mustIncident(t, st, store.IncidentInput{Name: "Nothing in particular"})
	eventually(t, "the jobs to be sent", func() bool { return counts(t, st)["email/sent"] == 3 })
	got := map[string][]string{}
	for _, m := range sink.messages() {
		got[m.To[0]] = append(got[m.To[0]], m.Header.Get("Subject"))
	}
	want := map[string]string{"all@example.com": "[Acme] API down,[Acme] Nothing in particular", "api@example.com": "[Acme] API down", "web@example.com": ""}
	for addr, w := range want {
		if g := strings.Join(sortStrings(got[addr]), ","); g != w {
			t.Errorf("%s received %q, want %q", addr, g, w)
		}
	}
}

func sortStrings(s []string) []string { slices.Sort(s); return s }

// The commander's notify switch: an update posted quietly mails no one.
func TestEmailNotifyOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	subscribers(t, st, 3)
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	inc := mustIncident(t, st, store.IncidentInput{Name: "Slow", SkipNotify: true})
	if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Body: "Typo fixed.", SkipNotify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Resolved, Body: "Resolved."}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resolution to be sent", func() bool { return counts(t, st)["email/sent"] == 3 })
	for _, m := range sink.messages() {
		if !strings.Contains(m.Text, "resolved") {
			t.Errorf("a quiet update was mailed: %s", m.Text)
		}
	}
}

// Every TLS mode and AUTH mechanism against a real SMTP conversation, and
// connections reused across messages.
func TestSMTPModesAndAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mode string
		mechs      []string
		wantAuth   string
	}{
		{"plain text, no auth", "none", nil, ""},
		{"STARTTLS with AUTH PLAIN", "starttls", []string{"PLAIN", "LOGIN"}, "PLAIN:herald"},
		{"implicit TLS with AUTH LOGIN", "tls", []string{"LOGIN"}, "LOGIN:herald"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			o := sinkOptions{tls: tt.mode, mechs: tt.mechs}
			if tt.mode == "none" {
				o.tls = ""
			}
			if tt.wantAuth != "" {
				o.users = map[string]string{"herald": "s3cret"}
			}
			sink := newSMTPSink(t, o)
			cfg := sink.smtpConfig(tt.mode)
			cfg.Concurrency = 2
			if tt.wantAuth != "" {
				cfg.Username, cfg.Password = "herald", "s3cret"
			}
			subscribers(t, st, 40)
			startDispatcher(t, st, Config{SMTP: cfg})
			mustIncident(t, st, store.IncidentInput{Name: "Down"})
			eventually(t, "40 messages", func() bool { return counts(t, st)["email/sent"] == 40 })
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if sink.sessions > cfg.Concurrency {
				t.Errorf("%d connections for 40 messages with concurrency %d: connections are not reused", sink.sessions, cfg.Concurrency)
			}
			if tt.wantAuth != "" && (len(sink.auths) == 0 || sink.auths[0] != tt.wantAuth) {
				t.Errorf("auths %v, want %s", sink.auths, tt.wantAuth)
			}
		})
	}
}

// A 4xx is retried with backoff and then succeeds; a 5xx is a bounce, and
// an address that bounces BounceLimit times in a row is suspended.
func TestSMTPTemporaryAndPermanentFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	if _, err := st.ImportSubscribers(ctx, []store.SubscriberInput{{Email: "busy@example.com"}, {Email: "gone@example.com"}}); err != nil {
		t.Fatal(err)
	}
	busyTries := 0
	sink.refuse = func(rcpt string) error {
		switch rcpt {
		case "busy@example.com":
			busyTries++
			if busyTries == 1 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
			}
		case "gone@example.com":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	cfg := sink.smtpConfig("none")
	cfg.Retry = []time.Duration{50 * time.Millisecond}
	startDispatcher(t, st, Config{SMTP: cfg, Jitter: -1})
	for i := range store.BounceLimit {
		mustIncident(t, st, store.IncidentInput{Name: "Incident " + string(rune('A'+i))})
	}
	eventually(t, "busy to get all three after retries", func() bool {
		return sink.byRecipient()["busy@example.com"] == store.BounceLimit
	})
	eventually(t, "gone to be suspended", func() bool {
		subs, _ := st.ListSubscribers(ctx, store.SubscriberFilter{Status: store.SubscriberSuspended})
		return len(subs) == 1 && subs[0].Email == "gone@example.com"
	})
	eventually(t, "the outbox to record three sent and three bounced", func() bool {
		c := counts(t, st)
		return c["email/failed"] == store.BounceLimit && c["email/sent"] == store.BounceLimit
	})
	subs, _ := st.ListSubscribers(ctx, store.SubscriberFilter{Status: store.SubscriberSuspended})
	if !strings.Contains(subs[0].LastError, "no such user") || subs[0].Bounces != store.BounceLimit {
		t.Errorf("suspended subscriber %+v", subs[0])
	}
	// A suspended address is not mailed again.
	mustIncident(t, st, store.IncidentInput{Name: "After"})
	eventually(t, "busy to get the fourth", func() bool { return sink.byRecipient()["busy@example.com"] == store.BounceLimit+1 })
	if n := sink.byRecipient()["gone@example.com"]; n != 0 {
		t.Errorf("the refusing address accepted %d", n)
	}
}

// A relay that is down is retried: nothing is lost, nothing bounces.
func TestSMTPRelayDown(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	subscribers(t, st, 2)
	cfg := &SMTPConfig{Host: "127.0.0.1", Port: 1, TLS: "none", From: "status@acme.test", Timeout: time.Second, Retry: []time.Duration{time.Hour}}
	startDispatcher(t, st, Config{SMTP: cfg})
	mustIncident(t, st, store.IncidentInput{Name: "Down"})
	eventually(t, "both to be rescheduled", func() bool { return counts(t, st)["email/pending"] == 2 })
	subs, _ := st.ListSubscribers(context.Background(), store.SubscriberFilter{})
	for _, s := range subs {
		if s.Bounces != 0 || s.Status != store.SubscriberConfirmed {
			t.Errorf("a relay outage counted against %s: %+v", s.Email, s)
		}
	}
}

// Maintenance is announced when scheduled, when it starts (here by the
// clock) and when it completes, in one thread; a published postmortem is
// mailed into its incident's thread.
func TestEmailMaintenanceAndPostmortem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	subscribers(t, st, 1)
	db := mustComponent(t, st, "Database")
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})

	from := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	m, err := st.CreateMaintenance(ctx, store.MaintenanceInput{Name: "Database upgrade", Body: "Upgrading to 17.", Components: []string{db.ID},
		ScheduledFor: from, ScheduledUntil: from.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	st.SetClock(func() time.Time { return from.Add(time.Minute) })
	if n, err := st.AdvanceMaintenances(ctx); err != nil || n != 1 {
		t.Fatalf("AdvanceMaintenances = %d, %v", n, err)
	}
	if _, err := st.PostMaintenanceUpdate(ctx, m.ID, store.MaintenanceUpdateInput{Status: store.MaintenanceCompleted, Body: "Done."}); err != nil {
		t.Fatal(err)
	}
	inc := mustIncident(t, st, store.IncidentInput{Name: "Replica lag"})
	if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Resolved, Body: "Caught up.", SkipNotify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishPostmortem(ctx, inc.ID, "The replica ran out of IOPS."); err != nil {
		t.Fatal(err)
	}
	eventually(t, "five messages", func() bool { return counts(t, st)["email/sent"] == 5 })

	intros := map[string]string{}
	var root string
	for _, msg := range sink.messages() {
		for _, intro := range []string{"Maintenance has been scheduled.", "The scheduled maintenance has started.", "The scheduled maintenance has been completed.", "postmortem for this incident has been published"} {
			if strings.Contains(msg.Text, intro) {
				intros[intro] = msg.Header.Get("In-Reply-To") + "|" + msg.Header.Get("Message-ID")
			}
		}
		if strings.Contains(msg.Text, "Maintenance has been scheduled.") {
			root = msg.Header.Get("Message-ID")
			if msg.Header.Get("Subject") != "[Acme] Maintenance: Database upgrade" {
				t.Errorf("subject %q", msg.Header.Get("Subject"))
			}
		}
	}
	if len(intros) != 4 {
		t.Fatalf("messages seen: %v", intros)
	}
	for _, intro := range []string{"The scheduled maintenance has started.", "The scheduled maintenance has been completed."} {
		if !strings.HasPrefix(intros[intro], root+"|") {
			t.Errorf("%q is not in the maintenance thread %s: %s", intro, root, intros[intro])
		}
	}
	if !strings.HasPrefix(intros["postmortem for this incident has been published"], "<incident."+inc.ID+".") {
		t.Errorf("postmortem not threaded under its incident: %s", intros["postmortem for this incident has been published"])
	}
}

// A correction the commander chose to send says it is one, and carries the
// corrected text of the update it corrects, in the incident's thread.
func TestEmailCorrection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	subscribers(t, st, 1)
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})

	inc := mustIncident(t, st, store.IncidentInput{Name: "Login failures", Body: "Logins fail for 7.5% of users."})
	if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified, Body: "A bad deploy; rolling back."}); err != nil {
		t.Fatal(err)
	}
	first := inc.Updates[0]
	if _, err := st.EditIncidentUpdate(ctx, inc.ID, first.ID, store.UpdateEdit{Body: "Logins fail for 75% of users."}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EditIncidentUpdate(ctx, inc.ID, first.ID, store.UpdateEdit{Body: "Logins fail for 75% of users, on every platform.", Notify: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three messages", func() bool { return counts(t, st)["email/sent"] == 3 })
	var corrections []sinkMessage
	for _, m := range sink.messages() {
		if strings.Contains(m.Header.Get("Subject"), "Correction") {
			corrections = append(corrections, m)
		}
	}
	if len(corrections) != 1 {
		t.Fatalf("%d correction emails, want 1 (the quiet edit sends none)", len(corrections))
	}
	m := corrections[0]
	if got := m.Header.Get("Subject"); got != "[Acme] Correction: Login failures" {
		t.Errorf("subject %q", got)
	}
	if !strings.HasPrefix(m.Header.Get("In-Reply-To"), "<incident."+inc.ID+".") {
		t.Errorf("the correction is not in the incident's thread: In-Reply-To %q", m.Header.Get("In-Reply-To"))
	}
	for _, want := range []string{"A correction to an earlier update", "Logins fail for 75% of users, on every platform."} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("correction text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "rolling back") {
		t.Errorf("the correction carries the newest update instead of the corrected one:\n%s", m.Text)
	}
}
