package gateway

import (
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/third_party/nbio"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
)

// Conn is one live WebSocket. The poller goroutine owns reading; writes go straight to nbio's
// non-blocking socket buffer (bounded by limits.sendQueueBytes) under the websocket.Conn's lock,
// so Send never blocks. Messages wait in a small queue that holds no goroutine while idle.
//
// Its lifecycle is one state (see connState), changed only by to, under mu: frames are routed,
// pushes delivered and integrations called only while it is open.
//
// It is kept small on purpose: memory per idle connection decides how many connections one
// machine holds. No headers after $connect; 144 bytes, a Go size class (TestConnFitsItsSizeClass),
// with the fields packed as they are; the id and the source address share one allocation
// (key); what most connections repeat (User-Agent, domain, path) is shared through shape, and
// what only some connections have (an authorizer's answer; pushes held before the 101,
// messages waiting for a slot and why it ends) sits behind a pointer.
type Conn struct {
	ws *websocket.Conn // nil until open; guarded by mu

	key         string     // the source address, then the id (ipLen splits them): see newKey
	connectedAt int64      // unix nanos: 8 bytes where a time.Time takes 24
	shape       *connShape // the gateway, User-Agent, domain and path, shared with connections that sent the same
	auth        *authInfo  // nil for an anonymous connection

	lastData atomic.Uint32 // the last data frame (lastActiveAt, idle timeout): a stamp (see stamp)
	lastSeen atomic.Uint32 // the last frame of any kind (dead-peer detection): a stamp
	flags    atomic.Uint32 // flagPinged, flagAttached
	// ctl rate-limits pings and pongs (limits.controlFramesPerSecond): the count of those in
	// the current second under the second (see controlFrame). Only nbio's per-connection
	// executor touches it.
	ctl uint32

	// in checks the client's frames before nbio parses them and holds what arrives while the
	// connection's inbound queue is full (inbound.go). Only the read path touches it.
	in inbound

	mu       sync.Mutex
	wait     *backlog // nil while nothing waits and the connection is open (nearly always)
	queued   int32    // bytes the messages in wait.jobs and in flight count (limits.inboundQueueBytes)
	inflight int16    // jobs running (at most concurrencyPerConnection, itself at most 1000)
	state    connState
	ipLen    uint8 // len of the source address at the start of key
}

// newKey is a connection's source address (requestContext.identity.sourceIp) followed by its
// id, in one allocation, and the address's length: the two strings live as long as the
// connection, and apart they would take a string header and an allocation each. A source
// address longer than 255 bytes (none is: an IPv6 address with a zone is under 64) is cut.
func newKey(sourceIP string, id *[16]byte) (string, uint8) {
	ip := sourceIP[:min(len(sourceIP), 255)]
	var b strings.Builder
	b.Grow(len(ip) + len(id))
	b.WriteString(ip)
	b.Write(id[:])
	return b.String(), uint8(len(ip))
}

// sourceIP is requestContext.identity.sourceIp.
func (c *Conn) sourceIP() string { return c.key[:c.ipLen] }

// backlog is what a connection holds only for a while, under its mu: frames pushed before
// open (pending, the instant between $connect and the 101), messages waiting for a free slot
// (jobs, run in order when concurrency is 1) and, once it leaves open, why it ends (reason).
// An open connection rarely has any of them, so a Conn holds one pointer, nil while all are
// empty, instead of three fields.
type backlog struct {
	pending [][]byte
	jobs    []job
	reason  *closeReason // set by to when the connection leaves open
}

// Flags of Conn.flags.
const (
	// flagPinged: a ping is outstanding since lastSeen.
	flagPinged uint32 = 1 << iota
	// flagAttached is set before the Conn becomes the socket's session. nbio's
	// Session/SetSession are unsynchronized, so session() loads it to order every field write
	// of connect before any read on nbio's goroutines (the Go memory model needs the edge;
	// -race checks it).
	flagAttached
)

func (c *Conn) pinged() bool   { return c.flags.Load()&flagPinged != 0 }
func (c *Conn) attached() bool { return c.flags.Load()&flagAttached != 0 }

// ping marks a ping outstanding and reports whether one already was.
func (c *Conn) ping() (was bool) { return c.flags.Or(flagPinged)&flagPinged != 0 }

// ponged clears flagPinged: a frame came. It writes only when the flag is set.
func (c *Conn) ponged() {
	if c.flags.Load()&flagPinged != 0 {
		c.flags.And(^flagPinged)
	}
}

// why is the reason the connection ends, nil while it is open. Caller holds c.mu.
func (c *Conn) why() *closeReason {
	if c.wait == nil {
		return nil
	}
	return c.wait.reason
}

// backlog returns c.wait, made on first use. Caller holds c.mu.
func (c *Conn) backlog() *backlog {
	if c.wait == nil {
		c.wait = &backlog{}
	}
	return c.wait
}

// tidy drops c.wait once nothing waits in it. Caller holds c.mu.
func (c *Conn) tidy() {
	if w := c.wait; w != nil && len(w.pending) == 0 && len(w.jobs) == 0 && w.reason == nil {
		c.wait = nil
	}
}

// connShape is what a connection's handshake said that most connections repeat: the client's
// User-Agent, the domain it connected to (requestContext.domainName, the Host header unless
// configured) and its path; and the gateway that holds it. Connections that sent the same
// three share one (Gateway.shapes).
type connShape struct {
	g          *Gateway
	userAgent  string
	domainName string
	path       string
}

// connState is where a connection is in its life. Transitions (all made by Conn.to):
//
//	connecting → open → closing → closed
//	connecting → closing           (closed before its 101 went out: open carries the close out)
//	connecting, open, closing → reaped → closed (a survivor reaped this node)
//	connecting, open → closed      (the socket went without a close frame)
type connState uint8

const (
	// connecting: $connect accepted it and it is reachable, but its 101 is not out yet; pushes
	// wait in pending.
	connecting connState = iota
	// open: frames are routed, pushes delivered.
	open
	// closing: wsgate decided to close it or the client sent its close frame. Nothing is routed,
	// delivered or called for it any more; what was queued is dropped.
	closing
	// reaped: closing because a survivor reaped this node and already ran its $disconnect.
	reaped
	// closed: the socket is gone; $disconnect is queued (not for a reaped connection).
	closed
)

var stateNames = [...]string{"connecting", "open", "closing", "reaped", "closed"}

func (s connState) String() string { return stateNames[s] }

// ending reports whether the connection is past open.
func (s connState) ending() bool { return s >= closing }

// to moves the connection to state s; r is why, for the first move past open. It reports
// whether the move was made: every state is left only forward, and reaped may follow closing.
// This is the only place the state changes. Caller holds c.mu.
func (c *Conn) to(s connState, r closeReason) bool {
	switch {
	case s <= c.state && !(s == reaped && c.state == closing):
		return false
	case c.state == closed:
		return false
	}
	if !c.state.ending() && s.ending() {
		c.backlog().reason = r.own() // r itself stays on the stack: most calls keep no reason
	}
	if s == reaped {
		rr := *c.wait.reason
		rr.metric = reasonReaped.metric
		c.wait.reason = &rr
	}
	c.state = s
	return true
}

// own is a copy of r on the heap.
func (r closeReason) own() *closeReason {
	p := new(closeReason)
	*p = r
	return p
}

// job is a unit of per-connection work: a message to route, or the final $disconnect.
type job struct {
	data       []byte
	binary     bool
	at         time.Time
	disconnect *closeReason
	reaps      int64 // the hub's Reaps when a $disconnect was queued
}

// closeReason is why a connection ended: the close code and text sent or received (and so
// reported in $disconnect as disconnectStatusCode and disconnectReason), the label counted in
// metrics, and who ended it. drop closes the socket without a close frame (none can be sent).
type closeReason struct {
	code   int
	text   string
	metric string
	by     initiator
	drop   bool
}

// initiator is who ended a connection, for the access log.
type initiator uint8

const (
	byGateway    initiator = iota // a limit, the idle sweep, shutdown
	byClient                      // the client's close frame
	byManagement                  // DeleteConnection and the users extension
	byNetwork                     // the socket went: reset, EOF, write failure
	byNode                        // this node lost its lease to a survivor
)

var initiatorNames = [...]string{"gateway", "client", "management", "network", "node"}

func (i initiator) String() string { return initiatorNames[i] }

// Close reasons wsgate itself decides (docs/aws-compatibility.md recommendation: 1001 for idle,
// duration and shutdown; 1000 for DeleteConnection; 1009 too big; 1003 binary; RFC 6455 §7.4.1
// for protocol errors).
var (
	reasonIdle      = closeReason{code: 1001, text: "Going away: idle timeout", metric: "idle"}
	reasonDuration  = closeReason{code: 1001, text: "Going away: maximum connection duration reached", metric: "duration"}
	reasonShutdown  = closeReason{code: 1001, text: "Going away: gateway shutting down", metric: "shutdown"}
	reasonBinary    = closeReason{code: 1003, text: "Binary frames are not supported", metric: "binary"}
	reasonTooBig    = closeReason{code: 1009, text: "Message too big", metric: "too_big"}
	reasonFrameBig  = closeReason{code: 1009, text: "Frame too big", metric: "too_big"}
	reasonSlow      = closeReason{code: 1008, text: "Slow consumer: send queue full", metric: "slow_consumer", drop: true}
	reasonFlood     = closeReason{code: 1008, text: "Too many messages: inbound queue full", metric: "inbound_flood"}
	reasonStalled   = closeReason{code: 1008, text: "Too many messages: inbound queue stalled", metric: "inbound_flood"}
	reasonCtlFlood  = closeReason{code: 1008, text: "Too many control frames", metric: "control_flood"}
	reasonBadUTF8   = closeReason{code: 1007, text: "Invalid UTF-8 in text message", metric: "protocol_error"}
	reasonDeadPeer  = closeReason{code: 1006, text: "Peer did not answer pings", metric: "dead_peer", drop: true}
	reasonLost      = closeReason{code: 1006, text: "Connection lost", metric: "lost", by: byNetwork}
	reasonNoStatus  = closeReason{code: 1005, text: "Client-side close frame status not set", metric: "client", by: byClient}
	reasonWriteFail = closeReason{code: 1006, text: "Write failed", metric: "lost", by: byNetwork, drop: true}
	reasonReaped    = fromHub(hub.CloseReaped)
)

// protocolError is a 1002 close for a framing error (RFC 6455 §7.4.1), text saying which.
func protocolError(text string) closeReason {
	return closeReason{code: 1002, text: text, metric: "protocol_error"}
}

// fromHub is the gateway's reason for a close the hub asks for.
func fromHub(r hub.CloseReason) closeReason {
	by := byManagement
	if r == hub.CloseReaped {
		by = byNode
	}
	return closeReason{code: r.Code, text: r.Text, metric: r.Label, by: by}
}

// ID implements hub.Conn.
func (c *Conn) ID() string { return c.key[c.ipLen:] }

// LastActive implements hub.Conn: the time of the last data frame.
func (c *Conn) LastActive() time.Time {
	now := time.Now().UnixNano()
	return time.Unix(0, now-since(now, c.lastData.Load()))
}

// stamp is a time (unix nanos) as Conn keeps its last-frame times: unix milliseconds modulo
// 2^32, 4 bytes where an int64 takes 8. since reads it back as the time from it to now, signed
// (a frame stamped after the sweeper read the clock is a little in the future), exact to the
// millisecond while under 2^31 ms (24.8 days) either way: a connection that sends nothing for
// that long is closed by the idle timeout or the dead-peer check first; with both off, only
// its lastActiveAt would be read wrong.
func stamp(ns int64) uint32 { return uint32(ns / int64(time.Millisecond)) }

// since is the time from stamp s to now (unix nanos), in nanoseconds; see stamp.
func since(now int64, s uint32) int64 {
	return int64(int32(stamp(now)-s)) * int64(time.Millisecond)
}

// Info implements hub.Conn.
func (c *Conn) Info() registry.Conn {
	return registry.Conn{
		ID:           c.ID(),
		Node:         c.shape.g.hub.Node(),
		ConnectedAt:  time.Unix(0, c.connectedAt),
		LastActiveAt: c.LastActive(),
		SourceIP:     c.sourceIP(),
		UserAgent:    c.shape.userAgent,
		UserID:       c.userID(),
		Path:         c.shape.path,
		Authorizer:   c.authContext(),
	}
}

// Keys implements registry.Keyed: the memory store indexes the connection by these on every
// connect and close without building its record (Info).
func (c *Conn) Keys() (id, node, userID string) {
	return c.ID(), c.shape.g.hub.Node(), c.userID()
}

// authInfo is what a connection's authorizer answered. Most connections of a public API have
// none: a pointer keeps them 16 bytes smaller than the two fields would.
type authInfo struct {
	userID  string
	context map[string]any // requestContext.authorizer
}

// userID is the user the authorizer named, "" for none.
func (c *Conn) userID() string {
	if c.auth == nil {
		return ""
	}
	return c.auth.userID
}

// authContext is requestContext.authorizer, nil without an authorizer.
func (c *Conn) authContext() map[string]any {
	if c.auth == nil {
		return nil
	}
	return c.auth.context
}

// connFromRecord is the connection a registry record describes, Info's inverse (keep the two
// together): the events of a connection this node does not hold (a dead node's $disconnect)
// are built from it.
func connFromRecord(g *Gateway, rc registry.Conn) *Conn {
	ip := rc.SourceIP[:min(len(rc.SourceIP), 255)]
	c := &Conn{
		key: ip + rc.ID, ipLen: uint8(len(ip)), connectedAt: rc.ConnectedAt.UnixNano(),
		shape: &connShape{g: g, userAgent: rc.UserAgent, domainName: g.o.DomainName, path: rc.Path},
	}
	if rc.UserID != "" || rc.Authorizer != nil {
		c.auth = &authInfo{userID: rc.UserID, context: rc.Authorizer}
	}
	return c
}

// Send implements hub.Conn: one text frame, never blocking.
func (c *Conn) Send(data []byte) error {
	return c.write(websocket.TextMessage, data)
}

func (c *Conn) write(mt websocket.MessageType, data []byte) error {
	c.mu.Lock()
	switch c.state {
	case connecting:
		// Reachable but its 101 is not out yet: hold the frame for open, bounded like the
		// socket's own send queue.
		err := c.hold(data)
		c.mu.Unlock()
		if err == nil {
			c.shape.g.metrics.API.MessageOut(c.shape.g.o.Stage)
		}
		return err
	case open:
	default:
		c.mu.Unlock()
		return hub.ErrGone // nothing may follow a close frame (RFC 6455 §5.5.1)
	}
	// Written under c.mu: a close decided meanwhile waits for this frame, so its close frame
	// is the last one on the wire. WriteMessage does not block (it queues in nbio's buffer).
	var err error
	if !c.admit(len(data)) {
		err = websocket.ErrMessageSendQuqueIsFull
	} else {
		err = c.ws.WriteMessage(mt, data)
	}
	c.mu.Unlock()
	switch {
	case err == nil:
		c.shape.g.metrics.API.MessageOut(c.shape.g.o.Stage)
		return nil
	case errors.Is(err, nbio.ErrOverflow), errors.Is(err, websocket.ErrMessageSendQuqueIsFull):
		// The socket's buffer is over limits.sendQueueBytes. No close frame can get through a
		// full buffer; the reason goes to $disconnect, the log and metrics.
		c.close(reasonSlow)
		return hub.ErrSlowConsumer
	default:
		c.close(reasonWriteFail)
		return hub.ErrGone
	}
}

// admit counts a message of n bytes into a wss:// socket's send queue (bounded in bytes by
// limits.sendQueueBytes, readGuard.admit) and reports whether it fits; a ws:// socket's bound
// is nbio's write buffer, checked by WriteMessage. Caller holds c.mu.
func (c *Conn) admit(n int) bool {
	rg, ok := c.ws.Conn.(*readGuard)
	return !ok || rg.admit(n, maxOutFrame(c.shape.g.o.Limits.FrameBytes), c.shape.g.o.Limits.SendQueueBytes)
}

// control writes a ping or pong, only while the connection is open: nothing may follow a close
// frame, whoever sent it.
func (c *Conn) control(mt websocket.MessageType, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == open && c.admit(len(data)) {
		_ = c.ws.WriteMessage(mt, data)
	}
}

// hold keeps a frame pushed before the 101 went out. Caller holds c.mu.
func (c *Conn) hold(data []byte) error {
	n := len(data)
	if c.wait != nil {
		for _, p := range c.wait.pending {
			n += len(p)
		}
	}
	if limit := c.shape.g.o.Limits.SendQueueBytes; limit > 0 && n > limit {
		return hub.ErrSlowConsumer
	}
	w := c.backlog()
	w.pending = append(w.pending, append([]byte(nil), data...))
	return nil
}

// open makes the upgraded socket the connection's, first writing whatever was pushed while the
// handshake finished, so nothing pushed after $connect succeeded is lost or reordered. A close
// decided meanwhile (shutdown, DeleteConnection, a reaped node) is carried out now.
func (c *Conn) open(ws *websocket.Conn) {
	c.mu.Lock()
	if c.wait != nil {
		for _, p := range c.wait.pending {
			if ws.WriteMessage(websocket.TextMessage, p) != nil {
				break // the socket is going; its close reports why
			}
		}
		c.wait.pending = nil
		c.tidy()
	}
	c.ws = ws
	opened := c.to(open, closeReason{})
	r := c.why()
	c.mu.Unlock()
	if !opened {
		c.shut(ws, *r)
	}
}

// Close implements hub.Conn: a close frame for r, then $disconnect (none for hub.CloseReaped).
func (c *Conn) Close(r hub.CloseReason) { c.close(fromHub(r)) }

// close is every close wsgate decides: it moves the connection past open (reaped for a reaped
// node), drops the messages still queued for integrations and sends the close frame (or drops
// the socket, for reasons that have none). Only the first close counts; a reaped node's close
// also marks a connection already closing, so that it gets no $disconnect here.
func (c *Conn) close(r closeReason) {
	s := closing
	if r.by == byNode {
		s = reaped
	}
	c.mu.Lock()
	was := c.state
	if !c.to(s, r) {
		c.mu.Unlock()
		return
	}
	ws := c.ws
	dropped, bytes := c.dropQueued()
	c.mu.Unlock()
	c.logDropped(dropped, bytes)
	if ws != nil && !was.ending() {
		c.shut(ws, r)
	} // else open carries it out once the 101 is out, or the close is under way
}

// shut sends the close frame for r, or drops the socket for reasons that have none.
func (c *Conn) shut(ws *websocket.Conn, r closeReason) {
	if r.drop || !sendable(r.code) {
		// A wss:// socket served by a goroutine (see blockingQueueFrames): close the TCP socket
		// under the TLS layer, as tls.Conn.Close would first try to send a close_notify alert
		// through a full socket (up to 5 s).
		if tc, ok := ws.Conn.(interface{ NetConn() net.Conn }); ok {
			_ = tc.NetConn().Close()
		} else {
			_ = ws.Close()
		}
		return
	}
	_ = ws.WriteClose(r.code, r.text)
	// Closing the socket now would reset it whenever the peer's frames are still in flight (a
	// pong, a message), and a reset can destroy the close frame before the client reads it.
	// So wait for the peer's answering close frame (nbio closes the socket when it arrives),
	// or for closeHandshakeTimeout.
	_ = ws.SetReadDeadline(time.Now().Add(closeHandshakeTimeout))
}

// peerClosed records the client's close frame (r, by the client) and reports whether it must
// be echoed: not when it answers wsgate's own close frame. echo runs under c.mu, so no frame
// can follow it.
func (c *Conn) peerClosed(r closeReason, echo closeEcho) {
	c.mu.Lock()
	if !c.to(closing, r) {
		c.mu.Unlock()
		return // the answer to wsgate's close frame: nbio closes the socket next
	}
	dropped, bytes := c.dropQueued()
	echo.send()
	c.mu.Unlock()
	c.logDropped(dropped, bytes)
}

// closeHandshakeTimeout bounds how long a connection wsgate closed waits for the peer's close
// frame before the socket is dropped.
const closeHandshakeTimeout = 2 * time.Second

// sendable reports whether a close code may appear in a close frame: 1005, 1006 and 1015 only
// report what happened (RFC 6455 §7.4.1), so such closes drop the socket without a frame and
// the code goes to $disconnect alone.
func sendable(code int) bool {
	return code != 1005 && code != 1006 && code != 1015
}

// ending reports whether the connection is past open.
func (c *Conn) ending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.ending()
}

// lostReason is why a socket that went without a close decided or received ended, from the
// error nbio reports.
func lostReason(err error) closeReason {
	switch {
	case err == nil:
		return reasonLost
	case errors.Is(err, nbio.ErrOverflow), errors.Is(err, websocket.ErrMessageSendQuqueIsFull):
		return reasonSlow
	case errors.Is(err, websocket.ErrInvalidCloseCode):
		// nbio answered a close frame with an invalid code with a bare 1002 close frame.
		return closeReason{code: 1002, metric: "protocol_error"}
	}
	return reasonLost
}
