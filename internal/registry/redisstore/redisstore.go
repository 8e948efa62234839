// Package redisstore is the registry.Store for many gateway nodes sharing one Redis (a single
// server, Sentinel or Cluster: it takes the redis.UniversalClient redisx.NewClient builds).
//
// # Keys
//
// Every key is "<prefix>:<kind>:{<id>}". The braces are a Cluster hash tag, so all keys of one
// connection (record and groups), of one user (connections and last-seen), of one node
// (connections, lease and claim) share a slot, and the scripts that touch several of them never
// cross slots. Ids containing braces are base64-encoded inside the tag (redisx.Key).
//
//	<p>:c:{conn}    hash    the connection record (fields below)
//	<p>:cg:{conn}   set     the connection's groups
//	<p>:u:{user}    set     the user's connection ids
//	<p>:ls:{user}   string  the user's last-seen time, unix ms, kept LastSeenTTL after going offline
//	<p>:g:{group}   set     the group's connection ids
//	<p>:n:{node}    set     the node's connection ids
//	<p>:nl:{node}   string  the node's lease, expiring after the heartbeat ttl
//	<p>:nc:{node}   string  who claimed the dead node's cleanup, expiring after the claim ttl
//	<p>:nodes       set     every node that sent a heartbeat or registered a connection
//	<p>:on:{0..15}  zset    online users, sharded by a hash of the user id, all scores 0, so a
//	                        shard pages in user-id order with ZRANGE BYLEX
//
// # Consistency
//
// An operation that spans slots is a pipeline of single-slot commands, not a transaction, so a
// failure can leave it half done. Each is ordered so that a retry, or a later cleanup, finishes
// the job: Unregister deletes the record only after removing it from the user and group
// indexes, and drops it from its node's set last, so an Unregister that fails part way is found
// again by NodeConns during dead-node cleanup. Readers skip index entries whose record is gone.
package redisstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/registry"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = redisx.DefaultPrefix

// onlineShards is the number of online-user sorted sets. More than one spreads the busiest
// keys (every connect and disconnect of a user's first or last connection) over Cluster slots.
const onlineShards = 16

// batch bounds the commands in one pipeline when reading many records.
const batch = 512

// Options configures New; the zero value is the default.
type Options struct {
	// Prefix starts every key, so several gateways (or tests) can share one Redis. It must not
	// contain '{' or '}'. Default DefaultPrefix.
	Prefix string
	// LastSeenTTL is how long a user's last-seen time outlives their last connection.
	// Default registry.DefaultLastSeenTTL.
	LastSeenTTL time.Duration
}

// Store is a registry.Store on Redis. It is safe for concurrent use. It does not own the
// client: close the client after Close.
type Store struct {
	rdb         redis.UniversalClient
	prefix      string
	lastSeenTTL time.Duration
	now         func() time.Time
}

var _ registry.Store = (*Store)(nil)

// New checks that Redis answers on client and returns a Store on it.
func New(ctx context.Context, client redis.UniversalClient, o Options) (*Store, error) {
	prefix, err := redisx.CheckPrefix(o.Prefix)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	if err := redisx.Ping(ctx, client, "redisstore"); err != nil {
		return nil, err
	}
	s := &Store{rdb: client, prefix: prefix, lastSeenTTL: o.LastSeenTTL, now: time.Now}
	if s.lastSeenTTL <= 0 {
		s.lastSeenTTL = registry.DefaultLastSeenTTL
	}
	return s, nil
}

// Close releases nothing: the client is the caller's. It exists for registry.Store.
func (s *Store) Close() error { return nil }

func (s *Store) key(kind, id string) string { return redisx.Key(s.prefix, kind, id) }

func (s *Store) connKey(id string) string       { return redisx.ConnKey(s.prefix, id) }
func (s *Store) connGroupsKey(id string) string { return s.key("cg", id) }
func (s *Store) userKey(u string) string        { return s.key("u", u) }
func (s *Store) lastSeenKey(u string) string    { return s.key("ls", u) }
func (s *Store) groupKey(g string) string       { return s.key("g", g) }
func (s *Store) nodeKey(n string) string        { return s.key("n", n) }
func (s *Store) leaseKey(n string) string       { return s.key("nl", n) }
func (s *Store) claimKey(n string) string       { return s.key("nc", n) }
func (s *Store) reapedKey(n string) string      { return s.key("nr", n) }
func (s *Store) nodesKey() string               { return s.prefix + ":nodes" }
func (s *Store) onlineKey(shard int) string {
	return s.prefix + ":on:{" + strconv.Itoa(shard) + "}"
}

func onlineShard(user string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	return int(h.Sum32() % onlineShards)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
