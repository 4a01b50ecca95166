package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/herald-status/herald/store"
)

func sortedKeys(errs FormErrors) []string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldID turns a field name into the id part of its input ("actions.0.owner"
// becomes "actions-0-owner").
func fieldID(field string) string { return strings.NewReplacer(".", "-", ":", "-").Replace(field) }

// describedBy is the aria-describedby of a field: its error message, if any.
func describedBy(errs FormErrors, field string) string {
	if _, ok := errs[field]; ok {
		return "e-" + fieldID(field)
	}
	return ""
}

// prettyJSON indents an audit entry's before or after for reading.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

func actorKey(a store.Actor) string { return a.Type + ":" + a.ID }

func actorLabel(a store.Actor) string {
	switch a.Type {
	case "user":
		return a.Name + " (user)"
	case "token":
		return a.Name + " (API token)"
	case "cli":
		return a.Name + " (command line)"
	case "integration":
		return a.Name + " (integration)"
	case "system":
		return "Herald (automatic)"
	case "sso":
		return a.Name + " (single sign-on)"
	}
	return a.Name + " (" + a.Type + ")"
}

// nextMaintenanceStatuses are the statuses an update may move a window to:
// where it is, and forward.
func nextMaintenanceStatuses(cur store.MaintenanceStatus) []store.MaintenanceStatus {
	var out []store.MaintenanceStatus
	seen := false
	for _, s := range store.MaintenanceStatuses {
		if s == cur {
			seen = true
		}
		if seen {
			out = append(out, s)
		}
	}
	return out
}

func tokenState(t store.APIToken) string {
	if t.RevokedAt != nil {
		return "Revoked"
	}
	return "Active"
}

func userState(u store.User) string {
	if !u.Active() {
		return "Disabled"
	}
	if u.MustChangePassword {
		return "Active (one-time password not yet changed)"
	}
	return "Active"
}

func roleOrOwner(r store.Role) string {
	if r == "" {
		return "Owner's role"
	}
	return r.Label()
}

func groupLabel(g store.ComponentGroup) string {
	if g.ID == "" {
		return "Components not in a group"
	}
	return "Group " + g.Name
}

func templateTitle(tp store.IncidentTemplate) string {
	if tp.ID == "" {
		return "New template"
	}
	return "Template: " + tp.Name
}

func templateAction(tp store.IncidentTemplate) string {
	if tp.ID == "" {
		return "/console/templates"
	}
	return "/console/templates/" + tp.ID
}

// componentsText names the components a subscriber or webhook follows;
// none means every one.
func componentsText(ids []string, all map[string]store.Component) string {
	if len(ids) == 0 {
		return "All components"
	}
	if names := componentNames(ids, all); names != "" {
		return names
	}
	return "None that still exist"
}

// eventsText is a webhook's event filter; none means every event.
func eventsText(events []string) string {
	if len(events) == 0 {
		return "All events"
	}
	return strings.Join(events, ", ")
}

func subscriberStatusLabel(s store.SubscriberStatus) string {
	switch s {
	case store.SubscriberPending:
		return "Waiting for confirmation"
	case store.SubscriberConfirmed:
		return "Confirmed"
	case store.SubscriberUnsubscribed:
		return "Unsubscribed"
	case store.SubscriberSuspended:
		return "Suspended (bounced)"
	}
	return string(s)
}

func webhookStatusLabel(w store.Webhook) string {
	switch w.Status {
	case store.WebhookActive:
		return "Active"
	case store.WebhookPaused:
		return "Paused"
	case store.WebhookDisabled:
		if w.DisabledReason != "" {
			return "Disabled by Herald: " + w.DisabledReason
		}
		return "Disabled by Herald"
	}
	return string(w.Status)
}

// attemptResult is one delivery attempt's outcome in words.
func attemptResult(a store.WebhookAttempt) string {
	if a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 {
		return "Delivered"
	}
	if a.Error != "" {
		return "Failed: " + a.Error
	}
	return "Failed"
}

func statusCodeText(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n)
}

func latencyText(ms int64) string { return strconv.FormatInt(ms, 10) + " ms" }

func deliveryStateLabel(state string) string {
	switch state {
	case "pending":
		return "Waiting to be sent"
	case "sending":
		return "Sending"
	case "sent":
		return "Delivered"
	case "failed":
		return "Failed for good"
	case "skipped":
		return "Skipped (paused or disabled)"
	}
	return state
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// draftsBadge counts the drafts waiting on the dashboard, for its link in
// the navigation: a draft nobody sees is an alert nobody tells.
func draftsBadge(c Console) string {
	switch c.Drafts {
	case 0:
		return ""
	case 1:
		return "1 draft"
	}
	return strconv.Itoa(c.Drafts) + " drafts"
}

// currentPage marks the navigation link of the page being shown.
func currentPage(current bool) templ.Attributes {
	if current {
		return templ.Attributes{"aria-current": "page"}
	}
	return nil
}

// Ago is how long before now t was, in words read at a glance:
// "just now", "4 min ago", "2 h 5 min ago", "3 days ago".
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + " h ago"
		}
		return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min ago"
	}
	days := int(d / (24 * time.Hour))
	if days == 1 {
		return "a day ago"
	}
	return strconv.Itoa(days) + " days ago"
}

// SourceName is who proposed a draft, as a commander reads it.
func SourceName(source string) string {
	if source == "alertmanager" {
		return "Alertmanager"
	}
	return source
}

// labelsText lists an alert's labels, alertname first.
func labelsText(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "alertname" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, " ")
}

// promiseChoices are the console's "next update" choices: the page then
// says "Next update by …", and the dashboard marks the incident overdue
// when the time passes without one.
var promiseChoices = []struct{ Minutes, Label string }{
	{"", "No promise"}, {"15", "Within 15 minutes"}, {"30", "Within 30 minutes"}, {"60", "Within an hour"}, {"120", "Within 2 hours"}, {"240", "Within 4 hours"},
}

// chartBar is one month's bars, laid out in the chart's 120-pixel height.
type chartBar struct {
	X, WorstY, WorstH, MedianY, MedianH int
	Label, Scale                        string
}

func chartWidth(months int) int { return max(200, months*60+20) }

// chartBars scales the months' worst and median time to public to the
// tallest worst.
func chartBars(months []store.ClockMonth) []chartBar {
	tallest := time.Minute
	for _, m := range months {
		tallest = max(tallest, m.WorstToPublic)
	}
	h := func(d time.Duration) int { return max(1, int(110*d/tallest)) }
	out := make([]chartBar, len(months))
	for i, m := range months {
		wh, mh := h(m.WorstToPublic), h(m.MedianToPublic)
		out[i] = chartBar{X: 20 + i*60, WorstY: 120 - wh, WorstH: wh, MedianY: 120 - mh, MedianH: mh,
			Label: m.Month.Format("Jan"), Scale: "top: " + HumanDuration(tallest)}
	}
	return out
}

// orDash is a duration, or a dash for none.
func orDash(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return HumanDuration(d)
}

// clockSummary says an incident's time to tell in a sentence.
func clockSummary(c store.IncidentClock) string {
	s := "First public update " + HumanDuration(c.ToPublic()) + " after the impact began"
	if d, ok := c.ToFirstDelivery(); ok {
		return s + "; first subscriber reached " + HumanDuration(d) + " after it."
	}
	return s + "; no subscriber reached yet."
}

// CommunicationTimeline is an incident's time to tell as Markdown, for a
// postmortem's first draft.
func CommunicationTimeline(c store.IncidentClock) string {
	var b strings.Builder
	b.WriteString("## Communication timeline\n\n")
	line := func(label string, at *time.Time) {
		if at == nil {
			return
		}
		fmt.Fprintf(&b, "- %s: %s", at.UTC().Format("Jan 2, 15:04 UTC"), label)
		if d := at.Sub(c.ImpactBegan); d >= time.Minute {
			fmt.Fprintf(&b, " (%s after the impact began)", HumanDuration(d))
		}
		b.WriteString("\n")
	}
	line("first signal (alert)", c.FirstSignal)
	line("impact began", &c.ImpactBegan)
	line("draft opened", c.DraftCreated)
	line("first public update", &c.FirstPublic)
	line("first subscriber reached", c.FirstDelivery)
	line("last notification delivered", c.LastDelivery)
	line("resolved", c.Resolved)
	b.WriteString("\n" + clockSummary(c) + "\n")
	return b.String()
}

// audienceLabel says who a webhook speaks for.
func audienceLabel(a string) string {
	if a == store.AudienceTeam {
		return "The team"
	}
	return "Subscribers"
}

// Chip tones: a status's colour in the console, always beside its words.
const (
	toneOK       = "tone-ok"
	toneDegraded = "tone-degraded"
	tonePartial  = "tone-partial"
	toneMajor    = "tone-major"
	toneMaint    = "tone-maint"
	toneNeutral  = "tone-neutral"
)

func componentTone(s store.ComponentStatus) string {
	switch s {
	case store.Operational:
		return toneOK
	case store.DegradedPerformance:
		return toneDegraded
	case store.PartialOutage:
		return tonePartial
	case store.MajorOutage:
		return toneMajor
	case store.UnderMaintenance:
		return toneMaint
	}
	return toneNeutral
}

// incidentTone follows Statuspage's colours: red while investigating,
// orange once identified, blue while monitoring, green when resolved.
func incidentTone(s store.IncidentStatus) string {
	switch s {
	case store.Investigating:
		return toneMajor
	case store.Identified:
		return tonePartial
	case store.Monitoring:
		return toneMaint
	case store.Resolved:
		return toneOK
	}
	return toneNeutral
}

func impactTone(i store.Impact) string {
	switch i {
	case store.ImpactCritical:
		return toneMajor
	case store.ImpactMajor:
		return tonePartial
	case store.ImpactMinor:
		return toneDegraded
	}
	return toneNeutral
}

func maintenanceTone(s store.MaintenanceStatus) string {
	if s == store.MaintenanceCompleted {
		return toneOK
	}
	return toneMaint
}

func subscriberTone(s store.SubscriberStatus) string {
	switch s {
	case store.SubscriberConfirmed:
		return toneOK
	case store.SubscriberPending:
		return toneDegraded
	case store.SubscriberSuspended:
		return toneMajor
	}
	return toneNeutral
}

func webhookTone(w store.Webhook) string {
	switch w.Status {
	case store.WebhookActive:
		return toneOK
	case store.WebhookDisabled:
		return toneMajor
	}
	return toneNeutral
}

func deliveryTone(state string) string {
	switch state {
	case "sent":
		return toneOK
	case "failed":
		return toneMajor
	case "pending", "sending":
		return toneDegraded
	}
	return toneNeutral
}

func tokenTone(t store.APIToken) string {
	if t.RevokedAt != nil {
		return toneNeutral
	}
	return toneOK
}

func userTone(u store.User) string {
	switch {
	case !u.Active():
		return toneNeutral
	case u.MustChangePassword:
		return toneDegraded
	}
	return toneOK
}

// webhookName is how the console names an endpoint: its description, or
// its URL when it has none.
func webhookName(w store.Webhook) string {
	if w.Description != "" {
		return w.Description
	}
	return w.URL
}

// holdReason is a hold's reason as the end of a sentence: ": checking
// with payments", or nothing.
func holdReason(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// formatLabel names a webhook format for people.
func formatLabel(f string) string {
	switch f {
	case store.FormatStatuspage:
		return "Statuspage-compatible JSON"
	case store.FormatSlack:
		return "Slack (Block Kit; Mattermost and Discord’s /slack show its text)"
	case store.FormatTeams:
		return "Microsoft Teams (Workflows webhook, Adaptive Card)"
	case store.FormatDiscord:
		return "Discord (embeds)"
	case store.FormatGoogleChat:
		return "Google Chat (cards)"
	case store.FormatMattermost:
		return "Mattermost (attachments)"
	}
	return f
}

// ssoName is the provider's name, or a plain phrase when Herald no longer
// knows it (a user linked before single sign-on was turned off).
func ssoName(name string) string {
	if name == "" {
		return "your organisation's single sign-on"
	}
	return name
}

// joinNames lists names for a sentence: "A, B, C".
func joinNames(names []string) string { return strings.Join(names, ", ") }
