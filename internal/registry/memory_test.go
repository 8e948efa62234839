package registry_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/registry/registrytest"
)

// fakeClock is a clock the contract suite moves forward through registrytest.Advancer.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// clockedMemory is a memory store whose clock the suite can advance.
type clockedMemory struct {
	*registry.Memory
	clock *fakeClock
}

func (m clockedMemory) Advance(d time.Duration) {
	m.clock.mu.Lock()
	m.clock.now = m.clock.now.Add(d)
	m.clock.mu.Unlock()
}

func TestMemoryContract(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registry.Store {
		clock := &fakeClock{now: time.Now()}
		return clockedMemory{Memory: registry.NewMemoryWithClock(clock.Now), clock: clock}
	})
}

func TestMemoryForgetsLastSeenAfterTTL(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	s := registry.NewMemoryWithClock(clock.Now)
	if err := s.Register(ctx, registry.Conn{ID: "c", Node: "n", UserID: "u", ConnectedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Unregister(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(registry.DefaultLastSeenTTL + time.Second)
	clock.mu.Unlock()
	ps, _ := s.Presence(ctx, []string{"u"})
	if !ps[0].LastActiveAt.IsZero() {
		t.Fatalf("LastActiveAt after DefaultLastSeenTTL = %v, want forgotten", ps[0].LastActiveAt)
	}
	// Heartbeats sweep one user shard each; after enough of them the entry is gone for good.
	for range 64 {
		if err := s.Heartbeat(ctx, "n", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.UserEntries(); n != 0 {
		t.Fatalf("%d user entries kept after sweeping, want 0", n)
	}
}

func BenchmarkMemoryRegisterUnregister(b *testing.B) {
	s := registry.NewMemory()
	ctx := context.Background()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("conn-%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := registry.Conn{ID: ids[i%len(ids)], Node: "node-1", UserID: "user", ConnectedAt: time.Now(), SourceIP: "192.0.2.1"}
		if err := s.Register(ctx, c); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Unregister(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	s := registry.NewMemory()
	ctx := context.Background()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("conn-%d", i)
		if err := s.Register(ctx, registry.Conn{ID: ids[i], Node: "node-1", SourceIP: "192.0.2.1"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Get(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkMemoryHeapPerConn reports what one registered connection (with a user and one group)
// costs in heap, ids included: the figure that decides whether 1M connections fit.
func BenchmarkMemoryHeapPerConn(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		s := registry.NewMemory()
		for i := range n {
			c := registry.Conn{
				ID: fmt.Sprintf("Zp3xAbCdEfGhI%06d", i), Node: "node-1", UserID: fmt.Sprintf("user-%d", i),
				ConnectedAt: time.Now(), SourceIP: "192.0.2.1",
			}
			if err := s.Register(ctx, c); err != nil {
				b.Fatal(err)
			}
			if err := s.Join(ctx, c.ID, "room"); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/conn")
		runtime.KeepAlive(s)
		b.StartTimer()
	}
}

// liveConn is a connection that describes itself, as the gateway's does.
type liveConn struct {
	rec    registry.Conn
	active atomic.Int64 // unix nanos
}

func (l *liveConn) Info() registry.Conn {
	c := l.rec
	c.LastActiveAt = time.Unix(0, l.active.Load())
	return c
}

// TestMemoryRegisterSourceReadsTheLiveRecord: a connection registered by reference is read from
// its source every time (no copy that goes stale: lastActiveAt moves without Touch), and is
// indexed by user, group and node like a copied record.
func TestMemoryRegisterSourceReadsTheLiveRecord(t *testing.T) {
	ctx := context.Background()
	s := registry.NewMemory().(*registry.Memory)
	t0 := time.UnixMilli(1_700_000_000_000)
	l := &liveConn{rec: registry.Conn{ID: "a", Node: "n1", ConnectedAt: t0, SourceIP: "10.0.0.1", UserID: "u1"}}
	l.active.Store(t0.UnixNano())
	var _ registry.SourceRegisterer = s
	if err := s.RegisterSource(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterSource(ctx, &liveConn{}); err == nil {
		t.Fatal("RegisterSource of a record with no id: want an error")
	}
	t1 := t0.Add(time.Minute)
	l.active.Store(t1.UnixNano())
	got, err := s.Get(ctx, "a")
	if err != nil || !got.LastActiveAt.Equal(t1) || got.SourceIP != "10.0.0.1" {
		t.Fatalf("Get = %+v, %v; want the source's current record (lastActiveAt %v)", got, err, t1)
	}
	if err := s.Join(ctx, "a", "g"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GroupMembers(ctx, "g"); len(m) != 1 || m[0].ID != "a" {
		t.Fatalf("GroupMembers = %+v", m)
	}
	if m, _ := s.UserConns(ctx, "u1"); len(m) != 1 || !m[0].LastActiveAt.Equal(t1) {
		t.Fatalf("UserConns = %+v", m)
	}
	if m, _ := s.NodeConns(ctx, "n1"); len(m) != 1 {
		t.Fatalf("NodeConns = %+v", m)
	}
	rc, ok, err := s.Unregister(ctx, "a")
	if err != nil || !ok || rc.ID != "a" || !rc.LastActiveAt.Equal(t1) {
		t.Fatalf("Unregister = %+v, %v, %v", rc, ok, err)
	}
	if p, _ := s.Presence(ctx, []string{"u1"}); p[0].Online || p[0].LastActiveAt.Before(t1) {
		t.Fatalf("Presence after close = %+v; want offline, last seen at or after %v", p[0], t1)
	}
	if m, _ := s.GroupMembers(ctx, "g"); len(m) != 0 {
		t.Fatalf("GroupMembers after Unregister = %+v", m)
	}
}
