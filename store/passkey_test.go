package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustAddPasskey(t *testing.T, st *Store, userID string, id byte, name string) Passkey {
	t.Helper()
	p, err := st.AddPasskey(t.Context(), Passkey{ID: []byte{id, 1, 2, 3}, UserID: userID, Name: name, PublicKey: []byte("key"), SignCount: 5, Transports: []string{"usb", "nfc"}})
	if err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	return p
}

// What the database keeps of a passkey, and the rules only it can hold:
// a credential is registered once, to one user; a user has at most
// MaxPasskeys; the signature counter only goes up.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		ada, _ := mustCreateUser(t, st, "ada@example.com", RoleCommander)
		bob, _ := mustCreateUser(t, st, "bob@example.com", RoleViewer)

		key := mustAddPasskey(t, st, ada.ID, 1, "  YubiKey  ")
		got, err := st.ListPasskeys(ctx, ada.ID)
		if err != nil || len(got) != 1 {
			t.Fatalf("ListPasskeys = %v, %v", got, err)
		}
		if g := got[0]; g.Name != "YubiKey" || g.SignCount != 5 || strings.Join(g.Transports, ",") != "usb,nfc" || !g.CreatedAt.Equal(t0) || g.LastUsedAt != nil {
			t.Fatalf("stored passkey = %+v", g)
		}
		if has, err := st.HasFactor(ctx, ada.ID); err != nil || !has {
			t.Fatalf("HasFactor with a passkey = %v, %v", has, err)
		}
		wantLastAudit(t, st, ada.ID, "user.passkey_added", `"passkey":"YubiKey"`)

		// The same credential again, to anyone: refused, nothing added.
		for _, u := range []User{ada, bob} {
			_, err := st.AddPasskey(ctx, Passkey{ID: key.ID, UserID: u.ID, Name: "again", PublicKey: []byte("other")})
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("the same credential for %s: %v, want a conflict", u.Email, err)
			}
		}
		if n, _ := st.PasskeyCounts(ctx); n[ada.ID] != 1 || n[bob.ID] != 0 {
			t.Fatalf("counts after refused copies = %v", n)
		}
		wantLastAudit(t, st, bob.ID, "user.passkey_refused", "already registered")

		// Bad names and credentials.
		for _, p := range []Passkey{
			{ID: []byte{9}, UserID: ada.ID, Name: strings.Repeat("n", 61), PublicKey: []byte("k")},
			{ID: nil, UserID: ada.ID, Name: "empty", PublicKey: []byte("k")},
			{ID: []byte{9}, UserID: ada.ID, Name: "no key"},
		} {
			var ve *ValidationError
			if _, err := st.AddPasskey(ctx, p); !errors.As(err, &ve) {
				t.Fatalf("AddPasskey(%q) = %v, want a validation error", p.Name, err)
			}
		}

		// The counter: up is a sign-in; the same or lower is a copy.
		clock.Advance(time.Minute)
		if u, err := st.SignInWithPasskey(ctx, ada.ID, PasskeyUse{ID: key.ID, SignCount: 6}); err != nil || u.ID != ada.ID || u.LastSignInAt == nil {
			t.Fatalf("SignInWithPasskey(6) = %+v, %v", u, err)
		}
		wantLastAudit(t, st, ada.ID, "user.signin", `"method":"passkey"`)
		for _, count := range []uint32{6, 3, 0} {
			if _, err := st.SignInWithPasskey(ctx, ada.ID, PasskeyUse{ID: key.ID, SignCount: count}); !errors.Is(err, ErrPasskeyRefused) {
				t.Fatalf("SignInWithPasskey(%d) after 6 = %v, want refused", count, err)
			}
			wantLastAudit(t, st, ada.ID, "user.passkey_refused", "possible cloned key")
		}
		got, _ = st.ListPasskeys(ctx, ada.ID)
		if got[0].SignCount != 6 || got[0].LastUsedAt == nil || !got[0].LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("after the sign-ins: count %d, last used %v", got[0].SignCount, got[0].LastUsedAt)
		}
		// Someone else's credential does not sign in as ada.
		bobs := mustAddPasskey(t, st, bob.ID, 2, "Bob's")
		if _, err := st.SignInWithPasskey(ctx, ada.ID, PasskeyUse{ID: bobs.ID, SignCount: 99}); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("ada with bob's credential = %v", err)
		}
		// A key that keeps no counter (0 and 0, as synced passkeys do).
		synced, err := st.AddPasskey(ctx, Passkey{ID: []byte{3}, UserID: ada.ID, Name: "Phone", PublicKey: []byte("k")})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := st.SignInWithPasskey(ctx, ada.ID, PasskeyUse{ID: synced.ID, SignCount: 0}); err != nil {
				t.Fatalf("a counterless key: %v", err)
			}
		}
		// A disabled account does not sign in, whatever it holds.
		disabled := true
		if _, err := st.UpdateUser(ctx, bob.ID, UserPatch{Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SignInWithPasskey(ctx, bob.ID, PasskeyUse{ID: bobs.ID, SignCount: 99}); !errors.Is(err, ErrPasskeyRefused) {
			t.Fatalf("disabled bob = %v", err)
		}

		// At most MaxPasskeys.
		for i := 2; i < MaxPasskeys; i++ {
			mustAddPasskey(t, st, ada.ID, byte(100+i), fmt.Sprint("key ", i))
		}
		var ce *ConflictError
		if _, err := st.AddPasskey(ctx, Passkey{ID: []byte{200}, UserID: ada.ID, Name: "one more", PublicKey: []byte("k")}); !errors.As(err, &ce) {
			t.Fatalf("passkey %d = %v, want a conflict", MaxPasskeys+1, err)
		}

		// Removing: one's own only; an admin's reset takes them all.
		if err := st.RemovePasskey(ctx, ada, bobs.Key()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ada removing bob's passkey = %v, want not found", err)
		}
		if err := st.RemovePasskey(ctx, ada, key.Key()); err != nil {
			t.Fatal(err)
		}
		wantLastAudit(t, st, ada.ID, "user.passkey_removed", `"passkeys":19`)
		raw, err := st.CreateSession(ctx, SessionInput{UserID: ada.ID})
		if err != nil {
			t.Fatal(err)
		}
		if had, err := st.ResetFactors(ctx, ada.ID); err != nil || !had {
			t.Fatalf("ResetFactors = %v, %v", had, err)
		}
		if _, _, err := st.SessionUser(ctx, raw, SessionPolicy{}); !errors.Is(err, ErrNoSession) {
			t.Fatalf("a session after the reset: %v, want it ended", err)
		}
		if n, _ := st.PasskeyCounts(ctx); n[ada.ID] != 0 || n[bob.ID] != 1 {
			t.Fatalf("counts after ada's reset = %v", n)
		}
	})
}

// A role that must sign in with a second factor keeps one: its user's
// last passkey cannot be removed, and a passkey is enough to satisfy it.
func TestPasskeyIsASecondFactor(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		ctx := t.Context()
		ada, _ := mustCreateUser(t, st, "ada@example.com", RoleCommander)
		if err := st.SetFactorRequiredRoles(ctx, []Role{RoleCommander}); err != nil {
			t.Fatal(err)
		}
		if must, err := st.MustEnrolFactor(ctx, ada); err != nil || !must {
			t.Fatalf("MustEnrolFactor without a factor = %v, %v", must, err)
		}
		only := mustAddPasskey(t, st, ada.ID, 1, "only")
		if must, err := st.MustEnrolFactor(ctx, ada); err != nil || must {
			t.Fatalf("MustEnrolFactor with a passkey = %v, %v", must, err)
		}
		var ce *ConflictError
		if err := st.RemovePasskey(ctx, ada, only.Key()); !errors.As(err, &ce) {
			t.Fatalf("removing the last factor of a required role = %v, want a conflict", err)
		}
		spare := mustAddPasskey(t, st, ada.ID, 2, "spare")
		if err := st.RemovePasskey(ctx, ada, only.Key()); err != nil {
			t.Fatalf("removing one of two: %v", err)
		}

		// The second step of a sign-in, with the passkey: only the pending
		// user's, begun for that user.
		bob, _ := mustCreateUser(t, st, "bob@example.com", RoleViewer)
		tok, err := st.BeginPendingSignIn(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CompletePendingSignInPasskey(ctx, tok, bob.ID, PasskeyUse{ID: spare.ID, SignCount: 9}); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("a ceremony begun for bob = %v", err)
		}
		if u, err := st.CompletePendingSignInPasskey(ctx, tok, ada.ID, PasskeyUse{ID: spare.ID, SignCount: 9}); err != nil || u.ID != ada.ID {
			t.Fatalf("CompletePendingSignInPasskey = %v, %v", u.ID, err)
		}
		if _, err := st.CompletePendingSignInPasskey(ctx, tok, ada.ID, PasskeyUse{ID: spare.ID, SignCount: 10}); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("the pending sign-in again = %v, want it used up", err)
		}
	})
}

// Before adding a passkey the user proves it is them: the password, or
// the app's code when they have one. Wrong proofs are audited.
func TestPasskeyProof(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		ada, pw := mustCreateUser(t, st, "ada@example.com", RoleCommander)
		var ve *ValidationError
		if err := st.CheckProof(ctx, ada.ID, "not it", ProofAddPasskey); !errors.As(err, &ve) || ve.Field != "proof" {
			t.Fatalf("a wrong password = %v", err)
		}
		wantLastAudit(t, st, ada.ID, "user.proof_refused", "wrong password")
		if err := st.CheckProof(ctx, ada.ID, pw, ProofAddPasskey); err != nil {
			t.Fatalf("the password: %v", err)
		}
		secret, _ := mustEnrolTOTP(t, st, ada.ID)
		clock.Advance(totpPeriod * time.Second)
		if err := st.CheckProof(ctx, ada.ID, pw, ProofAddPasskey); !errors.As(err, &ve) {
			t.Fatalf("the password once an app is on = %v, want its code asked for", err)
		}
		code := mustCode(t, secret, st.Now())
		if err := st.CheckProof(ctx, ada.ID, code, ProofAddPasskey); err != nil {
			t.Fatalf("a current code: %v", err)
		}
		if err := st.CheckProof(ctx, ada.ID, code, ProofAddPasskey); !errors.As(err, &ve) {
			t.Fatalf("the same code again = %v, want it used up", err)
		}
	})
}

// A ceremony's challenge is good once, for minutes, in the browser that
// began it, for the ceremony it was begun for.
func TestWebAuthnCeremonies(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		begin := func(browser, kind string) {
			t.Helper()
			if err := st.BeginCeremony(ctx, browser, Ceremony{Kind: kind, UserID: "u1", SessionData: []byte(`{"challenge":"` + browser + `"}`)}); err != nil {
				t.Fatal(err)
			}
		}
		refused := func(browser, kind string) {
			t.Helper()
			if c, err := st.TakeCeremony(ctx, browser, kind); !errors.Is(err, ErrPasskeyRefused) {
				t.Fatalf("TakeCeremony(%q, %s) = %+v, %v, want refused", browser, kind, c, err)
			}
		}
		begin("a", CeremonySignIn)
		begin("b", CeremonyRegister)
		refused("c", CeremonySignIn) // another browser
		refused("", CeremonySignIn)
		c, err := st.TakeCeremony(ctx, "a", CeremonySignIn)
		if err != nil || string(c.SessionData) != `{"challenge":"a"}` || c.UserID != "u1" {
			t.Fatalf("TakeCeremony = %+v, %v", c, err)
		}
		refused("a", CeremonySignIn) // used
		refused("b", CeremonySignIn) // begun to register: and now used up too
		refused("b", CeremonyRegister)

		begin("a", CeremonySignIn)
		begin("a", CeremonySecondFactor) // a browser's new ceremony replaces its old
		refused("a", CeremonySignIn)
		begin("a", CeremonySignIn)
		clock.Advance(WebAuthnCeremonyTTL + time.Second)
		refused("a", CeremonySignIn) // too old
		// Two finishes racing with one cookie: one takes the challenge.
		begin("race", CeremonySignIn)
		var wg sync.WaitGroup
		var took atomic.Int32
		for range 2 {
			wg.Go(func() {
				if _, err := st.TakeCeremony(ctx, "race", CeremonySignIn); err == nil {
					took.Add(1)
				} else if !errors.Is(err, ErrPasskeyRefused) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if took.Load() != 1 {
			t.Fatalf("%d of two racing finishes took the challenge, want 1", took.Load())
		}
		clock.Advance(WebAuthnCeremonyTTL + time.Second)
		begin("d", CeremonySignIn) // and beginning prunes the old
		var n int
		if err := st.read.QueryRowContext(ctx, `SELECT count(*) FROM webauthn_ceremonies`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d ceremonies kept, %v; want the one begun last", n, err)
		}
	})
}
