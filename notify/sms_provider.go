package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Twilio sends through Twilio's Messages API:
// POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json with the
// form To, Body and From (or MessagingServiceSid), under HTTP basic auth
// of the account SID and auth token.
type Twilio struct {
	// BaseURL is Twilio's API, https://api.twilio.com unless a test says.
	BaseURL             string
	AccountSID          string
	AuthToken           string
	From                string // a number in E.164 or an alphanumeric sender id
	MessagingServiceSID string // instead of From
	Client              *http.Client
}

func (t *Twilio) Name() string { return "twilio" }

// Check says what is missing from the configuration.
func (t *Twilio) Check() error {
	switch {
	case t.AccountSID == "" || t.AuthToken == "":
		return errors.New("twilio needs HERALD_TWILIO_ACCOUNT_SID and HERALD_TWILIO_AUTH_TOKEN in the environment")
	case t.From == "" && t.MessagingServiceSID == "":
		return errors.New("twilio needs --sms-from (a number or sender id) or --sms-messaging-service")
	}
	return nil
}

// twilioMessage is the part of Twilio's message resource Herald reads.
type twilioMessage struct {
	SID       string  `json:"sid"`
	Status    string  `json:"status"`
	Price     *string `json:"price"`
	PriceUnit *string `json:"price_unit"`
	// An error answer's fields.
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
}

func (t *Twilio) Send(ctx context.Context, to, body string) (SMSReceipt, error) {
	base := strings.TrimRight(t.BaseURL, "/")
	if base == "" {
		base = "https://api.twilio.com"
	}
	form := url.Values{"To": {to}, "Body": {body}}
	if t.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.MessagingServiceSID)
	} else {
		form.Set("From", t.From)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/2010-04-01/Accounts/"+url.PathEscape(t.AccountSID)+"/Messages.json", strings.NewReader(form.Encode()))
	if err != nil {
		return SMSReceipt{}, fmt.Errorf("twilio: %w", err)
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := smsClient(t.Client).Do(req)
	if err != nil {
		return SMSReceipt{}, &SMSError{Temporary: true, Message: "twilio: " + errorWithoutURL(err)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m twilioMessage
	_ = json.Unmarshal(raw, &m) // an answer that is not JSON is told by its status
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		msg := fmt.Sprintf("twilio: %s", resp.Status)
		if m.Message != "" {
			msg = fmt.Sprintf("twilio: %s: error %d: %s", resp.Status, m.Code, m.Message)
		}
		return SMSReceipt{}, &SMSError{Status: resp.StatusCode, Temporary: temporaryStatus(resp.StatusCode), Message: msg}
	}
	rc := SMSReceipt{ID: m.SID}
	if m.Price != nil {
		rc.Price = *m.Price
	}
	if m.PriceUnit != nil {
		rc.PriceUnit = *m.PriceUnit
	}
	return rc, nil
}

// Gateway sends through a generic HTTP SMS gateway: URL is a template
// whose {to} and {message} are replaced by the number and the text,
// URL-encoded; Method is GET or POST (the default; with no body). Any 2xx
// answer is taken as sent.
type Gateway struct {
	URL    string
	Method string
	Client *http.Client
}

func (g *Gateway) Name() string { return "gateway" }

// Check says what is wrong with the template.
func (g *Gateway) Check() error {
	if g.Method == "" {
		g.Method = http.MethodPost
	}
	g.Method = strings.ToUpper(g.Method)
	if g.Method != http.MethodGet && g.Method != http.MethodPost {
		return fmt.Errorf("sms gateway method must be GET or POST, not %q", g.Method)
	}
	if !strings.Contains(g.URL, "{to}") || !strings.Contains(g.URL, "{message}") {
		return errors.New("sms gateway URL must hold {to} and {message}")
	}
	u, err := url.Parse(strings.NewReplacer("{to}", "x", "{message}", "x").Replace(g.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("sms gateway URL must be an http(s) URL")
	}
	return nil
}

func (g *Gateway) Send(ctx context.Context, to, body string) (SMSReceipt, error) {
	target := strings.NewReplacer("{to}", url.QueryEscape(to), "{message}", url.QueryEscape(body)).Replace(g.URL)
	method := g.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return SMSReceipt{}, fmt.Errorf("sms gateway: %s", errorWithoutURL(err))
	}
	resp, err := smsClient(g.Client).Do(req)
	if err != nil {
		// The URL holds the message and perhaps a key: it is not logged.
		return SMSReceipt{}, &SMSError{Temporary: true, Message: "sms gateway: " + errorWithoutURL(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return SMSReceipt{}, &SMSError{Status: resp.StatusCode, Temporary: temporaryStatus(resp.StatusCode), Message: "sms gateway: " + resp.Status}
	}
	return SMSReceipt{}, nil
}

// temporaryStatus is an HTTP answer worth trying again: throttling, a
// timeout, the provider's own trouble.
func temporaryStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

var defaultSMSClient = &http.Client{Timeout: 30 * time.Second}

func smsClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return defaultSMSClient
}
