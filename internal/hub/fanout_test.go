package hub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
)

// countingConn records how many frames it was sent.
type countingConn struct {
	fakeConn
	mu   sync.Mutex
	sent int
}

func (c *countingConn) Send([]byte) error {
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	return nil
}

// A broadcast above the parallel threshold reaches every local connection exactly once, and the
// count it reports is the number reached.
func TestBroadcastFansOutToEveryConnectionOnce(t *testing.T) {
	h := hub.New[*countingConn](hub.Options{Node: "n1", Store: registry.NewMemory(), Bus: bus.NewLocal()})
	ctx := context.Background()
	const n = 1600 // above the hub's parallel fan-out threshold (512)
	conns := make([]*countingConn, n)
	for i := range conns {
		conns[i] = &countingConn{fakeConn: fakeConn{id: fmt.Sprintf("c%04d", i)}}
		h.Add(ctx, conns[i])
	}
	got, err := h.Broadcast(ctx, []byte("hi"))
	if err != nil || got != n {
		t.Fatalf("Broadcast = %d, %v; want %d", got, err, n)
	}
	for _, c := range conns {
		if c.sent != 1 {
			t.Fatalf("%s got %d frames, want 1", c.ID(), c.sent)
		}
	}
}
