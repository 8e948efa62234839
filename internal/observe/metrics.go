// Package observe holds the gateway's Prometheus metrics and the logger setup. Metrics live in
// their own registry (not the global one) so tests and several gateways in one process do not
// collide.
package observe

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is safe for concurrent use. Each field's comment lists its labels, in order; they are
// set only where the field is used. API holds the CloudWatch-named metrics.
type Metrics struct {
	Registry *prometheus.Registry
	API      *API

	ConnectionsActive prometheus.Gauge
	Connects          *prometheus.CounterVec   // outcome: accepted, refused_<status>
	Disconnects       *prometheus.CounterVec   // reason: client, idle, duration, deleted, user_deleted, shutdown, slow_consumer, too_big, binary, protocol_error, inbound_flood, control_flood, dead_peer, lost, node_lost, node_reaped
	Messages          *prometheus.CounterVec   // route, outcome: ok, integration_error (4xx/5xx answer), error (call failed), no_route
	IntegrationTime   *prometheus.HistogramVec // route
	// ManagementRequests counts every management API request (op, status); Pushes only the
	// messages delivered by PostToConnection, POST /@users, /@groups and /@broadcast (op).
	ManagementRequests *prometheus.CounterVec // op, status
	Pushes             *prometheus.CounterVec // op
	SlowConsumers      prometheus.Counter
	// IntegrationInflight, InboundPaused, InboundDropped: the inbound bounds (limits.*).
	IntegrationInflight prometheus.Gauge
	InboundPaused       prometheus.Counter
	InboundDropped      prometheus.Counter
}

// NewMetrics registers wsgate's metrics plus the Go and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		ConnectionsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wsgate_connections_active", Help: "WebSocket connections held by this node.",
		}),
		Connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_connects_total", Help: "Upgrade attempts by outcome.",
		}, []string{"outcome"}),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_disconnects_total", Help: "Closed connections by reason.",
		}, []string{"reason"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_messages_total", Help: "Client messages by route and outcome.",
		}, []string{"route", "outcome"}),
		IntegrationTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsgate_integration_seconds",
			Help:    "Integration latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 29},
		}, []string{"route"}),
		ManagementRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_management_requests_total", Help: "Management API requests by operation and status.",
		}, []string{"op", "status"}),
		Pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_pushes_total", Help: "Pushes accepted by the management API (PostToConnection, POST /@users, /@groups, /@broadcast), by operation.",
		}, []string{"op"}),
		SlowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgate_slow_consumers_total", Help: "Connections closed because their send queue was full.",
		}),
		IntegrationInflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wsgate_integration_calls_inflight", Help: "Integration calls in flight (limits.maxInflightCalls bounds them).",
		}),
		InboundPaused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgate_inbound_paused_total", Help: "Times a connection stopped being read because its messages queued for integrations passed limits.inboundQueueBytes.",
		}),
		InboundDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgate_inbound_dropped_messages_total", Help: "Client messages dropped unsent because their connection closed before their integration ran.",
		}),
	}
	m.API = newAPI(r)
	r.MustRegister(m.ConnectionsActive, m.Connects, m.Disconnects, m.Messages, m.IntegrationTime, m.ManagementRequests, m.Pushes,
		m.SlowConsumers, m.IntegrationInflight, m.InboundPaused, m.InboundDropped, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// NewLogger returns a slog logger: text on a terminal, JSON otherwise, unless format says.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(orDefault(level, "info")))); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
