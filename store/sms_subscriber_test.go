package store

import (
	"errors"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// A number that does not parse, is not valid, or costs more than a
// message or reaches no person is refused, naming the field phone.
func TestCheckPhone(t *testing.T) {
	t.Parallel()
	example := func(region string, kind phonenumbers.PhoneNumberType) string {
		n := phonenumbers.GetExampleNumberForType(region, kind)
		if n == nil {
			t.Fatalf("no %s example number of type %v", region, kind)
		}
		return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	}
	for raw, want := range map[string]string{
		"+33 6 12 34 56 78": "+33612345678",
		"0033612345678":     "+33612345678",
		" +1 650 253 0000 ": "+16502530000",
	} {
		if got, err := CheckPhone(raw); err != nil || got != want {
			t.Errorf("CheckPhone(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, bad := range []string{
		"", "hello", "06 12 34 56 78", "+999 123", "+44 7700 900123", "+4461",
		example("GB", phonenumbers.PREMIUM_RATE), example("US", phonenumbers.PREMIUM_RATE),
		example("FR", phonenumbers.SHARED_COST), example("ES", phonenumbers.SHARED_COST),
		"+1 22000", "+44 150", // short codes
	} {
		_, err := CheckPhone(bad)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "phone" || ve.Message == "" {
			t.Errorf("CheckPhone(%q) = %v, want a message on phone", bad, err)
		}
	}
}

// smsCodeOf is the code the last code message to a subscriber carries, as
// the sender reads it from the job.
func smsCodeOf(t *testing.T, st *Store, id string) string {
	t.Helper()
	var payload string
	if err := st.read.QueryRowContext(t.Context(), `SELECT payload FROM outbox_jobs WHERE kind = ? AND object_id = ? ORDER BY id DESC LIMIT 1`, JobSMSCode, id).Scan(&payload); err != nil {
		t.Fatalf("code job: %v", err)
	}
	j := Job{}
	if err := decodeJob(&j, "[]", payload); err != nil {
		t.Fatal(err)
	}
	return j.Payload.SMSCode
}

// A number subscribes, is sent a code, confirms with it (wrong codes
// counted), hears what its page shows, and stops; each bad input is
// refused and changes nothing.
func TestSMSSubscriberStore(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clock := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		web := mustCreateComponent(t, st, "Website")
		page, err := st.CreatePage(ctx, PageInput{Slug: "api", Name: "API status", Components: []string{api.ID}})
		if err != nil {
			t.Fatal(err)
		}
		const phone = "+33612345678"
		for _, bad := range []struct {
			in    SMSSubscriberInput
			field string
		}{
			{SMSSubscriberInput{Phone: "not a number"}, "phone"},
			{SMSSubscriberInput{Phone: "+44 909 879 0000"}, "phone"}, // premium rate
			{SMSSubscriberInput{Phone: "+1 22000"}, "phone"},         // short code
			{SMSSubscriberInput{Phone: phone, Components: []string{"nope"}}, "components"},
			{SMSSubscriberInput{Phone: phone, PageID: "nope"}, "page_id"},
			{SMSSubscriberInput{Phone: phone, PageID: page.ID, Components: []string{web.ID}}, "components"},
		} {
			before, jobs := countRows(t, st, "sms_subscribers"), countRows(t, st, "outbox_jobs")
			wantValidationError(t, st.SubscribeSMS(ctx, bad.in), bad.field)
			if countRows(t, st, "sms_subscribers") != before || countRows(t, st, "outbox_jobs") != jobs {
				t.Errorf("%+v wrote rows", bad.in)
			}
		}

		jobs := countRows(t, st, "outbox_jobs")
		if err := st.SubscribeSMS(ctx, SMSSubscriberInput{Phone: "+33 6 12 34 56 78", PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		// Again within the minute: no second code.
		if err := st.SubscribeSMS(ctx, SMSSubscriberInput{Phone: phone, PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, st, "outbox_jobs") - jobs; n != 1 {
			t.Fatalf("two sign-ups within a minute queued %d codes, want 1", n)
		}
		list, err := st.ListSMSSubscribers(ctx)
		if err != nil || len(list) != 1 || list[0].Phone != phone || list[0].Status != SMSPending || list[0].PageID != page.ID {
			t.Fatalf("after sign-up: %+v %v", list, err)
		}
		id := list[0].ID
		code := smsCodeOf(t, st, id)
		if len(code) != 6 {
			t.Fatalf("code %q", code)
		}
		var stored string
		if err := st.read.QueryRowContext(ctx, `SELECT code_hash FROM sms_subscribers WHERE id = ?`, id).Scan(&stored); err != nil || stored == code || stored == "" {
			t.Fatalf("the code is stored as %q (%v), want its hash", stored, err)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		// A wrong code is refused and counted; an unknown number gets the
		// same answer; a malformed code changes nothing.
		_, err = st.ConfirmSMS(ctx, page.ID, phone, wrong)
		wantValidationError(t, err, "code")
		_, err = st.ConfirmSMS(ctx, page.ID, "+16502530000", code)
		wantValidationError(t, err, "code")
		_, err = st.ConfirmSMS(ctx, page.ID, phone, "12ab")
		wantValidationError(t, err, "code")
		var tries int
		if err := st.read.QueryRowContext(ctx, `SELECT code_tries FROM sms_subscribers WHERE id = ?`, id).Scan(&tries); err != nil || tries != 1 {
			t.Fatalf("tries = %d (%v), want 1", tries, err)
		}
		// The right code confirms; used again, it is refused.
		sub, err := st.ConfirmSMS(ctx, page.ID, phone, code)
		if err != nil || sub.Status != SMSConfirmed {
			t.Fatalf("confirm: %+v %v", sub, err)
		}
		_, err = st.ConfirmSMS(ctx, page.ID, phone, code)
		wantValidationError(t, err, "code")

		// It hears of an incident its page shows, not of one it does not.
		expandJobs(t, st, ChannelSMS)
		mustCreateIncident(t, st, IncidentInput{Name: "Website down", Components: map[string]ComponentStatus{web.ID: MajorOutage}})
		mustCreateIncident(t, st, IncidentInput{Name: "API down", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		expandJobs(t, st, ChannelSMS)
		ds, err := st.ClaimDeliveries(ctx, ChannelSMS, "test", 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var incidents int
		for _, d := range ds {
			job, err := st.GetJob(ctx, d.JobID)
			if err != nil {
				t.Fatal(err)
			}
			if job.Kind == JobIncidentCreated {
				incidents++
				if job.Payload.Incident.Name != "API down" || d.Phone != phone || d.ManageToken == "" {
					t.Errorf("sms delivery %+v of %s", d, job.Payload.Incident.Name)
				}
			}
		}
		if incidents != 1 {
			t.Fatalf("%d incident messages, want 1 (API down)", incidents)
		}
		var results []DeliveryResult
		for _, d := range ds {
			r := DeliveryResult{Delivery: d, Outcome: Sent, Price: "-0.00750", PriceUnit: "USD"}
			if err := st.LogSMS(ctx, r, ""); err != nil {
				t.Fatal(err)
			}
			results = append(results, r)
		}
		if err := st.RecordResults(ctx, "test", results); err != nil {
			t.Fatal(err)
		}
		if got := smsCodeOf(t, st, id); got != "" {
			t.Errorf("the sent code is still in its job: %q", got)
		}
		list, _ = st.ListSMSSubscribers(ctx)
		if list[0].Sent != len(ds) || list[0].Cost != "0.0150 USD" {
			t.Errorf("sent %d cost %q, want %d and 0.0150 USD", list[0].Sent, list[0].Cost, len(ds))
		}

		// The stop link stops it; so does STOP from the number.
		stopped, err := st.StopSMSByLink(ctx, ds[0].ManageToken)
		if err != nil || stopped.Status != SMSStopped {
			t.Fatalf("stop by link: %+v %v", stopped, err)
		}
		if _, err := st.StopSMSByLink(ctx, ds[0].ManageToken+"x"); !errors.Is(err, ErrBadLink) {
			t.Errorf("a forged stop link: %v", err)
		}
		mustCreateIncident(t, st, IncidentInput{Name: "API down again", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		expandJobs(t, st, ChannelSMS)
		if ds, _ := st.ClaimDeliveries(ctx, ChannelSMS, "test", 100, time.Minute); len(ds) != 0 {
			t.Errorf("a stopped number was queued %d messages", len(ds))
		}

		// Subscribing again sends a new code (a minute on); too many wrong
		// tries, then an expired code, are refused.
		clock.Advance(SMSCodeInterval)
		if err := st.SubscribeSMS(ctx, SMSSubscriberInput{Phone: phone, PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		code = smsCodeOf(t, st, id)
		wrong = "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range SMSCodeTries {
			_, err = st.ConfirmSMS(ctx, page.ID, phone, wrong)
			wantValidationError(t, err, "code")
		}
		_, err = st.ConfirmSMS(ctx, page.ID, phone, code)
		wantValidationError(t, err, "code")
		clock.Advance(SMSCodeInterval)
		if err := st.SubscribeSMS(ctx, SMSSubscriberInput{Phone: phone, PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		code = smsCodeOf(t, st, id)
		clock.Advance(SMSCodeLifetime)
		_, err = st.ConfirmSMS(ctx, page.ID, phone, code)
		wantValidationError(t, err, "code")
		if list, _ := st.ListSMSSubscribers(ctx); list[0].Status != SMSPending {
			t.Errorf("after refused codes: %s", list[0].Status)
		}
		clock.Advance(SMSCodeInterval)
		if err := st.SubscribeSMS(ctx, SMSSubscriberInput{Phone: phone, PageID: page.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ConfirmSMS(ctx, page.ID, phone, smsCodeOf(t, st, id)); err != nil {
			t.Fatal(err)
		}
		if n, err := st.StopSMSNumber(ctx, "+33 6 12 34 56 78"); err != nil || n != 1 {
			t.Fatalf("STOP stopped %d (%v)", n, err)
		}
		if err := st.DeleteSMSSubscriber(ctx, id); err != nil {
			t.Fatal(err)
		}
		if list, _ := st.ListSMSSubscribers(ctx); len(list) != 0 {
			t.Errorf("after delete: %+v", list)
		}
	})
}
