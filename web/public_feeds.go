package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// The history feeds: /history.atom (Atom 1.0) and /history.rss (RSS 2.0).
// Each incident and maintenance is one entry with its own link; an entry's
// updated time moves with every update, and its content is the whole
// timeline, so a feed reader shows the latest state.

// feedItem is an incident or a maintenance as a feed entry.
type feedItem struct {
	id, title, link string
	published       time.Time
	updated         time.Time
	summary         string // the latest update, as plain text
	content         string // the timeline, as HTML
}

func (s *Server) feedItems(ctx context.Context, site templates.Site, incidents []store.Incident, maint []store.Maintenance) ([]feedItem, error) {
	items := make([]feedItem, 0, len(incidents)+len(maint))
	for _, inc := range incidents {
		it := feedItem{id: inc.ID, title: inc.Name, link: site.BaseURL + "/incidents/" + inc.ID, published: inc.CreatedAt, updated: inc.UpdatedAt}
		if len(inc.Updates) > 0 {
			it.summary = inc.Updates[0].Status.Label() + " - " + inc.Updates[0].Body
		}
		var err error
		if it.content, err = renderString(ctx, templates.FeedIncident(inc)); err != nil {
			return nil, fmt.Errorf("feed entry for incident %s: %w", inc.ID, err)
		}
		items = append(items, it)
	}
	for _, m := range maint {
		it := feedItem{id: m.ID, title: m.Name, link: site.BaseURL + "/maintenance/" + m.ID, published: m.CreatedAt, updated: m.UpdatedAt}
		if len(m.Updates) > 0 {
			it.summary = m.Updates[0].Status.Label() + " - " + m.Updates[0].Body
		}
		var err error
		if it.content, err = renderString(ctx, templates.FeedMaintenance(m)); err != nil {
			return nil, fmt.Errorf("feed entry for maintenance %s: %w", m.ID, err)
		}
		items = append(items, it)
	}
	// Most recently changed first: that is what a reader wants on top.
	slices.SortStableFunc(items, func(a, b feedItem) int { return b.updated.Compare(a.updated) })
	return items[:min(len(items), v2Limit)], nil
}

func renderString(ctx context.Context, c templ.Component) (string, error) {
	var b strings.Builder
	if err := c.Render(ctx, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// atomTime is RFC 3339 with milliseconds, so that two updates within a
// second still read as a change.
func atomTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Published string   `xml:"published"`
	Updated   string   `xml:"updated"`
	Link      atomLink `xml:"link"`
	Summary   string   `xml:"summary"`
	Content   atomText `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Self          atomLink  `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	Description string  `xml:"description"`
	PubDate     string  `xml:"pubDate"`
	GUID        rssGUID `xml:"guid"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// Routes of the feeds.
const (
	feedAtom = "/history.atom"
	feedRSS  = "/history.rss"
)

// feedUpdated is when the feed last changed: its newest entry's time, so an
// unchanged history keeps its ETag.
func feedUpdated(items []feedItem, fallback time.Time) time.Time {
	if len(items) > 0 {
		return items[0].updated
	}
	return fallback
}

func feedTitle(site templates.Site) string { return templates.StatusName(site.Name) + " history" }

// encodeAtom encodes the history as Atom 1.0.
func encodeAtom(site templates.Site, items []feedItem, fallback time.Time) (*page, error) {
	af := atomFeed{
		ID: site.BaseURL + "/history", Title: feedTitle(site), Updated: atomTime(feedUpdated(items, fallback)),
		Links: []atomLink{
			{Href: site.BaseURL + feedAtom, Rel: "self", Type: "application/atom+xml"},
			{Href: site.BaseURL + "/history", Rel: "alternate", Type: "text/html"},
		},
		Author: atomAuthor{Name: site.Name},
	}
	for _, it := range items {
		af.Entries = append(af.Entries, atomEntry{
			// The link is the entry's permanent address, hence its id.
			ID: it.link, Title: it.title, Link: atomLink{Href: it.link, Rel: "alternate", Type: "text/html"},
			Published: atomTime(it.published), Updated: atomTime(it.updated),
			Summary: it.summary, Content: atomText{Type: "html", Body: it.content},
		})
	}
	return xmlPage(af, "application/atom+xml; charset=utf-8")
}

// encodeRSS encodes the history as RSS 2.0.
func encodeRSS(site templates.Site, items []feedItem, fallback time.Time) (*page, error) {
	rf := rssFeed{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title: feedTitle(site), Link: site.BaseURL + "/history", Description: "Incidents and maintenance on the " + templates.StatusName(site.Name) + " page",
		LastBuildDate: feedUpdated(items, fallback).UTC().Format(time.RFC1123Z),
		Self:          atomLink{Href: site.BaseURL + feedRSS, Rel: "self", Type: "application/rss+xml"},
	}}
	for _, it := range items {
		rf.Channel.Items = append(rf.Channel.Items, rssItem{
			Title: it.title, Link: it.link, Description: it.content,
			PubDate: it.updated.UTC().Format(time.RFC1123Z), GUID: rssGUID{IsPermaLink: true, Value: it.link},
		})
	}
	return xmlPage(rf, "application/rss+xml; charset=utf-8")
}

func xmlPage(v any, contentType string) (*page, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return newPageBytes(b.Bytes(), contentType)
}

// handleFeed serves /history.atom and /history.rss.
func (s *Server) handleFeed(c echo.Context) error {
	snap, err := s.pageSnap(c)
	if err != nil {
		return err
	}
	p, err := snap.eco.document(c.Request().Context(), pageRoute(c))
	if err != nil {
		return err
	}
	return s.servePage(c, p)
}
