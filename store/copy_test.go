package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store/pgtest"
)

// fillEveryTable writes something into every table, through the store as a
// user would, so that a copy has every kind of row to carry.
func fillEveryTable(t *testing.T, st *Store) {
	t.Helper()
	ctx := t.Context()
	g := mustCreateGroup(t, st, "Core")
	api := mustCreateComponentIn(t, st, "API", g.ID)
	web := mustCreateComponent(t, st, "Web")
	customers, err := st.CreatePage(ctx, PageInput{Slug: "customers", Name: "Customers", Host: "status.customer.example", Components: []string{web.ID}, Groups: []string{g.ID}})
	if err != nil {
		t.Fatal(err)
	}
	mustCreateIncident(t, st, IncidentInput{Name: "For customers", Body: "Only there.", Pages: []string{customers.ID}})
	viewers, err := st.CreatePage(ctx, PageInput{Slug: "partners", Name: "Partners", Access: AccessEmail, Viewers: []string{"@partner.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ana@partner.example", "bo@partner.example"} {
		if _, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: viewers.ID, Email: email, LinkBase: "https://status.example/p/partners"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.TakeViewerLink(ctx, viewers.ID, mintNewestLink(t, st)); err != nil {
		t.Fatal(err)
	}
	logo := testPNG(t, 8, 4)
	if _, err := st.SaveBranding(ctx, customers.ID, BrandingPatch{Accent: ptr("#0a6e31"), Footer: ptr("Customers' footer"), Logo: &logo}); err != nil {
		t.Fatal(err)
	}
	inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Body: "Looking.", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
	mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed."})
	if _, err := st.SavePostmortem(ctx, inc.ID, PostmortemInput{Body: "What happened.", RootCause: "A migration.", Publish: true,
		Actions: []CorrectiveAction{{Description: "Review migrations", Owner: "Ops", DueDate: "2026-12-31", Done: true}}}); err != nil {
		t.Fatal(err)
	}
	mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{web.ID}, Pages: []string{customers.ID}, ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)})
	called := mustCreateMaintenance(t, st, MaintenanceInput{Name: "Called off", Components: []string{web.ID}, ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)})
	if err := st.CancelMaintenance(ctx, called.ID); err != nil {
		t.Fatal(err)
	}
	u, _, err := st.CreateUser(ctx, UserInput{Email: "alice@example.com", Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, SessionInput{UserID: u.ID, IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	mustCreateToken(t, st, "ci")
	mustEnrolTOTP(t, st, u.ID)
	if _, err := st.BeginPendingSignIn(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddPasskey(ctx, Passkey{ID: []byte{1, 2, 3}, UserID: u.ID, Name: "key", PublicKey: []byte("k"), SignCount: 7, Transports: []string{"usb"}, AAGUID: []byte{9}}); err != nil {
		t.Fatal(err)
	}
	if err := st.BeginCeremony(ctx, "browser", Ceremony{Kind: CeremonySignIn, SessionData: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := st.BeginSSOLogin(ctx, "state", "browser", SSOLogin{Nonce: "n", Verifier: "v", Next: "/console"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SignInSSO(ctx, SSOIdentity{Issuer: "https://id.example.com", Subject: "s1", Email: "sso@example.com", Role: RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetFactorRequiredRoles(ctx, []Role{RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddSubscriber(ctx, SubscriberInput{Email: "reader@example.com", Components: []string{api.ID}, Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	// An SMS subscriber, and a message logged to it.
	if err := st.SubscribeSMS(ctx, SMSSubscriberInput{Phone: "+33612345678"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.write.ExecContext(ctx, `INSERT INTO sms_log (subscriber_id, price, price_unit, created_at) SELECT id, '-0.0075', 'USD', created_at FROM sms_subscribers`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateWebhook(ctx, WebhookInput{URL: "https://hooks.example.com/x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateIncidentTemplate(ctx, IncidentTemplateInput{Name: "Outage", Body: "We are looking into it."}); err != nil {
		t.Fatal(err)
	}
	mustDraft(t, st)
	if _, err := st.SaveEscalationPolicy(ctx, DefaultEscalationPolicy(), DefaultEscalationPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Attempt(ctx, Limit{Key: "subscribe:192.0.2.1", Max: 5, Window: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// Expand the jobs into deliveries and batches, and record a webhook
	// attempt.
	for {
		job, ok, err := st.ClaimJob(ctx, "x", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		for done := false; !done; {
			if _, done, err = st.ExpandJob(ctx, job.ID, "x", 100, time.Minute, []string{ChannelEmail, ChannelWebhook}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ds, err := st.ClaimDeliveries(ctx, ChannelWebhook, "x", 10, time.Minute)
	if err != nil || len(ds) == 0 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(ds), err)
	}
	if err := st.RecordResults(ctx, "x", []DeliveryResult{{Delivery: ds[0], Outcome: Retry, RetryIn: time.Minute, Status: 503, Error: "busy"}}); err != nil {
		t.Fatal(err)
	}
	for _, table := range copyOrder {
		if countRows(t, st, table) == 0 {
			t.Fatalf("the fixture left %s empty: a copy test would not see it carried", table)
		}
	}
}

// dump reads every table as text, ordered, in a form both backends agree
// on: booleans as true/false, times in UTC to the microsecond.
func dump(t *testing.T, st *Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range copyOrder {
		rows, err := st.read.QueryContext(t.Context(), `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		bools := map[string]bool{"all_components": true, "must_change_password": true, "auto_transition": true, "email": table == "outbox_jobs", "webhook": table == "outbox_jobs", "sms": table == "outbox_jobs", "done": true, "firing": true, "deliver_notifications": true, "notify_drafts": true, "notify_overdue": true, "maintenance_reminders": true, "internal": table == "components"}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var fields []string
			for i, v := range vals {
				switch x := v.(type) {
				case time.Time:
					v = x.UTC().Format("2006-01-02T15:04:05.000000Z")
				case int64:
					if bools[cols[i]] {
						v = x != 0
					}
				case []byte:
					v = fmt.Sprintf("%x", x)
				}
				fields = append(fields, cols[i]+"="+fmt.Sprint(v))
			}
			out[table] = append(out[table], strings.Join(sorted(fields), " "))
		}
		rows.Close()
		out[table] = sorted(out[table])
	}
	return out
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// A deployment moves from SQLite to PostgreSQL and back with every row,
// id, time, hash and sequence intact: the copy reads the same, a link
// mailed before still opens, and the change feed goes on from where it was.
func TestCopyBetweenBackends(t *testing.T) {
	pg := pgtest.Start(t)
	src := newTestStore(t)
	fillEveryTable(t, src)
	want := dump(t, src)

	mid := openTestStore(t, pg.NewDatabase(t))
	counts, err := src.CopyTo(t.Context(), mid)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Rows != len(want[c.Table]) {
			t.Errorf("copied %d rows of %s, want %d", c.Rows, c.Table, len(want[c.Table]))
		}
	}
	back := newTestStore(t)
	if _, err := mid.CopyTo(t.Context(), back); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*Store{"postgres": mid, "sqlite again": back} {
		got := dump(t, st)
		for _, table := range copyOrder {
			if !reflect.DeepEqual(got[table], want[table]) {
				t.Errorf("%s: table %s differs:\n got %q\nwant %q", name, table, got[table], want[table])
			}
		}
		subs, err := st.ListSubscribers(t.Context(), SubscriberFilter{})
		if err != nil || len(subs) != 1 {
			t.Fatalf("%s: subscribers %v, %v", name, subs, err)
		}
		manage, _, err := src.SubscriberLinks(t.Context(), subs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SubscriberByLink(t.Context(), manage); err != nil {
			t.Errorf("%s: a preferences link mailed before the move no longer opens: %v", name, err)
		}
		last := lastEventID(t, st)
		mustCreateComponent(t, st, "After the move "+name)
		if next := lastEventID(t, st); next != last+1 {
			t.Errorf("%s: the feed went from %d to %d, want it to go on at %d", name, last, next, last+1)
		}
	}

	t.Run("a database that is not empty is refused and left alone", func(t *testing.T) {
		before := dump(t, mid)
		if _, err := src.CopyTo(t.Context(), mid); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("copy into a used database: %v, want it refused as not empty", err)
		}
		if after := dump(t, mid); !reflect.DeepEqual(before, after) {
			t.Error("the refused copy changed the destination")
		}
	})
}

// Copy knows every table the migrations make, on both backends.
func TestCopyKnowsEveryTable(t *testing.T) {
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		if err := st.knowsEveryTable(t.Context()); err != nil {
			t.Error(err)
		}
		tables, _ := st.dialect.tables(t.Context(), st)
		if len(tables) != len(copyOrder)+len(notCopied) {
			t.Errorf("%d tables, Copy knows %d (+ %v)", len(tables), len(copyOrder), notCopied)
		}
	})
}
