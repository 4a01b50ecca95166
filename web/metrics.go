package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-status/herald/store"
)

// metrics are the Prometheus series /metrics serves. Each server has its own
// registry (not the global default), so tests can run many servers at once
// and other packages add theirs through Server.Metrics.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rebuilds *prometheus.CounterVec
	rebuild  prometheus.Histogram
	alerts   *prometheus.CounterVec

	// routes is filled once, after every route is registered, and only read
	// afterwards: the request path looks its route up without a lock.
	routes    map[routeKey]*routeMetrics
	unmatched *routeMetrics
}

type routeKey struct{ method, path string }

// routeMetrics holds one route's series, resolved once: a request then
// costs a map lookup and two atomic adds, with no allocation.
type routeMetrics struct {
	method, route string
	requests      *prometheus.CounterVec
	duration      prometheus.Observer // nil for streams, whose length says nothing about speed
	ok            prometheus.Counter  // 200
	notModified   prometheus.Counter  // 304
	mu            sync.Mutex
	other         map[int]prometheus.Counter
}

func (r *routeMetrics) observe(code int, d time.Duration) {
	switch code {
	case http.StatusOK:
		r.ok.Inc()
	case http.StatusNotModified:
		r.notModified.Inc()
	default:
		r.mu.Lock()
		c, ok := r.other[code]
		if !ok {
			c = r.requests.WithLabelValues(r.method, r.route, strconv.Itoa(code))
			r.other[code] = c
		}
		r.mu.Unlock()
		c.Inc()
	}
	if r.duration != nil {
		r.duration.Observe(d.Seconds())
	}
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "herald_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by method and route template (live streams left out).",
			// Snapshot pages answer in microseconds; API writes take
			// milliseconds; anything near a second is trouble.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		rebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_snapshot_rebuilds_total",
			Help: "Rebuilds of the public snapshot, by result (ok or error).",
		}, []string{"result"}),
		rebuild: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "herald_snapshot_rebuild_duration_seconds",
			Help:    "Time to rebuild the public snapshot and push it to live clients.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_alertmanager_notifications_total",
			Help: "Alertmanager notifications received, by result: changed, unchanged (a repeat) or rejected.",
		}, []string{"result"}),
	}
	m.rebuilds.WithLabelValues("ok")
	m.rebuilds.WithLabelValues("error")
	for _, r := range []string{"changed", "unchanged", "rejected"} {
		m.alerts.WithLabelValues(r)
	}
	m.registry.MustRegister(
		m.requests, m.duration, m.rebuilds, m.rebuild, m.alerts,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "herald_live_clients",
			Help: "Open live-update streams (Server-Sent Events).",
		}, func() float64 { return float64(s.LiveClients()) }),
		snapshotCollector{s},
	)
	m.unmatched = m.newRoute("", "unmatched")
	return m
}

func (m *metrics) newRoute(method, route string) *routeMetrics {
	r := &routeMetrics{
		method: method, route: route, requests: m.requests,
		ok:          m.requests.WithLabelValues(method, route, "200"),
		notModified: m.requests.WithLabelValues(method, route, "304"),
		other:       map[int]prometheus.Counter{},
	}
	if route != "/events" {
		r.duration = m.duration.WithLabelValues(method, route)
	}
	return r
}

// addRoutes resolves every registered route's series. Labels are route
// templates ("/incidents/:id"), never raw paths, so a crawler cannot make
// the series grow without bound.
func (m *metrics) addRoutes(routes []*echo.Route) {
	m.routes = make(map[routeKey]*routeMetrics, len(routes))
	for _, r := range routes {
		if strings.HasPrefix(r.Method, "echo_") { // echo's internal not-found routes
			continue
		}
		m.routes[routeKey{r.Method, r.Path}] = m.newRoute(r.Method, r.Path)
	}
}

// measure counts every request by route and status and times it. It is
// the outermost middleware, so it sees the status of errors and panics too.
func (s *Server) measure(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err) // write the error response now, so its status is counted
		}
		r, ok := s.metrics.routes[routeKey{c.Request().Method, c.Path()}]
		if !ok {
			r = s.metrics.unmatched
		}
		r.observe(c.Response().Status, time.Since(start))
		return nil
	}
}

// observeRebuild records one snapshot rebuild.
func (m *metrics) observeRebuild(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.rebuilds.WithLabelValues(result).Inc()
	m.rebuild.Observe(d.Seconds())
}

// Metrics is the registry /metrics serves; other parts of Herald (the
// notification dispatcher, say) register their collectors on it.
func (s *Server) Metrics() prometheus.Registerer { return s.metrics.registry }

// handleMetrics serves /metrics when configured: to anyone with
// MetricsPublic, else only with the metrics token. Request rates and client
// counts are not secrets, but a status page faces the whole internet, so by
// default /metrics is not served at all.
func (s *Server) handleMetrics() echo.HandlerFunc {
	h := echo.WrapHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{s},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	token := []byte(s.cfg.MetricsToken)
	return func(c echo.Context) error {
		switch {
		case s.cfg.MetricsPublic:
		case len(token) == 0:
			return echo.NewHTTPError(http.StatusNotFound, "metrics are not enabled")
		default:
			scheme, raw, _ := strings.Cut(c.Request().Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(raw)), token) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="herald metrics"`)
				return echo.NewHTTPError(http.StatusUnauthorized, "send the metrics token as Authorization: Bearer <token>")
			}
		}
		c.Response().Header().Set("Cache-Control", "private, no-store")
		return h(c)
	}
}

// slogPrinter lets promhttp report collection errors through our logger.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) {
	p.s.log.Error("metrics collection", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

// snapshotCollector reports what the current snapshot shows, read at
// scrape time from memory (and the draft count from the database: scrapes
// are rare next to page views).
type snapshotCollector struct{ s *Server }

var (
	componentsDesc = prometheus.NewDesc("herald_components", "Components by current status.", []string{"status"}, nil)
	openDesc       = prometheus.NewDesc("herald_incidents_open", "Published incidents not yet resolved.", nil, nil)
	versionDesc    = prometheus.NewDesc("herald_snapshot_version", "Change-feed position the public snapshot includes.", nil, nil)
	draftsDesc     = prometheus.NewDesc("herald_incident_drafts", "Incidents proposed by integrations and waiting for approval.", nil, nil)
	toPublicDesc   = prometheus.NewDesc("herald_incident_time_to_public_seconds",
		"Time from an incident's impact beginning to its first public post. Read from the database: every replica reports the same.", nil, nil)
	toDeliveryDesc = prometheus.NewDesc("herald_incident_time_to_first_delivery_seconds",
		"Time from an incident's impact beginning to the first subscriber reached (a relay or endpoint accepting the message).", nil, nil)
)

func (snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- componentsDesc
	ch <- openDesc
	ch <- versionDesc
	ch <- draftsDesc
	ch <- toPublicDesc
	ch <- toDeliveryDesc
}

func (sc snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	snap := sc.s.main.snap.Load()
	if snap == nil {
		return
	}
	counts := map[store.ComponentStatus]int{}
	for _, c := range snap.components {
		counts[c.Status]++
	}
	for _, st := range store.ComponentStatuses {
		ch <- prometheus.MustNewConstMetric(componentsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	if snap.eco != nil {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(snap.eco.openIncidents))
	}
	ch <- prometheus.MustNewConstMetric(versionDesc, prometheus.GaugeValue, float64(snap.version))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := sc.s.store.CountDrafts(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(draftsDesc, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(draftsDesc, err)
	}
	public, delivery, err := sc.s.store.ClockHistograms(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(toPublicDesc, err)
		return
	}
	for desc, h := range map[*prometheus.Desc]store.ClockHistogram{toPublicDesc: public, toDeliveryDesc: delivery} {
		ch <- prometheus.MustNewConstHistogram(desc, h.Count, h.Sum, h.Buckets)
	}
}
