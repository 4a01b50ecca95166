package web

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

func withMirror(dir string) testOption { return func(s *testSetup) { s.cfg.MirrorDir = dir } }

// After a change the mirror's files are what the server serves, so a
// static host holding them shows the same page while Herald is away.
func TestMirrorMatchesWhatTheServerServes(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, withMirror(dir))
	var g struct{ ID string }
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/component-groups", map[string]any{"name": "Data"}, &g)
	ts.createComponent(t, "Database", map[string]any{"group_id": g.ID})
	api := ts.createComponent(t, "API", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})

	same := func(path, file string) func() bool {
		return func() bool {
			_, served := ts.fetch(t, "GET", path, nil)
			got, err := os.ReadFile(filepath.Join(dir, file))
			return err == nil && bytes.Equal(got, served)
		}
	}
	eventually(t, "the mirror's index.html to show the incident", same("/", "index.html"))
	home, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(home), "Logins failing") {
		t.Fatal("the mirror's home page does not show the incident")
	}
	for path, file := range map[string]string{
		"/api/v2/summary.json":              "api/v2/summary.json",
		"/api/v2/incidents/unresolved.json": "api/v2/incidents/unresolved.json",
		"/incidents/" + inc.ID:              "incidents/" + inc.ID + "/index.html",
		"/history.atom":                     "history.atom",
		"/groups/" + g.ID:                   "groups/" + g.ID + "/index.html", // a closed group's link
		"/badge.svg":                        "badge.svg",
		ts.srv.assets.URL("app.css"):        strings.TrimPrefix(ts.srv.assets.URL("app.css"), "/"),
	} {
		eventually(t, path+" in the mirror ("+file+") to be what the server serves", same(path, file))
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html.gz")); err != nil {
		t.Errorf("no precompressed index.html.gz beside index.html: %v", err)
	}
	// Resolving changes the mirror too.
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/incidents/"+inc.ID+"/updates", map[string]any{"status": "resolved", "body": "Fixed."}, nil)
	eventually(t, "the mirror to follow the resolution", same("/api/v2/summary.json", "api/v2/summary.json"))
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".herald-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left in the mirror: %q", leftovers)
	}
}

// Each page has its directory in the mirror, under p/{slug}; a page
// deleted, or moved to another slug, leaves it.
func TestMirrorCarriesEveryPage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts := newTestServer(t, withMirror(dir))
	api := ts.createComponent(t, "API", nil)
	ts.createComponent(t, "Billing", nil)
	inc := ts.createIncident(t, map[string]any{"name": "Logins failing", "body": "Looking.", "components": map[string]string{api.ID: "major_outage"}})
	var p store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "acme", "name": "Acme Corp", "components": []string{api.ID}}, &p)
	var b store.Branding
	ts.mustCall(t, http.StatusOK, "PUT", "/api/v1/pages/"+p.ID+"/branding/logo", brandSVG("#0a6e31"), &b)
	logo := templates.BrandAssetPath(b.Logo)
	same := func(path, file string) func() bool {
		return func() bool {
			_, served := ts.fetch(t, "GET", path, nil)
			got, err := os.ReadFile(filepath.Join(dir, file))
			return err == nil && bytes.Equal(got, served)
		}
	}
	for path, file := range map[string]string{
		"/p/acme/":                    "p/acme/index.html",
		"/p/acme/incidents/" + inc.ID: "p/acme/incidents/" + inc.ID + "/index.html",
		"/p/acme/api/v2/summary.json": "p/acme/api/v2/summary.json",
		"/p/acme/history.atom":        "p/acme/history.atom",
		"/p/acme" + logo:              "p/acme" + logo, // its logo, which the mirrored page shows
	} {
		eventually(t, path+" in the mirror ("+file+") to be what the server serves", same(path, file))
	}
	page, _ := os.ReadFile(filepath.Join(dir, "p/acme/index.html"))
	if !strings.Contains(string(page), "Acme Corp") || strings.Contains(string(page), "Billing") {
		t.Errorf("the mirrored page is not Acme's: %s", page)
	}
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/pages/"+p.ID, map[string]any{"slug": "acme-corp"}, nil)
	eventually(t, "the page at its new slug in the mirror", same("/p/acme-corp/", "p/acme-corp/index.html"))
	eventually(t, "the old slug's files to be gone", func() bool {
		_, err := os.Stat(filepath.Join(dir, "p/acme/index.html"))
		return errors.Is(err, fs.ErrNotExist)
	})
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Errorf("the default page left the mirror: %v", err)
	}
	// An incident narrowed away from the default page leaves its part of
	// the mirror too.
	eventually(t, "the incident's page in the mirror", same("/incidents/"+inc.ID, "incidents/"+inc.ID+"/index.html"))
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/incidents/"+inc.ID, map[string]any{"pages": []string{p.ID}}, nil)
	eventually(t, "the narrowed incident's page to leave the default page's mirror", func() bool {
		_, err := os.Stat(filepath.Join(dir, "incidents", inc.ID, "index.html"))
		return errors.Is(err, fs.ErrNotExist)
	})
	if _, err := os.Stat(filepath.Join(dir, "p/acme-corp/incidents", inc.ID, "index.html")); err != nil {
		t.Errorf("the narrowed incident left its own page's mirror too: %v", err)
	}
}

// Public pages tell a CDN how long it may answer alone and that it may
// keep serving them while Herald is unreachable; the console never may be
// cached.
func TestCacheHeadersForCDNs(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/", "/api/v2/status.json"} {
		resp, _ := ts.fetch(t, "GET", path, nil)
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=0, must-revalidate, s-maxage=5" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		if cdn := resp.Header.Get("CDN-Cache-Control"); !strings.Contains(cdn, "stale-if-error=86400") || !strings.Contains(cdn, "max-age=5") {
			t.Errorf("%s: CDN-Cache-Control %q, want a short max-age and a day of stale-if-error", path, cdn)
		}
	}
	resp, _ := ts.fetch(t, "GET", "/console/login", nil)
	if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("console: Cache-Control %q, want private, no-store", cc)
	}
}
