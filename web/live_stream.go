package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
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
//	?types=html   only the "page" events the status page script applies
//	(default: both)
//	&parts=1      the client applies page events that leave out the parts
//	              it shows (live_parts.go); the page script says so
//	&lang=de      the language of the page it updates (default: the
//	              page's); the page script says so
//
// A reconnecting client sends Last-Event-ID (or ?last_event_id= on its
// first connection, from the page it was served) and receives exactly the
// events it missed, or one "reload" event when it is too far behind.
func (s *Server) handleEvents(c echo.Context) error {
	kinds, err := parseStreamTypes(c.QueryParam("types"))
	if err != nil {
		return err
	}
	// A page script from before page events came in parts asks for
	// types=html without parts=1 (a page left open across an upgrade): the
	// events it would get are not ones it can apply. It reloads instead,
	// and gets today's script.
	oldScript := c.QueryParam("types") == "html" && c.QueryParam("parts") != "1"
	lastRaw := c.Request().Header.Get("Last-Event-ID")
	if lastRaw == "" {
		lastRaw = c.QueryParam("last_event_id")
	}
	sp := s.pageOf(c)
	if sp == nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such page")
	}
	hub := sp.hub
	// The page script says the language of the page it updates; a stream
	// that does not gets the page's default language.
	lang := c.QueryParam("lang")
	if lang == "" {
		lang = sp.snap.Load().lang
	}
	client, joinedAt, page, err := hub.subscribe(clientKey(c), kinds, lang)
	switch {
	case errors.Is(err, errTooManyStreams):
		return echo.NewHTTPError(http.StatusTooManyRequests, "too many live streams from your address; close some tabs")
	case errors.Is(err, errHubClosed):
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the server is restarting; reconnect shortly")
	case err != nil:
		return err
	}

	// Take the connection over from net/http: a stream lives for hours, and
	// the request's goroutine, buffers and echo context would be held all
	// that time. What a stream needs is the socket, a small goroutine and
	// its channel (see the README for the memory this saves per client).
	conn, brw, err := http.NewResponseController(c.Response()).Hijack()
	if err != nil {
		hub.unsubscribe(client)
		return fmt.Errorf("live stream: take over connection: %w", err)
	}
	uncountConn(conn)
	stream := &hijackedStream{conn: conn}
	abandon := func() {
		hub.unsubscribe(client)
		conn.Close()
	}
	// A client that sent more than its request (pipelining) has no room
	// for a second request on a stream.
	if brw.Reader.Buffered() > 0 {
		abandon()
		return nil
	}
	header := streamHeader
	if sp.private() {
		header = privateStreamHeader
	}
	if err := stream.write(header); err != nil {
		abandon() // the client went away
		return nil
	}
	if oldScript {
		stream.write(reloadFrame(joinedAt, "the page script is out of date"))
		abandon()
		return nil
	}
	if kinds&kindPage != 0 && page == nil {
		// No event comes in a language the page is not shown in (or no
		// longer is): a reload brings the page in one that it is.
		stream.write(reloadFrame(joinedAt, "the page is not shown in this language"))
		abandon()
		return nil
	}
	if err := s.catchUp(c, sp.snap.Load().scope, client, lastRaw, joinedAt, page, stream.write); err != nil {
		s.log.Debug("live stream catch-up ended", "err", err)
		abandon()
		return nil
	}
	go pump(hub, client, stream)
	return nil
}

// streamHeader opens every stream (privateStreamHeader a private page's,
// written past the Cache-Control pageAccess sets, since the connection is
// taken over). The body runs until either side closes the connection, so
// it needs neither a length nor chunking.
var (
	streamHeader        = streamHeaderWith("no-cache, no-transform")
	privateStreamHeader = streamHeaderWith("private, no-store, no-transform")
)

func streamHeaderWith(cacheControl string) []byte {
	return []byte("HTTP/1.1 200 OK\r\n" +
		"Content-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: " + cacheControl + "\r\n" +
		"X-Accel-Buffering: no\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Connection: close\r\n" +
		"\r\n" +
		"retry: " + strconv.Itoa(retryMillis) + "\n\n")
}

// hijackedStream writes straight to the client's socket, each frame in one
// system call, with a deadline so that a client that stops reading is cut
// off instead of holding its goroutine forever.
type hijackedStream struct {
	conn     net.Conn
	deadline time.Time
}

func (h *hijackedStream) write(b []byte) error {
	// Moving a deadline costs timer work; with thousands of streams written
	// at once, move it only when it has come a second closer.
	if now := time.Now(); h.deadline.Sub(now) < streamWriteTimeout-time.Second {
		h.deadline = now.Add(streamWriteTimeout)
		if err := h.conn.SetWriteDeadline(h.deadline); err != nil {
			return err
		}
	}
	_, err := h.conn.Write(b)
	return err
}

// pump writes the client's frames until it is dropped or its connection
// fails. It is the only goroutine a connected client costs.
func pump(hub *Hub, client *streamClient, stream *hijackedStream) {
	defer stream.conn.Close()
	defer hub.unsubscribe(client)
	for {
		select {
		case f := <-client.ch:
			if err := stream.write(f.bytes); err != nil {
				return
			}
		case <-client.gone:
			return
		}
	}
}

// heartbeatFrame is an SSE comment, sent to every stream at once: it keeps
// proxies from closing idle streams and finds dead connections.
var heartbeatFrame = &frame{kind: kindJSON | kindPage, bytes: []byte(": heartbeat\n\n")}

// catchUp sends what a (re)connecting client missed before it joined the
// live broadcast at joinedAt.
func (s *Server) catchUp(c echo.Context, sc *store.Scope, client *streamClient, lastRaw string, joinedAt int64, page *frame, write func([]byte) error) error {
	if lastRaw == "" {
		// A new client: nothing to replay. The page script always sends the
		// version of the page it shows, so only API consumers get here;
		// they start from now, and page clients get the whole region.
		if client.kinds&kindPage != 0 && page != nil {
			return write(page.complete())
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
			if !eventShown(e, sc) {
				continue
			}
			payload, err := streamPayload(e, sc)
			if err != nil {
				return err
			}
			if err := write(encodeFrame(e.ID, e.Type, payload)); err != nil {
				return err
			}
		}
	}
	if client.kinds&kindPage != 0 && page != nil && page.id > last {
		// A page at the frame's base shows every part it leaves out; one
		// further behind may not, and gets the whole region.
		if last >= page.base {
			return write(page.bytes)
		}
		return write(page.complete())
	}
	return nil
}

// publishEvents broadcasts the change-feed events up to id upTo, each
// encoded once for every client.
//
// It returns the pages the events touched (pageTouched), by id.
func (s *Server) publishEvents(ctx context.Context, upTo int64) (map[string]bool, error) {
	pages := s.allPages()
	// Each page's scope as the events so far leave it: a component
	// created, changed or deleted in this batch is judged as it is now
	// by the events after it, not as the page's snapshot last saw it.
	scopes := make([]*store.Scope, len(pages))
	for i, sp := range pages {
		scopes[i] = sp.snap.Load().scope
	}
	touched := map[string]bool{}
	for s.published < upTo {
		events, err := s.store.EventsSince(ctx, s.published, 500)
		if err != nil {
			return touched, err
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if e.ID > upTo {
				return touched, nil
			}
			// Encoded once for each page's stream: an incident is told
			// as each page shows it.
			for i, sp := range pages {
				snap := sp.snap.Load()
				if eventShown(e, scopes[i]) {
					payload, err := streamPayload(e, scopes[i])
					if err != nil {
						return touched, err
					}
					sp.hub.broadcast(&frame{id: e.ID, kind: kindJSON, bytes: encodeFrame(e.ID, e.Type, payload)})
				}
				if pageTouched(sp, snap, scopes[i], e) {
					touched[sp.id()] = true
				}
				scopes[i] = scopeAfter(scopes[i], e)
			}
			s.published = e.ID
		}
	}
	// Ids can have gaps (a pruned or rolled-back range): still, the hub is
	// now at upTo.
	s.published = max(s.published, upTo)
	for _, sp := range pages {
		sp.hub.advance(upTo)
	}
	return touched, nil
}

// publishPage pushes a snapshot's page fragment, unless open pages already
// show exactly that.
func (s *Server) publishPage(sp *sitePage, snap *snapshot) {
	sp.hub.publishPages(snap.liveFrames())
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
