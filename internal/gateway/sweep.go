package gateway

import (
	"time"

	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
)

// sweep is the one timer for every connection: instead of a timer (and its memory) per socket,
// it walks the connections a few times per shortest limit and pings quiet peers, closes peers
// that did not answer a ping, idle connections and connections past their maximum duration.
func (g *Gateway) sweep() {
	defer close(g.sweepDone)
	t := time.NewTimer(g.sweepTick())
	defer t.Stop()
	for {
		select {
		case <-g.stopSweep:
			return
		case now := <-t.C:
			g.sweepOnce(now)
			t.Reset(g.sweepTick()) // the limits may have changed (SetLimits)
		}
	}
}

// sweepTick is a quarter of the shortest time limit, between 10 ms and 1 s.
func (g *Gateway) sweepTick() time.Duration {
	l := g.limits()
	tick := shortest(l.PingInterval, l.IdleTimeout, l.MaxConnectionDuration, l.InboundStallTimeout) / 4
	return min(max(tick, 10*time.Millisecond), time.Second)
}

func shortest(ds ...time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d > 0 && (m == 0 || d < m) {
			m = d
		}
	}
	if m == 0 {
		m = time.Second
	}
	return m
}

func (g *Gateway) sweepOnce(now time.Time) {
	l := g.limits()
	n := now.UnixNano()
	g.pruneEarly(n)
	g.hub.Each(func(c *Conn) bool {
		if c.ending() {
			return true // a closing connection gets no pings and no second close
		}
		switch {
		case l.MaxConnectionDuration > 0 && time.Duration(n-c.connectedAt) >= l.MaxConnectionDuration:
			c.close(reasonDuration)
		case l.InboundStallTimeout > 0 && c.in.stalledSince(n) >= l.InboundStallTimeout:
			c.close(reasonStalled)
		case l.IdleTimeout > 0 && since(n, c.lastData.Load()) >= int64(l.IdleTimeout):
			c.close(reasonIdle)
		case l.PingInterval > 0 && since(n, c.lastSeen.Load()) >= int64(l.PingInterval):
			if c.pinged() && since(n, c.lastSeen.Load()) >= 2*int64(l.PingInterval) {
				c.close(reasonDeadPeer)
			} else if !c.ping() {
				c.control(websocket.PingMessage, nil)
			}
		}
		return true
	})
}
