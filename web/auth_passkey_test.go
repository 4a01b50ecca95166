package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// passkeyCall posts to a passkey step as passkey.js does.
func (b *browser) passkeyCall(path, contentType, body string) consolePage {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.ts.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(csrfHeader, b.csrf())
	return b.do(req)
}

func passkeyMessage(t *testing.T, p consolePage) string {
	t.Helper()
	var e struct {
		Error struct{ Message, Field string }
	}
	if err := json.Unmarshal([]byte(p.Body), &e); err != nil {
		t.Fatalf("not a JSON error (%d): %s", p.Status, p.Body)
	}
	return e.Error.Message
}

// What a passkey step gets that is not a browser's honest answer: no
// ceremony, a used one, a forged or malformed credential, an oversized
// body, another host name, too many begun. Each is refused with the one
// message and changes nothing; refusals are audited.
func TestPasskeyStepsRefuseBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withLocalhost(listenLocal(t)))
	ada := ts.addUser(t, "ada@example.com", store.RoleCommander)
	const form, jsonType = "application/x-www-form-urlencoded", "application/json"

	// Another name for the console (ts.URL is http://127.0.0.1:port): the
	// passkey would be bound to it.
	b := ts.browser(t)
	b.get("/console/login") // the pre-session cookie
	if p := b.passkeyCall("/console/login/passkey/begin", form, ""); p.Status != http.StatusConflict ||
		!strings.Contains(passkeyMessage(t, p), "Passkeys work only at "+ts.srv.cfg.BaseURL) {
		t.Fatalf("begin at the IP address: %d %s", p.Status, p.Body)
	}
	// From here on, the console at its own name.
	ts.URL = ts.srv.cfg.BaseURL
	b = ts.browser(t)
	b.get("/console/login")

	finish := func(body string) consolePage {
		t.Helper()
		return b.passkeyCall("/console/login/passkey/finish", jsonType, body)
	}
	// Nothing begun.
	if p := finish(`{"credential":{}}`); p.Status != http.StatusUnauthorized || passkeyMessage(t, p) != passkeyRefused {
		t.Fatalf("finish without a begin: %d %s", p.Status, p.Body)
	}
	if got := lastAudit(t, ts); !strings.Contains(got, "user.passkey_refused") || !strings.Contains(got, "challenge unknown") {
		t.Fatalf("audit after a finish without a begin: %s", got)
	}
	if p := finish(`{not json`); p.Status != http.StatusBadRequest || passkeyMessage(t, p) != passkeyRefused {
		t.Fatalf("finish with broken JSON: %d %s", p.Status, p.Body)
	}

	// A begun sign-in: the options say what the browser must do.
	p := b.passkeyCall("/console/login/passkey/begin", form, "")
	var opts struct {
		PublicKey struct {
			Challenge        string `json:"challenge"`
			RPID             string `json:"rpId"`
			UserVerification string `json:"userVerification"`
			AllowCredentials []any  `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(p.Body), &opts); p.Status != http.StatusOK || err != nil || len(opts.PublicKey.Challenge) < 43 ||
		opts.PublicKey.RPID != "localhost" || opts.PublicKey.UserVerification != "required" || len(opts.PublicKey.AllowCredentials) != 0 {
		t.Fatalf("begin: %d %s", p.Status, p.Body)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("begin's Cache-Control %q", cc)
	}
	// A forged answer to it: made up, it names no credential Herald has.
	forged := `{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"` +
		b64(`{"type":"webauthn.get","challenge":"`+opts.PublicKey.Challenge+`","origin":"`+ts.srv.cfg.BaseURL+`"}`) +
		`","authenticatorData":"` + strings.Repeat("A", 50) + `","signature":"AAAA","userHandle":"` + b64(ada.ID) + `"}}}`
	if p := finish(forged); p.Status != http.StatusUnauthorized || passkeyMessage(t, p) != passkeyRefused {
		t.Fatalf("a forged answer: %d %s", p.Status, p.Body)
	}
	if signedIn := b.get("/console"); signedIn.Status != http.StatusSeeOther {
		t.Fatalf("after a forged answer the console answers %d", signedIn.Status)
	}
	// The challenge it answered is gone, whatever came of it.
	if p := finish(forged); p.Status != http.StatusUnauthorized {
		t.Fatalf("the same answer again: %d %s", p.Status, p.Body)
	}
	if got := lastAudit(t, ts); !strings.Contains(got, "already used") {
		t.Fatalf("audit after a replay: %s", got)
	}
	// An oversized answer.
	if p := finish(`{"credential":"` + strings.Repeat("A", 70<<10) + `"}`); p.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 70 KiB answer: %d", p.Status)
	}

	// The account side: no proof, no ceremony.
	cb := ts.signedIn(t, ada)
	if p := cb.passkeyCall("/console/account/passkeys/begin", form, url.Values{"proof": {"wrong"}}.Encode()); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(passkeyMessage(t, p), "is not your current password") {
		t.Fatalf("add without the password: %d %s", p.Status, p.Body)
	}
	if p := cb.passkeyCall("/console/account/passkeys/begin", form, url.Values{"proof": {testPassword}, "name": {strings.Repeat("n", 61)}}.Encode()); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(passkeyMessage(t, p), "at most 60 characters") {
		t.Fatalf("a name too long, refused before the authenticator is asked: %d %s", p.Status, p.Body)
	}
	if p := cb.passkeyCall("/console/account/passkeys/finish", jsonType, `{"name":"x","credential":{}}`); p.Status != http.StatusBadRequest {
		t.Fatalf("add's finish without a begin: %d %s", p.Status, p.Body)
	}
	if keys, err := ts.store.ListPasskeys(t.Context(), ada.ID); err != nil || len(keys) != 0 {
		t.Fatalf("passkeys after refused adds: %d, %v", len(keys), err)
	}
	if p := cb.post("/console/account/passkeys/bm90LWEta2V5/remove", nil); p.Status != http.StatusNotFound {
		t.Fatalf("removing a passkey that is not there: %d", p.Status)
	}

	// The password asked before adding a passkey is guessed no faster
	// than at the sign-in form: past the limit even the right one fails.
	for range signInAccountLimit {
		cb.passkeyCall("/console/account/passkeys/begin", form, url.Values{"proof": {"guess"}}.Encode())
	}
	if p := cb.passkeyCall("/console/account/passkeys/begin", form, url.Values{"proof": {testPassword}}.Encode()); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(passkeyMessage(t, p), "too many wrong tries") {
		t.Fatalf("the right password past the limit: %d %s", p.Status, p.Body)
	}

	// Anyone may begin a sign-in, but each is kept a while: so many per
	// address: signInBeginMax in five minutes, the one above among them.
	for i := 2; ; i++ {
		p := b.passkeyCall("/console/login/passkey/begin", form, "")
		if p.Status == http.StatusTooManyRequests {
			if i <= signInBeginMax {
				t.Fatalf("begin %d refused", i)
			}
			break
		}
		if p.Status != http.StatusOK || i > signInBeginMax+1 {
			t.Fatalf("begin %d: %d", i, p.Status)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// A console whose --base-url is an IP address has no passkeys, and says
// why on the account page rather than offering a button that cannot work.
func TestPasskeysNeedADomainName(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(s *testSetup) { s.cfg.BaseURL = "http://192.0.2.10:8080" })
	ada := ts.addUser(t, "ada@example.com", store.RoleCommander)
	b := ts.browser(t)
	if p := b.get("/console/login"); p.Status != http.StatusOK || p.Doc.Find("#passkey-sign-in").Length() != 0 {
		t.Fatal("the sign-in page offers a passkey")
	}
	if p := b.passkeyCall("/console/login/passkey/begin", "application/x-www-form-urlencoded", ""); p.Status != http.StatusConflict || passkeyMessage(t, p) != passkeysOff {
		t.Fatalf("begin: %d %s", p.Status, p.Body)
	}
	p := ts.signedIn(t, ada).get("/console/account")
	if p.Doc.Find("#passkey-add").Length() != 0 || !strings.Contains(text(p.Doc.Find("#passkeys")), passkeysOff) {
		t.Fatalf("account page passkeys: %q", text(p.Doc.Find("#passkeys")))
	}
	// A passkey made when the console had a name cannot be used here:
	// the second step says so rather than offering nothing.
	if _, err := ts.store.AddPasskey(t.Context(), store.Passkey{ID: []byte{1}, UserID: ada.ID, Name: "old", PublicKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if p := ts.browser(t).signIn(ada.Email, testPassword); !strings.Contains(text(p.Doc.Find(".notice")), "passkeys cannot be used at this address") {
		t.Fatalf("a passkey-only user at an IP address: %d %q", p.Status, text(p.Doc.Find(".notice")))
	}
}
