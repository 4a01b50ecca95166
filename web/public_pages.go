package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// servePage writes a pre-rendered page: 304 when the client has it, the
// gzip bytes when the client takes them. No rendering, no query.
// vary, when given, is the Vary header in place of Accept-Encoding alone.
func (s *Server) servePage(c echo.Context, p *page, vary ...[]string) error {
	h := c.Response().Header()
	h["Content-Type"] = p.typeHeader
	h["Etag"] = p.etagHeader
	h["Vary"] = varyEncoding
	if len(vary) > 0 {
		h["Vary"] = vary[0]
	}
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
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	p, vary := homeFor(c, snap)
	return s.servePage(c, p, vary)
}

// here is ctx for rendering the page at path (below the page's root),
// which the language switcher links in each language; only a page that
// offers more than one shows it.
func here(ctx context.Context, multilingual bool, path string) context.Context {
	if !multilingual {
		return ctx
	}
	return templates.WithHere(ctx, templates.Href(ctx, path))
}

func incidentPath(id string) string    { return "/incidents/" + id }
func maintenancePath(id string) string { return "/maintenance/" + id }

// handleIncidentPage is an incident's page. An active one in the page's
// default language is in the snapshot; the rest are rendered on first
// request (lazyItem).
func (s *Server) handleIncidentPage(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	lang, vary := pageLanguage(c, snap)
	if p, ok := snap.incidents[id]; ok && lang == snap.lang {
		return s.servePage(c, p, vary)
	}
	p, err := lazyItem(c, snap, lang, "incident:"+id, incidentPath(id), func(ctx context.Context) (templ.Component, error) {
		inc, ok := snap.active[id]
		if !ok {
			found, err := s.store.GetIncident(ctx, id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && !snap.scope.Shows(found.Components, found.Pages)) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			inc = snap.scope.Incident(found)
		}
		return templates.Incident(templates.IncidentPage{Site: snap.site, Incident: inc, Components: snap.components}), nil
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "error.no_such_incident", "error.incident_missing")
	}
	return s.servePage(c, p, vary)
}

// handleMaintenancePage is a maintenance window's page, served as
// handleIncidentPage serves an incident's.
func (s *Server) handleMaintenancePage(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	lang, vary := pageLanguage(c, snap)
	if p, ok := snap.maintenances[id]; ok && lang == snap.lang {
		return s.servePage(c, p, vary)
	}
	p, err := lazyItem(c, snap, lang, "maintenance:"+id, maintenancePath(id), func(ctx context.Context) (templ.Component, error) {
		m, ok := snap.open[id]
		if !ok {
			found, err := s.store.GetMaintenance(ctx, id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && !snap.scope.Shows(found.Components, found.Pages)) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			m = snap.scope.Maintenance(found)
		}
		return templates.Maintenance(templates.MaintenancePage{Site: snap.site, Maintenance: m, Components: snap.components}), nil
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "error.no_such_maintenance", "error.maintenance_missing")
	}
	return s.servePage(c, p, vary)
}

// lazyItem is an incident's or maintenance window's page (name, at path)
// in lang, rendered from view (nil for no such thing) on first request and
// kept for the life of the snapshot; nil for no such page. The snapshot
// holds the active ones' data for the page's other languages, so that
// they say what the default's say; an older one is read from the store.
func lazyItem(c echo.Context, snap *snapshot, lang, name, path string, view func(context.Context) (templ.Component, error)) (*page, error) {
	return snap.lazy.get(c.Request().Context(), lang, name, func(ctx context.Context) (*page, error) {
		v, err := view(ctx)
		if v == nil || err != nil {
			return nil, err
		}
		return newPage(here(ctx, true, path), v)
	})
}

// handleGroupPage is /groups/{id}: one component group, open, with every
// component and its uptime bar. A closed group on the status page links
// here, and the page script loads it into the group when it is opened.
func (s *Server) handleGroupPage(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	g, ok := snap.groups[c.Param("id")]
	if !ok {
		return s.notFoundPage(c, "error.no_such_group", "error.group_missing")
	}
	lang, vary := pageLanguage(c, snap)
	// The bars the status page rendered in this language, to reuse.
	_, bars := snap.viewIn(lang)
	p, err := snap.lazy.get(c.Request().Context(), lang, "group:"+g.Group.ID, func(ctx context.Context) (*page, error) {
		if !g.Open {
			g.Components = slices.Clone(g.Components) // the snapshot's are read by others
			snap.uptimes.fill(&g)
		}
		g.Open = true // whatever its status: it is what the page is about
		ctx = here(ctx, true, "/groups/"+g.Group.ID)
		b := newPartBuilder(ctx)
		part, err := b.group(g, bars, barCache{})
		if err != nil {
			return nil, err
		}
		return newPage(ctx, templates.GroupPage(templates.GroupPageView{Site: snap.site, Group: g, Rendered: part}))
	})
	if err != nil {
		return err
	}
	return s.servePage(c, p, vary)
}

// HistoryPageSize is how many incidents and maintenance windows one history
// page lists.
const HistoryPageSize = 25

// The history pages by a keyset, so that each costs the same however deep
// it is: ?before=TIME~ID lists what comes after that entry, ?after=TIME~ID
// the page just newer than it, ?month=YYYY-MM starts at the end of that
// month, and the old ?page=N is found by one read of times and ids.
func (s *Server) handleHistory(c echo.Context) error {
	ctx := c.Request().Context()
	var place historyPlace
	// key names the page kept; path is its address, which the language
	// switcher links: both from what was understood of the query, so that
	// what else it held is neither kept nor repeated.
	key, path, numbered := "history", "/history", 0
	badCursor := func() error {
		return s.notFoundPage(c, "error.no_such_page", "error.history_cursor")
	}
	switch q := c.QueryParams(); {
	case q.Get("before") != "":
		k, ok := parseHistoryCursor(q.Get("before"))
		if !ok {
			return badCursor()
		}
		place.before, key = &k, "history:"+q.Get("before")
		path += "?before=" + url.QueryEscape(q.Get("before"))
	case q.Get("after") != "":
		k, ok := parseHistoryCursor(q.Get("after"))
		if !ok {
			return badCursor()
		}
		place.after, key = &k, "history:after:"+q.Get("after")
		path += "?after=" + url.QueryEscape(q.Get("after"))
	case q.Get("month") != "":
		m, err := time.Parse("2006-01", q.Get("month"))
		if err != nil {
			return s.notFoundPage(c, "error.no_such_page", "error.history_month")
		}
		place.before = &store.Keyset{At: m.AddDate(0, 1, 0).Add(-time.Microsecond)}
		key = "history:month:" + m.Format("2006-01")
		path += "?month=" + m.Format("2006-01")
	case q.Get("page") != "" && q.Get("page") != "1" && c.Param("slug") != "":
		// Numbered pages are from before pages had cursors, and before
		// there were other pages: none of those links lead here.
		return s.notFoundPage(c, "error.no_such_page", "error.history_numbered")
	case q.Get("page") != "" && q.Get("page") != "1":
		n, err := strconv.Atoi(q.Get("page"))
		if err != nil || n < 1 {
			return s.notFoundPage(c, "error.no_such_page", "error.history_from_one")
		}
		k, ok, err := s.store.HistoryPlace(ctx, (n-1)*HistoryPageSize)
		if err != nil {
			return err
		}
		if !ok {
			return s.notFoundPage(c, "error.no_such_page", "error.history_too_far")
		}
		place.before, key, numbered = &k, "history:"+strconv.Itoa(n), n
		path += "?page=" + strconv.Itoa(n)
	}
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	lang, vary := pageLanguage(c, snap)
	p, err := snap.lazy.get(ctx, lang, key, func(ctx context.Context) (*page, error) {
		view, err := s.historyView(ctx, snap, place)
		if err != nil || view == nil {
			return nil, err
		}
		if numbered > 0 { // an old numbered page leads to its numbered neighbour
			view.Prev = "/history?page=" + strconv.Itoa(numbered-1)
		}
		return newPage(here(ctx, true, path), templates.History(*view))
	})
	if err != nil {
		return err
	}
	if p == nil {
		return s.notFoundPage(c, "error.no_such_page", "error.history_too_far")
	}
	return s.servePage(c, p, vary)
}

// historyPlace is where a history page is: after before (older than it),
// or just before after (newer); neither is the newest page.
type historyPlace struct{ before, after *store.Keyset }

// historyView merges resolved incidents and completed maintenance by date,
// newest first, and takes the page at place, with links to its neighbours.
// nil means nothing is there.
func (s *Server) historyView(ctx context.Context, snap *snapshot, place historyPlace) (*templates.HistoryPage, error) {
	// One more of each than a page holds tells whether a page lies beyond.
	limit := HistoryPageSize + 1
	incidents, err := s.store.ListIncidents(ctx, store.IncidentFilter{Resolved: true, Before: place.before, After: place.after, Scope: snap.scope, Limit: limit})
	if err != nil {
		return nil, err
	}
	maint, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceCompleted}, Before: place.before, After: place.after, Scope: snap.scope, Limit: limit})
	if err != nil {
		return nil, err
	}
	items := make([]templates.HistoryItem, 0, len(incidents)+len(maint))
	for i := range incidents {
		items = append(items, templates.HistoryItem{At: incidents[i].CreatedAt, ID: incidents[i].ID, Incident: &incidents[i]})
	}
	for i := range maint {
		items = append(items, templates.HistoryItem{At: maint[i].ScheduledFor, ID: maint[i].ID, Maintenance: &maint[i]})
	}
	sortItems(items)
	view := &templates.HistoryPage{Site: snap.site, Components: snap.components}
	history := snap.root + "/history"
	shown := items[:min(HistoryPageSize, len(items))]
	older := len(items) > HistoryPageSize
	switch {
	case place.after != nil && len(items) > HistoryPageSize:
		// The page just newer than the cursor is the nearest entries: the
		// oldest of what was read. Something newer still lies above, and
		// the cursor's own entry below.
		shown, older = items[len(items)-HistoryPageSize:], true
		view.Newest, view.Prev = history, history+"?after="+historyCursor(historyKey(shown[0]))
	case place.after != nil:
		// Less than a page is newer than the cursor: that is the newest
		// page, whatever lies below it.
		return s.historyView(ctx, snap, historyPlace{})
	case place.before != nil:
		if len(items) == 0 {
			return nil, nil
		}
		view.Newest, view.Prev = history, history+"?after="+historyCursor(historyKey(shown[0]))
	}
	for _, it := range shown {
		month := time.Date(it.At.Year(), it.At.Month(), 1, 0, 0, 0, 0, time.UTC)
		if len(view.Months) == 0 || !view.Months[len(view.Months)-1].Month.Equal(month) {
			view.Months = append(view.Months, templates.HistoryMonth{Month: month})
		}
		last := &view.Months[len(view.Months)-1]
		last.Items = append(last.Items, it)
	}
	if older {
		view.Next = history + "?before=" + historyCursor(historyKey(shown[len(shown)-1]))
	}
	return view, nil
}

// historyKey is an entry's place in the history, for a link next to it.
func historyKey(it templates.HistoryItem) store.Keyset { return store.Keyset{At: it.At, ID: it.ID} }

// historyCursor and parseHistoryCursor write and read a keyset in a link.
func historyCursor(k store.Keyset) string {
	return url.QueryEscape(k.At.UTC().Format(time.RFC3339Nano) + "~" + k.ID)
}

func parseHistoryCursor(v string) (store.Keyset, bool) {
	at, id, ok := strings.Cut(v, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || len(id) > 64 {
		return store.Keyset{}, false
	}
	return store.Keyset{At: t, ID: id}, true
}

// sortItems puts history newest first, by id at the same time: the order
// the store's keyset pages in.
func sortItems(items []templates.HistoryItem) {
	slices.SortStableFunc(items, func(a, b templates.HistoryItem) int {
		return cmp.Or(b.At.Compare(a.At), strings.Compare(a.ID, b.ID))
	})
}

// notFoundPage answers a person with a 404 page; title and message are
// message ids (the catalogue's error.*), said in the visitor's language.
func (s *Server) notFoundPage(c echo.Context, title, message string) error {
	return s.errorPage(c, http.StatusNotFound, title, message)
}

// formSite is page sp as a page that is not its snapshot shows it — a
// form, what a form answered, a link from an email — and the context to
// render it in, under the page's root. Such a page is not live: its
// address would not give it back.
func (s *Server) formSite(c echo.Context, sp *sitePage) (templates.Site, context.Context) {
	site := s.site
	if snap := sp.snap.Load(); snap != nil {
		site = snap.site
	}
	site.Live, site.Version = false, 0
	return site, templates.WithRoot(c.Request().Context(), sp.root)
}

// errorPage answers a person with status and a page saying why, in the
// branding of the page they asked for and in their language among those
// it offers: title and message are message ids (error.*).
func (s *Server) errorPage(c echo.Context, status int, title, message string) error {
	site, ctx, snap := s.defaultSite(), c.Request().Context(), s.main.snap.Load()
	if snap != nil {
		site.Languages = snap.site.Languages
	}
	// A private page's name is its own business: only those who may see
	// it see it on its error pages (and its languages).
	if sp := s.pageOf(c); sp != nil && sp.cfg != nil && s.admitsQuietly(c, sp) {
		site, ctx = s.formSite(c, sp)
		snap = sp.snap.Load()
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if snap != nil {
		lang, vary := pageLanguage(c, snap)
		ctx = i18n.With(ctx, lang)
		h["Vary"] = vary
		if len(site.Languages) > 1 {
			ctx = templates.WithHere(ctx, requestPath(c))
		}
	}
	c.Response().WriteHeader(status)
	return templates.ErrorView(templates.ErrorPage{Site: site, TitleID: title, MessageID: message}).Render(ctx, c.Response())
}

// requestPath is the address asked for, without lang, for the language
// switcher of a page rendered for one request (an error page). Only a
// path on this host: one that a browser would read as another host's
// ("//elsewhere") is the front page instead.
func requestPath(c echo.Context) string {
	u := c.Request().URL
	path := u.EscapedPath()
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") {
		return "/"
	}
	q := u.Query()
	q.Del("lang")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
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
	// Reads still work, and the pages are served from memory, but nothing
	// can be posted: an operator must hear of it before the next incident.
	// (The cause, which names files, is in the log, not on this public page.)
	if wf := s.store.RecheckWrites(ctx); wf != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable",
			"error": "the database cannot save changes since " + wf.At.Format(time.RFC3339) + " (disk full, read-only or failing); see the log"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
