package store

import "slices"

// The status rules, in one place: how bad each component status is, what
// it means as an impact, and the page's roll-up. The status page, the
// console, the v2 API and the webhooks all read them from here, so they
// never describe the same moment differently.

// ComponentStatus is a component's state, as in Statuspage.
type ComponentStatus string

const (
	Operational         ComponentStatus = "operational"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
	UnderMaintenance    ComponentStatus = "under_maintenance"
)

// ComponentStatuses lists every component status, best first.
var ComponentStatuses = []ComponentStatus{Operational, UnderMaintenance, DegradedPerformance, PartialOutage, MajorOutage}

// Valid reports whether s is a known component status.
func (s ComponentStatus) Valid() bool { return s.Severity() >= 0 }

// Severity orders statuses from best (0) to worst; -1 for unknown values.
// Maintenance ranks above operational but below any degradation: a planned
// window is not an outage.
func (s ComponentStatus) Severity() int {
	switch s {
	case Operational:
		return 0
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return -1
}

// Label is the status in words, as a visitor reads it.
func (s ComponentStatus) Label() string {
	switch s {
	case Operational:
		return "Operational"
	case DegradedPerformance:
		return "Degraded Performance"
	case PartialOutage:
		return "Partial Outage"
	case MajorOutage:
		return "Major Outage"
	case UnderMaintenance:
		return "Under Maintenance"
	}
	return string(s)
}

// Worse is the worse of s and o (s when they are as bad).
func (s ComponentStatus) Worse(o ComponentStatus) ComponentStatus {
	if o.Severity() > s.Severity() {
		return o
	}
	return s
}

// Impact is what the status means as an incident impact, as Statuspage
// derives one: degraded performance is minor, a partial outage major, a
// major outage critical; maintenance and operational are no impact.
func (s ComponentStatus) Impact() Impact {
	switch s {
	case DegradedPerformance:
		return ImpactMinor
	case PartialOutage:
		return ImpactMajor
	case MajorOutage:
		return ImpactCritical
	}
	return ImpactNone
}

// Worst is the worst status of the components, operational for none.
func Worst(components []Component) ComponentStatus {
	worst := Operational
	for _, c := range components {
		worst = worst.Worse(c.Status)
	}
	return worst
}

// Impact is how bad an incident is.
type Impact string

const (
	ImpactNone     Impact = "none"
	ImpactMinor    Impact = "minor"
	ImpactMajor    Impact = "major"
	ImpactCritical Impact = "critical"
)

var Impacts = []Impact{ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical}

func (i Impact) Valid() bool {
	switch i {
	case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
		return true
	}
	return false
}

func (i Impact) Label() string {
	switch i {
	case ImpactNone:
		return "No impact"
	case ImpactMinor:
		return "Minor"
	case ImpactMajor:
		return "Major"
	case ImpactCritical:
		return "Critical"
	}
	return string(i)
}

// Rank orders impacts from none (0) to critical (3); -1 for unknown values.
func (i Impact) Rank() int { return slices.Index(Impacts, i) }

// Worse is the worse of i and o (i when they are as bad).
func (i Impact) Worse(o Impact) Impact {
	if o.Rank() > i.Rank() {
		return o
	}
	return i
}

// PageStatus is the page's overall status: the one roll-up that the status
// page's banner, /api/v2/status.json and every webhook show.
type PageStatus struct {
	// Worst is the worst status of any component.
	Worst ComponentStatus `json:"worst"`
	// Indicator is Statuspage's page indicator: the worse of what the
	// components' worst status means as an impact and the impact of every
	// open incident (an incident may touch no component and still be bad).
	Indicator Impact `json:"indicator"`
}

// RollUp is the page's status given its components and its open incidents.
func RollUp(components []Component, open []Incident) PageStatus {
	p := PageStatus{Worst: Worst(components)}
	p.Indicator = p.Worst.Impact()
	for _, inc := range open {
		if inc.Open() {
			p.Indicator = p.Indicator.Worse(inc.Impact)
		}
	}
	return p
}

// raisedByIncident reports whether an open incident, not the components,
// decides the indicator.
func (p PageStatus) raisedByIncident() bool { return p.Indicator.Rank() > p.Worst.Impact().Rank() }

// Status is the component status the page's banner shows (its colour and
// icon): the components' worst, or the status an incident's impact stands
// for when an incident is worse than the components.
func (p PageStatus) Status() ComponentStatus {
	if !p.raisedByIncident() {
		return p.Worst
	}
	switch p.Indicator {
	case ImpactMinor:
		return DegradedPerformance
	case ImpactMajor:
		return PartialOutage
	}
	return MajorOutage
}

// Description is the roll-up in words: the banner for the components'
// status, or Statuspage's wording for the impact when an open incident is
// what raised the indicator.
func (p PageStatus) Description() string {
	if p.raisedByIncident() {
		switch p.Indicator {
		case ImpactMinor:
			return "Minor Service Outage"
		case ImpactMajor:
			return "Partial System Outage"
		}
		return "Major Service Outage"
	}
	switch p.Worst {
	case MajorOutage:
		return "Major System Outage"
	case PartialOutage:
		return "Partial System Outage"
	case DegradedPerformance:
		return "Degraded Performance"
	case UnderMaintenance:
		return "Service Under Maintenance"
	}
	return "All Systems Operational"
}

// ComponentSection is one block of the page's component list: the
// ungrouped components (Group is nil) or one group's.
type ComponentSection struct {
	Group      *ComponentGroup
	Components []Component // page order
}

// Status is the worst status among the section's components: a group's
// status on the page and in the v2 API.
func (s ComponentSection) Status() ComponentStatus { return Worst(s.Components) }

// Sections lays components out as the page shows them: the ungrouped ones
// first (when there are any), then every group in order, empty ones
// included (callers that hide empty groups skip them). components must be
// in page order, as ListComponents returns them.
func Sections(groups []ComponentGroup, components []Component) []ComponentSection {
	byGroup := map[string][]Component{}
	for _, c := range components {
		byGroup[c.GroupID] = append(byGroup[c.GroupID], c)
	}
	var out []ComponentSection
	if list := byGroup[""]; len(list) > 0 {
		out = append(out, ComponentSection{Components: list})
	}
	for i := range groups {
		out = append(out, ComponentSection{Group: &groups[i], Components: byGroup[groups[i].ID]})
	}
	return out
}
