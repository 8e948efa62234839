package server_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
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

// One client floods a connection with small text frames, faster than the integration answers
// (a demo-like MOCK $default, and a Lambda): the node stops reading it, then closes it 1008
// with a reason; its heap stays under floodHeapBound; its $disconnect comes at once, reporting
// the 1008 sent; and none of its queued messages reaches the integration after $disconnect.
func TestInboundFloodIsBoundedAndClosed(t *testing.T) {
	for _, tc := range []struct {
		name, def string
	}{
		{"MOCK", `{ integration: m, routeResponse: true }`},
		{"Lambda", `{ integration: fn, routeResponse: true }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
				if ev.RequestContext.RouteKey == "$default" {
					time.Sleep(time.Millisecond) // a backend slower than the flood
				}
				return 200, "ok"
			})
			n := servertest.Start(t, fmt.Sprintf(`
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  $default: %s
integrations:
  fn: { type: AWS_PROXY, uri: app, endpoint: %q }
  m: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: 'hi' } } } }
`, tc.def, slow.URL()))
			c := dialFrames(t, n.WS("/dev"))
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
			// 2,000 frames of 4 bytes per write: 20 MB in all, far past every bound.
			chunk := bytes.Repeat(rawFrame(fin|opText, true, []byte(`"hi"`)), 2000)
			wrote := 0
			for range 1000 {
				_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				k, err := c.conn.Write(chunk)
				wrote += k
				if err != nil {
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						break // closed by the node, as it should
					}
					t.Fatalf("write stalled for 10s after %d bytes: the node neither read nor closed", wrote)
				}
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
			var got [2]any
			select {
			case got = <-closed:
			case <-time.After(30 * time.Second):
				t.Fatalf("no close after %d bytes of frames", wrote)
			}
			if got[0] != 1008 {
				t.Fatalf("flooding connection closed with %v %q, want 1008", got[0], got[1])
			}
			_ = c.conn.Close()
			grew := int64(peak) - int64(before.HeapInuse)
			t.Logf("closed %v %q after %d bytes written; heap grew %.1f MB at most", got[0], got[1], wrote, float64(grew)/(1<<20))
			if grew > floodHeapBound {
				t.Errorf("heap grew %d MB during the flood, want under %d MB", grew>>20, floodHeapBound>>20)
			}
			id := slow.NthConnectionID(t, 1)
			ev := slow.WaitEvent(t, "$disconnect", id)
			if code := ev.RequestContext.DisconnectStatusCode; code != 1008 || reasonOf(ev) != got[1] {
				t.Errorf("$disconnect reports %d %q, want what was sent: 1008 %q", code, reasonOf(ev), got[1])
			}
			if scrapeMetric(t, n, "wsgate_inbound_paused_total") < 1 {
				t.Errorf("wsgate_inbound_paused_total not counted")
			}
			// The $disconnect ran after the call in flight returned; nothing may follow it.
			all := slow.ProxyEvents()
			seen := false
			for _, e := range all {
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
		})
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

// A wss:// client flooding messages faster than its integration answers is held the same way:
// its reader stops (TLS sockets are read on a goroutine, which waits, so the client meets TCP
// back-pressure and nothing piles up in the node) and the connection is closed 1008 once it
// has stayed stopped for limits.inboundStallTimeout, with $disconnect saying so.
func TestWSSInboundFloodIsHeldAndClosed(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	slow := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		if ev.RequestContext.RouteKey == "$default" {
			time.Sleep(5 * time.Millisecond) // a backend slower than the flood
		}
		return 200, "ok"
	})
	n := servertest.Start(t, fmt.Sprintf("tls: { certFile: %q, keyFile: %q }\n", certFile, keyFile)+
		fmt.Sprintf(lifecycleAPI, slow.URL())+"limits: { inboundStallTimeout: 2s }\n")
	c := dialFramesTLS(t, "wss://"+n.Addr+"/dev", &tls.Config{RootCAs: pool})
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
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 2,000 frames of 4 bytes per write until the node closes (writes may block)
		chunk := bytes.Repeat(rawFrame(fin|opText, true, []byte(`"hi"`)), 2000)
		for range 1000 {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.conn.Write(chunk); err != nil {
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
			t.Fatal("flooding wss:// connection not closed within 60s")
		case <-time.After(50 * time.Millisecond):
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	_ = c.conn.Close()
	if got[0] != 1008 || got[1] != "Too many messages: inbound queue stalled" {
		t.Fatalf("flooding wss:// connection closed with %v %q, want 1008 %q", got[0], got[1], "Too many messages: inbound queue stalled")
	}
	grew := int64(peak) - int64(before.HeapInuse)
	t.Logf("closed %v %q; heap grew %.1f MB at most", got[0], got[1], float64(grew)/(1<<20))
	// Held by back-pressure, the flood costs the node next to nothing (about 6 MB measured,
	// the test's own buffers included); unheld, the same flood grew the heap past 64 MB.
	if grew > floodHeapBound/2 {
		t.Errorf("heap grew %d MB during the flood, want under %d MB", grew>>20, floodHeapBound>>21)
	}
	if ev := slow.WaitEvent(t, "$disconnect", id); ev.RequestContext.DisconnectStatusCode != 1008 || reasonOf(ev) != got[1] {
		t.Errorf("$disconnect reports %d %q, want what was sent: 1008 %q", ev.RequestContext.DisconnectStatusCode, reasonOf(ev), got[1])
	}
	if scrapeMetric(t, n, "wsgate_inbound_paused_total") < 1 {
		t.Errorf("wsgate_inbound_paused_total not counted")
	}
}
