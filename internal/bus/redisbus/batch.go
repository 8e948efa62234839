package redisbus

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus"
)

var _ bus.Batcher = (*Bus)(nil)

// batchMax bounds the commands of one pipeline of PublishBatch (and so the memory of one round
// trip); a longer fan-out takes more round trips.
const batchMax = 512

// PublishBatch appends each message to its node's stream in pipelines of up to batchMax XADDs
// (bus.Batcher): one round trip per pipeline instead of one per message. Each command has its
// own answer: bus.ErrNoSubscriber for a node without a stream, as Publish.
func (b *Bus) PublishBatch(ctx context.Context, envs []bus.Envelope) []error {
	errs := make([]error, len(envs))
	if b.isClosed() {
		for i := range errs {
			errs[i] = bus.ErrClosed
		}
		return errs
	}
	var buf []byte
	ends := make([]int, 0, min(len(envs), batchMax))
	cmds := make([]*redis.StringCmd, 0, min(len(envs), batchMax))
	for start := 0; start < len(envs); start += batchMax {
		chunk := envs[start:min(start+batchMax, len(envs))]
		buf, ends = buf[:0], ends[:0]
		for _, e := range chunk { // encode first: the XADDs then hold stable slices of buf
			buf = appendMessage(buf, e.Msg)
			ends = append(ends, len(buf))
		}
		p := b.rdb.Pipeline()
		cmds = cmds[:0]
		from := 0
		for i, e := range chunk {
			cmds = append(cmds, p.XAdd(ctx, &redis.XAddArgs{
				Stream: b.streamKey(e.Node), NoMkStream: true, MaxLen: b.maxLen, Approx: true,
				Values: []any{fieldMsg, buf[from:ends[i]]},
			}))
			from = ends[i]
		}
		_, _ = p.Exec(ctx) // each command carries its own error
		for i, c := range cmds {
			errs[start+i] = b.xaddErr(chunk[i].Node, c.Err())
		}
	}
	return errs
}
