package observe

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// API is the set of metrics API Gateway publishes to CloudWatch for a WebSocket API, under the
// names a CloudWatch user knows ("Monitor WebSocket API execution with CloudWatch metrics", API
// Gateway Developer Guide), with a stage label and, where AWS has one, a route label:
//
//	wsgate_ConnectCount_total{stage}                      ConnectCount: $connect requests
//	wsgate_MessageCount_total{stage,route,direction}      MessageCount: messages from (in) and to (out) clients, pushes included
//	wsgate_IntegrationError_total{stage,route}            IntegrationError: the integration answered 4xx/5xx
//	wsgate_ClientError_total{stage,route}                 ClientError: a 4xx the gateway answered before calling the integration
//	wsgate_ExecutionError_total{stage,route}              ExecutionError: calling the integration failed (unreachable, timeout, function error)
//	wsgate_IntegrationLatency_milliseconds{stage,route}   IntegrationLatency: from calling the integration to its answer, in ms
//
// The label names are these constants, listed once here; the methods below are the only places
// that set them. Safe for concurrent use.
type API struct {
	connects    *prometheus.CounterVec
	messages    *prometheus.CounterVec
	integErrors *prometheus.CounterVec
	clientErr   *prometheus.CounterVec
	execErrors  *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	// out caches MessageOut's counter for the last stage asked (a node serves one): it runs for
	// every frame written, and WithLabelValues hashes and looks up three labels each time.
	out atomic.Pointer[stageCounter]
	// conn caches Connect's counter the same way: it runs for every handshake.
	conn atomic.Pointer[stageCounter]
}

type stageCounter struct {
	stage string
	c     prometheus.Counter
}

// Label names of the API metrics.
const (
	LabelStage     = "stage"
	LabelRoute     = "route"
	LabelDirection = "direction" // "in" (from the client) or "out" (to the client)
)

func newAPI(r *prometheus.Registry) *API {
	a := &API{
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_ConnectCount_total", Help: "CloudWatch ConnectCount: requests to the $connect route.",
		}, []string{LabelStage}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_MessageCount_total", Help: "CloudWatch MessageCount: messages from (direction=in, by route) and to (direction=out: route responses, error frames, pushes) clients.",
		}, []string{LabelStage, LabelRoute, LabelDirection}),
		integErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_IntegrationError_total", Help: "CloudWatch IntegrationError: the integration answered a 4xx or 5xx status.",
		}, []string{LabelStage, LabelRoute}),
		clientErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_ClientError_total", Help: "CloudWatch ClientError: the gateway answered a 4xx before calling the integration (authorizer refusal, header caps, no route).",
		}, []string{LabelStage, LabelRoute}),
		execErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_ExecutionError_total", Help: "CloudWatch ExecutionError: calling the integration failed (unreachable, timeout, function error).",
		}, []string{LabelStage, LabelRoute}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsgate_IntegrationLatency_milliseconds",
			Help:    "CloudWatch IntegrationLatency: from calling the integration to its answer, in milliseconds.",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 29000},
		}, []string{LabelStage, LabelRoute}),
	}
	r.MustRegister(a.connects, a.messages, a.integErrors, a.clientErr, a.execErrors, a.latency)
	return a
}

// Connect counts a $connect request.
func (a *API) Connect(stage string) {
	sc := a.conn.Load()
	if sc == nil || sc.stage != stage {
		sc = &stageCounter{stage: stage, c: a.connects.WithLabelValues(stage)}
		a.conn.Store(sc)
	}
	sc.c.Inc()
}

// MessageIn counts a client message routed to route.
func (a *API) MessageIn(stage, route string) {
	a.messages.WithLabelValues(stage, route, "in").Inc()
}

// MessageOut counts a message written to a client (route response, error frame or push).
func (a *API) MessageOut(stage string) {
	sc := a.out.Load()
	if sc == nil || sc.stage != stage {
		sc = &stageCounter{stage: stage, c: a.messages.WithLabelValues(stage, "", "out")}
		a.out.Store(sc)
	}
	sc.c.Inc()
}

// ClientError counts a 4xx answered before the integration of route was called.
func (a *API) ClientError(stage, route string) { a.clientErr.WithLabelValues(stage, route).Inc() }

// Integration records one integration call of route: its latency, and an ExecutionError when
// err is not nil or an IntegrationError when the answer's status is 4xx/5xx.
func (a *API) Integration(stage, route string, status int, err error, d time.Duration) {
	a.latency.WithLabelValues(stage, route).Observe(Millis(d))
	switch {
	case err != nil:
		a.execErrors.WithLabelValues(stage, route).Inc()
	case status >= 400:
		a.integErrors.WithLabelValues(stage, route).Inc()
	}
}
