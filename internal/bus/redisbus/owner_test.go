package redisbus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/bus/redisbus"
	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/registry/redisstore"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

func TestPublishToOwner(t *testing.T) {
	srv := testredis.Start(t)
	p := prefix()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	checkPublishToOwner(t, newNode(t, srv, p), newNode(t, srv, p), newStore(t, rdb, p))
}

// newStore is the registry a node keeps its records in, with the bus's prefix: the records
// PublishToOwner reads are written by the real store, so a change of its layout fails here.
func newStore(t *testing.T, rdb redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(context.Background(), rdb, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func urlStore(t *testing.T, url, prefix string) *redisstore.Store {
	t.Helper()
	rdb, _, err := redisx.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return newStore(t, rdb, prefix)
}

// checkPublishToOwner: PublishToOwner delivers to the node the record names, in order with
// Publish; a connection without a record, or with another node's, gets ErrNotOwner and nothing
// is published; a node without a subscriber gets ErrNoSubscriber; after Close, ErrClosed.
// "Nothing published" is checked without waiting on time: a marker published after the
// refused call must be the next message the subscriber sees.
func checkPublishToOwner(t *testing.T, pub, sub *redisbus.Bus, st *redisstore.Store) {
	t.Helper()
	ctx := context.Background()
	var got collector
	if err := sub.Subscribe(ctx, "node-b", got.handle); err != nil {
		t.Fatal(err)
	}
	for id, node := range map[string]string{"on-b": "node-b", "on-c": "node-c", "on-gone": "node-gone"} {
		if err := st.Register(ctx, registry.Conn{ID: id, Node: node, ConnectedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(id string, i int) bus.Message {
		return bus.Message{Kind: bus.Send, ConnID: id, Data: fmt.Append(nil, i)}
	}
	const n = 200
	for i := range n { // one publisher, both calls: one order
		var err error
		if i%2 == 0 {
			err = pub.PublishToOwner(ctx, "node-b", send("on-b", i))
		} else {
			err = pub.Publish(ctx, "node-b", send("on-b", i))
		}
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	harness.Eventually(t, "200 messages", func() bool { return got.len() >= n })
	for i, m := range got.get() {
		if m.ConnID != "on-b" || string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d is %+v (%q): order lost", i, m, m.Data)
		}
	}

	refused := func(what, node string, m bus.Message, want error) {
		t.Helper()
		if err := pub.PublishToOwner(ctx, node, m); !errors.Is(err, want) {
			t.Fatalf("%s: err = %v, want %v", what, err, want)
		}
		before := got.len()
		if err := pub.Publish(ctx, "node-b", bus.Message{Kind: bus.Send, ConnID: "marker", Data: []byte(what)}); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, "the marker after "+what, func() bool { return got.len() > before })
		if m := got.get()[before]; m.ConnID != "marker" || string(m.Data) != what {
			t.Fatalf("%s: the subscriber got %+v before the marker: it was published", what, m)
		}
	}
	refused("a connection without a record", "node-b", send("no-such", 0), bus.ErrNotOwner)
	refused("a connection on another node", "node-b", send("on-c", 0), bus.ErrNotOwner)
	refused("a close for a connection on another node", "node-b",
		bus.Message{Kind: bus.Close, ConnID: "on-c", Code: 1000, Reason: "Connection deleted"}, bus.ErrNotOwner)
	if err := pub.PublishToOwner(ctx, "node-gone", send("on-gone", 0)); !errors.Is(err, bus.ErrNoSubscriber) {
		t.Fatalf("to a node without a subscriber: err = %v, want ErrNoSubscriber", err)
	}
	if _, _, err := st.Unregister(ctx, "on-b"); err != nil {
		t.Fatal(err)
	}
	refused("a closed connection", "node-b", send("on-b", 0), bus.ErrNotOwner)

	c := bus.Message{Kind: bus.Close, ConnID: "again-on-b", Code: 1000, Reason: "Connection deleted"}
	if err := st.Register(ctx, registry.Conn{ID: c.ConnID, Node: "node-b", ConnectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before := got.len()
	if err := pub.PublishToOwner(ctx, "node-b", c); err != nil {
		t.Fatalf("a close to the owner: %v", err)
	}
	harness.Eventually(t, "the close", func() bool { return got.len() > before })
	if m := got.get()[before]; m.Kind != bus.Close || m.ConnID != c.ConnID || m.Code != 1000 || m.Reason != c.Reason {
		t.Fatalf("the owner got %+v, want %+v", m, c)
	}

	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishToOwner(ctx, "node-b", send("again-on-b", 0)); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("after Close: err = %v, want ErrClosed", err)
	}
}
