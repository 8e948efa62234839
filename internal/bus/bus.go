// Package bus carries deliveries between gateway nodes: each node subscribes to its own channel
// and others publish to the owner of a connection, never to every node (except broadcast).
// Two implementations: in-process (one node, the default) and redis.
package bus

import (
	"context"
	"errors"
)

// ErrNoSubscriber is returned by Publish when no node with that name is subscribed: it has
// shut down, died, or never existed. The caller should treat the target as gone.
var ErrNoSubscriber = errors.New("bus: no subscriber for node")

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("bus: closed")

// Kind says what a Message asks the receiving node to do, and so which of its fields it carries.
type Kind uint8

const (
	// Send writes Data as one frame to ConnID.
	Send Kind = iota + 1
	// Close closes ConnID with close code Code and close reason Reason (DeleteConnection, user ban).
	Close
	// Broadcast writes Data to every connection of the receiving node.
	Broadcast
	// Joined tells the owner of ConnID that it joined Group (already in the store), so the owner
	// can register the membership again after a store outage.
	Joined
	// Left tells the owner of ConnID that it left Group.
	Left
)

// Message is one delivery. Per-connection order is kept between one publisher and one node.
// Which fields are set depends on Kind (see each Kind); the others are zero.
type Message struct {
	Kind   Kind   `json:"k"`
	ConnID string `json:"c,omitempty"`    // Send, Close, Joined, Left
	Data   []byte `json:"d,omitempty"`    // Send, Broadcast
	Code   int    `json:"code,omitempty"` // Close: the WebSocket close code
	Reason string `json:"r,omitempty"`    // Close: the WebSocket close reason
	Group  string `json:"g,omitempty"`    // Joined, Left: the group's name
}

// Bus is safe for concurrent use.
type Bus interface {
	// Publish sends m to node's subscriber, or returns ErrNoSubscriber. It does not keep m.Data
	// after it returns (the caller may reuse the buffer: the management API delivers from its
	// request buffers).
	Publish(ctx context.Context, node string, m Message) error
	// Subscribe registers h for messages addressed to node. h runs on one goroutine per
	// subscription, in publish order; it must not block for long. ctx bounds the setup only:
	// the subscription lasts until Close. Subscribing twice to one node on one Bus is an error.
	Subscribe(ctx context.Context, node string, h func(Message)) error
	// Close ends every subscription and waits for their handlers to return.
	Close() error
}

// ErrNotOwner is returned by OwnerPublisher.PublishToOwner when the registry has no record of
// the connection or the record names another node; nothing was published.
var ErrNotOwner = errors.New("bus: connection not registered on that node")

// OwnerPublisher is a Bus that can check a connection's registry record and publish to its
// owner in one step. The hub uses it for a connection on another node whose owner it
// remembers: a push then costs one round trip instead of a record lookup and a publish, and a
// push to a closed connection still fails (ErrNotOwner) instead of being accepted.
type OwnerPublisher interface {
	Bus
	// PublishToOwner publishes m, which names a connection in m.ConnID (Send or Close), to
	// node if and only if the registry's record of m.ConnID names node as the connection's
	// owner. Errors: ErrNotOwner (no record, or another node's; nothing published),
	// ErrNoSubscriber, ErrClosed, or a transport error. Like Publish, it keeps no m.Data.
	PublishToOwner(ctx context.Context, node string, m Message) error
}

// Envelope is one message and the node it is for (Batcher).
type Envelope struct {
	Node string
	Msg  Message
}

// Batcher is a Bus that publishes many messages in one round trip: a fan-out (a user's or a
// group's connections) then costs one round trip, not one per connection.
type Batcher interface {
	Bus
	// PublishBatch publishes each envelope's message to its node, in the order given (so a
	// connection's messages keep their order), and returns one error per envelope, nil or what
	// Publish would have returned for it. Like Publish, it keeps no message's Data.
	PublishBatch(ctx context.Context, envs []Envelope) []error
}
