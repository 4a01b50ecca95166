// Package templates holds the templ components for Herald's pages and the
// view models they render. It imports only store's types: the web package
// builds views from data, these components turn views into HTML.
package templates

import (
	"time"

	"github.com/a-h/templ"

	"github.com/herald-status/herald/store"
)

// Site is what every public page needs to know about the deployment.
type Site struct {
	Name    string
	BaseURL string
	Assets  Assets
	// Version is the change-feed position the page shows; the page script
	// resumes the live stream from it, so no change slips between render
	// and connect.
	Version int64
	// Subscribe offers email subscriptions (email delivery is configured).
	Subscribe bool
	// Live marks a page served from the snapshot, which the page script
	// keeps up to date over the live stream. Other pages (a form, what a
	// form answered, a link from an email) are left as they are: their
	// address would not give them back.
	Live bool
	// ViewerSignOut offers a viewer by email the way to sign out of the
	// page (its access is AccessEmail).
	ViewerSignOut bool
	// Brand is the page's branding (branding.go).
	Brand Brand
	// Languages are those the page offers, its default first: the
	// language switcher's (templates/i18n ships them).
	Languages []string
}

// Assets are the content-hashed URLs of our static files.
type Assets struct {
	CSS     string
	JS      string
	Favicon string
}

// ComponentView is a component with its 90-day record.
type ComponentView struct {
	store.Component
	Uptime store.Uptime
}

// GroupView is a component group as shown; Group.ID is "" for the
// components that belong to no group.
type GroupView struct {
	Group      store.ComponentGroup
	Components []ComponentView
	// Status is the worst of the components' (store.ComponentSection);
	// Open says the status page shows the group open: when something in
	// it is not operational.
	Status store.ComponentStatus
	Open   bool
}

// DayIncidents is one day of the "past incidents" list.
type DayIncidents struct {
	Date      time.Time
	Incidents []store.Incident
}

// HomePage is the public status page.
type HomePage struct {
	Site        Site
	Overall     store.PageStatus
	Groups      []GroupView
	Active      []store.Incident
	Maintenance []store.Maintenance // in progress first, then upcoming by start
	PastDays    []DayIncidents      // newest first
	Components  map[string]store.Component
	UptimeDays  int
	GeneratedAt time.Time
	// Region is the live region, rendered by the caller from the parts
	// below (Banner, IncidentsSection, …) so that each is rendered once for
	// the page, the live update and the next snapshot.
	Region templ.Component
}

// GroupPageView is one component group's own page; Rendered is the group,
// open (ComponentGroup).
type GroupPageView struct {
	Site     Site
	Group    GroupView
	Rendered templ.Component
}

// IncidentPage is one incident, whole.
type IncidentPage struct {
	Site       Site
	Incident   store.Incident
	Components map[string]store.Component
}

// MaintenancePage is one maintenance window, whole.
type MaintenancePage struct {
	Site        Site
	Maintenance store.Maintenance
	Components  map[string]store.Component
}

// HistoryItem is an incident or a completed maintenance in the history.
type HistoryItem struct {
	At          time.Time
	ID          string // the incident's or maintenance's, for the order at one time
	Incident    *store.Incident
	Maintenance *store.Maintenance
}

// HistoryMonth is one month of the history page.
type HistoryMonth struct {
	Month time.Time
	Items []HistoryItem
}

// HistoryPage lists past incidents and maintenance, a page at a time.
type HistoryPage struct {
	Site       Site
	Components map[string]store.Component // to name what each affected
	Months     []HistoryMonth
	Page       int
	Newest     string // URL of the newest page, "" on it
	Prev       string // URL of the page just newer, "" on the newest
	Next       string // URL of the older page, "" on the last
}

// ErrorPage is a plain page for 404s and the like; its words are message
// ids, said in the language the page is rendered in.
type ErrorPage struct {
	Site      Site
	TitleID   string
	MessageID string
}
