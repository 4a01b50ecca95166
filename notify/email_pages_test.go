package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// Each page's subscribers hear from their page: its name in the subject,
// links to it (at its own host when it has one), and nothing of what it
// does not show. An internal component's incident reaches the internal
// page's subscribers alone, and an update's internal note goes only to a
// private page's.
func TestEmailComesFromTheSubscribersPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	api := mustComponent(t, st, "API")
	db, err := st.CreateComponent(ctx, store.ComponentInput{Name: "Ledger", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := st.CreatePage(ctx, store.PageInput{Slug: "ops", Name: "Acme Operations", Host: "ops.acme.test", Components: []string{api.ID, db.ID}, Access: store.AccessIP, IPRanges: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSubscribers(ctx, []store.SubscriberInput{{Email: "pub@example.com"}, {Email: "ops@example.com", PageID: ops.ID}}); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	ledger := mustIncident(t, st, store.IncidentInput{Name: "Ledger lag", Body: "Behind by a minute.", Components: map[string]store.ComponentStatus{db.ID: store.DegradedPerformance}})
	mustIncident(t, st, store.IncidentInput{Name: "API errors", Body: "Some fail.", InternalNote: "Pool exhausted on api-7.", Components: map[string]store.ComponentStatus{api.ID: store.PartialOutage, db.ID: store.DegradedPerformance}})
	eventually(t, "three messages", func() bool { return counts(t, st)["email/sent"] == 3 })

	got := map[string][]string{}
	for _, m := range sink.messages() {
		got[m.To[0]] = append(got[m.To[0]], m.Header.Get("Subject"))
		if m.To[0] == "pub@example.com" && strings.Contains(m.Text+m.HTML, "Ledger") {
			t.Errorf("the default page's subscriber reads of the internal ledger:\n%s", m.Text)
		}
		// The internal note goes to the private page's subscriber alone.
		hasNote := strings.Contains(m.Text, "Pool exhausted on api-7.") && strings.Contains(m.HTML, "Pool exhausted on api-7.")
		if strings.Contains(m.Header.Get("Subject"), "API errors") && hasNote != (m.To[0] == "ops@example.com") {
			t.Errorf("%s got the internal note: %v", m.To[0], strings.Contains(m.Text+m.HTML, "api-7"))
		}
		if m.To[0] != "ops@example.com" {
			continue
		}
		subs, _ := st.ListSubscribers(ctx, store.SubscriberFilter{Email: "ops@"})
		manage, _, _ := st.SubscriberLinks(ctx, subs[0].ID)
		if want := "<https://ops.acme.test/p/ops/subscriptions/unsubscribe/" + manage + ">"; m.Header.Get("List-Unsubscribe") != want {
			t.Errorf("List-Unsubscribe %q, want %q", m.Header.Get("List-Unsubscribe"), want)
		}
		if strings.Contains(m.Header.Get("Subject"), "Ledger") && !strings.Contains(m.Text, "https://ops.acme.test/p/ops/incidents/"+ledger.ID) {
			t.Errorf("the ops page's email links elsewhere than its incident:\n%s", m.Text)
		}
		if strings.Contains(m.Text, "https://status.acme.test") {
			t.Errorf("the ops page's email links to the default page:\n%s", m.Text)
		}
	}
	if g, w := strings.Join(sortStrings(got["ops@example.com"]), ","), "[Acme Operations] API errors,[Acme Operations] Ledger lag"; g != w {
		t.Errorf("the ops page's subscriber got %q, want %q", g, w)
	}
	if g, w := strings.Join(got["pub@example.com"], ","), "[Acme] API errors"; g != w {
		t.Errorf("the default page's subscriber got %q, want %q (nothing of the internal ledger)", g, w)
	}
}
