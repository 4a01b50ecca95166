package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/time/rate"

	"github.com/herald-status/herald/store"
)

// SMTPConfig is how Herald reaches its mail relay.
type SMTPConfig struct {
	Host     string
	Port     int    // default 587, or 465 with TLS "tls", or 25 with "none"
	Username string // AUTH when set
	Password string
	// TLS is "starttls" (default), "tls" (implicit, usually port 465) or
	// "none" (a local relay only: credentials would travel in clear).
	TLS string
	// From is the sender, "Name <address>" or a bare address.
	From string
	// ReplyTo, when set, is where replies go.
	ReplyTo string
	// HeloName is the name given in EHLO; default the From domain.
	HeloName string
	// Concurrency is how many connections send at once. Default 4.
	Concurrency int
	// Rate caps messages per second across all connections; 0 is no cap.
	Rate float64
	// MessagesPerConnection: a connection is closed (QUIT) and reopened
	// after this many messages, as many relays limit it. Default 200.
	MessagesPerConnection int
	// Timeout bounds each SMTP command and the dial. Default 30s.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	// Retry is the wait after each failed attempt; when it runs out the
	// delivery fails for good. Default about a day: 1m, 5m, 15m, 30m, 1h,
	// 2h, 4h, 8h, 8h.
	Retry []time.Duration
}

var defaultEmailRetry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour}

// emailSender holds what every SMTP worker shares.
type emailSender struct {
	d        *Dispatcher
	cfg      SMTPConfig
	from     mail.Address
	replyTo  *mail.Address
	domain   string // for Message-IDs
	addr     string
	limiter  *rate.Limiter
	tlsConf  *tls.Config
	authMech string
}

// noCRLF refuses a value that would end a mail header early: whoever sets it
// could otherwise add headers (Bcc:) or a body of their own.
func noCRLF(field, v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("%s must not contain line breaks", field)
	}
	return nil
}

func parseMailbox(field, v string) (mail.Address, error) {
	if err := noCRLF(field, v); err != nil {
		return mail.Address{}, err
	}
	a, err := mail.ParseAddress(v)
	if err != nil {
		return mail.Address{}, fmt.Errorf("%s %q: %w", field, v, err)
	}
	if err := noCRLF(field, a.Name); err != nil {
		return mail.Address{}, err
	}
	return *a, nil
}

func newEmailSender(d *Dispatcher, cfg SMTPConfig) (*emailSender, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is required")
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("smtp: TLS mode %q: use none, starttls or tls", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[cfg.TLS]
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MessagesPerConnection <= 0 {
		cfg.MessagesPerConnection = 200
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Retry == nil {
		cfg.Retry = defaultEmailRetry
	}
	if cfg.From == "" {
		return nil, errors.New("smtp: a From address is required (HERALD_SMTP_FROM)")
	}
	from, err := parseMailbox("smtp from", cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	s := &emailSender{d: d, cfg: cfg, from: from, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	if cfg.ReplyTo != "" {
		rt, err := parseMailbox("smtp reply-to", cfg.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
		s.replyTo = &rt
	}
	_, s.domain, _ = strings.Cut(from.Address, "@")
	if cfg.HeloName == "" {
		s.cfg.HeloName = s.domain
	}
	if cfg.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate)))
	}
	s.tlsConf = cfg.TLSConfig
	if s.tlsConf == nil {
		s.tlsConf = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

// smtpWorker is one connection's worth of sending. It keeps its connection
// open between messages: a TLS handshake and AUTH per message would cost
// more than the message.
type smtpWorker struct {
	s      *emailSender
	client *smtp.Client
	sent   int
}

func (s *emailSender) newWorker() *smtpWorker { return &smtpWorker{s: s} }

func (w *smtpWorker) close() {
	if w.client != nil {
		_ = w.client.Quit()
		_ = w.client.Close()
		w.client = nil
	}
}

func (w *smtpWorker) drop() {
	if w.client != nil {
		_ = w.client.Close()
		w.client = nil
	}
}

// connect dials, says EHLO, upgrades to TLS as configured and authenticates.
func (w *smtpWorker) connect(ctx context.Context) error {
	cfg := w.s.cfg
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	conn, err := dialer.DialContext(ctx, "tcp", w.s.addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", w.s.addr, err)
	}
	var c *smtp.Client
	switch cfg.TLS {
	case "tls":
		tc := tls.Client(conn, w.s.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("tls handshake with %s: %w", w.s.addr, err)
		}
		c = smtp.NewClient(tc)
	case "starttls":
		c, err = smtp.NewClientStartTLS(conn, w.s.tlsConf)
		if err != nil {
			conn.Close()
			return fmt.Errorf("starttls with %s: %w", w.s.addr, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = cfg.Timeout
	c.SubmissionTimeout = 2 * cfg.Timeout
	if err := c.Hello(cfg.HeloName); err != nil {
		c.Close()
		return fmt.Errorf("ehlo: %w", err)
	}
	if cfg.Username != "" {
		if err := c.Auth(w.s.saslClient(c)); err != nil {
			c.Close()
			return fmt.Errorf("smtp auth as %s: %w", cfg.Username, err)
		}
	}
	w.client, w.sent = c, 0
	return nil
}

// saslClient picks PLAIN when the server offers it, else LOGIN (older
// Exchange and some hosted relays offer only LOGIN).
func (s *emailSender) saslClient(c *smtp.Client) sasl.Client {
	if !c.SupportsAuth(sasl.Plain) && c.SupportsAuth(sasl.Login) {
		return sasl.NewLoginClient(s.cfg.Username, s.cfg.Password)
	}
	return sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)
}

// stage is where an SMTP transaction failed; only a refusal of the
// recipient or the message counts against the address.
type stage string

// smtpFailure is a failed send with what the server said.
type smtpFailure struct {
	stage stage
	err   error
}

func (f *smtpFailure) Error() string { return string(f.stage) + ": " + f.err.Error() }
func (f *smtpFailure) Unwrap() error { return f.err }

// sendRaw sends one message on the worker's connection, opening one first
// if needed.
func (w *smtpWorker) sendRaw(ctx context.Context, to string, msg []byte) error {
	if w.client != nil && w.sent >= w.s.cfg.MessagesPerConnection {
		w.close()
	}
	if w.client == nil {
		if err := w.connect(ctx); err != nil {
			return &smtpFailure{stage: "connect", err: err}
		}
	}
	c := w.client
	if err := c.Mail(w.s.from.Address, nil); err != nil {
		w.afterError(err)
		return &smtpFailure{stage: "mail from", err: err}
	}
	if err := c.Rcpt(to, nil); err != nil {
		w.afterError(err)
		return &smtpFailure{stage: "rcpt to", err: err}
	}
	wc, err := c.Data()
	if err != nil {
		w.afterError(err)
		return &smtpFailure{stage: "data", err: err}
	}
	if _, err := wc.Write(msg); err != nil {
		w.drop() // mid-message: the connection's state is unknown
		return &smtpFailure{stage: "data", err: err}
	}
	if err := wc.Close(); err != nil {
		w.afterError(err)
		return &smtpFailure{stage: "data", err: err}
	}
	w.sent++
	return nil
}

// afterError keeps a connection the server merely refused something on (it
// is still in step: RSET clears the transaction) and drops any other.
func (w *smtpWorker) afterError(err error) {
	var se *smtp.SMTPError
	if errors.As(err, &se) && w.client != nil {
		if w.client.Reset() == nil {
			return
		}
	}
	w.drop()
}

// send delivers one email delivery and classifies the outcome: a 4xx or a
// network failure is retried with backoff; a 5xx refusal of the recipient
// or message is a bounce; a 5xx at MAIL FROM or AUTH is our configuration's
// fault, not the address's, so it is retried and logged.
func (w *smtpWorker) send(ctx context.Context, job *preparedJob, dl store.Delivery) store.DeliveryResult {
	res := store.DeliveryResult{Delivery: dl}
	if reason := skipEmail(job, dl); reason != "" {
		res.Outcome, res.Error = store.Skipped, reason
		return res
	}
	msg, err := w.s.message(ctx, job, dl, time.Now())
	if err != nil {
		res.Outcome, res.Error = store.Failed, err.Error()
		return res
	}
	if w.s.limiter != nil {
		if err := w.s.limiter.Wait(ctx); err != nil {
			res.Outcome = store.Released
			return res
		}
	}
	start := time.Now()
	err = w.sendRaw(ctx, dl.Email, msg)
	res.Latency = time.Since(start)
	if err == nil {
		res.Outcome, res.Status = store.Sent, 250
		return res
	}
	res.Error = err.Error()
	var se *smtp.SMTPError
	var f *smtpFailure
	permanent := errors.As(err, &se) && se.Code >= 500
	if se != nil {
		res.Status = se.Code
	}
	if permanent && errors.As(err, &f) && (f.stage == "rcpt to" || f.stage == "data") {
		res.Outcome, res.Bounce = store.Failed, true
		return res
	}
	wait, ok := w.s.d.retryIn(w.s.cfg.Retry, dl.Attempt)
	if !ok {
		res.Outcome = store.Failed
		return res
	}
	res.Outcome, res.RetryIn = store.Retry, wait
	return res
}

// skipEmail says why a delivery should not be sent any more, "" if it should.
func skipEmail(job *preparedJob, dl store.Delivery) string {
	want := store.SubscriberConfirmed
	if job.Kind == store.JobSubscriberConfirm {
		want = store.SubscriberPending
	}
	switch {
	case dl.SubscriberStatus == "":
		return "the subscriber was deleted"
	case dl.SubscriberStatus != want:
		return "the subscriber is " + string(dl.SubscriberStatus)
	}
	return ""
}
