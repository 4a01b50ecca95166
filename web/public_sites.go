package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// sitePage is one status page Herald serves: the default one, which shows
// everything at the root, or a store.Page at /p/{slug}/ and at its own host
// name. Each has its own snapshot and its own live stream; all are rebuilt
// from one read of the store (rebuildSnapshot).
type sitePage struct {
	cfg  *store.Page // nil for the default page
	root string      // "" or "/p/{slug}"
	hub  *Hub
	snap atomic.Pointer[snapshot]
}

// id is the page's id; "" for the default page.
func (sp *sitePage) id() string {
	if sp.cfg == nil {
		return ""
	}
	return sp.cfg.ID
}

// pageSet is the pages besides the default one, as the last rebuild found
// them; it is replaced whole, never changed.
type pageSet struct {
	list   []*sitePage
	byID   map[string]*sitePage
	bySlug map[string]*sitePage
	byHost map[string]*sitePage
}

// pageOf is the page a request is for: by the /p/{slug}/ it names, or else
// by the host it was sent to, or else the default page. nil: a slug no page
// has.
func (s *Server) pageOf(c echo.Context) *sitePage {
	// The page pageAccess judged the request for, rather than the one a
	// rebuild since may have put in its place under another rule.
	if sp, ok := c.Get(ctxPage).(*sitePage); ok {
		return sp
	}
	set := s.others.Load()
	if slug := c.Param("slug"); slug != "" {
		return set.bySlug[slug]
	}
	if len(set.byHost) > 0 {
		if sp, ok := set.byHost[hostName(c)]; ok {
			return sp
		}
	}
	return s.main
}

// hostName is the host the request is for, as pages' hosts are kept:
// lower case, without a port or a final dot.
func hostName(c echo.Context) string {
	// The port cut off by hand: net.SplitHostPort makes an error (an
	// allocation on every request) for a host without one.
	host := c.Request().Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// pageSnap is the snapshot of the page a request is for; a slug no page has
// is a 404.
func (s *Server) pageSnap(c echo.Context) (*snapshot, error) {
	sp := s.pageOf(c)
	if sp == nil {
		return nil, echo.NewHTTPError(404, "no such page")
	}
	return sp.snap.Load(), nil
}

// syncPages makes the page set for the pages the store lists, keeping the
// live stream of each page that was there before (its open tabs stay
// connected). The hubs it returns are retired: those of pages that are
// gone, or whose access narrowed; the caller closes them once the new set
// is in place, so that a client they drop reconnects to the new one.
func (s *Server) syncPages(pages []store.Page) (*pageSet, []*Hub) {
	old := s.others.Load()
	set := &pageSet{byID: map[string]*sitePage{}, bySlug: map[string]*sitePage{}, byHost: map[string]*sitePage{}}
	var retired []*Hub
	for _, p := range pages {
		// A new value each time, since requests read the old one; the
		// stream and the last snapshot (what the next one is told apart
		// from) carry over.
		cfg := p
		sp := &sitePage{cfg: &cfg, root: p.Root()}
		prev := old.byID[p.ID]
		switch {
		case prev == nil:
			sp.hub = NewHub(s.cfg.StreamBuffer, s.cfg.MaxStreamsPerIP)
		case becamePrivate(prev.cfg, &cfg):
			// Its open streams were let in by the old rule: closed,
			// they reconnect and are judged by the new one, to a hub
			// where the old one was (replaying from their
			// Last-Event-ID, they miss nothing).
			retired = append(retired, prev.hub)
			sp.hub = NewHub(s.cfg.StreamBuffer, s.cfg.MaxStreamsPerIP)
			sp.hub.setPosition(prev.hub.position())
			sp.snap.Store(prev.snap.Load())
		default:
			sp.hub = prev.hub
			sp.snap.Store(prev.snap.Load())
		}
		set.list = append(set.list, sp)
		set.byID[p.ID], set.bySlug[p.Slug] = sp, sp
		if p.Host != "" {
			set.byHost[p.Host] = sp
		}
	}
	for id, sp := range old.byID {
		if _, ok := set.byID[id]; !ok {
			retired = append(retired, sp.hub)
		}
	}
	return set, retired
}

// becamePrivate reports whether a page's access narrowed, or may have: a
// public page made private, or a private page whose rule changed.
func becamePrivate(was, is *store.Page) bool {
	return is.Private() && (is.Access != was.Access || !slices.Equal(is.IPRanges, was.IPRanges))
}

// allPages is the default page and every other, for what goes to each.
func (s *Server) allPages() []*sitePage {
	return append([]*sitePage{s.main}, s.others.Load().list...)
}

// pageURL is a page's absolute URL, for feeds, documents and emails: at its
// own host when it has one.
func (s *Server) pageURL(p *store.Page) string {
	if p == nil {
		return s.cfg.BaseURL
	}
	return p.URL(s.cfg.BaseURL)
}

// eventShown reports whether a change-feed event belongs on the live stream
// of a page with scope sc (nil: everything): a page's stream carries
// the changes to what it shows, and nothing of what it does not.
func eventShown(e store.Event, sc *store.Scope) bool {
	if !e.Public() {
		return false
	}
	if sc == nil {
		return true
	}
	var obj struct {
		ID         string   `json:"id"`
		Components []string `json:"components"`
		Pages      []string `json:"pages"`
	}
	if err := json.Unmarshal(e.Payload, &obj); err != nil {
		return false // not a shape we know: better left out than leaked
	}
	switch e.ObjectType {
	case "component":
		if strings.HasSuffix(e.Type, ".deleted") {
			return sc.ShowsComponent(e.ObjectID)
		}
		var c store.Component
		if err := json.Unmarshal(e.Payload, &c); err != nil {
			return false
		}
		return sc.ShowsNow(c)
	case "component_group":
		for _, id := range obj.Components {
			if sc.ShowsComponent(id) {
				return true
			}
		}
		return false
	default:
		return sc.Shows(obj.Components, obj.Pages)
	}
}

// scopeAfter is scope sc once component event e has happened (others leave
// it as it is); an event whose payload is not a component's leaves it too,
// and the page's rebuild then counts afresh.
func scopeAfter(sc *store.Scope, e store.Event) *store.Scope {
	if e.ObjectType != "component" {
		return sc
	}
	if strings.HasSuffix(e.Type, ".deleted") {
		return sc.Forgetting(e.ObjectID)
	}
	var c store.Component
	if err := json.Unmarshal(e.Payload, &c); err != nil || c.ID == "" {
		return sc
	}
	return sc.Seeing(c)
}

// streamPayload is an event's payload as the live stream of a page with
// scope sc sends it: an incident or a maintenance as that page shows it
// (store.Scope.Incident), naming neither the components it does not show
// nor the pages it is narrowed to. Other events go as they are.
func streamPayload(e store.Event, sc *store.Scope) (json.RawMessage, error) {
	if strings.HasSuffix(e.Type, ".deleted") {
		return json.Marshal(map[string]string{"id": e.ObjectID}) // its id alone
	}
	switch e.ObjectType {
	case "incident":
		var inc store.Incident
		if err := json.Unmarshal(e.Payload, &inc); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.ID, err)
		}
		return json.Marshal(sc.Incident(inc))
	case "maintenance":
		var m store.Maintenance
		if err := json.Unmarshal(e.Payload, &m); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.ID, err)
		}
		return json.Marshal(sc.Maintenance(m))
	}
	return e.Payload, nil
}

// pageRoute is the route a request matched as the default page has it:
// "/api/v2/summary.json" whether it came at the root or under /p/{slug}.
func pageRoute(c echo.Context) string { return strings.TrimPrefix(c.Path(), pageGroup) }

// pageGroup is the route prefix of the pages besides the default one.
const pageGroup = "/p/:slug"

// pageTouched reports whether event e changes what page sp shows, whose
// snapshot is snap: for the default page, any public change; for another
// page, a change to its own settings, to what it shows or showed until now
// (a component moved out of its groups, deleted), to what it would show (a
// component added to one of its groups), or to an incident or maintenance
// it shows now (one narrowed away, or that no longer names its components,
// must leave it). The rest leaves its snapshot as it is: with ten pages, a
// change to one rebuilds one.
func pageTouched(sp *sitePage, snap *snapshot, sc *store.Scope, e store.Event) bool {
	if sp.cfg == nil {
		// The default page is rebuilt on every public change, its own
		// settings included: a change judged by the scope it had before
		// (a component made internal in the same batch) must not be
		// missed. Its documents' time of last change moves with it.
		return e.Public() || (e.ObjectType == "page" && e.ObjectID == "")
	}
	if e.ObjectType == "page" {
		return e.ObjectID == sp.cfg.ID
	}
	if eventShown(e, sc) {
		return true
	}
	switch e.ObjectType {
	case "component":
		if _, shown := snap.components[e.ObjectID]; shown {
			return true // shown until now: it may have left (moved out of the page's groups)
		}
		var c struct {
			GroupID string `json:"group_id"`
		}
		return json.Unmarshal(e.Payload, &c) == nil && c.GroupID != "" && slices.Contains(sp.cfg.Groups, c.GroupID)
	case "component_group":
		return slices.Contains(sp.cfg.Groups, e.ObjectID)
	case "incident":
		_, active := snap.incidents[e.ObjectID]
		return active || slices.Contains(snap.recent, e.ObjectID) || snap.lazy.has("incident:"+e.ObjectID)
	case "maintenance":
		_, open := snap.maintenances[e.ObjectID]
		return open || snap.lazy.has("maintenance:"+e.ObjectID)
	}
	return false
}
