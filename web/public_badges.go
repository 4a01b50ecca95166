package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/static"
	"github.com/herald-status/herald/store"
)

// Badges: shields-style SVGs with the status in words, for READMEs and
// dashboards. /badge.svg is the whole page, /components/{id}/badge.svg one
// component. Both come from the snapshot with an ETag.

// badgeColors are the message backgrounds. Darker than shields' defaults so
// that white text meets WCAG AA contrast; the words carry the meaning anyway.
var badgeColors = map[store.ComponentStatus]string{
	store.Operational:         "#2b7a0b",
	store.UnderMaintenance:    "#175cd3",
	store.DegradedPerformance: "#8a6100",
	store.PartialOutage:       "#b54708",
	store.MajorOutage:         "#b42318",
}

// newBadge renders one badge: label on grey, the status in words on its colour.
func newBadge(label string, status store.ComponentStatus) (*page, error) {
	message := strings.ToLower(status.Label())
	color, ok := badgeColors[status]
	if !ok {
		color = "#555"
	}
	lw, mw := textWidth(label)+10, textWidth(message)+10
	w := lw + mw
	l, m := xmlText(label), xmlText(message)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, w, l, m)
	fmt.Fprintf(&b, `<title>%s: %s</title>`, l, m)
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, w)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`, lw, lw, mw, color, w)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">`)
	for _, t := range []struct {
		x, w int
		s    string
	}{{lw * 5, (lw - 10) * 10, l}, {lw*10 + mw*5, (mw - 10) * 10, m}} {
		fmt.Fprintf(&b, `<text aria-hidden="true" x="%d" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="%d">%s</text>`, t.x, t.w, t.s)
		fmt.Fprintf(&b, `<text x="%d" y="140" transform="scale(.1)" textLength="%d">%s</text>`, t.x, t.w, t.s)
	}
	b.WriteString(`</g></svg>`)
	return newPageBytes(b.Bytes(), "image/svg+xml")
}

// xmlText escapes s for SVG text and attributes. A name saved before
// control characters were refused (store.checkLine) may still hold one, and
// XML has no way to write most of them, escaped or not: they become U+FFFD,
// so the badge stays well-formed.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

// textWidth estimates the width in pixels of s in 11px Verdana, closely
// enough for a badge: textLength then fits the text to the box exactly.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("il.,:;'|!", r):
			w += 3.9
		case strings.ContainsRune("fjrtI()[] -", r):
			w += 4.9
		case strings.ContainsRune("mwMW", r):
			w += 10.7
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			w += 7.6
		case r < 0x80:
			w += 6.6
		default:
			w += 8 // most other scripts run wider
		}
	}
	return int(w + 0.5)
}

func (s *Server) handleBadge(c echo.Context) error {
	crossOrigin(c)
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	return s.servePage(c, snap.eco.badge)
}

func (s *Server) handleComponentBadge(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	comp, ok := snap.components[id]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such component")
	}
	// Rendered on first request and kept for this snapshot: most
	// components never have a badge asked for.
	p, err := snap.lazy.get(c.Request().Context(), snap.lang, "badge:"+id, func(context.Context) (*page, error) { return newBadge(comp.Name, comp.Status) })
	if err != nil {
		return err
	}
	crossOrigin(c)
	return s.servePage(c, p)
}

// newEmbedScript prepares /embed.js once, with its gzip form and ETag.
func newEmbedScript() (*page, error) {
	return newPageBytes(static.EmbedScript(), "text/javascript; charset=utf-8")
}

// handleEmbed serves /embed.js, the banner script customers put on their
// own sites. Its address cannot carry a content hash (it is pasted into
// other people's pages), so it is cached for minutes, not a year.
func (s *Server) handleEmbed(c echo.Context) error {
	crossOrigin(c)
	h := c.Response().Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", s.embed.etag)
	h["Vary"] = varyEncoding
	if etagMatches(c.Request().Header.Get("If-None-Match"), s.embed.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := s.embed.body
	if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h["Content-Encoding"] = gzipEncoding
		body = s.embed.gzip
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", body)
}
