package notify

import (
	"context"
	"mime"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// toLanguage is the shipped language a test's message went to, by its
// address ("pt-br@example.com": lower case, as stored), and its subject,
// decoded.
func toLanguage(t *testing.T, m sinkMessage) (lang, subject string) {
	t.Helper()
	lang = strings.TrimSuffix(m.To[0], "@example.com")
	for _, l := range i18n.Languages() {
		if strings.EqualFold(l, lang) {
			lang = l
		}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return lang, subject
}

// A page's subscribers get their emails in the page's language — subject,
// plain-text and HTML part — in each shipped language, with nothing left
// in English.
func TestEmailInThePagesLanguage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	var subs []store.SubscriberInput
	for _, lang := range i18n.Languages() {
		p, err := st.CreatePage(ctx, store.PageInput{Slug: "p-" + strings.ToLower(lang), Name: "Acme " + lang})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveBranding(ctx, p.ID, store.BrandingPatch{Language: ptrTo(lang)}); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, store.SubscriberInput{Email: lang + "@example.com", PageID: p.ID})
	}
	if _, err := st.ImportSubscribers(ctx, subs); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	mustIncident(t, st, store.IncidentInput{Name: "News for everyone", Status: store.Identified})
	eventually(t, "every page's email to be sent", func() bool { return counts(t, st)["email/sent"] == len(subs) })
	english := []string{"We are reporting a new incident", "View the incident", "You receive this because", "Unsubscribe", "Identified"}
	for _, m := range sink.messages() {
		lang, subject := toLanguage(t, m)
		ctx := i18n.With(ctx, lang)
		if subject != "[Acme "+lang+"] News for everyone" {
			t.Errorf("%s: subject %q", lang, subject)
		}
		if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
			t.Errorf("%s: the HTML part is not marked as %s", lang, lang)
		}
		for _, id := range []string{"email.intro_incident_created", "email.view_incident", "email.manage", "email.unsubscribe", "incident.identified"} {
			want := i18n.T(ctx, id)
			if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
				t.Errorf("%s: the email lacks %s (%q):\n%s", lang, id, want, m.Text)
			}
		}
		if lang == i18n.Default {
			continue
		}
		for _, en := range english {
			if strings.Contains(m.Text, en) || strings.Contains(m.HTML, en) {
				t.Errorf("%s: the email still says %q:\n%s", lang, en, m.Text)
			}
		}
	}
}

// The subscribe flow's confirmation email is in the page's language too.
func TestConfirmationEmailInThePagesLanguage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	p, err := st.CreatePage(ctx, store.PageInput{Slug: "de", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveBranding(ctx, p.ID, store.BrandingPatch{Language: ptrTo("de")}); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	if err := st.SubscribeEmail(ctx, store.SubscriberInput{Email: "neu@example.com", PageID: p.ID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the confirmation to be sent", func() bool { return counts(t, st)["email/sent"] == 1 })
	m := sink.messages()[0]
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subject != "Bestätigen Sie Ihr Abonnement der Statusmeldungen von Acme" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Bitte bestätigen Sie Ihr Abonnement der Meldungen von Acme Status.", "Bestätigen: https://", "ignorieren Sie diese E-Mail"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text part lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "Abonnement bestätigen</a>") {
		t.Errorf("the HTML part has no German button:\n%s", m.HTML)
	}
}

// A viewer's sign-in link comes in the language the visitor asked for it
// in, in each shipped language — subject, plain-text and HTML part — with
// nothing left in English.
func TestViewerSignInEmailInTheLanguageAskedIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	p, err := st.CreatePage(ctx, store.PageInput{Slug: "ops", Name: "Ops Floor", Access: store.AccessEmail, Viewers: []string{"@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none")})
	for _, lang := range i18n.Languages() {
		if sent, err := st.RequestViewerLink(ctx, store.ViewerLinkRequest{PageID: p.ID, Email: lang + "@example.com", LinkBase: "https://status.example/p/ops", Language: lang}); err != nil || !sent {
			t.Fatalf("%s: sent %v, %v", lang, sent, err)
		}
	}
	eventually(t, "every sign-in link to be sent", func() bool { return counts(t, st)["email/sent"] == len(i18n.Languages()) })
	english := []string{"Sign in to view", "Open this link", "The link works once", "ignore this email"}
	for _, m := range sink.messages() {
		lang, subject := toLanguage(t, m)
		ctx := i18n.With(ctx, lang)
		if want := i18n.T(ctx, "email.subject_viewer", i18n.Args{"Name": "Ops Floor"}); subject != want {
			t.Errorf("%s: subject %q, want %q", lang, subject, want)
		}
		if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
			t.Errorf("%s: the HTML part is not marked as %s", lang, lang)
		}
		heading := i18n.T(ctx, "email.viewer_heading", i18n.Args{"Name": "Ops Floor"})
		for part, wants := range map[string][]string{
			m.Text: {heading, i18n.T(ctx, "email.viewer_open") + ": https://status.example/p/ops/viewer/link/", i18n.T(ctx, "email.viewer_ignore")},
			m.HTML: {heading, i18n.T(ctx, "email.viewer_button"), i18n.T(ctx, "email.viewer_ignore")},
		} {
			for _, want := range wants {
				if !strings.Contains(part, want) {
					t.Errorf("%s: the email lacks %q:\n%s", lang, want, part)
				}
			}
		}
		if lang == i18n.Default {
			continue
		}
		for _, en := range english {
			if strings.Contains(m.Text, en) || strings.Contains(m.HTML, en) {
				t.Errorf("%s: the email still says %q:\n%s", lang, en, m.Text)
			}
		}
	}
}
