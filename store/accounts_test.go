package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustCreateUser(t *testing.T, st *Store, email string, role Role) (User, string) {
	t.Helper()
	u, pw, err := st.CreateUser(t.Context(), UserInput{Email: email, Role: role})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u, pw
}

func TestUsersAndPasswords(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		u, pw := mustCreateUser(t, st, "  Alice@Example.COM ", RoleCommander)
		if u.Email != "alice@example.com" || !u.MustChangePassword || len(pw) < 20 {
			t.Fatalf("user %+v password %q: want a normalised email, a one-time password of 20+ characters", u, pw)
		}
		var hash string
		if err := st.read.QueryRowContext(t.Context(), `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$") || strings.Contains(hash, pw) {
			t.Errorf("stored hash %q: want an argon2id PHC string that does not contain the password", hash)
		}

		got, err := st.Authenticate(t.Context(), "ALICE@example.com", pw)
		if err != nil || got.ID != u.ID || got.LastSignInAt == nil {
			t.Fatalf("Authenticate with the one-time password = %+v, %v", got, err)
		}
		for name, try := range map[string][2]string{
			"wrong password": {"alice@example.com", pw + "x"},
			"unknown email":  {"nobody@example.com", pw},
			"empty":          {"", ""},
		} {
			if _, err := st.Authenticate(t.Context(), try[0], try[1]); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("%s: err = %v, want ErrBadCredentials", name, err)
			}
		}

		if _, _, err := st.CreateUser(t.Context(), UserInput{Email: "alice@EXAMPLE.com", Role: RoleViewer}); !isField(err, "email") {
			t.Errorf("duplicate email: err = %v, want a validation error on email", err)
		}
		for _, bad := range []UserInput{{Email: "not-an-email", Role: RoleViewer}, {Email: "Bob <bob@example.com>", Role: RoleViewer}, {Email: "b@example.com", Role: "root"}} {
			if _, _, err := st.CreateUser(t.Context(), bad); err == nil {
				t.Errorf("CreateUser(%+v) succeeded", bad)
			}
		}

		if err := st.ChangePassword(t.Context(), u.ID, "wrong", "a brand new passphrase", ""); !isField(err, "current_password") {
			t.Errorf("change with a wrong current password: %v", err)
		}
		if err := st.ChangePassword(t.Context(), u.ID, pw, "short", ""); !isField(err, "new_password") {
			t.Errorf("change to a short password: %v", err)
		}
		if err := st.ChangePassword(t.Context(), u.ID, pw, "a brand new passphrase", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(t.Context(), "alice@example.com", pw); !errors.Is(err, ErrBadCredentials) {
			t.Error("the one-time password still works after the change")
		}
		if got, err := st.Authenticate(t.Context(), "alice@example.com", "a brand new passphrase"); err != nil || got.MustChangePassword {
			t.Errorf("new password: %+v, %v", got, err)
		}

		if _, err := st.UpdateUser(t.Context(), u.ID, UserPatch{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(t.Context(), "alice@example.com", "a brand new passphrase"); !errors.Is(err, ErrBadCredentials) {
			t.Error("a disabled user can still sign in")
		}
	})
}

func isField(err error, field string) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Field == field
}

func TestLastAdminStays(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		admin, _ := mustCreateUser(t, st, "admin@example.com", RoleAdmin)
		var ce *ConflictError
		if _, err := st.UpdateUser(t.Context(), admin.ID, UserPatch{Role: ptr(RoleViewer)}); !errors.As(err, &ce) {
			t.Errorf("demoting the last admin: %v, want a conflict", err)
		}
		if _, err := st.UpdateUser(t.Context(), admin.ID, UserPatch{Disabled: ptr(true)}); !errors.As(err, &ce) {
			t.Errorf("disabling the last admin: %v, want a conflict", err)
		}
		mustCreateUser(t, st, "second@example.com", RoleAdmin)
		if _, err := st.UpdateUser(t.Context(), admin.ID, UserPatch{Role: ptr(RoleViewer)}); err != nil {
			t.Errorf("demoting one of two admins: %v", err)
		}
	})
}

func TestFirstAdminAdoptsTokens(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		tok, raw, err := st.CreateToken(t.Context(), "before accounts")
		if err != nil {
			t.Fatal(err)
		}
		if tok.UserID != "" || tok.EffectiveRole != RoleAdmin {
			t.Fatalf("token before any user: %+v, want unowned and admin", tok)
		}
		// A role given before any admin exists holds from the start.
		early, rawEarly, err := st.CreateUserToken(t.Context(), TokenInput{Name: "early viewer", Role: RoleViewer})
		if err != nil || early.UserID != "" || early.EffectiveRole != RoleViewer {
			t.Fatalf("viewer token before any user: %+v, %v; want unowned and viewer", early, err)
		}
		if got, err := st.AuthenticateToken(t.Context(), rawEarly); err != nil || got.EffectiveRole != RoleViewer {
			t.Fatalf("unowned viewer token authenticates as %+v, %v; want viewer", got, err)
		}
		admin, pw, created, err := st.EnsureFirstAdmin(t.Context(), "root@example.com")
		if err != nil || !created || admin.Role != RoleAdmin || pw == "" {
			t.Fatalf("EnsureFirstAdmin = %+v, %q, %v, %v", admin, pw, created, err)
		}
		if _, _, created, err := st.EnsureFirstAdmin(t.Context(), "other@example.com"); err != nil || created {
			t.Fatalf("second EnsureFirstAdmin created=%v err=%v, want nothing done", created, err)
		}
		got, err := st.AuthenticateToken(t.Context(), raw)
		if err != nil || got.UserID != admin.ID || got.UserEmail != "root@example.com" || got.EffectiveRole != RoleAdmin {
			t.Fatalf("adopted token = %+v, %v; want owned by the first admin", got, err)
		}
		// New tokens go to the first admin by default, and narrow by role.
		viewerTok, _, err := st.CreateUserToken(t.Context(), TokenInput{Name: "read only", UserID: admin.ID, Role: RoleViewer})
		if err != nil || viewerTok.EffectiveRole != RoleViewer {
			t.Fatalf("narrowed token = %+v, %v", viewerTok, err)
		}
		cmd, _ := mustCreateUser(t, st, "cmd@example.com", RoleCommander)
		broad, rawBroad, err := st.CreateUserToken(t.Context(), TokenInput{Name: "wants admin", UserID: cmd.ID, Role: RoleAdmin})
		if err != nil || broad.EffectiveRole != RoleCommander {
			t.Fatalf("a commander's admin token acts as %q (%v), want commander", broad.EffectiveRole, err)
		}
		if _, err := st.UpdateUser(t.Context(), cmd.ID, UserPatch{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AuthenticateToken(t.Context(), rawBroad); !errors.Is(err, ErrBadToken) {
			t.Errorf("a disabled user's token still works: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		u, _ := mustCreateUser(t, st, "a@example.com", RoleViewer)
		p := SessionPolicy{Idle: time.Hour, Max: 8 * time.Hour}
		raw, err := st.CreateSession(t.Context(), SessionInput{UserID: u.ID, IP: "192.0.2.1", UserAgent: "test"})
		if err != nil {
			t.Fatal(err)
		}
		var stored int
		if err := st.read.QueryRowContext(t.Context(), `SELECT count(*) FROM sessions WHERE id_hash = ?`, []byte(raw)).Scan(&stored); err != nil || stored != 0 {
			t.Errorf("the raw session id is stored (%d rows, %v)", stored, err)
		}
		if _, got, err := st.SessionUser(t.Context(), raw, p); err != nil || got.ID != u.ID {
			t.Fatalf("SessionUser = %+v, %v", got, err)
		}
		// Activity keeps it alive past the idle limit, not past the maximum.
		ended := false
		for range 12 {
			clk.Advance(50 * time.Minute)
			_, _, err := st.SessionUser(t.Context(), raw, p)
			age := clk.Now().Sub(t0)
			if err == nil && age > 8*time.Hour {
				t.Fatalf("session outlived its maximum age (%v)", age)
			}
			if err != nil {
				if age <= 8*time.Hour {
					t.Fatalf("active session ended after %v: %v", age, err)
				}
				ended = true
				break
			}
		}
		if !ended {
			t.Fatal("session never ended")
		}
		raw2, _ := st.CreateSession(t.Context(), SessionInput{UserID: u.ID})
		clk.Advance(61 * time.Minute)
		if _, _, err := st.SessionUser(t.Context(), raw2, p); !errors.Is(err, ErrNoSession) {
			t.Errorf("idle session: %v, want ErrNoSession", err)
		}
		// Rotation: the replaced id stops working.
		raw3, _ := st.CreateSession(t.Context(), SessionInput{UserID: u.ID})
		raw4, _ := st.CreateSession(t.Context(), SessionInput{UserID: u.ID, Replace: raw3})
		if _, _, err := st.SessionUser(t.Context(), raw3, p); !errors.Is(err, ErrNoSession) {
			t.Errorf("replaced session still works: %v", err)
		}
		if n, err := st.EndUserSessions(t.Context(), u.ID); err != nil || n != 1 {
			t.Errorf("EndUserSessions = %d, %v; want 1", n, err)
		}
		if _, _, err := st.SessionUser(t.Context(), raw4, p); !errors.Is(err, ErrNoSession) {
			t.Errorf("session survived sign-out everywhere: %v", err)
		}
	})
}

// A short idle timeout keeps an active user signed in: activity is written
// often enough for it (a quarter of it), not once a minute.
func TestShortSessionIdleKeepsActiveUsers(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		u, _ := mustCreateUser(t, st, "a@example.com", RoleViewer)
		p := SessionPolicy{Idle: 30 * time.Second, Max: time.Hour}
		raw, err := st.CreateSession(t.Context(), SessionInput{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		// A request every 20 seconds for five minutes.
		for i := range 15 {
			clk.Advance(20 * time.Second)
			if _, _, err := st.SessionUser(t.Context(), raw, p); err != nil {
				t.Fatalf("request %d, %v after sign-in, 20s after the last: %v", i+1, clk.Now().Sub(t0), err)
			}
		}
		clk.Advance(31 * time.Second)
		if _, _, err := st.SessionUser(t.Context(), raw, p); !errors.Is(err, ErrNoSession) {
			t.Errorf("after 31s idle with --session-idle 30s: %v, want signed out", err)
		}
	})
}

func TestPostmortemDraftAndPublish(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		c := mustCreateComponent(t, st, "API")
		inc, err := st.CreateIncident(t.Context(), IncidentInput{Name: "Down", Body: "Looking.", Components: map[string]ComponentStatus{c.ID: MajorOutage}})
		if err != nil {
			t.Fatal(err)
		}
		var ce *ConflictError
		if _, err := st.SavePostmortem(t.Context(), inc.ID, PostmortemInput{Body: "x"}); !errors.As(err, &ce) {
			t.Fatalf("postmortem on an open incident: %v", err)
		}
		if _, err := st.PostIncidentUpdate(t.Context(), inc.ID, IncidentUpdateInput{Status: Resolved, Body: "Fixed."}); err != nil {
			t.Fatal(err)
		}
		in := PostmortemInput{Body: "Summary.", RootCause: "A migration.", Resolution: "Rolled back.",
			Actions: []CorrectiveAction{{Description: "Test migrations", Owner: "Dana", DueDate: "2026-12-01"}, {}, {Description: "Alert sooner", Done: true}}}
		d, err := st.SavePostmortem(t.Context(), inc.ID, in)
		if err != nil || d.PublishedAt != nil || len(d.Actions) != 2 || d.Actions[0].Owner != "Dana" || !d.Actions[1].Done {
			t.Fatalf("draft = %+v, %v", d, err)
		}
		if got, _ := st.GetIncident(t.Context(), inc.ID); got.Postmortem != nil {
			t.Errorf("a draft shows on the incident: %+v", got.Postmortem)
		}
		bad := in
		bad.Actions = []CorrectiveAction{{Description: "x", DueDate: "next week"}}
		if _, err := st.SavePostmortem(t.Context(), inc.ID, bad); !isField(err, "actions.0.due_date") {
			t.Errorf("bad due date: %v", err)
		}
		in.Publish = true
		if _, err := st.SavePostmortem(t.Context(), inc.ID, in); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetIncident(t.Context(), inc.ID)
		if pm := got.Postmortem; pm == nil || pm.RootCause != "A migration." || pm.Resolution != "Rolled back." || len(pm.Actions) != 2 {
			t.Fatalf("published postmortem = %+v", got.Postmortem)
		}
		// Owners stay with the team: the draft the console edits has them,
		// the published postmortem (page, change feed) does not.
		if got.Postmortem.Actions[0].Owner != "" {
			t.Errorf("the published postmortem names the owner %q", got.Postmortem.Actions[0].Owner)
		}
		if d, _ := st.GetPostmortemDraft(t.Context(), inc.ID); d.Actions[0].Owner != "Dana" {
			t.Errorf("the draft lost its owner: %+v", d.Actions[0])
		}
		events, err := st.EventsSince(t.Context(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if strings.Contains(string(e.Payload), "Dana") {
				t.Errorf("change-feed event %s carries the owner: %s", e.Type, e.Payload)
			}
		}
		e := auditEntries(t, st)[0]
		var after PostmortemDraft
		if err := json.Unmarshal(e.After, &after); err != nil || e.Action != "incident.postmortem_published" || after.RootCause != "A migration." {
			t.Errorf("audit = %s %s", e.Action, e.After)
		}
	})
}

func TestMovesCancelTemplatesAndAuditQuery(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		a, b, c := mustCreateComponent(t, st, "A"), mustCreateComponent(t, st, "B"), mustCreateComponent(t, st, "C")
		if err := st.MoveComponent(t.Context(), c.ID, -1); err != nil {
			t.Fatal(err)
		}
		list, _ := st.ListComponents(t.Context())
		if names := []string{list[0].Name, list[1].Name, list[2].Name}; strings.Join(names, "") != "ACB" {
			t.Errorf("order after moving C up = %v", names)
		}
		if err := st.MoveComponent(t.Context(), a.ID, -1); err != nil {
			t.Errorf("moving the first up should do nothing: %v", err)
		}
		_ = b

		m, err := st.CreateMaintenance(t.Context(), MaintenanceInput{Name: "Upgrade", Body: "Planned.", ScheduledFor: time.Now().Add(time.Hour), ScheduledUntil: time.Now().Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CancelMaintenance(WithActor(t.Context(), Actor{Type: "user", ID: "u1", Name: "x@example.com"}), m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetMaintenance(t.Context(), m.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("cancelled maintenance still there: %v", err)
		}

		tp, err := st.CreateIncidentTemplate(t.Context(), IncidentTemplateInput{Name: "Errors", Title: "Elevated error rates", Body: "We are investigating."})
		if err != nil || tp.Status != Investigating {
			t.Fatalf("template %+v, %v", tp, err)
		}
		if _, err := st.CreateIncidentTemplate(t.Context(), IncidentTemplateInput{Name: "x", Body: "y", Status: "sleeping"}); !isField(err, "status") {
			t.Errorf("bad status: %v", err)
		}

		entries, err := st.QueryAuditLog(t.Context(), AuditFilter{ActorType: "user", ActorID: "u1"})
		if err != nil || len(entries) != 1 || entries[0].Action != "maintenance.cancel" || entries[0].Before == nil {
			t.Fatalf("audit by actor = %+v, %v", entries, err)
		}
		entries, _ = st.QueryAuditLog(t.Context(), AuditFilter{ObjectType: "incident_template"})
		if len(entries) != 1 || entries[0].ObjectID != tp.ID {
			t.Errorf("audit by object type = %+v", entries)
		}
		if entries, _ = st.QueryAuditLog(t.Context(), AuditFilter{Since: time.Now().Add(time.Hour)}); len(entries) != 0 {
			t.Errorf("audit from the future = %d entries", len(entries))
		}
		actors, err := st.AuditActors(t.Context())
		if err != nil || len(actors) != 2 {
			t.Errorf("actors = %+v, %v (want system and the user)", actors, err)
		}
	})
}
