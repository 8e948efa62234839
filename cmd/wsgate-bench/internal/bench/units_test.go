package bench

import (
	"math"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h Hist
	if !math.IsNaN(h.Quantile(.5)) || !math.IsNaN(h.Max()) {
		t.Fatal("empty histogram must give NaN")
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct{ q, want float64 }{{.5, 500}, {.9, 900}, {.99, 990}} {
		if got := h.Quantile(c.q); got < c.want || got > c.want*1.04 {
			t.Errorf("q%.2f = %.1fms, want %.0fms within 4%%", c.q, got, c.want)
		}
	}
	if h.Max() != 1000 || h.Count() != 1000 {
		t.Errorf("max %.1f count %d", h.Max(), h.Count())
	}
}

func TestBuckets(t *testing.T) {
	prev := -1
	for us := int64(0); us < 1<<20; us += 1 + us/50 {
		b := bucketOf(us)
		if b < prev || us > bucketHigh(b) || (b > 0 && us <= bucketHigh(b-1)) {
			t.Fatalf("%dµs in bucket %d [.., %d], previous bucket ends %d", us, b, bucketHigh(b), bucketHigh(b-1))
		}
		prev = b
	}
}

func TestEchoMessage(t *testing.T) {
	now := time.Unix(0, 1700000000123456789)
	m := echoMessage(nil, now, "ff")
	if string(m) != `{"action":"echo","t":1700000000123456789,"f":"ff"}` {
		t.Fatalf("%s", m)
	}
	if got, ok := sentAt(m); !ok || !got.Equal(now) {
		t.Fatalf("sentAt: %v %v", got, ok)
	}
	if _, ok := sentAt([]byte(`{"t":x}`)); ok {
		t.Fatal("sentAt accepted no digits")
	}
}

func TestEscapeSegment(t *testing.T) {
	if got := escapeSegment("aB3-_.~=/+"); got != "aB3-_.~%3D%2F%2B" {
		t.Fatal(got)
	}
}
