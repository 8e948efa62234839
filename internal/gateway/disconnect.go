package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// socketClosed runs once when the socket is gone: it makes the connection unreachable and
// queues its $disconnect behind the job in flight, so the backend sees them in order.
func (c *Conn) socketClosed(err error) { c.end(err, true) }

// upgradeFailed runs $disconnect for a connection $connect accepted (so the backend knows it)
// whose upgrade failed after it was made reachable.
func (c *Conn) upgradeFailed(err error) { c.end(err, false) }

// end is socketClosed and upgradeFailed; opened says whether the connection was counted
// active. It moves the connection to closed, and queues its $disconnect behind the job in
// flight (a reaped connection gets none: the survivor ran it).
func (c *Conn) end(err error, opened bool) {
	c.mu.Lock()
	prev := c.state
	var lost closeReason // why, if nothing said so before (a close decided or received)
	if !prev.ending() {
		lost = lostReason(err)
	}
	if !c.to(closed, lost) {
		c.mu.Unlock()
		return
	}
	r := *c.why()
	if c.wait != nil {
		c.wait.pending = nil
		c.tidy()
	}
	dropped, bytes := c.dropQueued()
	c.mu.Unlock()
	c.logDropped(dropped, bytes)
	g := c.shape.g
	g.work.Add(1) // before the hub forgets it, so Shutdown's wait cannot miss this job
	// This runs on nbio's shared handler goroutines: forget the connection locally now, and
	// leave a store over the network (a Redis round trip, up to its timeout while Redis is
	// down) to a goroutine of its own, so a mass disconnect during an outage cannot stall other
	// connections. The in-process store does no I/O: it is left here, with no goroutine.
	if g.hub.StoreInProcess() {
		g.hub.Remove(context.Background(), c.ID())
	} else if g.hub.Forget(c.ID()) {
		g.unregisterLater(c.ID())
	}
	if opened {
		g.metrics.ConnectionsActive.Dec()
	}
	g.closes.Inc(r.metric)
	if r == reasonSlow {
		g.metrics.SlowConsumers.Inc()
		g.log.Warn("slow consumer closed", "connectionId", c.ID(), "sendQueueBytes", g.o.Limits.SendQueueBytes)
	}
	if prev != reaped {
		c.disconnected(r)
	}
	g.work.Add(-1)
}

// unregisterLater removes a connection the hub forgot from a store over the network, on a
// goroutine of its own (Shutdown waits for it).
//
//go:noinline
func (g *Gateway) unregisterLater(id string) {
	g.work.Add(1)
	go func() {
		defer g.work.Add(-1)
		g.hub.Unregister(context.Background(), id)
	}()
}

// disconnected queues the connection's $disconnect behind its job in flight, so the backend
// sees them in order. Where no integration listens on $disconnect there is nothing to call and
// no event to build: the access log line is all, written at once when no job is in flight (no
// goroutine), queued behind them otherwise so the log keeps its order, and skipped when the log
// is off.
func (c *Conn) disconnected(r closeReason) {
	g := c.shape.g
	if !g.disconnectListened() {
		if !g.log.Enabled(context.Background(), slog.LevelInfo) {
			return
		}
		c.mu.Lock()
		idle := c.inflight == 0
		c.mu.Unlock()
		if idle {
			g.logDisconnect(c.ID(), r)
			return
		}
	}
	c.push(job{disconnect: &r, reaps: g.hub.Reaps()})
}

// disconnectListened reports whether the route table has a $disconnect integration.
func (g *Gateway) disconnectListened() bool {
	r := g.RouteTable().Routes[event.RouteDisconnect]
	return r != nil && r.Integration != nil
}

// runDisconnect is a queued $disconnect job.
func (c *Conn) runDisconnect(r closeReason) {
	if !c.shape.g.disconnectListened() {
		c.shape.g.logDisconnect(c.ID(), r)
		return
	}
	c.shape.g.disconnect(c.disconnectEvent(r), c.ID(), r.by)
}

// logDisconnect is the access log line of a $disconnect no integration listens to.
func (g *Gateway) logDisconnect(connID string, r closeReason) {
	if !g.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	g.logAccess(slog.LevelInfo, disconnectLine(event.NewID(), connID, r.code, r.text, r.by))
}

// disconnectLine is the access log line of a $disconnect, before its integration (if any) ran.
func disconnectLine(requestID, connID string, code int, text string, by initiator) accessLine {
	return accessLine{eventType: "disconnect", requestID: requestID, connectionID: connID,
		routeKey: event.RouteDisconnect, status: 200, attrs: []slog.Attr{
			slog.Int(observe.KeyDisconnectStatus, code),
			slog.String(observe.KeyDisconnectReason, text), slog.String("closedBy", by.String())}}
}

// disconnectEvent builds the DISCONNECT event. Its headers are the fixed ones AWS sends, not
// the client's (docs/aws-compatibility.md).
func (c *Conn) disconnectEvent(r closeReason) *event.Event {
	ev := &event.Event{
		Headers: map[string]string{
			"Host": c.shape.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "",
		},
		MultiValueHeaders: map[string][]string{
			"Host": {c.shape.domainName}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""},
		},
		Path: c.shape.path,
	}
	ev.RequestContext = c.baseContext(event.RouteDisconnect, event.Disconnect, time.Now())
	ev.RequestContext.SetDisconnect(r.code, r.text)
	return ev
}

// orphanEvent builds the DISCONNECT event for a connection of a dead node, from its registry
// record.
func (g *Gateway) orphanEvent(rc registry.Conn, reason string) *event.Event {
	return connFromRecord(g, rc).disconnectEvent(closeReason{code: 1006, text: reason, metric: "node_lost", by: byNode})
}

// Orphaned runs $disconnect for a connection whose node died (the hub calls it after reaping).
func (g *Gateway) Orphaned(rc registry.Conn, reason string) {
	g.closes.Inc("node_lost")
	g.work.Add(1)
	go func() {
		defer g.work.Add(-1)
		g.disconnect(g.orphanEvent(rc, reason), rc.ID, byNode)
	}()
}

// disconnect calls the $disconnect integration (its answer is ignored, as on AWS). At most
// maxConcurrentDisconnects run at once.
func (g *Gateway) disconnect(ev *event.Event, connID string, by initiator) {
	rc := ev.RequestContext
	r := g.RouteTable().Routes[event.RouteDisconnect]
	line := disconnectLine(rc.RequestID, connID, *rc.DisconnectStatusCode, *rc.DisconnectReason, by)
	if r == nil || r.Integration == nil {
		g.logAccess(slog.LevelInfo, line)
		return
	}
	g.disconnects <- struct{}{}
	defer func() { <-g.disconnects }()
	g.acquireCall()
	defer g.releaseCall()
	t0 := time.Now()
	resp, err := r.Integration.Invoke(context.Background(), ev)
	lat := time.Since(t0)
	g.metrics.IntegrationTime.WithLabelValues(event.RouteDisconnect).Observe(lat.Seconds())
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	g.metrics.API.Integration(g.o.Stage, event.RouteDisconnect, status, err, lat)
	line.integrationLatency = lat
	if err != nil {
		line.status, line.err = 500, err
		g.logAccess(slog.LevelWarn, line)
		return
	}
	line.status = resp.StatusCode
	g.logAccess(slog.LevelInfo, line)
}
