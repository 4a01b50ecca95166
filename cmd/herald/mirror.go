package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// cmdMirror serves a static mirror (herald serve --mirror-dir) as a static
// host would, to try one out: herald mirror serve DIR.
func cmdMirror(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return errors.New("mirror: say serve, e.g. herald mirror serve ./mirror")
	}
	fs := newFlagSet("herald mirror serve", stderr)
	addr := fs.FlagSet.String("addr", "127.0.0.1:8081", "address to listen on")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("mirror serve: give the mirror's directory, e.g. herald mirror serve ./mirror")
	}
	dir := fs.Arg(0)
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return fmt.Errorf("mirror serve: %s holds no mirror (no index.html): %w", dir, err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: mirrorHandler(dir), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "Serving the mirror in %s at http://%s\n", dir, ln.Addr())
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mirrorHandler serves a mirror directory: a path without an extension is
// its index.html, each file with the type its extension says, the .gz
// beside it to clients that take gzip. Nothing outside dir is reachable.
func mirrorHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "a mirror is read-only", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if last := path.Base(p); !strings.Contains(last, ".") {
			p = path.Join(p, "index.html")
		}
		file := filepath.Join(dir, filepath.FromSlash(p))
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".atom":
			ctype = "application/atom+xml; charset=utf-8"
		case ".rss":
			ctype = "application/rss+xml; charset=utf-8"
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Vary", "Accept-Encoding")
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(p, "/static/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=0, must-revalidate")
		}
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			if _, err := os.Stat(file + ".gz"); err == nil {
				h.Set("Content-Encoding", "gzip")
				file += ".gz"
			}
		}
		f, err := os.Open(file)
		if err != nil {
			h.Del("Content-Encoding")
			http.Error(w, "not in the mirror", http.StatusNotFound)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			http.Error(w, "not in the mirror", http.StatusNotFound)
			return
		}
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
}
