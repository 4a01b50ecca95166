package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// AlertmanagerConfig says how Alertmanager's alerts become incidents.
type AlertmanagerConfig struct {
	// ComponentLabel is the alert label naming the component (its id or
	// name). Default "component".
	ComponentLabel string
	// Components maps label values to components (id or name), for alerts
	// labelled in their own terms: {"checkout-svc": "Checkout"}. Values not
	// listed are taken as component ids or names themselves.
	Components map[string]string
	// Severity maps the severity label to the status a firing alert gives
	// its component; "*" is the status for any other severity, or none.
	// Default: DefaultSeverity.
	Severity map[string]store.ComponentStatus
	// Publish opens incidents at once instead of holding them as drafts
	// for a commander to approve.
	Publish bool
	// OnResolved is where an incident goes when all its alerts resolve:
	// monitoring (default) or resolved.
	OnResolved store.IncidentStatus
}

// DefaultSeverity maps the severities most rule sets use.
var DefaultSeverity = map[string]store.ComponentStatus{
	"critical": store.MajorOutage,
	"major":    store.PartialOutage,
	"error":    store.PartialOutage,
	"warning":  store.DegradedPerformance,
	"minor":    store.DegradedPerformance,
	"*":        store.DegradedPerformance,
}

// Normalize fills in defaults and checks the configuration; web.New calls
// it, and the command line calls it before starting anything.
func (a *AlertmanagerConfig) Normalize() error {
	if a.ComponentLabel == "" {
		a.ComponentLabel = "component"
	}
	if len(a.Severity) == 0 {
		a.Severity = DefaultSeverity
	}
	for sev, st := range a.Severity {
		if !st.Valid() || st == store.Operational {
			return fmt.Errorf("alertmanager severity %q: %q is not a component status an alert can set; use one of degraded_performance, partial_outage, major_outage, under_maintenance", sev, st)
		}
	}
	if _, ok := a.Severity["*"]; !ok {
		a.Severity["*"] = store.DegradedPerformance
	}
	switch a.OnResolved {
	case "":
		a.OnResolved = store.Monitoring
	case store.Monitoring, store.Resolved:
	default:
		return fmt.Errorf("alertmanager on-resolved %q: use monitoring or resolved", a.OnResolved)
	}
	return nil
}

// ParsePairs reads "a=b,c=d" (as flags give mappings) into a map. Keys are
// lower-cased when lowerKeys is set.
func ParsePairs(s string, lowerKeys bool) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: write each mapping as key=value, separated by commas", part)
		}
		if lowerKeys {
			k = strings.ToLower(k)
		}
		out[k] = v
	}
	return out, nil
}

// The webhook payload, as Alertmanager sends it (version 4). Unknown fields
// are accepted: Alertmanager adds fields over time and must keep working.
type amPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// integrationActor is who the audit log says made the changes: the
// integration, naming the token it came in with.
func integrationActor(token store.Actor) store.Actor {
	return store.Actor{Type: "integration", ID: "alertmanager", Name: "Alertmanager (token " + token.Name + ")"}
}

// apiAlertmanager is POST /api/v1/integrations/alertmanager: Alertmanager's
// webhook receiver.
func (s *Server) apiAlertmanager(c echo.Context) error {
	var p amPayload
	if err := decodeBody(c, &p, false); err != nil {
		s.metrics.alerts.WithLabelValues("rejected").Inc()
		return err
	}
	batch, err := s.alertBatch(p)
	if err != nil {
		s.metrics.alerts.WithLabelValues("rejected").Inc()
		return err
	}
	ctx := c.Request().Context()
	ctx = store.WithActor(ctx, integrationActor(store.ActorFrom(ctx)))
	res, err := s.store.ApplyAlerts(ctx, batch)
	if err != nil {
		s.metrics.alerts.WithLabelValues("rejected").Inc()
		return err
	}
	result := "unchanged"
	if res.Changed {
		result = "changed"
	}
	s.metrics.alerts.WithLabelValues(result).Inc()
	s.log.InfoContext(ctx, "alertmanager notification", "group_key", p.GroupKey, "status", p.Status, "alerts", len(p.Alerts),
		"result", result, "incident_id", res.IncidentID, "draft", res.Draft, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	return c.JSON(http.StatusOK, res)
}

// alertBatch checks the payload and reads it in Herald's terms: which
// component each alert names and what status its severity means.
func (s *Server) alertBatch(p amPayload) (store.AlertBatch, error) {
	cfg := s.cfg.Alertmanager
	unprocessable := func(field, format string, args ...any) error {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_value", Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if p.Version != "4" {
		return store.AlertBatch{}, unprocessable("version", "version is %q; Herald reads Alertmanager's webhook payload version \"4\"", p.Version)
	}
	if strings.TrimSpace(p.GroupKey) == "" {
		return store.AlertBatch{}, unprocessable("groupKey", "groupKey is required: it groups alerts into one incident")
	}
	if p.Status != "firing" && p.Status != "resolved" {
		return store.AlertBatch{}, unprocessable("status", "status is %q; want firing or resolved", p.Status)
	}
	if len(p.Alerts) == 0 {
		return store.AlertBatch{}, unprocessable("alerts", "alerts is empty; send at least one alert")
	}
	b := store.AlertBatch{GroupKey: p.GroupKey, Publish: cfg.Publish, OnResolved: cfg.OnResolved}
	for i, a := range p.Alerts {
		field := fmt.Sprintf("alerts[%d]", i)
		if a.Status != "firing" && a.Status != "resolved" {
			return store.AlertBatch{}, unprocessable(field+".status", "%s.status is %q; want firing or resolved", field, a.Status)
		}
		if len(a.Labels) == 0 {
			return store.AlertBatch{}, unprocessable(field+".labels", "%s has no labels", field)
		}
		for _, t := range []struct{ name, v string }{{"startsAt", a.StartsAt}, {"endsAt", a.EndsAt}} {
			if t.v == "" {
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, t.v); err != nil {
				return store.AlertBatch{}, unprocessable(field+"."+t.name, "%s.%s is %q, not an RFC 3339 time", field, t.name, t.v)
			}
		}
		ref := a.Labels[cfg.ComponentLabel]
		if mapped, ok := cfg.Components[strings.TrimSpace(ref)]; ok {
			ref = mapped
		}
		status, ok := cfg.Severity[strings.ToLower(strings.TrimSpace(a.Labels["severity"]))]
		if !ok {
			status = cfg.Severity["*"]
		}
		fp := a.Fingerprint
		if fp == "" {
			fp = labelFingerprint(a.Labels)
		}
		title := a.Labels["alertname"]
		if title == "" {
			title = "Alert"
		}
		summary := a.Annotations["summary"]
		if summary == "" {
			summary = a.Annotations["description"]
		}
		var starts time.Time
		if a.StartsAt != "" {
			starts, _ = time.Parse(time.RFC3339Nano, a.StartsAt) // checked above
		}
		b.Alerts = append(b.Alerts, store.Alert{
			Fingerprint: fp, Firing: a.Status == "firing", Component: ref, Status: status,
			Title: title, Summary: summary, Field: field + ".labels." + cfg.ComponentLabel,
			Labels: a.Labels, StartsAt: starts,
		})
	}
	b.Name = incidentName(p)
	return b, nil
}

// incidentName names the incident a group opens: what all its alerts have
// in common, else the first firing alert's own words.
func incidentName(p amPayload) string {
	name := firstNonEmpty(p.CommonAnnotations["summary"], p.CommonLabels["alertname"])
	if name == "" {
		for _, a := range p.Alerts {
			if a.Status == "firing" {
				name = firstNonEmpty(a.Annotations["summary"], a.Labels["alertname"])
				break
			}
		}
	}
	name = store.OneLine(name)
	if name == "" {
		name = "Alert from Alertmanager"
	}
	if utf8.RuneCountInString(name) > store.MaxNameLength {
		name = string([]rune(name)[:store.MaxNameLength-1]) + "…"
	}
	return name
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// labelFingerprint identifies an alert by its labels, as Alertmanager's own
// fingerprint does, for senders that leave the fingerprint out.
func labelFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
