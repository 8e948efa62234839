package hub

import (
	"context"
	"errors"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/management"
	"github.com/wsgate/wsgate/internal/registry"
)

// The management.Backend methods: every one works for connections on any node.
var _ management.Backend = (*Hub)(nil)

// PostToConnection sends data as one frame to connection id.
func (h *Hub) PostToConnection(ctx context.Context, id string, data []byte) error {
	if err := h.checkSize(data); err != nil {
		return err
	}
	if c, ok := h.Local(id); ok {
		return mapSendErr(c.Send(data))
	}
	c, err := h.lookup(ctx, id)
	if err != nil {
		return err
	}
	return h.deliver(ctx, c, bus.Message{Kind: bus.Send, ConnID: id, Data: data})
}

// GetConnection describes connection id.
func (h *Hub) GetConnection(ctx context.Context, id string) (registry.Conn, error) {
	return h.lookup(ctx, id)
}

// DeleteConnection closes connection id (1000, "Connection deleted"); $disconnect follows on
// the owning node.
func (h *Hub) DeleteConnection(ctx context.Context, id string) error {
	c, err := h.lookup(ctx, id)
	if err != nil {
		return err
	}
	return h.deliver(ctx, c, bus.Message{Kind: bus.Close, ConnID: id, Code: CodeNormal, Reason: ReasonDelete})
}

// fanout delivers m (with each connection's id) to conns and counts the ones reached.
func (h *Hub) fanout(ctx context.Context, conns []registry.Conn, m bus.Message) (int, error) {
	n := 0
	var firstErr error
	for _, c := range conns {
		m.ConnID = c.ID
		err := h.deliver(ctx, c, m)
		if err == nil {
			n++
			continue
		}
		if !errors.Is(err, management.ErrGone) && !errors.Is(err, management.ErrSlowConsumer) && firstErr == nil {
			firstErr = err
		}
	}
	if n == 0 && firstErr != nil {
		return 0, firstErr
	}
	return n, nil
}

func (h *Hub) userConns(ctx context.Context, userID string) ([]registry.Conn, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.UserConns(ctx, userID)
}

// PostToUser sends data to every live connection of userID.
func (h *Hub) PostToUser(ctx context.Context, userID string, data []byte) (int, error) {
	if err := h.checkSize(data); err != nil {
		return 0, err
	}
	conns, err := h.userConns(ctx, userID)
	if err != nil {
		return 0, err
	}
	n, err := h.fanout(ctx, conns, bus.Message{Kind: bus.Send, Data: data})
	if err == nil && n == 0 {
		return 0, management.ErrGone
	}
	return n, err
}

// DeleteUser closes every connection of userID.
func (h *Hub) DeleteUser(ctx context.Context, userID string) (int, error) {
	conns, err := h.userConns(ctx, userID)
	if err != nil {
		return 0, err
	}
	n, err := h.fanout(ctx, conns, bus.Message{Kind: bus.Close, Code: CodeNormal, Reason: ReasonBanned})
	if err == nil && n == 0 {
		return 0, management.ErrGone
	}
	return n, err
}

// Presence reports users' online state and last activity.
func (h *Hub) Presence(ctx context.Context, userIDs []string) ([]registry.Presence, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.Presence(ctx, userIDs)
}

// OnlineUsers pages through online users.
func (h *Hub) OnlineUsers(ctx context.Context, cursor string, limit int) ([]registry.Presence, string, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.OnlineUsers(ctx, cursor, limit)
}

// JoinGroup adds a connection to a group.
func (h *Hub) JoinGroup(ctx context.Context, connID, group string) error {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	if err := h.o.Store.Join(ctx, connID, group); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return management.ErrGone
		}
		return err
	}
	if _, ok := h.Local(connID); ok {
		h.groupsMu.Lock()
		gs := h.groups[connID]
		found := false
		for _, g := range gs {
			found = found || g == group
		}
		if !found {
			h.groups[connID] = append(gs, group)
		}
		h.groupsMu.Unlock()
	}
	return nil
}

// LeaveGroup removes a connection from a group.
func (h *Hub) LeaveGroup(ctx context.Context, connID, group string) error {
	if _, err := h.lookup(ctx, connID); err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	if err := h.o.Store.Leave(ctx, connID, group); err != nil {
		return err
	}
	h.groupsMu.Lock()
	gs := h.groups[connID]
	for i, g := range gs {
		if g == group {
			gs = append(gs[:i:i], gs[i+1:]...)
			break
		}
	}
	if len(gs) == 0 {
		delete(h.groups, connID)
	} else {
		h.groups[connID] = gs
	}
	h.groupsMu.Unlock()
	return nil
}

// GroupMembers lists a group's live connections.
func (h *Hub) GroupMembers(ctx context.Context, group string) ([]registry.Conn, error) {
	ctx, cancel := h.storeCtx(ctx)
	defer cancel()
	return h.o.Store.GroupMembers(ctx, group)
}

// PostToGroup sends data to every member of group.
func (h *Hub) PostToGroup(ctx context.Context, group string, data []byte) (int, error) {
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
func (h *Hub) Broadcast(ctx context.Context, data []byte) (int, error) {
	if err := h.checkSize(data); err != nil {
		return 0, err
	}
	n := 0
	h.Each(func(c Conn) bool {
		if c.Send(data) == nil {
			n++
		}
		return true
	})
	sctx, cancel := h.storeCtx(ctx)
	nodes, err := h.o.Store.Nodes(sctx)
	cancel()
	if err != nil {
		return n, err
	}
	for _, node := range nodes {
		if node == h.o.Node {
			continue
		}
		if err := h.o.Bus.Publish(ctx, node, bus.Message{Kind: bus.Broadcast, Data: data}); err != nil {
			h.o.Logger.Warn("broadcast to node failed", "node", node, "err", err)
			continue
		}
		sctx, cancel := h.storeCtx(ctx)
		conns, err := h.o.Store.NodeConns(sctx, node)
		cancel()
		if err == nil {
			n += len(conns)
		}
	}
	return n, nil
}
