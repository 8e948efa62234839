package clustertest

import (
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
)

// A node that stalls past its lease (SIGSTOP here; a long GC pause in life) is reaped by a
// survivor, which runs $disconnect for its connections. When it resumes, it must close those
// sockets with 1012 and not register them again: they have had their $disconnect, and must not
// get a second one when they close. It then serves new connections with a fresh lease.
func TestStalledNodeClosesReapedSockets(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.node("node-a"), cl.node("node-b")
	x := connect(t, b, "ann")

	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = b.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	waitFor(t, "node-a runs $disconnect for node-b's connection", func() bool { return cl.be.disconnectCount(x.id) > 0 })
	rc, _ := cl.be.disconnect(x.id)
	if reason, _ := rc["disconnectReason"].(string); !strings.Contains(reason, "node-b") || !strings.Contains(reason, "lost") {
		t.Errorf("disconnectReason = %q, want it to say node-b was lost", reason)
	}
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true

	if code := x.closed(); code != websocket.StatusServiceRestart {
		t.Fatalf("reaped connection closed with %d (%v), want 1012", code, x.err)
	}
	if reason := x.err.Error(); !strings.Contains(reason, "lost its lease") {
		t.Errorf("close reason = %q, want it to say the node lost its lease", reason)
	}

	// The node works on: a new connection on it gets a push made on node-a.
	y := connect(t, b, "bob")
	waitFor(t, "push from node-a to a new connection on node-b accepted", func() bool {
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
	waitFor(t, "$disconnect of the new connection", func() bool { return cl.be.disconnectCount(y.id) == 1 })
	if n := cl.be.disconnectCount(x.id); n != 1 {
		t.Fatalf("%d $disconnect events for the reaped connection, want exactly 1", n)
	}
	_, err := sdk(a).GetConnection(bg(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(x.id)})
	if !isGone(err) {
		t.Errorf("GetConnection of the reaped connection: %v, want GoneException (registered again?)", err)
	}
}
