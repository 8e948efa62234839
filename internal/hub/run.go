package hub

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
)

// Run subscribes to this node's deliveries and keeps the node's lease, activity times and
// registrations in the store current, reaping dead nodes, until ctx ends. It returns once the
// subscription is up (or failed); the background work goes on until ctx is done.
func (h *Hub[C]) Run(ctx context.Context) error {
	if err := h.o.Bus.Subscribe(ctx, h.o.Node, h.handleBus); err != nil {
		return fmt.Errorf("subscribe node %s: %w", h.o.Node, err)
	}
	h.heartbeat(ctx)
	go h.loop(ctx)
	return nil
}

func (h *Hub[C]) loop(ctx context.Context) {
	ttl := h.o.LeaseTTL
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	beat := time.NewTicker(ttl / 3)
	defer beat.Stop()
	touch := time.NewTicker(time.Second)
	defer touch.Stop()
	lastTouch := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			h.heartbeat(ctx)
			if h.Ready() {
				h.reap(ctx, ttl)
			}
		case now := <-touch.C:
			h.flushActivity(ctx, lastTouch)
			lastTouch = now
		}
	}
}

// heartbeat renews the lease; after a failure it re-registers every local connection, since
// the store may have lost them (a Redis restart without persistence). If instead a survivor
// reaped this node while it could not renew (Store.Reaped), those connections already had their
// $disconnect there: they are dropped and closed (OnReaped), not registered again.
func (h *Hub[C]) heartbeat(ctx context.Context) {
	h.beatMu.Lock()
	defer h.beatMu.Unlock()
	if h.leaving {
		return
	}
	if h.ready.Load() && !h.needsSync.Load() && h.Len() > 0 && !h.leaseLive(ctx) {
		// The store answers but forgot our lease: Redis restarted between two beats (so no
		// heartbeat failed), or a survivor reaped us after a stall. Our records may be gone.
		h.o.Logger.Warn("node lease lost (store restarted, or this node was reaped); re-registering local connections", "connections", h.Len())
		h.needsSync.Store(true)
	}
	sctx, cancel := h.storeCtx(ctx)
	err := h.o.Store.Heartbeat(sctx, h.o.Node, h.o.LeaseTTL)
	cancel()
	if err != nil {
		if h.ready.Swap(false) {
			h.o.Logger.Error("store unreachable: serving local connections only until it is back", "err", err)
		}
		h.needsSync.Store(true)
		return
	}
	if !h.ready.Swap(true) {
		h.o.Logger.Info("store reachable again; re-registering local connections", "connections", h.Len())
	}
	// Checked after the renewal: no survivor can claim this node while the lease is live, so a
	// claim made during a stall is on record by now.
	sctx, cancel = h.storeCtx(ctx)
	reaped, err := h.o.Store.Reaped(sctx, h.o.Node)
	cancel()
	if err != nil {
		h.needsSync.Store(true) // resync waits until we know whether a survivor reaped us
		h.o.Logger.Warn("check whether this node was reaped failed; will retry", "err", err)
		return
	}
	first := !h.beaten
	h.beaten = true
	if reaped && !first {
		h.dropReaped()
		// Not resync: the survivor unregisters this node's records and runs their $disconnect;
		// removing them here too could beat it to a record and leave a connection without one.
		h.needsSync.Store(false)
		return
	}
	if h.needsSync.Swap(false) {
		if err := h.resync(ctx); err != nil {
			h.needsSync.Store(true)
			h.o.Logger.Warn("re-register local connections failed; will retry", "err", err)
		}
	}
}

// dropReaped forgets every local connection (their records belong to the survivor that reaped
// this node) and has them closed without another $disconnect.
func (h *Hub[C]) dropReaped() {
	var conns []C
	h.Each(func(c C) bool {
		conns = append(conns, c)
		return true
	})
	for _, c := range conns {
		h.Forget(c.ID())
	}
	h.o.Logger.Warn("this node was reaped by a survivor after missing its lease (stalled?): closing its connections; their $disconnect already ran there",
		"connections", len(conns), "closeCode", CloseReaped.Code)
	for _, c := range conns {
		c.Close(CloseReaped)
	}
}

// leaseLive reports whether the store still lists this node's lease; true when it cannot tell.
func (h *Hub[C]) leaseLive(ctx context.Context) bool {
	sctx, cancel := h.storeCtx(ctx)
	defer cancel()
	nodes, err := h.o.Store.Nodes(sctx)
	return err != nil || slices.Contains(nodes, h.o.Node)
}

// resync registers every local connection (and its groups) again, then unregisters the
// records the store still holds for this node that are no longer live here: connections that
// closed while their Unregister could not reach the store.
func (h *Hub[C]) resync(ctx context.Context) error {
	if err := h.reregister(ctx); err != nil {
		return err
	}
	sctx, cancel := h.storeCtx(ctx)
	stored, err := h.o.Store.NodeConns(sctx, h.o.Node)
	cancel()
	if err != nil {
		return err
	}
	for _, c := range stored {
		if _, ok := h.Local(c.ID); ok {
			continue
		}
		sctx, cancel := h.storeCtx(ctx)
		_, _, err := h.o.Store.Unregister(sctx, c.ID)
		cancel()
		if err != nil {
			return err
		}
		h.o.Logger.Info("removed the record of a connection that closed while the store was unreachable", "conn", c.ID)
	}
	return nil
}

func (h *Hub[C]) reregister(ctx context.Context) error {
	var err error
	h.Each(func(c C) bool {
		sctx, cancel := h.storeCtx(ctx)
		defer cancel()
		if err = h.o.Store.Register(sctx, c.Info()); err != nil {
			return false
		}
		h.groupsMu.Lock()
		gs := append([]string(nil), h.groups[c.ID()]...)
		h.groupsMu.Unlock()
		for _, g := range gs {
			if err = h.o.Store.Join(sctx, c.ID(), g); err != nil {
				return false
			}
		}
		return true
	})
	return err
}

// flushActivity writes lastActiveAt of connections active since the last flush, in one batch.
func (h *Hub[C]) flushActivity(ctx context.Context, since time.Time) {
	at := map[string]time.Time{}
	h.Each(func(c C) bool {
		if t := c.LastActive(); t.After(since) {
			at[c.ID()] = t
		}
		return true
	})
	if len(at) == 0 {
		return
	}
	sctx, cancel := h.storeCtx(ctx)
	defer cancel()
	if err := h.o.Store.Touch(sctx, at); err != nil {
		h.o.Logger.Debug("flush activity times failed", "err", err)
	}
}

// reap takes over the cleanup of nodes whose lease expired: each of their connections leaves
// every index and gets its $disconnect here, since its own node can no longer run it.
func (h *Hub[C]) reap(ctx context.Context, ttl time.Duration) {
	sctx, cancel := h.storeCtx(ctx)
	dead, err := h.o.Store.DeadNodes(sctx)
	cancel()
	if err != nil || len(dead) == 0 {
		return
	}
	for _, node := range dead {
		if node == h.o.Node {
			continue
		}
		sctx, cancel := h.storeCtx(ctx)
		won, err := h.o.Store.ClaimDeadNode(sctx, node, h.o.Node, ttl)
		cancel()
		if err != nil || !won {
			continue
		}
		sctx, cancel = h.storeCtx(ctx)
		conns, err := h.o.Store.NodeConns(sctx, node)
		cancel()
		if err != nil {
			h.o.Logger.Warn("list dead node's connections failed", "node", node, "err", err)
			continue
		}
		h.o.Logger.Warn("node lost: cleaning up its connections", "node", node, "connections", len(conns))
		reason := fmt.Sprintf("wsgate node %s lost", node)
		for _, c := range conns {
			h.orphan(ctx, c, reason)
		}
	}
}

func (h *Hub[C]) orphan(ctx context.Context, c registry.Conn, reason string) {
	sctx, cancel := h.storeCtx(ctx)
	rec, removed, err := h.o.Store.Unregister(sctx, c.ID)
	cancel()
	if err != nil || !removed {
		return
	}
	if h.o.OnOrphan != nil {
		h.o.OnOrphan(rec, reason)
	}
}

// Deregister removes every local connection from the store and drops this node's lease; used
// at shutdown after the sockets are closed, so nothing is left for survivors to reap. No
// heartbeat renews the lease afterwards. The lease is dropped by renewing it for a millisecond
// (the Store has no delete): with no connections left, the next survivor's reap (DeadNodes)
// then forgets the node.
func (h *Hub[C]) Deregister(ctx context.Context) {
	h.Each(func(c C) bool {
		h.Remove(ctx, c.ID())
		return true
	})
	h.beatMu.Lock()
	defer h.beatMu.Unlock()
	h.leaving = true
	sctx, cancel := h.storeCtx(ctx)
	defer cancel()
	if err := h.o.Store.Heartbeat(sctx, h.o.Node, time.Millisecond); err != nil {
		h.o.Logger.Warn("drop node lease failed; it expires on its own", "node", h.o.Node, "err", err)
	}
}
