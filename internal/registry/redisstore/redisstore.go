// Package redisstore is the registry.Store for many gateway nodes sharing one Redis (a single
// server, Sentinel or Cluster: it takes a redis.UniversalClient).
//
// # Keys
//
// Every key is "<prefix>:<kind>:{<id>}". The braces are a Cluster hash tag, so all keys of one
// connection (record and groups), of one user (connections and last-seen), of one node
// (connections, lease and claim) share a slot, and the scripts that touch several of them never
// cross slots. Ids containing braces are base64-encoded inside the tag (see tag).
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
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/registry"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "wsgate"

// onlineShards is the number of online-user sorted sets. More than one spreads the busiest
// keys (every connect and disconnect of a user's first or last connection) over Cluster slots.
const onlineShards = 16

// batch bounds the commands in one pipeline when reading many records.
const batch = 512

// Options configures New.
type Options struct {
	// URL is a redis:// or rediss:// URL, used when Client is nil. For Sentinel or Cluster,
	// build the client yourself and pass Client.
	URL string
	// Prefix starts every key, so several gateways (or tests) can share one Redis. It must not
	// contain '{' or '}'. Default DefaultPrefix.
	Prefix string
	// Client, when set, is used instead of URL. The Store does not close it.
	Client redis.UniversalClient
	// LastSeenTTL is how long a user's last-seen time outlives their last connection.
	// Default registry.DefaultLastSeenTTL.
	LastSeenTTL time.Duration
}

// Store is a registry.Store on Redis. It is safe for concurrent use.
type Store struct {
	rdb         redis.UniversalClient
	ownClient   bool
	prefix      string
	lastSeenTTL time.Duration
	now         func() time.Time
}

var _ registry.Store = (*Store)(nil)

// New connects (from opts.URL unless opts.Client is set) and checks that Redis answers.
func New(ctx context.Context, opts Options) (*Store, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q: remove '{' and '}' (they are Redis Cluster hash tags)", prefix)
	}
	s := &Store{rdb: opts.Client, prefix: prefix, lastSeenTTL: opts.LastSeenTTL, now: time.Now}
	if s.lastSeenTTL <= 0 {
		s.lastSeenTTL = registry.DefaultLastSeenTTL
	}
	if s.rdb == nil {
		if opts.URL == "" {
			return nil, errors.New("redisstore: no Redis: set a URL such as redis://127.0.0.1:6379/0 or pass a client")
		}
		o, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: url %q: %w (use redis://[user:password@]host:port/db)", opts.URL, err)
		}
		s.rdb, s.ownClient = redis.NewClient(o), true
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		if s.ownClient {
			_ = s.rdb.Close()
		}
		return nil, fmt.Errorf("redisstore: ping redis: %w", err)
	}
	return s, nil
}

// Close closes the client if New created it.
func (s *Store) Close() error {
	if s.ownClient {
		return s.rdb.Close()
	}
	return nil
}

// tag makes id safe inside a hash tag. Redis takes the tag up to the first '}', and an empty
// tag hashes the whole key, so ids that are empty, contain braces, or start with the escape
// mark '~' are written as "~" + base64url(id). Distinct ids give distinct tags.
func tag(id string) string {
	if id == "" || id[0] == '~' || strings.ContainsAny(id, "{}") {
		return "~" + base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	return id
}

func (s *Store) key(kind, id string) string {
	return s.prefix + ":" + kind + ":{" + tag(id) + "}"
}

func (s *Store) connKey(id string) string       { return s.key("c", id) }
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
