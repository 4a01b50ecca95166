package templates

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/a-h/templ"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// Markdown renders commander-written Markdown as HTML that is safe to show:
// goldmark drops raw HTML, then bluemonday's UGC policy removes anything
// dangerous that Markdown itself can express (javascript: links and the like).
var (
	md     = goldmark.New(goldmark.WithExtensions(extension.GFM))
	policy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.RequireNoReferrerOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(false)
		return p
	}()
)

// RenderMarkdown returns sanitized HTML for src, its headings as written.
func RenderMarkdown(src string) string { return renderMarkdown(src, 0) }

// RenderMarkdownPreview is RenderMarkdown for text still being written: it
// bypasses the cache, which is for bodies that were posted and will be
// rendered again, not for every draft a commander previews.
func RenderMarkdownPreview(src string) string { return renderMarkdownUncached(src, 0) }

// renderMarkdown is RenderMarkdown with the headings placed under the page's
// own when top > 0: the highest heading level used in src becomes h<top> and
// each lower one the next level down (h6 at most). Otherwise a commander's
// "# Summary" would be a second h1 on the page and break its outline for
// screen-reader users.
func renderMarkdown(src string, top int) string {
	key := renderKey{src, top}
	rendered.Lock()
	html, ok := rendered.m[key]
	rendered.Unlock()
	if ok {
		return html
	}
	html = renderMarkdownUncached(src, top)
	rendered.Lock()
	if len(rendered.m) >= maxRenderedCache {
		clear(rendered.m)
	}
	rendered.m[key] = html
	rendered.Unlock()
	return html
}

// rendered caches renderMarkdown's output. Update bodies never change once
// posted, and every snapshot rebuild renders the same ones again; goldmark
// plus bluemonday is by far the costliest part of a rebuild.
var rendered = struct {
	sync.Mutex
	m map[renderKey]string
}{m: map[renderKey]string{}}

type renderKey struct {
	src string
	top int
}

// maxRenderedCache bounds the cache; it is simply emptied when full.
const maxRenderedCache = 4096

func renderMarkdownUncached(src string, top int) string {
	source := []byte(src)
	doc := md.Parser().Parse(text.NewReader(source))
	imagesToLinks(doc)
	if top > 0 {
		placeHeadings(doc, top)
	}
	var buf bytes.Buffer
	if err := md.Renderer().Render(&buf, source, doc); err != nil {
		// goldmark only fails on writer errors; a bytes.Buffer has none. Fall
		// back to escaped text rather than showing nothing.
		return templ.EscapeString(src)
	}
	return policy.Sanitize(buf.String())
}

// imagesToLinks turns every image into a link to it. Pages load nothing from
// other hosts (a status page must render when everything else is down, and
// a remote image would tell a third party who is reading), so an image in an
// update is offered as a link to follow instead.
func imagesToLinks(doc ast.Node) {
	var images []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if img, ok := n.(*ast.Image); ok && entering {
			images = append(images, img)
		}
		return ast.WalkContinue, nil
	})
	for _, img := range images {
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		for child := img.FirstChild(); child != nil; {
			next := child.NextSibling()
			link.AppendChild(link, child)
			child = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString([]byte("image")))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}

// placeHeadings renumbers the headings of doc by rank: the levels in use,
// from highest to lowest, become top, top+1, … so none is skipped.
func placeHeadings(doc ast.Node, top int) {
	var headings []*ast.Heading
	var used [7]bool
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			headings = append(headings, h)
			used[h.Level] = true
		}
		return ast.WalkContinue, nil
	})
	var rank [7]int
	next := top
	for level := 1; level <= 6; level++ {
		if used[level] {
			rank[level] = min(next, 6)
			next++
		}
	}
	for _, h := range headings {
		h.Level = rank[h.Level]
	}
}

// markdown is renderMarkdown as a component; top is the level the text's
// highest heading takes (one below the heading it sits under).
func markdown(src string, top int) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, renderMarkdown(src, top))
		return err
	})
}
