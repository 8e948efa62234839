package gateway

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/routing"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	nbws "github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
)

// A message and a close frame reach their handlers inside the poller's read that carried them
// (Gateway.onData on the stack), not on a goroutine of nbio's executor: the hand-off per message
// that the echo's p99 paid for under CPU contention (docs/benchmarks.md, "The p99 tail"). The
// message is still routed (on a goroutine of its own) and the close still answered.
func TestHandlersRunOnThePoller(t *testing.T) {
	rec := make(recorder, 4)
	g := newDefaultRouteGateway(t, rec)
	type call struct {
		handler  string
		onPoller bool
	}
	calls := make(chan call, 4)
	// Set before the server starts, so before any connection copies the upgrader's handlers.
	g.upgrader.OnMessage(func(ws *nbws.Conn, mt nbws.MessageType, data []byte) {
		calls <- call{"message", inOnData()}
		g.onMessage(ws, mt, data)
	})
	g.upgrader.SetCloseHandler(func(ws *nbws.Conn, code int, text string) {
		calls <- call{"close", inOnData()}
		g.onCloseFrame(ws, code, text)
	})
	c, ctx := dialGateway(t, g)
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-rec:
		if ev.Body != `{"n":1}` || ev.RequestContext.EventType != event.Message {
			t.Fatalf("routed %s %q, want the MESSAGE {\"n\":1}", ev.RequestContext.EventType, ev.Body)
		}
	case <-ctx.Done():
		t.Fatal("the message was not routed")
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close handshake: %v", err) // the gateway's answering close frame did not come
	}
	for _, want := range []string{"message", "close"} {
		select {
		case got := <-calls:
			if got.handler != want || !got.onPoller {
				t.Fatalf("%s handler ran on the poller: %v (want the %s handler, on the poller)", got.handler, got.onPoller, want)
			}
		case <-ctx.Done():
			t.Fatalf("the %s handler never ran", want)
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := g.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

// inOnData reports whether the caller runs inside Gateway.onData, the poller's callback for
// every read.
func inOnData() bool {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*Gateway).onData") {
			return true
		}
		if !more {
			return false
		}
	}
}

// goidRecorder is an integration that reports the goroutine each call runs on.
type goidRecorder chan string

func (r goidRecorder) Invoke(_ context.Context, ev *event.Event) (*integration.Response, error) {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	r <- id
	return &integration.Response{StatusCode: 200}, nil
}

// A goroutine that ran one connection's queue to its end runs the next connection's message
// (its stack already grown to what a call needs), and waiting runners leave at Shutdown.
func TestRunnersAreReused(t *testing.T) {
	rec := make(goidRecorder, 4)
	g := newDefaultRouteGateway(t, rec)
	srv := httptest.NewServer(g)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []string
	for i := range 2 {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/dev", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-rec:
			ids = append(ids, id)
		case <-ctx.Done():
			t.Fatalf("message %d was not routed", i+1)
		}
		harness.Eventually(t, "the runner to wait for the next queue", func() bool { return g.idleRunners.Load() == 1 })
	}
	if ids[0] != ids[1] {
		t.Fatalf("the second connection's message ran on goroutine %s, not on the waiting runner %s", ids[1], ids[0])
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := g.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "the waiting runner to leave at Shutdown", func() bool { return g.idleRunners.Load() == 0 })
}

// newDefaultRouteGateway is a gateway of stage dev, routing by $request.body.action, whose
// $default route calls integ.
func newDefaultRouteGateway(t *testing.T, integ integration.Integration) *Gateway {
	t.Helper()
	b := bus.NewLocal()
	t.Cleanup(func() { b.Close() })
	h := hub.New[*Conn](hub.Options{Node: "n1", Store: registry.NewMemory(), Bus: b})
	sel, err := routing.Compile("$request.body.action")
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Stage: "dev", Hub: h, Limits: Limits{IdleTimeout: time.Hour}, Selector: sel,
		Routes: map[string]*Route{event.RouteDefault: {Key: event.RouteDefault, Integration: integ}}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// nbio's jobs for a connection (its close) run through the gateway's executor, on a worker
// that then waits for the next one with its stack grown, not on a goroutine started for each.
func TestCloseJobsRunOnWorkers(t *testing.T) {
	g := newDefaultRouteGateway(t, goidRecorder(make(chan string, 1)))
	c, _ := dialGateway(t, g)
	c.Close(websocket.StatusNormalClosure, "")
	harness.Eventually(t, "the connection's close to run on a worker that then waits", func() bool {
		return g.hub.Len() == 0 && g.jobs.Idle() == 1
	})
}

// dialGateway serves g on a test server and dials its stage dev; the server and the 10 s
// context the connection was dialed with end with the test.
func dialGateway(t *testing.T, g *Gateway) (*websocket.Conn, context.Context) {
	t.Helper()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, ctx
}
