package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/web"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("herald serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	db := dbFlag(fs)
	baseURL := fs.String("base-url", "", "public URL of the status page (default http://ADDR)")
	pageName := fs.String("page-name", "Herald", "name shown at the top of the status page")
	demo := fs.Bool("demo", false, "fill an empty database with an example status page")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	maxStreams := fs.Int("max-streams-per-ip", web.DefaultMaxStreamsPerIP, "live-update streams allowed per client address, an IPv6 /64 counting as one (0: no limit)")
	housekeepingEvery := fs.Duration("housekeeping-interval", 15*time.Second, "how often the leading replica starts and completes scheduled maintenance, and how soon another takes over when it dies")
	mirrorDir := fs.String("mirror-dir", "", "write the public pages and documents to this directory after every change, for a static host to serve when Herald cannot be reached")
	cdnMaxAge := fs.Duration("cdn-max-age", 5*time.Second, "how long a CDN or caching proxy may serve a public page without asking again (s-maxage; it keeps serving the last page for a day while Herald is unreachable); 0: no CDN caching")
	maxConns := fs.Int("max-conns-per-ip", web.DefaultMaxConnsPerIP, "ordinary connections allowed per client address at once, an IPv6 /64 counting as one; the proxies of --trust-proxy are exempt (0: no limit)")
	trustProxy := fs.String("trust-proxy", "", "the proxies whose X-Forwarded-For to believe, as addresses or CIDR ranges, e.g. 127.0.0.1 or 10.0.0.5,10.0.1.0/24; a client's address is the right-most one in the header that is not one of them (default: none, the connection's address)")
	adminEmail := fs.String("admin-email", "admin@localhost", "email of the first admin, created on an empty database")
	sessionIdle := fs.String("session-idle", "8h", "console sessions end after this long without a request")
	sessionMax := fs.String("session-max", "168h", "console sessions end this long after sign-in, however active")
	integrations := addIntegrationFlags(fs)
	notifyOpts := addNotifyFlags(fs)
	smsOpts := addSMSFlags(fs)
	escalation := addEscalationFlags(fs)
	oidcOpts := addOIDCFlags(fs)
	if err := refuseBareTrustProxy(args); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	proxies, err := trustedProxies(*trustProxy)
	if err != nil {
		return err
	}
	if *housekeepingEvery <= 0 {
		return fmt.Errorf("--housekeeping-interval %s: give a positive duration such as 15s", *housekeepingEvery)
	}
	idle, maxAge, err := sessionDurations(*sessionIdle, *sessionMax)
	if err != nil {
		return err
	}
	eco, err := integrations.parse()
	if err != nil {
		return err
	}
	policy, err := escalation.parse()
	if err != nil {
		return err
	}
	retention, err := notifyOpts.retention()
	if err != nil {
		return err
	}
	sso, err := oidcOpts.parse()
	if err != nil {
		return err
	}
	if err := web.CheckMaxStreamsPerIP(*maxStreams); err != nil {
		return fmt.Errorf("--max-streams-per-ip: %w", err)
	}
	if err := web.CheckMaxConnsPerIP(*maxConns); err != nil {
		return fmt.Errorf("--max-conns-per-ip: %w", err)
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	// What reaches a mail header is checked before anything starts (see
	// notify.CheckBaseURL): a bad value would make every email fail.
	if *baseURL != "" {
		if _, err := notify.CheckBaseURL(*baseURL); err != nil {
			return fmt.Errorf("--base-url (HERALD_BASE_URL) %q %w", *baseURL, err)
		}
	}
	if err := notify.CheckHeaderText(*pageName); err != nil {
		return fmt.Errorf("--page-name (HERALD_PAGE_NAME) %q %w", *pageName, err)
	}
	// The SMS settings are checked before anything starts, the database
	// included.
	smsCfg, twilioToken, err := smsOpts.config()
	if err != nil {
		return err
	}
	if err := notifyOpts.check(); err != nil {
		return err
	}

	unlock, err := lockServe(*db)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := openStore(ctx, *db, store.WithLogger(logger))
	if err != nil {
		return err
	}
	defer st.Close()
	if now, ok := ctx.Value(storeClockKey{}).(func() time.Time); ok {
		st.SetClock(now)
	}
	if id := policy.HoldingTemplate; id != "" {
		if _, err := st.GetIncidentTemplate(ctx, id); err != nil {
			return fmt.Errorf("--holding-template %q: %w", id, err)
		}
	}

	if *demo {
		filled, err := dataset.Demo(ctx, st)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if filled {
			logger.Info("filled the empty database with demo data")
		} else {
			logger.Info("demo data not added: the database already has components")
		}
	}
	// Listen before anything is created: the first admin and token are
	// made only once everything that can stop the start has passed, and
	// printed at once, so that a start that fails never leaves credentials
	// behind that nobody was shown.
	ln, err := listen(*addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if *baseURL == "" {
		*baseURL = "http://" + ln.Addr().String()
	}
	dispatcher, guard, emailOn, err := notifyOpts.build(st, *baseURL, *pageName, logger, smsCfg)
	if err != nil {
		return err
	}
	srv, err := web.New(ctx, web.Config{BaseURL: *baseURL, PageName: *pageName, Logger: logger,
		Subscriptions: emailOn, ChatSubscriptions: *notifyOpts.chatSubscriptions, WebhookGuard: guard,
		SMS: smsCfg != nil, TwilioAuthToken: twilioToken,
		MaxStreamsPerIP: *maxStreams, MaxConnsPerIP: *maxConns, TrustedProxies: proxies, SessionIdle: idle, SessionMax: maxAge, OIDC: sso,
		MirrorDir: *mirrorDir, SharedMaxAge: cdnAge(*cdnMaxAge),
		MetricsToken: eco.MetricsToken, MetricsPublic: eco.MetricsPublic, Alertmanager: eco.Alertmanager, Escalation: policy}, st)
	if err != nil {
		return err
	}
	for _, c := range dispatcher.Collectors() {
		if err := srv.Metrics().Register(c); err != nil {
			return fmt.Errorf("notification metrics: %w", err)
		}
	}
	httpServer := web.NewHTTPServer(srv.Handler(), logger)

	// Live streams never end by themselves: close them as shutdown begins,
	// or Shutdown would wait for them until its deadline.
	httpServer.RegisterOnShutdown(srv.CloseStreams)

	if err := firstStart(ctx, st, *adminEmail, *baseURL, stdout); err != nil {
		return err
	}
	if sso.RequireSSO {
		// Not a refusal: the admin may be added after the start.
		if u, err := st.GetUserByEmail(ctx, sso.BreakGlass); err != nil || u.Role != store.RoleAdmin || !u.Active() {
			logger.Warn("--oidc-break-glass names no active admin: nobody can sign in with a password while the provider is down", "email", sso.BreakGlass)
		}
	}
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", *baseURL, "db", st.Path(), "version", version())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	background := make(chan error, 1)
	go func() { background <- srv.Run(ctx) }()
	// The dispatcher stops after the HTTP server: an update posted during
	// shutdown is in the outbox either way, and is sent at the next start.
	dispatched := make(chan error, 1)
	go func() { dispatched <- dispatcher.Run(ctx) }()
	housekept := make(chan struct{})
	hk := newHousekeeping(st, logger)
	hk.maintenanceEvery, hk.escalation, hk.keepOutbox = *housekeepingEvery, policy, retention
	go func() { defer close(housekept); hk.run(ctx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(srv.Listener(ln)) }()

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	logger.Info("shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	err = httpServer.Shutdown(shutdownCtx)
	cancel()
	if bgErr := <-background; bgErr != nil {
		err = errors.Join(err, bgErr)
	}
	if dErr := <-dispatched; dErr != nil {
		err = errors.Join(err, dErr)
	}
	<-housekept
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// storeClockKey carries a clock for the store in the context given to
// cmdServe: tests of the whole server move time with it (an escalation
// five minutes later, in a moment). Nothing else sets it.
type storeClockKey struct{}

// listen binds addr, saying what to do when the address is taken.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: the address is already in use (is Herald already running?); stop what uses it or choose another with --addr", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// firstStart says where Herald runs and, on a new database, creates the
// first admin and API token and prints them: the only time they are shown,
// as only their hashes are kept. It runs once the listener is bound and
// the server built, so nothing after it can stop the start and leave
// credentials no one has seen. All of it is one write, so that whoever
// reads "Herald is running" finds the credentials with it.
func firstStart(ctx context.Context, st *store.Store, adminEmail, baseURL string, stdout io.Writer) error {
	var b strings.Builder
	// The first admin before the first token, so the token is theirs.
	admin, adminPassword, _, err := st.EnsureFirstAdmin(store.WithActor(ctx, store.SystemActor), adminEmail)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	firstToken, tokenErr := firstStartToken(ctx, st)
	if tokenErr == nil {
		fmt.Fprintf(&b, "Herald is running at %s (database %s)\n", baseURL, st.Path())
	}
	if adminPassword != "" {
		// Shown even when the token failed: the admin exists now, and can
		// make tokens in the console.
		fmt.Fprintf(&b, "\nThis is a new database, so a first admin was created. Sign in at %s/console/login as\n\n    email:    %s\n    password: %s\n\nThe password is shown only this once and must be changed at the first sign-in.\n", baseURL, admin.Email, adminPassword)
	}
	if firstToken != "" {
		fmt.Fprintf(&b, "\nThis is a new database, so an API token was created. It is shown only this once:\n\n    %s\n\n", firstToken)
		fmt.Fprintf(&b, "Try it:\n    curl -H 'Authorization: Bearer %s' %s/api/v1/components\n\n", firstToken, baseURL)
	}
	// A stdout that cannot be written to cannot be shown anything: stopping
	// would not bring the credentials back (herald user reset-password does).
	_, _ = io.WriteString(stdout, b.String())
	return tokenErr
}

// firstStartToken creates an API token when the database has never had one,
// so a new user can start using the API; it returns "" otherwise.
func firstStartToken(ctx context.Context, st *store.Store) (string, error) {
	n, err := st.CountTokens(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	_, raw, err := st.CreateToken(store.WithActor(ctx, store.SystemActor), "initial")
	if err != nil {
		return "", fmt.Errorf("create first API token: %w", err)
	}
	return raw, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}

// sessionDurations parses --session-idle and --session-max.
func sessionDurations(idle, maxAge string) (time.Duration, time.Duration, error) {
	i, err := time.ParseDuration(idle)
	if err != nil || i <= 0 {
		return 0, 0, fmt.Errorf("--session-idle %q: give a duration such as 8h or 30m", idle)
	}
	m, err := time.ParseDuration(maxAge)
	if err != nil || m < i {
		return 0, 0, fmt.Errorf("--session-max %q: give a duration such as 168h, at least --session-idle", maxAge)
	}
	return i, m, nil
}

// trustProxyForm is how --trust-proxy is written, for every message that
// refuses it.
const trustProxyForm = "name the proxies whose X-Forwarded-For to believe, e.g. --trust-proxy 127.0.0.1 for a proxy on this host, or --trust-proxy 10.0.0.5,10.0.1.0/24"

// trustedProxies parses --trust-proxy. It was once a switch (trust any
// loopback, private or link-local peer): an old true or false is refused
// rather than guessed at, since guessing either way changes who can choose
// their own address.
func trustedProxies(v string) ([]netip.Prefix, error) {
	if _, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
		return nil, fmt.Errorf("--trust-proxy %q: it no longer takes true or false; %s (or leave it out to trust none)", v, trustProxyForm)
	}
	p, err := web.ParseTrustedProxies(v)
	if err != nil {
		return nil, fmt.Errorf("--trust-proxy: %w; %s", err, trustProxyForm)
	}
	return p, nil
}

// refuseBareTrustProxy explains a --trust-proxy written as the switch it
// once was, last on the line (flag would only say it needs an argument).
func refuseBareTrustProxy(args []string) error {
	if n := len(args); n > 0 && (args[n-1] == "--trust-proxy" || args[n-1] == "-trust-proxy") {
		return fmt.Errorf("--trust-proxy needs the proxies' addresses: it is no longer a switch; %s", trustProxyForm)
	}
	return nil
}

// cdnAge turns --cdn-max-age into web.Config's SharedMaxAge, where zero is
// the default and a negative value turns shared caching off.
func cdnAge(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
