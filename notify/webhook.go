package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// Guard decides which addresses may be called; nil allows nothing
	// internal.
	Guard *Guard
	// Concurrency is how many requests are in flight at once. It is high
	// because an endpoint that hangs holds a worker for the whole Timeout,
	// and healthy endpoints must not wait behind failing ones. Default 200.
	Concurrency int
	// Timeout bounds each request. Default 15s.
	Timeout time.Duration
	// RootCAs, when set, are the certificate authorities receivers' TLS
	// certificates are checked against instead of the system's: for
	// receivers behind a private CA (and tests' receivers).
	RootCAs *x509.CertPool
	// Retry is the wait after each failed attempt; when it runs out the
	// delivery fails for good. Default 5s, 5m, 30m, 2h, 5h, 10h, 10h:
	// about a day.
	Retry []time.Duration
}

var defaultWebhookRetry = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// maxRetryAfter caps how long a receiver's Retry-After can hold a delivery.
const maxRetryAfter = 24 * time.Hour

// webhookSender sends webhook deliveries. One http.Client serves every
// worker: it is safe for concurrent use and pools connections per host.
type webhookSender struct {
	d      *Dispatcher
	cfg    WebhookConfig
	client *http.Client
}

func newWebhookSender(d *Dispatcher, cfg WebhookConfig) (*webhookSender, error) {
	if cfg.Guard == nil {
		g, err := NewGuard("")
		if err != nil {
			return nil, err
		}
		cfg.Guard = g
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 200
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Retry == nil {
		cfg.Retry = defaultWebhookRetry
	}
	client := NewWebhookClient(cfg.Guard, cfg.Timeout)
	if cfg.RootCAs != nil {
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs}
	}
	return &webhookSender{d: d, cfg: cfg, client: client}, nil
}

// NewWebhookClient is an HTTP client that dials only what the guard allows,
// ignores proxy settings (a proxy would dial for us, unguarded) and follows
// no redirects (a redirect to an internal address would bypass the guard;
// a receiver should be registered at its real URL).
func NewWebhookClient(g *Guard, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1000,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (s *webhookSender) close() {}

// Sign computes a Standard Webhooks signature header value for a message:
// "v1," and the base64 HMAC-SHA256 of "id.timestamp.body", keyed with the
// base64-decoded part of the secret after "whsec_".
func Sign(secret, id string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// send POSTs each delivery of the batch in turn (the pipeline gives a
// webhook worker one at a time).
func (s *webhookSender) send(ctx context.Context, batch []outgoing) []store.DeliveryResult {
	results := make([]store.DeliveryResult, len(batch))
	for i, o := range batch {
		results[i] = s.post(ctx, o.job, o.Delivery)
	}
	return results
}

// post POSTs one delivery. Any 2xx is success; 410 Gone disables the
// endpoint; anything else is retried on the schedule, or after the
// receiver's Retry-After when it sends one.
func (s *webhookSender) post(ctx context.Context, job *preparedJob, dl store.Delivery) store.DeliveryResult {
	res := store.DeliveryResult{Delivery: dl}
	switch {
	case dl.Webhook == nil:
		res.Outcome, res.Error = store.Skipped, "the endpoint was deleted"
		return res
	case !dl.Webhook.Receives(job.Kind):
		res.Outcome, res.Error = store.Skipped, "the endpoint is "+string(dl.Webhook.Status)
		return res
	}
	body, err := s.body(ctx, job, dl.Webhook)
	if err != nil {
		res.Outcome, res.Error = store.Failed, err.Error()
		return res
	}
	id, ts := dl.IdempotencyID(), time.Now().Unix()
	sig, err := Sign(dl.Webhook.Secret, id, ts, body)
	if err != nil {
		res.Outcome, res.Error = store.Failed, err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		res.Outcome, res.Error = store.Failed, errorWithoutURL(err)
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Herald-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := s.client.Do(req)
	res.Latency = time.Since(start)
	if err != nil {
		res.Error = errorWithoutURL(err) // a guard refusal reads "… may not call it unless …"
		return s.retry(res, dl, 0)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	res.Status = resp.StatusCode
	visitor := dl.Webhook.Origin == store.OriginVisitor
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.Outcome = store.Sent
		return res
	case visitor && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone):
		// A chat platform answers so for a deleted channel or webhook:
		// retrying is no use, and the store retires it on the second.
		res.Outcome, res.Error, res.Gone = store.Failed, resp.Status, true
		return res
	case resp.StatusCode == http.StatusGone:
		res.Outcome, res.Error, res.Disable = store.Failed, "410 Gone", "the endpoint answered 410 Gone"
		return res
	}
	res.Error = resp.Status
	return s.retry(res, dl, retryAfter(resp.Header.Get("Retry-After"), time.Now()))
}

func (s *webhookSender) retry(res store.DeliveryResult, dl store.Delivery, after time.Duration) store.DeliveryResult {
	wait, ok := s.d.retryIn(s.cfg.Retry, dl.Attempt)
	if !ok {
		res.Outcome = store.Failed
		return res
	}
	if after > 0 {
		wait = after // the receiver knows best when it can take more
	}
	res.Outcome, res.RetryIn = store.Retry, wait
	return res
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when
// absent or unusable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// body is what is posted to w: the job's body in w's format, the same
// bytes for every operator endpoint of that format; a visitor's chat
// subscription its own, with its links.
func (s *webhookSender) body(ctx context.Context, job *preparedJob, w *store.WebhookTarget) ([]byte, error) {
	if w.Origin == store.OriginVisitor {
		return s.d.chatSubscriptionBody(ctx, job.Job, w)
	}
	bodies, err := s.bodies(ctx, job)
	if err != nil {
		return nil, err
	}
	return bodies.of(w.Format), nil
}

func (s *webhookSender) bodies(ctx context.Context, job *preparedJob) (*webhookBodies, error) {
	job.hookOnce.Do(func() { job.hook, job.hookErr = s.d.webhookBodies(ctx, job.Job) })
	return job.hook, job.hookErr
}

// errorWithoutURL is an HTTP client's error with the URL it quotes cut to
// its origin: the error is kept in the delivery log, which commanders read,
// and a chat tool's webhook URL is its credential.
func errorWithoutURL(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	return ue.Op + " " + strconv.Quote(store.WebhookOrigin(ue.URL)) + ": " + ue.Err.Error()
}
