package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// securityHeaders keeps pages to our own resources and out of frames.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["Content-Security-Policy"] = csp
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrer
		return next(c)
	}
}

var (
	csp      = []string{"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"}
	nosniff  = []string{"nosniff"}
	referrer = []string{"strict-origin-when-cross-origin"}
)

// recoverPanics turns a handler panic into a logged 500 instead of a dropped
// connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("handler panic", "panic", fmt.Sprint(r), "path", c.Request().URL.Path, "stack", string(debug.Stack()),
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// requestID gives every request an id, echoed in X-Request-Id and in logs.
// Ids need to be unique, not secret: a random per-process prefix and a
// counter, with no system call per request.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if id == "" || len(id) > 64 {
			id = requestIDPrefix + strconv.FormatUint(requestCounter.Add(1), 36)
		}
		c.Response().Header()[echo.HeaderXRequestID] = []string{id}
		return next(c)
	}
}

var (
	requestIDPrefix = func() string {
		var b [4]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
		return hex.EncodeToString(b[:]) + "-"
	}()
	requestCounter atomic.Uint64
)

// accessLog logs each request as one structured line. The public pages are
// left out unless they fail: during an outage they are hit thousands of
// times a second, and a log line each would cost more than serving them.
func (s *Server) accessLog(quiet bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			if quiet && status < 500 {
				return nil
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote", c.RealIP()),
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			)
			return nil
		}
	}
}
