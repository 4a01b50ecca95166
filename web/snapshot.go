package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
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
	// liveFrame is the SSE event that brings open status pages up to this
	// snapshot: the live region's HTML and the banner text.
	liveFrame *frame
	// eco is what other tools read: the v2 API, feeds, badges.
	eco *ecosystem
	// lazy holds the pages rendered on first request (older incidents,
	// history pages, component badges).
	lazy *lazyPages
}

// newPage renders c and compresses it once.
func newPage(ctx context.Context, c templ.Component) (*page, error) {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return newPageBytes(buf.Bytes(), "text/html; charset=utf-8")
}

// gzipWriters are reused across pages and rebuilds: a new writer costs
// about 800 KB, and a rebuild compresses every hot page and document.
var gzipWriters = sync.Pool{New: func() any {
	// Level 6: within a few percent of level 9's size at a fraction of the
	// time, and a rebuild compresses every hot page.
	w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression) // a valid level cannot fail
	return w
}}

func newPageBytes(body []byte, contentType string) (*page, error) {
	var gz bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&gz)
	if _, err := w.Write(body); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	sum := sha256.Sum256(body)
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

// buildSnapshot reads the public state once and renders every hot page.
// version is the change-feed position it is known to include (it may
// include later changes too). The caller publishes it (see refresh).
func (s *Server) buildSnapshot(ctx context.Context, version int64) (*snapshot, error) {
	// The store's clock, which dates every change: "today" on the page is
	// the day the store says it is (a test or the demo may move it).
	now := s.store.Now()
	components, err := s.store.ListComponents(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.ListComponentGroups(ctx)
	if err != nil {
		return nil, err
	}
	active, err := s.store.ListIncidents(ctx, store.IncidentFilter{Unresolved: true, Limit: 1000})
	if err != nil {
		return nil, err
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	recent, err := s.store.ListIncidents(ctx, store.IncidentFilter{Since: today.AddDate(0, 0, -(pastDays - 1)), Limit: 1000})
	if err != nil {
		return nil, err
	}
	maint, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceScheduled, store.MaintenanceInProgress, store.MaintenanceVerifying}, Limit: 1000})
	if err != nil {
		return nil, err
	}
	history, err := s.store.StatusHistory(ctx, today.AddDate(0, 0, -(uptimeDays-1)))
	if err != nil {
		return nil, err
	}

	byID := make(map[string]store.Component, len(components))
	for _, c := range components {
		byID[c.ID] = c
	}
	sort.SliceStable(maint, func(i, j int) bool {
		ai, aj := maint[i].Status.Active(), maint[j].Status.Active()
		if ai != aj {
			return ai
		}
		return maint[i].ScheduledFor.Before(maint[j].ScheduledFor)
	})
	site := s.site
	site.Version = version
	home := templates.HomePage{
		Site:        site,
		Overall:     store.RollUp(components, active),
		Groups:      withComponents(groupViews(groups, components, history, now)),
		Active:      active,
		Maintenance: maint,
		PastDays:    pastIncidentDays(recent, today),
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
		lazy:         newLazyPages(),
	}
	for _, inc := range recent {
		snap.recent = append(snap.recent, inc.ID)
	}
	if snap.home, err = newPage(ctx, templates.Home(home)); err != nil {
		return nil, fmt.Errorf("home page: %w", err)
	}
	if snap.liveFrame, err = s.liveFrame(ctx, home); err != nil {
		return nil, fmt.Errorf("live fragment: %w", err)
	}
	// Active incidents are what the crowd opens; older ones are rendered on
	// first request (lazyPages), which keeps a rebuild's cost flat as the
	// history grows.
	for _, inc := range active {
		p, err := newPage(ctx, templates.Incident(templates.IncidentPage{Site: site, Incident: inc, Components: byID}))
		if err != nil {
			return nil, fmt.Errorf("incident page %s: %w", inc.ID, err)
		}
		snap.incidents[inc.ID] = p
	}
	for _, m := range maint {
		p, err := newPage(ctx, templates.Maintenance(templates.MaintenancePage{Site: site, Maintenance: m, Components: byID}))
		if err != nil {
			return nil, fmt.Errorf("maintenance page %s: %w", m.ID, err)
		}
		snap.maintenances[m.ID] = p
	}
	if snap.eco, err = s.buildEcosystem(ctx, snap, components, groups, active, maint); err != nil {
		return nil, fmt.Errorf("public API, feeds and badges: %w", err)
	}
	return snap, nil
}

// setSnapshot makes snap the one every request reads, and wakes WaitFresh.
func (s *Server) setSnapshot(snap *snapshot) {
	s.snap.Store(snap)
	next := make(chan struct{})
	close(*s.rebuilt.Swap(&next))
}

// liveFrame renders the live region once as the "page" SSE event. When the
// fragment has not changed since the last snapshot, the last frame is reused
// so that nothing is pushed.
func (s *Server) liveFrame(ctx context.Context, home templates.HomePage) (*frame, error) {
	var buf bytes.Buffer
	if err := templates.LiveRegion(home).Render(ctx, &buf); err != nil {
		return nil, err
	}
	if prev := s.snap.Load(); prev != nil && prev.liveFrame != nil && bytes.Equal(prev.liveFrame.html, buf.Bytes()) {
		return prev.liveFrame, nil
	}
	// HTML escaping (\u003c for <) would only inflate every frame: the
	// data is parsed with JSON.parse, never inserted into HTML as JSON.
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Version int64  `json:"version"`
		Banner  string `json:"banner"`
		HTML    string `json:"html"`
	}{home.Site.Version, home.Overall.Description(), buf.String()}); err != nil {
		return nil, err
	}
	payload := bytes.TrimRight(data.Bytes(), "\n")
	return &frame{id: home.Site.Version, kind: kindPage, bytes: encodeFrame(home.Site.Version, "page", payload), html: buf.Bytes()}, nil
}

// groupViews lays components out as the templates show them, in the
// page's sections (store.Sections), each component with its uptime record
// when history is given.
func groupViews(groups []store.ComponentGroup, components []store.Component, history map[string][]store.StatusChange, now time.Time) []templates.GroupView {
	sections := store.Sections(groups, components)
	out := make([]templates.GroupView, 0, len(sections))
	for _, sec := range sections {
		gv := templates.GroupView{}
		if sec.Group != nil {
			gv.Group = *sec.Group
		}
		for _, c := range sec.Components {
			cv := templates.ComponentView{Component: c}
			if history != nil {
				cv.Uptime = store.ComputeUptime(history[c.ID], now, uptimeDays)
			}
			gv.Components = append(gv.Components, cv)
		}
		out = append(out, gv)
	}
	return out
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
