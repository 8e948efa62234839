package redisstore

import (
	"context"
	"fmt"

	"github.com/wsgate/wsgate/internal/registry"
)

// Join adds the connection to group, or returns registry.ErrNotFound. The connection side
// (check it exists, add the group to its set) is one script; the group side is another slot,
// written after, then re-checked so that a connection unregistered in between does not stay
// a member.
func (s *Store) Join(ctx context.Context, connID, group string) error {
	if group == "" {
		return fmt.Errorf("registry: join connection %q: empty group name", connID)
	}
	ok, err := join.Run(ctx, s.rdb, []string{s.connKey(connID), s.connGroupsKey(connID)}, group).Int()
	if err != nil {
		return fmt.Errorf("redisstore: join connection %q to group %q: %w", connID, group, err)
	}
	if ok == 0 {
		return fmt.Errorf("join connection %q to group %q: %w", connID, group, registry.ErrNotFound)
	}
	gk := s.groupKey(group)
	if err := s.rdb.SAdd(ctx, gk, connID).Err(); err != nil {
		return fmt.Errorf("redisstore: join connection %q to group %q: %w", connID, group, err)
	}
	if n, err := s.rdb.Exists(ctx, s.connKey(connID)).Result(); err == nil && n == 0 {
		_ = s.rdb.SRem(ctx, gk, connID).Err() // GroupMembers also drops it if this fails
	}
	return nil
}

// Leave removes the connection from group; not being a member is no error.
func (s *Store) Leave(ctx context.Context, connID, group string) error {
	p := s.rdb.Pipeline()
	p.SRem(ctx, s.connGroupsKey(connID), group)
	p.SRem(ctx, s.groupKey(group), connID)
	if err := exec(ctx, p); err != nil {
		return fmt.Errorf("redisstore: leave group %q for connection %q: %w", group, connID, err)
	}
	return nil
}

// GroupMembers lists the group's live connections. Members whose record is gone (left behind
// by an Unregister that failed part way) are removed from the group as they are found: a
// connection joins only after its record exists, so such an id cannot be mid-Register.
func (s *Store) GroupMembers(ctx context.Context, group string) ([]registry.Conn, error) {
	gk := s.groupKey(group)
	ids, err := s.rdb.SMembers(ctx, gk).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: members of group %q: %w", group, err)
	}
	found, missing, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		_ = s.rdb.SRem(ctx, gk, toAny(missing)...).Err() // best effort; the next read retries
	}
	return found, nil
}

// ConnGroups lists the connection's groups; registry.ErrNotFound if it is unknown.
func (s *Store) ConnGroups(ctx context.Context, connID string) ([]string, error) {
	p := s.rdb.Pipeline()
	exists := p.Exists(ctx, s.connKey(connID))
	groups := p.SMembers(ctx, s.connGroupsKey(connID))
	if err := exec(ctx, p); err != nil {
		return nil, fmt.Errorf("redisstore: groups of connection %q: %w", connID, err)
	}
	if exists.Val() == 0 {
		return nil, fmt.Errorf("groups of connection %q: %w", connID, registry.ErrNotFound)
	}
	return groups.Val(), nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
