package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// chatMessage is what a job says in a chat, before any chat's markup: each
// format (one file each, chat_*.go) lays the same words out its own way.
type chatMessage struct {
	Page     string // the page's name; "… team" for team messages
	Title    string // the incident, maintenance or component
	Status   string // its status after the change; "" for none
	Intro    string // one sentence: what changed
	Facts    []chatFact
	Body     string // the update's Markdown
	Link     string
	LinkText string
	// Unsubscribe is a visitor's chat subscription's unsubscribe link,
	// shown beside Link; "" for an operator's webhook.
	Unsubscribe string
	Tone        chatTone
	At          time.Time
}

// chatFact is a labelled value shown beside the text: the impact, the
// components and their statuses, a maintenance window.
type chatFact struct{ Name, Value string }

// chatTone is the colour a chat gives the message. It never carries
// meaning alone: the status is always written out as well.
type chatTone int

const (
	toneNeutral chatTone = iota
	toneGood
	toneMinor
	toneMajor
	toneCritical
	toneMaintenance
)

// rgb is the tone as a colour, the page's own palette.
func (t chatTone) rgb() int {
	switch t {
	case toneGood:
		return 0x2e7d32
	case toneMinor:
		return 0xf9a825
	case toneMajor:
		return 0xef6c00
	case toneCritical:
		return 0xc62828
	case toneMaintenance:
		return 0x1565c0
	}
	return 0x607d8b
}

func (t chatTone) hex() string { return fmt.Sprintf("#%06x", t.rgb()) }

func impactTone(i store.Impact) chatTone {
	switch i {
	case store.ImpactMinor:
		return toneMinor
	case store.ImpactMajor:
		return toneMajor
	case store.ImpactCritical:
		return toneCritical
	}
	return toneNeutral
}

// maxChatComponents is how many components a message names before it says
// "and N more": a long list would push the text itself out of view.
const maxChatComponents = 10

// componentsFact lists the components a change touches with their status.
func componentsFact(cs []store.Component) []chatFact {
	if len(cs) == 0 {
		return nil
	}
	var parts []string
	for i, c := range cs {
		if i == maxChatComponents {
			parts = append(parts, fmt.Sprintf("and %d more", len(cs)-i))
			break
		}
		parts = append(parts, c.Name+": "+c.Status.Label())
	}
	return []chatFact{{Name: "Components", Value: strings.Join(parts, "\n")}}
}

// chatMessageOf words a public job for the chats.
//
// site is the page whose news it is: its name, and its address for links.
func (d *Dispatcher) chatMessageOf(job store.Job, site templates.Site) (chatMessage, error) {
	p, base := job.Payload, site.BaseURL
	m := chatMessage{Page: site.Name, Intro: jobIntro(context.Background(), job), LinkText: "View on the status page", At: job.CreatedAt}
	switch {
	case p.Incident != nil:
		inc := p.Incident
		m.Title, m.Status, m.Link = inc.Name, inc.Status.Label(), base+"/incidents/"+inc.ID
		m.Facts = append([]chatFact{{Name: "Status", Value: inc.Status.Label()}, {Name: "Impact", Value: inc.Impact.Label()}}, componentsFact(p.Components)...)
		m.Tone = impactTone(inc.Impact)
		if inc.Status == store.Resolved {
			m.Tone = toneGood
		}
		if len(inc.Updates) > 0 {
			m.Body, m.At = inc.Updates[0].Body, inc.Updates[0].CreatedAt
		}
		switch {
		case p.Correction != nil:
			m.Status, m.Body, m.At = "Correction", p.Correction.Body, p.Correction.CreatedAt
		case job.Kind == store.JobPostmortemPublished:
			m.Status, m.LinkText = "Postmortem published", "Read the postmortem"
			if inc.Postmortem != nil {
				m.Body, m.At = inc.Postmortem.Body, inc.Postmortem.PublishedAt
			}
		}
	case p.Maintenance != nil:
		mt := p.Maintenance
		m.Title, m.Status, m.Link, m.Tone = "Maintenance: "+mt.Name, mt.Status.Label(), base+"/maintenance/"+mt.ID, toneMaintenance
		window := mt.ScheduledFor.UTC().Format("Mon 2 Jan 2006 15:04") + " – " + mt.ScheduledUntil.UTC().Format("15:04 UTC")
		if !sameDay(mt.ScheduledFor, mt.ScheduledUntil) {
			window = mt.ScheduledFor.UTC().Format("Mon 2 Jan 2006 15:04") + " – " + mt.ScheduledUntil.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
		}
		m.Facts = append([]chatFact{{Name: "Status", Value: mt.Status.Label()}, {Name: "Window", Value: window}}, componentsFact(p.Components)...)
		if job.Kind == store.JobMaintenanceCompleted {
			m.Tone = toneGood
		}
		if len(mt.Updates) > 0 {
			m.Body = mt.Updates[0].Body
		}
	case p.Component != nil:
		c := p.Component
		m.Title, m.Status, m.Link = c.Name, c.Status.Label(), base+"/"
		m.Intro = fmt.Sprintf("%s is now %s (was %s).", c.Name, c.Status.Label(), p.OldStatus.Label())
		m.Facts = []chatFact{{Name: "Status", Value: c.Status.Label()}, {Name: "Was", Value: p.OldStatus.Label()}}
		m.Tone = impactTone(c.Status.Impact())
		if c.Status == store.Operational {
			m.Tone = toneGood
		}
		if c.Status == store.UnderMaintenance {
			m.Tone = toneMaintenance
		}
	default:
		return chatMessage{}, fmt.Errorf("job %d: %s has nothing to tell by webhook", job.ID, job.Kind)
	}
	return m, nil
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}

// teamChatMessage words a team job: to the team's own chat, linking to the
// console page to act on.
func teamChatMessage(page string, inc *store.Incident, m teamMessage, at time.Time) chatMessage {
	status := inc.Status.Label()
	if inc.Draft {
		status = "Draft"
	}
	return chatMessage{
		Page: page + " team", Title: m.headline, Status: status, Intro: m.intro, Body: m.body,
		Facts: []chatFact{{Name: "Incident", Value: inc.Name}, {Name: "Status", Value: status}, {Name: "Impact", Value: inc.Impact.Label()}},
		Link:  m.link, LinkText: "Open it in the console", Tone: impactTone(inc.Impact), At: at,
	}
}

// chatFormats renders a message in every chat format, keyed by the
// webhook's format value.
func chatFormats(m chatMessage) (map[string][]byte, error) {
	out := make(map[string][]byte, len(chatRenderers))
	for format, render := range chatRenderers {
		b, err := render(m)
		if err != nil {
			return nil, fmt.Errorf("%s body: %w", format, err)
		}
		out[format] = b
	}
	return out, nil
}

// chatRenderers is each chat format's one home.
var chatRenderers = map[string]func(chatMessage) ([]byte, error){
	store.FormatSlack:      slackBody,
	store.FormatTeams:      teamsBody,
	store.FormatDiscord:    discordBody,
	store.FormatGoogleChat: googleChatBody,
	store.FormatMattermost: mattermostBody,
}

// linkLine is the message's link, and the unsubscribe link after it when
// it has one, in a chat's markup.
func linkLine(mk *chatMarkup, m chatMessage) string {
	l := mk.link(m.Link, mk.escape(m.LinkText))
	if m.Unsubscribe != "" {
		l += " · " + mk.link(m.Unsubscribe, mk.escape(unsubscribeText))
	}
	return l
}

const unsubscribeText = "Unsubscribe this channel"

// readMore is the link that ends a message cut to fit.
func readMore(mk *chatMarkup, link string) string { return mk.link(link, mk.escape("Read more")) }
