package hub_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// BenchmarkPostToGroupRemote: a push to a group of 200 connections held by another node, on a
// real redis-server (the store and the bus of a node). ns/op is one group push (200
// deliveries, accepted by the bus); cpu-µs/op is this process's CPU per push (both hubs: the
// pushing one, and the owner's reader and deliveries), from getrusage.
func BenchmarkPostToGroupRemote(b *testing.B) {
	srv := testredis.Start(b)
	pusher := redisNode(b, srv, "hubbench", "node-a")
	owner := redisNode(b, srv, "hubbench", "node-b")
	ctx := context.Background()
	const members = 200
	for i := range members {
		c := &recConn{id: fmt.Sprint("m", i), node: "node-b"}
		owner.Add(ctx, c)
		if err := pusher.JoinGroup(ctx, c.id, "room"); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"msg":"hello group"}`)
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for range b.N {
		if n, err := pusher.PostToGroup(ctx, "room", data); err != nil || n != members {
			b.Fatalf("reached %d, %v", n, err)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}
