// Package web is Herald's HTTP side: the public pages served from an
// in-memory snapshot, the live streams that push changes to open pages, the
// documents other tools read, the console and the admin JSON API, and the
// loop that keeps the snapshot fresh. One flat package; files are prefixed
// by area (api_, console_, public_, live_, auth_).
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/static"
	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Config is what the server needs from the command line.
type Config struct {
	BaseURL  string // public URL, e.g. https://status.example.com
	PageName string // "Acme"
	// Heartbeat is how often an idle live stream gets a comment line, so
	// proxies keep it open. Default 20s.
	Heartbeat time.Duration
	// StreamBuffer is how many events a live client may fall behind before
	// it is dropped. Default 64.
	StreamBuffer int
	// MaxStreamsPerIP caps live streams per client address; 0 means no cap
	// (herald serve's default is DefaultMaxStreamsPerIP). Negative is
	// refused: see CheckMaxStreamsPerIP.
	MaxStreamsPerIP int
	// MaxConnsPerIP caps the ordinary connections one client address may
	// hold (Server.Listener); 0 means no cap (herald serve's default is
	// DefaultMaxConnsPerIP).
	MaxConnsPerIP int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed: a
	// request from one of them counts as from the right-most address in
	// that header that is not itself a trusted proxy. Nothing else is
	// trusted, not loopback or private ranges: a client there could name
	// any address it liked. Empty: client addresses come from the
	// connection.
	TrustedProxies []netip.Prefix
	// MetricsToken, when set, serves /metrics to requests that bear it
	// (Authorization: Bearer); MetricsPublic serves it to anyone. With
	// neither, /metrics is not served.
	MetricsToken  string
	MetricsPublic bool
	// Alertmanager says how alerts become incidents.
	Alertmanager AlertmanagerConfig
	// Escalation is the escalation policy Herald was started with: it
	// applies until an admin saves one in the console's settings. Zero
	// means store.DefaultEscalationPolicy.
	Escalation store.EscalationPolicy
	// Subscriptions offers the public email subscribe form; set it when
	// email delivery is configured.
	Subscriptions bool
	// ChatSubscriptions offers the subscribe page's chat form: a visitor
	// pastes a Slack, Teams, Discord or Google Chat webhook URL.
	ChatSubscriptions bool
	// ChatHosts are host names (host:port) that stand for every chat
	// platform's own, the platform then told by the URL's path: for a relay
	// in front of the platforms, and for tests. Default none.
	ChatHosts []string
	// SMS offers the subscribe page's phone form; set it when an SMS
	// provider is configured.
	SMS bool
	// TwilioAuthToken checks the signature of Twilio's inbound messages
	// (POST /sms/twilio/inbound); "" serves no inbound webhook.
	TwilioAuthToken string
	// SubscribeLimit is how many subscribe-form posts one client address
	// may make in ten minutes. Default 5.
	SubscribeLimit int
	// WebhookGuard checks webhook URLs at registration (notify checks the
	// dialled address again at delivery). Nil refuses every internal address.
	WebhookGuard *notify.Guard
	// MirrorDir, when set, receives the public artefacts after every
	// change (public_mirror.go), for a static host to serve.
	MirrorDir string
	// SharedMaxAge is how long a CDN or caching proxy may serve a public
	// page or document without asking again (s-maxage). Default 5s;
	// negative: not at all.
	SharedMaxAge time.Duration
	// SessionIdle ends a console session after this long without a
	// request (default 8h); SessionMax ends it this long after sign-in
	// however active (default 7 days).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// OIDC is single sign-on through an OpenID provider (auth_oidc.go);
	// zero: passwords only.
	OIDC   OIDCConfig
	Logger *slog.Logger
}

// DefaultMaxStreamsPerIP is how many live streams herald serve lets one
// client address hold: enough for a person's tabs, or an office behind one
// address, and few enough that one client cannot hold thousands.
const DefaultMaxStreamsPerIP = 32

// CheckMaxStreamsPerIP refuses a negative cap on streams per address: 0
// already means no cap, so a negative number is a mistake to report, not a
// meaning to guess.
func CheckMaxStreamsPerIP(n int) error {
	if n < 0 {
		return fmt.Errorf("%d is not a number of streams; use 0 for no cap", n)
	}
	return nil
}

// Server is Herald's HTTP server.
type Server struct {
	cfg    Config
	store  *store.Store
	assets *static.Assets
	log    *slog.Logger
	echo   *echo.Echo
	site   templates.Site

	// main is the default page; others are the pages besides it
	// (public_sites.go).
	main   *sitePage
	others atomic.Pointer[pageSet]
	// published is the last change-feed id broadcast to the hubs; only the
	// Run loop touches it after New.
	published int64

	// Console accounts (auth_session.go, auth_csrf.go, auth_signin.go): cookies are
	// Secure when the base URL is https.
	secureCookies bool
	unruled       sync.Map   // routes already reported as lacking a role
	sso           *ssoClient // nil without Config.OIDC
	consoleCSS    string
	consoleJS     string
	passkeyJS     string
	rp            *relyingParty // passkeys: --base-url's host and origin
	// roles is the least role of each signed-in route, "METHOD path", as
	// routes.go registers it; read-only once New returns.
	roles map[string]store.Role

	metrics *metrics
	embed   *page // /embed.js

	mirror *mirror // nil without MirrorDir
	// publicCache and cdnCache are the Cache-Control and CDN-Cache-Control
	// of public pages and documents (publicCacheControl).
	publicCache, cdnCache []string

	// builtUpTo is the change-feed position every page's snapshot is
	// known to include (a page that nothing touched keeps an older one).
	builtUpTo atomic.Int64
	// rebuilt is closed and replaced after each snapshot rebuild; waiters
	// use it to learn that a newer snapshot exists.
	rebuilt atomic.Pointer[chan struct{}]
}

// New builds the server and its first snapshot.
func New(ctx context.Context, cfg Config, st *store.Store) (*Server, error) {
	cfg.Logger = webLogger(cfg.Logger)
	if cfg.PageName == "" {
		cfg.PageName = "Herald"
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 20 * time.Second
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = 64
	}
	if err := CheckMaxStreamsPerIP(cfg.MaxStreamsPerIP); err != nil {
		return nil, fmt.Errorf("web: MaxStreamsPerIP: %w", err)
	}
	if err := CheckMaxConnsPerIP(cfg.MaxConnsPerIP); err != nil {
		return nil, fmt.Errorf("web: MaxConnsPerIP: %w", err)
	}
	if cfg.SubscribeLimit <= 0 {
		cfg.SubscribeLimit = 5
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 8 * time.Hour
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 7 * 24 * time.Hour
	}
	if cfg.Escalation.RemindAfter == 0 {
		cfg.Escalation = store.DefaultEscalationPolicy()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if err := cfg.Alertmanager.Normalize(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	assets, err := static.Load()
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		store:  st,
		assets: assets,
		log:    cfg.Logger,
		main:   &sitePage{hub: NewHub(cfg.StreamBuffer, cfg.MaxStreamsPerIP)},
		site: templates.Site{
			Subscribe: cfg.Subscriptions || cfg.ChatSubscriptions || cfg.SMS,
			Name:      cfg.PageName,
			BaseURL:   cfg.BaseURL,
			Assets: templates.Assets{
				CSS:     assets.URL("app.css"),
				JS:      assets.URL("app.js"),
				Favicon: assets.URL("favicon.svg"),
			},
		},
	}
	s.secureCookies = strings.HasPrefix(cfg.BaseURL, "https://")
	if s.rp, err = newRelyingParty(cfg.BaseURL, cfg.PageName); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if cfg.OIDC.Enabled() {
		s.sso = newSSOClient(cfg.OIDC, cfg.BaseURL, st.Now)
	}
	cc, cdn := publicCacheControl(cfg.SharedMaxAge)
	s.publicCache = []string{cc}
	if cdn != "" {
		s.cdnCache = []string{cdn}
	}
	s.roles = map[string]store.Role{}
	s.consoleCSS, s.consoleJS, s.passkeyJS = assets.URL("console.css"), assets.URL("console.js"), assets.URL("passkey.js")
	ch := make(chan struct{})
	s.rebuilt.Store(&ch)
	s.metrics = newMetrics(s)
	if s.embed, err = newEmbedScript(); err != nil {
		return nil, fmt.Errorf("web: embed script: %w", err)
	}
	if s.cfg.WebhookGuard == nil {
		if s.cfg.WebhookGuard, err = notify.NewGuard(""); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
	}
	version, err := st.LastEventID(ctx)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s.others.Store(&pageSet{})
	if err := s.buildPages(ctx, version, nil, nil); err != nil {
		return nil, fmt.Errorf("web: first snapshot: %w", err)
	}
	s.published = version
	s.echo = s.routes()
	if cfg.MirrorDir != "" {
		s.mirror = &mirror{dir: cfg.MirrorDir, written: map[string][]byte{}}
		if err := s.writeMirror(ctx); err != nil {
			return nil, fmt.Errorf("web: static mirror in %s: %w", cfg.MirrorDir, err)
		}
	}
	return s, nil
}

// webLogger tags what the web side logs, as notify tags its own, so that
// one process's logs can be told apart by component.
func webLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("component", "web")
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Run keeps the snapshot and the live streams fresh until ctx ends: it
// rebuilds on the store's post-commit signal, and at least once a minute so
// that the day rolls over and uptime bars stay current without any write.
func (s *Server) Run(ctx context.Context) error {
	changes, stop := s.store.Changes()
	defer stop()
	// Catch changes committed between New and Changes.
	s.refresh(ctx, false)
	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	refresh := time.NewTicker(time.Minute)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-changes:
			if c.Feed == 0 {
				continue // only notification work: nothing public changed
			}
			s.refresh(ctx, true)
		case <-refresh.C:
			s.refresh(ctx, false) // time passes on every page
		case <-heartbeat.C:
			for _, sp := range s.allPages() {
				sp.hub.broadcast(heartbeatFrame)
			}
		}
	}
}

// refresh is rebuildSnapshot for the background loop, which logs failures;
// changed rebuilds only the pages that what changed is on.
func (s *Server) refresh(ctx context.Context, changed bool) {
	start := time.Now()
	err := s.rebuild(ctx, changed)
	s.metrics.observeRebuild(time.Since(start), err)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("refresh snapshot", "err", err)
	}
	if err == nil && s.mirror != nil {
		if err := s.writeMirror(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("write the static mirror", "dir", s.mirror.dir, "err", err)
		}
	}
}

// rebuildSnapshot pushes what changed to live clients and only then serves
// the new pages: a page rendered at version V may resume its live stream
// from V at once, so the hub must already be there.
//
// API consumers get the change events first, before the pages are rendered;
// then open pages get their update, as soon as it is rendered; then new
// requests get the new pages.
func (s *Server) rebuildSnapshot(ctx context.Context) error { return s.rebuild(ctx, false) }

// rebuild is rebuildSnapshot, of every page or, when changed, only of the
// pages the events since the last rebuild touched (pageTouched).
func (s *Server) rebuild(ctx context.Context, changed bool) error {
	version, err := s.store.LastEventID(ctx)
	if err != nil {
		return fmt.Errorf("read change feed position: %w", err)
	}
	touched, err := s.publishEvents(ctx, version)
	if err != nil {
		// The pages will still be right; API consumers catch up on the
		// next change, or by reconnecting.
		s.log.Error("publish live events", "err", err)
	}
	if !changed || err != nil {
		touched = nil // every page
	}
	if err := s.buildPages(ctx, version, touched, s.publishPage); err != nil {
		return fmt.Errorf("build snapshot: %w", err)
	}
	return nil
}

// CloseStreams ends every live stream and refuses new ones. Call it when
// shutting down, before waiting for requests to finish: streams never do.
func (s *Server) CloseStreams() {
	for _, sp := range s.allPages() {
		sp.hub.Close()
	}
}

// LiveClients is the number of open live streams, on every page.
func (s *Server) LiveClients() int {
	n := 0
	for _, sp := range s.allPages() {
		n += sp.hub.Clients()
	}
	return n
}

// WaitFresh blocks until the snapshot reflects every change committed before
// the call, or ctx ends. Tests and the CLI use it for read-your-writes.
func (s *Server) WaitFresh(ctx context.Context) error {
	last, err := s.store.LastEventID(ctx)
	if err != nil {
		return err
	}
	for {
		ch := *s.rebuilt.Load()
		if s.builtUpTo.Load() >= last {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
