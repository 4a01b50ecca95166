package web

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/herald-status/herald/templates/i18n"
)

// Visitors who ask for the same page at the same moment wait for one
// rendering, which goes on when the visitor who started it gives up.
func TestLazyPagesRenderOnceForEveryone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLazyPages("", false, nil)
		want := &page{body: []byte("old incident")}
		release := make(chan struct{})
		var renders atomic.Int32
		render := func(ctx context.Context) (*page, error) {
			renders.Add(1)
			<-release
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("the rendering was cancelled: %w", err)
			}
			return want, nil
		}
		type result struct {
			p   *page
			err error
		}
		results := make(chan result, 5)
		first, giveUp := context.WithCancel(t.Context())
		go func() {
			p, err := l.get(first, "en", "incident:1", render)
			results <- result{p, err}
		}()
		synctest.Wait() // the first request is rendering
		for range 4 {
			go func() {
				p, err := l.get(t.Context(), "en", "incident:1", render)
				results <- result{p, err}
			}()
		}
		synctest.Wait() // the others wait for it
		giveUp()
		close(release)
		for range 5 {
			if r := <-results; r.p != want || r.err != nil {
				t.Errorf("got %v, %v; want the rendered page", r.p, r.err)
			}
		}
		if n := renders.Load(); n != 1 {
			t.Errorf("rendered %d times, want once", n)
		}
		if p, _ := l.get(t.Context(), "en", "incident:1", render); p != want || renders.Load() != 1 {
			t.Errorf("a later request: %v after %d renderings, want the kept page", p, renders.Load())
		}
	})
}

// What failed, or does not exist, is not kept: the next request tries again.
func TestLazyPagesKeepOnlyPages(t *testing.T) {
	l := newLazyPages("", false, nil)
	ctx := t.Context()
	var renders int
	answers := []func() (*page, error){
		func() (*page, error) { return nil, errors.New("database is locked") },
		func() (*page, error) { return nil, nil },
		func() (*page, error) { return &page{}, nil },
	}
	render := func(context.Context) (*page, error) {
		renders++
		return answers[min(renders, len(answers))-1]()
	}
	if _, err := l.get(ctx, "en", "history:2", render); err == nil {
		t.Fatal("the failure was not reported")
	}
	if p, err := l.get(ctx, "en", "history:2", render); p != nil || err != nil {
		t.Fatalf("after a failure: %v, %v; want a new rendering saying there is no such page", p, err)
	}
	p, err := l.get(ctx, "en", "history:2", render)
	if p == nil || err != nil {
		t.Fatalf("after no such page: %v, %v; want a new rendering", p, err)
	}
	if again, _ := l.get(ctx, "en", "history:2", render); again != p || renders != 3 {
		t.Errorf("%d renderings, want the third kept", renders)
	}
}

// Past maxLazyPages, pages are rendered for each request and not kept.
func TestLazyPagesBounded(t *testing.T) {
	l := newLazyPages("", false, nil)
	ctx := t.Context()
	for i := range maxLazyPages {
		if _, err := l.get(ctx, "en", fmt.Sprint("incident:", i), func(context.Context) (*page, error) { return &page{}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	var renders int
	render := func(context.Context) (*page, error) { renders++; return &page{}, nil }
	for range 2 {
		if p, err := l.get(ctx, "en", "incident:one-more", render); p == nil || err != nil {
			t.Fatalf("past the bound: %v, %v; want the page all the same", p, err)
		}
	}
	if renders != 2 || len(l.pages) != maxLazyPages {
		t.Errorf("%d renderings and %d pages kept, want 2 and %d", renders, len(l.pages), maxLazyPages)
	}
}

// A rendering that panics releases whoever waits for it, and is not kept.
func TestLazyPagesPanicReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLazyPages("", false, nil)
		release := make(chan struct{})
		panicking := func(context.Context) (*page, error) { <-release; panic("template bug") }
		go func() {
			defer func() { _ = recover() }() // the server's recoverPanics answers that request
			_, _ = l.get(t.Context(), "en", "badge:x", panicking)
		}()
		synctest.Wait()
		waited := make(chan error, 1)
		go func() {
			_, err := l.get(t.Context(), "en", "badge:x", panicking)
			waited <- err
		}()
		synctest.Wait()
		close(release)
		if err := <-waited; !errors.Is(err, errRenderPanicked) {
			t.Errorf("the waiting request got %v, want %v", err, errRenderPanicked)
		}
		if p, err := l.get(t.Context(), "en", "badge:x", func(context.Context) (*page, error) { return &page{}, nil }); p == nil || err != nil {
			t.Errorf("after the panic: %v, %v; want a new rendering", p, err)
		}
	})
}

// A page is kept once per language it is asked in, each rendered in its
// own; has sees it kept in any of them.
func TestLazyPagesByLanguage(t *testing.T) {
	l := newLazyPages("", false, []string{"de", "ja"})
	ctx := t.Context()
	var langs []string
	render := func(ctx context.Context) (*page, error) {
		langs = append(langs, i18n.Lang(ctx))
		return &page{body: []byte(i18n.Lang(ctx))}, nil
	}
	if l.has("incident:1") {
		t.Fatal("kept before it was asked for")
	}
	de, _ := l.get(ctx, "de", "incident:1", render)
	ja, _ := l.get(ctx, "ja", "incident:1", render)
	again, _ := l.get(ctx, "ja", "incident:1", render)
	if string(de.body) != "de" || string(ja.body) != "ja" || again != ja || len(langs) != 2 {
		t.Errorf("rendered in %v; got %q, %q", langs, de.body, ja.body)
	}
	only := newLazyPages("", false, []string{"de", "ja"})
	if _, err := only.get(ctx, "ja", "incident:2", render); err != nil || !only.has("incident:2") || only.has("incident:1") {
		t.Errorf("has does not see a page kept in a language other than the default")
	}
}
