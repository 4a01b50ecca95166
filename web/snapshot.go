package web

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

const (
	uptimeDays = 90
	pastDays   = 14
	// maxLazyPages bounds the pages rendered on demand per snapshot (old
	// incidents, history pages), so crawling them cannot exhaust memory.
	maxLazyPages = 2000
)

// page is a response rendered once and served many times.
type page struct {
	body        []byte
	gzip        []byte
	etag        string
	contentType string

	// Header values, allocated once here rather than on every request.
	etagHeader, typeHeader, bodyLenHeader, gzipLenHeader []string
}

// snapshot is everything the public pages show, pre-rendered. It is
// immutable once published; a change builds a new one.
type snapshot struct {
	version      int64 // the last change-feed event it includes
	builtAt      time.Time
	home         *page
	incidents    map[string]*page
	maintenances map[string]*page
	// recent are the ids of the incidents the page's "past incidents"
	// lists (rendered on first request, but part of the static mirror).
	recent     []string
	components map[string]store.Component
	site       templates.Site
	// liveView is what open status pages in the default language are
	// brought up to this snapshot with.
	liveView
	// eco is what other tools read: the v2 API, feeds, badges.
	eco *ecosystem
	// lazy holds the pages rendered on first request (older incidents,
	// history pages, component badges, group pages).
	lazy *lazyPages
	// scope is what the page shows (nil: the default page, everything);
	// root is where its URLs start.
	scope *store.Scope
	root  string
	// groups are the component groups as the page lays them out, by id,
	// for their own pages (GroupPage); a closed group's uptime records are
	// computed there, from uptimes.
	groups  map[string]templates.GroupView
	uptimes *uptimes
	// bars and componentList are what the next snapshot may reuse: each
	// shown component's rendered uptime bar, and the component list
	// compressed on its own. Ninety days a component make the bars most of
	// the page, and most changes (an incident's update) leave the list as
	// it was.
	bars          barCache
	componentList *deflated
	// brand is the page's branding files (public_branding.go).
	brand *brandAssets
	// lang is the page's default language, which every page above is
	// rendered in; homes are its status page in each other language it
	// offers (public_language.go).
	lang    string
	homes   map[string]*langHome
	matcher *i18n.Matcher
	// active and open are the active incidents and open maintenance the
	// pages above show, by id, kept when the page offers other languages:
	// their pages in those are rendered on first request (lazy), from
	// what this snapshot shows rather than from a newer read.
	active map[string]store.Incident
	open   map[string]store.Maintenance
}

// liveView is a status page's live region as a snapshot rendered it in
// one language, and the SSE event that brings open pages in that language
// up to it (liveFrame).
type liveView struct {
	// region is the live region, in parts (live_parts.go), and shown every
	// part in it: what open pages show once they are at this snapshot,
	// which the next snapshot's event leaves out.
	region    *livePart
	shown     shownParts
	liveFrame *frame
}

// langHome is the status page in a language other than the page's
// default: the page, its live view, and its uptime bars for the next
// snapshot to reuse.
type langHome struct {
	home *page
	bars barCache
	liveView
}

// viewIn is what the snapshot rendered in lang that the next may build
// on: its live view and uptime bars (nil for a nil snapshot, or one that
// did not render lang).
func (snap *snapshot) viewIn(lang string) (*liveView, barCache) {
	switch {
	case snap == nil:
		return nil, nil
	case snap.lang == lang:
		return &snap.liveView, snap.bars
	case snap.homes[lang] != nil:
		h := snap.homes[lang]
		return &h.liveView, h.bars
	}
	return nil, nil
}

// liveFrames are the page events of every language the snapshot renders
// the status page in, the default's first.
func (snap *snapshot) liveFrames() []*frame {
	out := []*frame{snap.liveFrame}
	for _, lang := range snap.site.Languages[min(1, len(snap.site.Languages)):] {
		if h := snap.homes[lang]; h != nil {
			out = append(out, h.liveFrame)
		}
	}
	return out
}

// liveFramesByLang are liveFrames by their language, for a new hub.
func (snap *snapshot) liveFramesByLang() map[string]*frame {
	out := map[string]*frame{}
	for _, f := range snap.liveFrames() {
		out[f.lang] = f
	}
	return out
}

// newPage renders c and compresses it once.
func newPage(ctx context.Context, c templ.Component) (*page, error) {
	body, err := render(ctx, c, 0)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return newPageBytes(body, "text/html; charset=utf-8")
}

// flateWriters are reused across pages and rebuilds: a new writer costs
// about 800 KB, and a rebuild compresses every hot page and document.
var flateWriters = sync.Pool{New: func() any {
	// Level 6: within a few percent of level 9's size at a fraction of the
	// time, and a rebuild compresses every hot page.
	w, _ := flate.NewWriter(nil, flate.DefaultCompression) // a valid level cannot fail
	return w
}}

// gzipHeader starts every gzip body (RFC 1952): no name, no time, OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// deflated is a piece of a page compressed on its own: by a fresh
// compressor, ended with a sync flush, so that its bytes refer to nothing
// before them and can stand inside any deflate stream. A page that holds
// the piece unchanged reuses them instead of compressing it again.
type deflated struct {
	raw  []byte
	data []byte
	sum  [sha256.Size]byte // of raw, for the ETag of a page that holds it
}

func deflatePiece(raw []byte) (*deflated, error) {
	var out bytes.Buffer
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("deflate: %w", err)
	}
	return &deflated{raw: raw, data: out.Bytes(), sum: sha256.Sum256(raw)}, nil
}

// indexPiece is bytes.Index for a long piece: it looks for the piece's
// first bytes, which a page holds once, and compares the rest there.
func indexPiece(body, piece []byte) int {
	head := piece[:min(len(piece), 64)]
	for off := 0; ; {
		i := bytes.Index(body[off:], head)
		if i < 0 {
			return -1
		}
		if bytes.HasPrefix(body[off+i:], piece) {
			return off + i
		}
		off += i + 1
	}
}

func newPageBytes(body []byte, contentType string) (*page, error) {
	return newPageWith(body, contentType, nil)
}

// newPageWith is newPageBytes for a body that may hold piece: its
// compressed bytes are spliced in between the parts around it, which are
// compressed here. The result is one ordinary gzip stream.
func newPageWith(body []byte, contentType string, piece *deflated) (*page, error) {
	before, after := body, []byte(nil)
	if piece != nil {
		if i := indexPiece(body, piece.raw); i >= 0 {
			before, after = body[:i], body[i+len(piece.raw):]
		} else {
			piece = nil
		}
	}
	gz := bytes.NewBuffer(make([]byte, 0, 1024+len(body)/8))
	gz.Write(gzipHeader)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(gz)
	if _, err := w.Write(before); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if piece != nil {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		gz.Write(piece.data)
		// What follows starts afresh too: its matches must not reach back
		// into bytes this compressor did not write.
		w.Reset(gz)
		if _, err := w.Write(after); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.ChecksumIEEE(body))
	binary.LittleEndian.PutUint32(trailer[4:], uint32(len(body)))
	gz.Write(trailer[:])
	// The ETag is a hash of the content; with a piece, a hash of the hashes
	// of the three parts, the piece's computed once.
	sum := sha256.Sum256(body)
	if piece != nil {
		b, a := sha256.Sum256(before), sha256.Sum256(after)
		sum = sha256.Sum256(slices.Concat(b[:], piece.sum[:], a[:]))
	}
	p := &page{
		body:        body,
		gzip:        gz.Bytes(),
		etag:        `W/"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		contentType: contentType,
	}
	p.etagHeader, p.typeHeader = []string{p.etag}, []string{contentType}
	p.bodyLenHeader, p.gzipLenHeader = []string{strconv.Itoa(len(p.body))}, []string{strconv.Itoa(len(p.gzip))}
	return p, nil
}

// publicData is one read of everything the public pages show, from which
// every page's snapshot is built.
type publicData struct {
	version    int64
	now, today time.Time
	components []store.Component
	groups     []store.ComponentGroup
	active     []store.Incident
	recent     []store.Incident
	maint      []store.Maintenance
	history    map[string][]store.StatusChange
	pages      []store.Page
	brandings  map[string]store.Branding // by page id, "" the default page
}

// readPublic reads the public state once. version is the change-feed
// position it is known to include (it may include later changes too).
func (s *Server) readPublic(ctx context.Context, version int64) (*publicData, error) {
	// The store's clock, which dates every change: "today" on the page is
	// the day the store says it is (a test or the demo may move it).
	d := &publicData{version: version, now: s.store.Now()}
	d.today = time.Date(d.now.Year(), d.now.Month(), d.now.Day(), 0, 0, 0, 0, time.UTC)
	var err error
	if d.components, err = s.store.ListComponents(ctx); err != nil {
		return nil, err
	}
	if d.groups, err = s.store.ListComponentGroups(ctx); err != nil {
		return nil, err
	}
	if d.active, err = s.store.ListIncidents(ctx, store.IncidentFilter{Unresolved: true, Limit: 1000}); err != nil {
		return nil, err
	}
	if d.recent, err = s.store.ListIncidents(ctx, store.IncidentFilter{Since: d.today.AddDate(0, 0, -(pastDays - 1)), Limit: 1000}); err != nil {
		return nil, err
	}
	if d.maint, err = s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceScheduled, store.MaintenanceInProgress, store.MaintenanceVerifying}, Limit: 1000}); err != nil {
		return nil, err
	}
	if d.history, err = s.store.StatusHistory(ctx, d.today.AddDate(0, 0, -(uptimeDays-1))); err != nil {
		return nil, err
	}
	if d.pages, err = s.store.ListPages(ctx); err != nil {
		return nil, err
	}
	if d.brandings, err = s.store.ListBrandings(ctx); err != nil {
		return nil, err
	}
	sort.SliceStable(d.maint, func(i, j int) bool {
		ai, aj := d.maint[i].Status.Active(), d.maint[j].Status.Active()
		if ai != aj {
			return ai
		}
		return d.maint[i].ScheduledFor.Before(d.maint[j].ScheduledFor)
	})
	return d, nil
}

// scoped is the part of d that a page with scope sc shows (nil: all of it).
func (d *publicData) scoped(sc *store.Scope) *publicData {
	if sc == nil {
		return d
	}
	out := *d
	out.components = filter(d.components, func(c store.Component) bool { return sc.ShowsComponent(c.ID) })
	out.groups = nil
	for _, g := range d.groups {
		g.Components = filter(g.Components, sc.ShowsComponent)
		if len(g.Components) > 0 {
			out.groups = append(out.groups, g)
		}
	}
	out.active = scopedAll(filter(d.active, func(i store.Incident) bool { return sc.Shows(i.Components, i.Pages) }), sc.Incident)
	out.recent = scopedAll(filter(d.recent, func(i store.Incident) bool { return sc.Shows(i.Components, i.Pages) }), sc.Incident)
	out.maint = scopedAll(filter(d.maint, func(m store.Maintenance) bool { return sc.Shows(m.Components, m.Pages) }), sc.Maintenance)
	return &out
}

// scopedAll is each of list as the page shows it (store.Scope.Incident).
func scopedAll[T any](list []T, as func(T) T) []T {
	for i := range list {
		list[i] = as(list[i])
	}
	return list
}

func filter[T any](in []T, keep func(T) bool) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// buildPages reads the public state once and builds every page's snapshot
// from it, then serves them all. livePage, when given, is handed each
// snapshot as soon as its live update is ready, before the pages and
// documents that only new requests read.
//
// touched, when not nil, are the pages to build (by id, "" for the
// default page; public_sites.go's pageTouched): the others keep the
// snapshot they have. A page new since the last build is built anyway.
func (s *Server) buildPages(ctx context.Context, version int64, touched map[string]bool, livePage func(*sitePage, *snapshot)) error {
	d, err := s.readPublic(ctx, version)
	if err != nil {
		return err
	}
	set, retired := s.syncPages(d.pages)
	pages := append([]*sitePage{s.main}, set.list...)
	snaps := make([]*snapshot, len(pages))
	for i, sp := range pages {
		if prev := sp.snap.Load(); prev != nil && touched != nil && !touched[sp.id()] {
			snaps[i] = prev
			continue
		}
		if snaps[i], err = s.buildSnapshot(ctx, sp, d, livePage); err != nil {
			if sp.cfg != nil {
				return fmt.Errorf("page %s: %w", sp.cfg.Slug, err)
			}
			return err
		}
	}
	for i, sp := range pages {
		if sp.snap.Load() == nil { // a new page: its stream starts here
			sp.hub.setPosition(snaps[i].version, snaps[i].liveFramesByLang())
		}
		sp.snap.Store(snaps[i])
	}
	s.others.Store(set)
	for _, h := range retired {
		h.Close()
	}
	s.builtUpTo.Store(version)
	next := make(chan struct{})
	close(*s.rebuilt.Swap(&next))
	return nil
}

// buildSnapshot renders one page's hot pages from the public state.
func (s *Server) buildSnapshot(ctx context.Context, sp *sitePage, all *publicData, livePage func(*sitePage, *snapshot)) (*snapshot, error) {
	sc := store.DefaultScope(all.components)
	site := s.site
	if sp.cfg != nil {
		sc = store.ScopeOf(*sp.cfg, all.components)
		site.Name, site.BaseURL = sp.cfg.Name, s.pageURL(sp.cfg)
		site.ViewerSignOut = sp.cfg.Access == store.AccessEmail
	}
	brand, brandFiles, err := s.brandingFor(ctx, all.brandings[sp.id()], sp.root, sp.snap.Load())
	if err != nil {
		return nil, fmt.Errorf("branding: %w", err)
	}
	site.Brand = brand
	offered := all.brandings[sp.id()].Offered()
	site.Languages = offered
	ctx = i18n.With(templates.WithRoot(ctx, sp.root), offered[0])
	if sp.private() {
		ctx = templates.WithInternalNotes(ctx)
	}
	d := all.scoped(sc)
	now, today, version := d.now, d.today, d.version
	byID := make(map[string]store.Component, len(d.components))
	for _, c := range d.components {
		byID[c.ID] = c
	}
	up := &uptimes{history: d.history, now: now}
	site.Version, site.Live = version, true
	home := templates.HomePage{
		Site:        site,
		Overall:     store.RollUp(d.components, d.active),
		Groups:      withComponents(groupViews(d.groups, d.components, up)),
		Active:      d.active,
		Maintenance: d.maint,
		PastDays:    pastIncidentDays(d.recent, today),
		Components:  byID,
		UptimeDays:  uptimeDays,
		GeneratedAt: now,
	}
	snap := &snapshot{
		version:      version,
		builtAt:      now,
		incidents:    map[string]*page{},
		maintenances: map[string]*page{},
		components:   byID,
		site:         site,
		scope:        sc,
		root:         sp.root,
		lazy:         newLazyPages(sp.root, sp.private(), offered),
		lang:         offered[0],
		uptimes:      up,
		brand:        brandFiles,
	}
	for _, inc := range d.recent {
		snap.recent = append(snap.recent, inc.ID)
	}
	var live func(*snapshot)
	if livePage != nil {
		live = func(snap *snapshot) { livePage(sp, snap) }
	}
	if err := s.renderHome(ctx, sp.snap.Load(), snap, &home, offered[1:], live); err != nil {
		return nil, err
	}
	// Active incidents are what the crowd opens; older ones are rendered on
	// first request (lazyPages), which keeps a rebuild's cost flat as the
	// history grows. So are they in the page's other languages: most
	// visitors read the default, and a rebuild renders them once.
	multilingual := len(offered) > 1
	if multilingual {
		snap.active = make(map[string]store.Incident, len(d.active))
		snap.open = make(map[string]store.Maintenance, len(d.maint))
	}
	for _, inc := range d.active {
		p, err := newPage(here(ctx, multilingual, incidentPath(inc.ID)), templates.Incident(templates.IncidentPage{Site: site, Incident: inc, Components: byID}))
		if err != nil {
			return nil, fmt.Errorf("incident page %s: %w", inc.ID, err)
		}
		snap.incidents[inc.ID] = p
		if multilingual {
			snap.active[inc.ID] = inc
		}
	}
	for _, m := range d.maint {
		p, err := newPage(here(ctx, multilingual, maintenancePath(m.ID)), templates.Maintenance(templates.MaintenancePage{Site: site, Maintenance: m, Components: byID}))
		if err != nil {
			return nil, fmt.Errorf("maintenance page %s: %w", m.ID, err)
		}
		snap.maintenances[m.ID] = p
		if multilingual {
			snap.open[m.ID] = m
		}
	}
	if snap.eco, err = s.buildEcosystem(ctx, snap, d.components, d.groups, d.active, d.maint); err != nil {
		return nil, fmt.Errorf("public API, feeds and badges: %w", err)
	}
	return snap, nil
}

// renderHome renders the status page and its live update, which it hands
// to livePage (when given) before it renders and compresses the page. The
// region is rendered in parts (live_parts.go), once for both; what the last
// snapshot rendered is reused where nothing in it changed: the uptime bars,
// and the compressed component list.
func (s *Server) renderHome(ctx context.Context, prev, snap *snapshot, home *templates.HomePage, others []string, livePage func(*snapshot)) error {
	prevView, prevBars := prev.viewIn(snap.lang)
	b := newPartBuilder(ctx)
	snap.bars = make(barCache)
	region, list, err := b.regionParts(home, prevBars, snap.bars)
	if err != nil {
		return fmt.Errorf("live region: %w", err)
	}
	snap.region, snap.shown = region, b.shown
	if snap.liveFrame, err = liveFrame(ctx, home, region, prevView); err != nil {
		return fmt.Errorf("live update: %w", err)
	}
	// The other languages' events too, before any is pushed: a hub takes
	// a snapshot's events all at once (Hub.publishPages).
	if err := s.languageRegions(ctx, prev, snap, *home, others); err != nil {
		return err
	}
	if livePage != nil {
		livePage(snap)
	}
	snap.groups = make(map[string]templates.GroupView, len(home.Groups))
	for _, g := range home.Groups {
		if g.Group.ID != "" {
			snap.groups[g.Group.ID] = g
		}
	}
	if prev != nil && prev.componentList != nil && bytes.Equal(prev.componentList.raw, list.html) {
		snap.componentList = prev.componentList
	} else if snap.componentList, err = deflatePiece(list.html); err != nil {
		return fmt.Errorf("component list: %w", err)
	}
	home.Region = region
	// The buffer sized from the previous page: growing by doubling would
	// copy it several times.
	size := region.size() + 8<<10
	if prev != nil && prev.home != nil {
		size = max(size, len(prev.home.body)+4<<10)
	}
	page, err := render(ctx, templates.Home(*home), size)
	if err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	if snap.home, err = newPageWith(page, "text/html; charset=utf-8", snap.componentList); err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	return renderLanguagePages(ctx, snap, *home)
}

// rendered is HTML rendered already, as a component that writes it as it is.
func rendered(html []byte) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := w.Write(html)
		return err
	})
}

// render renders c into a buffer of about size bytes.
func render(ctx context.Context, c templ.Component, size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	if err := c.Render(ctx, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// liveFrame makes the "page" SSE event that brings open status pages in
// ctx's language from the last snapshot (prev, nil for none) to this one:
// {"version","banner","html"}, where html is the region with every part
// the last snapshot showed too left out, as a placeholder naming its key
// (writeChanged). A page that was at the last snapshot holds each of those
// parts; one further behind is sent the whole region instead
// (frame.complete, in catchUp). When the region has not changed at all,
// the last frame is reused, so that nothing is pushed.
func liveFrame(ctx context.Context, home *templates.HomePage, region *livePart, prev *liveView) (*frame, error) {
	if prev != nil && prev.liveFrame != nil && prev.region != nil && prev.region.key == region.key {
		return prev.liveFrame, nil
	}
	f := &frame{id: home.Site.Version, kind: kindPage, lang: i18n.Lang(ctx), banner: templates.BannerText(ctx, home.Overall), region: region}
	if prev == nil || prev.liveFrame == nil {
		// Nothing to leave out: what pages show is not known.
		b, err := f.encode(region.whole())
		f.bytes, f.whole = b, b
		return f, err
	}
	f.base = prev.liveFrame.id
	var changed bytes.Buffer
	changed.Grow(4 << 10)
	region.writeChanged(&changed, prev.shown)
	var err error
	f.bytes, err = f.encode(changed.Bytes())
	return f, err
}

// groupViews lays components out as the templates show them, in the
// page's sections (store.Sections). With up, the components of each
// section the status page shows whole (an open group, the ungrouped) get
// their uptime record; a closed group's wait for its own page (up.fill):
// on a page of thousands of components, computing every record was most of
// what a rebuild allocated.
func groupViews(groups []store.ComponentGroup, components []store.Component, up *uptimes) []templates.GroupView {
	sections := store.Sections(groups, components)
	out := make([]templates.GroupView, 0, len(sections))
	for _, sec := range sections {
		gv := templates.GroupView{Status: sec.Status()}
		gv.Open = gv.Status != store.Operational
		if sec.Group != nil {
			gv.Group = *sec.Group
		}
		for _, c := range sec.Components {
			gv.Components = append(gv.Components, templates.ComponentView{Component: c})
		}
		if up != nil && (gv.Open || sec.Group == nil) {
			up.fill(&gv)
		}
		out = append(out, gv)
	}
	return out
}

// uptimes is what components' 90-day records are computed from: the status
// history a snapshot read, and its "now".
type uptimes struct {
	history map[string][]store.StatusChange
	now     time.Time
}

// fill computes the uptime record of each of g's components, in place.
func (u *uptimes) fill(g *templates.GroupView) {
	for i := range g.Components {
		c := &g.Components[i]
		c.Uptime = store.ComputeUptime(c.CreatedAt, u.history[c.ID], u.now, uptimeDays)
	}
}

// withComponents leaves out empty groups: visitors have nothing to read
// (or choose) in them.
func withComponents(views []templates.GroupView) []templates.GroupView {
	out := views[:0:0]
	for _, g := range views {
		if len(g.Components) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// pastIncidentDays puts incidents under the day they started, for each of
// the last pastDays days, newest first; days without any stay, empty.
func pastIncidentDays(incidents []store.Incident, today time.Time) []templates.DayIncidents {
	days := make([]templates.DayIncidents, pastDays)
	for i := range days {
		days[i].Date = today.AddDate(0, 0, -i)
	}
	for _, inc := range incidents {
		d := inc.CreatedAt.UTC()
		i := int(today.Sub(time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
		if i >= 0 && i < pastDays {
			days[i].Incidents = append(days[i].Incidents, inc)
		}
	}
	return days
}
