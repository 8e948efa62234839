package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// NodeConnCount agrees with len(NodeConns) as connections register and unregister, and is 0
// for a node that owns none.
func TestNodeConnCount(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	ctx := context.Background()
	var _ registry.NodeCounter = s
	check := func(node string, want int) {
		t.Helper()
		n, err := s.NodeConnCount(ctx, node)
		cs, err2 := s.NodeConns(ctx, node)
		if err != nil || err2 != nil || n != want || len(cs) != want {
			t.Fatalf("node %s: NodeConnCount = %d, %v; NodeConns has %d, %v; want %d", node, n, err, len(cs), err2, want)
		}
	}
	for i := range 5 {
		node := "n1"
		if i == 4 {
			node = "n2"
		}
		if err := s.Register(ctx, registry.Conn{ID: fmt.Sprint("c", i), Node: node, ConnectedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	check("n1", 4)
	check("n2", 1)
	check("nobody", 0)
	if _, _, err := s.Unregister(ctx, "c0"); err != nil {
		t.Fatal(err)
	}
	check("n1", 3)
}
