package observe

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Counters are the counters of a one-label vector, cached by label value: WithLabelValues
// hashes the value and looks it up under the vector's lock on every call, about a microsecond
// on a connect, where a sync.Map read is a few nanoseconds. The label values must be few (an
// outcome or a reason, not an id): each is kept for the process's life. Safe for concurrent use.
type Counters struct {
	vec *prometheus.CounterVec
	m   sync.Map // label value -> prometheus.Counter
}

// NewCounters caches the counters of vec, which must have exactly one label.
func NewCounters(vec *prometheus.CounterVec) *Counters { return &Counters{vec: vec} }

// Inc adds one to the counter labelled value.
func (c *Counters) Inc(value string) {
	if v, ok := c.m.Load(value); ok {
		v.(prometheus.Counter).Inc()
		return
	}
	ctr := c.vec.WithLabelValues(value)
	c.m.Store(value, ctr)
	ctr.Inc()
}
