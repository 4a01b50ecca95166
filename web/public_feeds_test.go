package web

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// parseFeed fetches a feed and parses it the way a feed reader does.
func parseFeed(t *testing.T, ts *testServer, path string) (*gofeed.Feed, *http.Response, []byte) {
	t.Helper()
	resp, body := ts.fetch(t, "GET", path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	// Well-formed XML first: gofeed forgives a lot.
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s is not well-formed XML: %v\n%s", path, err, body)
		}
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", path, err, body)
	}
	return feed, resp, body
}

func TestHistoryFeeds(t *testing.T) {
	t.Parallel()
	p := newEcosystemPage(t)
	tests := []struct {
		path, feedType, version, contentType string
	}{
		{"/history.atom", "atom", "1.0", "application/atom+xml"},
		{"/history.rss", "rss", "2.0", "application/rss+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			feed, resp, body := parseFeed(t, p.testServer, tt.path)
			if feed.FeedType != tt.feedType || feed.FeedVersion != tt.version {
				t.Errorf("feed is %s %s, want %s %s", feed.FeedType, feed.FeedVersion, tt.feedType, tt.version)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.contentType)
			}
			if feed.Title != "Acme Status history" {
				t.Errorf("title = %q", feed.Title)
			}
			// Every incident and maintenance, each with its own link.
			want := map[string]string{
				"Login failures":   "http://status.example.test/incidents/" + p.login.ID,
				"Slow dashboard":   "http://status.example.test/incidents/" + p.slow.ID,
				"Database upgrade": "http://status.example.test/maintenance/" + p.upgrade.ID,
				"Network failover": "http://status.example.test/maintenance/" + p.failover.ID,
			}
			if len(feed.Items) != len(want) {
				t.Errorf("%d items, want %d", len(feed.Items), len(want))
			}
			for _, it := range feed.Items {
				if link, ok := want[it.Title]; !ok || it.Link != link || it.GUID != link {
					t.Errorf("item %q: link %q guid %q, want %q", it.Title, it.Link, it.GUID, want[it.Title])
				}
				if it.UpdatedParsed == nil && it.PublishedParsed == nil {
					t.Errorf("item %q has no date", it.Title)
				}
			}
			login := itemTitled(feed, "Login failures")
			text := login.Content + login.Description
			if !strings.Contains(text, "A bad deploy; rolling back.") || !strings.Contains(text, "Identified") {
				t.Errorf("Login failures entry does not show its latest update: %q", text)
			}
			if bytes.Contains(body, []byte("<script")) {
				t.Errorf("feed carries unescaped markup")
			}
		})
	}
}

func itemTitled(f *gofeed.Feed, title string) *gofeed.Item {
	for _, it := range f.Items {
		if it.Title == title {
			return it
		}
	}
	return &gofeed.Item{}
}

func TestHistoryFeedsRefreshOnUpdate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	start := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	ts.at(t, start)
	c := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Errors <b>now</b>", "body": "Looking. <script>alert(1)</script>", "components": map[string]string{c.ID: "major_outage"}})
	before, resp, _ := parseFeed(t, ts, "/history.atom")
	etag := resp.Header.Get("ETag")
	ts.at(t, start.Add(time.Minute)) // the update comes visibly later
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "All fixed."}, nil)

	for _, path := range []string{"/history.atom", "/history.rss"} {
		after, resp, body := parseFeed(t, ts, path)
		it := itemTitled(after, "Errors <b>now</b>")
		if it.Title == "" {
			t.Fatalf("%s: no entry titled with the incident's name as text: %s", path, body)
		}
		if !strings.Contains(it.Content+it.Description, "All fixed.") {
			t.Errorf("%s: entry does not carry the new update", path)
		}
		if strings.Contains(it.Content+it.Description, "<script") {
			t.Errorf("%s: an update's script survived into the feed: %q", path, it.Content+it.Description)
		}
		if path == "/history.atom" {
			if resp.Header.Get("ETag") == etag {
				t.Error("the Atom feed kept its ETag after an update")
			}
			if !it.UpdatedParsed.After(*before.Items[0].UpdatedParsed) {
				t.Errorf("entry updated %v, not after %v", it.UpdatedParsed, before.Items[0].UpdatedParsed)
			}
		}
	}
}

func TestHistoryFeedsEmptyPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, path := range []string{"/history.atom", "/history.rss"} {
		feed, _, _ := parseFeed(t, ts, path)
		if len(feed.Items) != 0 {
			t.Errorf("%s: %d items on an empty page", path, len(feed.Items))
		}
	}
}

// Feed readers find the feeds from the page itself.
func TestPagesAdvertiseTheirFeeds(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	doc, _ := ts.page(t, "/")
	for typ, href := range map[string]string{"application/atom+xml": "/history.atom", "application/rss+xml": "/history.rss"} {
		link := doc.Find(`head link[rel="alternate"][type="` + typ + `"]`)
		if got, _ := link.Attr("href"); got != href {
			t.Errorf("%s feed link: href %q, want %q", typ, got, href)
		}
		if resp, err := http.Get(ts.URL + href); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", href, err, resp)
		} else {
			resp.Body.Close()
		}
	}
}
