package redisbus

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/redisx"
)

var _ bus.OwnerPublisher = (*Bus)(nil)

// toOwner appends a message to a node's stream only if a connection's record names that node,
// in one atomic step. KEYS[1] the connection's record (redisx.ConnKey), KEYS[2] the node's
// stream; ARGV[1] the node, ARGV[2] the encoded message, ARGV[3] the stream's MAXLEN. Returns
// 1 (appended), 0 (no stream: no subscriber), or the node the record names, "" for no record
// (not appended). The two keys hash to different slots, so Redis Cluster refuses it
// (PublishToOwner takes two steps there).
var toOwner = redis.NewScript(`
local owner = redis.call('HGET', KEYS[1], '` + redisx.ConnNodeField + `')
if owner ~= ARGV[1] then return owner or '' end
if redis.call('XADD', KEYS[2], 'NOMKSTREAM', 'MAXLEN', '~', ARGV[3], '*', '` + fieldMsg + `', ARGV[2]) then return 1 end
return 0`)

// PublishToOwner appends m to node's stream if the store's record of m.ConnID names node
// (bus.OwnerPublisher): one script, so one round trip and no window between the check and the
// append, on a single server and Sentinel; on Redis Cluster, where the record and the stream
// live in different slots, the record's node is read first (HGET) and then m published.
func (b *Bus) PublishToOwner(ctx context.Context, node string, m bus.Message) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	connKey := redisx.ConnKey(b.prefix, m.ConnID)
	if b.cluster {
		owner, err := b.rdb.HGet(ctx, connKey, redisx.ConnNodeField).Result()
		switch {
		case errors.Is(err, redis.Nil):
			owner = ""
		case err != nil:
			return fmt.Errorf("redisbus: read the owner of connection %q: %w", m.ConnID, err)
		}
		if owner != node {
			return notOwner(node, m.ConnID, owner)
		}
		return b.Publish(ctx, node, m)
	}
	bp, _ := b.pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = appendMessage((*bp)[:0], m)
	res, err := toOwner.Run(ctx, b.rdb, []string{connKey, b.streamKey(node)}, node, *bp, b.maxLen).Result()
	if cap(*bp) <= 64<<10 {
		b.pool.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("redisbus: publish to node %q: %w", node, err)
	}
	switch r := res.(type) {
	case int64:
		if r == 0 {
			return fmt.Errorf("publish to node %q: %w", node, bus.ErrNoSubscriber)
		}
		return nil
	case string:
		return notOwner(node, m.ConnID, r)
	}
	return fmt.Errorf("redisbus: publish to node %q: unexpected script answer %v", node, res)
}

func notOwner(node, id, owner string) error {
	if owner == "" {
		return fmt.Errorf("publish to node %q: connection %q has no record: %w", node, id, bus.ErrNotOwner)
	}
	return fmt.Errorf("publish to node %q: connection %q is on node %q: %w", node, id, owner, bus.ErrNotOwner)
}
