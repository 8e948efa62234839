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

// Kind says what a Message asks the receiving node to do.
type Kind uint8

const (
	// Send writes Data as one frame to ConnID.
	Send Kind = iota + 1
	// Close closes ConnID with Code and Reason (DeleteConnection, user ban).
	Close
	// Broadcast writes Data to every connection of the receiving node.
	Broadcast
	// Joined tells the owner of ConnID that it joined group Reason (already in the store), so
	// the owner can register the membership again after a store outage.
	Joined
	// Left tells the owner of ConnID that it left group Reason.
	Left
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
	// Publish sends m to node's subscriber, or returns ErrNoSubscriber. It takes ownership of
	// m.Data: the caller must not modify it afterwards.
	Publish(ctx context.Context, node string, m Message) error
	// Subscribe registers h for messages addressed to node. h runs on one goroutine per
	// subscription, in publish order; it must not block for long. ctx bounds the setup only:
	// the subscription lasts until Close. Subscribing twice to one node on one Bus is an error.
	Subscribe(ctx context.Context, node string, h func(Message)) error
	// Close ends every subscription and waits for their handlers to return.
	Close() error
}
