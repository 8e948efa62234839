package clustertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// cluster is one redis-server, one recording backend and the wsgate nodes started on them.
type cluster struct {
	t      *testing.T
	redis  *testredis.Server
	be     *backend
	prefix string
}

func newCluster(t *testing.T) *cluster {
	return &cluster{t: t, redis: testredis.Start(t), be: newBackend(t),
		prefix: "wsg" + strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())}
}

func (c *cluster) node(name string) *harness.Process {
	c.t.Helper()
	return harness.StartProcess(c.t, wsgateBin, name, nodeConfig(c.redis.URL(), c.prefix, name, c.be.URL()))
}

func (c *cluster) rdb() *redis.Client {
	o, _ := redis.ParseURL(c.redis.URL())
	r := redis.NewClient(o)
	c.t.Cleanup(func() { _ = r.Close() })
	return r
}

func bg() context.Context { return context.Background() }

func isGone(err error) bool {
	var g *types.GoneException
	return errors.As(err, &g)
}

// The delivery contract (harness.RunDeliveryContract) holds across three wsgate processes on one
// Redis, every call made on a node that does not hold the socket: the same contract
// internal/server runs over the memory store, one Redis node, Cluster and Sentinel.
func TestDeliveryContract(t *testing.T) {
	harness.RunDeliveryContract(t, func(t *testing.T) []string {
		r := testredis.Start(t)
		var addrs []string
		for _, name := range []string{"node-a", "node-b", "node-c"} {
			cfg := fmt.Sprintf("listen: 127.0.0.1:0\nlog: { level: debug, format: json }\n"+
				"store: { type: redis, url: %q, prefix: contract, nodeLeaseTtl: 2s, nodeId: %q }\n", r.URL(), name)
			addrs = append(addrs, harness.StartProcess(t, wsgateBin, name, cfg+harness.ContractAPI).Addr)
		}
		return addrs
	})
}

// A node killed with SIGKILL: the survivors notice its lease expired, run $disconnect for each
// of its connections with a reason naming the lost node, and drop them from every index.
func TestKilledNodeIsReaped(t *testing.T) {
	cl := newCluster(t)
	a, b, c := cl.node("node-a"), cl.node("node-b"), cl.node("node-c")
	keep := connect(t, a, "ann")
	lost := []*client{connect(t, c, "ann"), connect(t, c, "bob"), connect(t, c, "carol")}
	callJSON(t, b, "PUT", "/@connections/"+esc(keep.id)+"/groups/g", nil)
	callJSON(t, b, "PUT", "/@connections/"+esc(lost[0].id)+"/groups/g", nil)
	callJSON(t, b, "PUT", "/@connections/"+esc(lost[1].id)+"/groups/g", nil)

	killed := time.Now()
	c.Kill()
	for _, lc := range lost {
		harness.Eventually(t, "$disconnect of "+lc.id, func() bool { _, ok := cl.be.disconnect(lc.id); return ok })
	}
	t.Logf("dead node reaped %v after SIGKILL (nodeLeaseTtl 2s)", time.Since(killed).Round(10*time.Millisecond))
	for _, lc := range lost {
		rc, _ := cl.be.disconnect(lc.id)
		reason, _ := rc["disconnectReason"].(string)
		if !strings.Contains(reason, "node-c") || !strings.Contains(reason, "lost") {
			t.Errorf("disconnectReason of %s = %q, want it to say node node-c was lost", lc.id, reason)
		}
		if rc["disconnectStatusCode"] != float64(1006) || rc["eventType"] != "DISCONNECT" || rc["connectionId"] != lc.id {
			t.Errorf("$disconnect requestContext = %v", rc)
		}
	}
	if n := cl.be.disconnects(); n != len(lost) {
		t.Errorf("%d $disconnect events, want %d (one per lost connection, once)", n, len(lost))
	}
	for _, g := range []*harness.Process{a, b} {
		p := callJSON(t, g, "GET", "/@users?ids=ann,bob,carol", nil)
		users := p["users"].([]any)
		want := []float64{1, 0, 0}
		for i, u := range users {
			if n := u.(map[string]any)["connections"]; n != want[i] {
				t.Errorf("on %s: presence %v, want %v connections", g.Name, u, want[i])
			}
		}
		m := callJSON(t, g, "GET", "/@groups/g", nil)
		members := m["connections"].([]any)
		if len(members) != 1 || members[0].(map[string]any)["connectionId"] != keep.id {
			t.Errorf("on %s: group g = %v, want only %s", g.Name, members, keep.id)
		}
		_, err := sdk(g).GetConnection(bg(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(lost[2].id)})
		if !isGone(err) {
			t.Errorf("on %s: GetConnection of a lost connection: %v, want GoneException", g.Name, err)
		}
	}
	// The survivor still serves its own.
	callJSON(t, b, "POST", "/@users/ann", []byte("still here"))
	if got := keep.next(); got != "still here" {
		t.Fatalf("survivor's connection got %q", got)
	}
}

// Redis stops and comes back empty: sockets stay, local pushes work during the outage, the node
// reports not ready, and its connections are registered again afterwards.
func TestRedisRestartKeepsSockets(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.node("node-a"), cl.node("node-b")
	x := connect(t, a, "ann")
	y := connect(t, b, "bob")
	callJSON(t, b, "PUT", "/@connections/"+esc(x.id)+"/groups/g", nil)

	cl.redis.Stop()
	for _, g := range []*harness.Process{a, b} {
		harness.Eventually(t, g.Name+" /readyz 503 while Redis is down", func() bool { return status("http://"+g.Addr+"/readyz") == 503 })
		if status("http://"+g.Addr+"/healthz") != 200 {
			t.Fatalf("%s /healthz failed during the outage: the process must stay up", g.Name)
		}
	}
	if _, err := sdk(a).PostToConnection(bg(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(x.id), Data: []byte("local during outage"),
	}); err != nil {
		t.Fatalf("local push during the outage: %v", err)
	}
	if got := x.next(); got != "local during outage" {
		t.Fatalf("x got %q", got)
	}
	r := callJSON(t, b, "POST", "/@broadcast", []byte("local broadcast"))
	if r["delivered"] == nil {
		t.Fatalf("broadcast during the outage = %v", r)
	}
	if got := y.next(); got != "local broadcast" {
		t.Fatalf("y got %q", got)
	}

	cl.redis.Restart() // same port, no data
	for _, g := range []*harness.Process{a, b} {
		harness.Eventually(t, g.Name+" /readyz 200 after Redis is back", func() bool { return status("http://"+g.Addr+"/readyz") == 200 })
	}
	harness.Eventually(t, "x registered again (seen from b)", func() bool {
		_, err := sdk(b).GetConnection(bg(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(x.id)})
		return err == nil
	})
	harness.Eventually(t, "x back in group g", func() bool {
		m := callJSON(t, b, "GET", "/@groups/g", nil)
		return len(m["connections"].([]any)) == 1
	})
	harness.Eventually(t, "cross-node push to x accepted", func() bool {
		_, err := sdk(b).PostToConnection(bg(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(x.id), Data: []byte("after"),
		})
		return err == nil
	})
	if got := x.next(); got != "after" {
		t.Fatalf("x got %q after Redis came back", got)
	}
	for _, cc := range []*client{x, y} {
		select {
		case <-cc.done:
			t.Fatalf("connection %s closed by the outage: %v", cc.id, cc.err)
		default:
		}
	}
	if n := cl.be.disconnects(); n != 0 {
		t.Fatalf("%d $disconnect events: no connection was lost", n)
	}
}

// SIGTERM: clients get 1001, $disconnect runs, and the node leaves nothing behind in Redis.
func TestGracefulShutdownLeavesNothing(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.node("node-a"), cl.node("node-b")
	stay := connect(t, a, "ann")
	gone := []*client{connect(t, b, "bob"), connect(t, b, "carol")}
	callJSON(t, a, "PUT", "/@connections/"+esc(gone[0].id)+"/groups/g", nil)
	rdb := cl.rdb()

	b.Term()
	for _, cc := range gone {
		if code := cc.closed(); code != websocket.StatusGoingAway {
			t.Fatalf("connection %s closed with %d at shutdown, want 1001", cc.id, code)
		}
		rc, ok := cl.be.disconnect(cc.id)
		if !ok {
			t.Fatalf("no $disconnect for %s after its node shut down", cc.id)
		}
		if rc["disconnectStatusCode"] != float64(1001) {
			t.Errorf("$disconnect code = %v, want 1001", rc["disconnectStatusCode"])
		}
	}
	harness.Eventually(t, "no key of node-b or its connections left in Redis", func() bool {
		keys, err := rdb.Keys(bg(), cl.prefix+":*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.Contains(k, "node-b") || strings.Contains(k, gone[0].id) || strings.Contains(k, gone[1].id) {
				return false
			}
		}
		in, err := rdb.SIsMember(bg(), cl.prefix+":nodes", "node-b").Result()
		return err == nil && !in
	})
	m := callJSON(t, a, "GET", "/@groups/g", nil)
	if n := len(m["connections"].([]any)); n != 0 {
		t.Fatalf("group g still lists %d members of the stopped node", n)
	}
	if n := cl.be.disconnects(); n != len(gone) {
		t.Fatalf("%d $disconnect events, want %d (survivors must not reap a node that left cleanly)", n, len(gone))
	}
	callJSON(t, a, "POST", "/@users/ann", []byte("ok"))
	if got := stay.next(); got != "ok" {
		t.Fatalf("survivor got %q", got)
	}
}
