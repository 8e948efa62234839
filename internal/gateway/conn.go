package gateway

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
)

// Conn is one live WebSocket. The poller goroutine owns reading; writes go straight to nbio's
// non-blocking socket buffer (bounded by limits.sendQueueBytes) under the websocket.Conn's lock,
// so Send never blocks. Messages wait in a small queue that holds no goroutine while idle.
//
// It is kept small on purpose (no headers after $connect): memory per idle connection decides
// how many connections one machine holds.
type Conn struct {
	g  *Gateway
	ws *websocket.Conn // nil until open; guarded by mu

	id          string
	connectedAt int64 // unix nanos: 8 bytes where a time.Time takes 24
	sourceIP    string
	userAgent   string
	path        string
	domainName  string
	userID      string
	authorizer  map[string]any

	lastData atomic.Int64 // unix nanos of the last data frame (lastActiveAt, idle timeout)
	lastSeen atomic.Int64 // unix nanos of the last frame of any kind (dead-peer detection)
	pinged   atomic.Bool  // a ping is outstanding since lastSeen
	// attached is set before the Conn becomes the socket's session. nbio's Session/SetSession
	// are unsynchronized, so session() loads it to order every field write of connect before
	// any read on nbio's goroutines (the Go memory model needs the edge; -race checks it).
	attached atomic.Bool

	// fragBytes counts the fragments of the message being received; only nbio's per-connection
	// executor touches it (onFrame, onMessage).
	fragBytes int

	mu       sync.Mutex
	queue    []job // jobs waiting for a free slot; runs in order when concurrency is 1
	inflight int
	reason   *closeReason // why we closed it, set once before closing
	peer     *closeReason // the close frame the client sent, if any
	gone     bool         // socket closed; $disconnect queued
	reaped   bool         // a survivor reaped this node and ran this connection's $disconnect
	pending  [][]byte     // frames pushed before open (the instant between $connect and the 101)
}

// job is a unit of per-connection work: a message to route, or the final $disconnect.
type job struct {
	data       []byte
	binary     bool
	at         time.Time
	disconnect *closeReason
}

// closeReason is why a connection ended: the code and reason reported in $disconnect, and the
// label counted in metrics.
type closeReason struct {
	code   int
	text   string
	metric string
}

// Close reasons wsgate itself decides (AWS-CONTRACT.md §7 recommendation: 1001 for idle,
// duration and shutdown; 1000 for DeleteConnection; 1009 too big; 1003 binary).
var (
	reasonIdle      = closeReason{1001, "Going away: idle timeout", "idle"}
	reasonDuration  = closeReason{1001, "Going away: maximum connection duration reached", "duration"}
	reasonShutdown  = closeReason{1001, "Going away: gateway shutting down", "shutdown"}
	reasonBinary    = closeReason{1003, "Binary frames are not supported", "binary"}
	reasonTooBig    = closeReason{1009, "Message too big", "too_big"}
	reasonFrameBig  = closeReason{1009, "Frame too big", "too_big"}
	reasonSlow      = closeReason{1008, "Slow consumer: send queue full", "slow_consumer"}
	reasonDeadPeer  = closeReason{1006, "Peer did not answer pings", "dead_peer"}
	reasonLost      = closeReason{1006, "Connection lost", "lost"}
	reasonNoStatus  = closeReason{1005, "Client-side close frame status not set", "client"}
	reasonWriteFail = closeReason{1006, "Write failed", "lost"}
)

// ID implements hub.Conn.
func (c *Conn) ID() string { return c.id }

// LastActive is the time of the last data frame, for the registry's lastActiveAt.
func (c *Conn) LastActive() time.Time { return time.Unix(0, c.lastData.Load()) }

// Info implements hub.Conn.
func (c *Conn) Info() registry.Conn {
	return registry.Conn{
		ID:           c.id,
		Node:         c.g.hub.Node(),
		ConnectedAt:  time.Unix(0, c.connectedAt),
		LastActiveAt: c.LastActive(),
		SourceIP:     c.sourceIP,
		UserAgent:    c.userAgent,
		UserID:       c.userID,
		Path:         c.path,
		Authorizer:   c.authorizer,
	}
}

// Send implements hub.Conn: one text frame, never blocking.
func (c *Conn) Send(data []byte) error {
	return c.write(websocket.TextMessage, data)
}

func (c *Conn) write(mt websocket.MessageType, data []byte) error {
	c.mu.Lock()
	if c.over() {
		c.mu.Unlock()
		return hub.ErrGone // nothing may follow a close frame (RFC 6455 §5.5.1)
	}
	ws := c.ws
	if ws == nil {
		// Reachable but its 101 is not out yet: hold the frame for open, bounded like the
		// socket's own send queue.
		err := c.hold(data)
		c.mu.Unlock()
		return err
	}
	// Written under c.mu: a close decided meanwhile waits for this frame, so its close frame
	// is the last one on the wire. WriteMessage does not block (it queues in nbio's buffer).
	err := ws.WriteMessage(mt, data)
	c.mu.Unlock()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nbio.ErrOverflow):
		// nbio closed the socket: its buffer is over limits.sendQueueBytes. No close frame
		// can get through a full buffer; the reason goes to $disconnect, the log and metrics.
		c.setReason(reasonSlow)
		return hub.ErrSlowConsumer
	case errors.Is(err, websocket.ErrMessageSendQuqueIsFull):
		// A wss:// socket (served by a goroutine, see blockingQueueFrames) whose queue is full:
		// nbio leaves it open, so close it here; no close frame fits in the full queue.
		if c.setReason(reasonSlow) {
			// Close the TCP socket under the TLS layer: tls.Conn.Close would first try to send
			// a close_notify alert through the full socket (up to 5 s).
			if tc, ok := ws.Conn.(interface{ NetConn() net.Conn }); ok {
				_ = tc.NetConn().Close()
			} else {
				_ = ws.Close()
			}
		}
		return hub.ErrSlowConsumer
	default:
		c.setReason(reasonWriteFail)
		return hub.ErrGone
	}
}

// control writes a ping or pong, unless the connection is ending or not open yet: nothing may
// follow a close frame, whoever sent it.
func (c *Conn) control(mt websocket.MessageType, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over() || c.ws == nil {
		return
	}
	_ = c.ws.WriteMessage(mt, data)
}

// over reports whether no frame may be written any more: wsgate decided to close, the client
// sent its close frame (answered at once), or the socket is gone. Caller holds c.mu.
func (c *Conn) over() bool {
	return c.reason != nil || c.peer != nil || c.gone
}

// hold keeps a frame pushed before the 101 went out. Caller holds c.mu.
func (c *Conn) hold(data []byte) error {
	n := len(data)
	for _, p := range c.pending {
		n += len(p)
	}
	if limit := c.g.o.Limits.SendQueueBytes; limit > 0 && n > limit {
		return hub.ErrSlowConsumer
	}
	c.pending = append(c.pending, append([]byte(nil), data...))
	return nil
}

// open makes the upgraded socket the connection's, first writing whatever was pushed while the
// handshake finished, so nothing pushed after $connect succeeded is lost or reordered. A close
// decided meanwhile (shutdown, DeleteConnection) is carried out now.
func (c *Conn) open(ws *websocket.Conn) {
	c.mu.Lock()
	for _, p := range c.pending {
		if ws.WriteMessage(websocket.TextMessage, p) != nil {
			break // the socket is going; its close reports why
		}
	}
	c.pending = nil
	c.ws = ws
	r := c.reason
	c.mu.Unlock()
	if r != nil {
		c.shut(ws, *r)
	}
}

// Close implements hub.Conn: sends a close frame and closes the socket; $disconnect follows.
func (c *Conn) Close(code int, reason string) {
	c.closeWith(closeReason{code: code, text: reason, metric: metricFor(code, reason)})
}

func metricFor(code int, reason string) string {
	switch reason {
	case hub.ReasonDelete:
		return "deleted"
	case hub.ReasonBanned:
		return "user_deleted"
	}
	return "closed"
}

func (c *Conn) closeWith(r closeReason) {
	// The reason and the socket are read together: open sets the socket and reads the reason
	// under the same lock, so exactly one of them sends the close frame.
	c.mu.Lock()
	if c.over() {
		c.mu.Unlock()
		return
	}
	c.reason = &r
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		c.shut(ws, r)
	} // else open carries it out once the 101 is out
}

// shut sends the close frame for r (or drops the socket for codes that never go on the wire).
func (c *Conn) shut(ws *websocket.Conn, r closeReason) {
	if !sendable(r.code) {
		_ = ws.Close()
		return
	}
	_ = ws.WriteClose(r.code, r.text)
	// Closing the socket now would reset it whenever the peer's frames are still in flight (a
	// pong, a message), and a reset can destroy the close frame before the client reads it.
	// So wait for the peer's answering close frame (nbio closes the socket when it arrives),
	// or for closeHandshakeTimeout.
	_ = ws.SetReadDeadline(time.Now().Add(closeHandshakeTimeout))
}

// closeHandshakeTimeout bounds how long a connection wsgate closed waits for the peer's close
// frame before the socket is dropped.
const closeHandshakeTimeout = 2 * time.Second

// closing reports whether the connection is ending: wsgate sent its close frame or decided to
// drop the socket, or the socket is gone.
func (c *Conn) closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason != nil || c.gone
}

// sendable reports whether a close code may appear in a close frame: 1005, 1006 and 1015 only
// report what happened (RFC 6455 §7.4.1), so such closes drop the socket without a frame and
// the code goes to $disconnect alone.
func sendable(code int) bool {
	return code != 1005 && code != 1006 && code != 1015
}

// setReason records why the connection ends; the first reason wins. It reports whether r won.
func (c *Conn) setReason(r closeReason) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != nil || c.gone {
		return false
	}
	c.reason = &r
	return true
}

// finalReason decides what $disconnect reports once the socket is closed.
func (c *Conn) finalReason(err error) closeReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.reason != nil:
		return *c.reason
	case c.peer != nil:
		return *c.peer
	case errors.Is(err, websocket.ErrMessageTooLarge):
		return reasonTooBig
	case errors.Is(err, nbio.ErrOverflow):
		return reasonSlow
	}
	return reasonLost
}
