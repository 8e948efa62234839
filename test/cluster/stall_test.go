package clustertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// A node that stalls past its lease (SIGSTOP here; a long GC pause in life) is reaped by a
// survivor, which runs $disconnect for its connections. When it resumes, it must close those
// sockets with 1012 and not register them again: they have had their $disconnect, and must not
// get a second one when they close. It then serves new connections with a fresh lease.
func TestStalledNodeClosesReapedSockets(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.node("node-a"), cl.node("node-b")
	x := connect(t, b, "ann")

	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = b.Cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	b.Stop()
	harness.Eventually(t, "node-a runs $disconnect for node-b's connection", func() bool { return cl.be.disconnectCount(x.id) > 0 })
	rc, _ := cl.be.disconnect(x.id)
	if reason, _ := rc["disconnectReason"].(string); !strings.Contains(reason, "node-b") || !strings.Contains(reason, "lost") {
		t.Errorf("disconnectReason = %q, want it to say node-b was lost", reason)
	}
	b.Continue()
	resumed = true

	if code := x.closed(); code != websocket.StatusServiceRestart {
		t.Fatalf("reaped connection closed with %d (%v), want 1012", code, x.err)
	}
	if reason := x.err.Error(); !strings.Contains(reason, "lost its lease") {
		t.Errorf("close reason = %q, want it to say the node lost its lease", reason)
	}

	// The node works on: a new connection on it gets a push made on node-a.
	y := connect(t, b, "bob")
	harness.Eventually(t, "push from node-a to a new connection on node-b accepted", func() bool {
		_, err := sdk(a).PostToConnection(bg(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(y.id), Data: []byte("after the stall"),
		})
		return err == nil
	})
	if got := y.next(); got != "after the stall" {
		t.Fatalf("new connection on node-b got %q", got)
	}
	// y's own close gets its $disconnect from node-b; once it is in, x's second one (if node-b
	// wrongly ran it at x's close) would long be too.
	_ = y.ws.Close(websocket.StatusNormalClosure, "bye")
	harness.Eventually(t, "$disconnect of the new connection", func() bool { return cl.be.disconnectCount(y.id) == 1 })
	if n := cl.be.disconnectCount(x.id); n != 1 {
		t.Fatalf("%d $disconnect events for the reaped connection, want exactly 1", n)
	}
	_, err := sdk(a).GetConnection(bg(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(x.id)})
	if !isGone(err) {
		t.Errorf("GetConnection of the reaped connection: %v, want GoneException (registered again?)", err)
	}
}

// A node resumed after a stall checks before it acts. SIGSTOP it, let each of its clients send
// a frame (the node reads them when it resumes) and push to each through another node while
// the survivor has not yet reaped it (accepted: they wait on the stalled node's stream). Once the
// survivor has run every $disconnect, SIGCONT: the node must find it was reaped before it routes
// anything, so no frame reaches the backend after its connection's $disconnect, no push accepted
// during the stall is delivered, and every socket is closed 1012.
func TestResumedNodeActsOnNothingFromTheStall(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.node("node-a"), cl.node("node-b")
	const n = 10
	xs := make([]*client, n)
	for i := range xs {
		xs[i] = connect(t, b, fmt.Sprintf("user%d", i))
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = b.Cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	b.Stop()
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	for _, x := range xs {
		if err := x.ws.Write(ctx, websocket.MessageText, []byte("sent during the stall")); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	accepted := 0
	for _, x := range xs {
		_, err := sdk(a).PostToConnection(bg(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(x.id), Data: []byte("pushed during the stall"),
		})
		if err == nil {
			accepted++
		}
	}
	if accepted == 0 {
		t.Fatal("no push accepted during the stall: the test would prove nothing")
	}
	for _, x := range xs {
		harness.Eventually(t, "node-a runs $disconnect for "+x.id, func() bool { return cl.be.disconnectCount(x.id) > 0 })
	}
	b.Continue()
	resumed = true

	for _, x := range xs {
		if code := x.closed(); code != websocket.StatusServiceRestart {
			t.Errorf("%s closed with %d (%v), want 1012", x.id, code, x.err)
		}
		for len(x.msgs) > 0 {
			if m := <-x.msgs; m == "pushed during the stall" || m == x.id {
				t.Errorf("%s received %q after its node was reaped", x.id, m)
			}
		}
	}
	// A round trip through node-b after the resume: whatever it was going to do with the
	// stalled frames, it has done by the time a new connection's message has its answer.
	y := connect(t, b, "after")
	_ = y.ws.Close(websocket.StatusNormalClosure, "bye")
	harness.Eventually(t, "$disconnect of the new connection", func() bool { return cl.be.disconnectCount(y.id) == 1 })
	for _, x := range xs {
		keys := cl.be.routeKeys(x.id)
		if i := slices.Index(keys, "$disconnect"); i < 0 || i != len(keys)-1 || cl.be.disconnectCount(x.id) != 1 {
			t.Errorf("%s: events %v, want its one $disconnect last (nothing routed after it)", x.id, keys)
		}
	}
}

// A node that stalls while an integration call is in flight, and is reaped meanwhile, delivers
// nothing of that call when it resumes: the answer arrives after the connection's $disconnect
// ran on the survivor, so it must not reach the client (the socket is closed 1012 instead).
func TestAnswerInFlightAcrossTheStallIsNotDelivered(t *testing.T) {
	cl := newCluster(t)
	cl.node("node-a")
	b := cl.node("node-b")
	x := connect(t, b, "ann")
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	if err := x.ws.Write(ctx, websocket.MessageText, []byte("hold")); err != nil {
		t.Fatalf("write: %v", err)
	}
	select {
	case id := <-cl.be.held:
		if id != x.id {
			t.Fatalf("held message of %s, want %s", id, x.id)
		}
	case <-time.After(harness.Deadline):
		t.Fatal("the backend never got the message to hold")
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = b.Cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	b.Stop()
	harness.Eventually(t, "node-a runs $disconnect for "+x.id, func() bool { return cl.be.disconnectCount(x.id) > 0 })
	close(cl.be.release) // the answer waits in node-b's socket buffer for the resume
	harness.Eventually(t, "the backend answered the held message", func() bool { return cl.be.answered.Load() == 1 })
	b.Continue()
	resumed = true

	if code := x.closed(); code != websocket.StatusServiceRestart {
		t.Errorf("closed with %d (%v), want 1012", code, x.err)
	}
	for len(x.msgs) > 0 {
		if m := <-x.msgs; m == "held" {
			t.Errorf("the answer of a call made before the stall reached the client after its node was reaped")
		}
	}
}

// kill -9 right after a lease renewal, the worst case: the node's last $disconnect comes within
// nodeLeaseTtl + nodeLeaseTtl/10 (the survivors' look for dead nodes) plus the time to run the
// $disconnects, the bound docs/scale-out.md states. With the test's 2 s lease: 2.2 s, and
// 1 s allowed for 50 $disconnect calls to a local backend on a loaded machine.
func TestCrashDetectionBound(t *testing.T) {
	const ttl = 2 * time.Second
	cl := newCluster(t)
	cl.node("node-a")
	b := cl.node("node-b")
	lost := make([]*client, 50)
	for i := range lost {
		lost[i] = connect(t, b, fmt.Sprintf("user%d", i))
	}
	// The lease key's time to live jumps back up at each renewal: kill right then.
	rdb := cl.rdb()
	key := cl.prefix + ":nl:{node-b}"
	prev := time.Duration(-1)
	var killed time.Time
	deadline := time.Now().Add(10 * time.Second)
	for killed.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("no lease renewal of node-b seen within 10s")
		}
		ttlLeft, err := rdb.PTTL(bg(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if prev >= 0 && ttlLeft > prev {
			b.Kill()
			killed = time.Now()
		}
		prev = ttlLeft
	}
	var last time.Time
	for _, c := range lost {
		harness.Eventually(t, "$disconnect of "+c.id, func() bool { return cl.be.disconnectCount(c.id) == 1 })
		if at := cl.be.disconnectedAt(c.id); at.After(last) {
			last = at
		}
	}
	took := last.Sub(killed)
	bound := ttl + ttl/10 + time.Second
	t.Logf("last $disconnect %v after kill -9 right after a renewal (bound %v)", took.Round(10*time.Millisecond), bound)
	if took > bound {
		t.Errorf("last $disconnect came %v after the kill, want at most nodeLeaseTtl + nodeLeaseTtl/10 + 1s = %v", took, bound)
	}
	if took < ttl-ttl/10 {
		t.Errorf("last $disconnect came %v after the kill, before the lease (%v) could have expired", took, ttl)
	}
}
