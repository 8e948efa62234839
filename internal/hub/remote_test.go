package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus/redisbus"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/registry/redisstore"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// recConn is a live socket that records the frames sent to it and its close.
type recConn struct {
	id, node string
	mu       sync.Mutex
	frames   []string
	closed   *hub.CloseReason
}

func (c *recConn) ID() string            { return c.id }
func (c *recConn) LastActive() time.Time { return time.Time{} }
func (c *recConn) Info() registry.Conn {
	return registry.Conn{ID: c.id, Node: c.node, ConnectedAt: time.Now()}
}

func (c *recConn) Send(data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed != nil {
		return hub.ErrGone
	}
	c.frames = append(c.frames, string(data))
	return nil
}

func (c *recConn) Close(r hub.CloseReason) {
	c.mu.Lock()
	c.closed = &r
	c.mu.Unlock()
}

func (c *recConn) got() ([]string, *hub.CloseReason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames), c.closed
}

// redisNode is a hub on a real redis-server, with the store and the bus a gateway node uses.
func redisNode(t testing.TB, srv *testredis.Server, prefix, node string) *hub.Hub[*recConn] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	st, err := redisstore.New(ctx, rdb, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := redisbus.New(ctx, rdb, redisbus.Options{Prefix: prefix, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New[*recConn](hub.Options{Node: node, Store: st, Bus: b, OrderViaBus: true, Logger: quiet})
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = b.Close()
		_ = rdb.Close()
	})
	return h
}

// Pushes from a node that does not hold the socket: after the first (a record lookup) the node
// remembers the owner and publishes in one step (bus.OwnerPublisher). Every push arrives, in
// the order made, interleaved with pushes made on the owning node; a DeleteConnection closes
// the socket; once the connection is gone a push answers ErrGone (AWS's 410 GoneException)
// although its owner was remembered, and the owner is forgotten.
func TestRemotePushesRememberOwner(t *testing.T) {
	srv := testredis.Start(t)
	a := redisNode(t, srv, "hubremote", "node-a")
	b := redisNode(t, srv, "hubremote", "node-b")
	ctx := context.Background()
	c := &recConn{id: "conn-on-b", node: "node-b"}
	b.Add(ctx, c)

	const n = 300
	var want []string
	for i := range n {
		via := a
		if i%3 == 2 {
			via = b // the owner's own pushes queue behind a's (OrderViaBus)
		}
		msg := fmt.Sprintf("push %d", i)
		if err := via.PostToConnection(ctx, c.id, []byte(msg)); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		want = append(want, msg)
		if i == 0 && !hub.RemembersOwner(a, c.id) {
			t.Fatal("after a push node-a does not remember where conn-on-b lives")
		}
	}
	harness.Eventually(t, "300 frames", func() bool { f, _ := c.got(); return len(f) >= n })
	if f, _ := c.got(); !slices.Equal(f, want) {
		t.Fatalf("frames out of order or changed:\n got %q\nwant %q", f, want)
	}

	gone := &recConn{id: "conn-gone", node: "node-b"}
	b.Add(ctx, gone)
	if err := a.PostToConnection(ctx, gone.id, []byte("first")); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the push before the close", func() bool { f, _ := gone.got(); return len(f) == 1 })
	if !b.Remove(ctx, gone.id) {
		t.Fatal("Remove: not held")
	}
	if err := a.PostToConnection(ctx, gone.id, []byte("after close")); !errors.Is(err, hub.ErrGone) {
		t.Fatalf("push to a closed connection whose owner node-a remembered: err = %v, want ErrGone", err)
	}
	if hub.RemembersOwner(a, gone.id) {
		t.Fatal("node-a still remembers the owner of a closed connection")
	}
	if err := a.PostToConnection(ctx, gone.id, []byte("again")); !errors.Is(err, hub.ErrGone) {
		t.Fatalf("second push to a closed connection: err = %v, want ErrGone", err)
	}
	if f, _ := gone.got(); !slices.Equal(f, []string{"first"}) {
		t.Fatalf("closed connection got %q, want only the push before its close", f)
	}

	if err := a.DeleteConnection(ctx, c.id); err != nil {
		t.Fatalf("DeleteConnection through the remembered owner: %v", err)
	}
	harness.Eventually(t, "the close", func() bool { _, r := c.got(); return r != nil })
	if _, r := c.got(); *r != hub.CloseDeleted {
		t.Fatalf("closed for %+v, want %+v", *r, hub.CloseDeleted)
	}
}

// A push to a remembered owner whose node has stopped (its stream deleted) answers ErrGone.
func TestRemotePushToStoppedOwnerIsGone(t *testing.T) {
	srv := testredis.Start(t)
	a := redisNode(t, srv, "hubstopped", "node-a")
	ctx, stop := context.WithCancel(context.Background())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { stop(); _ = rdb.Close() })
	st, err := redisstore.New(ctx, rdb, redisstore.Options{Prefix: "hubstopped"})
	if err != nil {
		t.Fatal(err)
	}
	bb, err := redisbus.New(ctx, rdb, redisbus.Options{Prefix: "hubstopped", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b := hub.New[*recConn](hub.Options{Node: "node-b", Store: st, Bus: bb})
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := &recConn{id: "conn-on-b", node: "node-b"}
	b.Add(ctx, c)
	if err := a.PostToConnection(ctx, c.id, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if !hub.RemembersOwner(a, c.id) {
		t.Fatal("node-a does not remember the owner")
	}
	if err := bb.Close(); err != nil { // node-b stops: its stream goes, its record stays
		t.Fatal(err)
	}
	if err := a.PostToConnection(ctx, c.id, []byte("after stop")); !errors.Is(err, hub.ErrGone) {
		t.Fatalf("push to a stopped owner: err = %v, want ErrGone", err)
	}
	if hub.RemembersOwner(a, c.id) {
		t.Fatal("node-a still remembers a stopped owner")
	}
}

// A group push fans out in one bus round trip (bus.Batcher): members on the pushing node and on
// another node each get every push, in the order made, interleaved with single pushes; the
// count is the members reached, and a member that closed is not counted.
func TestGroupPushAcrossNodes(t *testing.T) {
	srv := testredis.Start(t)
	a := redisNode(t, srv, "hubgroup", "node-a")
	b := redisNode(t, srv, "hubgroup", "node-b")
	ctx := context.Background()
	a1 := &recConn{id: "a1", node: "node-a"}
	b1, b2 := &recConn{id: "b1", node: "node-b"}, &recConn{id: "b2", node: "node-b"}
	a.Add(ctx, a1)
	b.Add(ctx, b1)
	b.Add(ctx, b2)
	for _, c := range []*recConn{a1, b1, b2} {
		if err := a.JoinGroup(ctx, c.id, "room"); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := range 20 {
		msg := fmt.Sprintf("group %d", i)
		n, err := a.PostToGroup(ctx, "room", []byte(msg))
		if err != nil || n != 3 {
			t.Fatalf("%s: reached %d, %v; want 3", msg, n, err)
		}
		want = append(want, msg)
		single := fmt.Sprintf("single %d", i)
		for _, c := range []*recConn{a1, b1, b2} {
			if err := b.PostToConnection(ctx, c.id, []byte(single)); err != nil {
				t.Fatalf("%s to %s: %v", single, c.id, err)
			}
		}
		want = append(want, single)
	}
	for _, c := range []*recConn{a1, b1, b2} {
		harness.Eventually(t, c.id+"'s frames", func() bool { f, _ := c.got(); return len(f) >= len(want) })
		if f, _ := c.got(); !slices.Equal(f, want) {
			t.Fatalf("%s got %q, want %q", c.id, f, want)
		}
	}
	if !b.Remove(ctx, b2.id) {
		t.Fatal("Remove: not held")
	}
	if n, err := a.PostToGroup(ctx, "room", []byte("after b2 left")); err != nil || n != 2 {
		t.Fatalf("after a member closed: reached %d, %v; want 2", n, err)
	}
	harness.Eventually(t, "the last push", func() bool {
		f1, _ := a1.got()
		f2, _ := b1.got()
		return len(f1) > len(want) && len(f2) > len(want)
	})
	if f, _ := b2.got(); len(f) != len(want) {
		t.Fatalf("closed member got %d frames, want %d", len(f), len(want))
	}
	// A broadcast counts this node's connections and the other node's registered ones (the
	// Redis store counts them without reading their records: registry.NodeCounter).
	if n, err := a.Broadcast(ctx, []byte("to all")); err != nil || n != 2 {
		t.Fatalf("Broadcast reached %d, %v; want 2 (a1 here, b1 on node-b)", n, err)
	}
	for _, c := range []*recConn{a1, b1} {
		harness.Eventually(t, c.id+" to get the broadcast", func() bool {
			f, _ := c.got()
			return len(f) > 0 && f[len(f)-1] == "to all"
		})
	}
}
