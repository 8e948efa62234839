package redisbus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/bus/redisbus"
	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// The bus's core cases on Redis Cluster and on Sentinel, each node with its own client built
// from store.url exactly as a gateway node builds it. On Cluster each node's stream hashes to
// its own slot (usually another master), and a blocking XREAD must follow it there.

func TestOnCluster(t *testing.T) {
	c := testredis.StartCluster(t, 3)
	runCore(t, c.URL(), "cluster")
}

func TestOnSentinel(t *testing.T) {
	s := testredis.StartSentinel(t)
	runCore(t, s.URL(), "sentinel")
}

func runCore(t *testing.T, url, kind string) {
	node := func(t *testing.T, prefix string) *redisbus.Bus { return urlNode(t, url, kind, prefix) }
	t.Run("AcrossNodesInOrder", func(t *testing.T) {
		// "node-a" hashes to slot 3099 and "node-b" to 15480: on a 3-master cluster the two
		// streams live on different masters.
		p := prefix()
		a, b := node(t, p), node(t, p)
		ctx := context.Background()
		var gotA, gotB collector
		if err := a.Subscribe(ctx, "node-a", gotA.handle); err != nil {
			t.Fatal(err)
		}
		if err := b.Subscribe(ctx, "node-b", gotB.handle); err != nil {
			t.Fatal(err)
		}
		const n = 300
		for i := range n {
			if err := a.Publish(ctx, "node-b", bus.Message{Kind: bus.Send, ConnID: "on-b", Data: fmt.Append(nil, i)}); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctx, "node-a", bus.Message{Kind: bus.Send, ConnID: "on-a", Data: fmt.Append(nil, i)}); err != nil {
				t.Fatal(err)
			}
		}
		harness.Eventually(t, "both nodes' messages", func() bool { return gotA.len() >= n && gotB.len() >= n })
		for name, got := range map[string][]bus.Message{"node-a": gotA.get(), "node-b": gotB.get()} {
			if len(got) != n {
				t.Fatalf("%s got %d messages, want %d", name, len(got), n)
			}
			for i, m := range got {
				if string(m.Data) != fmt.Sprint(i) {
					t.Fatalf("%s message %d is %q: order lost", name, i, m.Data)
				}
			}
		}
	})
	t.Run("LargePayload", func(t *testing.T) {
		p := prefix()
		checkLargePayload(t, node(t, p), node(t, p))
	})
	t.Run("PublishToOwner", func(t *testing.T) {
		// On Cluster the record and the stream live in different slots: two steps, the same
		// answers.
		p := prefix()
		checkPublishToOwner(t, node(t, p), node(t, p), urlStore(t, url, p))
	})
	t.Run("GoneNodeIsNoSubscriber", func(t *testing.T) {
		p := prefix()
		pub, sub := node(t, p), node(t, p)
		ctx := context.Background()
		if err := pub.Publish(ctx, "nobody", bus.Message{Kind: bus.Send}); !errors.Is(err, bus.ErrNoSubscriber) {
			t.Fatalf("Publish to an unknown node err = %v, want ErrNoSubscriber", err)
		}
		if err := sub.Subscribe(ctx, "leaving", func(bus.Message) {}); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, "leaving", bus.Message{Kind: bus.Send}); err != nil {
			t.Fatalf("Publish to a subscribed node: %v", err)
		}
		if err := sub.Close(); err != nil { // deletes its stream
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, "leaving", bus.Message{Kind: bus.Send}); !errors.Is(err, bus.ErrNoSubscriber) {
			t.Fatalf("Publish to a closed node err = %v, want ErrNoSubscriber", err)
		}
	})
}

// urlNode is one gateway node's Bus on its own client from redisx.NewClient(url).
func urlNode(t *testing.T, url, kind, prefix string) *redisbus.Bus {
	t.Helper()
	rdb, got, err := redisx.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	if got != kind {
		rdb.Close()
		t.Fatalf("redisx.NewClient(%q) kind = %q, want %q", url, got, kind)
	}
	b, err := redisbus.New(context.Background(), rdb, redisbus.Options{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		rdb.Close()
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
