package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/herald-status/herald/templates"
)

// The static mirror (--mirror-dir): after every snapshot rebuild the public
// artefacts are written to a directory, so that a CDN or any static host
// can serve the status page while every Herald replica is unreachable.
// Each file is exactly what the server answers for its path — it is made by
// asking the server's own handler — and is written atomically (to a
// temporary file, then renamed), with a .gz beside it for hosts that serve
// precompressed files. Paths map to files as a static host looks them up:
//
//	/                              index.html
//	/incidents/ID                  incidents/ID/index.html
//	/maintenance/ID                maintenance/ID/index.html
//	/groups/ID                     groups/ID/index.html
//	/history                       history/index.html
//	/api/v2/summary.json (…)       api/v2/summary.json (…)
//	/history.atom, /history.rss    history.atom, history.rss
//	/badge.svg, /embed.js          badge.svg, embed.js
//	/static/app.HASH.css (…)       static/app.HASH.css (…)
//	/p/SLUG/… (another page's)     p/SLUG/… likewise
type mirror struct {
	dir string
	// written is what each file last held, so unchanged files are left
	// alone (a static host's sync then moves only what changed).
	written map[string][]byte
}

// mirrorPaths are the URL paths of everything the mirror carries for the
// page sp, whose snapshot is snap: the default page's at the root, with
// the static files; another page's under its /p/{slug}.
func (s *Server) mirrorPaths(sp *sitePage, snap *snapshot) []string {
	paths := []string{"/", "/history", feedAtom, feedRSS, "/badge.svg",
		v2Summary, v2Status, v2Components, v2Incidents, v2Unresolved, v2Maintenance, v2Upcoming, v2Active}
	seen := map[string]bool{}
	for id := range snap.incidents {
		seen[id] = true
		paths = append(paths, "/incidents/"+id)
	}
	for _, id := range snap.recent {
		if !seen[id] {
			paths = append(paths, "/incidents/"+id)
		}
	}
	for id := range snap.maintenances {
		paths = append(paths, "/maintenance/"+id)
	}
	for id := range snap.groups {
		paths = append(paths, templates.GroupURL(context.Background(), id))
	}
	paths = append(paths, snap.brand.paths()...)
	for i := range paths {
		paths[i] = sp.root + paths[i]
	}
	if sp.cfg == nil {
		paths = append(paths, "/embed.js")
		for _, a := range s.assets.All() {
			paths = append(paths, a.URL)
		}
	}
	return paths
}

// mirrorFile is where a URL path lives in the mirror: a path without an
// extension is a directory with an index.html.
func mirrorFile(urlPath string) string {
	p := strings.Trim(urlPath, "/")
	if last := p[strings.LastIndex(p, "/")+1:]; !strings.Contains(last, ".") {
		p = path.Join(p, "index.html")
	}
	return filepath.FromSlash(p)
}

// writeMirror brings the mirror up to the current snapshot.
func (s *Server) writeMirror(ctx context.Context) error {
	m := s.mirror
	var paths []string
	pages := s.allPages()
	for _, sp := range pages {
		// A private page is not mirrored: a static host serves anyone.
		if !sp.private() {
			paths = append(paths, s.mirrorPaths(sp, sp.snap.Load())...)
		}
	}
	current := map[string]bool{}
	for _, path := range paths {
		body, gz, err := s.fetchOwn(ctx, path)
		if err != nil {
			return fmt.Errorf("mirror %s: %w", path, err)
		}
		file := filepath.Join(m.dir, mirrorFile(path))
		current[file] = true
		if bytes.Equal(m.written[file], body) {
			continue
		}
		if err := writeAtomically(file, body); err != nil {
			return fmt.Errorf("mirror %s: %w", path, err)
		}
		if gz != nil {
			if err := writeAtomically(file+".gz", gz); err != nil {
				return fmt.Errorf("mirror %s: %w", path, err)
			}
		}
		m.written[file] = body
	}
	return m.removeGone(pages, current)
}

// removeGone deletes what the mirror no longer holds: the directory of a
// page made private (whatever it holds, from this process or one before
// it: a slug is a safe file name, store.checkSlug), and every file written
// before that the current paths do not have — a page deleted or moved, an
// incident narrowed away from a page or gone — so that the static host
// stops serving them.
func (m *mirror) removeGone(pages []*sitePage, current map[string]bool) error {
	for _, sp := range pages {
		if sp.private() {
			if err := os.RemoveAll(filepath.Join(m.dir, "p", sp.cfg.Slug)); err != nil {
				return fmt.Errorf("mirror: remove the private page %s: %w", sp.cfg.Slug, err)
			}
		}
	}
	for file := range m.written {
		if current[file] {
			continue
		}
		for _, f := range []string{file, file + ".gz"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("mirror: remove %s: %w", f, err)
			}
		}
		delete(m.written, file)
	}
	return nil
}

// fetchOwn asks the server's handler for path, plain and gzipped, as a
// visitor would.
func (s *Server) fetchOwn(ctx context.Context, path string) (body, gz []byte, err error) {
	get := func(encoding string) (*httptest.ResponseRecorder, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", encoding)
		rec := httptest.NewRecorder()
		s.echo.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return nil, fmt.Errorf("the server answered %d", rec.Code)
		}
		return rec, nil
	}
	plain, err := get("identity")
	if err != nil {
		return nil, nil, err
	}
	if zipped, err := get("gzip"); err == nil && zipped.Header().Get("Content-Encoding") == "gzip" {
		gz = zipped.Body.Bytes()
	}
	return plain.Body.Bytes(), gz, nil
}

// writeAtomically replaces file with data: readers see the old file or the
// new one, never a part.
func writeAtomically(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".herald-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // public pages, for the static host to read
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
