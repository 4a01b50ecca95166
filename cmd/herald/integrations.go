package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/web"
)

// integrationFlags are the serve flags for what other tools read from
// Herald (/metrics) and send to it (Alertmanager).
type integrationFlags struct {
	metricsToken  *string
	metricsPublic *bool
	amLabel       *string
	amComponents  *string
	amSeverity    *string
	amPublish     *bool
	amOnResolved  *string
}

func addIntegrationFlags(fs *flagSet) *integrationFlags {
	return &integrationFlags{
		metricsToken:  fs.String("metrics-token", "", "serve /metrics to requests with Authorization: Bearer TOKEN (default: /metrics is not served)"),
		metricsPublic: fs.Bool("metrics-public", false, "serve /metrics to anyone (only where the network keeps it private)"),
		amLabel:       fs.String("alertmanager-component-label", "component", "alert label that names the component (its id or name)"),
		amComponents:  fs.String("alertmanager-components", "", "map label values to components: value=component-id-or-name,…"),
		amSeverity:    fs.String("alertmanager-severity", defaultSeverity(), "map the severity label to component statuses; * is any other severity"),
		amPublish:     fs.Bool("alertmanager-publish", false, "publish incidents from alerts at once instead of holding them as drafts for approval"),
		amOnResolved:  fs.String("alertmanager-on-resolved", "monitoring", "where an incident goes once all its alerts resolve: monitoring or resolved"),
	}
}

// defaultSeverity writes web.DefaultSeverity as the flag takes it.
func defaultSeverity() string {
	var pairs []string
	for sev, st := range web.DefaultSeverity {
		pairs = append(pairs, sev+"="+string(st))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// ecosystemConfig is the part of web.Config these flags set.
type ecosystemConfig struct {
	MetricsToken  string
	MetricsPublic bool
	Alertmanager  web.AlertmanagerConfig
}

// parse checks the flags before anything starts, so a typo fails fast.
func (f *integrationFlags) parse() (ecosystemConfig, error) {
	cfg := ecosystemConfig{MetricsToken: *f.metricsToken, MetricsPublic: *f.metricsPublic}
	if cfg.MetricsPublic && cfg.MetricsToken != "" {
		return cfg, fmt.Errorf("--metrics-public and --metrics-token: choose one")
	}
	components, err := web.ParsePairs(*f.amComponents, false)
	if err != nil {
		return cfg, fmt.Errorf("--alertmanager-components: %w", err)
	}
	severity, err := web.ParsePairs(*f.amSeverity, true)
	if err != nil {
		return cfg, fmt.Errorf("--alertmanager-severity: %w", err)
	}
	am := web.AlertmanagerConfig{
		ComponentLabel: *f.amLabel,
		Components:     components,
		Severity:       map[string]store.ComponentStatus{},
		Publish:        *f.amPublish,
		OnResolved:     store.IncidentStatus(*f.amOnResolved),
	}
	for sev, st := range severity {
		am.Severity[sev] = store.ComponentStatus(st)
	}
	if err := am.Normalize(); err != nil {
		return cfg, fmt.Errorf("alertmanager flags: %w", err)
	}
	cfg.Alertmanager = am
	return cfg, nil
}
