package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
// sendQueueBytes plus one small socket buffer of this node's memory. And not before either:
// over wss:// as over ws:// the queue is counted in bytes (1 KB messages: a queue counted in
// frames of up to frameBytes closed a wss:// reader after a few dozen).
func TestStalledReadersAreClosedAfterSendQueueBytes(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			stalledReaders(t, secure, certFile, keyFile, pool)
		})
	}
}

func stalledReaders(t *testing.T, secure bool, certFile, keyFile string, pool *x509.CertPool) {
	fn := echoLambda(t)
	const (
		sendQueue = 256 << 10
		sockBuf   = 16 << 10
		clientBuf = 4 << 10 // the clients' own receive buffer, kept small to measure the node's side
		readers   = 10
	)
	cfg := fmt.Sprintf(lifecycleAPI, fn.URL()) +
		fmt.Sprintf("limits: { sendQueueBytes: %d, socketSendBufferBytes: %d }\n", sendQueue, sockBuf)
	if secure {
		cfg = fmt.Sprintf("tls: { certFile: %q, keyFile: %q }\n", certFile, keyFile) + cfg
	}
	n := servertest.Start(t, cfg)
	d := ws.Dialer{TLSConfig: &tls.Config{RootCAs: pool}, NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, clientBuf)
			})
			return errors.Join(err, serr)
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	url := n.WS("/dev")
	if secure {
		url = "wss://" + n.Addr + "/dev"
	}
	for i := range readers {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, _, _, err := d.Dial(ctx, url)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		fn.NthConnectionID(t, i+1)
	}
	// The kernel doubles SO_SNDBUF and SO_RCVBUF for its bookkeeping; a frame in flight and
	// loopback's own queue add a little (TLS records a little more).
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
		if accepted < sendQueue-2*len(msg) {
			t.Errorf("reader %d was closed after %d KB, before its send queue (sendQueueBytes %d KB) was full", i, accepted>>10, sendQueue>>10)
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
