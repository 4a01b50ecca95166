package web

import (
	"bytes"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func withMetricsToken(token string) testOption {
	return func(s *testSetup) { s.cfg.MetricsToken = token }
}

func withPublicMetrics() testOption {
	return func(s *testSetup) { s.cfg.MetricsPublic = true }
}

// scrape fetches /metrics as Prometheus does and parses it.
func scrape(t *testing.T, ts *testServer, token string) map[string]*dto.MetricFamily {
	t.Helper()
	header := map[string]string{}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	resp, body := ts.fetch(t, "GET", "/metrics", header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return families
}

// sample finds the metric of a family whose labels include all of labels.
func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f, ok := families[name]
	if !ok {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

func counterValue(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := sample(families, name, labels)
	if m == nil {
		t.Fatalf("no %s%v in /metrics", name, labels)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []testOption
		header map[string]string
		want   int
	}{
		{"off by default", nil, nil, http.StatusNotFound},
		{"token required", []testOption{withMetricsToken("s3cret")}, nil, http.StatusUnauthorized},
		{"wrong token", []testOption{withMetricsToken("s3cret")}, map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"an API token is not the metrics token", []testOption{withMetricsToken("s3cret")}, nil, http.StatusUnauthorized},
		{"right token", []testOption{withMetricsToken("s3cret")}, map[string]string{"Authorization": "Bearer s3cret"}, http.StatusOK},
		{"public", []testOption{withPublicMetrics()}, nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, tt.opts...)
			header := tt.header
			if tt.name == "an API token is not the metrics token" {
				header = map[string]string{"Authorization": "Bearer " + ts.token}
			}
			if resp, body := ts.fetch(t, "GET", "/metrics", header); resp.StatusCode != tt.want {
				t.Errorf("GET /metrics: %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
		})
	}
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withMetricsToken("tok"))
	c := ts.createComponent(t, "API", nil)
	ts.createIncident(t, map[string]any{"name": "Down", "body": "Down.", "components": map[string]string{c.ID: "major_outage"}})
	for range 3 {
		ts.fetch(t, "GET", "/", nil)
	}
	resp, _ := ts.fetch(t, "GET", "/", nil)
	ts.fetch(t, "GET", "/", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	for _, id := range []string{"a", "b", "c"} { // three raw paths, one route
		ts.fetch(t, "GET", "/incidents/no-such-"+id, nil)
	}
	ts.fetch(t, "GET", "/api/v2/summary.json", nil)

	m := scrape(t, ts, "tok")
	tests := []struct {
		method, route, code string
		want                float64
	}{
		{"GET", "/", "200", 4},
		{"GET", "/", "304", 1},
		{"GET", "/incidents/:id", "404", 3},
		{"GET", "/api/v2/summary.json", "200", 1},
		{"POST", "/api/v1/components", "201", 1},
	}
	for _, tt := range tests {
		got := counterValue(t, m, "herald_http_requests_total", map[string]string{"method": tt.method, "route": tt.route, "code": tt.code})
		if got != tt.want {
			t.Errorf("requests %s %s %s = %v, want %v", tt.method, tt.route, tt.code, got, tt.want)
		}
	}
	for _, lp := range m["herald_http_requests_total"].GetMetric() {
		for _, l := range lp.GetLabel() {
			if l.GetName() == "route" && (l.GetValue() == "/incidents/no-such-a") {
				t.Errorf("a raw path became a label: %s", l.GetValue())
			}
		}
	}
	h := sample(m, "herald_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/"})
	if h == nil || h.Histogram.GetSampleCount() != 5 {
		t.Errorf("latency histogram for GET / = %v, want 5 samples", h)
	}
	if got := counterValue(t, m, "herald_snapshot_rebuilds_total", map[string]string{"result": "ok"}); got < 1 {
		t.Errorf("snapshot rebuilds = %v, want at least one after two changes", got)
	}
	if sample(m, "herald_snapshot_rebuild_duration_seconds", nil) == nil {
		t.Error("no snapshot rebuild duration")
	}
	if got := counterValue(t, m, "herald_components", map[string]string{"status": "major_outage"}); got != 1 {
		t.Errorf("components in major outage = %v, want 1", got)
	}
	if got := counterValue(t, m, "herald_incidents_open", nil); got != 1 {
		t.Errorf("open incidents = %v, want 1", got)
	}
	for _, name := range []string{"herald_live_clients", "herald_incident_drafts", "herald_snapshot_version", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := m[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestMetricsLiveClients(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withPublicMetrics())
	resp, err := http.Get(ts.URL + "/events?types=json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := counterValue(t, scrape(t, ts, ""), "herald_live_clients", nil); got != 1 {
		t.Errorf("live clients = %v with one stream open, want 1", got)
	}
}
