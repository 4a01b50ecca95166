package templates

import (
	"testing"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates/i18n"
)

// Every status the store knows has its message: the labels are looked up
// by value, which the used-id scan cannot see.
func TestEveryStatusHasAMessage(t *testing.T) {
	var want []string
	for _, s := range store.ComponentStatuses {
		want = append(want, "status."+string(s))
		for _, i := range store.Impacts {
			want = append(want, bannerID(store.PageStatus{Worst: s, Indicator: i}.Description()))
		}
	}
	for _, i := range store.Impacts {
		want = append(want, "impact."+string(i))
	}
	for _, s := range store.IncidentStatuses {
		want = append(want, "incident."+string(s))
	}
	for _, s := range store.MaintenanceStatuses {
		want = append(want, "maintenance."+string(s))
	}
	for _, id := range want {
		if !i18n.Has(id) {
			t.Errorf("the catalogue lacks %q", id)
		}
	}
}
