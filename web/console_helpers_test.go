package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/herald-status/herald/store"
)

// testPassword is what test users sign in with.
const testPassword = "correct horse battery staple"

// addUser creates a user with a known password (not a one-time one).
func (ts *testServer) addUser(t *testing.T, email string, role store.Role) store.User {
	t.Helper()
	u, _, err := ts.store.CreateUser(t.Context(), store.UserInput{Email: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.SetPassword(t.Context(), u.ID, testPassword); err != nil {
		t.Fatal(err)
	}
	u, err = ts.store.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so a test sees each one.
type browser struct {
	t      *testing.T
	ts     *testServer
	client *http.Client
}

func (ts *testServer) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ts: ts, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signedIn is a browser already signed in as u (a session made directly,
// skipping the password hashing a sign-in costs).
func (ts *testServer) signedIn(t *testing.T, u store.User) *browser {
	t.Helper()
	b := ts.browser(t)
	raw, err := ts.store.CreateSession(t.Context(), store.SessionInput{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.setCookie("herald_session", raw)
	return b
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.ts.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.ts.URL + "/console")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// csrf is the token this browser's forms carry now.
func (b *browser) csrf() string {
	if s := b.cookie("herald_session"); s != "" {
		return csrfTokenFor(s)
	}
	return csrfTokenFor(b.cookie(preSessionName))
}

type consolePage struct {
	Status int
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

func (b *browser) do(req *http.Request) consolePage {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	return consolePage{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Doc: doc}
}

func (b *browser) get(path string) consolePage {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.ts.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form with this browser's CSRF token added.
func (b *browser) post(path string, form url.Values) consolePage {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[csrfField]; !ok {
		form.Set(csrfField, b.csrf())
	}
	return b.postRaw(path, form)
}

// postRaw submits a form exactly as given.
func (b *browser) postRaw(path string, form url.Values) consolePage {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn goes through the sign-in form.
func (b *browser) signIn(email, password string) consolePage {
	b.t.Helper()
	// The form page hands out the pre-session cookie (and redirects when
	// a session is already valid).
	if p := b.get("/console/login"); p.Status != http.StatusOK && p.Status != http.StatusSeeOther {
		b.t.Fatalf("GET /console/login: %d", p.Status)
	}
	return b.post("/console/login", url.Values{"email": {email}, "password": {password},
		csrfField: {csrfTokenFor(b.cookie(preSessionName))}})
}

func location(p consolePage) string { return p.Header.Get("Location") }
