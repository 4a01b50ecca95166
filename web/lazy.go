package web

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// lazyRenderTimeout bounds one rendering on demand. It is not the request's
// deadline: one visitor giving up must not fail the rendering others wait for.
const lazyRenderTimeout = 10 * time.Second

// lazyPages are pages rendered on their first request and then kept for the
// life of a snapshot: older incidents, history pages, badges, the history
// documents. However many ask for a page at the same moment, it is rendered
// once and they all wait for that rendering. At most maxLazyPages are kept,
// so crawling them cannot exhaust memory; past that, pages are rendered for
// each request. A failure, or a page that does not exist, is not kept: the
// next request tries again, and made-up addresses take no room.
//
// A page that speaks is kept once per language it was asked in (those
// that do not, a badge, under the default's); the bound counts them all.
type lazyPages struct {
	mu    sync.Mutex
	pages map[lazyKey]*lazyPage
	root  string   // the page's, for the links of what is rendered
	notes bool     // a private page's: its updates show their internal notes
	langs []string // the languages the page offers, its default first
}

// lazyKey is a page kept: what it is ("incident:ID") and its language.
type lazyKey struct{ name, lang string }

// lazyPage is one page, being rendered until done is closed.
type lazyPage struct {
	done chan struct{}
	p    *page
	err  error
}

var errRenderPanicked = errors.New("web: rendering the page panicked")

// newLazyPages keeps pages for a page at root offering langs (its
// default first; none is English alone).
func newLazyPages(root string, notes bool, langs []string) *lazyPages {
	if len(langs) == 0 {
		langs = []string{i18n.Default}
	}
	return &lazyPages{pages: map[lazyKey]*lazyPage{}, root: root, notes: notes, langs: langs}
}

// get returns page name in language lang as kept, rendering it with render
// (in a context saying lang) if it is the first request. render returning
// (nil, nil) means "no such page".
func (l *lazyPages) get(ctx context.Context, lang, name string, render func(context.Context) (*page, error)) (*page, error) {
	ctx = i18n.With(templates.WithRoot(ctx, l.root), lang)
	key := lazyKey{name, lang}
	if l.notes {
		ctx = templates.WithInternalNotes(ctx)
	}
	l.mu.Lock()
	lp, ok := l.pages[key]
	switch {
	case ok:
		l.mu.Unlock()
		select {
		case <-lp.done:
			return lp.p, lp.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case len(l.pages) >= maxLazyPages:
		l.mu.Unlock()
		return renderDetached(ctx, render)
	}
	lp = &lazyPage{done: make(chan struct{}), err: errRenderPanicked}
	l.pages[key] = lp
	l.mu.Unlock()
	defer func() { // also when render panics: waiters must not wait forever
		if lp.err != nil || lp.p == nil {
			l.mu.Lock()
			delete(l.pages, key)
			l.mu.Unlock()
		}
		close(lp.done)
	}()
	lp.p, lp.err = renderDetached(ctx, render)
	return lp.p, lp.err
}

// has reports whether page name is kept (or being rendered) in any
// language.
func (l *lazyPages) has(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lang := range l.langs {
		if _, ok := l.pages[lazyKey{name, lang}]; ok {
			return true
		}
	}
	return false
}

// renderDetached renders with ctx's values but not its cancellation.
func renderDetached(ctx context.Context, render func(context.Context) (*page, error)) (*page, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lazyRenderTimeout)
	defer cancel()
	return render(ctx)
}
