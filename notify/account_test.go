package notify

import (
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// An admin resets a user's second factors: the user is told by email, over
// a real SMTP conversation, who did it and what went, whatever their role
// and whatever team emails they chose; a reset that took nothing away, or
// of a disabled account, sends nothing.
func TestFactorResetTellsTheUser(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ctx := t.Context()
	admin, _, err := st.CreateUser(ctx, store.UserInput{Email: "ann@acme.test", Name: "Ann Admin", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	vic, _, err := st.CreateUser(ctx, store.UserInput{Email: "vic@acme.test", Role: store.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.BeginTOTP(ctx, vic.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := store.TOTPCode(e.Secret, st.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConfirmTOTP(ctx, vic.ID, code); err != nil {
		t.Fatal(err)
	}
	for _, id := range []byte{1, 2} {
		if _, err := st.AddPasskey(ctx, store.Passkey{ID: []byte{id}, UserID: vic.ID, Name: "key", PublicKey: []byte("k")}); err != nil {
			t.Fatal(err)
		}
	}
	asAdmin := store.WithActor(ctx, admin.Actor())
	if had, err := st.ResetFactors(asAdmin, vic.ID); err != nil || !had {
		t.Fatalf("ResetFactors = %v, %v", had, err)
	}
	// Nothing left to reset: nothing to tell.
	if had, err := st.ResetFactors(asAdmin, vic.ID); err != nil || had {
		t.Fatalf("ResetFactors again = %v, %v", had, err)
	}

	// A disabled account is not written to.
	dan, _, err := st.CreateUser(ctx, store.UserInput{Email: "dan@acme.test", Role: store.RoleCommander})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddPasskey(ctx, store.Passkey{ID: []byte{3}, UserID: dan.ID, Name: "key", PublicKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResetFactors(asAdmin, dan.ID); err != nil {
		t.Fatal(err)
	}
	disabled := true
	if _, err := st.UpdateUser(asAdmin, dan.ID, store.UserPatch{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}

	sink := newSMTPSink(t, sinkOptions{})
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	eventually(t, "the notices to be sent or skipped", func() bool { c := counts(t, st); return c["email/sent"] == 1 && c["email/skipped"] == 1 })
	msgs := sink.messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != vic.Email {
		t.Fatalf("messages: %+v", msgs)
	}
	m := msgs[0]
	if subj := m.Header.Get("Subject"); subj != "[Acme] Your second factors were reset" {
		t.Errorf("subject %q", subj)
	}
	for _, want := range []string{"ann@acme.test reset the second factors of your account vic@acme.test", "your authenticator app and its recovery codes and your 2 passkeys",
		"https://status.acme.test/console/account/two-factor", "about your account on the Acme console"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(strings.Join(strings.Fields(m.HTML), " "), strings.Fields(want)[0]) {
			t.Errorf("the notice does not say %q:\n%s", want, m.Text)
		}
	}
	if m.Header.Get("List-Unsubscribe") != "" {
		t.Error("an account notice carries List-Unsubscribe")
	}
}
