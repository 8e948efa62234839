package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// lifecycleAPI routes everything to one recording Lambda; %s is its endpoint, and the limits
// block is appended by each test.
const lifecycleAPI = `
routes:
  $connect: { integration: fn }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: app, endpoint: "%s" }
`

func echoLambda(t *testing.T) *harness.Lambda {
	return harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, "re:" + ev.Body
	})
}

// A client's close frame reaches $disconnect with its code and reason; a close frame without
// a code is reported as 1005 with AWS's wording.
func TestDisconnectOnClientClose(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))

	c := dial(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	_ = c.Close(4001, "user left")
	ev := fn.WaitEvent(t, "$disconnect", id)
	if ev.RequestContext.DisconnectStatusCode != 4001 || reasonOf(ev) != "user left" {
		t.Errorf("$disconnect = %d %q, want the client's 4001 \"user left\"", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}

	raw := dialFrames(t, n.WS("/dev"))
	id2 := fn.NthConnectionID(t, 2)
	raw.frame(ws.OpClose, true, nil)
	if code, _, ok := raw.readClose(); !ok {
		t.Errorf("no close frame echoed to a close without status")
	} else if code != 0 && code != 1005 {
		// An empty close payload is echoed empty (the parser reports 0); 1005 must never be sent on the wire.
		t.Errorf("server answered an empty close with code %d", code)
	}
	ev = fn.WaitEvent(t, "$disconnect", id2)
	if ev.RequestContext.DisconnectStatusCode != 1005 || reasonOf(ev) != "Client-side close frame status not set" {
		t.Errorf("$disconnect = %d %q, want 1005 \"Client-side close frame status not set\"", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}
}

// A TCP drop without a close frame is 1006.
func TestDisconnectOnTCPDrop(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	raw := dialFrames(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	_ = raw.conn.Close()
	ev := fn.WaitEvent(t, "$disconnect", id)
	if ev.RequestContext.DisconnectStatusCode != 1006 {
		t.Errorf("$disconnect after a TCP drop = %d %q, want 1006", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}
}

// The idle timeout counts data only, closes with 1001 and says so in $disconnect.
func TestDisconnectOnIdleTimeout(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { idleTimeout: 300ms }\n")
	c := dial(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	code, reason := readClose(t, c)
	if code != websocket.StatusGoingAway {
		t.Errorf("client close = %d %q, want 1001", code, reason)
	}
	ev := fn.WaitEvent(t, "$disconnect", id)
	if ev.RequestContext.DisconnectStatusCode != 1001 || !strings.Contains(reasonOf(ev), "idle") {
		t.Errorf("$disconnect = %d %q, want 1001 and an idle-timeout reason", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}
}

// The maximum connection duration ends even a busy connection.
func TestDisconnectOnMaxDuration(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { maxConnectionDuration: 400ms }\n")
	c := dial(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var closeErr error
	for i := 0; closeErr == nil; i++ { // keep it busy: activity does not extend the cap
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprint(i))); err != nil {
			break
		}
		_, _, closeErr = c.Read(ctx)
	}
	if st := websocket.CloseStatus(closeErr); st != websocket.StatusGoingAway {
		t.Errorf("client saw %v, want close 1001", closeErr)
	}
	ev := fn.WaitEvent(t, "$disconnect", id)
	if ev.RequestContext.DisconnectStatusCode != 1001 || !strings.Contains(reasonOf(ev), "duration") {
		t.Errorf("$disconnect = %d %q, want 1001 and a duration reason", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}
}

// Shutdown closes every connection with 1001 and runs every $disconnect before it returns.
func TestShutdownClosesEveryone(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	const count = 20
	clients := make([]*websocket.Conn, count)
	for i := range clients {
		clients[i] = dial(t, n.WS("/dev"))
	}
	// Every client has a Read pending, as browsers do, so each answers the close at once.
	closes := make([]error, count)
	var reading sync.WaitGroup
	for i, c := range clients {
		reading.Add(1)
		go func() {
			defer reading.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _, closes[i] = c.Read(ctx)
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Server.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// No polling: Shutdown's contract is that the $disconnect calls have finished.
	if got := fn.Count("$disconnect"); got != count {
		t.Fatalf("$disconnect calls when Shutdown returned = %d, want %d", got, count)
	}
	for _, ev := range fn.ProxyEvents() {
		if ev.RequestContext.RouteKey == "$disconnect" && ev.RequestContext.DisconnectStatusCode != 1001 {
			t.Errorf("$disconnect code = %d %q, want 1001", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
		}
	}
	reading.Wait()
	for i, err := range closes {
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client %d: %v, want close 1001", i, err)
		}
	}
	if _, _, err := tryDial(n.WS("/dev")); err == nil {
		t.Errorf("a new connection was accepted after Shutdown")
	}
}

// A client that never reads is closed once its send queue is full; others are unaffected, and
// the close is reported, counted and logged.
func TestSlowConsumerIsClosed(t *testing.T) {
	fn := echoLambda(t)
	n, logs := servertest.StartLogged(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { messageBytes: 64KB, sendQueueBytes: 64KB }\n")
	slow := dialFrames(t, n.WS("/dev"))
	slowID := fn.NthConnectionID(t, 1)
	fast := dial(t, n.WS("/dev"))
	before := scrapeMetric(t, n, "wsgate_slow_consumers_total")

	chunk := strings.Repeat("x", 60<<10)
	pushed, status := 0, 200
	for status == 200 && pushed < 2000 { // ~120 MB at most: far beyond any loopback socket buffer
		resp, err := http.Post("http://"+n.Addr+"/dev/@connections/"+slowID, "text/plain", strings.NewReader(chunk))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status = resp.StatusCode
		pushed++
	}
	if status == 200 {
		t.Fatalf("%d pushes of 60 KB to a client that never reads were all accepted", pushed)
	}
	if status != http.StatusGone && status != http.StatusTooManyRequests {
		t.Errorf("push to a full queue = %d, want 429 or 410", status)
	}
	ev := fn.WaitEvent(t, "$disconnect", slowID)
	if !strings.Contains(strings.ToLower(reasonOf(ev)), "slow consumer") {
		t.Errorf("$disconnect reason = %q (code %d), want it to say slow consumer", reasonOf(ev), ev.RequestContext.DisconnectStatusCode)
	}
	if after := scrapeMetric(t, n, "wsgate_slow_consumers_total"); after != before+1 {
		t.Errorf("wsgate_slow_consumers_total %v -> %v, want +1", before, after)
	}
	if len(logs.Records("slow consumer closed")) != 1 {
		t.Errorf("want one 'slow consumer closed' log line")
	}
	send(t, fast, "still fine")
	if got := read(t, fast); got != "re:still fine" {
		t.Errorf("other client after the slow one was closed: %q", got)
	}
	_ = slow
}

// A peer that completed the handshake but answers no pings is closed as dead.
func TestDeadPeerIsClosed(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { pingInterval: 100ms }\n")
	raw := dialFrames(t, n.WS("/dev")) // never reads, so never answers a ping
	id := fn.NthConnectionID(t, 1)
	ev := fn.WaitEvent(t, "$disconnect", id)
	if ev.RequestContext.DisconnectStatusCode != 1006 || !strings.Contains(reasonOf(ev), "ping") {
		t.Errorf("$disconnect = %d %q, want 1006 and the dead-peer reason", ev.RequestContext.DisconnectStatusCode, reasonOf(ev))
	}
	sawPing := false
	for {
		f, err := raw.next()
		if err != nil {
			break
		}
		sawPing = sawPing || f.Header.OpCode == ws.OpPing
		if f.Header.OpCode == ws.OpClose {
			// 1005 and 1006 are for reporting only (RFC 6455 §7.4.1): never on the wire.
			if code, _ := ws.ParseCloseFrameData(f.Payload); code == 1005 || code == 1006 {
				t.Errorf("server sent a close frame with reserved code %d", code)
			}
		}
	}
	if !sawPing {
		t.Errorf("the dead peer was closed without being pinged first")
	}
}

// Server pings keep a healthy idle client alive across many ping intervals; the coder client
// answers them while a Read is pending. The idle timeout still applies to data.
func TestPingsKeepHealthyClientAlive(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { pingInterval: 100ms, idleTimeout: 1s }\n")
	start := time.Now()
	c := dial(t, n.WS("/dev"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx) // a Read is pending the whole time: the client answers pings
	lived := time.Since(start)
	ev := fn.WaitEvent(t, "$disconnect", fn.NthConnectionID(t, 1))
	if !strings.Contains(reasonOf(ev), "idle") || websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("closed with %v ($disconnect %d %q) after %v; want the idle timeout's 1001, not a dead-peer close",
			err, ev.RequestContext.DisconnectStatusCode, reasonOf(ev), lived)
	}
	// The idle close can only come after the idle timeout, i.e. after 10 ping intervals.
	if lived < time.Second {
		t.Errorf("closed after %v, before the 1s idle timeout", lived)
	}
}

// A $disconnect backend that hangs delays nobody else's messages.
func TestHangingDisconnectBlocksNobody(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	var mu sync.Mutex
	hanging := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/disconnect" {
			mu.Lock()
			hanging++
			mu.Unlock()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer backend.Close()
	defer unblock()
	n := servertest.Start(t, fmt.Sprintf(`
routes:
  $disconnect: { integration: disc }
  $default: { integration: app, routeResponse: true }
integrations:
  disc: { type: HTTP_PROXY, uri: %s/disconnect }
  app: { type: HTTP_PROXY, uri: %s/msg }
`, backend.URL, backend.URL))
	other := dial(t, n.WS("/dev"))
	for range 3 {
		c := dial(t, n.WS("/dev"))
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
	harness.Eventually(t, "three hanging $disconnect calls", func() bool { mu.Lock(); defer mu.Unlock(); return hanging == 3 })
	for i := range 5 {
		send(t, other, fmt.Sprint(i))
		if got := read(t, other); got != "ok" {
			t.Fatalf("message %d while $disconnect hangs: %q", i, got)
		}
	}
	// New connections are not held up either.
	c := dial(t, n.WS("/dev"))
	send(t, c, "new")
	if got := read(t, c); got != "ok" {
		t.Fatalf("new connection while $disconnect hangs: %q", got)
	}
	unblock()
}

// A client that is still sending when the gateway closes it (pings here: they do not count
// against the idle timeout) still receives the close frame: the gateway waits for the close
// handshake instead of resetting the socket with unread data in it.
func TestCloseFrameSurvivesInboundTraffic(t *testing.T) {
	fn := echoLambda(t)
	// A ping a millisecond, above the default rate limit for control frames.
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { idleTimeout: 200ms, controlFramesPerSecond: 100000 }\n")
	c := dialFrames(t, n.WS("/dev"))
	stop := make(chan struct{})
	var pinging sync.WaitGroup
	pinging.Add(1)
	go func() {
		defer pinging.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c.tryFrame(ws.OpPing, true, []byte("keep talking"))
			time.Sleep(time.Millisecond)
		}
	}()
	code, reason, ok := c.readClose()
	close(stop)
	pinging.Wait()
	if !ok || code != 1001 {
		t.Fatalf("client got close %d %q (frame received: %v), want the idle timeout's 1001 frame", code, reason, ok)
	}
}

// Frames queued before a DeleteConnection reach the client before its close frame: closing
// does not throw away what the send queue still holds.
func TestDeleteAfterPushesDeliversEverything(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { sendQueueBytes: 32MB }\n")
	c := dial(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	const pushes = 100
	chunk := strings.Repeat("p", 120<<10)
	for i := range pushes {
		resp, err := http.Post("http://"+n.Addr+"/dev/@connections/"+id, "text/plain", strings.NewReader(fmt.Sprint(i)+chunk))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("push %d = %d", i, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+n.Addr+"/dev/@connections/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DeleteConnection = %d, want 204", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range pushes {
		_, data, err := c.Read(ctx)
		if err != nil || !strings.HasPrefix(string(data), fmt.Sprint(i)+"p") || len(data) != len(chunk)+len(fmt.Sprint(i)) {
			t.Fatalf("push %d: %d bytes, err %v; want every push before the close", i, len(data), err)
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the pushes: %v, want close 1000", err)
	}
}

// Connections still handshaking when Shutdown starts are closed and get their $disconnect
// too, and Shutdown finishes within its grace period.
func TestShutdownDuringHandshakes(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	var (
		mu       sync.Mutex
		accepted int
		closes   []error
		dialers  sync.WaitGroup
	)
	stop := make(chan struct{})
	for range 8 {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, _, err := tryDial(n.WS("/dev"))
				if err != nil {
					continue // refused or reset: the node is going away
				}
				mu.Lock()
				accepted++
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, _, err = c.Read(ctx)
				cancel()
				mu.Lock()
				closes = append(closes, err)
				mu.Unlock()
			}
		}()
	}
	harness.Eventually(t, "some connections", func() bool { mu.Lock(); defer mu.Unlock(); return accepted >= 8 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := n.Server.Shutdown(ctx)
	close(stop)
	dialers.Wait()
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := fn.Count("$disconnect"); got != accepted {
		t.Errorf("$disconnect calls = %d for %d accepted connections", got, accepted)
	}
	for i, err := range closes {
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("connection %d ended with %v, want close 1001", i, err)
		}
	}
}
