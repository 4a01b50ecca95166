package notify

import (
	"bufio"
	"bytes"
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
	from, err := CheckMailbox(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: From %q %w", cfg.From, err)
	}
	s := &emailSender{d: d, cfg: cfg, from: from, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	if cfg.ReplyTo != "" {
		rt, err := CheckMailbox(cfg.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("smtp: Reply-To %q %w", cfg.ReplyTo, err)
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
//
// go-smtp opens the connection (greeting, EHLO, TLS, AUTH) and knows the
// server's extensions. Its client has no PIPELINING (RFC 2920), so when the
// server offers it, the worker sends the transactions itself on the same
// connection (sendPipelinedBatch). Without PIPELINING it uses go-smtp's
// Mail, Rcpt and Data, one transaction at a time (sendUnpipelined).
type smtpWorker struct {
	s      *emailSender
	client *smtp.Client
	sent   int
	// Set when the server pipelines: the connection under go-smtp (after
	// TLS), with our own reader and writer on it.
	conn net.Conn
	rd   *bufio.Reader
	wr   *bufio.Writer
	// bufs hold the messages of a batch, used of them so far.
	bufs [][]byte
	used int
}

func (s *emailSender) newWorker() *smtpWorker { return &smtpWorker{s: s} }

func (w *smtpWorker) close() {
	switch {
	case w.rd != nil:
		w.conn.SetDeadline(time.Now().Add(w.s.cfg.Timeout))
		w.wr.WriteString("QUIT\r\n")
		if w.wr.Flush() == nil {
			readReply(w.rd) // 221, or whatever: the connection closes anyway
		}
		w.conn.Close()
	case w.client != nil:
		_ = w.client.Quit()
		_ = w.client.Close()
	}
	w.client, w.conn, w.rd, w.wr = nil, nil, nil, nil
}

func (w *smtpWorker) drop() {
	if w.client != nil {
		_ = w.client.Close()
	}
	w.client, w.conn, w.rd, w.wr = nil, nil, nil, nil
}

// connect dials, upgrades to TLS as configured, says EHLO and authenticates.
func (w *smtpWorker) connect(ctx context.Context) error {
	cfg := w.s.cfg
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	raw, err := dialer.DialContext(ctx, "tcp", w.s.addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", w.s.addr, err)
	}
	var conn net.Conn = raw
	switch cfg.TLS {
	case "tls":
		tc := tls.Client(raw, w.s.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return fmt.Errorf("tls handshake with %s: %w", w.s.addr, err)
		}
		conn = tc
	case "starttls":
		if conn, err = startTLS(ctx, raw, w.s.tlsConf, cfg.HeloName, cfg.Timeout); err != nil {
			raw.Close()
			return fmt.Errorf("starttls with %s: %w", w.s.addr, err)
		}
	}
	c := smtp.NewClient(conn)
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
	if ok, _ := c.Extension("PIPELINING"); ok {
		// go-smtp is idle with nothing buffered: every reply so far has
		// been read, and a server speaks only when spoken to.
		w.conn, w.rd, w.wr = conn, bufio.NewReader(conn), bufio.NewWriterSize(conn, 16<<10)
	}
	return nil
}

// startTLS upgrades a fresh connection with STARTTLS and returns the TLS
// connection, which go-smtp then greets anew: it cannot hand back the TLS
// connection it makes itself, and pipelining needs it. A server sends no new
// greeting after STARTTLS, so the connection replays the first one.
func startTLS(ctx context.Context, conn net.Conn, conf *tls.Config, helo string, timeout time.Duration) (net.Conn, error) {
	conn.SetDeadline(time.Now().Add(timeout))
	rd := bufio.NewReader(conn)
	code, greeting, err := readReply(rd)
	if err != nil || code != 220 {
		return nil, replyError("greeting", code, greeting, err)
	}
	fmt.Fprintf(conn, "EHLO %s\r\n", helo)
	code, ext, err := readReply(rd)
	if err != nil || code != 250 {
		return nil, replyError("ehlo", code, ext, err)
	}
	if !hasExtension(ext, "STARTTLS") {
		return nil, errors.New("the server does not offer STARTTLS; set HERALD_SMTP_TLS=tls or none")
	}
	fmt.Fprintf(conn, "STARTTLS\r\n")
	if code, msg, err := readReply(rd); err != nil || code != 220 {
		return nil, replyError("starttls", code, msg, err)
	}
	conn.SetDeadline(time.Time{})
	tc := tls.Client(conn, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return &greetedConn{Conn: tc, greeting: []byte("220 " + firstLine(greeting) + "\r\n")}, nil
}

// greetedConn reads a stored greeting before the connection's own bytes.
type greetedConn struct {
	net.Conn
	greeting []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.greeting) > 0 {
		n := copy(p, g.greeting)
		g.greeting = g.greeting[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}

func firstLine(s string) string { line, _, _ := strings.Cut(s, "\n"); return line }

func hasExtension(ehlo, name string) bool {
	for _, line := range strings.Split(ehlo, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// readReply reads one (possibly multi-line) SMTP reply.
func readReply(rd *bufio.Reader) (int, string, error) { return readReplyUnless(rd, -1) }

// readReplyUnless is readReply keeping the reply's text only when its code
// is not ok: a pipelined batch reads four replies a message, nearly all of
// them the one expected, whose text nobody reads.
func readReplyUnless(rd *bufio.Reader, ok int) (int, string, error) {
	var msg []byte
	for {
		line, err := rd.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, "", errors.New("malformed SMTP reply: a line longer than 4 KiB")
		}
		if err != nil {
			return 0, "", err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) < 3 || line[0] < '0' || line[0] > '9' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' {
			return 0, "", fmt.Errorf("malformed SMTP reply %q", line)
		}
		code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
		if code != ok && len(line) > 4 {
			if len(msg) > 0 {
				msg = append(msg, '\n')
			}
			msg = append(msg, line[4:]...)
		}
		if len(line) == 3 || line[3] != '-' {
			return code, string(msg), nil
		}
	}
}

// replyError turns an unexpected reply into the error go-smtp would give,
// so failures are classified the same way on either path.
func replyError(stage string, code int, msg string, err error) error {
	if err != nil {
		return err
	}
	return &smtp.SMTPError{Code: code, Message: msg}
}

// sendUnpipelined sends one transaction through go-smtp's client, each
// command waiting for its reply: for a server without PIPELINING.
func (w *smtpWorker) sendUnpipelined(to string, msg []byte) error {
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

// writeDotStuffed writes a CRLF message for DATA: a line that starts with
// "." gets another, so it cannot end the message early.
func writeDotStuffed(w *bufio.Writer, msg []byte) {
	for len(msg) > 0 { // each turn starts a line
		if msg[0] == '.' {
			w.WriteByte('.')
		}
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			w.Write(msg)
			w.WriteString("\r\n")
			return
		}
		w.Write(msg[:i+1])
		msg = msg[i+1:]
	}
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

// spare is a buffer for the next message of the batch being sent, with
// the room an earlier batch's message left: every message of a batch is on
// the wire before the batch ends.
func (w *smtpWorker) spare() []byte {
	if w.used == len(w.bufs) {
		w.bufs = append(w.bufs, nil)
	}
	w.used++
	return w.bufs[w.used-1][:0]
}

// prepare builds a delivery's message; a nil message means res is final
// (skipped, unbuildable, or the dispatcher is stopping).
func (w *smtpWorker) prepare(ctx context.Context, job *preparedJob, dl store.Delivery) (store.DeliveryResult, []byte) {
	res := store.DeliveryResult{Delivery: dl}
	if reason := skipEmail(job, dl); reason != "" {
		res.Outcome, res.Error = store.Skipped, reason
		return res, nil
	}
	msg, err := w.s.appendMessage(ctx, w.spare(), job, dl, time.Now())
	if err != nil {
		res.Outcome, res.Error = store.Failed, err.Error()
		return res, nil
	}
	w.bufs[w.used-1] = msg // its room, for the next batch
	if w.s.limiter != nil {
		if err := w.s.limiter.Wait(ctx); err != nil {
			res.Outcome = store.Released
			return res, nil
		}
	}
	return res, msg
}

// outcome classifies a send's error into the delivery's result: a 4xx or a
// network failure is retried with backoff; a 5xx refusal of the recipient
// or message is a bounce; a 5xx at MAIL FROM or AUTH is our configuration's
// fault, not the address's, so it is retried and logged.
func (w *smtpWorker) outcome(res store.DeliveryResult, err error) store.DeliveryResult {
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
	wait, ok := w.s.d.retryIn(w.s.cfg.Retry, res.Delivery.Attempt)
	if !ok {
		res.Outcome = store.Failed
		return res
	}
	res.Outcome, res.RetryIn = store.Retry, wait
	return res
}

// send sends a batch of deliveries on the worker's connection, opening a
// new one when the relay's limit of messages per connection is reached.
// With PIPELINING, each message's envelope goes out with the previous
// message's end, as RFC 2920 allows: one round trip a message instead of
// two.
func (w *smtpWorker) send(ctx context.Context, batch []outgoing) []store.DeliveryResult {
	w.used = 0
	results := make([]store.DeliveryResult, len(batch))
	var idx []int
	var tos []string
	var msgs [][]byte
	for i, o := range batch {
		res, msg := w.prepare(ctx, o.job, o.Delivery)
		results[i] = res
		if msg != nil {
			idx, tos, msgs = append(idx, i), append(tos, o.Email), append(msgs, msg)
		}
	}
	for k := 0; k < len(msgs); {
		if w.client != nil && w.sent >= w.s.cfg.MessagesPerConnection {
			w.close()
		}
		kept := w.client != nil
		if !kept {
			if err := w.connect(ctx); err != nil {
				for _, i := range idx[k:] {
					results[i] = w.outcome(results[i], &smtpFailure{stage: "connect", err: err})
				}
				return results
			}
		}
		n := min(len(msgs)-k, w.s.cfg.MessagesPerConnection-w.sent)
		start := time.Now()
		var errs []error
		sendOn := func() {
			if w.rd != nil {
				errs = w.sendPipelinedBatch(tos[k:k+n], msgs[k:k+n])
			} else {
				n = 1 // and a connection dropped on an error is opened again for the next
				errs = []error{w.sendUnpipelined(tos[k], msgs[k])}
			}
		}
		sendOn()
		if kept && closedWhileIdle(errs) {
			// Nothing reached the relay: send again at once on a new
			// connection, rather than after the first retry's wait (when
			// the connection kept would be as stale again).
			w.drop()
			if err := w.connect(ctx); err == nil {
				n = min(len(msgs)-k, w.s.cfg.MessagesPerConnection)
				sendOn()
			}
		}
		per := time.Since(start) / time.Duration(n)
		for j, err := range errs {
			i := idx[k+j]
			results[i].Latency = per
			results[i] = w.outcome(results[i], err)
		}
		k += n
	}
	return results
}

// closedWhileIdle reports a send that failed at its first command on a
// connection kept open from an earlier batch: relays close connections
// left idle (the sink in the tests after 10 s, Postfix after 5 minutes), so
// nothing of the batch reached the relay.
func closedWhileIdle(errs []error) bool {
	// The first message failed before any of it was sent: at its envelope,
	// or at the RSET after a refused one (a relay closing the connection
	// answers the first command with 421 and hangs up).
	var f *smtpFailure
	if len(errs) == 0 || !errors.As(errs[0], &f) || (f.stage != "mail from" && f.stage != "rset") {
		return false
	}
	var se *smtp.SMTPError
	if errors.As(f.err, &se) {
		return se.Code == 421 // the relay is closing the connection
	}
	return true // the connection itself failed
}

// sendPipelinedBatch sends messages back to back with PIPELINING. The
// client still waits for 354 before each message, as the RFC requires, but
// the next envelope rides with the previous message's final dot.
func (w *smtpWorker) sendPipelinedBatch(tos []string, msgs [][]byte) []error {
	errs := make([]error, len(msgs))
	w.conn.SetDeadline(time.Now().Add(2 * w.s.cfg.Timeout * time.Duration(len(msgs))))
	envelope := func(i int) {
		w.wr.WriteString("MAIL FROM:<" + w.s.from.Address + ">\r\nRCPT TO:<" + tos[i] + ">\r\nDATA\r\n")
	}
	// broken fails every message from i on whose outcome is unknown or not
	// yet tried: the connection is gone; they are retried.
	broken := func(from int, stage stage, err error) []error {
		for k := from; k < len(errs); k++ {
			if errs[k] == nil {
				errs[k] = &smtpFailure{stage: stage, err: err}
			}
		}
		w.drop()
		return errs
	}
	envelope(0)
	if err := w.wr.Flush(); err != nil {
		return broken(0, "mail from", err)
	}
	ending := -1 // the message whose final reply is still to come
	// finish reads that final reply; false means the connection broke.
	finish := func() bool {
		code, text, err := readReplyUnless(w.rd, 250)
		if err != nil {
			broken(ending, "data", err)
			return false
		}
		if code != 250 {
			errs[ending] = &smtpFailure{stage: "data", err: replyError("", code, text, nil)}
		} else {
			w.sent++
		}
		ending = -1
		return true
	}
	for i := range msgs {
		if ending >= 0 && !finish() {
			return errs
		}
		var envErr [3]error
		dataCode := 0
		for j, want := range [3]int{250, 250, 354} {
			code, text, err := readReplyUnless(w.rd, want)
			if err != nil {
				return broken(i, "mail from", err)
			}
			if j == 2 {
				dataCode = code
			}
			if code != want && !(j == 1 && code == 251) {
				envErr[j] = replyError("", code, text, nil)
			}
		}
		if envErr[0] != nil || envErr[1] != nil || envErr[2] != nil {
			if dataCode == 354 { // the server wants a message anyway: an empty one, then forget it
				w.wr.WriteString(".\r\n")
			}
			w.wr.WriteString("RSET\r\n")
			if err := w.wr.Flush(); err != nil {
				return broken(i, "rset", err)
			}
			replies := 1
			if dataCode == 354 {
				replies = 2
			}
			for range replies {
				if _, _, err := readReply(w.rd); err != nil {
					return broken(i, "rset", err)
				}
			}
			switch {
			case envErr[0] != nil:
				errs[i] = &smtpFailure{stage: "mail from", err: envErr[0]}
			case envErr[1] != nil:
				errs[i] = &smtpFailure{stage: "rcpt to", err: envErr[1]}
			default:
				errs[i] = &smtpFailure{stage: "data", err: envErr[2]}
			}
			if i+1 < len(msgs) {
				envelope(i + 1)
				if err := w.wr.Flush(); err != nil {
					return broken(i+1, "mail from", err)
				}
			}
			continue
		}
		writeDotStuffed(w.wr, msgs[i])
		w.wr.WriteString(".\r\n")
		if i+1 < len(msgs) {
			envelope(i + 1)
		}
		if err := w.wr.Flush(); err != nil {
			return broken(i, "data", err)
		}
		ending = i
	}
	if ending >= 0 {
		finish()
	}
	return errs
}

// skipEmail says why a delivery should not be sent any more, "" if it should.
func skipEmail(job *preparedJob, dl store.Delivery) string {
	if store.IsAccountKind(job.Kind) {
		if !dl.ActiveUser {
			return "the user was deleted or disabled"
		}
		return ""
	}
	if job.Kind == store.JobViewerLink {
		if !dl.ViewerLink {
			return "the sign-in link was used or has expired"
		}
		return ""
	}
	if store.IsTeamKind(job.Kind) {
		if !dl.TeamMember {
			return "the team member was deleted, disabled or is no longer a commander"
		}
		return ""
	}
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
