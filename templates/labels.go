package templates

import (
	"context"
	"strings"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// The store's statuses in the visitor's language. The store names them by
// value; the catalogue's ids follow the values ("status.major_outage"), so
// a new value needs only its catalogue line (TestEveryStatusHasAMessage).

func StatusLabel(ctx context.Context, s store.ComponentStatus) string {
	return i18n.T(ctx, "status."+string(s))
}

func impactLabel(ctx context.Context, i store.Impact) string {
	return i18n.T(ctx, "impact."+string(i))
}

func IncidentStatusLabel(ctx context.Context, s store.IncidentStatus) string {
	return i18n.T(ctx, "incident."+string(s))
}

func MaintenanceStatusLabel(ctx context.Context, s store.MaintenanceStatus) string {
	return i18n.T(ctx, "maintenance."+string(s))
}

// BannerText is the page's overall status in words: the store's
// description (the one rule for it), named in the catalogue by its words
// ("All Systems Operational" is banner.all_systems_operational).
func BannerText(ctx context.Context, p store.PageStatus) string {
	return i18n.T(ctx, bannerID(p.Description()))
}

func bannerID(description string) string {
	return "banner." + strings.ReplaceAll(strings.ToLower(description), " ", "_")
}

// Lang is the language the page is rendered in, for <html lang>.
func Lang(ctx context.Context) string { return i18n.Lang(ctx) }
