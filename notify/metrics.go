package notify

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-status/herald/store"
)

// deliveryMetrics are the dispatcher's Prometheus series: what became of
// each delivery attempt and how long the send took, by channel, plus the
// outbox's depth read at scrape time. The server's /metrics serves them
// once they are registered (see Dispatcher.Collectors).
type deliveryMetrics struct {
	results *prometheus.CounterVec
	latency *prometheus.HistogramVec
	outbox  outboxCollector
}

func newDeliveryMetrics(st *store.Store) *deliveryMetrics {
	m := &deliveryMetrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_deliveries_total",
			Help: "Delivery attempts by channel (email, webhook) and result (sent, retry, failed, skipped).",
		}, []string{"channel", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_delivery_duration_seconds",
			Help:    "Time one send took (an SMTP transaction or a webhook request), by channel.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		outbox: outboxCollector{st},
	}
	for _, ch := range []string{store.ChannelEmail, store.ChannelWebhook} {
		for _, r := range []string{"sent", "retry", "failed", "skipped"} {
			m.results.WithLabelValues(ch, r)
		}
	}
	return m
}

// observe records one result. Released deliveries were never attempted.
func (m *deliveryMetrics) observe(r store.DeliveryResult) {
	var result string
	switch r.Outcome {
	case store.Sent:
		result = "sent"
	case store.Retry:
		result = "retry"
	case store.Failed:
		result = "failed"
	case store.Skipped:
		result = "skipped"
	default:
		return
	}
	// The latency first, though a scrape collects the two series
	// concurrently and may still see one without the other for a moment.
	if r.Latency > 0 {
		m.latency.WithLabelValues(r.Delivery.Channel).Observe(r.Latency.Seconds())
	}
	m.results.WithLabelValues(r.Delivery.Channel, result).Inc()
}

// Collectors are the dispatcher's series, for the server's registry.
func (d *Dispatcher) Collectors() []prometheus.Collector {
	return []prometheus.Collector{d.metrics.results, d.metrics.latency, d.metrics.outbox}
}

// outboxCollector reads the outbox's depth from the database when scraped:
// the counts the store keeps as deliveries change state, and the jobs not
// yet expanded (a partial index holds only those), so a scrape reads a few
// rows however large the outbox has grown.
type outboxCollector struct{ st *store.Store }

var (
	jobsDesc       = prometheus.NewDesc("herald_outbox_jobs_pending", "Notification jobs not yet expanded into deliveries.", nil, nil)
	deliveriesDesc = prometheus.NewDesc("herald_outbox_deliveries", "Deliveries in the outbox by channel and state (pending, sending, sent, failed, skipped).", []string{"channel", "state"}, nil)
)

func (outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- deliveriesDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.st.PendingJobs(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
	} else {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n))
	}
	counts, err := c.st.OutboxCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(deliveriesDesc, err)
		return
	}
	// Every channel and state, those with none at 0: a series that
	// vanished when its queue emptied would read as "no data", not "none".
	for _, channel := range []string{store.ChannelEmail, store.ChannelWebhook} {
		for _, state := range deliveryStates {
			ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(counts[channel+"/"+state]), channel, state)
		}
	}
}

// deliveryStates are the states a delivery passes through.
var deliveryStates = []string{"pending", "sending", "sent", "failed", "skipped"}
