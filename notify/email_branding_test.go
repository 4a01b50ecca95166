package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// An email carries the page's branding: its name, its logo as an absolute
// URL to Herald's hashed asset, and its accent on the link.
func TestEmailCarriesTheBranding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	logo := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0a6e31"/></svg>`)
	b, err := st.SaveBranding(ctx, "", store.BrandingPatch{Accent: ptrTo("#0a6e31"), Logo: &logo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSubscribers(ctx, []store.SubscriberInput{{Email: "all@example.com"}}); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	mustIncident(t, st, store.IncidentInput{Name: "API down"})
	eventually(t, "the email to be sent", func() bool { return counts(t, st)["email/sent"] == 1 })
	html := sink.messages()[0].HTML
	wantLogo := `<img src="https://status.acme.test` + templates.BrandAssetPath(b.Logo) + `" alt="Acme"`
	for _, want := range []string{wantLogo, "Acme Status", "color:#0a6e31"} {
		if !strings.Contains(html, want) {
			t.Errorf("the email lacks %q:\n%s", want, html)
		}
	}
	// Without a base URL (or with plain http, which mail clients block)
	// there is no image to point at, rather than a broken one.
	for _, base := range []string{"", "http://status.acme.test"} {
		if got := templates.EmailBrand(b, base); got.Logo != "" || got.Accent != "#0a6e31" {
			t.Errorf("with base URL %q the email's branding is %+v", base, got)
		}
	}
}

// A page's subscribers get its branding, and the default page's theirs.
func TestEmailCarriesItsPagesBranding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	ops, err := st.CreatePage(ctx, store.PageInput{Slug: "ops", Name: "Acme Operations", Host: "ops.acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	logo := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#6639ba"/></svg>`)
	b, err := st.SaveBranding(ctx, ops.ID, store.BrandingPatch{Accent: ptrTo("#6639ba"), Logo: &logo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSubscribers(ctx, []store.SubscriberInput{{Email: "pub@example.com"}, {Email: "ops@example.com", PageID: ops.ID}}); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	mustIncident(t, st, store.IncidentInput{Name: "News for everyone"})
	eventually(t, "both emails to be sent", func() bool { return counts(t, st)["email/sent"] == 2 })
	for _, m := range sink.messages() {
		branded := strings.Contains(m.HTML, `<img src="https://ops.acme.test/p/ops`+templates.BrandAssetPath(b.Logo)+`"`) && strings.Contains(m.HTML, "color:#6639ba")
		if want := m.To[0] == "ops@example.com"; branded != want {
			t.Errorf("%s's email carries the ops page's branding: %v, want %v:\n%s", m.To[0], branded, want, m.HTML)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
