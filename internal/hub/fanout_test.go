package hub_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// countingConn records how many frames it was sent. The first Send of a fan-out waits (up to
// the harness's deadline) for a Send on another goroutine: it returns at once only if fan-out
// runs in parallel.
type countingConn struct {
	fakeConn
	mu      sync.Mutex
	sent    int
	overlap *overlap
}

// overlap detects two Sends in progress at once.
type overlap struct {
	inSend  atomic.Int32
	seen    atomic.Bool
	release chan struct{}
	once    sync.Once
}

func (c *countingConn) Send([]byte) error {
	o := c.overlap
	if o.inSend.Add(1) > 1 {
		o.seen.Store(true)
		o.once.Do(func() { close(o.release) })
	}
	select { // the first sender waits for a second goroutine to arrive, once
	case <-o.release:
	case <-time.After(harness.Deadline):
		o.once.Do(func() { close(o.release) }) // sequential: fail once, not once per Send
	}
	o.inSend.Add(-1)
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	return nil
}

// A broadcast above the parallel threshold reaches every local connection exactly once, from
// more than one goroutine (forced with SetFanoutWorkers: with GOMAXPROCS 1 the hub would take
// the sequential path and the parallel one would go untested), and the count it reports is the
// number reached.
func TestBroadcastFansOutToEveryConnectionOnce(t *testing.T) {
	h := hub.New[*countingConn](hub.Options{Node: "n1", Store: registry.NewMemory(), Bus: bus.NewLocal()})
	hub.SetFanoutWorkers(h, 4)
	ctx := context.Background()
	const n = 1600 // above the hub's parallel fan-out threshold (512)
	o := &overlap{release: make(chan struct{})}
	conns := make([]*countingConn, n)
	for i := range conns {
		conns[i] = &countingConn{fakeConn: fakeConn{id: fmt.Sprintf("c%04d", i)}, overlap: o}
		h.Add(ctx, conns[i])
	}
	got, err := h.Broadcast(ctx, []byte("hi"))
	if err != nil || got != n {
		t.Fatalf("Broadcast = %d, %v; want %d", got, err, n)
	}
	if !o.seen.Load() {
		t.Fatal("no two Sends ran at once: the broadcast took the sequential path")
	}
	for _, c := range conns {
		if c.sent != 1 {
			t.Fatalf("%s got %d frames, want 1", c.ID(), c.sent)
		}
	}
}
