package templates

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/herald-status/herald/store"
)

// Labels are a console form's fields, by the names the store gives them,
// as the form labels them. The form writes its labels from here and the
// console words its errors from here, so that a message names a field as
// the commander sees it: "Title is required", not "name is required".
// A key with a "*" stands for a row number ("actions.*.owner"); its label
// has a %d for the row as people count it, from 1.
type Labels map[string]string

var (
	// IncidentLabels: opening an incident, posting an update, publishing a
	// draft.
	IncidentLabels = Labels{
		"name": "Title", "status": "Status", "impact": "Impact", "body": "Message", "internal_note": "Internal note", "pages": "Shown on",
		"components": "Affected components", "next_update_at": "Promise the next update", "template": "Template",
		"started_at": "Impact began",
	}
	// CorrectionLabels: correcting or deleting an update.
	CorrectionLabels = Labels{"body": "Message", "reason": "Why it is being deleted"}
	PostmortemLabels = Labels{
		"body": "Summary", "root_cause": "Root cause", "resolution": "Resolution", "actions": "Corrective actions",
		"actions.*.done": "Action %d done", "actions.*.description": "Action %d", "actions.*.owner": "Action %d owner",
		"actions.*.due_date": "Action %d due date",
	}
	TemplateLabels = Labels{"name": "Name", "title": "Incident title", "status": "Status", "impact": "Impact", "body": "Message"}
	// MaintenanceLabels: scheduling and changing a window; "tz" is the
	// time zone its times are written in.
	MaintenanceLabels = Labels{
		"name": "Title", "body": "Message", "scheduled_for": "Starts", "scheduled_until": "Ends", "tz": "Time zone",
		"components": "Components it will affect", "status": "Status", "remind_before_minutes": "Remind subscribers before it starts", "pages": "Shown on",
	}
	ComponentLabels  = Labels{"name": "Name", "description": "Description", "group_id": "Group", "status": "Status", "internal": "Internal"}
	GroupLabels      = Labels{"name": "Name", "description": "Description"}
	PageLabels       = Labels{"name": "Name", "slug": "Address", "host": "Host name", "components": "What it shows", "groups": "Groups", "access": "Who may see it", "ip_ranges": "IP ranges", "viewers": "Viewers by email"}
	UserLabels       = Labels{"email": "Email", "name": "Name", "role": "Role"}
	TokenLabels      = Labels{"name": "What it is for", "user_id": "Owner", "role": "Role"}
	SubscriberLabels = Labels{"email": "Email", "page_id": "Page", "components": "Components to hear about"}
	WebhookLabels    = Labels{
		"url": "URL", "description": "Description", "audience": "Who it is for", "events": "Events",
		"components": "Components", "format": "Format",
	}
	AccountLabels   = Labels{"current_password": "Current password", "new_password": "New password"}
	TwoFactorLabels = Labels{"code": "Code"}
	// SettingsLabels: the escalation policy. The publish_after rows sit in
	// a fieldset whose legend says what they are.
	SettingsLabels = settingsLabels()
)

// publishAfterLegend is the legend of the settings' publish_after rows.
const publishAfterLegend = "Publish the holding statement by itself after"

func settingsLabels() Labels {
	l := Labels{
		"remind_after":     "Remind the team of a draft after",
		"stale_after":      "Flag an open incident with no update, and none promised, after",
		"holding_template": "The holding statement",
	}
	for _, impact := range store.Impacts {
		label := impact.Label() // "No impact" says it already
		if !strings.HasSuffix(strings.ToLower(label), "impact") {
			label += " impact"
		}
		l["publish_after."+string(impact)] = label
	}
	return l
}

var rowNumber = regexp.MustCompile(`\.(\d+)\.`)

// Of is the label of field; a field the form does not list reads as its
// name in words.
func (l Labels) Of(field string) string {
	if label, ok := l[field]; ok {
		return label
	}
	if m := rowNumber.FindStringSubmatchIndex(field); m != nil {
		n, _ := strconv.Atoi(field[m[2]:m[3]])
		if label, ok := l[field[:m[0]]+".*."+field[m[1]:]]; ok {
			return fmt.Sprintf(label, n+1)
		}
	}
	words := strings.ReplaceAll(field[strings.LastIndex(field, ".")+1:], "_", " ")
	if words == "" {
		return ""
	}
	return strings.ToUpper(words[:1]) + words[1:]
}

// Message words a problem with field as the form shows it: the field's
// label, then the store's words, in which other fields of the form are
// named by their labels too. "is required" on "name" of the incident form
// reads "Title is required"; "must be after scheduled_for" on
// "scheduled_until" reads "Ends must be after “Starts”".
func (l Labels) Message(field, msg string) string {
	for other := range l {
		if strings.Contains(other, "_") && !strings.Contains(other, "*") {
			msg = replaceWord(msg, other, "“"+l.Of(other)+"”")
		}
	}
	label := l.Of(field)
	switch {
	case label == "":
		return upperFirst(msg)
	case strings.HasPrefix(msg, "is ") || strings.HasPrefix(msg, "must ") || strings.HasPrefix(msg, "has "):
		return label + " " + msg
	}
	return label + ": " + msg
}

// replaceWord replaces word in s where it stands alone (not inside a
// longer name).
func replaceWord(s, word, with string) string {
	re := regexp.MustCompile(`(^|[^A-Za-z0-9_.])` + regexp.QuoteMeta(word) + `($|[^A-Za-z0-9_])`)
	return re.ReplaceAllString(s, "${1}"+strings.ReplaceAll(with, "$", "$$")+"${2}")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
