// Package bus carries deliveries between gateway nodes: each node subscribes to its own channel
// and others publish to the owner of a connection, never to every node (except broadcast).
// Two implementations: in-process (one node, the default) and redis.
package bus

import "context"

// Kind says what a Message asks the receiving node to do.
type Kind uint8

const (
	// Send writes Data as one frame to ConnID.
	Send Kind = iota + 1
	// Close closes ConnID with Code and Reason (DeleteConnection, user ban).
	Close
	// Broadcast writes Data to every connection of the receiving node.
	Broadcast
)

// Message is one delivery. Per-connection order is kept between one publisher and one node.
type Message struct {
	Kind   Kind   `json:"k"`
	ConnID string `json:"c,omitempty"`
	Data   []byte `json:"d,omitempty"`
	Code   int    `json:"code,omitempty"`
	Reason string `json:"r,omitempty"`
}

// Bus is safe for concurrent use.
type Bus interface {
	// Publish sends m to node's subscriber.
	Publish(ctx context.Context, node string, m Message) error
	// Subscribe registers h for messages addressed to node. h runs on one goroutine per
	// subscription, in publish order; it must not block for long.
	Subscribe(ctx context.Context, node string, h func(Message)) error
	Close() error
}
