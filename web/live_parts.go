package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"

	"github.com/a-h/templ"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// The status page's live region is built from parts: the banner, each
// active incident and maintenance, each group of components, each
// component's row and uptime bar, each day of past incidents, and the
// sections around them. Each part carries a key (data-k) that names what it
// shows: a hash of its identity and its HTML, the parts inside it included.
// A live update then sends the region with every part that open pages show
// already reduced to a placeholder naming its key (writeChanged), and the
// page script puts back the element it has under that key
// (static/app.js). Keys are content hashes, not counters, so any server
// (another replica, the same one after a restart) names the same content
// the same way, and a page that holds a key holds exactly that content.

// keyLen is the length of a key: 48 bits of SHA-256, in base64url.
const keyLen = 8

// keySlot is what a part template is given as its key: the builder
// overwrites it, in place, with the hash of the HTML rendered around it.
const keySlot = "        "

var keyAttr = []byte(`data-k="`)

// livePart is one keyed element of the region, rendered.
type livePart struct {
	key      string
	identity string      // what it is: "row:ID"
	html     []byte      // the element, whole
	kids     []*livePart // the keyed elements directly inside it, in order
	at       []int       // where each kid starts in html
	// lazy, for an uptime bar, is the page the page script loads it from
	// (its group's) when an update sends it as a slot instead.
	lazy string
}

// Render writes the part as it is, for the template of the part around it.
func (p *livePart) Render(ctx context.Context, w io.Writer) error {
	if p.html == nil { // the region: its parts, one after another
		for _, k := range p.kids {
			if err := k.Render(ctx, w); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := w.Write(p.html)
	return err
}

// partBuilder renders parts and remembers what it rendered: the parts a
// later snapshot's update compares against.
type partBuilder struct {
	ctx   context.Context
	shown shownParts
}

// shownParts are the parts of a region: their keys, and their identities.
type shownParts struct {
	keys, identities map[string]struct{}
}

func newPartBuilder(ctx context.Context) *partBuilder {
	return &partBuilder{ctx: ctx, shown: shownParts{keys: map[string]struct{}{}, identities: map[string]struct{}{}}}
}

func (sp shownParts) add(p *livePart) {
	sp.keys[p.key] = struct{}{}
	sp.identities[p.identity] = struct{}{}
}

// part renders c, whose first tag carries data-k={keySlot}, and keys it by
// identity (what it is: "row:ID") and the HTML it rendered. kids are the
// parts c writes inside itself, in order; own is about how much c writes
// around them.
func (b *partBuilder) part(identity string, c templ.Component, kids []*livePart, own int) (*livePart, error) {
	size := own
	for _, k := range kids {
		size += len(k.html)
	}
	html, err := render(b.ctx, c, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", identity, err)
	}
	slot := bytes.Index(html, keyAttr)
	if end := bytes.IndexByte(html, '>'); slot < 0 || slot > end || !bytes.HasPrefix(html[slot+len(keyAttr):], []byte(keySlot)) {
		return nil, fmt.Errorf("%s: the part's first tag has no key slot", identity)
	}
	slot += len(keyAttr)
	h := sha256.New()
	io.WriteString(h, identity)
	h.Write([]byte{0})
	h.Write(html)
	var sum [sha256.Size]byte
	base64.RawURLEncoding.Encode(html[slot:slot+keyLen], h.Sum(sum[:0])[:keyLen*3/4])
	p := &livePart{key: string(html[slot : slot+keyLen]), identity: identity, html: html, kids: kids}
	if err := p.locateKids(); err != nil {
		return nil, fmt.Errorf("%s: %w", identity, err)
	}
	b.shown.add(p)
	return p, nil
}

// locateKids finds where each kid stands in p's HTML, by its key.
func (p *livePart) locateKids() error {
	p.at = make([]int, len(p.kids))
	off := 0
	for i, k := range p.kids {
		ks := bytes.Index(k.html, keyAttr) // the kid's own key, in its first tag
		j := bytes.Index(p.html[off:], []byte(`data-k="`+k.key+`"`))
		if j < 0 || off+j < ks || !bytes.HasPrefix(p.html[off+j-ks:], k.html) {
			return fmt.Errorf("part %s is not where the template put it", k.key)
		}
		p.at[i] = off + j - ks
		off = p.at[i] + len(k.html)
	}
	return nil
}

// region is the live region: its parts one after another, with no element
// of its own (it is the content of <div id="live-region">) and no HTML of
// its own (Render and writeChanged write the parts; whole joins them). Its
// key names the whole, to tell whether anything changed.
func (b *partBuilder) region(parts []*livePart) *livePart {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p.key)
	}
	return &livePart{key: base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:keyLen*3/4]), kids: parts}
}

// whole is the part's HTML, whole.
func (p *livePart) whole() []byte {
	if p.html != nil {
		return p.html
	}
	var out []byte
	for _, k := range p.kids {
		out = append(out, k.whole()...)
	}
	return out
}

// size is the length of whole.
func (p *livePart) size() int {
	if p.html != nil {
		return len(p.html)
	}
	n := 0
	for _, k := range p.kids {
		n += k.size()
	}
	return n
}

// writeChanged writes p for a page that shows the parts in shown: each
// part it shows becomes a placeholder, <template data-k="KEY">, and the
// rest is written whole. Parts shown side by side share one placeholder,
// their keys in order: a list of hundreds of groups of which one changed
// costs a few bytes a group. An uptime bar the page has never shown (its
// group has just opened) is sent as a slot that the page script fills from
// the group's page when it comes into view: ninety days a component would
// make such an update most of a page.
func (p *livePart) writeChanged(w *bytes.Buffer, shown shownParts) {
	var run []string
	flush := func() {
		if len(run) > 0 {
			w.WriteString(`<template data-k="`)
			for i, k := range run {
				if i > 0 {
					w.WriteByte(' ')
				}
				w.WriteString(k)
			}
			w.WriteString(`"></template>`)
			run = run[:0]
		}
	}
	off := 0
	for i, k := range p.kids {
		var gap []byte
		if p.html != nil { // the region has no HTML of its own between its parts
			gap = p.html[off:p.at[i]]
			off = p.at[i] + len(k.html)
		}
		if len(gap) > 0 {
			flush()
			w.Write(gap)
		}
		_, kept := shown.keys[k.key]
		_, known := shown.identities[k.identity]
		switch {
		case kept:
			run = append(run, k.key)
		case k.lazy != "" && !known:
			flush()
			w.WriteString(`<div class="uptime" data-k="`)
			w.WriteString(k.key)
			w.WriteString(`" data-lazy="`)
			w.WriteString(html.EscapeString(k.lazy))
			w.WriteString(`"></div>`)
		default:
			flush()
			k.writeChanged(w, shown)
		}
	}
	flush()
	if p.html != nil {
		w.Write(p.html[off:])
	}
}

// components lets a part template take parts as its kids.
func components(parts []*livePart) []templ.Component {
	out := make([]templ.Component, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// barCache keeps each component's rendered uptime bar between snapshots:
// ninety days a component make bars most of what a rebuild renders, and
// they change only when a day's worst status does (or the day turns).
type barCache map[string]cachedBar

type cachedBar struct {
	cv   templates.ComponentView
	part *livePart
}

func (c cachedBar) matches(cv templates.ComponentView) bool {
	a, b := c.cv.Uptime, cv.Uptime
	if c.cv.ID != cv.ID || c.cv.Name != cv.Name || a.NoData != b.NoData || a.HasData != b.HasData || a.Percent != b.Percent ||
		!a.Since.Equal(b.Since) || len(a.Days) != len(b.Days) {
		return false
	}
	for i, d := range b.Days {
		if p := a.Days[i]; !p.Date.Equal(d.Date) || p.HasData != d.HasData || p.Worst != d.Worst ||
			p.MajorOutage != d.MajorOutage || p.PartialOutage != d.PartialOutage {
			return false
		}
	}
	return true
}

// regionParts renders the status page's live region, and returns it with
// the component list in it. prev holds the bars the last snapshot rendered,
// reused when they are as they were; the bars rendered now are put in bars.
func (b *partBuilder) regionParts(home *templates.HomePage, prev, bars barCache) (region, list *livePart, err error) {
	banner, err := b.part("banner", templates.Banner(home.Overall, keySlot), nil, 512)
	if err != nil {
		return nil, nil, err
	}
	incidents, err := section(b, "incidents", home.Active, 4<<10, func(inc store.Incident) (string, templ.Component) {
		return "incident:" + inc.ID, templates.ActiveIncident(inc, home.Components, keySlot)
	}, templates.IncidentsSection)
	if err != nil {
		return nil, nil, err
	}
	maintenance, err := section(b, "maintenances", home.Maintenance, 1<<10, func(m store.Maintenance) (string, templ.Component) {
		return "maintenance:" + m.ID, templates.MaintenanceItem(m, home.Components, keySlot)
	}, templates.MaintenanceSection)
	if err != nil {
		return nil, nil, err
	}
	var groups []*livePart
	for _, g := range home.Groups {
		p, err := b.group(g, prev, bars)
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, p)
	}
	list, err = b.part("components", templates.ComponentsSection(keySlot, components(groups)), groups, 512)
	if err != nil {
		return nil, nil, err
	}
	past, err := section(b, "past", home.PastDays, 256, func(d templates.DayIncidents) (string, templ.Component) {
		return "day:" + d.Date.Format("2006-01-02"), templates.PastDay(d, keySlot)
	}, templates.PastSection)
	if err != nil {
		return nil, nil, err
	}
	var parts []*livePart
	for _, p := range []*livePart{banner, incidents, maintenance, list, past} {
		if p != nil {
			parts = append(parts, p)
		}
	}
	return b.region(parts), list, nil
}

// section renders a part for each item (its identity and template, about
// size bytes), then the section around them; none for no items.
func section[T any](b *partBuilder, identity string, items []T, size int, part func(T) (string, templ.Component), around func(key string, kids []templ.Component) templ.Component) (*livePart, error) {
	if len(items) == 0 {
		return nil, nil
	}
	kids := make([]*livePart, 0, len(items))
	for _, it := range items {
		id, c := part(it)
		p, err := b.part(id, c, nil, size)
		if err != nil {
			return nil, err
		}
		kids = append(kids, p)
	}
	return b.part(identity, around(keySlot, components(kids)), kids, 512)
}

// group renders one group of components: whole when it is open, its
// summary alone when it is closed (its rows are not rendered at all).
func (b *partBuilder) group(g templates.GroupView, prev, bars barCache) (*livePart, error) {
	var rows []*livePart
	if g.Open || g.Group.ID == "" {
		lazy := ""
		if g.Group.ID != "" {
			lazy = templates.GroupURL(b.ctx, g.Group.ID)
		}
		for _, cv := range g.Components {
			bar, ok := prev[cv.ID]
			if !ok || !bar.matches(cv) || bar.part.lazy != lazy {
				p, err := b.part("bar:"+cv.ID, templates.UptimeBarPart(cv, keySlot), nil, 8<<10)
				if err != nil {
					return nil, err
				}
				p.lazy = lazy
				bar = cachedBar{cv: cv, part: p}
			} else {
				b.shown.add(bar.part)
			}
			bars[cv.ID] = bar
			row, err := b.part("row:"+cv.ID, templates.ComponentRow(cv, keySlot, bar.part), []*livePart{bar.part}, 1<<10)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		}
	}
	return b.part("group:"+g.Group.ID, templates.ComponentGroup(g, keySlot, components(rows)), rows, 1<<10)
}
