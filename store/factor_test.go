package store

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"hash"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mustEnrolTOTP gives a user a confirmed TOTP factor and returns its
// secret and recovery codes.
func mustEnrolTOTP(t *testing.T, st *Store, userID string) (string, []string) {
	t.Helper()
	e, err := st.BeginTOTP(t.Context(), userID)
	if err != nil {
		t.Fatalf("BeginTOTP: %v", err)
	}
	codes, err := st.ConfirmTOTP(t.Context(), userID, mustCode(t, e.Secret, st.Now()))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	return e.Secret, codes
}

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := TOTPCode(secret, at)
	if err != nil {
		t.Fatalf("TOTPCode: %v", err)
	}
	return c
}

// RFC 4226 appendix D and RFC 6238 appendix B: the published test vectors.
func TestOTPAgainstTheRFCVectors(t *testing.T) {
	t.Parallel()
	seed := []byte("12345678901234567890")
	for i, want := range []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"} {
		if got := hotp(sha1.New, seed, uint64(i), 6); got != want {
			t.Errorf("HOTP count %d = %s, want %s", i, got, want)
		}
	}
	seeds := map[string]struct {
		h    func() hash.Hash
		seed string
	}{
		"SHA1":   {sha1.New, "12345678901234567890"},
		"SHA256": {sha256.New, "12345678901234567890123456789012"},
		"SHA512": {sha512.New, "1234567890123456789012345678901234567890123456789012345678901234"},
	}
	for _, v := range []struct {
		unix int64
		alg  string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	} {
		s := seeds[v.alg]
		if got := hotp(s.h, []byte(s.seed), uint64(totpStep(time.Unix(v.unix, 0))), 8); got != v.want {
			t.Errorf("TOTP %s at %d = %s, want %s", v.alg, v.unix, got, v.want)
		}
	}
}

// The six-digit codes people's apps show, against Python's standard
// library computing them independently.
func TestTOTPAgainstPython(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("HERALD_REQUIRE_BROWSER") == "1" {
			t.Fatal("python3 is not installed; HERALD_REQUIRE_BROWSER=1 requires it for the independent TOTP check")
		}
		t.Skip("python3 is not installed")
	}
	const script = `import base64, hmac, hashlib, struct, sys
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
for t in sys.argv[2:]:
    h = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    o = h[-1] & 15
    print("%06d" % ((struct.unpack(">I", h[o:o+4])[0] & 0x7fffffff) % 1000000))`
	for _, secret := range []string{"JBSWY3DPEHPK3PXP", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", totpEncoding.EncodeToString([]byte("\x00\xff\x10 herald seed \x7f"))} {
		times := []time.Time{time.Unix(0, 0), time.Unix(59, 0), time.Unix(1111111109, 0), time.Unix(1700000000, 0), time.Date(2026, 12, 1, 10, 5, 29, 0, time.UTC)}
		args := []string{"-c", script, secret}
		for _, at := range times {
			args = append(args, strconv.FormatInt(at.Unix(), 10))
		}
		out, err := exec.Command(py, args...).Output()
		if err != nil {
			t.Fatalf("python3: %v", err)
		}
		want := strings.Fields(string(out))
		if len(want) != len(times) {
			t.Fatalf("python3 printed %q", out)
		}
		for i, at := range times {
			if got := mustCode(t, secret, at); got != want[i] {
				t.Errorf("secret %s at %d: Herald %s, Python %s", secret, at.Unix(), got, want[i])
			}
		}
	}
}

// auditActions is the actions in the audit log about object id, oldest first.
func auditActions(t *testing.T, st *Store, id string) []string {
	t.Helper()
	var out []string
	entries := auditEntries(t, st)
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].ObjectID == id {
			out = append(out, entries[i].Action+" "+string(entries[i].After))
		}
	}
	return out
}

func wantLastAudit(t *testing.T, st *Store, id, action, contains string) {
	t.Helper()
	got := auditActions(t, st, id)
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], action+" ") || !strings.Contains(got[len(got)-1], contains) {
		t.Fatalf("last audit entry for %q = %q, want %s with %q", id, got, action, contains)
	}
}

// factorRows is what a refused second step must leave as it was.
func factorRows(t *testing.T, st *Store, userID string) string {
	t.Helper()
	var b bytes.Buffer
	for _, q := range []string{
		`SELECT confirmed_at IS NOT NULL, last_step FROM user_factors WHERE user_id = ?`,
		`SELECT count(*), count(used_at) FROM recovery_codes WHERE user_id = ?`,
		`SELECT count(*), 0 FROM sessions WHERE user_id = ?`,
	} {
		var a, c any
		err := st.read.QueryRowContext(t.Context(), q, userID).Scan(&a, &c)
		if err != nil && !strings.Contains(err.Error(), "no rows") {
			t.Fatal(err)
		}
		j, _ := json.Marshal([]any{a, c})
		b.Write(j)
	}
	return b.String()
}

func TestTOTPEnrolment(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		u, _ := mustCreateUser(t, st, "ada@example.com", RoleAdmin)
		ctx := t.Context()
		e, err := st.BeginTOTP(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := st.GetTwoFactor(ctx, u); !f.Pending || f.Enrolled {
			t.Fatalf("after BeginTOTP: %+v, want pending", f)
		}
		if has, _ := st.HasFactor(ctx, u.ID); has {
			t.Fatal("a begun enrolment counts as a factor at sign-in")
		}
		var sealed []byte
		if err := st.read.QueryRowContext(ctx, `SELECT sealed_secret FROM user_factors WHERE user_id = ?`, u.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		key, _ := decodeTOTPSecret(e.Secret)
		if bytes.Contains(sealed, key) || strings.Contains(string(sealed), e.Secret) {
			t.Fatal("the TOTP secret is stored in the clear")
		}

		// A wrong code: refused, audited, still pending, no codes.
		before := factorRows(t, st, u.ID)
		wrong := mustCode(t, e.Secret, clock.Now().Add(-5*time.Minute))
		_, err = st.ConfirmTOTP(ctx, u.ID, wrong)
		wantValidationError(t, err, "code")
		if after := factorRows(t, st, u.ID); after != before {
			t.Errorf("a wrong enrolment code changed %s to %s", before, after)
		}
		wantLastAudit(t, st, u.ID, "user.totp_enrol_failed", "wrong code")

		codes, err := st.ConfirmTOTP(ctx, u.ID, mustCode(t, e.Secret, clock.Now()))
		if err != nil || len(codes) != RecoveryCodeCount {
			t.Fatalf("ConfirmTOTP = %d codes, %v", len(codes), err)
		}
		wantLastAudit(t, st, u.ID, "user.totp_enrolled", `"two_factor":true`)
		var stored []byte
		rows, err := st.read.QueryContext(ctx, `SELECT code_hash FROM recovery_codes WHERE user_id = ?`, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, h...)
		}
		rows.Close()
		for _, c := range codes {
			if bytes.Contains(stored, []byte(c)) || bytes.Contains(stored, []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Fatalf("recovery code %s is stored in the clear", c)
			}
		}
		if f, _ := st.GetTwoFactor(ctx, u); !f.Enrolled || f.RecoveryLeft != RecoveryCodeCount {
			t.Fatalf("after ConfirmTOTP: %+v", f)
		}
		_, err = st.BeginTOTP(ctx, u.ID)
		wantConflict(t, err)

		// Removing it needs a code.
		wantValidationError(t, st.RemoveTOTP(ctx, u.ID, "000000"), "code")
		clock.Advance(totpPeriod * time.Second)
		if err := st.RemoveTOTP(ctx, u.ID, mustCode(t, e.Secret, clock.Now())); err != nil {
			t.Fatal(err)
		}
		wantLastAudit(t, st, u.ID, "user.totp_removed", `"two_factor":false`)
		if countRows(t, st, "recovery_codes") != 0 {
			t.Error("recovery codes outlived their factor")
		}
	})
}

func TestSecondFactorSignIn(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		u, _ := mustCreateUser(t, st, "ada@example.com", RoleCommander)
		secret, recovery := mustEnrolTOTP(t, st, u.ID)
		clock.Advance(totpPeriod * time.Second) // the enrolment code's step is used

		begin := func() string {
			t.Helper()
			tok, err := st.BeginPendingSignIn(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := st.PendingSignInUser(ctx, tok); err != nil || got.ID != u.ID {
				t.Fatalf("PendingSignInUser = %v, %v", got.ID, err)
			}
			return tok
		}
		refused := func(tok, code, auditID, action, reason string) {
			t.Helper()
			before := factorRows(t, st, u.ID)
			if _, err := st.CompletePendingSignIn(ctx, tok, code); !errors.Is(err, ErrBadSecondFactor) {
				t.Fatalf("CompletePendingSignIn(%q) = %v, want ErrBadSecondFactor", code, err)
			}
			if after := factorRows(t, st, u.ID); after != before {
				t.Errorf("a refused second step changed %s to %s", before, after)
			}
			wantLastAudit(t, st, auditID, action, reason)
		}

		tok := begin()
		refused(tok, "123456x", u.ID, "user.second_factor_failed", "wrong code")
		code := mustCode(t, secret, clock.Now())
		got, err := st.CompletePendingSignIn(ctx, tok, code)
		if err != nil || got.ID != u.ID {
			t.Fatalf("CompletePendingSignIn = %v, %v", got.ID, err)
		}
		wantLastAudit(t, st, u.ID, "user.signin", `"second_factor":true`)

		t.Run("replayed token", func(t *testing.T) {
			refused(tok, mustCode(t, secret, clock.Now()), "", "user.second_factor_refused", "already used")
		})
		t.Run("forged token", func(t *testing.T) {
			refused("bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtbm90LWEtcmVhbC10b2tlbg", code, "", "user.second_factor_refused", "unknown")
		})
		t.Run("reused code", func(t *testing.T) { refused(begin(), code, u.ID, "user.second_factor_failed", "already used") })
		t.Run("code from an older step", func(t *testing.T) {
			refused(begin(), mustCode(t, secret, clock.Now().Add(-2*totpPeriod*time.Second)), u.ID, "user.second_factor_failed", "wrong code")
		})
		t.Run("one step of skew", func(t *testing.T) {
			clock.Advance(5 * totpPeriod * time.Second)
			if _, err := st.CompletePendingSignIn(ctx, begin(), mustCode(t, secret, clock.Now().Add(-totpPeriod*time.Second))); err != nil {
				t.Fatalf("a code one step behind: %v", err)
			}
			// A later step's code is then fine; the earlier step's again is not.
			if _, err := st.CompletePendingSignIn(ctx, begin(), mustCode(t, secret, clock.Now().Add(totpPeriod*time.Second))); err != nil {
				t.Fatalf("a code one step ahead: %v", err)
			}
			refused(begin(), mustCode(t, secret, clock.Now()), u.ID, "user.second_factor_failed", "already used")
		})
		t.Run("expired token", func(t *testing.T) {
			tok := begin()
			clock.Advance(PendingSignInTTL + time.Second)
			refused(tok, mustCode(t, secret, clock.Now()), u.ID, "user.second_factor_refused", "expired")
		})
		t.Run("recovery code once", func(t *testing.T) {
			if _, err := st.CompletePendingSignIn(ctx, begin(), strings.ToUpper(strings.ReplaceAll(recovery[3], "-", " "))); err != nil {
				t.Fatalf("recovery code: %v", err)
			}
			wantLastAudit(t, st, u.ID, "user.signin", "second_factor")
			if f, _ := st.GetTwoFactor(ctx, u); f.RecoveryLeft != RecoveryCodeCount-1 {
				t.Errorf("recovery codes left = %d", f.RecoveryLeft)
			}
			refused(begin(), recovery[3], u.ID, "user.second_factor_failed", "recovery code already used")
		})
		t.Run("too many wrong codes end the pending sign-in", func(t *testing.T) {
			tok := begin()
			for range pendingSignInTries {
				refused(tok, "000000", u.ID, "user.second_factor_failed", "wrong code")
			}
			clock.Advance(totpPeriod * time.Second)
			refused(tok, mustCode(t, secret, clock.Now()), "", "user.second_factor_refused", "unknown")
		})
		t.Run("admin reset", func(t *testing.T) {
			tok := begin()
			had, err := st.ResetFactors(WithActor(ctx, Actor{Type: "user", ID: "admin"}), u.ID)
			if err != nil || !had {
				t.Fatalf("ResetFactors = %v, %v", had, err)
			}
			wantLastAudit(t, st, u.ID, "user.factors_reset", `"two_factor":false`)
			if has, _ := st.HasFactor(ctx, u.ID); has {
				t.Error("the factor outlived its reset")
			}
			if _, err := st.PendingSignInUser(ctx, tok); !errors.Is(err, ErrBadSecondFactor) {
				t.Errorf("a pending sign-in outlived the reset: %v", err)
			}
		})
	})
}

func TestFactorRequiredRoles(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		ctx := t.Context()
		u, _ := mustCreateUser(t, st, "ada@example.com", RoleCommander)
		v, _ := mustCreateUser(t, st, "bob@example.com", RoleViewer)
		wantValidationError(t, st.SetFactorRequiredRoles(ctx, []Role{"root"}), "roles")
		if err := st.SetFactorRequiredRoles(ctx, []Role{RoleAdmin, RoleCommander, RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		roles, _ := st.FactorRequiredRoles(ctx)
		if len(roles) != 2 || roles[0] != RoleCommander || roles[1] != RoleAdmin {
			t.Fatalf("roles = %v", roles)
		}
		wantLastAudit(t, st, "two_factor", "settings.factor_roles", `["commander","admin"]`)
		for _, c := range []struct {
			u    User
			want bool
		}{{u, true}, {v, false}} {
			if must, err := st.MustEnrolFactor(ctx, c.u); err != nil || must != c.want {
				t.Errorf("MustEnrolFactor(%s) = %v, %v; want %v", c.u.Role, must, err, c.want)
			}
		}
		mustEnrolTOTP(t, st, u.ID)
		if must, _ := st.MustEnrolFactor(ctx, u); must {
			t.Error("an enrolled commander must still enrol")
		}
	})
}
