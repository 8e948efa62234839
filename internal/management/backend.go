package management

import (
	"context"
	"errors"

	"github.com/wsgate/wsgate/internal/registry"
)

// ErrGone is returned by Backend for a connection, user or group with no live connection;
// the handler answers 410 GoneException.
var ErrGone = errors.New("gone")

// ErrPayloadTooLarge answers 413 PayloadTooLargeException.
var ErrPayloadTooLarge = errors.New("payload too large")

// ErrSlowConsumer: the connection's send queue is full; 429 LimitExceededException, as AWS
// answers when a client-side buffer is full.
var ErrSlowConsumer = errors.New("send queue full")

// Backend is what the management API needs from the node (the hub implements it). Every
// method works for connections on any node.
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
}
