package web

import (
	"log/slog"
	"net/http"
	"time"
)

// NewHTTPServer is the http.Server Herald runs behind, shared by `herald
// serve`, the benchmarks and tests so that all measure the same thing. Serve
// it on CoalescingListener(ln).
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// No WriteTimeout: live streams stay open for hours; they set their
		// own per-write deadlines.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(webLogger(logger).Handler(), slog.LevelWarn),
		ConnContext: connContext,
	}
}
