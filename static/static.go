// Package static embeds Herald's CSS, script and icon. Each file is served
// under a content-hashed URL so browsers can cache it for a year and still
// pick up a new release at once; nothing is ever loaded from another host.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"slices"
	"strings"
)

//go:embed app.css app.js favicon.svg console.css console.js passkey.js
var files embed.FS

// Asset is one embedded file, ready to serve.
type Asset struct {
	Name        string // "app.css"
	URL         string // "/static/app.1a2b3c4d5e.css"
	ContentType string
	Body        []byte
	Gzip        []byte // nil when compression does not pay
	ETag        string
}

// Assets holds every embedded file by name and by URL.
type Assets struct {
	byName map[string]*Asset
	byURL  map[string]*Asset
}

// Load reads and fingerprints the embedded files.
func Load() (*Assets, error) {
	a := &Assets{byName: map[string]*Asset{}, byURL: map[string]*Asset{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(name)
		asset := &Asset{
			Name:        name,
			URL:         "/static/" + strings.TrimSuffix(name, ext) + "." + hash + ext,
			ContentType: mime.TypeByExtension(ext),
			Body:        body,
			ETag:        `"` + hash + `"`,
		}
		if asset.ContentType == "" {
			asset.ContentType = "application/octet-stream"
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if _, err := w.Write(body); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if gz.Len() < len(body) {
			asset.Gzip = gz.Bytes()
		}
		a.byName[name] = asset
		a.byURL[asset.URL] = asset
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: load: %w", err)
	}
	return a, nil
}

// URL returns the hashed URL of the named file; it panics on a name that is
// not embedded, which is a programming error caught by any test.
func (a *Assets) URL(name string) string {
	asset, ok := a.byName[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return asset.URL
}

// All lists every asset, by name.
func (a *Assets) All() []*Asset {
	out := make([]*Asset, 0, len(a.byName))
	for _, asset := range a.byName {
		out = append(out, asset)
	}
	slices.SortFunc(out, func(x, y *Asset) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// ByURL finds the asset served at a URL path.
func (a *Assets) ByURL(urlPath string) (*Asset, bool) {
	asset, ok := a.byURL[urlPath]
	return asset, ok
}
