package hub

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// membership is this node's place among the nodes sharing a store: its lease (renewed every
// ttl/3), whether a survivor reaped it while it could not renew (a stall: a long GC pause,
// SIGSTOP), and the reaping of other nodes whose lease expired (every ttl/10). It holds no
// connections: the hub acts on what it reports.
//
// Crash detection: a node killed just after renewing its lease at t holds it until t+ttl; the
// first survivor's reap tick after that finds it dead, so the node's connections have their
// $disconnect started by t + ttl + ttl/10 (see docs/scale-out.md for the whole bound).
type membership struct {
	store   registry.Store
	node    string
	ttl     time.Duration
	timeout time.Duration // each store call
	log     *slog.Logger

	epoch time.Time // the monotonic base of validUntil
	// validUntil (nanoseconds after epoch) is when the last renewal's lease ends: the renewal
	// began before the store set its expiry, so no survivor can reap this node before then.
	validUntil atomic.Int64
	ready      atomic.Bool  // the store answered the last renewal
	reaps      atomic.Int64 // survivors' reaps of this node seen so far

	mu      sync.Mutex // serialises renewals with leave
	leaving bool
	renewed bool // a renewal succeeded once (the first discards a stale Reaped record)
	// pending is the lease end of the last successful renewal, not yet published to validUntil
	// while the renewal's outcome (reaped or not) is being acted on. Guarded by mu.
	pending int64
}

// renewal is what renew found.
type renewal uint8

const (
	renewed     renewal = iota // the lease is live
	unreachable                // the store did not answer
	uncertain                  // renewed, but whether a survivor reaped this node is unknown
	wasReaped                  // a survivor reaped this node since the last renewal
	left                       // leave ran: the lease is not renewed any more
)

// reapEvery is how often survivors look for dead nodes: ttl/10, at least 50ms.
func reapEvery(ttl time.Duration) time.Duration { return max(ttl/10, 50*time.Millisecond) }

func newMembership(store registry.Store, node string, ttl, timeout time.Duration, log *slog.Logger) *membership {
	m := &membership{store: store, node: node, ttl: ttl, timeout: timeout, log: log, epoch: time.Now()}
	m.ready.Store(true)
	return m
}

func (m *membership) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.timeout)
}

// live reports whether no survivor can have reaped this node yet: its last renewal began less
// than a lease ago.
func (m *membership) live() bool {
	return int64(time.Since(m.epoch)) < m.validUntil.Load()
}

// renew renews the lease and reports whether a survivor reaped the node meanwhile. Caller holds
// m.mu.
func (m *membership) renew(ctx context.Context) renewal {
	if m.leaving {
		return left
	}
	start := time.Since(m.epoch)
	sctx, cancel := m.ctx(ctx)
	err := m.store.Heartbeat(sctx, m.node, m.ttl)
	cancel()
	if err != nil {
		if m.ready.Swap(false) {
			m.log.Error("store unreachable: serving local connections only until it is back", observe.KeyError, err)
		}
		return unreachable
	}
	m.ready.Store(true)
	// The new lease end is published only once the outcome is known (see extend): a caller of
	// live() must not see the node live between the renewal and the Reaped check, or it would
	// act for a connection a survivor has already disconnected.
	m.pending = int64(start + m.ttl)
	// Checked after the renewal: no survivor can claim this node while the lease is live, so a
	// claim made during a stall is on record by now.
	sctx, cancel = m.ctx(ctx)
	reaped, err := m.store.Reaped(sctx, m.node)
	cancel()
	if err != nil {
		m.log.Warn("check whether this node was reaped failed; will retry", observe.KeyError, err)
		m.extend()
		return uncertain
	}
	first := !m.renewed
	m.renewed = true
	if reaped && !first {
		m.reaps.Add(1)
		return wasReaped // the caller closes the reaped connections, then calls extend
	}
	m.extend()
	return renewed
}

// extend publishes the lease end of the last successful renewal to live(). Caller holds m.mu.
func (m *membership) extend() { m.validUntil.Store(m.pending) }

// listed reports whether the store still lists this node's lease; true when it cannot tell.
func (m *membership) listed(ctx context.Context) bool {
	sctx, cancel := m.ctx(ctx)
	defer cancel()
	nodes, err := m.store.Nodes(sctx)
	return err != nil || slices.Contains(nodes, m.node)
}

// reapDead takes over the cleanup of nodes whose lease expired: each of their connections
// leaves every index and is passed to orphan (to run its $disconnect here, since its own node
// no longer can). Exactly one survivor wins each dead node (Store.ClaimDeadNode).
func (m *membership) reapDead(ctx context.Context, orphan func(registry.Conn, string)) {
	sctx, cancel := m.ctx(ctx)
	dead, err := m.store.DeadNodes(sctx)
	cancel()
	if err != nil || len(dead) == 0 {
		return
	}
	for _, node := range dead {
		if node == m.node {
			continue
		}
		sctx, cancel := m.ctx(ctx)
		won, err := m.store.ClaimDeadNode(sctx, node, m.node, m.ttl)
		cancel()
		if err != nil || !won {
			continue
		}
		sctx, cancel = m.ctx(ctx)
		conns, err := m.store.NodeConns(sctx, node)
		cancel()
		if err != nil {
			m.log.Warn("list dead node's connections failed", "node", node, observe.KeyError, err)
			continue
		}
		m.log.Warn("node lost: cleaning up its connections", "node", node, "connections", len(conns))
		reason := fmt.Sprintf("wsgate node %s lost", node)
		for _, c := range conns {
			sctx, cancel := m.ctx(ctx)
			rec, removed, err := m.store.Unregister(sctx, c.ID)
			cancel()
			if err == nil && removed {
				orphan(rec, reason)
			}
		}
	}
}

// leave drops the lease and stops renewals. The lease is dropped by renewing it for a
// millisecond (the Store has no delete): with no connections left, the next survivor's reap
// (DeadNodes) then forgets the node.
func (m *membership) leave(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leaving = true
	m.validUntil.Store(0)
	sctx, cancel := m.ctx(ctx)
	defer cancel()
	if err := m.store.Heartbeat(sctx, m.node, time.Millisecond); err != nil {
		m.log.Warn("drop node lease failed; it expires on its own", "node", m.node, observe.KeyError, err)
	}
}
