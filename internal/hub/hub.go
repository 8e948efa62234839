// Package hub is the node's view of connections: the live sockets it holds, and delivery to any
// connection, user, group or broadcast, local or on another node (through the registry for
// "who is where" and the bus for "carry this there").
//
// A push travels server mux -> management (path, signature, AWS errors) -> hub (this package:
// PostToConnection and its siblings in backend.go) -> Conn.Send on the node that holds the
// socket, directly or through the bus. The hub reports failures with its own errors (ErrGone,
// ErrSlowConsumer, ErrPayloadTooLarge), which management maps to AWS's; it imports nothing
// above it.
//
// Lock order: shard.mu is a leaf lock; no hub method holds it while calling the store, the bus
// or a Conn.
package hub

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// Conn is what the hub needs of a live socket held by this node (the gateway's connection).
// Implementations are safe for concurrent use.
type Conn interface {
	comparable
	ID() string
	// Send queues data as one text frame. It never blocks; ErrGone once the connection is
	// closing or closed, ErrSlowConsumer when its send queue is full.
	Send(data []byte) error
	// Close closes the socket for r: a close frame with r's code and text, then $disconnect
	// (none for CloseReaped: a survivor already ran it).
	Close(r CloseReason)
	// Info is the registry record of the connection, lastActiveAt current.
	Info() registry.Conn
	// LastActive is the time of the connection's last data frame (the registry's lastActiveAt).
	LastActive() time.Time
}

// Errors of the delivery methods (PostToConnection, DeleteConnection, PostToUser, ...; see
// backend.go) and of Conn.Send. Each failure is reported with one of them, wrapped or not (test
// with errors.Is); any other error is a store or bus failure. The management API maps them to
// AWS's errors: 410 GoneException, 429 LimitExceededException, 413 PayloadTooLargeException.
var (
	// ErrGone: no live connection has that id on any node: it closed, never existed, or its
	// node is gone (the registry has no record, the bus no subscriber for the owner). For a
	// user: none of the user's connections is live.
	ErrGone = errors.New("hub: connection gone")
	// ErrSlowConsumer: the connection's send queue is full; nothing was queued.
	ErrSlowConsumer = errors.New("hub: send queue full")
	// ErrPayloadTooLarge: the data is larger than Options.MaxMessageBytes.
	ErrPayloadTooLarge = errors.New("hub: payload larger than the message size limit")
)

// CloseReason is why the hub closes a connection: the close frame's code and text (which
// $disconnect reports as disconnectStatusCode and disconnectReason) and the label metrics count
// it under. Comparable: a Conn tells the hub's reasons apart with ==.
type CloseReason struct {
	Code  int
	Text  string
	Label string
}

// The reasons the hub closes connections for.
var (
	// CloseDeleted is DeleteConnection (@connections DELETE), as AWS: 1000.
	CloseDeleted = CloseReason{1000, "Connection deleted", "deleted"}
	// CloseUserDeleted closes every connection of a user (the users extension).
	CloseUserDeleted = CloseReason{1000, "User disconnected", "user_deleted"}
	// CloseReaped (1012, Service Restart: the client may reconnect at once) closes the sockets
	// of a node that finds a survivor reaped it after a stall; the load balancer sends the
	// reconnect to a live node (possibly this one, now with a fresh lease). The survivor ran
	// their $disconnect, so the Conn must not run another.
	CloseReaped = CloseReason{1012, "wsgate node lost its lease; reconnect", "node_reaped"}
)

// closeReasonOf is the reason a bus Close message carries (its code and text on the wire).
func closeReasonOf(m bus.Message) CloseReason {
	for _, r := range [...]CloseReason{CloseDeleted, CloseUserDeleted, CloseReaped} {
		if r.Code == m.Code && r.Text == m.Reason {
			return r
		}
	}
	return CloseReason{Code: m.Code, Text: m.Reason, Label: "closed"}
}

const shardCount = 64

type shard[C Conn] struct {
	mu    sync.RWMutex
	conns table[C]
}

// Options configure a Hub.
type Options struct {
	Node  string
	Store registry.Store
	Bus   bus.Bus
	// MaxMessageBytes rejects larger pushes with ErrPayloadTooLarge.
	MaxMessageBytes int
	// LeaseTTL is how long this node's lease lives without renewal (renewed every LeaseTTL/3);
	// survivors reap a node whose lease expired (they look every LeaseTTL/10). 0: DefaultLeaseTTL.
	LeaseTTL time.Duration
	// OnOrphan runs for each connection of a dead node this node reaped (to run $disconnect).
	OnOrphan func(c registry.Conn, reason string)
	Logger   *slog.Logger
	// StoreTimeout bounds each store call made on a delivery path.
	StoreTimeout time.Duration
	// OrderViaBus routes deliveries to this node's own connections through its bus
	// subscription too, while the store is reachable. Set it when the bus is shared with other
	// nodes (Redis): a push accepted here then queues behind pushes other nodes already had
	// accepted for the same connection, so pushes made one after another, through any nodes,
	// arrive in that order. The cost is a bus round trip per local push; if the bus fails, the
	// push is delivered directly.
	OrderViaBus bool
}

// DefaultLeaseTTL is the lease of a node whose Options do not set one (config's nodeLeaseTtl).
const DefaultLeaseTTL = 10 * time.Second

// Hub holds the gateway's connections as C (so the gateway gets its own type back from Each
// and Local, with no type assertion). Safe for concurrent use.
type Hub[C Conn] struct {
	o      Options
	seed   maphash.Seed
	shards [shardCount]shard[C]
	count  atomic.Int64
	// workers, when set (tests only), is the goroutine count EachParallel uses instead of
	// GOMAXPROCS, so that the parallel path runs on a one-CPU machine too.
	workers int

	// groups remembers the groups of local connections, so they can be re-registered after a
	// store outage. Sparse: only connections that joined a group have an entry.
	groupsMu sync.Mutex
	groups   map[string][]string

	// attached is the store when it reads local connections from the hub's own shards
	// (registry.Attacher, the memory store) instead of keeping an entry of its own for each.
	attached registry.Attacher

	// viaOwner, when the bus can check a record and publish in one step (Redis), sends to a
	// remote connection whose node owners remembers without looking its record up first.
	viaOwner bus.OwnerPublisher
	owners   *owners

	members   *membership
	needsSync atomic.Bool // the store may not hold every local connection: register them again
	running   atomic.Bool // Run started the lease
}

// New returns a hub; call Run to start its background work.
func New[C Conn](o Options) *Hub[C] {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StoreTimeout == 0 {
		o.StoreTimeout = 5 * time.Second
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	h := &Hub[C]{o: o, seed: maphash.MakeSeed(), groups: map[string][]string{},
		members: newMembership(o.Store, o.Node, o.LeaseTTL, o.StoreTimeout, o.Logger)}
	for i := range h.shards {
		h.shards[i].conns = newTable[C]()
	}
	if op, ok := o.Bus.(bus.OwnerPublisher); ok {
		h.viaOwner, h.owners = op, newOwners()
	}
	if at, ok := o.Store.(registry.Attacher); ok {
		h.attached = at
		at.Attach(o.Node, index[C]{h})
	}
	return h
}

// index is the hub's local connections as the registry.Index an in-process store reads
// (registry.Attacher): one map entry per connection, the hub's, instead of one in each.
type index[C Conn] struct{ h *Hub[C] }

func (x index[C]) Source(id string) (registry.Source, bool) {
	c, ok := x.h.Local(id)
	if !ok {
		return nil, false
	}
	return c, true
}

func (x index[C]) EachSource(f func(registry.Source) bool) {
	x.h.Each(func(c C) bool { return f(c) })
}

func (x index[C]) Len() int { return x.h.Len() }

// Node is this node's id.
func (h *Hub[C]) Node() string { return h.o.Node }

// Ready reports whether the store answered the last heartbeat.
func (h *Hub[C]) Ready() bool { return h.members.ready.Load() }

// Len is the number of local connections.
func (h *Hub[C]) Len() int { return int(h.count.Load()) }

func (h *Hub[C]) shard(id string) *shard[C] {
	return &h.shards[maphash.String(h.seed, id)%shardCount]
}

// Add makes c reachable: locally at once, and in the store. A store failure is logged, not
// returned: the socket keeps working locally and is registered again when the store is back.
func (h *Hub[C]) Add(ctx context.Context, c C) {
	s := h.shard(c.ID())
	s.mu.Lock()
	s.conns.put(c)
	s.mu.Unlock()
	h.count.Add(1)
	if err := h.register(ctx, c); err != nil {
		h.needsSync.Store(true)
		h.o.Logger.Warn("register connection in store failed; will retry", observe.KeyConnectionID, c.ID(), observe.KeyError, err)
	}
}

// register records c in the store: by reference where the store can keep the connection
// itself (registry.SourceRegisterer, the memory store), so no copy of its record is held.
func (h *Hub[C]) register(ctx context.Context, c C) error {
	if sr, ok := h.o.Store.(registry.SourceRegisterer); ok {
		return sr.RegisterSource(ctx, c) // in the process, no I/O: no deadline to set
	}
	return h.registerCopy(ctx, c)
}

// registerCopy sends c's record to a store over the network, within StoreTimeout. A function
// of its own, so that its frame (the record, the timer) is not on the stack of every connect
// to the in-process store.
//
//go:noinline
func (h *Hub[C]) registerCopy(ctx context.Context, c C) error {
	ctx, cancel := context.WithTimeout(ctx, h.o.StoreTimeout)
	defer cancel()
	return h.o.Store.Register(ctx, c.Info())
}

// Remove forgets a local connection everywhere. It returns false if it was not held here.
// With an attached in-process store (registry.Attacher) both happen in one step, with no I/O.
func (h *Hub[C]) Remove(ctx context.Context, id string) bool {
	if h.attached != nil {
		c, ok := h.drop(id)
		if ok {
			h.attached.Drop(c)
		}
		return ok
	}
	if !h.Forget(id) {
		return false
	}
	h.Unregister(ctx, id)
	return true
}

// StoreInProcess reports whether the store is the attached in-process one (the memory store),
// whose calls do no I/O and so may run on any goroutine: Remove then never waits.
func (h *Hub[C]) StoreInProcess() bool { return h.attached != nil }

// Forget drops a local connection from this node at once, without waiting on the store, so
// that nothing delivers to it any more; it reports whether the connection was held here.
// Unregister must follow. For callers that must not wait on the store (nbio's close callbacks).
// An attached in-process store (registry.Attacher) is handed the connection (Release), which
// takes a shard lock and never blocks on I/O.
func (h *Hub[C]) Forget(id string) bool {
	c, ok := h.drop(id)
	if ok && h.attached != nil {
		h.attached.Release(c) // the store holds its record until Unregister
	}
	return ok
}

// drop takes id out of this node's index and group memory, and returns what it held.
func (h *Hub[C]) drop(id string) (C, bool) {
	s := h.shard(id)
	s.mu.Lock()
	c, ok := s.conns.remove(id)
	s.mu.Unlock()
	if !ok {
		return c, false
	}
	h.count.Add(-1)
	h.groupsMu.Lock()
	delete(h.groups, id)
	h.groupsMu.Unlock()
	return c, true
}

// Unregister removes a forgotten connection from the store. A failure is logged and repaired
// by the next resync.
func (h *Hub[C]) Unregister(ctx context.Context, id string) {
	if _, local := h.o.Store.(registry.SourceRegisterer); !local {
		// A store over the network gets StoreTimeout; the memory store does no I/O, and a
		// timer per close (context.WithTimeout) was a few percent of a connect's CPU.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.o.StoreTimeout)
		defer cancel()
	}
	if _, _, err := h.o.Store.Unregister(ctx, id); err != nil {
		h.needsSync.Store(true)
		h.o.Logger.Warn("unregister connection from store failed", observe.KeyConnectionID, id, observe.KeyError, err)
	}
}

// Local returns a connection held by this node.
func (h *Hub[C]) Local(id string) (C, bool) {
	s := h.shard(id)
	s.mu.RLock()
	c, ok := s.conns.get(id)
	s.mu.RUnlock()
	return c, ok
}

// Each calls f for every local connection until f returns false. f must not call Add or Remove.
func (h *Hub[C]) Each(f func(C) bool) {
	var batch []C
	for i := range h.shards {
		batch = h.shards[i].snapshot(batch[:0])
		for _, c := range batch {
			if !f(c) {
				return
			}
		}
	}
}

// EachParallel calls f for every local connection from up to GOMAXPROCS goroutines (one shard
// at a time each) and returns when all calls are done. For fan-out, where one write system call
// per socket dominates and a single goroutine would leave the other cores idle. f must be safe
// for concurrent use and must not call Add or Remove.
func (h *Hub[C]) EachParallel(f func(C)) {
	workers := runtime.GOMAXPROCS(0)
	if h.workers > 0 {
		workers = h.workers
	}
	workers = min(workers, shardCount)
	if workers <= 1 || h.Len() < parallelMin {
		h.Each(func(c C) bool { f(c); return true })
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []C
			for i := next.Add(1) - 1; i < shardCount; i = next.Add(1) - 1 {
				batch = h.shards[i].snapshot(batch[:0])
				for _, c := range batch {
					f(c)
				}
			}
		}()
	}
	wg.Wait()
}

// snapshot appends the shard's connections to batch, so callers work without the lock.
func (s *shard[C]) snapshot(batch []C) []C {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conns.appendTo(batch)
}

// parallelMin is the connection count below which fan-out stays on the calling goroutine.
const parallelMin = 512

func (h *Hub[C]) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, h.o.StoreTimeout)
}

// deliver sends to one connection wherever it lives. A remote delivery is accepted once the
// owner's bus took it.
func (h *Hub[C]) deliver(ctx context.Context, c registry.Conn, m bus.Message) error {
	h.EnsureLease(ctx) // a node resumed after a stall delivers nothing before it knows it was not reaped
	if local, ok := h.Local(c.ID); ok {
		if h.o.OrderViaBus && h.Ready() {
			err := h.o.Bus.Publish(ctx, h.o.Node, m)
			if err == nil {
				return nil
			}
			h.o.Logger.Debug("publish to own node failed; delivering directly", observe.KeyConnectionID, c.ID, observe.KeyError, err)
		}
		return h.apply(local, m)
	}
	if c.Node == "" || c.Node == h.o.Node {
		return ErrGone
	}
	if err := h.o.Bus.Publish(ctx, c.Node, m); err != nil {
		if errors.Is(err, bus.ErrNoSubscriber) {
			// The owner is gone (stopped or long dead): so is the connection, as the bus says.
			return ErrGone
		}
		return fmt.Errorf("publish to node %s: %w", c.Node, err)
	}
	return nil
}

func (h *Hub[C]) apply(c C, m bus.Message) error {
	switch m.Kind {
	case bus.Send:
		return c.Send(m.Data)
	case bus.Close:
		c.Close(closeReasonOf(m))
		return nil
	}
	return fmt.Errorf("unexpected bus message kind %d", m.Kind)
}

// handleBus applies a delivery another node published to us, once this node knows it was not
// reaped meanwhile (pushes accepted while it stalled are dropped with its connections if it was).
func (h *Hub[C]) handleBus(m bus.Message) {
	h.EnsureLease(context.Background())
	switch m.Kind {
	case bus.Broadcast:
		h.EachParallel(func(c C) { _ = c.Send(m.Data) }) // returns when done: order with later messages holds
		return
	case bus.Joined, bus.Left:
		h.rememberGroup(m.ConnID, m.Group, m.Kind == bus.Joined)
		return
	}
	c, ok := h.Local(m.ConnID)
	if !ok {
		return // closed meanwhile: the sender already answered, as AWS would have a moment earlier
	}
	_ = h.apply(c, m)
}

func (h *Hub[C]) checkSize(data []byte) error {
	if h.o.MaxMessageBytes > 0 && len(data) > h.o.MaxMessageBytes {
		return ErrPayloadTooLarge
	}
	return nil
}

// lookup finds a connection locally first, then in the store.
func (h *Hub[C]) lookup(ctx context.Context, id string) (registry.Conn, error) {
	if c, ok := h.Local(id); ok {
		return c.Info(), nil
	}
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	c, err := h.o.Store.Get(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		return registry.Conn{}, ErrGone
	}
	return c, err
}
