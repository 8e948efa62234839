package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// The delivery methods, which the management API calls (its Backend): every one works for
// connections on any node, and fails with ErrGone, ErrSlowConsumer, ErrPayloadTooLarge (see
// their docs) or a store or bus error.

// closeMessage asks the owner of connection id to close it for r.
func closeMessage(id string, r CloseReason) bus.Message {
	return bus.Message{Kind: bus.Close, ConnID: id, Code: r.Code, Reason: r.Text}
}

// PostToConnection sends data as one frame to connection id.
func (h *Hub[C]) PostToConnection(ctx context.Context, id string, data []byte) error {
	if err := h.checkSize(data); err != nil {
		return err
	}
	return h.toConnection(ctx, bus.Message{Kind: bus.Send, ConnID: id, Data: data})
}

// GetConnection describes connection id.
func (h *Hub[C]) GetConnection(ctx context.Context, id string) (registry.Conn, error) {
	return h.lookup(ctx, id)
}

// DeleteConnection closes connection id (1000, "Connection deleted"); $disconnect follows on
// the owning node.
func (h *Hub[C]) DeleteConnection(ctx context.Context, id string) error {
	return h.toConnection(ctx, closeMessage(id, CloseDeleted))
}

// toConnection delivers m (a Send or a Close) to connection m.ConnID wherever it lives. To a
// connection on another node whose owner this node remembers (owners) it goes in one step,
// the bus checking the record as it publishes (bus.OwnerPublisher): one Redis round trip per
// push instead of two. Otherwise the record is looked up first, and its node remembered.
func (h *Hub[C]) toConnection(ctx context.Context, m bus.Message) error {
	id := m.ConnID
	if _, ok := h.Local(id); ok {
		return h.deliver(ctx, registry.Conn{ID: id, Node: h.o.Node}, m)
	}
	if h.viaOwner != nil {
		if node, ok := h.owners.get(id); ok {
			h.EnsureLease(ctx)
			err := h.viaOwner.PublishToOwner(ctx, node, m)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, bus.ErrNoSubscriber):
				h.owners.forget(id)
				return ErrGone // the owner is gone, and so is the connection (as deliver says)
			case !errors.Is(err, bus.ErrNotOwner):
				return err
			}
			// No record (closed: the lookup below says ErrGone) or, never in practice, another
			// node's: nothing was published; go the long way.
			h.owners.forget(id)
		}
	}
	c, err := h.lookup(ctx, id)
	if err != nil {
		return err
	}
	if h.viaOwner != nil && c.Node != "" && c.Node != h.o.Node {
		h.owners.put(id, c.Node)
	}
	return h.deliver(ctx, c, m)
}

// fanout delivers m (with each connection's id) to conns and counts the ones reached.
func (h *Hub[C]) fanout(ctx context.Context, conns []registry.Conn, m bus.Message) (int, error) {
	if bt, ok := h.o.Bus.(bus.Batcher); ok && len(conns) > 1 {
		return h.fanoutBatch(ctx, bt, conns, m)
	}
	n := 0
	var firstErr error
	for _, c := range conns {
		m.ConnID = c.ID
		err := h.deliver(ctx, c, m)
		if err == nil {
			n++
			continue
		}
		if !errors.Is(err, ErrGone) && !errors.Is(err, ErrSlowConsumer) && firstErr == nil {
			firstErr = err
		}
	}
	if n == 0 && firstErr != nil {
		return 0, firstErr
	}
	return n, nil
}

// fanoutBatch is fanout in one bus round trip (bus.Batcher) instead of one per connection:
// every publish deliver would make (to the owner, or to this node's own stream under
// OrderViaBus) goes in one PublishBatch, in the order of conns; a local connection whose
// publish failed is delivered directly, as deliver does.
func (h *Hub[C]) fanoutBatch(ctx context.Context, bt bus.Batcher, conns []registry.Conn, m bus.Message) (int, error) {
	h.EnsureLease(ctx)
	n := 0
	var firstErr error
	count := func(err error) {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, ErrGone) && !errors.Is(err, ErrSlowConsumer) && firstErr == nil:
			firstErr = err
		}
	}
	viaBus := h.o.OrderViaBus && h.Ready()
	envs := make([]bus.Envelope, 0, len(conns))
	for _, c := range conns {
		m.ConnID = c.ID
		if local, ok := h.Local(c.ID); ok {
			if viaBus {
				envs = append(envs, bus.Envelope{Node: h.o.Node, Msg: m})
			} else {
				count(h.apply(local, m))
			}
			continue
		}
		if c.Node == "" || c.Node == h.o.Node {
			continue // gone
		}
		envs = append(envs, bus.Envelope{Node: c.Node, Msg: m})
	}
	for i, err := range bt.PublishBatch(ctx, envs) {
		e := envs[i]
		switch {
		case err == nil:
			n++
		case e.Node == h.o.Node:
			if local, ok := h.Local(e.Msg.ConnID); ok {
				h.o.Logger.Debug("publish to own node failed; delivering directly", observe.KeyConnectionID, e.Msg.ConnID, observe.KeyError, err)
				count(h.apply(local, e.Msg))
			}
		case errors.Is(err, bus.ErrNoSubscriber):
			// The owner is gone, and so is the connection.
		default:
			count(fmt.Errorf("publish to node %s: %w", e.Node, err))
		}
	}
	if n == 0 && firstErr != nil {
		return 0, firstErr
	}
	return n, nil
}

func (h *Hub[C]) userConns(ctx context.Context, userID string) ([]registry.Conn, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.UserConns(ctx, userID)
}

// PostToUser sends data to every live connection of userID.
func (h *Hub[C]) PostToUser(ctx context.Context, userID string, data []byte) (int, error) {
	if err := h.checkSize(data); err != nil {
		return 0, err
	}
	conns, err := h.userConns(ctx, userID)
	if err != nil {
		return 0, err
	}
	n, err := h.fanout(ctx, conns, bus.Message{Kind: bus.Send, Data: data})
	if err == nil && n == 0 {
		return 0, ErrGone
	}
	return n, err
}

// DeleteUser closes every connection of userID.
func (h *Hub[C]) DeleteUser(ctx context.Context, userID string) (int, error) {
	conns, err := h.userConns(ctx, userID)
	if err != nil {
		return 0, err
	}
	n, err := h.fanout(ctx, conns, closeMessage("", CloseUserDeleted))
	if err == nil && n == 0 {
		return 0, ErrGone
	}
	return n, err
}

// Presence reports users' online state and last activity.
func (h *Hub[C]) Presence(ctx context.Context, userIDs []string) ([]registry.Presence, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.Presence(ctx, userIDs)
}

// OnlineUsers pages through online users.
func (h *Hub[C]) OnlineUsers(ctx context.Context, cursor string, limit int) ([]registry.Presence, string, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.OnlineUsers(ctx, cursor, limit)
}

// JoinGroup adds a connection to a group. The owning node is told too (bus.Joined), so that
// it can register the membership again after a store outage.
func (h *Hub[C]) JoinGroup(ctx context.Context, connID, group string) error {
	sctx, cancel := h.storeCtx(ctx)
	err := h.o.Store.Join(sctx, connID, group)
	cancel()
	if err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return ErrGone
		}
		return err
	}
	h.tellOwner(ctx, connID, bus.Message{Kind: bus.Joined, ConnID: connID, Group: group})
	return nil
}

// LeaveGroup removes a connection from a group.
func (h *Hub[C]) LeaveGroup(ctx context.Context, connID, group string) error {
	if _, err := h.lookup(ctx, connID); err != nil {
		return err
	}
	sctx, cancel := h.storeCtx(ctx)
	err := h.o.Store.Leave(sctx, connID, group)
	cancel()
	if err != nil {
		return err
	}
	h.tellOwner(ctx, connID, bus.Message{Kind: bus.Left, ConnID: connID, Group: group})
	return nil
}

// tellOwner updates the owner's memory of connID's groups: here if it is local, else through
// the bus. Best effort: the store already holds the truth; this only matters for re-registration.
func (h *Hub[C]) tellOwner(ctx context.Context, connID string, m bus.Message) {
	if _, ok := h.Local(connID); ok {
		h.rememberGroup(connID, m.Group, m.Kind == bus.Joined)
		return
	}
	c, err := h.lookup(ctx, connID)
	if err != nil || c.Node == "" || c.Node == h.o.Node {
		return
	}
	if err := h.o.Bus.Publish(ctx, c.Node, m); err != nil {
		h.o.Logger.Debug("tell owner about group change failed", observe.KeyConnectionID, connID, "node", c.Node, observe.KeyError, err)
	}
}

// rememberGroup records (join) or forgets a local connection's group membership.
// The Local check is made under groupsMu, so a concurrent Remove (which forgets the
// connection before its groups) cannot leave an entry behind.
func (h *Hub[C]) rememberGroup(connID, group string, join bool) {
	h.groupsMu.Lock()
	defer h.groupsMu.Unlock()
	if _, ok := h.Local(connID); !ok {
		return
	}
	gs := h.groups[connID]
	i := slices.Index(gs, group)
	switch {
	case join && i < 0:
		h.groups[connID] = append(gs, group)
	case !join && i >= 0:
		gs = slices.Delete(slices.Clip(gs), i, i+1)
		if len(gs) == 0 {
			delete(h.groups, connID)
		} else {
			h.groups[connID] = gs
		}
	}
}

// NodeConnections lists the nodes with a live lease and the connections each owns, from the
// store (so every node's, not only this one's).
func (h *Hub[C]) NodeConnections(ctx context.Context) (map[string][]registry.Conn, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	nodes, err := h.o.Store.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]registry.Conn, len(nodes))
	for _, n := range nodes {
		cs, err := h.o.Store.NodeConns(ctx, n)
		if err != nil {
			return nil, err
		}
		out[n] = cs
	}
	return out, nil
}

// GroupMembers lists a group's live connections.
func (h *Hub[C]) GroupMembers(ctx context.Context, group string) ([]registry.Conn, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.GroupMembers(ctx, group)
}

// PostToGroup sends data to every member of group.
func (h *Hub[C]) PostToGroup(ctx context.Context, group string, data []byte) (int, error) {
	if err := h.checkSize(data); err != nil {
		return 0, err
	}
	conns, err := h.GroupMembers(ctx, group)
	if err != nil {
		return 0, err
	}
	return h.fanout(ctx, conns, bus.Message{Kind: bus.Send, Data: data})
}

// Broadcast sends data to every connection of every node: locally at once, and one bus message
// per other live node. The count is the local connections plus the other nodes' registered ones.
func (h *Hub[C]) Broadcast(ctx context.Context, data []byte) (int, error) {
	if err := h.checkSize(data); err != nil {
		return 0, err
	}
	n := h.broadcastLocal(ctx, data)
	sctx, cancel := h.storeCtx(ctx)
	nodes, err := h.o.Store.Nodes(sctx)
	cancel()
	if err != nil {
		if n > 0 {
			// The local part is done; failing the request would make the caller retry and
			// send it twice to these connections. Other nodes are unreachable anyway.
			h.o.Logger.Warn("broadcast reached this node's connections only: store unreachable", observe.KeyError, err)
			return n, nil
		}
		return 0, err
	}
	for _, node := range nodes {
		if node == h.o.Node {
			continue
		}
		if err := h.o.Bus.Publish(ctx, node, bus.Message{Kind: bus.Broadcast, Data: data}); err != nil {
			h.o.Logger.Warn("broadcast to node failed", "node", node, observe.KeyError, err)
			continue
		}
		n += h.nodeConnCount(ctx, node)
	}
	return n, nil
}

// nodeConnCount is the number of connections node owns, 0 if the store cannot say: counted by
// the store where it can (registry.NodeCounter: no read of every record just to count them).
func (h *Hub[C]) nodeConnCount(ctx context.Context, node string) int {
	sctx, cancel := h.storeCtx(ctx)
	defer cancel()
	if nc, ok := h.o.Store.(registry.NodeCounter); ok {
		n, _ := nc.NodeConnCount(sctx, node)
		return n
	}
	conns, _ := h.o.Store.NodeConns(sctx, node)
	return len(conns)
}

// broadcastLocal delivers data to this node's connections, through the bus when OrderViaBus
// (so it is ordered with pushes other nodes accepted before), and counts them.
func (h *Hub[C]) broadcastLocal(ctx context.Context, data []byte) int {
	if h.o.OrderViaBus && h.Ready() && h.Len() > 0 {
		if err := h.o.Bus.Publish(ctx, h.o.Node, bus.Message{Kind: bus.Broadcast, Data: data}); err == nil {
			return h.Len()
		}
	}
	var n atomic.Int64
	h.EachParallel(func(c C) {
		if c.Send(data) == nil {
			n.Add(1)
		}
	})
	return int(n.Load())
}
