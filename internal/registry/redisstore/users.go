package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/registry/internal/cursor"
)

// UserConns lists the user's live connections, in no particular order.
func (s *Store) UserConns(ctx context.Context, userID string) ([]registry.Conn, error) {
	ids, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: connections of user %q: %w", userID, err)
	}
	// Ids without a record are either mid-Register (on Cluster the set may be written before
	// the record) or mid-Unregister; both sort themselves out, so they are only skipped.
	found, _, err := s.getMany(ctx, ids)
	return found, err
}

// Presence reports each user in the order given, in one round trip.
func (s *Store) Presence(ctx context.Context, userIDs []string) ([]registry.Presence, error) {
	out := make([]registry.Presence, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	p := s.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(userIDs))
	seen := make([]*redis.StringCmd, len(userIDs))
	for i, u := range userIDs {
		cards[i] = p.SCard(ctx, s.userKey(u))
		seen[i] = p.Get(ctx, s.lastSeenKey(u))
	}
	if err := exec(ctx, p); err != nil {
		return nil, fmt.Errorf("redisstore: presence of %d users: %w", len(userIDs), err)
	}
	for i, u := range userIDs {
		n := int(cards[i].Val())
		last, _ := strconv.ParseInt(seen[i].Val(), 10, 64) // missing key: zero time
		out[i] = registry.Presence{UserID: u, Online: n > 0, Connections: n, LastActiveAt: fromMS(last)}
	}
	return out, nil
}

// OnlineUsers walks the online shards in order, each in user-id order (ZRANGE BYLEX). A user
// online for the whole walk is returned exactly once. A page may hold fewer than limit users
// (one who went offline between the index read and the presence read is left out); only
// next == "" means the end.
func (s *Store) OnlineUsers(ctx context.Context, cur string, limit int) ([]registry.Presence, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("registry: online users: limit %d: use 1 or more", limit)
	}
	shard, after, err := cursor.Parse(cur, onlineShards)
	if err != nil {
		return nil, "", err
	}
	var users []string
	next := ""
	for ; shard < onlineShards; shard, after = shard+1, "" {
		room := limit - len(users)
		lo := "-"
		if after != "" {
			lo = "(" + after
		}
		// One more than fits, to know whether this shard has more.
		got, err := s.rdb.ZRangeByLex(ctx, s.onlineKey(shard), &redis.ZRangeBy{Min: lo, Max: "+", Count: int64(room + 1)}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: online users: %w", err)
		}
		if len(got) > room {
			users = append(users, got[:room]...)
			next = cursor.Encode(shard, users[len(users)-1])
			break
		}
		users = append(users, got...)
		if len(users) == limit {
			if shard+1 < onlineShards {
				next = cursor.Encode(shard+1, "")
			}
			break
		}
	}
	ps, err := s.Presence(ctx, users)
	if err != nil {
		return nil, "", err
	}
	online := ps[:0]
	for _, p := range ps {
		if p.Online {
			online = append(online, p)
		}
	}
	return online, next, nil
}
