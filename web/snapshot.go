package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
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
}

// snapshot is everything the public pages show, pre-rendered. It is
// immutable once published; a change builds a new one.
type snapshot struct {
	version    int64 // the last change-feed event it includes
	builtAt    time.Time
	home       *page
	incidents  map[string]*page
	maintenances map[string]*page
	components map[string]store.Component

	lazyMu sync.Mutex
	lazy   map[string]*page
}

// newPage renders c and compresses it once.
func newPage(ctx context.Context, c templ.Component) (*page, error) {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return newPageBytes(buf.Bytes(), "text/html; charset=utf-8")
}

func newPageBytes(body []byte, contentType string) (*page, error) {
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	sum := sha256.Sum256(body)
	return &page{
		body:        body,
		gzip:        gz.Bytes(),
		etag:        `W/"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		contentType: contentType,
	}, nil
}

// rebuildSnapshot reads the public state once and renders every hot page.
func (s *Server) rebuildSnapshot(ctx context.Context) error {
	version, err := s.store.LastEventID(ctx)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	components, err := s.store.ListComponents(ctx)
	if err != nil {
		return err
	}
	groups, err := s.store.ListComponentGroups(ctx)
	if err != nil {
		return err
	}
	active, err := s.store.ListIncidents(ctx, store.IncidentFilter{Unresolved: true, Limit: 1000})
	if err != nil {
		return err
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	recent, err := s.store.ListIncidents(ctx, store.IncidentFilter{Since: today.AddDate(0, 0, -(pastDays - 1)), Limit: 1000})
	if err != nil {
		return err
	}
	maint, err := s.store.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceScheduled, store.MaintenanceInProgress, store.MaintenanceVerifying}, Limit: 1000})
	if err != nil {
		return err
	}
	history, err := s.store.StatusHistory(ctx, today.AddDate(0, 0, -(uptimeDays-1)))
	if err != nil {
		return err
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
	home := templates.HomePage{
		Site:        s.site,
		Overall:     overallStatus(components),
		Groups:      groupComponents(groups, components, history, now),
		Active:      active,
		Maintenance: maint,
		PastDays:    pastIncidentDays(recent, today),
		Components:  byID,
		UptimeDays:  uptimeDays,
		GeneratedAt: now,
	}
	snap := &snapshot{
		version:    version,
		builtAt:    now,
		incidents:  map[string]*page{},
		maintenances: map[string]*page{},
		components: byID,
		lazy:       map[string]*page{},
	}
	if snap.home, err = newPage(ctx, templates.Home(home)); err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	for _, list := range [][]store.Incident{active, recent} {
		for _, inc := range list {
			if _, done := snap.incidents[inc.ID]; done {
				continue
			}
			p, err := newPage(ctx, templates.Incident(templates.IncidentPage{Site: s.site, Incident: inc, Components: byID}))
			if err != nil {
				return fmt.Errorf("incident page %s: %w", inc.ID, err)
			}
			snap.incidents[inc.ID] = p
		}
	}
	for _, m := range maint {
		p, err := newPage(ctx, templates.Maintenance(templates.MaintenancePage{Site: s.site, Maintenance: m, Components: byID}))
		if err != nil {
			return fmt.Errorf("maintenance page %s: %w", m.ID, err)
		}
		snap.maintenances[m.ID] = p
	}
	s.snap.Store(snap)
	next := make(chan struct{})
	close(*s.rebuilt.Swap(&next))
	return nil
}

// overallStatus is the worst status of any component.
func overallStatus(components []store.Component) store.ComponentStatus {
	worst := store.Operational
	for _, c := range components {
		if c.Status.Severity() > worst.Severity() {
			worst = c.Status
		}
	}
	return worst
}

// groupComponents lays components out as the page shows them: ungrouped
// components first, then each group in order. Empty groups are left out.
func groupComponents(groups []store.ComponentGroup, components []store.Component, history map[string][]store.StatusChange, now time.Time) []templates.GroupView {
	byGroup := map[string][]templates.ComponentView{}
	for _, c := range components {
		byGroup[c.GroupID] = append(byGroup[c.GroupID], templates.ComponentView{Component: c, Uptime: store.ComputeUptime(history[c.ID], now, uptimeDays)})
	}
	var out []templates.GroupView
	if list := byGroup[""]; len(list) > 0 {
		out = append(out, templates.GroupView{Components: list})
	}
	for _, g := range groups {
		if list := byGroup[g.ID]; len(list) > 0 {
			out = append(out, templates.GroupView{Group: g, Components: list})
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

// lazyPage returns the page cached under key in this snapshot, rendering it
// with render on first use. render returning (nil, nil) means "no such page"
// and is not cached.
func (snap *snapshot) lazyPage(key string, render func() (*page, error)) (*page, error) {
	snap.lazyMu.Lock()
	p, ok := snap.lazy[key]
	snap.lazyMu.Unlock()
	if ok {
		return p, nil
	}
	p, err := render()
	if err != nil || p == nil {
		return nil, err
	}
	snap.lazyMu.Lock()
	if len(snap.lazy) < maxLazyPages {
		snap.lazy[key] = p
	}
	snap.lazyMu.Unlock()
	return p, nil
}
