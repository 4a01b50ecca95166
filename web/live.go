package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

const (
	// maxReplay is the most events a reconnecting client is sent to catch
	// up; further behind, it gets a single "reload" event instead.
	maxReplay = 1000
	// retryMillis is the reconnection delay suggested to browsers.
	retryMillis = 2000
	// streamWriteTimeout bounds one write to a stream; a client that does
	// not take bytes for this long is disconnected.
	streamWriteTimeout = 10 * time.Second
)

// handleEvents is GET /events: the live Server-Sent Events stream.
//
//	?types=json   only the API-shaped change events (incident.created, …)
//	?types=html   only the page fragments the status page script applies
//	(default: both)
//
// A reconnecting client sends Last-Event-ID (or ?last_event_id= on its
// first connection, from the page it was served) and receives exactly the
// events it missed, or one "reload" event when it is too far behind.
func (s *Server) handleEvents(c echo.Context) error {
	kinds, err := parseStreamTypes(c.QueryParam("types"))
	if err != nil {
		return err
	}
	lastRaw := c.Request().Header.Get("Last-Event-ID")
	if lastRaw == "" {
		lastRaw = c.QueryParam("last_event_id")
	}
	client, joinedAt, page, err := s.hub.subscribe(c.RealIP(), kinds)
	switch {
	case errors.Is(err, errTooManyStreams):
		return echo.NewHTTPError(http.StatusTooManyRequests, "too many live streams from your address; close some tabs")
	case errors.Is(err, errHubClosed):
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the server is restarting; reconnect shortly")
	case err != nil:
		return err
	}
	defer s.hub.unsubscribe(client)

	w := c.Response()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	write := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write([]byte("retry: " + strconv.Itoa(retryMillis) + "\n\n")); err != nil {
		return nil // the client went away
	}
	if err := s.catchUp(c, client, lastRaw, joinedAt, page, write); err != nil {
		s.log.Debug("live stream catch-up ended", "err", err)
		return nil
	}

	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case f := <-client.ch:
			if err := write(f.bytes); err != nil {
				return nil
			}
		case <-heartbeat.C:
			if err := write(heartbeatFrame); err != nil {
				return nil
			}
		case <-client.gone:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

var heartbeatFrame = []byte(": heartbeat\n\n")

// catchUp sends what a (re)connecting client missed before it joined the
// live broadcast at joinedAt.
func (s *Server) catchUp(c echo.Context, client *streamClient, lastRaw string, joinedAt int64, page *frame, write func([]byte) error) error {
	if lastRaw == "" {
		// A new client: nothing to replay. The page script always sends the
		// version of the page it shows, so only API consumers get here;
		// they start from now, and page clients get the current fragment.
		if client.kinds&kindPage != 0 && page != nil {
			return write(page.bytes)
		}
		return nil
	}
	last, err := strconv.ParseInt(strings.TrimSpace(lastRaw), 10, 64)
	if err != nil || last < 0 || last > joinedAt {
		// Not an id we issued (or one from another database): the client's
		// view is of unknown age, so it must start over.
		return write(reloadFrame(joinedAt, "unknown Last-Event-ID"))
	}
	if client.kinds&kindJSON != 0 && last < joinedAt {
		oldest, err := s.store.OldestEventID(c.Request().Context())
		if err != nil {
			return err
		}
		if last+1 < oldest || joinedAt-last > maxReplay {
			return write(reloadFrame(joinedAt, "too far behind to replay"))
		}
		events, err := s.store.EventsSince(c.Request().Context(), last, int(joinedAt-last))
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.ID > joinedAt {
				break // arrives live
			}
			if err := write(encodeFrame(e.ID, e.Type, e.Payload)); err != nil {
				return err
			}
		}
	}
	if client.kinds&kindPage != 0 && page != nil && page.id > last {
		return write(page.bytes)
	}
	return nil
}

// publish broadcasts the change-feed events the snapshot includes, then the
// snapshot's page fragment. Each is encoded once for every client.
func (s *Server) publish(ctx context.Context, snap *snapshot) error {
	for s.published < snap.version {
		events, err := s.store.EventsSince(ctx, s.published, 500)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if e.ID > snap.version {
				break
			}
			s.hub.broadcast(&frame{id: e.ID, kind: kindJSON, bytes: encodeFrame(e.ID, e.Type, e.Payload)})
			s.published = e.ID
		}
		if events[len(events)-1].ID > snap.version {
			break
		}
	}
	s.published = max(s.published, snap.version)
	if snap.liveFrame != nil && snap.liveFrame != s.hub.currentPage() {
		s.hub.broadcast(snap.liveFrame)
	}
	return nil
}

// reloadFrame tells a client that its state cannot be brought up to date
// event by event: reload the page, or refetch from the API.
func reloadFrame(id int64, reason string) []byte {
	data, _ := json.Marshal(map[string]string{"reason": reason}) // a map of strings always marshals
	return encodeFrame(id, "reload", data)
}

func parseStreamTypes(v string) (frameKind, error) {
	if v == "" {
		return kindJSON | kindPage, nil
	}
	var kinds frameKind
	for _, t := range strings.Split(v, ",") {
		switch strings.TrimSpace(t) {
		case "json":
			kinds |= kindJSON
		case "html":
			kinds |= kindPage
		case "all":
			kinds |= kindJSON | kindPage
		default:
			return 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("unknown stream type %q; use json, html or all", t))
		}
	}
	return kinds, nil
}
