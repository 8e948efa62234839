package gateway

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/internal/event"
)

// onMessage runs on nbio's executor for each complete (reassembled, size-checked) message. It
// only checks the last frame's size, copies the payload and queues it: integrations run elsewhere.
func (g *Gateway) onMessage(ws *websocket.Conn, mt websocket.MessageType, data []byte) {
	c := g.session(ws)
	if c != nil && g.checkFrames {
		// nbio runs this job before the final frame's onFrame job, so the final frame is checked
		// here: it is what the message holds beyond the fragments onFrame already counted.
		last := len(data) - c.fragBytes
		c.fragBytes = 0
		if last > g.o.Limits.FrameBytes {
			c.closeWith(reasonFrameBig)
			return
		}
	}
	m := job{data: append([]byte(nil), data...), binary: mt == websocket.BinaryMessage, at: time.Now()}
	if c == nil {
		g.earlyMu.Lock()
		if c = g.session(ws); c == nil {
			e := g.earlyFor(ws)
			e.msgs = append(e.msgs, m)
			g.earlyMu.Unlock()
			return
		}
		g.earlyMu.Unlock()
	}
	c.enqueue(m)
}

// onFrame enforces AWS's 32 KB frame limit on the fragments of a message (up to 128 KB in all).
// It runs on the same per-connection executor as onMessage, so fragBytes needs no lock. Final
// frames are onMessage's to check.
func (g *Gateway) onFrame(ws *websocket.Conn, _ websocket.MessageType, fin bool, frame []byte) {
	if fin {
		return
	}
	c := g.session(ws)
	if len(frame) <= g.o.Limits.FrameBytes {
		if c != nil {
			c.fragBytes += len(frame)
		}
		return
	}
	if c != nil {
		c.closeWith(reasonFrameBig)
		return
	}
	_ = ws.WriteClose(reasonFrameBig.code, reasonFrameBig.text)
	_ = ws.Close()
}

// enqueue accepts a message for routing. Up to ConcurrencyPerConnection jobs run at once; with
// the default of 1 they reach integrations in the order they arrived.
func (c *Conn) enqueue(m job) {
	if c.closing() {
		return // arrived after wsgate's close frame: the connection is over
	}
	if m.binary && !c.g.o.Limits.AllowBinary {
		c.closeWith(reasonBinary)
		return
	}
	now := m.at.UnixNano()
	c.lastData.Store(now)
	c.lastSeen.Store(now)
	c.pinged.Store(false)
	c.push(m)
}

func (c *Conn) push(m job) {
	c.g.work.Add(1)
	c.mu.Lock()
	if c.inflight >= c.g.o.Limits.ConcurrencyPerConnection {
		c.queue = append(c.queue, m)
		c.mu.Unlock()
		return
	}
	c.inflight++
	c.mu.Unlock()
	go c.drain(m)
}

// drain runs m, then whatever queued meanwhile, and exits when the queue is empty: an idle
// connection holds no goroutine.
func (c *Conn) drain(m job) {
	for {
		c.run(m)
		c.g.work.Add(-1)
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.inflight--
			c.queue = nil
			c.mu.Unlock()
			return
		}
		m = c.queue[0]
		c.queue[0] = job{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
	}
}

func (c *Conn) run(m job) {
	if m.disconnect != nil {
		c.g.disconnect(c.disconnectEvent(*m.disconnect), c.id)
		return
	}
	c.route(m)
}

// route selects the route for one message, calls its integration and sends the answer back on
// a two-way route (AWS-CONTRACT.md §1).
func (c *Conn) route(m job) {
	g := c.g
	key := event.RouteDefault
	var r *Route
	if !m.binary {
		if k, ok := g.o.Selector.Eval(m.data); ok && k != event.RouteConnect && k != event.RouteDisconnect {
			if r = g.o.Routes[k]; r != nil {
				key = k
			}
		}
	}
	if r == nil {
		r = g.o.Routes[event.RouteDefault]
	}
	rc := c.baseContext(key, event.Message, m.at)
	rc.MessageID = event.NewID()
	log := g.log
	if r == nil {
		// AWS answers a message with no route and no $default with this frame and keeps the socket.
		_ = c.Send(errorFrame("Forbidden", c.id, rc.RequestID))
		g.metrics.Messages.WithLabelValues("", "no_route").Inc()
		log.Info("message", "requestId", rc.RequestID, "connectionId", c.id, "routeKey", "", "status", 403,
			"integrationLatency", time.Duration(0),
			"error", "no route matched and no $default route")
		return
	}
	if r.Integration == nil {
		g.metrics.Messages.WithLabelValues(key, "ok").Inc()
		log.Info("message", "requestId", rc.RequestID, "connectionId", c.id, "routeKey", key, "status", 200,
			"integrationLatency", time.Duration(0))
		return
	}
	ev := &event.Event{RequestContext: rc, Path: c.path}
	if m.binary {
		ev.Body = base64.StdEncoding.EncodeToString(m.data)
		ev.IsBase64Encoded = true
	} else {
		ev.Body = string(m.data)
	}
	t0 := time.Now()
	resp, err := r.Integration.Invoke(context.Background(), ev)
	lat := time.Since(t0)
	g.metrics.IntegrationTime.WithLabelValues(key).Observe(lat.Seconds())
	if err != nil {
		_ = c.Send(errorFrame("Internal server error", c.id, rc.RequestID))
		g.metrics.Messages.WithLabelValues(key, "error").Inc()
		log.Warn("message", "requestId", rc.RequestID, "connectionId", c.id, "routeKey", key, "status", 500,
			"integrationLatency", lat, "error", err.Error())
		return
	}
	if r.TwoWay && len(resp.Body) > 0 {
		_ = c.Send(resp.Body)
	}
	g.metrics.Messages.WithLabelValues(key, "ok").Inc()
	log.Info("message", "requestId", rc.RequestID, "connectionId", c.id, "routeKey", key,
		"status", resp.StatusCode, "integrationLatency", lat)
}

// errorFrame is AWS's error frame, byte for byte: a space after "message": and after the first
// comma, none elsewhere (clients match on the string).
func errorFrame(msg, connID, requestID string) []byte {
	return []byte(`{"message": "` + msg + `", "connectionId":"` + connID + `", "requestId":"` + requestID + `"}`)
}
