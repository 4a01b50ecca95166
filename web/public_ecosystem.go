package web

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// ecosystem is what other tools read, kept with each snapshot so that
// serving it costs no query: the Statuspage-compatible API, the history
// feeds and the badges.
//
// What follows the present (summary, status, components, unresolved and
// current maintenance, the overall badge) is encoded with every rebuild:
// that is what tools poll during an outage. The history (incidents.json,
// scheduled-maintenances.json, the feeds) is encoded on its first request
// after a change, once however many ask at the same moment, and then served
// from memory like the rest: a long history must not slow down every
// rebuild, and so every live update. Component badges are rendered on first
// request too (public_badges.go).
type ecosystem struct {
	enc           *statuspageEncoder
	hot           map[string]*page // by route, "/api/v2/summary.json"
	history       map[string]func(context.Context) (*page, error)
	badge         *page
	openIncidents int

	// rendered keeps the history documents once asked for, apart from the
	// snapshot's other lazy pages, so that a crawl filling those cannot
	// leave what tools poll to be rendered on every request.
	rendered *lazyPages

	// scope is the page's (nil: the default page): what the history
	// documents list.
	scope *store.Scope
	// latest is the history the on-demand documents share, read once.
	latestMu    sync.Mutex
	latestRead  bool
	incidents   []store.Incident
	maintenance []store.Maintenance
}

// buildEcosystem encodes the hot documents and prepares the others.
func (s *Server) buildEcosystem(ctx context.Context, snap *snapshot, components []store.Component, groups []store.ComponentGroup, active []store.Incident, open []store.Maintenance) (*ecosystem, error) {
	updated, err := s.lastPublicChange(ctx, snap)
	if err != nil {
		return nil, err
	}
	// Times the objects carry count too: their clock, not the feed's, is
	// what a client compares (data imported with past times, say).
	for _, c := range components {
		updated = later(updated, c.UpdatedAt)
	}
	for _, g := range groups {
		updated = later(updated, g.UpdatedAt)
	}
	for _, i := range active {
		updated = later(updated, i.UpdatedAt)
	}
	for _, m := range open {
		updated = later(updated, m.UpdatedAt)
	}
	d := statuspageData{components: components, groups: groups, active: active, open: open, updatedAt: updated}
	eco := &ecosystem{enc: newStatuspageEncoder(snap.site, d), scope: snap.scope, openIncidents: len(active), rendered: newLazyPages(snap.root, false, nil)}
	if eco.hot, err = eco.enc.hotDocuments(d); err != nil {
		return nil, fmt.Errorf("statuspage API: %w", err)
	}
	if eco.badge, err = newBadge(snap.site.Name, store.RollUp(components, active).Status()); err != nil {
		return nil, fmt.Errorf("badge: %w", err)
	}
	// The two feeds carry the same entries, in two formats.
	feed := func(encode func(templates.Site, []feedItem, time.Time) (*page, error)) func(context.Context) (*page, error) {
		return func(ctx context.Context) (*page, error) {
			inc, maint, err := eco.latest(ctx, s.store)
			if err != nil {
				return nil, err
			}
			items, err := s.feedItems(ctx, snap.site, inc, maint)
			if err != nil {
				return nil, err
			}
			return encode(snap.site, items, updated)
		}
	}
	eco.history = map[string]func(context.Context) (*page, error){
		v2Incidents: func(ctx context.Context) (*page, error) {
			inc, _, err := eco.latest(ctx, s.store)
			if err != nil {
				return nil, err
			}
			return eco.enc.incidentsDocument(inc)
		},
		v2Maintenance: func(ctx context.Context) (*page, error) {
			_, maint, err := eco.latest(ctx, s.store)
			if err != nil {
				return nil, err
			}
			return eco.enc.maintenancesDocument(maint)
		},
		feedAtom: feed(encodeAtom),
		feedRSS:  feed(encodeRSS),
	}
	return eco, nil
}

// document is the page for a route: a hot one, or a history one rendered
// now if it is the first request. nil means no such document.
func (eco *ecosystem) document(ctx context.Context, route string) (*page, error) {
	if p, ok := eco.hot[route]; ok {
		return p, nil
	}
	if render, ok := eco.history[route]; ok {
		return eco.rendered.get(ctx, i18n.Default, route, render)
	}
	return nil, nil
}

// latest reads the newest incidents and maintenance (any status), once per
// snapshot, for the history documents.
func (eco *ecosystem) latest(ctx context.Context, st *store.Store) ([]store.Incident, []store.Maintenance, error) {
	eco.latestMu.Lock()
	defer eco.latestMu.Unlock()
	if eco.latestRead {
		return eco.incidents, eco.maintenance, nil
	}
	inc, err := st.ListIncidents(ctx, store.IncidentFilter{Scope: eco.scope, Limit: v2Limit})
	if err != nil {
		return nil, nil, fmt.Errorf("latest incidents: %w", err)
	}
	maint, err := st.ListMaintenances(ctx, store.MaintenanceFilter{Scope: eco.scope, Limit: v2Limit})
	if err != nil {
		return nil, nil, fmt.Errorf("latest maintenance: %w", err)
	}
	eco.incidents, eco.maintenance, eco.latestRead = inc, maint, true
	return inc, maint, nil
}

// lastPublicChange is when anything public last changed: the time of the
// newest change-feed event the snapshot includes. It is the page's
// updated_at, and depends only on the data, so unchanged documents keep
// their ETags across the periodic rebuilds.
func (s *Server) lastPublicChange(ctx context.Context, snap *snapshot) (time.Time, error) {
	if snap.version > 0 {
		events, err := s.store.EventsSince(ctx, snap.version-1, 1)
		if err != nil {
			return time.Time{}, fmt.Errorf("last change: %w", err)
		}
		if len(events) == 1 {
			return events[0].CreatedAt, nil
		}
	}
	return snap.builtAt, nil // nothing has ever changed: an empty page
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
