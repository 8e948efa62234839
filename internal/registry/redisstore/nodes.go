package redisstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/registry"
)

// Heartbeat sets node's lease key to expire after ttl, drops any cleanup claim on it (the node
// is alive again) and lists it in the nodes index.
func (s *Store) Heartbeat(ctx context.Context, node string, ttl time.Duration) error {
	if node == "" || ttl < time.Millisecond {
		return fmt.Errorf("registry: heartbeat node %q ttl %v: need a node name and a ttl of 1ms or more", node, ttl)
	}
	p := s.rdb.Pipeline()
	p.Set(ctx, s.leaseKey(node), "1", ttl)
	p.Del(ctx, s.claimKey(node))
	p.SAdd(ctx, s.nodesKey(), node)
	if err := exec(ctx, p); err != nil {
		return fmt.Errorf("redisstore: heartbeat node %q: %w", node, err)
	}
	return nil
}

// nodeState reads, for every node in the index, whether its lease is live and how many
// connections it owns.
func (s *Store) nodeState(ctx context.Context) (nodes []string, live []bool, conns []int64, err error) {
	nodes, err = s.rdb.SMembers(ctx, s.nodesKey()).Result()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("redisstore: list nodes: %w", err)
	}
	slices.Sort(nodes)
	p := s.rdb.Pipeline()
	leases := make([]*redis.IntCmd, len(nodes))
	cards := make([]*redis.IntCmd, len(nodes))
	for i, n := range nodes {
		leases[i] = p.Exists(ctx, s.leaseKey(n))
		cards[i] = p.SCard(ctx, s.nodeKey(n))
	}
	if err := exec(ctx, p); err != nil {
		return nil, nil, nil, fmt.Errorf("redisstore: read node leases: %w", err)
	}
	live, conns = make([]bool, len(nodes)), make([]int64, len(nodes))
	for i := range nodes {
		live[i], conns[i] = leases[i].Val() == 1, cards[i].Val()
	}
	return nodes, live, conns, nil
}

// DeadNodes lists, sorted, the indexed nodes that own connections but whose lease key is gone
// (including a node that registered connections but never sent a heartbeat). Nodes with
// neither a lease nor connections are dropped from the index on the way.
func (s *Store) DeadNodes(ctx context.Context) ([]string, error) {
	nodes, live, conns, err := s.nodeState(ctx)
	if err != nil {
		return nil, err
	}
	var dead []string
	for i, n := range nodes {
		switch {
		case live[i]:
		case conns[i] > 0:
			dead = append(dead, n)
		default:
			s.forget(ctx, n)
		}
	}
	return dead, nil
}

// forget drops an idle node from the index, then re-adds it if it registered a connection
// meanwhile, so that connection's owner can still be found dead later. Best effort: a node
// left in the index is only looked at again.
func (s *Store) forget(ctx context.Context, node string) {
	if s.rdb.SRem(ctx, s.nodesKey(), node).Err() != nil {
		return
	}
	if n, err := s.rdb.SCard(ctx, s.nodeKey(node)).Result(); err != nil || n > 0 {
		_ = s.rdb.SAdd(ctx, s.nodesKey(), node).Err()
	}
}

// ClaimDeadNode returns true to exactly one claimant until ttl passes: the first caller, or
// the current holder renewing. It returns false while node's lease is live.
func (s *Store) ClaimDeadNode(ctx context.Context, node, claimant string, ttl time.Duration) (bool, error) {
	if node == "" || claimant == "" || ttl < time.Millisecond {
		return false, fmt.Errorf("registry: claim node %q by %q ttl %v: need node, claimant and a ttl of 1ms or more", node, claimant, ttl)
	}
	keys := []string{s.leaseKey(node), s.claimKey(node), s.reapedKey(node)}
	n, err := claim.Run(ctx, s.rdb, keys, claimant, ttl.Milliseconds(), registry.ReapedTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: claim node %q: %w", node, err)
	}
	return n == 1, nil
}

// Reaped reports, once, whether a claimant won ClaimDeadNode for node within
// registry.ReapedTTL: it deletes the record as it reads it.
func (s *Store) Reaped(ctx context.Context, node string) (bool, error) {
	if node == "" {
		return false, fmt.Errorf("registry: reaped: empty node")
	}
	n, err := s.rdb.Del(ctx, s.reapedKey(node)).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: reaped node %q: %w", node, err)
	}
	return n == 1, nil
}

// NodeConns lists node's connections. While node is dead, ids in its set whose record is gone
// (an Unregister that deleted the record but failed to update the set) are dropped from it, so
// cleanup can finish; while it is alive they are only skipped, as they may be mid-Register.
func (s *Store) NodeConns(ctx context.Context, node string) ([]registry.Conn, error) {
	nk := s.nodeKey(node)
	ids, err := s.rdb.SMembers(ctx, nk).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: connections of node %q: %w", node, err)
	}
	found, missing, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		if live, err := s.rdb.Exists(ctx, s.leaseKey(node)).Result(); err == nil && live == 0 {
			_ = s.rdb.SRem(ctx, nk, toAny(missing)...).Err()
		}
	}
	return found, nil
}

// NodeConnCount is the size of node's set of connections (registry.NodeCounter): one SCARD.
func (s *Store) NodeConnCount(ctx context.Context, node string) (int, error) {
	n, err := s.rdb.SCard(ctx, s.nodeKey(node)).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: count connections of node %q: %w", node, err)
	}
	return int(n), nil
}

// Nodes lists, sorted, the nodes with a live lease.
func (s *Store) Nodes(ctx context.Context) ([]string, error) {
	nodes, live, _, err := s.nodeState(ctx)
	if err != nil {
		return nil, err
	}
	out := nodes[:0]
	for i, n := range nodes {
		if live[i] {
			out = append(out, n)
		}
	}
	return out, nil
}
