package templates

import (
	"context"
	"strings"

	"github.com/a-h/templ"
)

// A page other than the default lives under /p/{slug}: its links start
// there. The root rides in the context rather than in every view, because
// the status page is rendered in parts (web/live_parts.go) that know
// nothing of the page they are part of.
type rootKey struct{}

// WithRoot returns ctx for rendering a page whose links start at root ("" for
// the default page, "/p/{slug}" for another).
func WithRoot(ctx context.Context, root string) context.Context {
	return context.WithValue(ctx, rootKey{}, root)
}

// Root is the root of the page being rendered.
func Root(ctx context.Context) string {
	r, _ := ctx.Value(rootKey{}).(string)
	return r
}

type notesKey struct{}

// WithInternalNotes marks ctx as rendering a private page, whose updates
// show their internal notes: the one switch for them (a public page's
// context never has it).
func WithInternalNotes(ctx context.Context) context.Context {
	return context.WithValue(ctx, notesKey{}, true)
}

// showsNotes reports whether the page being rendered shows internal notes.
func showsNotes(ctx context.Context) bool {
	on, _ := ctx.Value(notesKey{}).(bool)
	return on
}

// Href is path ("/history") on the page being rendered.
func Href(ctx context.Context, path string) string { return Root(ctx) + path }

func href(ctx context.Context, path string) templ.SafeURL { return templ.SafeURL(Href(ctx, path)) }

// home is the page's own front page.
func home(ctx context.Context) templ.SafeURL {
	if r := Root(ctx); r != "" {
		return templ.SafeURL(r + "/")
	}
	return "/"
}

type hereKey struct{}

// WithHere returns ctx for rendering the page at url (a path under the
// page's root, with its query, without lang): what the language switcher
// links in each language. Without it the switcher links the front page.
func WithHere(ctx context.Context, url string) context.Context {
	return context.WithValue(ctx, hereKey{}, url)
}

// inLanguage is the page being rendered in language lang: its address
// with ?lang=, which the server answers in it (and remembers).
func inLanguage(ctx context.Context, lang string) templ.SafeURL {
	u, _ := ctx.Value(hereKey{}).(string)
	if u == "" {
		u = string(home(ctx))
	}
	if strings.Contains(u, "?") {
		return templ.SafeURL(u + "&lang=" + lang)
	}
	return templ.SafeURL(u + "?lang=" + lang)
}
