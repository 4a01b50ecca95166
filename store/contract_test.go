package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// recordingDialect is SQLite's dialect that also notes which hooks of the
// concurrency contract a transaction reached, so that every check-then-
// write rule can be seen to take its lock: on a backend with concurrent
// writers that lock is all that keeps the rule true.
type recordingDialect struct {
	sqliteDialect
	mu     sync.Mutex
	locks  []string
	claims int
}

func (d *recordingDialect) lock(t *tx, kind, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.locks = append(d.locks, kind)
	return nil
}

func (d *recordingDialect) claimSuffix() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.claims++
	return ""
}

func (d *recordingDialect) take() (locks []string, claims int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	locks, claims = d.locks, d.claims
	d.locks, d.claims = nil, 0
	return locks, claims
}

func TestCheckThenWriteRulesTakeTheirLock(t *testing.T) {
	{
		st := newTestStore(t)
		rec := &recordingDialect{}
		st.dialect = rec
		ctx := t.Context()
		admin, _, err := st.CreateUser(ctx, UserInput{Email: "admin@example.com", Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		c := mustCreateComponent(t, st, "API")
		inc := mustCreateIncident(t, st, IncidentInput{Name: "Down", Components: map[string]ComponentStatus{c.ID: MajorOutage}})
		m := mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{c.ID}, ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)})
		draft := mustDraft(t, st)
		// Due to start: within the grace a start "now" is given.
		mustCreateMaintenance(t, st, MaintenanceInput{Components: []string{c.ID}, ScheduledFor: time.Now().Add(-20 * time.Second), ScheduledUntil: time.Now().Add(time.Hour)})
		rec.take()

		rules := []struct {
			rule string
			do   func(context.Context) error
			want string // the lock it must take
		}{
			{"the last active admin stays", func(ctx context.Context) error {
				_, err := st.UpdateUser(ctx, admin.ID, UserPatch{Role: ptr(RoleViewer)})
				wantConflict(t, err)
				return nil
			}, "user"},
			{"one user per address", func(ctx context.Context) error {
				_, _, err := st.CreateUser(ctx, UserInput{Email: "second@example.com", Role: RoleViewer})
				return err
			}, "user_email"},
			{"one subscriber per address (form)", func(ctx context.Context) error {
				return st.SubscribeEmail(ctx, SubscriberInput{Email: "reader@example.com"})
			}, "subscriber_email"},
			{"one subscriber per address (API)", func(ctx context.Context) error {
				_, err := st.AddSubscriber(ctx, SubscriberInput{Email: "other@example.com"})
				return err
			}, "subscriber_email"},
			{"a maintenance moves forward once", func(ctx context.Context) error {
				_, err := st.PostMaintenanceUpdate(ctx, m.ID, MaintenanceUpdateInput{Status: MaintenanceInProgress, Body: "Started."})
				return err
			}, "maintenance"},
			{"the clock moves maintenance once", func(ctx context.Context) error {
				_, err := st.AdvanceMaintenances(ctx)
				return err
			}, "maintenance"},
			{"components return to rest only when free", func(ctx context.Context) error {
				_, err := st.PostIncidentUpdate(ctx, inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed."})
				return err
			}, "component"},
			{"component names differ within a group", func(ctx context.Context) error {
				_, err := st.CreateComponent(ctx, ComponentInput{Name: "Web"})
				return err
			}, "component_name"},
			{"a draft is published once", func(ctx context.Context) error {
				_, err := st.PublishDraft(ctx, draft, DraftPublication{})
				return err
			}, "incident_draft"},
			{"a branding patch reads what it changes", func(ctx context.Context) error {
				_, err := st.SaveBranding(ctx, "", BrandingPatch{Footer: ptr("Footer")})
				return err
			}, brandingLock},
		}
		for _, r := range rules {
			t.Run(r.rule, func(t *testing.T) {
				if err := r.do(ctx); err != nil {
					t.Fatal(err)
				}
				if locks, _ := rec.take(); !slices.Contains(locks, r.want) {
					t.Errorf("locks taken %q, want one on %q", locks, r.want)
				}
			})
		}

		t.Run("jobs and deliveries are claimed through the one claim", func(t *testing.T) {
			if _, _, err := st.ClaimJob(ctx, "me", time.Minute); err != nil {
				t.Fatal(err)
			}
			if _, err := st.ClaimDeliveries(ctx, ChannelEmail, "me", 10, time.Minute); err != nil {
				t.Fatal(err)
			}
			// A job; deliveries of their own, then a batch of an email
			// fan-out (none here).
			if _, claims := rec.take(); claims != 3 {
				t.Errorf("%d claims went through claimIDs, want 3", claims)
			}
		})
	}
}

// mustDraft has Alertmanager open a draft incident and returns its id.
func mustDraft(t *testing.T, st *Store) string {
	t.Helper()
	return mustDraftOf(t, st, "g", "Checkout failing", "Checkout")
}
