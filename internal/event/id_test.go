package event_test

import (
	"testing"

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
