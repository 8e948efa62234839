package management

import (
	"context"

	"github.com/wsgate/wsgate/internal/registry"
)

// Backend is what the management API needs from the node: *hub.Hub implements it (for any
// connection type; the server passes its hub as the Backend). Every
// method works for connections on any node and fails with the hub's errors (hub.ErrGone,
// hub.ErrSlowConsumer, hub.ErrPayloadTooLarge), which backendError maps to AWS's, or with
// another error, answered 500. No method keeps data after it returns: the handler reuses the
// buffer (the hub copies what it queues: a held frame, a message on the in-process bus).
type Backend interface {
	PostToConnection(ctx context.Context, id string, data []byte) error
	GetConnection(ctx context.Context, id string) (registry.Conn, error)
	DeleteConnection(ctx context.Context, id string) error

	// PostToUser sends to every live connection of a user and returns how many were reached.
	PostToUser(ctx context.Context, userID string, data []byte) (int, error)
	// DeleteUser closes every connection of a user and returns how many.
	DeleteUser(ctx context.Context, userID string) (int, error)
	Presence(ctx context.Context, userIDs []string) ([]registry.Presence, error)
	OnlineUsers(ctx context.Context, cursor string, limit int) ([]registry.Presence, string, error)

	JoinGroup(ctx context.Context, connID, group string) error
	LeaveGroup(ctx context.Context, connID, group string) error
	PostToGroup(ctx context.Context, group string, data []byte) (int, error)
	GroupMembers(ctx context.Context, group string) ([]registry.Conn, error)
	Broadcast(ctx context.Context, data []byte) (int, error)

	// NodeConnections lists the live nodes and the connections each owns (node -> its
	// connections); a node without connections may be left out.
	NodeConnections(ctx context.Context) (map[string][]registry.Conn, error)
}
