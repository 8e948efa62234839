package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/internal/event"
)

// onMessage runs on nbio's executor for each complete (reassembled, size-checked) message: it
// checks text is UTF-8 (RFC 6455 §8.1: 1007 otherwise), copies the payload and queues it;
// integrations run elsewhere. Frame and message sizes were checked before nbio parsed them
// (inbound.go).
func (g *Gateway) onMessage(ws *websocket.Conn, mt websocket.MessageType, data []byte) {
	m := job{binary: mt == websocket.BinaryMessage, at: time.Now()}
	if !m.binary && !utf8.Valid(data) {
		g.closeEarly(ws, reasonBadUTF8)
		return
	}
	m.data = append([]byte(nil), data...)
	if c := g.sessionOrEarly(ws, func(e *earlyEvents) { e.msgs = append(e.msgs, m) }); c != nil {
		c.enqueue(m)
	}
}

// enqueue accepts a message for routing. Up to ConcurrencyPerConnection jobs run at once; with
// the default of 1 they reach integrations in the order they arrived. Messages beyond
// limits.inboundQueueBytes make the connection stop reading (inbound.go).
func (c *Conn) enqueue(m job) {
	if m.binary && !c.shape.g.limits().AllowBinary {
		c.close(reasonBinary)
		return
	}
	now := m.at.UnixNano()
	c.lastData.Store(stamp(now))
	c.lastSeen.Store(stamp(now))
	c.ponged()
	c.mu.Lock()
	if c.state != open {
		c.mu.Unlock()
		return // arrived after a close frame, sent or received: the connection is over
	}
	c.queued += m.cost()
	if l := c.shape.g.o.Limits.InboundQueueBytes; l > 0 && int(c.queued) > l {
		c.in.pause(c)
	}
	c.mu.Unlock()
	c.push(m)
}

// cost is what a queued message counts against limits.inboundQueueBytes: its payload and its
// bookkeeping (the job, its slice header, the copy's allocation rounding), so that a flood of
// tiny frames is bounded too.
func (m job) cost() int32 { return int32(len(m.data) + jobOverhead) }

const jobOverhead = 128

func (c *Conn) push(m job) {
	c.shape.g.work.Add(1)
	c.mu.Lock()
	if int(c.inflight) >= c.shape.g.limits().ConcurrencyPerConnection {
		w := c.backlog()
		w.jobs = append(w.jobs, m)
		c.mu.Unlock()
		return
	}
	c.inflight++
	c.mu.Unlock()
	c.shape.g.start(c, m)
}

// maxIdleRunners bounds the goroutines kept waiting for the next connection's queue.
const maxIdleRunners = 64

// runTask is a connection's queue to run, from its job m on.
type runTask struct {
	c *Conn
	m job
}

// start runs c's queue from m on a goroutine of its own, never on the caller's (the poller's):
// a runner that finished another connection's queue takes it if one is waiting, else a new one
// starts. A runner's stack has grown to what a call needs (the integration's request and
// answer); a new goroutine grows its stack again on every message (copied two or three times:
// 4 % of the gateway's CPU in the echo).
func (g *Gateway) start(c *Conn, m job) {
	select {
	case g.runners <- runTask{c, m}:
	default:
		go g.runner(runTask{c, m})
	}
}

// runner drains queues until it has waited for one in vain: it stays only while fewer than
// maxIdleRunners others wait, and leaves at Shutdown. An idle connection holds no goroutine.
func (g *Gateway) runner(t runTask) {
	for {
		t.c.drain(t.m)
		if g.idleRunners.Add(1) > maxIdleRunners {
			g.idleRunners.Add(-1)
			return
		}
		select {
		case t = <-g.runners:
			g.idleRunners.Add(-1)
		case <-g.stopRunners:
			g.idleRunners.Add(-1)
			return
		}
	}
}

// drain runs m, then whatever queued meanwhile, and exits when the queue is empty: an idle
// connection holds no goroutine.
func (c *Conn) drain(m job) {
	for {
		c.run(m)
		c.shape.g.work.Add(-1)
		c.mu.Lock()
		c.queued -= m.cost()
		resume := c.state == open && int(c.queued) <= c.shape.g.o.Limits.InboundQueueBytes/2
		if c.wait == nil || len(c.wait.jobs) == 0 {
			c.inflight--
			if c.wait != nil {
				c.wait.jobs = nil
				c.tidy()
			}
			c.mu.Unlock()
			if resume {
				c.in.resume(c)
			}
			return
		}
		m = c.wait.jobs[0]
		c.wait.jobs[0] = job{}
		c.wait.jobs = c.wait.jobs[1:]
		c.mu.Unlock()
		if resume {
			c.in.resume(c)
		}
	}
}

// dropQueued forgets the messages still waiting for an integration: the connection is past
// open. It returns how many and their bytes. Caller holds c.mu.
func (c *Conn) dropQueued() (n, bytes int) {
	if c.wait == nil {
		return 0, 0
	}
	var cost int32
	for _, m := range c.wait.jobs {
		if m.disconnect == nil {
			n++
			bytes += len(m.data)
			cost += m.cost()
		}
	}
	if n > 0 {
		c.queued -= cost
		c.shape.g.work.Add(int64(-n))
		c.wait.jobs = nil
		c.tidy()
	}
	return n, bytes
}

// logDropped counts and logs (once per connection) the messages dropped at its close.
func (c *Conn) logDropped(n, bytes int) {
	if n == 0 {
		return
	}
	c.shape.g.metrics.InboundDropped.Add(float64(n))
	c.shape.g.log.Warn("messages dropped: connection closed before their integration ran", "connectionId", c.ID(),
		"messages", n, "bytes", bytes)
}

func (c *Conn) run(m job) {
	// A node resumed after a stall checks its lease before it acts: if a survivor reaped it
	// meanwhile, EnsureLease closes this connection (reaped) and nothing below runs for it.
	c.shape.g.hub.EnsureLease(context.Background())
	if m.disconnect != nil {
		if c.shape.g.hub.Reaps() != m.reaps {
			return // the survivor that reaped this node ran this $disconnect
		}
		c.runDisconnect(*m.disconnect)
		return
	}
	if c.ending() {
		// Taken from the queue just before the close dropped it.
		c.logDropped(1, len(m.data))
		return
	}
	c.route(m)
}

// route selects the route for one message, calls its integration and sends the answer back on
// a two-way route (docs/aws-compatibility.md).
func (c *Conn) route(m job) {
	g := c.shape.g
	g.routed.Add(1)
	t := g.RouteTable() // one snapshot for the whole message, whatever a reload does meanwhile
	key := event.RouteDefault
	var r *Route
	if !m.binary {
		if k, ok := t.Selector.Eval(m.data); ok && k != event.RouteConnect && k != event.RouteDisconnect {
			if r = t.Routes[k]; r != nil {
				key = k
			}
		}
	}
	if r == nil {
		r = t.Routes[event.RouteDefault]
	}
	rc := c.baseContext(key, event.Message, m.at)
	rc.MessageID = event.NewID()
	if r == nil {
		// AWS answers a message with no route and no $default with this frame and keeps the socket.
		_ = c.Send(errorFrame("Forbidden", c.ID(), rc.RequestID))
		g.metrics.Messages.WithLabelValues("", "no_route").Inc()
		g.metrics.API.MessageIn(g.o.Stage, "")
		g.metrics.API.ClientError(g.o.Stage, "")
		g.logAccess(slog.LevelInfo, accessLine{eventType: "message", requestID: rc.RequestID, connectionID: c.ID(),
			status: 403, err: errNoRoute})
		return
	}
	g.metrics.API.MessageIn(g.o.Stage, key)
	if r.Integration == nil {
		g.metrics.Messages.WithLabelValues(key, "ok").Inc()
		g.logAccess(slog.LevelInfo, accessLine{eventType: "message", requestID: rc.RequestID, connectionID: c.ID(),
			routeKey: key, status: 200})
		return
	}
	ev := &event.Event{RequestContext: rc, Path: c.shape.path, Frame: m.data}
	if m.binary {
		ev.Body = base64.StdEncoding.EncodeToString(m.data)
		ev.IsBase64Encoded = true
	} else {
		ev.Body = string(m.data)
	}
	g.acquireCall()
	if c.ending() {
		g.releaseCall()
		c.logDropped(1, len(m.data))
		return
	}
	t0 := time.Now()
	resp, err := r.Integration.Invoke(context.Background(), ev)
	lat := time.Since(t0)
	g.releaseCall()
	// The node may have stalled during the call (a long GC pause, SIGSTOP) and been reaped
	// meanwhile: the answer goes to a client whose $disconnect ran elsewhere only if it was not.
	g.hub.EnsureLease(context.Background())
	g.metrics.IntegrationTime.WithLabelValues(key).Observe(lat.Seconds())
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	g.metrics.API.Integration(g.o.Stage, key, status, err, lat)
	if err != nil {
		_ = c.Send(errorFrame("Internal server error", c.ID(), rc.RequestID))
		g.metrics.Messages.WithLabelValues(key, "error").Inc()
		g.logAccess(slog.LevelWarn, accessLine{eventType: "message", requestID: rc.RequestID, connectionID: c.ID(),
			routeKey: key, status: 500, integrationLatency: lat, err: err})
		return
	}
	if r.TwoWay && len(resp.Body) > 0 {
		_ = c.Send(resp.Body)
	}
	outcome := "ok"
	if resp.StatusCode >= 400 {
		outcome = "integration_error" // the backend answered, with a failure: not "ok"
	}
	g.metrics.Messages.WithLabelValues(key, outcome).Inc()
	g.logAccess(slog.LevelInfo, accessLine{eventType: "message", requestID: rc.RequestID, connectionID: c.ID(),
		routeKey: key, status: resp.StatusCode, integrationLatency: lat})
}

// errNoRoute is the access log's error for a message no route takes.
var errNoRoute = errors.New("no route matched and no $default route")

// errorFrame is AWS's error frame, byte for byte: a space after "message": and after the first
// comma, none elsewhere (clients match on the string).
func errorFrame(msg, connID, requestID string) []byte {
	return []byte(`{"message": "` + msg + `", "connectionId":"` + connID + `", "requestId":"` + requestID + `"}`)
}
