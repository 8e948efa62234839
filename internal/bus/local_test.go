package bus_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

func TestLocalDeliversInOrder(t *testing.T) {
	ctx := context.Background()
	b := bus.NewLocal()
	defer b.Close()
	var mu sync.Mutex
	var got []string
	if err := b.Subscribe(ctx, "node-1", func(m bus.Message) {
		mu.Lock()
		got = append(got, m.ConnID)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	const n = 5000 // more than the queue holds, so Publish must wait at times
	for i := range n {
		if err := b.Publish(ctx, "node-1", bus.Message{Kind: bus.Send, ConnID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, "all messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == n })
	for i, id := range got {
		if id != fmt.Sprint(i) {
			t.Fatalf("message %d has ConnID %q: order lost", i, id)
		}
	}
}

func TestLocalUnknownNode(t *testing.T) {
	b := bus.NewLocal()
	defer b.Close()
	err := b.Publish(context.Background(), "elsewhere", bus.Message{Kind: bus.Send})
	if !errors.Is(err, bus.ErrNoSubscriber) {
		t.Fatalf("Publish to unknown node err = %v, want ErrNoSubscriber", err)
	}
}

func TestLocalDoubleSubscribe(t *testing.T) {
	b := bus.NewLocal()
	defer b.Close()
	ctx := context.Background()
	if err := b.Subscribe(ctx, "n", func(bus.Message) {}); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, "n", func(bus.Message) {}); err == nil {
		t.Fatal("second Subscribe to one node: no error")
	}
}

func TestLocalFullQueueHonoursContext(t *testing.T) {
	b := bus.NewLocal()
	defer b.Close()
	block := make(chan struct{})
	defer close(block)
	if err := b.Subscribe(context.Background(), "slow", func(bus.Message) { <-block }); err != nil {
		t.Fatal(err)
	}
	// One message is held by the handler, the queue holds the rest: then it is full.
	for range bus.DefaultLocalQueue + 1 {
		if err := b.Publish(context.Background(), "slow", bus.Message{Kind: bus.Send}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a cancelled context must free a publisher facing a full queue

	if err := b.Publish(ctx, "slow", bus.Message{Kind: bus.Send}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish to a full queue with a cancelled ctx err = %v, want context.Canceled", err)
	}
}

func TestLocalCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	b := bus.NewLocal()
	for i := range 10 {
		if err := b.Subscribe(context.Background(), fmt.Sprint(i), func(bus.Message) {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "subscription goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	if err := b.Publish(context.Background(), "1", bus.Message{}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish after Close err = %v, want ErrClosed", err)
	}
	if err := b.Subscribe(context.Background(), "x", func(bus.Message) {}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe after Close err = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestLocalKeepsNoCallerBuffer: Publish does not keep m.Data (Bus.Publish's contract; the
// management API reuses its request buffers), so a buffer overwritten after Publish returns
// does not change what the subscriber gets.
func TestLocalKeepsNoCallerBuffer(t *testing.T) {
	ctx := context.Background()
	b := bus.NewLocal()
	defer b.Close()
	release := make(chan struct{})
	got := make(chan string, 1)
	if err := b.Subscribe(ctx, "node-1", func(m bus.Message) { <-release; got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	buf := []byte("original")
	if err := b.Publish(ctx, "node-1", bus.Message{Kind: bus.Send, ConnID: "c", Data: buf}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	close(release)
	if s := <-got; s != "original" {
		t.Fatalf("subscriber got %q, want the data as published", s)
	}
}
