package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is a lock-free log-linear latency histogram: 32 sub-buckets per power of two of
// microseconds (about 3% resolution) from 1µs to over an hour. Record may be called from any
// goroutine.
type Hist struct {
	counts [64 * subBuckets]atomic.Int64
	max    atomic.Int64
	n      atomic.Int64
}

const subBits = 5
const subBuckets = 1 << subBits

func bucketOf(us int64) int {
	if us < subBuckets {
		return int(us)
	}
	e := bits.Len64(uint64(us)) - subBits - 1 // how far to shift to keep subBits+1 bits
	return (e+1)*subBuckets + int(us>>uint(e)) - subBuckets
}

// bucketHigh is the largest value (µs) that falls in bucket b.
func bucketHigh(b int) int64 {
	if b < subBuckets {
		return int64(b)
	}
	e := b/subBuckets - 1
	m := int64(b%subBuckets + subBuckets)
	return (m+1)<<uint(e) - 1
}

// Record adds one observation.
func (h *Hist) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	b := bucketOf(us)
	if b >= len(h.counts) {
		b = len(h.counts) - 1
	}
	h.counts[b].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Count is the number of observations.
func (h *Hist) Count() int64 { return h.n.Load() }

// Quantile returns the q-quantile (0..1) in milliseconds, the upper edge of its bucket, capped
// at the maximum seen; NaN when empty.
func (h *Hist) Quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			return float64(min(bucketHigh(b), h.max.Load())) / 1000
		}
	}
	return h.Max()
}

// Max is the largest observation in milliseconds (NaN when empty).
func (h *Hist) Max() float64 {
	if h.n.Load() == 0 {
		return math.NaN()
	}
	return float64(h.max.Load()) / 1000
}
