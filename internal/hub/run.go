package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// Run subscribes to this node's deliveries and keeps the node's lease, activity times and
// registrations in the store current, reaping dead nodes, until ctx ends. It returns once the
// subscription is up (or failed); the background work goes on until ctx is done.
func (h *Hub[C]) Run(ctx context.Context) error {
	if err := h.o.Bus.Subscribe(ctx, h.o.Node, h.handleBus); err != nil {
		return fmt.Errorf("subscribe node %s: %w", h.o.Node, err)
	}
	h.heartbeat(ctx, false)
	h.running.Store(true)
	go h.loop(ctx)
	return nil
}

func (h *Hub[C]) loop(ctx context.Context) {
	ttl := h.members.ttl
	beat := time.NewTicker(ttl / 3)
	defer beat.Stop()
	reap := time.NewTicker(reapEvery(ttl))
	defer reap.Stop()
	touch := time.NewTicker(time.Second)
	defer touch.Stop()
	lastTouch := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			h.heartbeat(ctx, false)
		case <-reap.C:
			if h.Ready() {
				h.members.reapDead(ctx, h.orphan)
			}
		case now := <-touch.C:
			h.flushActivity(ctx, lastTouch)
			lastTouch = now
		}
	}
}

// EnsureLease is the check a node makes before it acts for a connection (routes a message,
// calls an integration, delivers a push): if its lease may have lapsed (it stalled past it: a
// long GC pause, SIGSTOP), it renews it first, and if a survivor reaped it meanwhile, its
// connections are closed (CloseReaped) before EnsureLease returns, so the caller finds its
// connection closing and does nothing. Cheap while the lease is live (a clock read); a no-op
// before Run and while the store is unreachable (then no survivor can reap this node either).
func (h *Hub[C]) EnsureLease(ctx context.Context) {
	if !h.running.Load() || h.members.live() || !h.Ready() {
		return
	}
	h.heartbeat(ctx, true)
}

// Reaps counts the times this node learned a survivor had reaped it: work queued for a
// connection before a reap (its $disconnect) is dropped if the count moved meanwhile, since
// the survivor ran it.
func (h *Hub[C]) Reaps() int64 { return h.members.reaps.Load() }

// heartbeat renews the lease (if lapsed, only when it has lapsed: concurrent EnsureLease calls
// renew once); after a failure it re-registers every local connection, since the store may
// have lost them (a Redis restart without persistence). If instead a survivor reaped this node
// while it could not renew (Store.Reaped), those connections already had their $disconnect
// there: they are dropped and closed (CloseReaped), not registered again.
func (h *Hub[C]) heartbeat(ctx context.Context, lapsed bool) {
	m := h.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if lapsed && m.live() {
		return
	}
	if h.Ready() && !h.needsSync.Load() && h.Len() > 0 && !m.leaving && !m.listed(ctx) {
		// The store answers but forgot our lease: Redis restarted between two beats (so no
		// heartbeat failed), or a survivor reaped us after a stall. Our records may be gone.
		h.o.Logger.Warn("node lease lost (store restarted, or this node was reaped); re-registering local connections", "connections", h.Len())
		h.needsSync.Store(true)
	}
	wasReady := h.Ready()
	switch m.renew(ctx) {
	case left:
		return
	case unreachable, uncertain:
		h.needsSync.Store(true) // resync waits until we know whether a survivor reaped us
		return
	case wasReaped:
		h.dropReaped()
		m.extend() // live again only once the reaped connections are closing
		// Not resync: the survivor unregisters this node's records and runs their $disconnect;
		// removing them here too could beat it to a record and leave a connection without one.
		h.needsSync.Store(false)
		return
	}
	if !wasReady {
		h.o.Logger.Info("store reachable again; re-registering local connections", "connections", h.Len())
	}
	if h.needsSync.Swap(false) {
		if err := h.resync(ctx); err != nil {
			h.needsSync.Store(true)
			h.o.Logger.Warn("re-register local connections failed; will retry", observe.KeyError, err)
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
		h.o.Logger.Info("removed the record of a connection that closed while the store was unreachable", observe.KeyConnectionID, c.ID)
	}
	return nil
}

func (h *Hub[C]) reregister(ctx context.Context) error {
	var err error
	h.Each(func(c C) bool {
		sctx, cancel := h.storeCtx(ctx)
		defer cancel()
		if err = h.register(sctx, c); err != nil {
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
		h.o.Logger.Debug("flush activity times failed", observe.KeyError, err)
	}
}

// orphan runs $disconnect (OnOrphan) for a connection of a dead node this node reaped.
func (h *Hub[C]) orphan(c registry.Conn, reason string) {
	if h.o.OnOrphan != nil {
		h.o.OnOrphan(c, reason)
	}
}

// Deregister removes every local connection from the store and drops this node's lease; used
// at shutdown after the sockets are closed, so nothing is left for survivors to reap. No
// heartbeat renews the lease afterwards.
func (h *Hub[C]) Deregister(ctx context.Context) {
	h.Each(func(c C) bool {
		h.Remove(ctx, c.ID())
		return true
	})
	h.members.leave(ctx)
}
