package store

import (
	"slices"
	"testing"
)

func TestRollUp(t *testing.T) {
	comps := func(statuses ...ComponentStatus) []Component {
		var out []Component
		for _, s := range statuses {
			out = append(out, Component{Status: s})
		}
		return out
	}
	open := func(impacts ...Impact) []Incident {
		var out []Incident
		for _, i := range impacts {
			out = append(out, Incident{Impact: i, Status: Investigating})
		}
		return out
	}
	tests := []struct {
		name        string
		components  []Component
		active      []Incident
		indicator   Impact
		description string
		banner      ComponentStatus // the status the banner is drawn as
	}{
		{"all operational", comps(Operational, Operational), nil, ImpactNone, "All Systems Operational", Operational},
		{"no components", nil, nil, ImpactNone, "All Systems Operational", Operational},
		{"maintenance", comps(Operational, UnderMaintenance), nil, ImpactNone, "Service Under Maintenance", UnderMaintenance},
		{"degraded", comps(DegradedPerformance), nil, ImpactMinor, "Degraded Performance", DegradedPerformance},
		{"partial outage", comps(PartialOutage, DegradedPerformance), nil, ImpactMajor, "Partial System Outage", PartialOutage},
		{"major outage", comps(MajorOutage), open(ImpactMinor), ImpactCritical, "Major System Outage", MajorOutage},
		{"incident worse than components", comps(DegradedPerformance), open(ImpactCritical), ImpactCritical, "Major Service Outage", MajorOutage},
		{"incident without components", comps(Operational), open(ImpactMinor, ImpactNone), ImpactMinor, "Minor Service Outage", DegradedPerformance},
		{"incident during maintenance", comps(UnderMaintenance), open(ImpactMajor), ImpactMajor, "Partial System Outage", PartialOutage},
		{"incident of no impact", comps(Operational), open(ImpactNone), ImpactNone, "All Systems Operational", Operational},
		{"resolved incidents do not count", comps(Operational), []Incident{{Impact: ImpactCritical, Status: Resolved}}, ImpactNone, "All Systems Operational", Operational},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := RollUp(tt.components, tt.active)
			if p.Indicator != tt.indicator || p.Description() != tt.description || p.Status() != tt.banner {
				t.Errorf("RollUp = %s, %q, drawn as %s; want %s, %q, drawn as %s", p.Indicator, p.Description(), p.Status(), tt.indicator, tt.description, tt.banner)
			}
		})
	}
}

func TestStatusOrder(t *testing.T) {
	// Best first, as ComponentStatuses lists them: maintenance is not an outage.
	for i, s := range ComponentStatuses {
		for _, o := range ComponentStatuses[i:] {
			if s.Worse(o) != o || o.Worse(s) != o {
				t.Errorf("Worse(%s, %s) is not %s", s, o, o)
			}
		}
	}
	for i, imp := range Impacts {
		if imp.Rank() != i {
			t.Errorf("%s ranks %d, want %d", imp, imp.Rank(), i)
		}
	}
	if got := Impact("sideways").Rank(); got != -1 {
		t.Errorf("unknown impact ranks %d", got)
	}
	want := map[ComponentStatus]Impact{Operational: ImpactNone, UnderMaintenance: ImpactNone, DegradedPerformance: ImpactMinor, PartialOutage: ImpactMajor, MajorOutage: ImpactCritical}
	for s, imp := range want {
		if s.Impact() != imp {
			t.Errorf("%s means impact %s, want %s", s, s.Impact(), imp)
		}
	}
}

func TestSections(t *testing.T) {
	groups := []ComponentGroup{{ID: "g1", Name: "Core"}, {ID: "g2", Name: "Empty"}}
	comps := []Component{{ID: "web", Status: Operational}, {ID: "api", GroupID: "g1", Status: DegradedPerformance}, {ID: "db", GroupID: "g1", Status: PartialOutage}}
	secs := Sections(groups, comps)
	var got []string
	for _, s := range secs {
		name := "(ungrouped)"
		if s.Group != nil {
			name = s.Group.Name
		}
		for _, c := range s.Components {
			name += " " + c.ID
		}
		got = append(got, name)
	}
	if want := []string{"(ungrouped) web", "Core api db", "Empty"}; !slices.Equal(got, want) {
		t.Errorf("sections = %q, want %q", got, want)
	}
	if secs[1].Status() != PartialOutage || secs[2].Status() != Operational {
		t.Errorf("section statuses %s, %s; want the worst of their components", secs[1].Status(), secs[2].Status())
	}
	if got := Sections(groups, comps[1:]); got[0].Group == nil {
		t.Error("no ungrouped components must mean no ungrouped section")
	}
}
