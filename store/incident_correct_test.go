package store

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// A typo is corrected: the message changes, the update says when it was
// edited, the audit log keeps both texts, the live pages hear of it, and
// subscribers are told again only when the commander asks (as a
// correction).
func TestEditIncidentUpdate(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Body: "We are investigating.", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		inc = mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified, Body: "The cause is a bda deploy."})
		typo := inc.Updates[0]
		jobs, _ := st.PendingJobs(ctx)
		feed := lastEventID(t, st)

		at := clk.Advance(5 * time.Minute)
		after, err := st.EditIncidentUpdate(ctx, inc.ID, typo.ID, UpdateEdit{Body: "The cause is a bad deploy."})
		if err != nil {
			t.Fatalf("EditIncidentUpdate: %v", err)
		}
		u := after.Updates[0]
		if u.ID != typo.ID || u.Body != "The cause is a bad deploy." || u.EditedAt == nil || !u.EditedAt.Equal(at) || !u.CreatedAt.Equal(typo.CreatedAt) {
			t.Errorf("edited update = %+v, want the new text, edited at %v, posted when it was", u, at)
		}
		if u.Status != Identified || after.Status != Identified || statusOf(t, st, api.ID) != MajorOutage {
			t.Errorf("an edit changed status: update %s, incident %s, API %s", u.Status, after.Status, statusOf(t, st, api.ID))
		}
		if n, _ := st.PendingJobs(ctx); n != jobs {
			t.Errorf("%d jobs after a quiet correction, want %d: nobody is emailed twice about a typo", n, jobs)
		}
		if lastEventID(t, st) == feed {
			t.Error("the change feed did not carry the correction: open pages would keep the typo")
		}
		e := auditEntries(t, st)[0]
		if e.Action != "incident.update_edited" || e.ObjectID != inc.ID || !strings.Contains(string(e.Before), "bda deploy") || !strings.Contains(string(e.After), "bad deploy") {
			t.Errorf("audit entry = %s %s before %s after %s, want both texts", e.Action, e.ObjectID, e.Before, e.After)
		}

		// Told again, as a correction of that update.
		if _, err := st.EditIncidentUpdate(ctx, inc.ID, typo.ID, UpdateEdit{Body: "The cause is a bad deploy of the login service.", Notify: true}); err != nil {
			t.Fatal(err)
		}
		job, ok, err := st.ClaimJob(ctx, "test", time.Minute)
		for ok && err == nil && job.Payload.Correction == nil {
			job, ok, err = st.ClaimJob(ctx, "test", time.Minute)
		}
		if err != nil || !ok {
			t.Fatalf("no correction job queued (%v)", err)
		}
		if job.Kind != JobIncidentUpdated || job.Payload.Correction.ID != typo.ID || job.Payload.Correction.Body != "The cause is a bad deploy of the login service." {
			t.Errorf("correction job = %s %+v", job.Kind, job.Payload.Correction)
		}

		// The same text again is no change at all.
		before := tableCounts(t, st)
		if _, err := st.EditIncidentUpdate(ctx, inc.ID, typo.ID, UpdateEdit{Body: "  The cause is a bad deploy of the login service. "}); err != nil {
			t.Fatal(err)
		}
		wantUnchanged(t, st, before)
	})
}

func TestEditIncidentUpdateRefuses(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Body: "Looking."})
		other := mustCreateIncident(t, st, IncidentInput{Name: "Slow", Body: "Looking."})
		before := tableCounts(t, st)
		_, err := st.EditIncidentUpdate(ctx, inc.ID, inc.Updates[0].ID, UpdateEdit{Body: "  "})
		wantValidationError(t, err, "body")
		_, err = st.EditIncidentUpdate(ctx, inc.ID, inc.Updates[0].ID, UpdateEdit{Body: strings.Repeat("x", MaxBodyLength+1)})
		wantValidationError(t, err, "body")
		_, err = st.EditIncidentUpdate(ctx, inc.ID, other.Updates[0].ID, UpdateEdit{Body: "Not yours."})
		wantNotFound(t, err)
		_, err = st.EditIncidentUpdate(ctx, "nope", inc.Updates[0].ID, UpdateEdit{Body: "Gone."})
		wantNotFound(t, err)
		wantUnchanged(t, st, before)
	})
}

// An update posted twice is withdrawn with a reason: it leaves the
// timeline, the audit log keeps it and the reason, the incident and its
// components stay as they are; the first update cannot be withdrawn.
func TestDeleteIncidentUpdate(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		clk := useClock(st, t0)
		api := mustCreateComponent(t, st, "API")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Logins failing", Body: "Looking.", Components: map[string]ComponentStatus{api.ID: MajorOutage}})
		clk.Advance(time.Minute)
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified, Body: "Found it."})
		clk.Advance(time.Minute)
		twice := mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Identified, Body: "Found it.", Components: map[string]ComponentStatus{api.ID: PartialOutage}})

		before := tableCounts(t, st)
		_, err := st.DeleteIncidentUpdate(ctx, inc.ID, twice.Updates[0].ID, " ")
		wantValidationError(t, err, "reason")
		_, err = st.DeleteIncidentUpdate(ctx, inc.ID, inc.Updates[0].ID, "Opened by mistake.")
		wantConflict(t, err)
		wantUnchanged(t, st, before)

		after, err := st.DeleteIncidentUpdate(ctx, inc.ID, twice.Updates[0].ID, "Posted twice.")
		if err != nil {
			t.Fatalf("DeleteIncidentUpdate: %v", err)
		}
		if len(after.Updates) != 2 || after.Updates[0].Body != "Found it." || after.Updates[0].ID == twice.Updates[0].ID {
			t.Errorf("timeline after withdrawing = %+v, want the two other updates", after.Updates)
		}
		if after.Status != Identified || statusOf(t, st, api.ID) != PartialOutage {
			t.Errorf("withdrawing changed the incident (%s) or its component (%s)", after.Status, statusOf(t, st, api.ID))
		}
		got, _ := st.GetIncident(ctx, inc.ID)
		if len(got.Updates) != 2 {
			t.Errorf("a reader sees %d updates, want 2", len(got.Updates))
		}
		e := auditEntries(t, st)[0]
		var kept struct {
			Body   string `json:"body"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(e.Before, &kept); err != nil || e.Action != "incident.update_deleted" || kept.Body != "Found it." || kept.Reason != "Posted twice." {
			t.Errorf("audit entry = %s %s (%v), want the update and the reason", e.Action, e.Before, err)
		}
		_, err = st.DeleteIncidentUpdate(ctx, inc.ID, twice.Updates[0].ID, "Again.")
		wantNotFound(t, err)
		_, err = st.EditIncidentUpdate(ctx, inc.ID, twice.Updates[0].ID, UpdateEdit{Body: "Back?"})
		wantNotFound(t, err)

		// Resolving still hands the component back as before.
		mustPostUpdate(t, st, inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed."})
		wantStatus(t, st, api, Operational)
	})
}

// A form submitted twice (a double click, a retried request) makes one
// incident and one update; the key cannot be reused for another incident.
func TestSubmissionKey(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		st := newTestStore(t)
		first, err := st.CreateIncident(ctx, IncidentInput{Name: "Down", Body: "Looking.", Key: "form-1"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := st.CreateIncident(ctx, IncidentInput{Name: "Down", Body: "Looking.", Key: "form-1"})
		if err != nil || again.ID != first.ID {
			t.Fatalf("second submit = %s, %v; want the first incident %s", again.ID, err, first.ID)
		}
		if n := countRows(t, st, "incidents"); n != 1 {
			t.Errorf("%d incidents after a double submit, want 1", n)
		}

		var wg sync.WaitGroup
		results := make([]Incident, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = st.PostIncidentUpdate(ctx, first.ID, IncidentUpdateInput{Status: Identified, Body: "Found it.", Key: "form-2"})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("submit %d: %v", i, err)
			}
			if len(results[i].Updates) != 2 {
				t.Errorf("submit %d sees %d updates, want 2", i, len(results[i].Updates))
			}
		}
		if n := countRows(t, st, "incident_updates"); n != 2 {
			t.Errorf("%d updates after four submits of one form, want 2", n)
		}

		other := mustCreateIncident(t, st, IncidentInput{Name: "Slow", Body: "Looking."})
		before := tableCounts(t, st)
		_, err = st.PostIncidentUpdate(ctx, other.ID, IncidentUpdateInput{Body: "Wrong key.", Key: "form-2"})
		wantValidationError(t, err, "idempotency_key")
		_, err = st.PostIncidentUpdate(ctx, other.ID, IncidentUpdateInput{Body: "Long key.", Key: strings.Repeat("k", 201)})
		wantValidationError(t, err, "idempotency_key")
		wantUnchanged(t, st, before)
	})
}
