package hub_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// flaky is a real memory store that fails every call while down, as Redis does when unreachable.
type flaky struct {
	registry.Store
	down atomic.Bool
}

var errDown = errors.New("store down")

func (f *flaky) Register(ctx context.Context, c registry.Conn) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Register(ctx, c)
}

func (f *flaky) Unregister(ctx context.Context, id string) (registry.Conn, bool, error) {
	if f.down.Load() {
		return registry.Conn{}, false, errDown
	}
	return f.Store.Unregister(ctx, id)
}

func (f *flaky) Heartbeat(ctx context.Context, node string, ttl time.Duration) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Heartbeat(ctx, node, ttl)
}

type fakeConn struct{ id string }

func (c fakeConn) ID() string            { return c.id }
func (c fakeConn) Send([]byte) error     { return nil }
func (c fakeConn) Close(hub.CloseReason) {}
func (c fakeConn) LastActive() time.Time { return time.Time{} }
func (c fakeConn) Info() registry.Conn {
	return registry.Conn{ID: c.id, Node: "n1", ConnectedAt: time.Now()}
}

// After an outage the hub registers its live connections again and removes the records of
// connections that closed while their Unregister could not reach the store.
func TestResyncAfterOutage(t *testing.T) {
	st := &flaky{Store: registry.NewMemory()}
	b := bus.NewLocal()
	defer b.Close()
	h := hub.New[fakeConn](hub.Options{Node: "n1", Store: st, Bus: b, LeaseTTL: 30 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	h.Add(ctx, fakeConn{"c1"})
	h.Add(ctx, fakeConn{"c2"})

	st.down.Store(true)
	h.Remove(ctx, "c1") // its Unregister fails: the record stays in the store
	h.Add(ctx, fakeConn{"c3"})
	harness.Eventually(t, "not ready while the store is down", func() bool { return !h.Ready() })

	st.down.Store(false)
	harness.Eventually(t, "ready again", h.Ready)
	harness.Eventually(t, "c1's stale record removed and c3 registered", func() bool {
		_, err1 := st.Get(ctx, "c1")
		_, err3 := st.Get(ctx, "c3")
		return errors.Is(err1, registry.ErrNotFound) && err3 == nil
	})
	if _, err := st.Get(ctx, "c2"); err != nil {
		t.Fatalf("live connection c2 lost from the store: %v", err)
	}
}

// A node cut off from the store past its lease is reaped by a survivor, which runs $disconnect
// for its connections. When the store is back, the node must not register those connections
// again (they would get a second $disconnect when they close): it closes them with hub.CloseReaped, forgets them, and goes on with a fresh lease; new connections work as usual.
func TestReapedNodeDropsItsConnections(t *testing.T) {
	mem := registry.NewMemory()
	st := &flaky{Store: mem}
	b := bus.NewLocal()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var orphans atomic.Int64
	survivor := hub.New[*closingConn](hub.Options{Node: "n2", Store: mem, Bus: b, LeaseTTL: 30 * time.Millisecond,
		OnOrphan: func(registry.Conn, string) { orphans.Add(1) }})
	h := hub.New[*closingConn](hub.Options{Node: "n1", Store: st, Bus: b, LeaseTTL: 30 * time.Millisecond})
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c1 := &closingConn{fakeConn: fakeConn{"c1"}, closed: make(chan hub.CloseReason, 2)}
	h.Add(ctx, c1)
	if err := survivor.Run(ctx); err != nil {
		t.Fatal(err)
	}

	st.down.Store(true)
	harness.Eventually(t, "the survivor reaps c1", func() bool { return orphans.Load() == 1 })
	st.down.Store(false)
	var got hub.CloseReason
	harness.Eventually(t, "c1 closed", func() bool {
		select {
		case got = <-c1.closed:
			return true
		default:
			return false
		}
	})
	if got != hub.CloseReaped {
		t.Fatalf("c1 closed for %+v, want hub.CloseReaped", got)
	}
	if _, ok := h.Local("c1"); ok || h.Len() != 0 {
		t.Fatalf("reaped connection still held locally (Len %d)", h.Len())
	}
	harness.Eventually(t, "ready again", h.Ready)
	h.Add(ctx, &closingConn{fakeConn: fakeConn{"c4"}})
	harness.Eventually(t, "the node's lease is live again", func() bool {
		nodes, err := mem.Nodes(ctx)
		return err == nil && slices.Contains(nodes, "n1")
	})
	if _, err := mem.Get(ctx, "c1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("reaped connection c1 registered again: Get = %v", err)
	}
	if _, err := mem.Get(ctx, "c4"); err != nil {
		t.Fatalf("new connection c4 not registered: %v", err)
	}
	if n := orphans.Load(); n != 1 {
		t.Fatalf("%d orphan $disconnects, want 1", n)
	}
	select {
	case r := <-c1.closed:
		t.Fatalf("c1 closed again for %+v", r)
	default:
	}
}

// closingConn records the reasons it is closed for.
type closingConn struct {
	fakeConn
	closed chan hub.CloseReason
}

func (c *closingConn) Close(r hub.CloseReason) { c.closed <- r }

// A node that stalled past its lease (here its background loop is stopped, as SIGSTOP stops
// every goroutine) checks before it acts: EnsureLease renews first, learns that a survivor
// reaped it, and has closed its connections (hub.CloseReaped) by the time it returns, so the
// caller finds nothing to deliver to.
func TestEnsureLeaseAfterStallClosesReapedConnections(t *testing.T) {
	mem := registry.NewMemory()
	b := bus.NewLocal()
	defer b.Close()
	ctx := context.Background()
	stalled, stall := context.WithCancel(ctx)
	h := hub.New[*closingConn](hub.Options{Node: "n1", Store: mem, Bus: b, LeaseTTL: 30 * time.Millisecond})
	if err := h.Run(stalled); err != nil {
		t.Fatal(err)
	}
	c1 := &closingConn{fakeConn: fakeConn{"c1"}, closed: make(chan hub.CloseReason, 2)}
	h.Add(ctx, c1)
	h.EnsureLease(ctx) // live: nothing happens
	select {
	case r := <-c1.closed:
		t.Fatalf("c1 closed for %+v while the lease was live", r)
	default:
	}

	stall()
	var orphans atomic.Int64
	survivorCtx, stopSurvivor := context.WithCancel(ctx)
	defer stopSurvivor()
	survivor := hub.New[*closingConn](hub.Options{Node: "n2", Store: mem, Bus: b, LeaseTTL: 30 * time.Millisecond,
		OnOrphan: func(registry.Conn, string) { orphans.Add(1) }})
	if err := survivor.Run(survivorCtx); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the survivor reaps c1", func() bool { return orphans.Load() == 1 })

	reaps := h.Reaps()
	h.EnsureLease(ctx)
	select {
	case r := <-c1.closed:
		if r != hub.CloseReaped {
			t.Fatalf("c1 closed for %+v, want hub.CloseReaped", r)
		}
	default:
		t.Fatal("EnsureLease returned before closing the reaped node's connection")
	}
	if h.Reaps() != reaps+1 {
		t.Fatalf("Reaps %d -> %d, want +1", reaps, h.Reaps())
	}
	if err := h.PostToConnection(ctx, "c1", []byte("after the stall")); !errors.Is(err, hub.ErrGone) {
		t.Fatalf("push to a reaped connection: %v, want ErrGone", err)
	}
}
