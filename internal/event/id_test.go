package event_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/event"
)

func TestNewIDShape(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := event.NewID()
		if !event.ValidID(id) {
			t.Fatalf("NewID() = %q: not 15 URL-safe base64 characters and one =", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "Dwz4leekPHcCG6Q", "Dwz4leekPHcCG6QA", "Dwz4leek+HcCG6Q=", "Dwz4leekPHcCG6Q=="} {
		if event.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// TestNewIDAllocs pins the ids every message takes (requestId and messageId) at one allocation
// each: the string.
func TestNewIDAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { _ = event.NewID() }); n > 1 {
		t.Fatalf("NewID allocates %.1f times, want 1", n)
	}
}

// TestFormatRequestTimeIsTheLayout: the hand-written formatter writes what time.Format writes
// with RequestTimeLayout in UTC, for every month, single- and double-digit fields, zones other
// than UTC, and years time.Format alone can write.
func TestFormatRequestTimeIsTheLayout(t *testing.T) {
	zone := time.FixedZone("X", -(7*3600 + 30*60))
	times := []time.Time{
		time.Date(2024, time.January, 20, 11, 55, 0, 0, time.UTC),
		time.Date(2026, time.November, 29, 23, 59, 59, 999999999, zone),
		time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, time.March, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, time.May, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
	}
	for m := time.January; m <= time.December; m++ {
		times = append(times, time.Date(2025, m, 9, 8, 7, 6, 0, zone))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(1<<36)-1<<35, 0))
	}
	for _, tm := range times {
		if got, want := event.FormatRequestTime(tm), tm.UTC().Format(event.RequestTimeLayout); got != want {
			t.Fatalf("FormatRequestTime(%v) = %q, want %q", tm, got, want)
		}
	}
}
