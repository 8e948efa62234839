package testredis

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStartClusterServesAllSlotsAndStops(t *testing.T) {
	var c *Cluster
	t.Run("run", func(t *testing.T) {
		c = StartCluster(t, 3)
		if len(c.Addrs) != 3 || len(c.Nodes) != 3 {
			t.Fatalf("Addrs = %v, want 3", c.Addrs)
		}
		if want := "redis://" + strings.Join(c.Addrs, ","); c.URL() != want {
			t.Fatalf("URL() = %q, want %q", c.URL(), want)
		}
		for _, a := range c.Addrs {
			info, err := command(a, "CLUSTER", "INFO")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_known_nodes:3"} {
				if !strings.Contains(info[0], want) {
					t.Fatalf("node %s CLUSTER INFO lacks %s:\n%s", a, want, info[0])
				}
			}
		}
		// A cluster client spreads keys over every master.
		ctx := context.Background()
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
		defer rdb.Close()
		for i := range 60 {
			if err := rdb.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range c.Addrs {
			n, err := command(a, "DBSIZE")
			if err != nil || n[0] == "0" {
				t.Fatalf("node %s DBSIZE = %v, %v; want keys on every master", a, n, err)
			}
		}
	})
	for _, a := range c.Addrs {
		if ping(a) == nil {
			t.Errorf("cluster node %s still answers after its test ended", a)
		}
	}
}

func TestStartSentinelNamesMasterAndStops(t *testing.T) {
	var s *Sentinel
	t.Run("run", func(t *testing.T) {
		s = StartSentinel(t)
		if want := "redis://" + s.Sentinel.Addr + "/0?master_name=" + SentinelMaster; s.URL() != want {
			t.Fatalf("URL() = %q, want %q", s.URL(), want)
		}
		ctx := context.Background()
		rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: []string{s.Sentinel.Addr}})
		defer rdb.Close()
		if err := rdb.Set(ctx, "via-sentinel", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := command(s.Master.Addr, "GET", "via-sentinel")
		if err != nil || len(got) != 1 || got[0] != "v" {
			t.Fatalf("GET on the master = %v, %v; want the value written through the sentinel", got, err)
		}
	})
	for _, a := range []string{s.Master.Addr, s.Sentinel.Addr} {
		if ping(a) == nil {
			t.Errorf("%s still answers after its test ended", a)
		}
	}
}

func TestMissingCLIFails(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	t.Setenv("PATH", t.TempDir())
	func() {
		defer func() {
			if r := recover(); r != nil && r != rec {
				panic(r)
			}
		}()
		cliBin(rec)
	}()
	if !strings.HasPrefix(rec.msg, "redis-cli not found on PATH: install Debian's redis-tools package") {
		t.Fatalf("message = %q", rec.msg)
	}
}
