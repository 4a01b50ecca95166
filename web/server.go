// Package web is Herald's HTTP side: the public pages served from an
// in-memory snapshot, the admin JSON API, and the background loops that keep
// the snapshot fresh and start maintenance on time.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/static"
	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// Config is what the server needs from the command line.
type Config struct {
	BaseURL  string // public URL, e.g. https://status.example.com
	PageName string // "Acme"
	// MaintenanceClock is how often scheduled maintenance is checked for
	// starting and ending. Default 15s.
	MaintenanceClock time.Duration
	Logger           *slog.Logger
}

// Server is Herald's HTTP server.
type Server struct {
	cfg    Config
	store  *store.Store
	assets *static.Assets
	log    *slog.Logger
	echo   *echo.Echo
	site   templates.Site

	snap atomic.Pointer[snapshot]
	// rebuilt is closed and replaced after each snapshot rebuild; waiters
	// use it to learn that a newer snapshot exists.
	rebuilt atomic.Pointer[chan struct{}]
}

// New builds the server and its first snapshot.
func New(ctx context.Context, cfg Config, st *store.Store) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PageName == "" {
		cfg.PageName = "Herald"
	}
	if cfg.MaintenanceClock <= 0 {
		cfg.MaintenanceClock = 15 * time.Second
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	assets, err := static.Load()
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		store:  st,
		assets: assets,
		log:    cfg.Logger,
		site: templates.Site{
			Name:    cfg.PageName,
			BaseURL: cfg.BaseURL,
			Assets: templates.Assets{
				CSS:     assets.URL("app.css"),
				JS:      assets.URL("app.js"),
				Favicon: assets.URL("favicon.svg"),
			},
		},
	}
	ch := make(chan struct{})
	s.rebuilt.Store(&ch)
	if err := s.rebuildSnapshot(ctx); err != nil {
		return nil, fmt.Errorf("web: first snapshot: %w", err)
	}
	s.echo = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Run keeps the snapshot fresh and runs the maintenance clock until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	changes, stop := s.store.Subscribe()
	defer stop()
	// Catch changes committed between New and Subscribe.
	if err := s.rebuildSnapshot(ctx); err != nil {
		s.log.Error("rebuild snapshot", "err", err)
	}
	clock := time.NewTicker(s.cfg.MaintenanceClock)
	defer clock.Stop()
	// The page shows days and "today"; rebuild at least once a minute so the
	// day rolls over and uptime bars stay current without any write.
	refresh := time.NewTicker(time.Minute)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
		case <-refresh.C:
		case <-clock.C:
			if _, err := s.store.AdvanceMaintenances(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("advance maintenance", "err", err)
			}
			continue // a change, if any, arrives on changes
		}
		if err := s.rebuildSnapshot(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("rebuild snapshot", "err", err)
		}
	}
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
		if s.snap.Load().version >= last {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
