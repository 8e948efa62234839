package redisbus

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/observe"
)

// loop reads one node's stream and runs its handler. Only its own goroutine touches it.
type loop struct {
	b    *Bus
	node string
	key  string
	last string // id of the last entry handled (or of the creation marker)
	h    func(bus.Message)

	renewed time.Time // when the TTL was last renewed and read entries trimmed
}

func (l *loop) run() {
	backoff := time.Duration(0)
	for l.b.ctx.Err() == nil {
		if backoff > 0 {
			if !l.sleep(backoff) {
				return
			}
			// Redis may have restarted empty: re-create the stream so publishers find it.
			// l.last stays: ids of a new stream are time-based and so come after it.
			if _, err := l.b.ensure(l.b.ctx, l.key); err != nil {
				backoff = l.nextBackoff(backoff, err)
				continue
			}
			l.renewed = time.Now()
		}
		res, err := l.b.rdb.XRead(l.b.ctx, &redis.XReadArgs{
			Streams: []string{l.key, l.last}, Count: readCount, Block: l.b.block,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) { // Nil: the block timed out
			if l.b.ctx.Err() != nil {
				return
			}
			backoff = l.nextBackoff(backoff, err)
			continue
		}
		backoff = 0
		for _, s := range res {
			for _, e := range s.Messages {
				l.last = e.ID
				l.handle(e)
			}
		}
		l.maintain()
	}
}

func (l *loop) handle(e redis.XMessage) {
	v, ok := e.Values[fieldMsg]
	if !ok {
		return // a marker
	}
	s, _ := v.(string)
	m, err := decodeMessage([]byte(s))
	if err != nil {
		l.b.log.Warn("bus: dropped undecodable message", "node", l.node, "entry", e.ID, observe.KeyError, err)
		return
	}
	l.h(m)
}

// maintain renews the stream's TTL, re-creating it if it vanished, and trims what has been
// read, at most once per block period.
func (l *loop) maintain() {
	if time.Since(l.renewed) < l.b.block {
		return
	}
	p := l.b.rdb.Pipeline()
	p.XTrimMinIDApprox(l.b.ctx, l.key, l.last, 0)
	renewed := p.PExpire(l.b.ctx, l.key, l.b.ttl)
	if _, err := p.Exec(l.b.ctx); err != nil {
		return // the next XREAD will see the same error and back off
	}
	if !renewed.Val() {
		// The stream is gone (flushed, or expired while the handler was slow): publishers now
		// get ErrNoSubscriber, so bring it back.
		if _, err := l.b.ensure(l.b.ctx, l.key); err != nil {
			return
		}
	}
	l.renewed = time.Now()
}

func (l *loop) nextBackoff(cur time.Duration, err error) time.Duration {
	next := min(max(2*cur, minBackoff), l.b.maxBackoff)
	l.b.log.Warn("bus: redis read failed; retrying", "node", l.node, "retryIn", next, observe.KeyError, err)
	return next
}

// sleep waits d plus up to 20% jitter, so nodes do not reconnect in lockstep; false if the
// Bus closed meanwhile.
func (l *loop) sleep(d time.Duration) bool {
	t := time.NewTimer(d + rand.N(d/5+1))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.b.ctx.Done():
		return false
	}
}
