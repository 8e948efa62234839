package server_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// floodHeapBound is what one flooding socket may add to the node's heap: the inbound queue
// (inboundQueueBytes, 512KB by default, counting each message's bookkeeping), as many bytes
// again held unparsed, nbio's buffers and the replies in flight. Before the inbound bound,
// 8 MB of small frames grew it by 500 MB.
const floodHeapBound = 64 << 20

// One client floods a connection with small text frames, far faster than its integration
// answers (over ws:// and wss://): the node stops reading the socket (ws://: the poller stops
// reading it; wss://: its reader goroutine waits), so the client meets TCP back-pressure and
// nothing piles up in the node; once the connection has stayed stopped for
// limits.inboundStallTimeout it is closed 1008 "…stalled" (not "…full": a node that went on
// reading would fill its hold first). Its heap stays under a bound, its $disconnect reports the
// 1008 sent, and none of its queued messages reaches the integration after $disconnect.
//
// (A route that answers as fast as the client sends, a MOCK, is not stalled: the client is
// throttled by TCP and served at the node's pace; TestInboundBurstIsPausedThenRead.)
func TestInboundFloodMeetsBackPressure(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			slow := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
				if ev.RequestContext.RouteKey == "$default" {
					// A backend far slower than the flood: the queue (512KB, ~3,700 of these
					// messages) takes ~18 s to drain to half, well past the 2 s stall bound.
					time.Sleep(5 * time.Millisecond)
				}
				return 200, "ok"
			})
			cfg := fmt.Sprintf(`
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: app, endpoint: %q }
limits: { inboundStallTimeout: 2s }
`, slow.URL())
			if !secure {
				n := servertest.Start(t, cfg)
				floodAndCheck(t, n, slow, dialFrames(t, n.WS("/dev")))
				return
			}
			n := servertest.Start(t, fmt.Sprintf("tls: { certFile: %q, keyFile: %q }\n", certFile, keyFile)+cfg)
			floodAndCheck(t, n, slow, dialFramesTLS(t, "wss://"+n.Addr+"/dev", &tls.Config{RootCAs: pool}))
		})
	}
}

// floodAndCheck floods c until the node closes it and checks what TestInboundFloodMeetsBackPressure
// promises.
func floodAndCheck(t *testing.T, n *servertest.Node, slow *harness.Lambda, c *frameConn) {
	t.Helper()
	id := slow.NthConnectionID(t, 1)
	closed := make(chan [2]any, 1)
	go func() { // a client that reads everything, so only the inbound side is flooded
		code, reason, ok := c.readClose()
		if !ok {
			code = -1
		}
		closed <- [2]any{code, reason}
	}()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	var wrote atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 2,000 frames of 4 bytes per write, 20 MB in all, until the node closes (writes block)
		chunk := bytes.Repeat(rawFrame(fin|opText, true, []byte(`"hi"`)), 2000)
		for range 1000 {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			k, err := c.conn.Write(chunk)
			wrote.Add(int64(k))
			if err != nil {
				return
			}
		}
	}()
	var got [2]any
	deadline := time.After(60 * time.Second)
	for got[0] == nil {
		select {
		case got = <-closed:
		case <-deadline:
			t.Fatalf("flooding connection not closed within 60s (%d bytes written)", wrote.Load())
		case <-time.After(50 * time.Millisecond):
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	_ = c.conn.Close()
	const want = "Too many messages: inbound queue stalled"
	if got[0] != 1008 || got[1] != want {
		t.Fatalf("flooding connection closed with %v %q, want 1008 %q (the node must stop reading, not fill its hold)", got[0], got[1], want)
	}
	grew := int64(peak) - int64(before.HeapInuse)
	t.Logf("closed %v %q after %d bytes written; heap grew %.1f MB at most", got[0], got[1], wrote.Load(), float64(grew)/(1<<20))
	// Held by back-pressure, the flood costs the node next to nothing (a few MB, the test's own
	// buffers included); read on into memory, the same flood grew the heap by hundreds of MB.
	if grew > floodHeapBound/2 {
		t.Errorf("heap grew %d MB during the flood, want under %d MB", grew>>20, floodHeapBound>>21)
	}
	ev := slow.WaitEvent(t, "$disconnect", id)
	if code := ev.RequestContext.DisconnectStatusCode; code != 1008 || reasonOf(ev) != got[1] {
		t.Errorf("$disconnect reports %d %q, want what was sent: 1008 %q", code, reasonOf(ev), got[1])
	}
	if scrapeMetric(t, n, "wsgate_inbound_paused_total") < 1 {
		t.Errorf("wsgate_inbound_paused_total not counted")
	}
	// The $disconnect ran after the call in flight returned; nothing may follow it.
	seen := false
	for _, e := range slow.ProxyEvents() {
		switch {
		case e.RequestContext.RouteKey == "$disconnect":
			seen = true
		case seen && e.RequestContext.ConnectionID == id:
			t.Fatalf("a %s event reached the integration after $disconnect", e.RequestContext.RouteKey)
		}
	}
	msgs := scrapeMetric(t, n, "wsgate_messages_total")
	time.Sleep(200 * time.Millisecond) // what was queued would be running now
	if after := scrapeMetric(t, n, "wsgate_messages_total"); after != msgs {
		t.Errorf("%v messages routed after $disconnect", after-msgs)
	}
}

// A client flooding pings (each one a pong to write) is closed 1008 past
// limits.controlFramesPerSecond, and $disconnect says so.
func TestPingFloodIsClosed(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	c := dialFrames(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	go func() {
		for range 1000 {
			c.tryFrame(ws.OpPing, true, []byte("ping"))
		}
	}()
	code, reason, ok := c.readClose()
	_ = c.conn.Close()
	if !ok || code != 1008 {
		t.Fatalf("ping flood closed with %d %q (frame received: %v), want 1008", code, reason, ok)
	}
	if ev := fn.WaitEvent(t, "$disconnect", id); ev.RequestContext.DisconnectStatusCode != 1008 || reasonOf(ev) != reason {
		t.Errorf("$disconnect reports %d %q, want 1008 %q", ev.RequestContext.DisconnectStatusCode, reasonOf(ev), reason)
	}
}

// A burst larger than the inbound queue is not an attack: the node stops reading the socket
// while the queue is full and reads on as it drains (ws:// and wss://), so every message is
// routed, in order, and answered, and the connection stays open. A pause that never resumed
// would leave the rest unread until limits.inboundStallTimeout closed it.
func TestInboundBurstIsPausedThenRead(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			fn := echoLambda(t)
			cfg := fmt.Sprintf(lifecycleAPI, fn.URL()) + "limits: { messageBytes: 1024, frameBytes: 1024, inboundQueueBytes: 64KB, inboundStallTimeout: 30s }\n"
			var c *frameConn
			if secure {
				n := servertest.Start(t, fmt.Sprintf("tls: { certFile: %q, keyFile: %q }\n", certFile, keyFile)+cfg)
				c = dialFramesTLS(t, "wss://"+n.Addr+"/dev", &tls.Config{RootCAs: pool})
				defer checkPaused(t, n)
			} else {
				n := servertest.Start(t, cfg)
				c = dialFrames(t, n.WS("/dev"))
				defer checkPaused(t, n)
			}
			const count = 3000 // ~140 B each against a 64 KB queue: it fills about 6 times over
			go func() {
				for i := range count {
					c.tryFrame(ws.OpText, true, fmt.Appendf(nil, "message %04d", i))
				}
			}()
			for i := range count {
				op, data, err := c.readMessage()
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				if want := fmt.Sprintf("re:message %04d", i); op != ws.OpText || string(data) != want {
					t.Fatalf("answer %d = %q, want %q (in order, none lost)", i, data, want)
				}
			}
		})
	}
}

// checkPaused fails t unless the node paused a connection's reads at least once.
func checkPaused(t *testing.T, n *servertest.Node) {
	t.Helper()
	if scrapeMetric(t, n, "wsgate_inbound_paused_total") < 1 {
		t.Errorf("wsgate_inbound_paused_total not counted: the burst never filled the queue, the test proves nothing")
	}
}
