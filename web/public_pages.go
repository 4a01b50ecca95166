package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// servePage writes a pre-rendered page: 304 when the client has it, the
// gzip bytes when the client takes them. No rendering, no query.
func (s *Server) servePage(c echo.Context, p *page) error {
	h := c.Response().Header()
	h["Content-Type"] = p.typeHeader
	h["Etag"] = p.etagHeader
	h["Vary"] = varyEncoding
	h["Cache-Control"] = s.publicCache
	if s.cdnCache != nil {
		h["Cdn-Cache-Control"] = s.cdnCache
	}
	if etagMatches(c.Request().Header.Get("If-None-Match"), p.etag) {
		c.Response().WriteHeader(http.StatusNotModified)
		return nil
	}
	body, length := p.body, p.bodyLenHeader
	if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h["Content-Encoding"] = gzipEncoding
		body, length = p.gzip, p.gzipLenHeader
	}
	h["Content-Length"] = length
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	expectResponse(c.Request().Context(), len(body))
	_, err := c.Response().Write(body)
	return err
}

// Header values shared by every response, allocated once.
var (
	varyEncoding = []string{"Accept-Encoding"}
	gzipEncoding = []string{"gzip"}
)

// publicCacheControl is the Cache-Control (for browsers and any cache) and
// the CDN-Cache-Control (RFC 9213, for CDNs alone) of public pages and
// documents. Browsers revalidate at once — a status page must not show
// stale news — which costs a 304 when nothing changed. A shared cache may
// answer for sharedMaxAge without asking (s-maxage: it absorbs the crowd).
// A CDN may also answer from its copy while it revalidates, and — the
// point of it — go on serving the last page for a day while every replica
// is unreachable; those two are only said to CDNs, since browsers honour
// stale-while-revalidate too. (nginx reads s-maxage; the README's snippet
// gives it the stale rules.) A negative sharedMaxAge allows no shared
// caching.
func publicCacheControl(sharedMaxAge time.Duration) (cacheControl, cdn string) {
	if sharedMaxAge < 0 {
		return "public, max-age=0, must-revalidate", ""
	}
	if sharedMaxAge == 0 {
		sharedMaxAge = 5 * time.Second
	}
	secs := max(1, int(sharedMaxAge/time.Second))
	return fmt.Sprintf("public, max-age=0, must-revalidate, s-maxage=%d", secs),
		fmt.Sprintf("public, max-age=%d, stale-while-revalidate=%d, stale-if-error=86400", secs, 6*secs)
}

func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	// Weak comparison (RFC 9110 §8.8.3.2): ignore W/ on either side.
	want := strings.TrimPrefix(etag, "W/")
	for _, part := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(part), "W/") == want {
			return true
		}
	}
	return false
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		params = strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}

func (s *Server) handleHome(c echo.Context) error {
	return s.servePage(c, s.snap.Load().home)
}

func (s *Server) handleIncidentPage(c echo.Context) error {
	snap := s.snap.Load()
	id := c.Param("id")
	if p, ok := snap.incidents[id]; ok {
		return s.servePage(c, p)
	}
	// Older incidents are rendered on first request and kept for the life
	// of this snapshot.
	p, err := snap.lazy.get(c.Request().Context(), "incident:"+id, func(ctx context.Context) (*page, error) {
		inc, err := s.store.GetIncident(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return newPage(ctx, templates.Incident(templates.IncidentPage{Site: snap.site, Incident: inc, Components: snap.components}))
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "No such incident", "This incident does not exist, or its address is mistyped.")
	}
	return s.servePage(c, p)
}

func (s *Server) handleMaintenancePage(c echo.Context) error {
	snap := s.snap.Load()
	id := c.Param("id")
	if p, ok := snap.maintenances[id]; ok {
		return s.servePage(c, p)
	}
	p, err := snap.lazy.get(c.Request().Context(), "maintenance:"+id, func(ctx context.Context) (*page, error) {
		m, err := s.store.GetMaintenance(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return newPage(ctx, templates.Maintenance(templates.MaintenancePage{Site: snap.site, Maintenance: m, Components: snap.components}))
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "No such maintenance", "This maintenance does not exist, or its address is mistyped.")
	}
	return s.servePage(c, p)
}

// historyPageSize is how many incidents and maintenance windows one history
// page lists.
const historyPageSize = 25

func (s *Server) handleHistory(c echo.Context) error {
	n := 1
	if v := c.QueryParam("page"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 100000 {
			return s.notFoundPage(c, "No such page", "History pages are numbered from 1.")
		}
	}
	snap := s.snap.Load()
	p, err := snap.lazy.get(c.Request().Context(), "history:"+strconv.Itoa(n), func(ctx context.Context) (*page, error) {
		view, err := s.historyView(ctx, snap.site, snap.components, n)
		if err != nil || view == nil {
			return nil, err
		}
		return newPage(ctx, templates.History(*view))
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "No such page", "The history does not go back that far.")
	}
	return s.servePage(c, p)
}

// historyView merges resolved incidents and completed maintenance by date,
// newest first, and cuts page n out of them. nil means past the end.
func (s *Server) historyView(ctx context.Context, site templates.Site, components map[string]store.Component, n int) (*templates.HistoryPage, error) {
	// Take enough of each list to fill page n whatever the mix.
	limit := n*historyPageSize + 1
	incidents, err := s.store.ListIncidents(ctx, store.IncidentFilter{Resolved: true, Limit: limit})
	if err != nil {
		return nil, err
	}
	maint, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceCompleted}, Limit: limit})
	if err != nil {
		return nil, err
	}
	items := make([]templates.HistoryItem, 0, len(incidents)+len(maint))
	for i := range incidents {
		items = append(items, templates.HistoryItem{At: incidents[i].CreatedAt, Incident: &incidents[i]})
	}
	for i := range maint {
		items = append(items, templates.HistoryItem{At: maint[i].ScheduledFor, Maintenance: &maint[i]})
	}
	sortItems(items)
	start := (n - 1) * historyPageSize
	if start >= len(items) && n > 1 {
		return nil, nil
	}
	end := min(start+historyPageSize, len(items))
	view := &templates.HistoryPage{Site: site, Components: components, Page: n}
	for _, it := range items[start:end] {
		month := time.Date(it.At.Year(), it.At.Month(), 1, 0, 0, 0, 0, time.UTC)
		if len(view.Months) == 0 || !view.Months[len(view.Months)-1].Month.Equal(month) {
			view.Months = append(view.Months, templates.HistoryMonth{Month: month})
		}
		last := &view.Months[len(view.Months)-1]
		last.Items = append(last.Items, it)
	}
	if n > 1 {
		view.Prev = "/history?page=" + strconv.Itoa(n-1)
	}
	if len(items) > end {
		view.Next = "/history?page=" + strconv.Itoa(n+1)
	}
	return view, nil
}

func sortItems(items []templates.HistoryItem) {
	slices.SortStableFunc(items, func(a, b templates.HistoryItem) int { return b.At.Compare(a.At) })
}

func (s *Server) notFoundPage(c echo.Context, title, message string) error {
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().WriteHeader(http.StatusNotFound)
	return templates.ErrorView(templates.ErrorPage{Site: s.site, Title: title, Message: message}).Render(c.Request().Context(), c.Response())
}

// handleStatic serves an embedded file under its content-hashed URL.
func (s *Server) handleStatic(c echo.Context) error {
	asset, ok := s.assets.ByURL(c.Request().URL.Path)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	h := c.Response().Header()
	h.Set("Content-Type", asset.ContentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", asset.ETag)
	h["Vary"] = varyEncoding
	if etagMatches(c.Request().Header.Get("If-None-Match"), asset.ETag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := asset.Body
	if asset.Gzip != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h["Content-Encoding"] = gzipEncoding
		body = asset.Gzip
	}
	return c.Blob(http.StatusOK, asset.ContentType, body)
}

// handleFavicon answers browsers that ask for /favicon.ico regardless.
func (s *Server) handleFavicon(c echo.Context) error {
	return c.Redirect(http.StatusMovedPermanently, s.assets.URL("favicon.svg"))
}

func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Error("readiness check failed", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
