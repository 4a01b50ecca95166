package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/herald-status/herald/store"
)

// smtpSink is an in-process SMTP server that records every message it
// accepts: the envelope, the raw bytes and the parsed MIME parts. Tests
// make it refuse recipients on demand.
type smtpSink struct {
	srv  *smtp.Server
	addr string
	pool *x509.CertPool // trusts the sink's certificate, for TLS modes

	mu       sync.Mutex
	msgs     []sinkMessage
	sessions int // connections opened (not SMTP sessions: STARTTLS restarts those)
	auths    []string
	// refuse, when set, answers RCPT TO for an address with an error.
	refuse func(rcpt string) error
	// discard keeps only the count, for benchmarks.
	discard bool
	// delay slows every DATA, so a test can stop a fan-out midway.
	delay time.Duration
	// gate, when set, holds every reply to DATA until it is closed: the
	// message has arrived (and counts), the sender does not know it yet.
	gate    chan struct{}
	count   int
	changed chan struct{}
	// hangups counts the sessions that ended (the sink closes a
	// connection left idle).
	hangups int
}

type sinkMessage struct {
	From    string
	To      []string
	Raw     []byte
	Header  mail.Header
	Text    string
	HTML    string
	Session int
}

type sinkOptions struct {
	tls     string // "", "starttls" or "tls"
	users   map[string]string
	mechs   []string // AUTH mechanisms offered, default PLAIN and LOGIN
	discard bool
	delay   time.Duration
	gate    chan struct{}
	// noPipelining hides PIPELINING from EHLO (plain text only), as an
	// older relay would not offer it.
	noPipelining bool
	// idle is how long the sink keeps a silent connection open; 10 s
	// when 0.
	idle time.Duration
}

func newSMTPSink(t testing.TB, o sinkOptions) *smtpSink {
	t.Helper()
	k := &smtpSink{changed: make(chan struct{}, 1), discard: o.discard, delay: o.delay, gate: o.gate}
	conns := map[string]bool{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		k.mu.Lock()
		// STARTTLS starts a new session on the same connection: count
		// connections by their address.
		if remote := c.Conn().RemoteAddr().String(); !conns[remote] {
			conns[remote] = true
			k.sessions++
		}
		n := k.sessions
		k.mu.Unlock()
		return &sinkSession{k: k, n: n, users: o.users, mechs: o.mechs}, nil
	})
	k.srv = smtp.NewServer(be)
	k.srv.Domain = "sink.test"
	k.srv.AllowInsecureAuth = true
	k.srv.MaxRecipients = 10
	k.srv.ReadTimeout = 10 * time.Second
	if o.idle > 0 {
		k.srv.ReadTimeout = o.idle
	}
	k.srv.WriteTimeout = 10 * time.Second
	k.srv.ErrorLog = slogLogger{}
	var ln net.Listener
	var err error
	if o.tls != "" {
		cert, pool := selfSigned(t)
		k.pool = pool
		k.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.tls == "tls" {
			ln, err = tls.Listen("tcp", "127.0.0.1:0", k.srv.TLSConfig)
		}
	}
	if ln == nil && err == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	if o.noPipelining {
		ln = withoutPipelining{ln}
	}
	go k.srv.Serve(ln)
	t.Cleanup(func() { k.srv.Close() })
	return k
}

type slogLogger struct{}

func (slogLogger) Printf(string, ...any) {}
func (slogLogger) Println(...any)        {}

func (k *smtpSink) host() string { h, _, _ := net.SplitHostPort(k.addr); return h }
func (k *smtpSink) port() int {
	_, p, _ := net.SplitHostPort(k.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

func (k *smtpSink) messages() []sinkMessage {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sinkMessage(nil), k.msgs...)
}

func (k *smtpSink) received() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.count
}

// byRecipient counts messages per recipient address.
func (k *smtpSink) byRecipient() map[string]int {
	out := map[string]int{}
	for _, m := range k.messages() {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

type sinkSession struct {
	k     *smtpSink
	n     int
	users map[string]string
	mechs []string
	from  string
	to    []string
}

func (s *sinkSession) AuthMechanisms() []string {
	if s.users == nil {
		return nil
	}
	if s.mechs != nil {
		return s.mechs
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *sinkSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if want, ok := s.users[user]; !ok || want != pass {
			return errors.New("invalid credentials")
		}
		s.k.mu.Lock()
		s.k.auths = append(s.k.auths, mech+":"+user)
		s.k.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

// loginServer is the server side of AUTH LOGIN, which go-sasl leaves out.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp != nil { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step++
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.k.mu.Lock()
	refuse := s.k.refuse
	s.k.mu.Unlock()
	if refuse != nil {
		if err := refuse(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(s.k.delay)
	m := sinkMessage{From: s.from, To: s.to, Session: s.n}
	if !s.k.discard {
		m.Raw = raw
		parsed, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return &smtp.SMTPError{Code: 554, Message: "unparsable message: " + err.Error()}
		}
		m.Header = parsed.Header
		if err := readParts(parsed, &m); err != nil {
			return &smtp.SMTPError{Code: 554, Message: err.Error()}
		}
	}
	s.k.mu.Lock()
	s.k.count++
	if !s.k.discard { // a benchmark's millions would be the GC's work, in both senders' time
		s.k.msgs = append(s.k.msgs, m)
	}
	s.k.mu.Unlock()
	poke(s.k.changed)
	if s.k.gate != nil {
		<-s.k.gate
	}
	return nil
}

// readParts reads a multipart/alternative body into its text and HTML.
func readParts(msg *mail.Message, m *sinkMessage) error {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		return fmt.Errorf("content type %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
}

func (s *sinkSession) Reset() { s.from, s.to = "", nil }
func (s *sinkSession) Logout() error {
	s.k.mu.Lock()
	s.k.hangups++
	s.k.mu.Unlock()
	return nil
}

func (k *smtpSink) sessionsEnded() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hangups
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"sink.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// smtpConfig points Herald at the sink.
func (k *smtpSink) smtpConfig(mode string) *SMTPConfig {
	cfg := &SMTPConfig{Host: k.host(), Port: k.port(), TLS: mode, From: "Acme Status <status@acme.test>", ReplyTo: "support@acme.test", Concurrency: 4, Timeout: 5 * time.Second}
	if k.pool != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: k.pool, ServerName: "127.0.0.1"}
	}
	if mode == "" {
		cfg.TLS = "none"
	}
	return cfg
}

// openStore opens a store on a file in dir.
func openStore(t testing.TB, path string, opts ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newStore(t testing.TB) *store.Store {
	return openStore(t, filepath.Join(t.TempDir(), "herald.db"))
}

// running is a dispatcher running in the background.
type running struct {
	d      *Dispatcher
	cancel context.CancelFunc
	done   chan struct{}
}

// startDispatcher runs a dispatcher until stopped or the test ends.
func startDispatcher(t testing.TB, st *store.Store, cfg Config) *running {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://status.acme.test"
	}
	if cfg.PageName == "" {
		cfg.PageName = "Acme"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.Poll == 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	d, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		d.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

// stop cancels the dispatcher and waits until it has handed everything back.
func (r *running) stop() {
	r.cancel()
	<-r.done
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tlogWriter struct{ t testing.TB }

// signalHandler passes records on to a handler and pokes hit whenever one
// whose message starts with msg goes by: a test waits on what the
// dispatcher logs.
type signalHandler struct {
	slog.Handler
	msg string
	hit chan struct{}
}

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.msg) {
		poke(h.hit)
	}
	return h.Handler.Handle(ctx, r)
}

func (h signalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return signalHandler{Handler: h.Handler.WithAttrs(attrs), msg: h.msg, hit: h.hit}
}

func (h signalHandler) WithGroup(name string) slog.Handler {
	return signalHandler{Handler: h.Handler.WithGroup(name), msg: h.msg, hit: h.hit}
}

// holdWriteLock takes the SQLite file's write lock on a connection of its
// own, as a backup tool or a long transaction elsewhere would, and returns
// the function that lets go of it.
func holdWriteLock(t testing.TB, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(60000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitLimit bounds every wait for an outcome in this package's tests. It is
// not a speed target: it only turns a hang into a failure that says what
// did not happen, and is generous so that a loaded machine never trips it.
// (web and cmd/herald use the same limit.)
const waitLimit = 60 * time.Second

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscribers imports n confirmed subscribers user0@example.com … and
// returns their addresses.
func subscribers(t testing.TB, st *store.Store, n int, comps ...string) []string {
	t.Helper()
	list := make([]store.SubscriberInput, n)
	emails := make([]string, n)
	for i := range list {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
		list[i] = store.SubscriberInput{Email: emails[i], Components: comps}
	}
	if _, err := st.ImportSubscribers(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	return emails
}

func mustComponent(t testing.TB, st *store.Store, name string) store.Component {
	t.Helper()
	c, err := st.CreateComponent(context.Background(), store.ComponentInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustIncident(t testing.TB, st *store.Store, in store.IncidentInput) store.Incident {
	t.Helper()
	if in.Body == "" {
		in.Body = "We are investigating."
	}
	inc, err := st.CreateIncident(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func counts(t testing.TB, st *store.Store) map[string]int {
	t.Helper()
	c, err := st.OutboxCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
