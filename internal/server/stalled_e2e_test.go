package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/server/servertest"
)

// Clients that stop reading are closed after about limits.sendQueueBytes, not after the
// kernel's autotuned send buffer (megabytes on loopback) as well: the node sets SO_SNDBUF on
// every socket (limits.socketSendBufferBytes), so a stalled reader holds at most
// sendQueueBytes plus one small socket buffer of this node's memory.
func TestStalledReadersAreClosedAfterSendQueueBytes(t *testing.T) {
	fn := echoLambda(t)
	const (
		sendQueue = 256 << 10
		sockBuf   = 16 << 10
		clientBuf = 4 << 10 // the clients' own receive buffer, kept small to measure the node's side
		readers   = 20
	)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+
		fmt.Sprintf("limits: { sendQueueBytes: %d, socketSendBufferBytes: %d }\n", sendQueue, sockBuf))
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, clientBuf)
			})
			return errors.Join(err, serr)
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	for i := range readers {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, _, _, err := d.Dial(ctx, n.WS("/dev"))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		fn.NthConnectionID(t, i+1)
	}
	// The kernel doubles SO_SNDBUF and SO_RCVBUF for its bookkeeping; a frame in flight and
	// loopback's own queue add a little.
	bound := sendQueue + 2*sockBuf + 2*clientBuf + 64<<10
	msg := []byte(strings.Repeat("x", 1024))
	ctx := context.Background()
	for i, id := range fn.ConnectionIDs() {
		accepted := 0
		for {
			err := n.Server.Hub().PostToConnection(ctx, id, msg)
			if err != nil {
				if !errors.Is(err, hub.ErrSlowConsumer) && !errors.Is(err, hub.ErrGone) {
					t.Fatalf("reader %d: push: %v", i, err)
				}
				break
			}
			accepted += len(msg)
			if accepted > 16*bound {
				t.Fatalf("reader %d: %d KB accepted and still open", i, accepted>>10)
			}
		}
		if accepted > bound {
			t.Errorf("reader %d took %d KB before it was closed, want at most %d KB (sendQueueBytes %d KB + socket buffers)",
				i, accepted>>10, bound>>10, sendQueue>>10)
		}
		if i == 0 {
			t.Logf("a stalled reader was closed after %d KB (sendQueueBytes %d KB, SO_SNDBUF %d KB)", accepted>>10, sendQueue>>10, sockBuf>>10)
		}
		ev := fn.WaitEvent(t, "$disconnect", id)
		if ev.RequestContext.DisconnectStatusCode != 1008 {
			t.Errorf("reader %d: $disconnect %d %q, want 1008 slow consumer", i, ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
		}
	}
}
