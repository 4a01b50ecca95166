package web

// Benchmarks for many pages (issue 13): ten pages of thirty components
// each over one Herald of 300.
//
//	go test -run '^$' -bench 'Pages' -benchmem ./web
//
// BenchmarkPagesHomeGzip serves the same page at the root, by slug and by
// host, beside a Herald with no pages; BenchmarkPagesChange is the cost of
// a change to a component three pages show, rebuilding only what it is on
// against rebuilding every page.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/herald-status/herald/store"
)

const benchPages = 10

// newPagesBenchServer is newScaledBenchServer with 300 components and ten
// pages of 30 each; the first component is shown by the first three pages
// too (shared).
func newPagesBenchServer(b *testing.B) (*Server, store.Component) {
	b.Helper()
	srv := newScaledBenchServer(b, benchPages*30, 0)
	ctx := context.Background()
	comps, err := srv.store.ListComponents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	shared := comps[0]
	for i := range benchPages {
		var ids []string
		for _, c := range comps[i*30 : (i+1)*30] {
			ids = append(ids, c.ID)
		}
		if i > 0 && i < 3 {
			ids = append(ids, shared.ID)
		}
		if _, err := srv.store.CreatePage(ctx, store.PageInput{Slug: fmt.Sprintf("page-%d", i), Name: fmt.Sprintf("Page %d", i),
			Host: fmt.Sprintf("status-%d.example.test", i), Components: ids}); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.rebuildSnapshot(ctx); err != nil {
		b.Fatal(err)
	}
	return srv, shared
}

// BenchmarkPagesHomeGzip is BenchmarkHomeGzip's data set (30 components)
// with ten pages beside the default one, the first of them showing every
// component: the same page at the root, at /p/all/ and at its own host,
// to set beside a Herald with no pages ("none").
func BenchmarkPagesHomeGzip(b *testing.B) {
	for _, c := range []struct{ name, path, host, access string }{
		{"none", "/", "", ""},
		{"default", "/", "", ""},
		{"slug", "/p/all/", "", ""},
		{"host", "/", "status-all.example.test", ""},
		// The same page kept for an office's addresses, and for people
		// signed in to the console (a session looked up per request).
		{"private-ip", "/p/all/", "", store.AccessIP},
		{"private-signed-in", "/p/all/", "", store.AccessSignedIn},
		// The same page offering three languages, asked for one by
		// Accept-Language.
		{"languages", "/p/all/", "", "languages"},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv := newBenchServer(b)
			if c.name != "none" {
				addBenchPages(b, srv)
			}
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			if c.host != "" {
				req.Host = c.host
			}
			if c.access == "languages" {
				languageBenchPage(b, srv, req)
			} else if c.access != "" {
				privateBenchPage(b, srv, c.access, req)
			}
			req.Header.Set("Accept-Encoding", "gzip")
			serveBench(b, srv.Handler(), req, http.StatusOK, "gzip")
		})
	}
}

// privateBenchPage makes the page "all" private by access, and req one
// that may see it: from 192.0.2.0/24 (httptest's client address), or with
// a viewer's session.
func privateBenchPage(b *testing.B, srv *Server, access string, req *http.Request) {
	b.Helper()
	ctx := context.Background()
	pages, err := srv.store.ListPages(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pages {
		if p.Slug != "all" {
			continue
		}
		patch := store.PagePatch{Access: &access}
		if access == store.AccessIP {
			patch.IPRanges = &[]string{"192.0.2.0/24"}
		}
		if _, err := srv.store.UpdatePage(ctx, p.ID, patch); err != nil {
			b.Fatal(err)
		}
	}
	if access == store.AccessSignedIn {
		u, _, err := srv.store.CreateUser(ctx, store.UserInput{Email: "viewer@example.com", Role: store.RoleViewer})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.store.SetPassword(ctx, u.ID, "correct horse battery staple"); err != nil { // not a one-time one
			b.Fatal(err)
		}
		raw, err := srv.store.CreateSession(ctx, store.SessionInput{UserID: u.ID})
		if err != nil {
			b.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: "herald_session", Value: raw})
	}
	if err := srv.rebuildSnapshot(ctx); err != nil {
		b.Fatal(err)
	}
}

// languageBenchPage makes the page "all" offer German, English and
// Japanese, and req ask for Japanese.
func languageBenchPage(b *testing.B, srv *Server, req *http.Request) {
	b.Helper()
	ctx := context.Background()
	pages, err := srv.store.ListPages(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pages {
		if p.Slug == "all" {
			if _, err := srv.store.SaveBranding(ctx, p.ID, store.BrandingPatch{Language: ptrTo("de"), Languages: &[]string{"en", "ja"}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	req.Header.Set("Accept-Language", "ja-JP,ja;q=0.9,en;q=0.8")
	if err := srv.rebuildSnapshot(ctx); err != nil {
		b.Fatal(err)
	}
}

// addBenchPages adds a page of every component and nine of three each.
func addBenchPages(b *testing.B, srv *Server) {
	b.Helper()
	ctx := context.Background()
	comps, err := srv.store.ListComponents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var all []string
	for _, c := range comps {
		all = append(all, c.ID)
	}
	if _, err := srv.store.CreatePage(ctx, store.PageInput{Slug: "all", Name: "Acme", Host: "status-all.example.test", Components: all}); err != nil {
		b.Fatal(err)
	}
	for i := 1; i < benchPages; i++ {
		if _, err := srv.store.CreatePage(ctx, store.PageInput{Slug: fmt.Sprintf("page-%d", i), Name: fmt.Sprintf("Page %d", i),
			Host: fmt.Sprintf("status-%d.example.test", i), Components: all[i*3 : i*3+3]}); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.rebuildSnapshot(ctx); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPagesChange(b *testing.B) {
	for _, only := range []bool{true, false} {
		name := "only-touched"
		if !only {
			name = "every-page"
		}
		b.Run(name, func(b *testing.B) {
			srv, shared := newPagesBenchServer(b)
			ctx := context.Background()
			statuses := []store.ComponentStatus{store.DegradedPerformance, store.Operational}
			rebuilt := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				before := map[string]*snapshot{}
				for _, sp := range srv.allPages() {
					before[sp.id()] = sp.snap.Load()
				}
				if _, err := srv.store.UpdateComponent(ctx, shared.ID, store.ComponentPatch{Status: &statuses[i%2]}); err != nil {
					b.Fatal(err)
				}
				if err := srv.rebuild(ctx, only); err != nil {
					b.Fatal(err)
				}
				for _, sp := range srv.allPages() {
					if before[sp.id()] != sp.snap.Load() {
						rebuilt++
					}
				}
			}
			b.ReportMetric(float64(rebuilt)/float64(b.N), "pages-rebuilt/op")
		})
	}
}
