package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/registry/redisstore"
	"github.com/wsgate/wsgate/internal/registry/registrytest"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// The contract suite on Redis Cluster and on Sentinel, through the client the server builds
// from store.url. On Cluster, a command or script whose keys span slots fails with CROSSSLOT,
// so this is what proves the key layout's hash tags.

func TestOnCluster(t *testing.T) {
	c := testredis.StartCluster(t, 3)
	rdb := urlClient(t, c.URL(), "cluster")
	t.Run("Contract", func(t *testing.T) {
		registrytest.Run(t, func(t *testing.T) registry.Store { return storeOn(t, rdb) })
	})
	t.Run("OddIDs", func(t *testing.T) { testOddIDs(t, rdb) })
}

func TestContractOnSentinel(t *testing.T) {
	s := testredis.StartSentinel(t)
	rdb := urlClient(t, s.URL(), "sentinel")
	registrytest.Run(t, func(t *testing.T) registry.Store { return storeOn(t, rdb) })
}

// testOddIDs runs every kind of operation with ids that need escaping inside a hash tag (so
// a wrong escape would put one id's keys on different slots).
func testOddIDs(t *testing.T, rdb redis.UniversalClient) {
	s := storeOn(t, rdb)
	defer s.Close()
	ctx := context.Background()
	ids := []string{"plain", "a}b", "{x}", "}", "}{", "~tilde", "{", ""}
	for i, id := range ids {
		cid := fmt.Sprint("conn-", i, id) // connection ids are never empty
		cn := registry.Conn{ID: cid, Node: "node" + id, UserID: "user" + id, ConnectedAt: time.Now()}
		if err := s.Register(ctx, cn); err != nil {
			t.Fatalf("Register(%q): %v", cid, err)
		}
		if err := s.Join(ctx, cid, "group"+id); err != nil {
			t.Fatalf("Join(%q): %v", cid, err)
		}
		if err := s.Heartbeat(ctx, cn.Node, time.Minute); err != nil {
			t.Fatalf("Heartbeat(%q): %v", cn.Node, err)
		}
		if err := s.Touch(ctx, map[string]time.Time{cid: time.Now()}); err != nil {
			t.Fatalf("Touch(%q): %v", cid, err)
		}
		if got, err := s.GroupMembers(ctx, "group"+id); err != nil || len(got) != 1 {
			t.Fatalf("GroupMembers(%q) = %v, %v", "group"+id, got, err)
		}
		if got, err := s.ConnGroups(ctx, cid); err != nil || len(got) != 1 {
			t.Fatalf("ConnGroups(%q) = %v, %v", cid, got, err)
		}
		if got, err := s.UserConns(ctx, cn.UserID); err != nil || len(got) != 1 {
			t.Fatalf("UserConns(%q) = %v, %v", cn.UserID, got, err)
		}
		if got, err := s.NodeConns(ctx, cn.Node); err != nil || len(got) != 1 {
			t.Fatalf("NodeConns(%q) = %v, %v", cn.Node, got, err)
		}
		if ps, err := s.Presence(ctx, []string{cn.UserID}); err != nil || !ps[0].Online {
			t.Fatalf("Presence(%q) = %v, %v; want online", cn.UserID, ps, err)
		}
	}
	if us, _, err := s.OnlineUsers(ctx, "", 100); err != nil || len(us) != len(ids) {
		t.Fatalf("OnlineUsers = %d users, %v; want %d", len(us), err, len(ids))
	}
	if dead, err := s.DeadNodes(ctx); err != nil || len(dead) != 0 {
		t.Fatalf("DeadNodes = %v, %v; want none (every node has a lease)", dead, err)
	}
	for i, id := range ids {
		cid := fmt.Sprint("conn-", i, id)
		if err := s.Leave(ctx, cid, "group"+id); err != nil {
			t.Fatalf("Leave(%q): %v", cid, err)
		}
		if _, ok, err := s.Unregister(ctx, cid); err != nil || !ok {
			t.Fatalf("Unregister(%q) = %v, %v", cid, ok, err)
		}
	}
}

// urlClient builds the client for url exactly as a node does, and checks its kind.
func urlClient(t *testing.T, url, wantKind string) redis.UniversalClient {
	t.Helper()
	rdb, kind, err := redisx.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	if kind != wantKind {
		t.Fatalf("redisx.NewClient(%q) kind = %q, want %q", url, kind, wantKind)
	}
	return rdb
}

// storeOn is a store on a shared client with a prefix no other test uses.
func storeOn(t testing.TB, rdb redis.UniversalClient) *redisstore.Store {
	t.Helper()
	prefix := fmt.Sprintf("t%d-%s", prefixes.Add(1), strings.NewReplacer("/", "-", "{", "(", "}", ")").Replace(t.Name()))
	s, err := redisstore.New(context.Background(), rdb, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
