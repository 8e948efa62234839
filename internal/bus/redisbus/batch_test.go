package redisbus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// PublishBatch: more messages than one pipeline holds, every 100th to a node without a
// subscriber. Each gets its own answer (ErrNoSubscriber for those, nil for the rest), and the
// rest arrive once, in the order given; after Close every answer is ErrClosed.
func TestPublishBatch(t *testing.T) {
	srv := testredis.Start(t)
	p := prefix()
	pub, sub := newNode(t, srv, p), newNode(t, srv, p)
	ctx := context.Background()
	var got collector
	if err := sub.Subscribe(ctx, "node-b", got.handle); err != nil {
		t.Fatal(err)
	}
	const n = 1100 // three pipelines of at most 512
	envs := make([]bus.Envelope, n)
	var want []string
	for i := range envs {
		node := "node-b"
		if i%100 == 50 {
			node = "node-none"
		} else {
			want = append(want, fmt.Sprint(i))
		}
		envs[i] = bus.Envelope{Node: node, Msg: bus.Message{Kind: bus.Send, ConnID: fmt.Sprint("c", i%7), Data: fmt.Append(nil, i)}}
	}
	for i, err := range pub.PublishBatch(ctx, envs) {
		if envs[i].Node == "node-none" {
			if !errors.Is(err, bus.ErrNoSubscriber) {
				t.Fatalf("message %d to a node without a subscriber: err = %v, want ErrNoSubscriber", i, err)
			}
		} else if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	harness.Eventually(t, "the messages", func() bool { return got.len() >= len(want) })
	msgs := got.get()
	if len(msgs) != len(want) {
		t.Fatalf("got %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if string(m.Data) != want[i] || m.ConnID != fmt.Sprint("c", mustAtoi(t, want[i])%7) {
			t.Fatalf("message %d is %+v (%q), want data %s: order or addressing lost", i, m, m.Data, want[i])
		}
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	for _, err := range pub.PublishBatch(ctx, envs[:3]) {
		if !errors.Is(err, bus.ErrClosed) {
			t.Fatalf("after Close: err = %v, want ErrClosed", err)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
