package redisbus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/bus/redisbus"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

var prefixes atomic.Int64

// node is one gateway node: its own client and Bus.
func newNode(t testing.TB, srv *testredis.Server, prefix string) *redisbus.Bus {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	b, err := redisbus.New(context.Background(), rdb, redisbus.Options{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		rdb.Close()
	})
	return b
}

func prefix() string { return fmt.Sprintf("bus%d", prefixes.Add(1)) }

// collector records what a handler receives.
type collector struct {
	mu   sync.Mutex
	msgs []bus.Message
}

func (c *collector) handle(m bus.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func (c *collector) get() []bus.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bus.Message(nil), c.msgs...)
}

func TestPublishSubscribeAcrossNodes(t *testing.T) {
	srv := testredis.Start(t)
	p := prefix()
	a, b := newNode(t, srv, p), newNode(t, srv, p)
	ctx := context.Background()
	var gotA, gotB collector
	if err := a.Subscribe(ctx, "node-a", gotA.handle); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, "node-b", gotB.handle); err != nil {
		t.Fatal(err)
	}
	toB := bus.Message{Kind: bus.Send, ConnID: "conn-on-b", Data: []byte("hello b")}
	toA := bus.Message{Kind: bus.Close, ConnID: "conn-on-a", Code: 1008, Reason: "banned"}
	if err := a.Publish(ctx, "node-b", toB); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "node-a", toA); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "both deliveries", func() bool { return gotA.len() == 1 && gotB.len() == 1 })
	if m := gotB.get()[0]; m.Kind != toB.Kind || m.ConnID != toB.ConnID || string(m.Data) != "hello b" {
		t.Fatalf("node-b got %+v, want %+v", m, toB)
	}
	if m := gotA.get()[0]; m.Kind != toA.Kind || m.ConnID != toA.ConnID || m.Code != 1008 || m.Reason != "banned" {
		t.Fatalf("node-a got %+v, want %+v", m, toA)
	}
}

func TestPublishToUnknownNode(t *testing.T) {
	srv := testredis.Start(t)
	b := newNode(t, srv, prefix())
	err := b.Publish(context.Background(), "nobody", bus.Message{Kind: bus.Send})
	if !errors.Is(err, bus.ErrNoSubscriber) {
		t.Fatalf("Publish to unknown node err = %v, want ErrNoSubscriber", err)
	}
}

func TestOrderOf1000Messages(t *testing.T) {
	srv := testredis.Start(t)
	p := prefix()
	pub, sub := newNode(t, srv, p), newNode(t, srv, p)
	ctx := context.Background()
	var got collector
	if err := sub.Subscribe(ctx, "sub", got.handle); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if err := pub.Publish(ctx, "sub", bus.Message{Kind: bus.Send, ConnID: "c", Data: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, "1000 messages", func() bool { return got.len() >= n })
	msgs := got.get()
	if len(msgs) != n {
		t.Fatalf("got %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q: order lost", i, m.Data)
		}
	}
}

func TestLargePayload(t *testing.T) {
	srv := testredis.Start(t)
	p := prefix()
	checkLargePayload(t, newNode(t, srv, p), newNode(t, srv, p))
}

// checkLargePayload publishes AWS's largest message (128 KB) from pub to a subscriber on sub and
// checks it arrives byte for byte.
func checkLargePayload(t *testing.T, pub, sub *redisbus.Bus) {
	t.Helper()
	ctx := context.Background()
	var got collector
	if err := sub.Subscribe(ctx, "sub", got.handle); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 128<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := pub.Publish(ctx, "sub", bus.Message{Kind: bus.Send, ConnID: "c", Data: data}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the large message", func() bool { return got.len() == 1 })
	if !bytes.Equal(got.get()[0].Data, data) {
		t.Fatal("128 KB payload arrived changed")
	}
}

func TestDeliveryResumesAfterRedisRestart(t *testing.T) {
	srv := testredis.Start(t)
	p := prefix()
	pub, sub := newNode(t, srv, p), newNode(t, srv, p)
	ctx := context.Background()
	var got collector
	if err := sub.Subscribe(ctx, "sub", got.handle); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "sub", bus.Message{Kind: bus.Send, ConnID: "before"}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the first message", func() bool { return got.len() == 1 })

	srv.Restart() // all data lost; both clients' connections break

	// Publishing fails (connection error, then ErrNoSubscriber) until the subscriber has
	// reconnected and re-created its stream; then it must succeed and be delivered.
	harness.Eventually(t, "publish to succeed after restart", func() bool {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return pub.Publish(ctx, "sub", bus.Message{Kind: bus.Send, ConnID: "after"}) == nil
	})
	harness.Eventually(t, "delivery after restart", func() bool { return got.len() == 2 })
	if m := got.get()[1]; m.ConnID != "after" {
		t.Fatalf("after restart got %+v, want ConnID after", m)
	}
}

func TestCloseStopsCleanly(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	pfx := prefix()
	b, err := redisbus.New(ctx, rdb, redisbus.Options{Prefix: pfx})
	if err != nil {
		t.Fatal(err)
	}
	var got collector
	for i := range 5 {
		if err := b.Subscribe(ctx, fmt.Sprint("n", i), got.handle); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Subscribe(ctx, "n0", got.handle); err == nil {
		t.Fatal("second Subscribe to one node: no error")
	}
	// Close must not wait out the blocking read (DefaultBlock); the test timeout would catch
	// a hang, and the goroutine poll a leak.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "read loops to exit", func() bool { return runtime.NumGoroutine() <= before })
	if err := b.Publish(ctx, "n0", bus.Message{Kind: bus.Send}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close err = %v, want ErrClosed", err)
	}
	if err := b.Subscribe(ctx, "x", got.handle); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe after Close err = %v, want ErrClosed", err)
	}
	// Another node publishing to the closed node learns at once that it is gone.
	other, err := redisbus.New(ctx, rdb, redisbus.Options{Prefix: pfx})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Publish(ctx, "n0", bus.Message{Kind: bus.Send}); !errors.Is(err, bus.ErrNoSubscriber) {
		t.Fatalf("Publish to a closed node err = %v, want ErrNoSubscriber", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	for _, p := range []string{"a{b}", "a}"} {
		if b, err := redisbus.New(context.Background(), rdb, redisbus.Options{Prefix: p}); err == nil {
			b.Close()
			t.Errorf("New(prefix %q): no error", p)
		}
	}
	if _, err := redisbus.New(context.Background(), nil, redisbus.Options{}); err == nil {
		t.Error("New(nil client): no error")
	}
}

// BenchmarkPublishDeliver measures end-to-end throughput between two nodes: one publisher
// goroutine, 1 KB messages, timed until the subscriber has handled them all.
func BenchmarkPublishDeliver(b *testing.B) {
	srv := testredis.Start(b)
	p := prefix()
	pub, sub := newNode(b, srv, p), newNode(b, srv, p)
	ctx := context.Background()
	var n atomic.Int64
	if err := sub.Subscribe(ctx, "sub", func(bus.Message) { n.Add(1) }); err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := pub.Publish(ctx, "sub", bus.Message{Kind: bus.Send, ConnID: "c", Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	harness.Eventually(b, "delivery", func() bool { return n.Load() == int64(b.N) })
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
