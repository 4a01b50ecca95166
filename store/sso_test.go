package store

import (
	"errors"
	"testing"
	"time"
)

func ssoAudits(t *testing.T, st *Store, action string) []AuditEntry {
	t.Helper()
	all, err := st.QueryAuditLog(t.Context(), AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func wantRefusal(t *testing.T, err error, reason string) {
	t.Helper()
	var r *SSORefusal
	if !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("err = %v, want the refusal %q", err, reason)
	}
}

func TestSSOSignIn(t *testing.T) {
	backends(t, func(t *testing.T) {
		ctx := t.Context()
		const iss = "https://id.example.com"
		t.Run("creates an SSO user without a password, then follows the claims", func(t *testing.T) {
			st := newTestStore(t)
			u, err := st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "s1", Email: "Ana@Example.com", Name: "Ana", Role: RoleCommander})
			if err != nil {
				t.Fatal(err)
			}
			if !u.SSO || u.LocalPassword || u.MustChangePassword || u.Role != RoleCommander || u.Email != "ana@example.com" {
				t.Fatalf("created %+v", u)
			}
			if _, err := st.Authenticate(ctx, "ana@example.com", ""); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("password sign-in of an SSO user: %v", err)
			}
			// Demoted at the provider: the role drops at the next sign-in.
			u2, err := st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "s1", Email: "ana@example.com", Role: RoleViewer})
			if err != nil || u2.ID != u.ID || u2.Role != RoleViewer {
				t.Fatalf("second sign-in: %+v %v", u2, err)
			}
			if n := len(ssoAudits(t, st, "user.role_from_claims")); n != 1 {
				t.Fatalf("%d role changes audited, want 1", n)
			}
			if n := len(ssoAudits(t, st, "user.signin")); n != 2 {
				t.Fatalf("%d sign-ins audited, want 2", n)
			}
		})
		t.Run("refusals change nothing and are audited", func(t *testing.T) {
			st := newTestStore(t)
			before, _ := st.CountUsers(ctx)
			_, err := st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "s2", Email: "bo@example.com"})
			wantRefusal(t, err, SSOReasonNoRole)
			_, err = st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "s2", Email: "bo@other.com", Role: RoleViewer, CreateRefusal: SSOReasonNotAllowed})
			wantRefusal(t, err, SSOReasonNotAllowed)
			if after, _ := st.CountUsers(ctx); after != before {
				t.Fatalf("users %d → %d", before, after)
			}
			if n := len(ssoAudits(t, st, "user.sso_refused")); n != 2 {
				t.Fatalf("%d refusals audited, want 2", n)
			}
		})
		t.Run("links a local user by email, keeps the last admin", func(t *testing.T) {
			st := newTestStore(t)
			admin, _, err := st.CreateUser(ctx, UserInput{Email: "root@example.com", Role: RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			u, err := st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "s3", Email: "root@example.com", Role: RoleAdmin})
			if err != nil || u.ID != admin.ID || !u.SSO || !u.LocalPassword {
				t.Fatalf("linked: %+v %v", u, err)
			}
			_, err = st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "s3", Email: "root@example.com", Role: RoleViewer})
			wantRefusal(t, err, SSOReasonLastAdmin)
			if got, _ := st.GetUser(ctx, admin.ID); got.Role != RoleAdmin {
				t.Fatalf("role %s after a refused demotion", got.Role)
			}
			// Another identity claiming the linked email is not them.
			_, err = st.SignInSSO(ctx, SSOIdentity{Issuer: iss, Subject: "other", Email: "root@example.com", Role: RoleAdmin})
			wantRefusal(t, err, SSOReasonLinkedElse)
		})
		t.Run("a pending login is good once, in its own browser, for a while", func(t *testing.T) {
			st := newTestStore(t)
			clock := &testClock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
			st.SetClock(clock.Now)
			if err := st.BeginSSOLogin(ctx, "state1", "browser1", SSOLogin{Nonce: "n", Verifier: "v", Next: "/console"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.TakeSSOLogin(ctx, "state1", "browser2", iss); err == nil {
				t.Fatal("another browser took the login")
			}
			// That attempt used it up.
			_, err := st.TakeSSOLogin(ctx, "state1", "browser1", iss)
			wantRefusal(t, err, SSOReasonBadState)
			if err := st.BeginSSOLogin(ctx, "state2", "browser1", SSOLogin{Nonce: "n2", Verifier: "v2", Next: "/console/users"}); err != nil {
				t.Fatal(err)
			}
			l, err := st.TakeSSOLogin(ctx, "state2", "browser1", iss)
			if err != nil || l.Nonce != "n2" || l.Verifier != "v2" || l.Next != "/console/users" {
				t.Fatalf("took %+v %v", l, err)
			}
			_, err = st.TakeSSOLogin(ctx, "state2", "browser1", iss)
			wantRefusal(t, err, SSOReasonBadState)
			if err := st.BeginSSOLogin(ctx, "state3", "browser1", SSOLogin{Nonce: "n3"}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(SSOLoginTTL + time.Second)
			_, err = st.TakeSSOLogin(ctx, "state3", "browser1", iss)
			wantRefusal(t, err, SSOReasonBadState)
			if n := len(ssoAudits(t, st, "user.sso_refused")); n != 4 {
				t.Fatalf("%d refusals audited, want 4", n)
			}
		})
	})
}
