package dashboard

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The metrics the page reads (internal/observe registers them). A rename there must be made
// here too; TestPageReadsMetrics fails until it is.
const (
	metricConnections  = "wsgate_connections_active"
	metricConnects     = "wsgate_connects_total"            // outcome
	metricDisconnects  = "wsgate_disconnects_total"         // reason
	metricMessages     = "wsgate_messages_total"            // route, outcome
	metricIntegration  = "wsgate_integration_seconds"       // route (histogram)
	metricManagement   = "wsgate_management_requests_total" // op, status
	routeWindowSamples = 60                                 // the route table covers the last minute
)

// counters is one reading of the node's cumulative metrics.
type counters struct {
	t           time.Time
	connections float64
	accepted    float64
	refused     float64
	disconnects float64
	messages    float64
	pushes      float64
	routes      map[string]*routeCounters
}

type routeCounters struct {
	messages, errors float64
	count, sum       float64   // integration latency histogram
	bounds           []float64 // upper bounds, seconds
	cum              []float64 // cumulative counts per bound
}

// Point is one second of the page's history plots.
type Point struct {
	T              int64   `json:"t"` // unix ms
	Connections    int     `json:"connections"`
	ConnectsPerSec float64 `json:"connectsPerSec"`
	RefusedPerSec  float64 `json:"refusedPerSec"`
	DisconnPerSec  float64 `json:"disconnectsPerSec"`
	MessagesIn     float64 `json:"messagesInPerSec"`
	MessagesOut    float64 `json:"messagesOutPerSec"`
}

// RouteStat is a route's integration figures over the last minute.
type RouteStat struct {
	Route     string  `json:"route"`
	Calls     float64 `json:"calls"`
	Errors    float64 `json:"errors"`
	ErrorRate float64 `json:"errorRate"`
	AvgMs     float64 `json:"avgMs"`
	P95Ms     float64 `json:"p95Ms"`
}

// read gathers the metrics the page needs from g.
func read(g prometheus.Gatherer, now time.Time) (counters, error) {
	c := counters{t: now, routes: map[string]*routeCounters{}}
	mfs, err := g.Gather()
	if err != nil {
		return c, err
	}
	route := func(name string) *routeCounters {
		r := c.routes[name]
		if r == nil {
			r = &routeCounters{}
			c.routes[name] = r
		}
		return r
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case metricConnections:
				c.connections = m.GetGauge().GetValue()
			case metricConnects:
				v := m.GetCounter().GetValue()
				if label(m, "outcome") == "accepted" {
					c.accepted += v
				} else {
					c.refused += v
				}
			case metricDisconnects:
				c.disconnects += m.GetCounter().GetValue()
			case metricMessages:
				r := route(label(m, "route"))
				v := m.GetCounter().GetValue()
				r.messages += v
				c.messages += v
				if label(m, "outcome") == "error" {
					r.errors += v
				}
			case metricIntegration:
				h := m.GetHistogram()
				r := route(label(m, "route"))
				r.count, r.sum = float64(h.GetSampleCount()), h.GetSampleSum()
				for _, b := range h.GetBucket() {
					r.bounds = append(r.bounds, b.GetUpperBound())
					r.cum = append(r.cum, float64(b.GetCumulativeCount()))
				}
			case metricManagement:
				// Pushes: the management calls that send to sockets, answered 2xx.
				if op := label(m, "op"); (strings.HasPrefix(op, "PostTo") || op == "Broadcast") && strings.HasPrefix(label(m, "status"), "2") {
					c.pushes += m.GetCounter().GetValue()
				}
			}
		}
	}
	return c, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// point is the second between prev and cur.
func point(prev, cur counters) Point {
	dt := cur.t.Sub(prev.t).Seconds()
	rate := func(a, b float64) float64 {
		if dt <= 0 || b < a { // a counter reset (never, in one process) reads as 0
			return 0
		}
		return round2((b - a) / dt)
	}
	return Point{
		T: cur.t.UnixMilli(), Connections: int(cur.connections),
		ConnectsPerSec: rate(prev.accepted, cur.accepted), RefusedPerSec: rate(prev.refused, cur.refused),
		DisconnPerSec: rate(prev.disconnects, cur.disconnects),
		MessagesIn:    rate(prev.messages, cur.messages), MessagesOut: rate(prev.pushes, cur.pushes),
	}
}

// routeStats compares two readings: the routes that had integration calls or messages between
// them, slowest first.
func routeStats(old, cur counters) []RouteStat {
	var out []RouteStat
	for name, r := range cur.routes {
		o := old.routes[name]
		if o == nil {
			o = &routeCounters{}
		}
		calls := r.count - o.count
		msgs := r.messages - o.messages
		if calls <= 0 && msgs <= 0 {
			continue
		}
		s := RouteStat{Route: name, Calls: math.Max(calls, msgs), Errors: r.errors - o.errors}
		if calls > 0 {
			s.AvgMs = round2((r.sum - o.sum) / calls * 1000)
			s.P95Ms = round2(quantile(0.95, r, o, calls) * 1000)
		}
		if s.Calls > 0 {
			s.ErrorRate = round2(s.Errors / s.Calls)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AvgMs != out[j].AvgMs {
			return out[i].AvgMs > out[j].AvgMs
		}
		return out[i].Route < out[j].Route
	})
	return out
}

// quantile estimates the q-quantile of the observations made between o and r by linear
// interpolation inside the histogram bucket that holds it, as Prometheus' histogram_quantile.
func quantile(q float64, r, o *routeCounters, n float64) float64 {
	rank := q * n
	lower, below := 0.0, 0.0
	for i, ub := range r.bounds {
		c := r.cum[i]
		if i < len(o.cum) {
			c -= o.cum[i]
		}
		if c >= rank {
			if math.IsInf(ub, 1) || c == below {
				return lower
			}
			return lower + (ub-lower)*(rank-below)/(c-below)
		}
		lower, below = ub, c
	}
	return lower // beyond the last bound
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
