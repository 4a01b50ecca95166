package templates

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/herald-status/herald/templates/i18n"
)

// EmailView is one notification email, for both its plain-text and HTML
// parts. The web package never sees it; the notify package fills it in.
type EmailView struct {
	Site Site
	// Kind is the notification kind (store.Job* constants).
	Kind string
	// Heading is what the email is about: the incident or maintenance name.
	Heading string
	// Status is where it stands now, in words: "Resolved", "In progress".
	Status string
	// Intro is one sentence saying what happened: "A new incident was opened."
	Intro string
	// Body is the commander's message, Markdown.
	Body string
	// InternalNote goes beside it to a private page's subscribers ("" for
	// everyone else: the sender leaves it out).
	InternalNote string
	Components   []EmailComponent
	// Window is the maintenance window, zero otherwise.
	From, Until time.Time
	At          time.Time // when it was posted
	LinkURL     string    // the incident or maintenance page
	LinkText    string
	// Subscription links; empty for the confirmation email's manage links.
	ConfirmURL     string
	ManageURL      string
	UnsubscribeURL string
	// Team marks an email to a commander or admin about the team's work
	// (a draft waiting, an incident overdue), not a subscriber's
	// notification; AccountURL is where they choose which they get.
	Team       bool
	AccountURL string
	// Account marks an email to a user about their own account (a reset
	// of their second factors), which they get whatever they chose.
	Account bool
	// ViewerSignIn marks a viewer's sign-in link to a private page
	// (Heading): ConfirmURL is the link, At when it stops working.
	ViewerSignIn bool
}

// EmailComponent is a component an email mentions, with its status in words.
type EmailComponent struct {
	Name   string
	Status string
}

// RenderEmail renders both parts of an email.
func RenderEmail(ctx context.Context, v EmailView) (text, html string, err error) {
	var t bytes.Buffer
	tmpl, err := emailText.Clone()
	if err != nil {
		return "", "", fmt.Errorf("templates: email text: %w", err)
	}
	// The words are the language's: ctx's, which the template reads.
	args := i18n.Args{"Page": StatusName(v.Site.Name), "Name": v.Heading}
	if v.ViewerSignIn {
		args["Until"] = i18n.FullTime(ctx, v.At)
	}
	tmpl.Funcs(template.FuncMap{
		"time": func(t time.Time) string { return i18n.FullTime(ctx, t) },
		"t":    func(id string) string { return i18n.T(ctx, id, args) },
	})
	if err := tmpl.Execute(&t, v); err != nil {
		return "", "", fmt.Errorf("templates: email text: %w", err)
	}
	var h bytes.Buffer
	if err := EmailHTML(v).Render(ctx, &h); err != nil {
		return "", "", fmt.Errorf("templates: email html: %w", err)
	}
	return t.String(), h.String(), nil
}

// The plain-text part is a text/template, not templ: templ escapes for HTML,
// and "&" must stay "&" in plain text. The Markdown body is sent as written;
// Markdown is made to read well as plain text.
var emailText = template.Must(template.New("email").Funcs(template.FuncMap{
	// time and t are replaced for each email (RenderEmail).
	"time":   func(t time.Time) string { return t.UTC().Format("Jan 2, 2006, 15:04 UTC") },
	"t":      func(id string) string { return id },
	"trim":   strings.TrimSpace,
	"status": StatusName,
}).Parse(`{{if .ViewerSignIn}}{{t "email.viewer_heading"}}.

{{t "email.viewer_open"}}: {{.ConfirmURL}}

{{t "email.viewer_until"}} {{t "email.viewer_ignore"}}
{{else if .ConfirmURL}}{{t "email.confirm_plain"}}

{{t "email.confirm_link"}}: {{.ConfirmURL}}

{{t "email.confirm_ignore"}}
{{else if eq .Kind "subscriber.reminder"}}{{t "email.reminder_plain"}}

{{t "email.reminder_manage"}}: {{.ManageURL}}
{{else}}{{.Heading}}
{{.Status}}{{if not .At.IsZero}} · {{time .At}}{{end}}

{{.Intro}}
{{if trim .Body}}
{{trim .Body}}
{{end}}{{if trim .InternalNote}}
Internal note (not on the public page):
{{trim .InternalNote}}
{{end}}{{if not .From.IsZero}}
{{t "email.scheduled"}} {{time .From}} – {{time .Until}}
{{end}}{{if .Components}}
{{t "email.affected"}}:
{{range .Components}}- {{.Name}}: {{.Status}}
{{end}}{{end}}
{{.LinkText}}: {{.LinkURL}}

--
{{if .Account}}You receive this because it is about your account on the {{.Site.Name}} console.
Your account: {{.AccountURL}}
{{else if .Team}}You receive this because you are a commander of the {{status .Site.Name}} page.
Choose which team emails you get: {{.AccountURL}}
{{else}}{{t "email.why"}}
{{t "email.manage"}}: {{.ManageURL}}
{{t "email.unsubscribe"}}: {{.UnsubscribeURL}}
{{end}}{{end}}`))
