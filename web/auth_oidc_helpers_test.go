package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	opstorage "github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/herald-status/herald/store"
)

// The OpenID provider of these tests is zitadel/oidc's example OP, a
// certified implementation, run in the test with its own in-memory
// storage and login page. Its users come from opUsers; the one thing its
// storage lacks, a groups claim, opStorage adds to the ID token and the
// userinfo as a directory would.

const (
	opClientID     = "herald"
	opClientSecret = "op-client-secret"
	opPassword     = "verysecure"
)

type opUsers struct {
	mu     sync.Mutex
	users  map[string]*opstorage.User
	groups map[string][]string // by user id
}

func (u *opUsers) GetUserByID(id string) *opstorage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[id]
}

func (u *opUsers) GetUserByUsername(name string) *opstorage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (u *opUsers) ExampleClientID() string { return opstorage.ServiceUserID }

// add puts a person in the provider's directory, with their groups.
func (u *opUsers) add(username, email string, verified bool, groups ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	id := "id-" + username
	u.users[id] = &opstorage.User{ID: id, Username: username, Password: opPassword, FirstName: "Test", LastName: username,
		Email: email, EmailVerified: verified, PreferredLanguage: language.English}
	u.groups[id] = groups
}

func (u *opUsers) setGroups(username string, groups ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.groups["id-"+username] = groups
}

func (u *opUsers) groupsOf(id string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.groups[id]
}

type opStorage struct {
	*opstorage.Storage
	users *opUsers
}

func (s opStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	ui.AppendClaims("groups", s.users.groupsOf(req.GetSubject()))
	return nil
}

func (s opStorage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	ui.AppendClaims("groups", s.users.groupsOf(ui.Subject))
	return nil
}

// ssoRig is a Herald test server with single sign-on through an OP.
type ssoRig struct {
	ts     *testServer
	issuer string
	users  *opUsers
}

// defaultOIDC is the configuration the tests start from.
func defaultOIDC(issuer string) OIDCConfig {
	return OIDCConfig{Issuer: issuer, ClientID: opClientID, ClientSecret: opClientSecret, Name: "Example ID",
		Scopes: []string{"email", "profile"},
		Roles:  []OIDCRoleRule{{Role: store.RoleAdmin, Value: "herald-admins"}, {Role: store.RoleCommander, Value: "sre"}, {Role: store.RoleViewer, Value: "staff"}}}
}

// listenLocal is a listener on a free loopback port: the OP and Herald
// must each know the other's address before either starts.
func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func withOIDC(ln net.Listener, cfg OIDCConfig) testOption {
	return func(s *testSetup) {
		s.cfg.BaseURL = "http://" + ln.Addr().String()
		s.cfg.OIDC = cfg
		s.wrapListener = func(given net.Listener) net.Listener {
			given.Close()
			return ln
		}
	}
}

// newZitadelRig starts the example OP and a Herald that signs in with it.
func newZitadelRig(t *testing.T, adjust ...func(*OIDCConfig)) *ssoRig {
	t.Helper()
	heraldLn, opLn := listenLocal(t), listenLocal(t)
	issuer := "http://" + opLn.Addr().String()
	users := &opUsers{users: map[string]*opstorage.User{}, groups: map[string][]string{}}
	clients := map[string]*opstorage.Client{
		opClientID: opstorage.WebClient(opClientID, opClientSecret, "http://"+heraldLn.Addr().String()+"/console/login/sso/callback"),
	}
	st := opStorage{Storage: opstorage.NewStorageWithClients(users, clients), users: users}
	// A nil logger: SetupServer would otherwise replace the process's.
	router := exampleop.SetupServer(issuer, st, nil, false)
	op := httptest.NewUnstartedServer(router)
	op.Listener.Close()
	op.Listener = opLn
	op.Start()
	t.Cleanup(op.Close)
	cfg := defaultOIDC(issuer)
	for _, a := range adjust {
		a(&cfg)
	}
	return &ssoRig{ts: newTestServer(t, withOIDC(heraldLn, cfg)), issuer: issuer, users: users}
}

// person is a browser that follows redirects across Herald and the OP,
// as a person's does, remembering where it went.
type person struct {
	t       *testing.T
	client  *http.Client
	visited []*url.URL
	// referer, when set, is sent with the next requests, as a browser
	// sends the page a form is on.
	referer string
}

func newPerson(t *testing.T) *person {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &person{t: t}
	p.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		p.visited = append(p.visited, req.URL)
		return nil
	}}
	return p
}

func (p *person) open(method, target string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if p.referer != "" {
		req.Header.Set("Referer", p.referer)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp, doc
}

// signInAtOP clicks "Sign in with …" and types username and password
// into the OP's login page; it returns Herald's last answer.
func (r *ssoRig) signInAtOP(p *person, username string) (*http.Response, *goquery.Document) {
	p.t.Helper()
	resp, doc := p.open("GET", r.ts.URL+"/console/login", nil)
	href, ok := doc.Find("#sso-sign-in").Attr("href")
	if !ok {
		p.t.Fatalf("no single sign-on button on the sign-in page (%d)", resp.StatusCode)
	}
	resp, doc = p.open("GET", r.ts.URL+href, nil)
	if !strings.HasPrefix(resp.Request.URL.String(), r.issuer+"/login/") {
		p.t.Fatalf("landed at %s, not the OP's login page", resp.Request.URL)
	}
	id, _ := doc.Find(`input[name="id"]`).Attr("value")
	return p.open("POST", r.issuer+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {opPassword}})
}

// forgedOP is a provider of the tests' own: its discovery, its JWKS, and
// a token endpoint answering with whatever ID token the test makes. It
// tests Herald's verifier, not the flow.
type forgedOP struct {
	*httptest.Server
	key, stranger *rsa.PrivateKey
	mu            sync.Mutex
	token         func(nonce string) (claims map[string]any, signer *rsa.PrivateKey)
	nonce         string
}

func newForgedOP(t *testing.T) *forgedOP {
	t.Helper()
	f := &forgedOP{key: mustRSA(t), stranger: mustRSA(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": f.URL, "authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token",
			"jwks_uri": f.URL + "/keys", "userinfo_endpoint": f.URL + "/userinfo", "id_token_signing_alg_values_supported": []string{"RS256"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	// Userinfo about someone else: a token that sends Herald there must
	// be refused, not have its claims filled in.
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"sub": "someone-else", "email": "mallory@example.com", "groups": []string{"herald-admins"}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		claims, signer := f.token(f.nonce)
		f.mu.Unlock()
		kid := "k1"
		if signer == f.stranger {
			kid = "k2"
		}
		writeJSON(w, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": signJWT(t, signer, kid, claims)})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// goodClaims is an ID token that should pass, for the test to spoil.
func (f *forgedOP) goodClaims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": f.URL, "aud": opClientID, "sub": "forged-1", "nonce": nonce, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": "dana@example.com", "email_verified": true, "groups": []string{"sre"}}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Error(err)
		return ""
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Error(err)
		return ""
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Error(err)
	}
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// begin starts a sign-in in b and returns the state and nonce Herald
// sent to the forged OP (which remembers the nonce for its next token).
func (f *forgedOP) begin(t *testing.T, b *browser) (state, nonce string) {
	t.Helper()
	p := b.get("/console/login/sso")
	if p.Status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.Status, p.Body)
	}
	u, err := url.Parse(location(p))
	if err != nil || !strings.HasPrefix(u.String(), f.URL+"/authorize") {
		t.Fatalf("start went to %s", location(p))
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("no PKCE in %s", u)
	}
	f.mu.Lock()
	f.nonce = q.Get("nonce")
	f.mu.Unlock()
	return q.Get("state"), q.Get("nonce")
}
