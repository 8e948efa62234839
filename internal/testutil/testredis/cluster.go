package testredis

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of masters only (no replicas), each its own redis-server
// process on free ports, keeping no data on disk. Its fields are read-only.
type Cluster struct {
	// Addrs are the masters' host:port, in start order.
	Addrs []string
	// Nodes are the servers, for tests that stop one.
	Nodes []*Server
}

// URL is the comma-separated seed list that redisx.NewClient takes as Redis Cluster,
// e.g. "redis://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003".
func (c *Cluster) URL() string { return "redis://" + strings.Join(c.Addrs, ",") }

// StartCluster starts masters redis-server processes in cluster mode (at least 3, as
// redis-cli --cluster create requires), assigns all 16384 slots with redis-cli, and returns
// once every node reports cluster_state:ok. Every process is stopped when the test ends.
// Missing redis-server or redis-cli fails the test with what to install.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("testredis: StartCluster(%d): Redis Cluster needs at least 3 masters", masters)
	}
	cli := cliBin(t)
	dir := t.TempDir()
	c := &Cluster{}
	for i := range masters {
		busPort, err := freePort()
		if err != nil {
			t.Fatalf("testredis: find a free port: %v", err)
		}
		s := startServer(t, &Server{extra: []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)),
			// The bus port defaults to port+10000, which may be taken or out of range.
			"--cluster-port", strconv.Itoa(busPort),
			"--dir", dir,
		}})
		c.Addrs = append(c.Addrs, s.Addr)
		c.Nodes = append(c.Nodes, s)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testredis: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(t)
	return c
}

// waitOK polls CLUSTER INFO on every node until each says cluster_state:ok (every slot
// served and the nodes agree), so clients see a complete slot map.
func (c *Cluster) waitOK(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for _, addr := range c.Addrs {
		for {
			info, err := command(addr, "CLUSTER", "INFO")
			if err == nil && len(info) == 1 && strings.Contains(info[0], "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("testredis: cluster node %s not ok within %v: %v %v", addr, startTimeout, info, err)
			}
			time.Sleep(20 * time.Millisecond) // poll interval, not an assertion
		}
	}
}

// cliBin finds redis-cli, failing the test with what to install when it is missing.
func cliBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli not found on PATH: install Debian's redis-tools package (apt-get install redis-tools; redis-server depends on it); .ci/run does this")
	}
	return bin
}
