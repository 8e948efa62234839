package hub_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil/harness"
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

// BenchmarkBroadcastRemote: a broadcast from a node holding no connection while another holds
// 2,000, on a real redis-server: call-µs/op is the broadcast call (publish to the other node,
// and its count of connections); ns/op and cpu-µs/op (this process's CPU) run until the other
// node has made every delivery.
func BenchmarkBroadcastRemote(b *testing.B) {
	srv := testredis.Start(b)
	pusher := redisNode(b, srv, "hubbcast", "node-a")
	owner := redisNode(b, srv, "hubbcast", "node-b")
	ctx := context.Background()
	const conns = 2000
	all := make([]*recConn, conns)
	for i := range all {
		all[i] = &recConn{id: fmt.Sprint("c", i), node: "node-b"}
		owner.Add(ctx, all[i])
	}
	data := []byte(`{"msg":"hello all"}`)
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if n, err := pusher.Broadcast(ctx, data); err != nil || n != conns {
			b.Fatalf("reached %d, %v", n, err)
		}
	}
	call := time.Since(start)
	harness.Eventually(b, "every delivery", func() bool {
		for _, c := range all {
			if f, _ := c.got(); len(f) < b.N {
				return false
			}
		}
		return true
	})
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(call.Microseconds())/float64(b.N), "call-µs/op")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}
