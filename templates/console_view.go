package templates

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// Console is what every console page knows: who is signed in, the CSRF
// token its forms carry, and where in the console it is.
type Console struct {
	Site    Site
	User    store.User
	CSRF    string
	Section string // "dashboard", "incidents", … for the current nav link
	Flash   string // a one-line confirmation after a change
	Drafts  int    // drafts waiting, shown in the navigation
	// ConsoleCSS and ConsoleJS are the console's own static files.
	ConsoleCSS string
	ConsoleJS  string
	PasskeyJS  string
}

// Can reports whether the signed-in user's role reaches need.
func (c Console) Can(need store.Role) bool { return c.User.Role.Allows(need) }

// FormErrors are a form's problems: "" for the form as a whole, else by field.
type FormErrors map[string]string

// Has reports whether there is any problem at all.
func (e FormErrors) Has() bool { return len(e) > 0 }

// LoginPage is the sign-in form.
type LoginPage struct {
	Site  Site
	CSRF  string
	Email string
	Next  string
	Error string
	CSS   string
	JS    string // passkey.js, for the passkey button
	// Passkeys is whether this console can use them (--base-url names a
	// domain, not an IP address).
	Passkeys bool
	SSO      SSOButton
}

// ForPage reports whether the visitor was sent to sign in from a private
// status page rather than from the console.
func (p LoginPage) ForPage() bool { return !strings.HasPrefix(p.Next, "/console") }

// SSOButton is "Sign in with {Name}" when single sign-on is configured.
type SSOButton struct {
	Name     string // empty: no single sign-on
	Href     string
	Required bool // passwords are for the break-glass admin only
}

// AccountPage is the signed-in user's own page: password and sessions.
type AccountPage struct {
	Console  Console
	Sessions []store.Session
	Current  string // the key of this browser's session
	Errors   FormErrors
	Must     bool // the password is one-time and must be changed now
	Factor   store.TwoFactor
	Passkeys []store.Passkey
	// PasskeysOff is why this console cannot use passkeys, if it cannot.
	PasskeysOff string
	// SSOName is the single sign-on provider's name, when there is one.
	SSOName string
}

// DashboardPage is the console's first page.
type DashboardPage struct {
	Console      Console
	Open         OpenIncidents
	Maintenance  []store.Maintenance
	Groups       []GroupView
	Components   map[string]store.Component
	Overall      store.PageStatus
	Notification *NotificationHealth // nil where notifications do not exist
	Drafts       []DraftCard
	Now          time.Time // the store's clock, for ages
}

// DraftCardsInFull is how many drafts the dashboard shows as cards with
// their alerts; the rest, in an alert storm, are one row each (each opens
// its own page with everything).
const DraftCardsInFull = 10

// DraftCard is a draft on the dashboard, with the alerts behind it.
type DraftCard struct {
	Draft  store.Incident
	Alerts []store.AlertInfo
}

// DraftForm is a draft's page: the alerts, and the publish form.
type DraftForm struct {
	IncidentForm
	Draft  store.Incident
	Alerts []store.AlertInfo
	Now    time.Time
	// RemindAt is when the escalation policy reminds the team of it;
	// PublishAt when it publishes the holding statement (nil: never).
	RemindAt  time.Time
	PublishAt *time.Time
}

// NotificationHealth summarises delivery for the dashboard.
type NotificationHealth struct {
	Queued           int
	Failed           int
	DisabledWebhooks int
}

// ComponentChoice is one component in a form that can change its status;
// New "" means "no change".
type ComponentChoice struct {
	Component store.Component
	New       store.ComponentStatus
	Checked   bool // for forms that pick components (maintenance)
}

// ChoiceGroup is a group's components in a form.
type ChoiceGroup struct {
	Name    string
	Choices []ComponentChoice
}

// IncidentForm is the one form that opens an incident or posts an update.
type IncidentForm struct {
	Console  Console
	Incident *store.Incident // nil when opening a new one
	Name     string
	Status   store.IncidentStatus
	Impact   store.Impact // "" lets the components decide (new incidents)
	Body     string
	// InternalNote is the update's note for private pages, whose names
	// are PrivatePages (none: the form has no such field).
	InternalNote string
	PrivatePages []string
	// Pages are the pages besides the default one, for narrowing a new
	// incident to some of them (ChosenPages, by id; DefaultPageID for the
	// default page).
	Pages       []store.Page
	ChosenPages []string
	Groups      []ChoiceGroup
	Templates   []store.IncidentTemplate
	TemplateID  string
	Preview     string // sanitised HTML of Body, when asked for
	Notify      bool   // the "notify subscribers" box is ticked
	NextIn      string // the next update promised, in minutes ("" none)
	Errors      FormErrors
	// Clock and Alerts are an existing incident's time-to-tell and the
	// alerts behind it.
	Clock      *store.IncidentClock
	Alerts     []store.AlertInfo
	Components map[string]store.Component
	// Next is where an existing open incident stands against its promise.
	Next *NextUpdate
	// Key identifies this form's submission: sent twice (a double click, a
	// resubmitted page), it makes one incident or update.
	Key string
	// Affected are the components the incident (or draft) affects now:
	// the form lists them first, highlighted.
	Affected []string
	// Note says what the last step did to the form ("the template was
	// added after your message").
	Note string
}

// SplitChoices is the form's components in two: those the incident
// affects, in page order, and the others by group.
func (f IncidentForm) SplitChoices() (pinned []ComponentChoice, rest []ChoiceGroup) {
	for _, g := range f.Groups {
		other := ChoiceGroup{Name: g.Name}
		for _, ch := range g.Choices {
			if slices.Contains(f.Affected, ch.Component.ID) {
				pinned = append(pinned, ch)
			} else {
				other.Choices = append(other.Choices, ch)
			}
		}
		if len(other.Choices) > 0 {
			rest = append(rest, other)
		}
	}
	return pinned, rest
}

// anyChosen reports whether a component in groups was given a status.
func anyChosen(groups []ChoiceGroup) bool {
	for _, g := range groups {
		for _, ch := range g.Choices {
			if ch.New != "" || ch.Checked {
				return true
			}
		}
	}
	return false
}

func countChoices(groups []ChoiceGroup) int {
	n := 0
	for _, g := range groups {
		n += len(g.Choices)
	}
	return n
}

// IncidentsPage lists incidents in the console.
type IncidentsPage struct {
	Console    Console
	Open       []store.Incident
	Resolved   []store.Incident
	Components map[string]store.Component
}

// PostmortemForm is the postmortem editor.
type PostmortemForm struct {
	Console  Console
	Incident store.Incident
	Draft    store.PostmortemDraft
	Errors   FormErrors
	Preview  bool
}

// TemplatesPage lists incident templates.
type TemplatesPage struct {
	Console   Console
	Templates []store.IncidentTemplate
}

// TemplateForm creates or edits a template.
type TemplateForm struct {
	Console  Console
	Template store.IncidentTemplate // ID "" when new
	Errors   FormErrors
}

// MaintenancesPage lists maintenance windows.
type MaintenancesPage struct {
	Console    Console
	Upcoming   []store.Maintenance // scheduled and in progress
	Completed  []store.Maintenance
	Components map[string]store.Component
}

// MaintenanceForm schedules or edits a window; on an existing one it also
// posts updates and cancels.
type MaintenanceForm struct {
	Console     Console
	Maintenance *store.Maintenance
	Name        string
	Body        string
	From        string // datetime-local values, in the zone TZ
	Until       string
	TZ          string // the IANA zone the times are written in; "" is UTC
	Auto        bool
	// RemindBefore is the reminder field as typed: minutes, "" or "0" for none.
	RemindBefore string
	Groups       []ChoiceGroup
	Components   map[string]store.Component
	Errors       FormErrors
	// Pages and ChosenPages narrow it to chosen pages, as IncidentForm's.
	Pages       []store.Page
	ChosenPages []string
	// UpdateStatus and UpdateBody re-fill the update form after an error.
	UpdateStatus store.MaintenanceStatus
	UpdateBody   string
	UpdateErrors FormErrors
}

// ComponentsPage shows groups and components with their controls.
type ComponentsPage struct {
	Console      Console
	Groups       []GroupView // the ungrouped first, Group.ID ""
	AllGroups    []store.ComponentGroup
	NewComponent ComponentValues
	NewGroup     GroupValues
	Errors       FormErrors // keyed "component.*" and "group.*"
}

// ComponentValues are a component form's fields.
type ComponentValues struct {
	Name        string
	Description string
	GroupID     string
	Status      store.ComponentStatus
	Internal    bool
}

// GroupValues are a group form's fields.
type GroupValues struct {
	Name        string
	Description string
}

// ComponentForm edits one component.
type ComponentForm struct {
	Console   Console
	Component store.Component
	Values    ComponentValues
	Groups    []store.ComponentGroup
	Errors    FormErrors
}

// GroupForm edits one group.
type GroupForm struct {
	Console Console
	Group   store.ComponentGroup
	Values  GroupValues
	Errors  FormErrors
}

// AuditPage is the audit log with its filters.
type AuditPage struct {
	Console     Console
	Rows        []AuditRow
	Actors      []store.Actor
	ObjectTypes []string
	Actor       string // "type:id"
	ObjectType  string
	ObjectID    string
	From        string // YYYY-MM-DD
	To          string
	Older       string // URL of the next page, "" at the end
	CSV         string // URL of the CSV export with these filters
	Error       string
}

// AuditRow is one audit entry as the log shows it: the object it
// changed, by name where the entry says it.
type AuditRow struct {
	Entry  store.AuditEntry
	Object string // its name, title or email; its id when the entry has none
}

// AuditRows names each entry's object from what the entry itself holds
// (after, else before: name, title, email, description or URL), or from
// another entry on the same page about the same object, falling back to
// the object's id.
func AuditRows(entries []store.AuditEntry) []AuditRow {
	known := map[string]string{}
	rows := make([]AuditRow, len(entries))
	for i, e := range entries {
		rows[i] = AuditRow{Entry: e, Object: auditName(e.After, e.Before)}
		if rows[i].Object != "" && e.ObjectID != "" {
			known[e.ObjectType+"/"+e.ObjectID] = rows[i].Object
		}
	}
	for i, r := range rows {
		if r.Object == "" {
			rows[i].Object = cmp.Or(known[r.Entry.ObjectType+"/"+r.Entry.ObjectID], r.Entry.ObjectID)
		}
	}
	return rows
}

// auditName is the first name-like field in the first of the JSON objects
// that has one.
func auditName(objects ...json.RawMessage) string {
	for _, raw := range objects {
		var fields map[string]any
		if len(raw) == 0 || json.Unmarshal(raw, &fields) != nil {
			continue
		}
		// Some records are stored without JSON names ("Name").
		for _, key := range []string{"name", "title", "email", "user_email", "description", "url"} {
			for k, v := range fields {
				if s, ok := v.(string); ok && strings.EqualFold(k, key) && strings.TrimSpace(s) != "" {
					return s
				}
			}
		}
	}
	return ""
}

// UsersPage lists users and adds one.
type UsersPage struct {
	Console  Console
	Users    []store.User
	New      store.UserInput
	Errors   FormErrors
	Created  *store.User // just created: show its one-time password once
	Password string
	// FactorRoles are the roles that must sign in with a second factor.
	FactorRoles []store.Role
}

// UserForm edits one user.
type UserForm struct {
	Console  Console
	Target   store.User
	Sessions []store.Session
	Errors   FormErrors
	Password string // a one-time password just set, shown once
	Factor   store.TwoFactor
}

// TokensPage lists API tokens and makes one.
type TokensPage struct {
	Console Console
	Tokens  []store.APIToken
	Users   []store.User
	Name    string
	UserID  string
	Role    store.Role
	Errors  FormErrors
	Created *store.APIToken
	Secret  string // the new token, shown once
}

// ConsoleError is a console page for a refusal or a missing object.
type ConsoleError struct {
	Console Console
	Status  int
	Title   string
	Message string
}

// localInput formats t for a datetime-local input, in UTC.
func localInput(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

// LocalInput is localInput for handlers filling forms.
func LocalInput(t time.Time) string { return localInput(t) }

// SubscribersPage lists subscribers, searched and filtered, a page at a
// time, and adds one.
type SubscribersPage struct {
	Console     Console
	Subscribers []store.Subscriber
	Search      string // part of an address
	Status      store.SubscriberStatus
	FilterError string
	Next, Prev  string // URLs of the neighbouring pages, "" at the ends
	Groups      []ChoiceGroup
	Components  map[string]store.Component
	New         store.SubscriberInput
	Errors      FormErrors
	// Pages are the pages besides the default one: with any, the list
	// says whose subscriber each is, and the form asks.
	Pages []store.Page
	// Visitors' chat subscriptions, and the pages' names by id.
	ChatSubscriptions []store.ChatSubscription
	// SMSSubscribers are the phone numbers subscribed (shown masked), and
	// SMS what was texted in all.
	SMSSubscribers []store.SMSSubscriber
	SMS            store.SMSTotals
	PageNames      map[string]string
}

// SubscriberPage shows one subscriber and removes it.
type SubscriberPage struct {
	Console    Console
	Subscriber store.Subscriber
	Components map[string]store.Component
	Errors     FormErrors
	Pages      []store.Page
}

// pageName is the name of the page with id among pages, for the console:
// "" is the default page.
func pageName(id string, pages []store.Page) string {
	for _, p := range pages {
		if p.ID == id {
			return p.Name + " (/p/" + p.Slug + ")"
		}
	}
	if id == "" {
		return "The default page"
	}
	return "A page since removed"
}

// WebhooksPage lists webhook endpoints and registers one.
type WebhooksPage struct {
	Console    Console
	Webhooks   []store.Webhook
	Events     []string // what a subscriber webhook can filter on
	TeamEvents []string // and a team webhook
	Groups     []ChoiceGroup
	Components map[string]store.Component
	New        store.WebhookInput
	Errors     FormErrors
}

// WebhookPage is one endpoint with its controls and delivery log.
type WebhookPage struct {
	Console      Console
	Webhook      store.Webhook
	Deliveries   []store.WebhookDelivery
	Components   map[string]store.Component
	Secret       string // just created or rotated: shown once
	Created      bool
	Errors       FormErrors
	Older, Newer string // URLs of the neighbouring log pages
}

// ReportPage is the time-to-tell report: month by month, how long the
// public waited.
type ReportPage struct {
	Console Console
	Since   time.Time
	Months  []store.ClockMonth
}

// OpenIncidents are the dashboard's open incidents, each with where it
// stands against its promise; the console script fetches the section again
// every few seconds, so the countdown runs and "overdue" appears unasked.
type OpenIncidents struct {
	Incidents  []store.Incident
	Next       map[string]NextUpdate
	Components map[string]store.Component
}

// NextUpdate is where an open incident stands against the next update it
// promised, or, with no promise, against the policy's stale_after.
type NextUpdate struct {
	Due        *time.Time // the promise, if one was made
	Overdue    bool
	Since      time.Time // when it became (or becomes) overdue
	LastUpdate time.Time
	Now        time.Time
}

// NextUpdateOf works out inc's NextUpdate by the policy's one rule.
func NextUpdateOf(inc store.Incident, p store.EscalationPolicy, now time.Time) NextUpdate {
	o, overdue := p.Overdue(inc, now)
	return NextUpdate{Due: inc.NextUpdateAt, Overdue: overdue, Since: o.Since, LastUpdate: o.LastUpdate, Now: now}
}

// Text says it in a few words: "due in 12 min (11:30 UTC)", "overdue by
// 5 min", "no update for 1 h 5 min".
func (n NextUpdate) Text() string {
	switch {
	case n.Overdue && n.Due != nil:
		return "Overdue by " + HumanDuration(n.Now.Sub(*n.Due)) + " (promised " + n.Due.UTC().Format("15:04 UTC") + ")"
	case n.Overdue:
		return "No update for " + HumanDuration(n.Now.Sub(n.LastUpdate))
	case n.Due != nil:
		return "Due in " + HumanDuration(n.Due.Sub(n.Now)) + " (" + n.Due.UTC().Format("15:04 UTC") + ")"
	}
	return "None promised; last update " + HumanDuration(n.Now.Sub(n.LastUpdate)) + " ago"
}

// SettingsPage is the admins' settings: the escalation policy.
type SettingsPage struct {
	Console   Console
	Policy    PolicyValues
	Saved     bool // the policy was saved in the console (else: start flags)
	Templates []store.IncidentTemplate
	Builtin   string // the built-in holding statement
	Errors    FormErrors
}

// PolicyValues is the escalation policy as the form holds it: minutes as
// typed, "" for never.
type PolicyValues struct {
	RemindAfter     string
	StaleAfter      string
	PublishAfter    map[store.Impact]string
	HoldingTemplate string
}

// PagesPage lists the pages besides the public one.
type PagesPage struct {
	Console Console
	BaseURL string
	Pages   []PageRow
	Groups  []GroupView // every component, laid out as on the public page
	New     PageValues
	Errors  FormErrors
}

// PageRow is one page in the list, with how many components it shows.
type PageRow struct {
	Page  store.Page
	Shows int
}

// PageValues are a page form's fields. IPRanges is the textarea's text,
// kept as typed so that a refused form shows it back.
type PageValues struct {
	Name, Slug, Host   string
	Components, Groups []string
	Access, IPRanges   string
	// Viewers is the viewers textarea's text; HasViewers that the form
	// had it (a form from before it leaves the list as it is).
	Viewers    string
	HasViewers bool
}

// AccessLabel says who may see a page, for the list of pages.
func AccessLabel(p store.Page) string {
	switch p.Access {
	case store.AccessSignedIn:
		return "signed-in people only"
	case store.AccessIP:
		n := len(p.IPRanges)
		if n == 1 {
			return "1 IP range only"
		}
		return fmt.Sprintf("%d IP ranges only", n)
	case store.AccessEmail:
		n := len(p.Viewers)
		if n == 1 {
			return "1 viewer by email only"
		}
		return fmt.Sprintf("%d viewers by email only", n)
	}
	return "public"
}

// PageForm edits one page.
type PageForm struct {
	Console Console
	Page    store.Page
	Values  PageValues
	Groups  []GroupView
	Errors  FormErrors
}
