// Package twiliotest is a stand-in for Twilio's Messages API, for tests:
// it checks what Twilio checks of a request (the account in the path, HTTP
// basic auth, the form fields To, Body and From or MessagingServiceSid) and
// answers with the message resource Twilio documents, price included. It
// also signs inbound webhooks as Twilio does.
package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-status/herald/notify/twiliosig"
)

// Message is one message the server took.
type Message struct {
	SID, To, From, MessagingServiceSID, Body string
}

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	AccountSID, AuthToken string
	// Price is what it reports each message cost, "" for null (as Twilio
	// does before the carrier has priced it).
	Price, PriceUnit string
	// BeforeAnswer, when set, is called with each message taken, before
	// the answer: a test may hold the answer there.
	BeforeAnswer func(*http.Request)
	mu           sync.Mutex
	fail         int
	messages     []Message
}

// Start runs a server for the account sid with token.
func Start(t testing.TB, sid, token string) *Server {
	s := &Server{AccountSID: sid, AuthToken: token, Price: "-0.00750", PriceUnit: "USD"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// FailWith makes it answer status to every message from now on (0: take
// them again).
func (s *Server) FailWith(status int) {
	s.mu.Lock()
	s.fail = status
	s.mu.Unlock()
}

// Messages returns the messages taken so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != path {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		twilioError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded, not "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 20001, err.Error())
		return
	}
	m := Message{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body")}
	switch {
	case m.To == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case m.From == "" && m.MessagingServiceSID == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case m.Body == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case len([]rune(m.Body)) > 1600:
		twilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	s.mu.Lock()
	if s.fail != 0 {
		status := s.fail
		s.mu.Unlock()
		twilioError(w, status, 20429, "Too Many Requests")
		return
	}
	m.SID = fmt.Sprintf("SM%032d", len(s.messages)+1)
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	if s.BeforeAnswer != nil {
		s.BeforeAnswer(r)
	}
	now := time.Now().UTC().Format(time.RFC1123Z)
	var price, unit any
	if s.Price != "" {
		price, unit = s.Price, s.PriceUnit
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": s.AccountSID, "api_version": "2010-04-01", "body": m.Body,
		"date_created": now, "date_sent": nil, "date_updated": now, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": m.From, "messaging_service_sid": nilIfEmpty(m.MessagingServiceSID),
		"num_media": "0", "num_segments": "1", "price": price, "price_unit": unit,
		"sid": m.SID, "status": "queued", "to": m.To,
		"subresource_uris": map[string]string{"media": path[:len(path)-len(".json")] + "/" + m.SID + "/Media.json"},
		"uri":              path[:len(path)-len(".json")] + "/" + m.SID + ".json",
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Signing says how Inbound signs.
type Signing int

const (
	Signed   Signing = iota // as Twilio does
	Unsigned                // no X-Twilio-Signature
	BadSig                  // a signature made with another token
)

// Inbound posts an incoming message to target as Twilio's messaging
// webhook does. signedAs is the URL Twilio would have requested (the
// public one, which a proxy in front of Herald forwards to target).
func (s *Server) Inbound(t testing.TB, target, signedAs, from, to, body string, signing Signing) *http.Response {
	t.Helper()
	form := url.Values{
		"MessageSid": {"SM" + strings.Repeat("f", 32)}, "SmsSid": {"SM" + strings.Repeat("f", 32)}, "AccountSid": {s.AccountSID},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"},
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	switch signing {
	case Signed:
		req.Header.Set("X-Twilio-Signature", twiliosig.Sign(s.AuthToken, signedAs, form))
	case BadSig:
		req.Header.Set("X-Twilio-Signature", twiliosig.Sign(s.AuthToken+"x", signedAs, form))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
