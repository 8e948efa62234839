package event

import (
	"regexp"
	"testing"
	"time"
)

// NewTraceID has X-Ray's shape with the epoch second in hex, and 96 bits that differ per call.
func TestNewTraceID(t *testing.T) {
	now := time.Unix(0x6756a2f1, 0)
	shape := regexp.MustCompile(`^Root=1-6756a2f1-[0-9a-f]{24}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewTraceID(now)
		if !shape.MatchString(id) {
			t.Fatalf("NewTraceID = %q, want Root=1-6756a2f1-{24 hex digits}", id)
		}
		if seen[id] {
			t.Fatalf("NewTraceID repeated %q within 1,000 calls", id)
		}
		seen[id] = true
	}
}
