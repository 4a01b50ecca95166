package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// Every delivery of a job gets the same email but for its subscription
// links. The job is rendered and encoded once with these stand-ins where
// the tokens go; each message puts its tokens in their place. A stand-in
// has a token's length and alphabet, so the encoded text around it is the
// same either way. They are random per process so that no commander's text
// can contain them.
var (
	manageStandIn  = "M" + randomHex(18)[:tokenLength-1]
	confirmStandIn = "C" + randomHex(18)[:tokenLength-1]
)

// tokenLength is the length of a subscriber link token (see store).
const tokenLength = 37

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// emailTemplate is a job's email, rendered once.
type emailTemplate struct {
	subject string
	text    string
	html    string
	// thread is the Message-ID stem every message about the same incident
	// or maintenance refers to ("incident.<id>"); "" for no thread.
	thread string
	// opensThread marks the message that starts the thread: its own
	// Message-ID is the thread's root.
	opensThread bool
	// list marks a notification (with List-Unsubscribe), as opposed to a
	// message about the subscription itself.
	list bool
	// base is the address of the page whose subscribers get it.
	base string
	// boundary and body are the MIME body, both parts encoded, cut where
	// the tokens go.
	boundary string
	body     []bodySegment
	// head is the header fields every message of the job has alike.
	head []byte
}

// bodySegment is encoded text followed by a token slot (or none, last).
type bodySegment struct {
	text []byte
	slot int // 0 for the manage token, 1 for the confirmation token, -1 after the last
	// breaks are the offsets within the token where the encoder put soft
	// line breaks ("=\r\n") into the stand-in.
	breaks []int
}

// Link paths; the web package serves them.
const (
	ConfirmPath     = "/subscriptions/confirm/"
	ManagePath      = "/subscriptions/manage/"
	UnsubscribePath = "/subscriptions/unsubscribe/"
)

// pageEmail is a job's email as one page's subscribers get it.
type pageEmail struct {
	once sync.Once
	t    *emailTemplate
	err  error
}

// template is the job's email for the subscribers of the page with id
// ("" the default page, and everyone who is not a subscriber) who read
// lang ("" the page's default language): rendered once for each.
func (s *emailSender) template(ctx context.Context, job *preparedJob, page, lang string) (*emailTemplate, error) {
	key := page + "\x00" + lang
	job.emailMu.Lock()
	pe := job.emails[key]
	if pe == nil {
		if job.emails == nil {
			job.emails = map[string]*pageEmail{}
		}
		pe = &pageEmail{}
		job.emails[key] = pe
	}
	job.emailMu.Unlock()
	pe.once.Do(func() {
		site, private, pageLang, err := s.d.pageSite(ctx, page)
		if err != nil {
			pe.err = fmt.Errorf("job %d: %w", job.ID, err)
			return
		}
		sc, err := s.d.st.PageScope(ctx, page)
		if err != nil {
			pe.err = fmt.Errorf("job %d: %w", job.ID, err)
			return
		}
		if lang == "" {
			lang = pageLang
		}
		pe.t, pe.err = s.render(ctx, asPageShows(job.Job, sc), site, private, lang)
	})
	return pe.t, pe.err
}

// pageSite is the name and address of the page with id ("" the default
// page), which its subscribers' emails carry: the subject, the links, the
// branding; and
// whether it is for some people only, whose subscribers read the internal
// notes it shows; and its default language, its subscribers' emails'.
func (d *Dispatcher) pageSite(ctx context.Context, id string) (templates.Site, bool, string, error) {
	site, private := templates.Site{Name: d.cfg.PageName, BaseURL: d.cfg.BaseURL}, false
	if id != "" {
		p, err := d.st.GetPage(ctx, id)
		if err != nil {
			return templates.Site{}, false, "", err
		}
		site, private = templates.Site{Name: p.Name, BaseURL: p.URL(d.cfg.BaseURL)}, p.Private()
	}
	// Without its branding the email still goes, in Herald's colours: a
	// branding that cannot be read must not hold up word of an incident.
	brand, err := d.st.GetBranding(ctx, id)
	if err != nil {
		d.log.Warn("email without the page's branding", "page", id, "err", err)
	}
	site.Brand = templates.EmailBrand(brand, site.BaseURL)
	return site, private, brand.Offered()[0], nil
}

// render builds the email for a job from the templates, for the
// subscribers of the page site. Team and account emails are Herald's own:
// their links go to the console, at the base URL.
// The job is as the page shows it (asPageShows).
//
// A subscriber's email is in lang, the page's language; a viewer's
// sign-in link in the language the visitor asked for it in (the page's,
// for a job queued before links carried one); the team's and an account's
// are Herald's own, in English.
func (s *emailSender) render(ctx context.Context, job store.Job, site templates.Site, private bool, lang string) (*emailTemplate, error) {
	base, page := site.BaseURL, site.Name
	if job.Kind == store.JobViewerLink && job.Payload.Viewer != nil && i18n.Shipped(job.Payload.Viewer.Language) {
		lang = job.Payload.Viewer.Language
	}
	if !store.IsTeamKind(job.Kind) && !store.IsAccountKind(job.Kind) {
		ctx = i18n.With(ctx, lang)
	}
	tr := func(id string, args ...i18n.Args) string { return i18n.T(ctx, id, args...) }
	v := templates.EmailView{
		Site:           site,
		Kind:           job.Kind,
		ManageURL:      base + ManagePath + manageStandIn,
		UnsubscribeURL: base + UnsubscribePath + manageStandIn,
	}
	t := &emailTemplate{list: true, base: base}
	p := job.Payload
	for _, c := range p.Components {
		v.Components = append(v.Components, templates.EmailComponent{Name: c.Name, Status: templates.StatusLabel(ctx, c.Status)})
	}
	switch {
	case store.IsTeamKind(job.Kind):
		// To the team: no unsubscribe list, no subscription links, a way to
		// the account page and the console page to act on.
		m, err := s.d.teamWords(job)
		if err != nil {
			return nil, err
		}
		inc := p.Incident
		t.subject, t.list = "["+page+" team] "+m.headline, false
		v.Team, v.AccountURL, v.ManageURL, v.UnsubscribeURL = true, s.d.cfg.BaseURL+"/console/account", "", ""
		v.Heading, v.Status, v.Intro, v.Body = inc.Name, inc.Status.Label(), m.intro, m.body
		if inc.Draft {
			v.Status = "Draft · " + inc.Impact.Label() + " impact"
		}
		v.LinkURL, v.LinkText = m.link, "Open it in the console"
		if len(inc.Updates) > 0 {
			v.At = inc.Updates[0].CreatedAt
		}
	case store.IsAccountKind(job.Kind):
		// To one user about their own account: no list, no subscription.
		a := p.Account
		if a == nil {
			return nil, fmt.Errorf("job %d: %s carries no notice", job.ID, job.Kind)
		}
		t.subject, t.list = "["+page+"] "+accountHeadline(job.Kind), false
		v.Account, v.AccountURL, v.ManageURL, v.UnsubscribeURL = true, s.d.cfg.BaseURL+"/console/account", "", ""
		v.Heading, v.Status, v.Intro, v.At = accountHeadline(job.Kind), "Security notice", accountIntro(job.Kind, *a), a.At
		v.LinkURL, v.LinkText = s.d.cfg.BaseURL+"/console/account/two-factor", "Add a second factor again"
	case job.Kind == store.JobViewerLink:
		// A viewer's sign-in link to a private page: to that address only.
		vn := p.Viewer
		if vn == nil {
			return nil, fmt.Errorf("job %d: %s carries no link", job.ID, job.Kind)
		}
		t.subject, t.list = tr("email.subject_viewer", i18n.Args{"Name": vn.Page}), false
		v.ViewerSignIn, v.ManageURL, v.UnsubscribeURL = true, "", ""
		v.Heading, v.At = vn.Page, vn.ExpiresAt
		v.ConfirmURL = vn.LinkBase + store.ViewerLinkPath + confirmStandIn
		if vn.Next != "" {
			v.ConfirmURL += "?next=" + url.QueryEscape(vn.Next)
		}
	case job.Kind == store.JobSubscriberConfirm:
		t.subject, t.list = tr("email.subject_confirm", i18n.Args{"Page": page}), false
		v.ConfirmURL = base + ConfirmPath + confirmStandIn
	case job.Kind == store.JobSubscriberReminder:
		t.subject, t.list = tr("email.subject_reminder", i18n.Args{"Page": page}), false
	case p.Incident != nil:
		inc := p.Incident
		t.subject, t.thread = "["+page+"] "+inc.Name, "incident."+inc.ID
		t.opensThread = job.Kind == store.JobIncidentCreated
		v.Heading, v.Status = inc.Name, templates.IncidentStatusLabel(ctx, inc.Status)
		v.LinkURL, v.LinkText = base+"/incidents/"+inc.ID, tr("email.view_incident")
		if len(inc.Updates) > 0 {
			v.Body, v.At = inc.Updates[0].Body, inc.Updates[0].CreatedAt
			if private {
				v.InternalNote = inc.Updates[0].InternalNote
			}
		}
		v.Intro = jobIntro(ctx, job)
		switch {
		case p.Correction != nil:
			// A message subscribers were sent was wrong: say so first, and
			// give the corrected text of that update, not the newest one.
			t.subject = "[" + page + "] " + tr("email.subject_correction", i18n.Args{"Name": inc.Name})
			v.Body, v.At, v.InternalNote = p.Correction.Body, p.Correction.CreatedAt, ""
		case job.Kind == store.JobPostmortemPublished:
			v.Status, v.InternalNote = tr("email.postmortem"), ""
			if inc.Postmortem != nil {
				v.Body, v.At = inc.Postmortem.Body, inc.Postmortem.PublishedAt
			}
			v.LinkText = tr("email.read_postmortem")
		}
	case p.Maintenance != nil:
		m := p.Maintenance
		t.subject, t.thread = "["+page+"] "+tr("email.subject_maintenance", i18n.Args{"Name": m.Name}), "maintenance."+m.ID
		if job.Kind == store.JobMaintenanceReminder {
			t.subject = "[" + page + "] " + tr("email.subject_maintenance_reminder", i18n.Args{"Name": m.Name, "At": i18n.ShortTime(ctx, m.ScheduledFor)})
		}
		t.opensThread = job.Kind == store.JobMaintenanceScheduled
		v.Heading, v.Status = m.Name, templates.MaintenanceStatusLabel(ctx, m.Status)
		v.From, v.Until = m.ScheduledFor, m.ScheduledUntil
		v.LinkURL, v.LinkText = base+"/maintenance/"+m.ID, tr("email.view_maintenance")
		if len(m.Updates) > 0 {
			v.Body, v.At = m.Updates[0].Body, m.Updates[0].CreatedAt
		}
		v.Intro = jobIntro(ctx, job)
	default:
		return nil, fmt.Errorf("job %d: %s has nothing to tell by email", job.ID, job.Kind)
	}
	// Names reach the Subject header: line breaks in one must not end it.
	t.subject = strings.Join(strings.Fields(t.subject), " ")
	text, html, err := templates.RenderEmail(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", job.ID, err)
	}
	t.text, t.html = text, html
	t.boundary = "herald-" + randomHex(12)
	var b bytes.Buffer
	if err := writeParts(&b, t.boundary, text, html); err != nil {
		return nil, fmt.Errorf("job %d: %w", job.ID, err)
	}
	t.body = cutAtStandIns(b.Bytes())
	if t.head, err = s.header(t); err != nil {
		return nil, fmt.Errorf("job %d: %w", job.ID, err)
	}
	return t, nil
}

// writeParts writes the multipart/alternative body: plain text, then HTML,
// each quoted-printable.
func writeParts(b *bytes.Buffer, boundary, text, html string) error {
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", text},
		{"text/html; charset=utf-8", html},
	} {
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString("Content-Type: " + part.ctype + "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		qp := quotedprintable.NewWriter(b)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return err
		}
		if err := qp.Close(); err != nil {
			return err
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return nil
}

// cutAtStandIns splits an encoded body at each stand-in, noting where soft
// line breaks fell inside it.
func cutAtStandIns(enc []byte) []bodySegment {
	var out []bodySegment
	last := 0
	for i := 0; i < len(enc); i++ {
		for slot, standIn := range []string{manageStandIn, confirmStandIn} {
			if enc[i] != standIn[0] {
				continue
			}
			end, breaks, ok := matchSoftBroken(enc, i, standIn)
			if !ok {
				continue
			}
			out = append(out, bodySegment{text: enc[last:i], slot: slot, breaks: breaks})
			last, i = end, end-1
			break
		}
	}
	return append(out, bodySegment{text: enc[last:], slot: -1})
}

// matchSoftBroken matches s at enc[i:], allowing "=\r\n" between its bytes.
func matchSoftBroken(enc []byte, i int, s string) (end int, breaks []int, ok bool) {
	k := i
	for j := 0; j < len(s); {
		if k+3 <= len(enc) && j > 0 && string(enc[k:k+3]) == "=\r\n" {
			breaks = append(breaks, j)
			k += 3
			continue
		}
		if k >= len(enc) || enc[k] != s[j] {
			return 0, nil, false
		}
		j, k = j+1, k+1
	}
	return k, breaks, true
}

// message builds one delivery's email: headers and a multipart/alternative
// body with the plain-text and HTML parts.
func (s *emailSender) message(ctx context.Context, job *preparedJob, dl store.Delivery, now time.Time) ([]byte, error) {
	return s.appendMessage(ctx, nil, job, dl, now)
}

// appendMessage is message written at the end of buf, which a worker
// reuses from one batch to the next. What every message of a job shares —
// most of the header and the encoded body — was made once, with the
// template; here go the recipient, the date, the ids and the link tokens.
func (s *emailSender) appendMessage(ctx context.Context, buf []byte, job *preparedJob, dl store.Delivery, now time.Time) ([]byte, error) {
	t, err := s.template(ctx, job, dl.PageID, dl.Language)
	if err != nil {
		return nil, err
	}
	to, err := parseMailbox("recipient", dl.Email)
	if err != nil {
		return nil, err
	}
	id := "<" + dl.IdempotencyID() + "@" + s.domain + ">"
	h := headerWriter{buf: buf}
	h.add("To", to.String())
	h.add("Date", now.UTC().Format(time.RFC1123Z))
	if t.thread != "" {
		// Each recipient's thread has its own root: the first message they
		// were sent about it. All later ones point at it, so mail clients
		// group them, and every Message-ID stays unique and stable.
		root := "<" + t.thread + "." + dl.RecipientID + "@" + s.domain + ">"
		if t.opensThread {
			id = root
		} else {
			h.add("In-Reply-To", root)
			h.add("References", root)
		}
	}
	h.add("Message-ID", id)
	if t.list {
		h.add("List-Unsubscribe", "<"+t.base+UnsubscribePath+dl.ManageToken+">")
	}
	h.add("X-Herald-Delivery", dl.IdempotencyID())
	if h.err != nil {
		return nil, h.err
	}
	b := append(h.buf, t.head...)
	b = append(b, "\r\n"...)
	tokens := [...]string{dl.ManageToken, dl.ConfirmToken}
	for _, seg := range t.body {
		b = append(b, seg.text...)
		if seg.slot < 0 {
			continue
		}
		tok := tokens[seg.slot]
		if len(tok) != tokenLength {
			return nil, fmt.Errorf("delivery %s: link token of %d characters, want %d", dl.IdempotencyID(), len(tok), tokenLength)
		}
		from := 0
		for _, at := range seg.breaks {
			b = append(b, tok[from:at]...)
			b = append(b, "=\r\n"...)
			from = at
		}
		b = append(b, tok[from:]...)
	}
	return b, nil
}

// header is the part of a job's header every message of it shares.
func (s *emailSender) header(t *emailTemplate) ([]byte, error) {
	var h headerWriter
	h.add("From", s.from.String())
	if s.replyTo != nil {
		h.add("Reply-To", s.replyTo.String())
	}
	h.addText("Subject", t.subject)
	if t.list {
		h.add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	h.add("Auto-Submitted", "auto-generated")
	h.add("MIME-Version", "1.0")
	h.add("Content-Type", `multipart/alternative; boundary="`+t.boundary+`"`)
	return h.buf, h.err
}

// headerWriter writes header fields, refusing any value with a line break.
type headerWriter struct {
	buf []byte
	err error
}

func (h *headerWriter) add(name, value string) {
	if h.err != nil {
		return
	}
	if err := noCRLF(name, value); err != nil {
		h.err = err
		return
	}
	h.field(name, value)
}

func (h *headerWriter) field(name, value string) {
	h.buf = append(h.buf, name...)
	h.buf = append(h.buf, ": "...)
	h.buf = append(h.buf, value...)
	h.buf = append(h.buf, "\r\n"...)
}

// addText adds unstructured text, checked before it is encoded and folded.
func (h *headerWriter) addText(name, value string) {
	if h.err != nil {
		return
	}
	if err := noCRLF(name, value); err != nil {
		h.err = err
		return
	}
	h.field(name, encodeHeader(value))
}

// encodeHeader encodes non-ASCII text as RFC 2047 words, folded between
// words so no line exceeds the limit. The fold is the one place a line
// break enters a header, after the value was checked.
func encodeHeader(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
