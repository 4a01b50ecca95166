package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

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

// IncidentStatus is where an incident stands.
type IncidentStatus string

const (
	Investigating IncidentStatus = "investigating"
	Identified    IncidentStatus = "identified"
	Monitoring    IncidentStatus = "monitoring"
	Resolved      IncidentStatus = "resolved"
)

// IncidentStatuses lists every incident status in lifecycle order.
var IncidentStatuses = []IncidentStatus{Investigating, Identified, Monitoring, Resolved}

func (s IncidentStatus) Valid() bool {
	switch s {
	case Investigating, Identified, Monitoring, Resolved:
		return true
	}
	return false
}

func (s IncidentStatus) Label() string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
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

// MaintenanceStatus is where a maintenance window stands.
type MaintenanceStatus string

const (
	MaintenanceScheduled  MaintenanceStatus = "scheduled"
	MaintenanceInProgress MaintenanceStatus = "in_progress"
	MaintenanceVerifying  MaintenanceStatus = "verifying"
	MaintenanceCompleted  MaintenanceStatus = "completed"
)

var MaintenanceStatuses = []MaintenanceStatus{MaintenanceScheduled, MaintenanceInProgress, MaintenanceVerifying, MaintenanceCompleted}

// step is the position in the lifecycle; -1 for unknown values.
func (s MaintenanceStatus) step() int {
	for i, v := range MaintenanceStatuses {
		if v == s {
			return i
		}
	}
	return -1
}

func (s MaintenanceStatus) Valid() bool { return s.step() >= 0 }

// Active reports whether the window has started and not completed: its
// components are under maintenance.
func (s MaintenanceStatus) Active() bool {
	return s == MaintenanceInProgress || s == MaintenanceVerifying
}

func (s MaintenanceStatus) Label() string {
	switch s {
	case MaintenanceScheduled:
		return "Scheduled"
	case MaintenanceInProgress:
		return "In progress"
	case MaintenanceVerifying:
		return "Verifying"
	case MaintenanceCompleted:
		return "Completed"
	}
	return string(s)
}

// Errors callers tell apart with errors.Is / errors.As.
var (
	ErrNotFound = errors.New("not found")
)

// ValidationError is bad input: which field, and what is wrong with it.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ConflictError is a request that is well-formed but not allowed in the
// object's current state (a maintenance moved backwards, say).
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// NotFoundError names what was missing; it matches ErrNotFound.
type NotFoundError struct {
	Kind string
	ID   string
}

func (e *NotFoundError) Error() string        { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Limits on user-supplied text.
const (
	MaxNameLength        = 255
	MaxDescriptionLength = 2000
	MaxBodyLength        = 64 * 1024
)

// checkText trims s and checks it is valid UTF-8, within max runes, and (when
// required) not empty.
func checkText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid(field, "must be valid UTF-8")
	}
	if required && s == "" {
		return "", invalid(field, "is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(field, "is %d characters long; the limit is %d", n, max)
	}
	if strings.ContainsRune(s, 0) {
		return "", invalid(field, "must not contain NUL characters")
	}
	return s, nil
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a random 12-character id, like Statuspage's object ids.
func newID() string { return randomString(12) }

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	for i := range b {
		// 256 % 36 != 0, so this is very slightly biased; irrelevant for ids.
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
