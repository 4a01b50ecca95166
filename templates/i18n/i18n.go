// Package i18n is the public pages' and emails' message catalogue: one
// TOML file a language in locales/, English the source. Templates read the
// language from the context (With), as they read the page's root, so the
// parts of a page rendered on their own (web/live_parts.go) speak the
// page's language too.
package i18n

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var files embed.FS

// Default is the source language: every message id is defined in it, and
// a message a language lacks is shown in it.
const Default = "en"

var (
	bundle = goi18n.NewBundle(language.English)
	// shipped are the catalogue files' languages, Default first.
	shipped []string
	// ids are the message ids each language defines.
	ids = map[string]map[string]bool{}
	// plural are the source's plural messages (those with a "one" form).
	plural = map[string]bool{}
	// names are the languages' own names, for the switcher.
	names = map[string]string{}
	// simple are, by language, the messages that are text and {{.Name}}
	// alone, not plural: T fills them in itself. A page asks for hundreds
	// a rendering (every date is one), and go-i18n's template costs
	// several allocations each; TestSimpleMessagesAsGoI18n holds the two
	// to the same text.
	simple = map[string]map[string]simpleMessage{}
)

func init() {
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	entries, err := files.ReadDir("locales")
	if err != nil {
		panic(fmt.Sprintf("i18n: read catalogues: %v", err))
	}
	for _, e := range entries {
		mf, err := bundle.LoadMessageFileFS(files, path.Join("locales", e.Name()))
		if err != nil {
			// The catalogues are embedded: a broken one is a build error.
			panic(fmt.Sprintf("i18n: load %s: %v", e.Name(), err))
		}
		tag := mf.Tag.String()
		shipped = append(shipped, tag)
		ids[tag] = map[string]bool{}
		simple[tag] = map[string]simpleMessage{}
		for _, m := range mf.Messages {
			ids[tag][m.ID] = true
			if sm, ok := parseSimple(m); ok {
				simple[tag][m.ID] = sm
			}
			if tag == Default && m.One != "" {
				plural[m.ID] = true
			}
			if m.ID == "language.name" {
				names[tag] = m.Other
			}
		}
	}
	for _, msgs := range simple {
		for id := range plural {
			delete(msgs, id)
		}
	}
	sort.Slice(shipped, func(i, j int) bool {
		if (shipped[i] == Default) != (shipped[j] == Default) {
			return shipped[i] == Default
		}
		return shipped[i] < shipped[j]
	})
	matcher = language.NewMatcher(tags(shipped))
}

// Languages are the shipped languages' BCP 47 tags, English first.
func Languages() []string { return append([]string(nil), shipped...) }

// Name is a language in its own words ("Deutsch").
func Name(lang string) string { return names[lang] }

// Shipped reports whether lang is one of the shipped languages, exactly.
func Shipped(lang string) bool { return ids[lang] != nil }

// Has reports whether the source catalogue defines id.
func Has(id string) bool { return ids[Default][id] }

// IDs are the message ids of the source catalogue, sorted.
func IDs() []string {
	var out []string
	for id := range ids[Default] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Missing lists, for each shipped language, the source's message ids it
// does not translate: what the catalogue test fails on.
func Missing() map[string][]string {
	out := map[string][]string{}
	for _, lang := range shipped {
		for _, id := range IDs() {
			if !ids[lang][id] {
				out[lang] = append(out[lang], id)
			}
		}
	}
	return out
}

var matcher language.Matcher

func tags(langs []string) []language.Tag {
	out := make([]language.Tag, len(langs))
	for i, l := range langs {
		out[i] = language.MustParse(l)
	}
	return out
}

// Match is the language of offered (shipped tags, the page's default
// first) that best serves an Accept-Language header; offered[0] when none
// does.
func Match(acceptLanguage string, offered []string) string {
	return NewMatcher(offered).Match(acceptLanguage)
}

// Matcher picks among a page's languages; made once a snapshot, since a
// matcher costs far more to make than to ask.
type Matcher struct {
	offered []string
	m       language.Matcher
}

// NewMatcher matches against offered (shipped tags, the default first).
func NewMatcher(offered []string) *Matcher {
	if len(offered) == 0 {
		offered = []string{Default}
	}
	return &Matcher{offered: offered, m: language.NewMatcher(tags(offered))}
}

// Match is the offered language that best serves an Accept-Language
// header; the default when none does.
func (m *Matcher) Match(acceptLanguage string) string {
	want, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(want) == 0 {
		return m.offered[0]
	}
	_, i, conf := m.m.Match(want...)
	if conf == language.No {
		return m.offered[0]
	}
	return m.offered[i]
}

type langKey struct{}

// With returns ctx for rendering in lang (a shipped tag).
func With(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// Lang is the language ctx renders in (Default unless With said otherwise).
func Lang(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok && l != "" {
		return l
	}
	return Default
}

// localizers are made once: templates ask for thousands of messages a render.
var localizers = map[string]*goi18n.Localizer{}

func localizer(lang string) *goi18n.Localizer {
	if l, ok := localizers[lang]; ok {
		return l
	}
	return localizers[Default]
}

func init() {
	for _, lang := range shipped {
		localizers[lang] = goi18n.NewLocalizer(bundle, lang)
	}
}

// Args are a message's template data; "Count" also picks its plural form.
type Args map[string]any

// T is message id in ctx's language, with args filled in. A message the
// language lacks is shown in English (and logged: the catalogue test
// should have caught it); an unknown id is shown as itself.
func T(ctx context.Context, id string, args ...Args) string {
	var a Args
	if len(args) > 0 {
		a = args[0]
	}
	if sm, ok := simple[Lang(ctx)][id]; ok {
		return sm.fill(a)
	}
	s, err := localize(Lang(ctx), id, a)
	if err != nil {
		slog.Warn("i18n: message", "id", id, "lang", Lang(ctx), "err", err)
		if s == "" {
			return id
		}
	}
	return s
}

func localize(lang, id string, args Args) (string, error) {
	cfg := &goi18n.LocalizeConfig{MessageID: id, TemplateData: map[string]any(args)}
	if n, ok := args["Count"]; ok && plural[id] {
		cfg.PluralCount = n
	}
	return localizer(lang).Localize(cfg)
}

// Check renders id in lang, strictly: an error for a message the language
// lacks or a plural form it does not give for count (the catalogue test).
func Check(lang, id string, count int) error {
	if !Shipped(lang) {
		return fmt.Errorf("i18n: %q is not a shipped language", lang)
	}
	s, err := localize(lang, id, Args{"Count": count})
	if err == nil && s == "" {
		err = fmt.Errorf("i18n: %s: %s is empty", lang, id)
	}
	return err
}

// N is the plural message id for n ("{{.Count}} incidents").
func N(ctx context.Context, id string, n int) string { return T(ctx, id, Args{"Count": n}) }

// ShortTime is a moment as a visitor reads it, in UTC: "Nov 25, 22:50 UTC"
// in English, "25. Nov., 22:50 UTC" in German.
func ShortTime(ctx context.Context, t time.Time) string {
	t = t.UTC()
	return T(ctx, "date.short_time", Args{"Day": t.Day(), "Month": month(ctx, t, true), "Time": clock(ctx, t)})
}

// LongDate is a day: "November 25, 2026", "25. November 2026".
func LongDate(ctx context.Context, t time.Time) string {
	t = t.UTC()
	return T(ctx, "date.long_date", Args{"Day": t.Day(), "Month": month(ctx, t, false), "Year": t.Year()})
}

// MediumDate is a day with its month abbreviated: "Nov 25, 2026".
func MediumDate(ctx context.Context, t time.Time) string {
	t = t.UTC()
	return T(ctx, "date.medium_date", Args{"Day": t.Day(), "Month": month(ctx, t, true), "Year": t.Year()})
}

// FullTime is a moment with its year, for a plain-text email that no
// script localises: "Nov 25, 2026, 22:50 UTC".
func FullTime(ctx context.Context, t time.Time) string {
	t = t.UTC()
	return T(ctx, "date.full_time", Args{"Day": t.Day(), "Month": month(ctx, t, true), "Year": t.Year(), "Time": clock(ctx, t)})
}

// ShortDate is a day of this year: "Nov 25", "25. Nov.".
func ShortDate(ctx context.Context, t time.Time) string {
	t = t.UTC()
	return T(ctx, "date.short_date", Args{"Day": t.Day(), "Month": month(ctx, t, true)})
}

// MonthYear is "November 2026", "November 2026", "2026年11月".
func MonthYear(ctx context.Context, t time.Time) string {
	t = t.UTC()
	return T(ctx, "date.month_year", Args{"Month": month(ctx, t, false), "Year": t.Year()})
}

func month(ctx context.Context, t time.Time, short bool) string {
	id := "month." + strings.ToLower(t.Month().String()[:3])
	if short {
		id += "_short"
	}
	return T(ctx, id)
}

// clock is the time of day as the language writes it: 24-hour, or 12-hour
// where the catalogue's date.clock says "12".
func clock(ctx context.Context, t time.Time) string {
	if T(ctx, "date.clock") == "12" {
		return t.Format("3:04 PM")
	}
	return t.Format("15:04")
}

// simpleMessage is a message as text between its arguments' names:
// len(text) is len(names)+1.
type simpleMessage struct {
	text, names []string
}

// parseSimple reads m as a simpleMessage, if it is one.
func parseSimple(m *goi18n.Message) (simpleMessage, bool) {
	if m.Zero != "" || m.One != "" || m.Two != "" || m.Few != "" || m.Many != "" || m.Other == "" ||
		(m.LeftDelim != "" && m.LeftDelim != "{{") || (m.RightDelim != "" && m.RightDelim != "}}") {
		return simpleMessage{}, false
	}
	var sm simpleMessage
	rest := m.Other
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return simpleMessage{}, false
		}
		name, ok := strings.CutPrefix(rest[i+2:i+j], ".")
		if !ok || name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_')
		}) {
			return simpleMessage{}, false
		}
		sm.text, sm.names = append(sm.text, rest[:i]), append(sm.names, name)
		rest = rest[i+j+2:]
	}
	if strings.Contains(rest, "}}") {
		return simpleMessage{}, false
	}
	sm.text = append(sm.text, rest)
	return sm, true
}

// fill is the message with args in place, as text/template writes them.
func (sm simpleMessage) fill(args Args) string {
	if len(sm.names) == 0 {
		return sm.text[0]
	}
	var b strings.Builder
	n := 0
	for _, t := range sm.text {
		n += len(t)
	}
	b.Grow(n + 16*len(sm.names))
	for i, name := range sm.names {
		b.WriteString(sm.text[i])
		switch v := args[name].(type) {
		case string:
			b.WriteString(v)
		case int:
			b.WriteString(strconv.Itoa(v))
		case nil:
			b.WriteString("<no value>")
		default:
			fmt.Fprint(&b, v)
		}
	}
	b.WriteString(sm.text[len(sm.names)])
	return b.String()
}
