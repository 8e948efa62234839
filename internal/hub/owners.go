package hub

import (
	"hash/maphash"
	"strings"
	"sync"
	"unique"
)

// owners remembers the node that holds each connection on another node this node delivered
// to, so that the next push to it goes out in one bus round trip (bus.OwnerPublisher checks
// the record and publishes in one step) instead of a record lookup and then a publish. A
// connection never moves, so an entry stays right while the connection lives; the entry of a
// closed one is dropped when a publish to it reports it gone (or, unused, by eviction).
//
// Bounded: ownerShards shards of at most ownerShardMax entries; a full shard evicts an
// arbitrary entry (Go's map iteration starts at a random place). An entry is the id's bytes,
// its string header and a handle to the interned node name: under 100 bytes, so under 3.2 MB
// when full.
type owners struct {
	seed   maphash.Seed
	shards [ownerShards]ownerShard
}

const (
	ownerShards   = 64
	ownerShardMax = 512 // 32,768 connections in all
)

type ownerShard struct {
	mu sync.Mutex
	m  map[string]unique.Handle[string] // connection id -> node
}

func newOwners() *owners { return &owners{seed: maphash.MakeSeed()} }

func (o *owners) shard(id string) *ownerShard {
	return &o.shards[maphash.String(o.seed, id)%ownerShards]
}

// get returns the node remembered for connection id.
func (o *owners) get(id string) (string, bool) {
	s := o.shard(id)
	s.mu.Lock()
	n, ok := s.m[id]
	s.mu.Unlock()
	if !ok {
		return "", false
	}
	return n.Value(), true
}

// put remembers that node holds connection id. It copies id (it may point into a request
// buffer).
func (o *owners) put(id, node string) {
	s := o.shard(id)
	h := unique.Make(node)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]unique.Handle[string])
	}
	if cur, ok := s.m[id]; ok && cur == h {
		return
	}
	if len(s.m) >= ownerShardMax {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[strings.Clone(id)] = h
}

// forget drops connection id.
func (o *owners) forget(id string) {
	s := o.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// len is the number of connections remembered (tests).
func (o *owners) len() int {
	n := 0
	for i := range o.shards {
		s := &o.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
