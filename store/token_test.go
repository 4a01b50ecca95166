package store

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var tokenFormat = regexp.MustCompile(`^hrld_([a-z0-9]{12})_([A-Za-z0-9_-]+)$`)

func mustCreateToken(t *testing.T, st *Store, name string) (APIToken, string) {
	t.Helper()
	tok, raw, err := st.CreateToken(t.Context(), name)
	if err != nil {
		t.Fatalf("CreateToken(%q): %v", name, err)
	}
	return tok, raw
}

func TestCreateToken(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		tok, raw := mustCreateToken(t, st, " deploy bot ")

		m := tokenFormat.FindStringSubmatch(raw)
		if m == nil {
			t.Fatalf("token %q does not look like hrld_<12-char id>_<secret>", raw)
		}
		if m[1] != tok.ID {
			t.Errorf("token id part %q, want the token's id %q", m[1], tok.ID)
		}
		if len(m[2]) < 32 {
			t.Errorf("secret %q is short", m[2])
		}
		if tok.Name != "deploy bot" || !tok.CreatedAt.Equal(t0) || tok.LastUsedAt != nil || tok.RevokedAt != nil {
			t.Errorf("token = %+v", tok)
		}
		_, other := mustCreateToken(t, st, "deploy bot")
		if other == raw {
			t.Error("two tokens are the same")
		}
		if n, err := st.CountTokens(t.Context()); err != nil || n != 2 {
			t.Errorf("CountTokens = %d, %v; want 2", n, err)
		}

		for name, bad := range map[string]string{"empty": "", "blank": "  ", "too long": strings.Repeat("x", 256), "not UTF-8": "\xff"} {
			t.Run("name "+name, func(t *testing.T) {
				before := tableCounts(t, st)
				_, raw, err := st.CreateToken(t.Context(), bad)
				wantValidationError(t, err, "name")
				if raw != "" {
					t.Errorf("a refused token returned %q", raw)
				}
				wantUnchanged(t, st, before)
			})
		}
	})
}

func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		tok, raw := mustCreateToken(t, st, "ci")
		revokedTok, revoked := mustCreateToken(t, st, "old")
		if err := st.RevokeToken(t.Context(), revokedTok.ID); err != nil {
			t.Fatal(err)
		}

		got, err := st.AuthenticateToken(t.Context(), raw)
		if err != nil {
			t.Fatalf("AuthenticateToken(valid): %v", err)
		}
		if got.ID != tok.ID || got.Name != "ci" {
			t.Errorf("authenticated as %+v, want %+v", got, tok)
		}

		m := tokenFormat.FindStringSubmatch(raw)
		secret := m[2]
		flip := func(s string) string {
			last := s[len(s)-1]
			if last == 'A' {
				return s[:len(s)-1] + "B"
			}
			return s[:len(s)-1] + "A"
		}
		bad := map[string]string{
			"wrong secret":          "hrld_" + tok.ID + "_" + flip(secret),
			"secret of another":     "hrld_" + revokedTok.ID + "_" + secret,
			"truncated secret":      raw[:len(raw)-1],
			"extra character":       raw + "x",
			"no secret":             "hrld_" + tok.ID + "_",
			"no separator":          "hrld_" + tok.ID + secret,
			"wrong prefix":          "hrl_" + tok.ID + "_" + secret,
			"upper-case prefix":     "HRLD_" + tok.ID + "_" + secret,
			"with Bearer":           "Bearer " + raw,
			"short id":              "hrld_" + tok.ID[:11] + "_" + secret,
			"unknown id":            "hrld_zzzzzzzzzzzz_" + secret,
			"empty":                 "",
			"prefix only":           "hrld_",
			"revoked":               revoked,
			"surrounding spaces":    " " + raw + " ",
			"SQL in the id":         "hrld_' OR 1=1 --_" + secret,
			"secret with a newline": raw + "\n",
		}
		for name, candidate := range bad {
			t.Run(name, func(t *testing.T) {
				got, err := st.AuthenticateToken(t.Context(), candidate)
				if !errors.Is(err, ErrBadToken) {
					t.Errorf("AuthenticateToken(%q) = %+v, %v; want ErrBadToken", candidate, got, err)
				}
				if got.ID != "" {
					t.Errorf("a refused token returned %+v", got)
				}
			})
		}
	})
}

func TestTokenLastUsed(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		tok, raw := mustCreateToken(t, st, "ci")
		lastUsed := func() *time.Time {
			t.Helper()
			list, err := st.ListTokens(t.Context())
			if err != nil || len(list) != 1 {
				t.Fatalf("ListTokens = %+v, %v", list, err)
			}
			return list[0].LastUsedAt
		}
		steps := []struct {
			at   time.Time
			want time.Time
		}{
			{t0.Add(time.Hour), t0.Add(time.Hour)},
			{t0.Add(time.Hour + 30*time.Second), t0.Add(time.Hour)}, // within a minute: not written again
			{t0.Add(time.Hour + 2*time.Minute), t0.Add(time.Hour + 2*time.Minute)},
		}
		for i, s := range steps {
			clk.Set(s.at)
			got, err := st.AuthenticateToken(t.Context(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.RecordTokenUse(t.Context(), got); err != nil {
				t.Fatal(err)
			}
			if stored := lastUsed(); stored == nil || !stored.Equal(s.want) {
				t.Errorf("step %d: stored LastUsedAt = %v, want %v", i, stored, s.want)
			}
		}
		if entries, _ := st.QueryAuditLog(t.Context(), AuditFilter{ObjectType: "api_token", ObjectID: tok.ID, Limit: 10}); len(entries) != 1 {
			t.Errorf("using a token wrote %d audit entries; only its creation should be there", len(entries)-1)
		}
	})
}

func TestTokenSecretIsNotStored(t *testing.T) {
	t.Parallel()
	st := newTestStore(t)
	tok, raw := mustCreateToken(t, st, "ci")
	secret := tokenFormat.FindStringSubmatch(raw)[2]

	var name string
	var hash []byte
	if err := st.read.QueryRowContext(t.Context(), `SELECT name, secret_hash FROM api_tokens WHERE id = ?`, tok.ID).Scan(&name, &hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) == 0 || bytes.Contains(hash, []byte(secret)) || strings.Contains(string(hash), secret) {
		t.Errorf("secret_hash %x holds the secret", hash)
	}
	var rows int
	if err := st.read.QueryRowContext(t.Context(), `SELECT count(*) FROM api_tokens WHERE instr(name || id || hex(secret_hash), ?) > 0`, secret).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d api_tokens rows contain the secret (%v)", rows, err)
	}
	for _, e := range auditEntries(t, st) {
		if strings.Contains(string(e.After)+string(e.Before), secret) {
			t.Errorf("audit entry %s holds the secret", e.Action)
		}
	}
	// Nothing on disk either: not in the database file, not in its log.
	if _, err := st.write.ExecContext(t.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{st.Path(), st.Path() + "-wal"} {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s contains the token secret", path)
		}
	}
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clk := useClock(st, t0)
		keep, keepRaw := mustCreateToken(t, st, "keep")
		gone, goneRaw := mustCreateToken(t, st, "gone")

		revokedAt := clk.Advance(time.Hour)
		if err := st.RevokeToken(t.Context(), gone.ID); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		if _, err := st.AuthenticateToken(t.Context(), goneRaw); !errors.Is(err, ErrBadToken) {
			t.Errorf("revoked token authenticates: %v", err)
		}
		if _, err := st.AuthenticateToken(t.Context(), keepRaw); err != nil {
			t.Errorf("other token stopped working: %v", err)
		}

		clk.Advance(time.Hour)
		if err := st.RevokeToken(t.Context(), gone.ID); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		list, err := st.ListTokens(t.Context())
		if err != nil || len(list) != 2 {
			t.Fatalf("ListTokens = %+v, %v; want both, revoked included", list, err)
		}
		for _, tok := range list {
			switch tok.ID {
			case keep.ID:
				if tok.RevokedAt != nil {
					t.Errorf("kept token revoked at %v", tok.RevokedAt)
				}
			case gone.ID:
				if tok.RevokedAt == nil || !tok.RevokedAt.Equal(revokedAt) {
					t.Errorf("RevokedAt = %v, want the first revocation %v", tok.RevokedAt, revokedAt)
				}
			default:
				t.Errorf("unexpected token %+v", tok)
			}
		}

		before := tableCounts(t, st)
		wantNotFound(t, st.RevokeToken(t.Context(), "nosuchtoken0"))
		wantUnchanged(t, st, before)
	})
}
