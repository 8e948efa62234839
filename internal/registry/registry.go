// Package registry is the connection/user/group/presence store: who is connected, on which node,
// as which user, in which groups, and when each user was last active. Two implementations satisfy
// Store: memory (one node, the default) and redis (many nodes).
package registry

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for a connection id the store does not hold.
var ErrNotFound = errors.New("registry: not found")

// ReapedTTL is how long stores keep the record of a won ClaimDeadNode for Reaped: longer than
// any stall a node may wake up from.
const ReapedTTL = 24 * time.Hour

// Conn is what the store keeps about one live connection. It is small on purpose: no headers.
type Conn struct {
	ID           string         `json:"id"`
	Node         string         `json:"node"`
	ConnectedAt  time.Time      `json:"connectedAt"`
	LastActiveAt time.Time      `json:"lastActiveAt"`
	SourceIP     string         `json:"sourceIp"`
	UserAgent    string         `json:"userAgent,omitempty"`
	UserID       string         `json:"userId,omitempty"`
	Path         string         `json:"path,omitempty"`
	Authorizer   map[string]any `json:"authorizer,omitempty"`
}

// Source is a live connection that describes itself: Info returns its record, whose ID, Node,
// ConnectedAt, SourceIP, UserAgent, UserID, Path and Authorizer never change once registered.
type Source interface {
	Info() Conn
}

// Keyed is a Source that names the keys it is indexed by without building its whole record:
// the memory store indexes a live connection on every connect and close, and a record is a
// few hundred bytes of stack and conversions that those need none of.
type Keyed interface {
	Source
	// Keys are Info().ID, Info().Node and Info().UserID.
	Keys() (id, node, userID string)
}

// keysOf is src's ID, Node and UserID: from Keys if it has them, else from its record.
func keysOf(src Source) (id, node, userID string) {
	if k, ok := src.(Keyed); ok {
		return k.Keys()
	}
	c := src.Info()
	return c.ID, c.Node, c.UserID
}

// SourceRegisterer is a Store that can keep a connection by reference instead of a copy of its
// record (the memory store, in the same process as the connection). The hub registers through
// it when the store offers it; a store shared between nodes (Redis) cannot.
type SourceRegisterer interface {
	// RegisterSource is Register(ctx, src.Info()), except that the store reads the record from
	// src whenever it needs it.
	RegisterSource(ctx context.Context, src Source) error
}

// Index is a node's own index of the live connections it holds (the hub's), which a store in
// the same process reads instead of keeping an entry per connection (Attacher). Its methods are
// safe for concurrent use and never call the store.
type Index interface {
	// Source returns the live connection with that id the node holds.
	Source(id string) (Source, bool)
	// EachSource calls f for every connection the node holds until f returns false, holding no
	// lock of the index while f runs.
	EachSource(f func(Source) bool)
	// Len is the number of connections the node holds.
	Len() int
}

// Attacher is a store in the node's process (the memory store) that reads the connections a
// node registers with RegisterSource from the node's own index instead of keeping them: one
// map entry per connection instead of two. The node must hold a connection in idx before it
// registers it, and hand it back with Release when it drops it from idx, so that the store
// still holds its record until Unregister.
type Attacher interface {
	SourceRegisterer
	// Attach makes idx the index of node's connections, replacing an earlier one.
	Attach(node string, idx Index)
	// Release keeps src, which the node has just dropped from its index, in the store until
	// Unregister removes it (at once if a survivor already did).
	Release(src Source)
	// Drop is Release and Unregister of src's id at once, for a node that drops a connection
	// from its index and the store in one step (nothing can read the store between the two).
	Drop(src Source)
}

// Presence is one user's online state. LastActiveAt survives the user going offline, so that
// "last seen 5 minutes ago" works.
type Presence struct {
	UserID       string    `json:"userId"`
	Online       bool      `json:"online"`
	Connections  int       `json:"connections"`
	LastActiveAt time.Time `json:"lastActiveAt"`
}

// NodeCounter is a Store that counts a node's connections without reading their records (the
// Redis store: the size of the node's set, one command instead of a read of every record).
// Broadcast reports its count with it.
type NodeCounter interface {
	// NodeConnCount is the number of connections registered as owned by node: len(NodeConns)
	// but for ids whose record went missing (an Unregister that failed part way, until a
	// later one or the reaper removes them).
	NodeConnCount(ctx context.Context, node string) (int, error)
}

// Store is safe for concurrent use. Every method takes ctx and honours its deadline.
// Times are kept to the millisecond. Errors other than ErrNotFound mean the store could not be
// reached or read (Redis down); the operation may then be partly done and is safe to repeat.
type Store interface {
	// Register records a live connection (and its user, if any) owned by c.Node. c.ID and
	// c.Node must not be empty.
	Register(ctx context.Context, c Conn) error
	// Unregister removes a connection from every index (user, groups, node) and records its
	// user's last-seen time. It returns the removed record and false if the id was unknown.
	Unregister(ctx context.Context, id string) (Conn, bool, error)
	// Get returns a connection or ErrNotFound.
	Get(ctx context.Context, id string) (Conn, error)
	// Touch moves lastActiveAt of the given connections (and their users) forward. Callers batch.
	Touch(ctx context.Context, at map[string]time.Time) error

	// UserConns lists the live connections of a user (empty, not an error, when offline).
	UserConns(ctx context.Context, userID string) ([]Conn, error)
	// Presence reports each requested user, in the order given.
	Presence(ctx context.Context, userIDs []string) ([]Presence, error)
	// OnlineUsers pages through online users; next is "" on the last page.
	OnlineUsers(ctx context.Context, cursor string, limit int) (users []Presence, next string, err error)

	// Join adds a connection to a group; ErrNotFound if the connection is unknown.
	Join(ctx context.Context, connID, group string) error
	// Leave removes a connection from a group; leaving a group one is not in is not an error.
	Leave(ctx context.Context, connID, group string) error
	// GroupMembers lists the live connections in a group.
	GroupMembers(ctx context.Context, group string) ([]Conn, error)
	// ConnGroups lists the groups a connection is in; ErrNotFound if the connection is unknown.
	ConnGroups(ctx context.Context, connID string) ([]string, error)

	// Heartbeat renews node's lease for ttl.
	Heartbeat(ctx context.Context, node string, ttl time.Duration) error
	// DeadNodes lists nodes that own connections but whose lease has expired (or who never
	// sent a heartbeat): send one before registering connections.
	DeadNodes(ctx context.Context) ([]string, error)
	// ClaimDeadNode lets exactly one survivor take over a dead node's cleanup: true for the
	// first claimant (and for it again, renewing, within ttl), false for others and while the
	// node's lease is live.
	ClaimDeadNode(ctx context.Context, node, claimant string, ttl time.Duration) (bool, error)
	// Reaped reports whether a survivor won ClaimDeadNode for node since the last call (within
	// ReapedTTL of the claim), and clears that record, so each claim is reported once. A node
	// calls it after a Heartbeat succeeded (no new claim can win while the lease is live): true
	// means its connections were unregistered and given their $disconnect by the survivor, so it
	// must close its sockets without another $disconnect instead of registering them again.
	// Heartbeat does not clear the record.
	Reaped(ctx context.Context, node string) (bool, error)
	// NodeConns lists the connections owned by node.
	NodeConns(ctx context.Context, node string) ([]Conn, error)
	// Nodes lists the nodes with a live lease (for broadcast fan-out).
	Nodes(ctx context.Context) ([]string, error)

	Close() error
}
