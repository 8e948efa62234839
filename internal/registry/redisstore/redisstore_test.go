package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/registry/redisstore"
	"github.com/wsgate/wsgate/internal/registry/registrytest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

var prefixes atomic.Int64

// newStore returns a store on srv with a prefix no other test uses.
func newStore(t testing.TB, srv *testredis.Server) *redisstore.Store {
	t.Helper()
	prefix := fmt.Sprintf("t%d-%s", prefixes.Add(1), strings.NewReplacer("/", "-", "{", "(", "}", ")").Replace(t.Name()))
	rdb, _, err := redisx.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s, err := redisstore.New(context.Background(), rdb, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return s
}

func TestContract(t *testing.T) {
	srv := testredis.Start(t)
	registrytest.Run(t, func(t *testing.T) registry.Store { return newStore(t, srv) })
}

func TestNewRejectsBadOptions(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	good, _, _ := redisx.NewClient(srv.URL())
	defer good.Close()
	down, _, _ := redisx.NewClient("redis://127.0.0.1:1/0") // nothing listens there
	defer down.Close()
	for _, c := range []struct {
		name   string
		client redis.UniversalClient
		o      redisstore.Options
	}{
		{"no client", nil, redisstore.Options{}},
		{"Redis down", down, redisstore.Options{}},
		{"hash tag in prefix", good, redisstore.Options{Prefix: "a{b}c"}},
	} {
		if s, err := redisstore.New(ctx, c.client, c.o); err == nil {
			s.Close()
			t.Errorf("New: %s: no error", c.name)
		}
	}
}

// TestKeysShareSlotsPerID checks the property Cluster needs: all keys of one id hash to one
// slot, even for ids with braces, and the keys carry the prefix.
func TestKeysShareSlotsPerID(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	defer s.Close()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()

	for _, id := range []string{"plain", "a}b", "{x}", "}", "}{", "~tilde", "{"} {
		c := registry.Conn{ID: id, Node: id, UserID: id, ConnectedAt: time.Now()}
		if err := s.Register(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.Join(ctx, c.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, c.ID); err != nil {
			t.Fatalf("Get(%q): %v", c.ID, err)
		}
		if ps, err := s.Presence(ctx, []string{id}); err != nil || !ps[0].Online {
			t.Fatalf("Presence(%q) = %v, %v; want online", id, ps, err)
		}
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	// Group keys by the text inside their first {...}; every key must have a non-empty tag
	// except the nodes index, and a tag must not contain braces.
	for _, k := range keys {
		if k == strings.SplitN(k, ":", 2)[0]+":nodes" {
			continue
		}
		open := strings.IndexByte(k, '{')
		end := strings.IndexByte(k[open+1:], '}')
		if open < 0 || end <= 0 {
			t.Errorf("key %q has no non-empty hash tag", k)
			continue
		}
		if strings.ContainsAny(k[:open], "{}") {
			t.Errorf("key %q: braces before the tag", k)
		}
		if k[open+1+end+1:] != "" {
			t.Errorf("key %q: text after the tag (an id with '}' was not escaped)", k)
		}
	}
	if len(keys) < 20 {
		t.Fatalf("only %d keys written: %v", len(keys), keys)
	}
}

// TestUnregisterFinishesAfterPartialFailure simulates an Unregister that deleted the record but
// died before updating the node set: dead-node cleanup must still empty the node.
func TestUnregisterFinishesAfterPartialFailure(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	defer s.Close()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()

	if err := s.Register(ctx, registry.Conn{ID: "half", Node: "gone", ConnectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*:c:{half}").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("record key: %v %v", keys, err)
	}
	if err := rdb.Del(ctx, keys[0]).Err(); err != nil {
		t.Fatal(err)
	}
	dead, err := s.DeadNodes(ctx)
	if err != nil || len(dead) != 1 {
		t.Fatalf("DeadNodes = %v, %v; want [gone]", dead, err)
	}
	cs, err := s.NodeConns(ctx, "gone")
	if err != nil || len(cs) != 0 {
		t.Fatalf("NodeConns = %v, %v; want none", cs, err)
	}
	dead, err = s.DeadNodes(ctx)
	if err != nil || len(dead) != 0 {
		t.Fatalf("DeadNodes after NodeConns cleaned up = %v, %v; want none", dead, err)
	}
}

// TestErrorsWhileRedisIsDown checks that operations fail with an error (not ErrNotFound, not a
// hang) during an outage and work again after Redis comes back.
func TestErrorsWhileRedisIsDown(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	defer s.Close()
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.Get(ctx, "x")
	if err == nil || errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Get during outage err = %v, want a connection error", err)
	}
	srv.Restart()
	c := registry.Conn{ID: "x", Node: "n", ConnectedAt: time.Now()}
	harness.Eventually(t, "Register to succeed after the restart", func() bool { return s.Register(ctx, c) == nil })
}

func BenchmarkRegisterUnregister(b *testing.B) {
	srv := testredis.Start(b)
	s := newStore(b, srv)
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		c := registry.Conn{ID: fmt.Sprintf("c%d", i), Node: "node-1", UserID: "user", ConnectedAt: time.Now(), SourceIP: "192.0.2.1"}
		if err := s.Register(ctx, c); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Unregister(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	srv := testredis.Start(b)
	s := newStore(b, srv)
	defer s.Close()
	ctx := context.Background()
	c := registry.Conn{ID: "c", Node: "node-1", UserID: "user", ConnectedAt: time.Now(), SourceIP: "192.0.2.1", Authorizer: map[string]any{"sub": "u"}}
	if err := s.Register(ctx, c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Get(ctx, "c"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOnlineIndexEmptiesWhenUsersLeave checks the index itself (readers filter stale entries,
// so the contract suite alone would not notice them piling up).
func TestOnlineIndexEmptiesWhenUsersLeave(t *testing.T) {
	srv := testredis.Start(t)
	s := newStore(t, srv)
	defer s.Close()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	for i := range 50 {
		id := fmt.Sprint(i)
		if err := s.Register(ctx, registry.Conn{ID: id, Node: "n", UserID: "user" + id, ConnectedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := s.Join(ctx, id, "room"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		if _, _, err := s.Unregister(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	// What may remain: the nodes index and the users' last-seen times.
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, ":nodes") && !strings.Contains(k, ":ls:{") {
			t.Errorf("key %q left behind after every connection closed", k)
		}
	}
}
