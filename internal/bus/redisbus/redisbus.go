// Package redisbus is the bus.Bus between gateway nodes sharing one Redis.
//
// # Why streams
//
// Each node has one Redis Stream, "<prefix>:bus:{<node>}", rather than a Pub/Sub channel.
// Pub/Sub is cheaper (nothing is stored) but drops whatever is published while the subscriber
// reconnects; a stream keeps those messages, so a short network blip or a client reconnect
// loses nothing, and entry ids give a total order. The cost is kept small: publishers cap the
// stream with XADD MAXLEN ~ (a stuck subscriber cannot grow it without bound), the subscriber
// trims what it has read (XTRIM MINID ~), and the key expires a minute after its subscriber
// stops renewing it. Publishers use XADD NOMKSTREAM, so publishing to a node that is gone fails
// at once with bus.ErrNoSubscriber instead of filling a stream nobody reads.
//
// Order: one publisher's Publish and PublishToOwner calls to one node are XADDs issued one
// after another, so their entry ids increase and the subscriber reads them in that order.
//
// PublishToOwner (bus.OwnerPublisher) reads the connection's record in the store
// (redisx.ConnKey) and appends to the owner's stream in one script: the push of a node that
// remembers a connection's owner costs one round trip, like a push to its own connections.
package redisbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/redisx"
)

// Tunables, each with its default.
const (
	// DefaultMaxLen caps a node's stream (approximately) when its subscriber falls behind.
	DefaultMaxLen = 10000
	// DefaultStreamTTL is how long a node's stream outlives its last renewal by the subscriber.
	DefaultStreamTTL = time.Minute
	// DefaultBlock is how long one XREAD waits for messages; it also paces TTL renewal.
	DefaultBlock = 5 * time.Second
	// DefaultMaxBackoff caps the wait between reconnect attempts after Redis errors.
	DefaultMaxBackoff = 2 * time.Second

	minBackoff = 50 * time.Millisecond
	readCount  = 512 // entries per XREAD
	closeWait  = 5 * time.Second

	fieldMsg    = "m" // entry field holding an encoded message
	fieldMarker = "x" // entry field of a marker (stream creation, wake-up); skipped by readers
)

// Options configures New; the zero value is the default.
type Options struct {
	// Prefix starts every key (the same prefix as the store's; no '{' or '}').
	// Default redisx.DefaultPrefix.
	Prefix string
	// Logger receives read-loop errors (Redis down, undecodable entries). Default slog.Default().
	Logger *slog.Logger
	// MaxLen caps each node's stream, approximately. Default DefaultMaxLen.
	MaxLen int64
}

// Bus is a bus.Bus on Redis Streams. It is safe for concurrent use. It does not own the
// client: close the client after Close.
type Bus struct {
	rdb        redis.UniversalClient
	prefix     string
	log        *slog.Logger
	maxLen     int64
	ttl        time.Duration
	block      time.Duration
	maxBackoff time.Duration
	pool       sync.Pool // *[]byte encode buffers
	cluster    bool      // Redis Cluster: no script may touch a record and a stream together

	ctx    context.Context // cancelled by Close; read loops run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	subs   map[string]string // node -> stream key, subscribed on this Bus
	closed bool
}

var _ bus.Bus = (*Bus)(nil)

// New checks that Redis answers on client and returns a Bus on it.
func New(ctx context.Context, client redis.UniversalClient, o Options) (*Bus, error) {
	prefix, err := redisx.CheckPrefix(o.Prefix)
	if err != nil {
		return nil, fmt.Errorf("redisbus: %w", err)
	}
	if err := redisx.Ping(ctx, client, "redisbus"); err != nil {
		return nil, err
	}
	b := &Bus{
		rdb: client, prefix: prefix, log: o.Logger, maxLen: o.MaxLen,
		ttl: DefaultStreamTTL, block: DefaultBlock, maxBackoff: DefaultMaxBackoff,
		subs: map[string]string{},
	}
	_, b.cluster = client.(*redis.ClusterClient)
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.maxLen <= 0 {
		b.maxLen = DefaultMaxLen
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// streamKey is node's stream, "<prefix>:bus:{<node>}": the node name is the hash tag
// (redisx.Key), so each node's stream lands on its own slot.
func (b *Bus) streamKey(node string) string { return redisx.Key(b.prefix, "bus", node) }

// Publish appends m to node's stream; bus.ErrNoSubscriber if the stream does not exist (no
// node of that name is subscribed, or it stopped more than DefaultStreamTTL ago).
func (b *Bus) Publish(ctx context.Context, node string, m bus.Message) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	bp, _ := b.pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = appendMessage((*bp)[:0], m)
	err := b.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: b.streamKey(node), NoMkStream: true, MaxLen: b.maxLen, Approx: true,
		Values: []any{fieldMsg, *bp},
	}).Err()
	if cap(*bp) <= 64<<10 { // do not keep huge buffers alive
		b.pool.Put(bp)
	}
	return b.xaddErr(node, err)
}

// xaddErr is Publish's error for the answer to an XADD NOMKSTREAM to node's stream.
func (b *Bus) xaddErr(node string, err error) error {
	switch {
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("publish to node %q: %w", node, bus.ErrNoSubscriber)
	case err != nil:
		return fmt.Errorf("redisbus: publish to node %q: %w", node, err)
	}
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Subscribe creates node's stream (so publishers find it) and starts its read loop. Messages
// published after Subscribe returns are delivered to h, on the loop's goroutine, in order.
func (b *Bus) Subscribe(ctx context.Context, node string, h func(bus.Message)) error {
	key := b.streamKey(node)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	if _, ok := b.subs[node]; ok {
		return fmt.Errorf("redisbus: node %q is already subscribed on this bus", node)
	}
	start, err := b.ensure(ctx, key)
	if err != nil {
		return fmt.Errorf("redisbus: subscribe node %q: %w", node, err)
	}
	b.subs[node] = key
	l := &loop{b: b, node: node, key: key, last: start, h: h}
	b.wg.Go(l.run)
	return nil
}

// ensure creates the stream if needed by adding a marker entry, renews its TTL, and returns
// the marker's id: everything after it is new.
func (b *Bus) ensure(ctx context.Context, key string) (string, error) {
	p := b.rdb.Pipeline()
	id := p.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: b.maxLen, Approx: true, Values: []any{fieldMarker, ""}})
	p.PExpire(ctx, key, b.ttl)
	if _, err := p.Exec(ctx); err != nil {
		return "", err
	}
	return id.Val(), nil
}

// Close stops every read loop and waits for it, then deletes this Bus's streams so publishers
// get bus.ErrNoSubscriber at once. A blocked XREAD is woken by a marker entry rather than
// waiting out DefaultBlock.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	keys := make([]string, 0, len(b.subs))
	for _, k := range b.subs {
		keys = append(keys, k)
	}
	b.mu.Unlock()

	b.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	for _, k := range keys {
		_ = b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k, NoMkStream: true, Values: []any{fieldMarker, ""}}).Err()
	}
	b.wg.Wait()
	var errs []error
	for _, k := range keys {
		if err := b.rdb.Del(ctx, k).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redisbus: close: delete streams: %w", err)
	}
	return nil
}
