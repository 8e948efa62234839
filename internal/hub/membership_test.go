package hub

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

func testMembership(store registry.Store, node string, ttl time.Duration) *membership {
	return newMembership(store, node, ttl, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func renew(m *membership) renewal {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.renew(context.Background())
}

// A node's lease is live from a renewal until a lease later, and not before its first renewal.
func TestMembershipLiveForOneLease(t *testing.T) {
	m := testMembership(registry.NewMemory(), "n1", 50*time.Millisecond)
	if m.live() {
		t.Fatal("live before any renewal")
	}
	if r := renew(m); r != renewed {
		t.Fatalf("renew = %d, want renewed", r)
	}
	if !m.live() {
		t.Fatal("not live right after a renewal")
	}
	harness.Eventually(t, "the lease lapses", func() bool { return !m.live() })
}

// A survivor reaps a node whose lease expired (passing each of its connections to orphan,
// once); the node learns it at its next renewal, exactly once; a record left from an earlier
// process with the same id is ignored at the first renewal.
func TestMembershipReapAndReaped(t *testing.T) {
	ctx := context.Background()
	store := registry.NewMemory()
	a := testMembership(store, "a", 30*time.Millisecond)
	b := testMembership(store, "b", time.Minute)
	if r := renew(a); r != renewed {
		t.Fatalf("a: renew = %d", r)
	}
	renew(b)
	if err := store.Register(ctx, registry.Conn{ID: "c1", Node: "a", ConnectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var orphans []string
	harness.Eventually(t, "b reaps a", func() bool {
		b.reapDead(ctx, func(c registry.Conn, reason string) {
			if reason != "wsgate node a lost" {
				t.Errorf("orphan reason %q", reason)
			}
			orphans = append(orphans, c.ID)
		})
		return len(orphans) > 0
	})
	b.reapDead(ctx, func(c registry.Conn, _ string) { orphans = append(orphans, c.ID) })
	if len(orphans) != 1 || orphans[0] != "c1" {
		t.Fatalf("orphans = %v, want [c1] once", orphans)
	}
	if r := renew(a); r != wasReaped || a.reaps.Load() != 1 {
		t.Fatalf("a's renewal after the reap = %d (reaps %d), want wasReaped once", r, a.reaps.Load())
	}
	if r := renew(a); r != renewed {
		t.Fatalf("a's next renewal = %d, want renewed", r)
	}

	// A new process with b's id finds no record of its own: b was never reaped. And one with
	// a's id, right after a was reaped, ignores the record that belonged to the old process.
	if err := store.Register(ctx, registry.Conn{ID: "c2", Node: "a", ConnectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "b reaps a again", func() bool {
		n := 0
		b.reapDead(ctx, func(registry.Conn, string) { n++ })
		return n > 0
	})
	fresh := testMembership(store, "a", time.Minute)
	if r := renew(fresh); r != renewed {
		t.Fatalf("a new process's first renewal = %d, want renewed (the old process was reaped)", r)
	}
}

// After leave no renewal renews the lease.
func TestMembershipLeave(t *testing.T) {
	store := registry.NewMemory()
	m := testMembership(store, "n1", time.Minute)
	renew(m)
	m.leave(context.Background())
	if m.live() {
		t.Fatal("live after leave")
	}
	if r := renew(m); r != left {
		t.Fatalf("renew after leave = %d, want left", r)
	}
}
