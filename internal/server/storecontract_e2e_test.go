package server_test

import (
	"fmt"
	"testing"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// The delivery contract of the management API (harness.RunDeliveryContract: connection, user,
// group, broadcast, order, 410) holds the same with the memory store on one node, the Redis
// store on one node, and across two in-process nodes on a single Redis, a 3-master Redis
// Cluster (store.url is the seed list) and Sentinel (?master_name=): every store key, script
// and stream must stay within one slot, and the client the node builds must follow the
// topology. test/cluster runs the same contract over three wsgate processes.
func TestDeliveryContract(t *testing.T) {
	nodes := func(t *testing.T, n int, store string) []string {
		addrs := make([]string, n)
		for i := range addrs {
			addrs[i] = servertest.Start(t, store+harness.ContractAPI).Addr
		}
		return addrs
	}
	redisStore := func(url, prefix string) string {
		return fmt.Sprintf("store: { type: redis, url: %q, prefix: %s, nodeLeaseTtl: 2s }\n", url, prefix)
	}
	for _, topo := range []struct {
		name  string
		start func(t *testing.T) []string
	}{
		{"memory", func(t *testing.T) []string { return nodes(t, 1, "") }},
		{"redis-one-node", func(t *testing.T) []string {
			return nodes(t, 1, redisStore(testredis.Start(t).URL(), "one"))
		}},
		{"redis-two-nodes", func(t *testing.T) []string {
			return nodes(t, 2, redisStore(testredis.Start(t).URL(), "two"))
		}},
		{"redis-cluster-two-nodes", func(t *testing.T) []string {
			return nodes(t, 2, redisStore(testredis.StartCluster(t, 3).URL(), "k"))
		}},
		{"redis-sentinel-two-nodes", func(t *testing.T) []string {
			return nodes(t, 2, redisStore(testredis.StartSentinel(t).URL(), "s"))
		}},
	} {
		t.Run(topo.name, func(t *testing.T) { harness.RunDeliveryContract(t, topo.start) })
	}
}
