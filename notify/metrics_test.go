package notify

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/herald-status/herald/store"
)

// gather scrapes the dispatcher's collectors as /metrics would serve them
// and parses the text back.
func gather(t testing.TB, d *Dispatcher) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range d.Collectors() {
		reg.MustRegister(c)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	return parsed
}

// value is the metric of family name with exactly these label values.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) (*dto.Metric, bool) {
	for _, m := range families[name].GetMetric() {
		match := len(m.GetLabel()) == len(labels)
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

func TestDeliveryMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	g, _ := NewGuard("127.0.0.1")
	if _, _, err := st.CreateWebhook(ctx, store.WebhookInput{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	r := startDispatcher(t, st, Config{Webhooks: &WebhookConfig{Guard: g}, Jitter: -1})
	mustIncident(t, st, store.IncidentInput{Name: "Down"})

	// A scrape collects the counter and the histogram concurrently, so one
	// scrape may see the count before the sample: wait for both.
	var m map[string]*dto.MetricFamily
	eventually(t, "a sent webhook to be counted and timed", func() bool {
		m = gather(t, r.d)
		sent, ok := value(m, "herald_deliveries_total", map[string]string{"channel": "webhook", "result": "sent"})
		lat, timed := value(m, "herald_delivery_duration_seconds", map[string]string{"channel": "webhook"})
		return ok && sent.GetCounter().GetValue() >= 1 && timed && lat.GetHistogram().GetSampleCount() >= 1
	})
	if sent, _ := value(m, "herald_deliveries_total", map[string]string{"channel": "webhook", "result": "sent"}); sent.GetCounter().GetValue() != 1 {
		t.Errorf("sent webhooks = %v, want 1", sent.GetCounter().GetValue())
	}
	lat, ok := value(m, "herald_delivery_duration_seconds", map[string]string{"channel": "webhook"})
	if !ok || lat.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("webhook latency histogram = %v, want one sample", lat)
	}
	if failed, _ := value(m, "herald_deliveries_total", map[string]string{"channel": "email", "result": "failed"}); failed.GetCounter().GetValue() != 0 {
		t.Errorf("email failures = %v, want 0", failed.GetCounter().GetValue())
	}
	eventually(t, "the outbox to show the delivery as sent", func() bool {
		m = gather(t, r.d)
		d, ok := value(m, "herald_outbox_deliveries", map[string]string{"channel": "webhook", "state": "sent"})
		return ok && d.GetGauge().GetValue() == 1
	})
	if jobs, ok := value(m, "herald_outbox_jobs_pending", map[string]string{}); !ok || jobs.GetGauge().GetValue() != 0 {
		t.Errorf("pending jobs = %v, want 0 once expanded", jobs)
	}
}
