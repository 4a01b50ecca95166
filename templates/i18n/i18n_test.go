package i18n_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/templates/i18n"
)

// Every shipped language translates every message id of the source.
func TestEveryLanguageTranslatesEveryMessage(t *testing.T) {
	if got := i18n.Languages(); strings.Join(got, " ") != "en de es fr ja pt-BR" {
		t.Fatalf("shipped languages = %v", got)
	}
	for lang, ids := range i18n.Missing() {
		t.Errorf("%s lacks %d messages: %s", lang, len(ids), strings.Join(ids, ", "))
	}
	// Each message renders in each language, in each plural form a count
	// can ask for (a language lacking a CLDR form fails here).
	for _, lang := range i18n.Languages() {
		for _, id := range i18n.IDs() {
			for _, n := range []int{0, 1, 2, 5, 21} {
				if err := i18n.Check(lang, id, n); err != nil {
					t.Errorf("%s: %s (count %d): %v", lang, id, n, err)
				}
			}
		}
	}
}

// usedID is a message id as the templates and the notify package write it.
// (in templ and Go: T(ctx, "id"; in the emails' text template: {{t "id"}}).
var usedID = regexp.MustCompile(`(?:\b(?:i18n\.)?[TN]\(ctx, |\{\{t )"([a-z_.]*[a-z_])"`)

// errorID is the title and message ids the web package gives its error
// pages (errorPage, notFoundPage).
var errorID = regexp.MustCompile(`(?:errorPage|notFoundPage)\(c, (?:http\.Status\w+, )?"([a-z_.]+)", "([a-z_.]+)"\)`)

// Every message id the templates and emails use is in the source catalogue.
func TestEveryUsedMessageIsInTheCatalogue(t *testing.T) {
	known := map[string]bool{}
	for _, id := range i18n.IDs() {
		known[id] = true
	}
	var used int
	for _, dir := range []string{"..", "../../notify", "../../web"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.*"))
		for _, f := range files {
			if !strings.HasSuffix(f, ".templ") && !(strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, "_templ.go")) {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range usedID.FindAllStringSubmatch(string(b), -1) {
				used++
				if !known[m[1]] {
					t.Errorf("%s uses %q, which en.toml lacks", filepath.Base(f), m[1])
				}
			}
			for _, m := range errorID.FindAllStringSubmatch(string(b), -1) {
				for _, id := range m[1:] {
					used++
					if !known[id] {
						t.Errorf("%s's error page says %q, which en.toml lacks", filepath.Base(f), id)
					}
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("no message ids found in the templates")
	}
}

func TestDatesPerLanguage(t *testing.T) {
	at := time.Date(2026, 3, 5, 14, 7, 0, 0, time.UTC)
	for _, c := range []struct{ lang, short, long string }{
		{"en", "Mar 5, 14:07 UTC", "March 5, 2026"},
		{"de", "5. März, 14:07 UTC", "5. März 2026"},
		{"fr", "5 mars, 14:07 UTC", "5 mars 2026"},
		{"es", "5 mar, 14:07 UTC", "5 de marzo de 2026"},
		{"pt-BR", "5 de mar., 14:07 UTC", "5 de março de 2026"},
		{"ja", "3月5日 14:07 UTC", "2026年3月5日"},
	} {
		ctx := i18n.With(context.Background(), c.lang)
		if got := i18n.ShortTime(ctx, at); got != c.short {
			t.Errorf("%s short time = %q, want %q", c.lang, got, c.short)
		}
		if got := i18n.LongDate(ctx, at); got != c.long {
			t.Errorf("%s long date = %q, want %q", c.lang, got, c.long)
		}
	}
	if got := i18n.N(i18n.With(context.Background(), "de"), "components", 1); got != "1 Komponente" {
		t.Errorf("German singular = %q", got)
	}
}

func TestMatch(t *testing.T) {
	offered := []string{"de", "en", "ja", "pt-BR"}
	for _, c := range []struct{ header, want string }{
		{"", "de"},
		{"ja-JP,ja;q=0.9,en;q=0.5", "ja"},
		{"pt-PT,pt;q=0.9", "pt-BR"},
		{"en-US,en;q=0.9", "en"},
		{"fr-FR", "de"},
		{"garbage;;", "de"},
	} {
		if got := i18n.Match(c.header, offered); got != c.want {
			t.Errorf("Match(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

// The messages T fills in itself read exactly as go-i18n writes them, in
// every language, with arguments of each kind a template passes.
func TestSimpleMessagesAsGoI18n(t *testing.T) {
	args := i18n.Args{"Count": 3, "Day": 5, "Year": 2026, "Month": "März", "Time": "14:07", "Page": "Acme Status",
		"Names": "API, Web", "Percent": "99.95", "Duration": "1 h", "Hours": 2, "Minutes": 7, "Name": "API",
		"Since": "5. März", "Date": "2026-03-05", "Impact": "Major", "At": "now", "From": "\x00", "Until": "\x00", "Owner": "Ann"}
	n := 0
	for _, lang := range i18n.Languages() {
		for _, id := range i18n.IDs() {
			fast, slow, ok := i18n.CompareSimple(lang, id, args)
			if !ok {
				continue
			}
			n++
			if fast != slow {
				t.Errorf("%s %s: T says %q, go-i18n %q", lang, id, fast, slow)
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d messages are filled in by T", n)
	}
}
