// Package gateway is the WebSocket side of wsgate: it upgrades /{stage}[/path] (the server's mux
// sends it WebSocket upgrades only, for paths management.Handler.IsConnectPath accepts), runs the
// authorizer and $connect before answering 101, routes every message through the route
// selection expression to an integration, writes route responses back, and runs $disconnect
// however a connection ends.
//
// Sockets live on nbio's event loop after a standard net/http handshake, so an idle connection
// costs a couple of KB and no goroutine; integration calls run on goroutines, never on the poller.
package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/third_party/nbio/logging"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
	"github.com/wsgate/wsgate/third_party/nbio/taskpool"

	"github.com/wsgate/wsgate/internal/authorizer"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/routing"
	"github.com/wsgate/wsgate/internal/workers"
)

// Route is a resolved route: what to call and whether the answer goes back to the client.
type Route struct {
	Key         string
	Integration integration.Integration // nil: accepted, nothing called
	Authorizer  authorizer.Authorizer   // $connect only
	TwoWay      bool
}

// RouteTable is what the gateway routes by: the route selection expression and the routes by
// route key, with their integrations and authorizers. A table is immutable once given to New
// or SetRouteTable; a reload builds a new one and swaps it in whole, so every handshake and
// every message sees one table from start to end, and open sockets are not touched.
type RouteTable struct {
	Selector *routing.Expr
	Routes   map[string]*Route
}

// Limits are the per-connection limits (AWS defaults in config).
type Limits struct {
	MessageBytes             int
	FrameBytes               int
	IdleTimeout              time.Duration
	MaxConnectionDuration    time.Duration
	PingInterval             time.Duration
	SendQueueBytes           int
	HandshakeTimeout         time.Duration
	AllowBinary              bool
	ConcurrencyPerConnection int
	// InboundQueueBytes bounds the bytes of a connection's messages queued for (or in)
	// integrations: past it the connection stops reading (its input is held unparsed, up to as
	// many bytes again), and is closed 1008 when the hold is full or lasts InboundStallTimeout.
	// 0: unbounded.
	InboundQueueBytes   int
	InboundStallTimeout time.Duration
	// ControlFramesPerSecond bounds the pings and pongs a client may send (1008 beyond). 0: no limit.
	ControlFramesPerSecond int
	// MaxInflightCalls bounds this node's integration calls in flight (messages and
	// $disconnect); more wait. 0: unbounded.
	MaxInflightCalls int
	// SocketSendBuffer is the kernel send buffer (SO_SNDBUF) of each accepted socket, which
	// adds to SendQueueBytes before a client that stops reading is closed. 0: the kernel's.
	SocketSendBuffer int
	// HandshakeHeaderBytes and HandshakeHeaders cap the upgrade request's header section (the
	// header lines in bytes, and their number); a handshake over either gets 431 before any
	// authorizer or $connect work. 0 = no cap.
	HandshakeHeaderBytes int
	HandshakeHeaders     int
}

// Options configure a Gateway. Selector and Routes are the first RouteTable; SetRouteTable
// replaces it.
type Options struct {
	Stage      string
	APIID      string
	DomainName string // "" = the Host of the upgrade request
	Selector   *routing.Expr
	Routes     map[string]*Route
	Limits     Limits
	Hub        *hub.Hub[*Conn]
	Logger     *slog.Logger
	Metrics    *observe.Metrics
	// SendBufferInherited says the listener's sockets come with Limits.SocketSendBuffer
	// already (set once on the listening socket, which the kernel copies to each accepted
	// one): the gateway then does not set it again on each.
	SendBufferInherited bool
}

// Gateway is an http.Handler. Safe for concurrent use.
type Gateway struct {
	o       Options
	log     *slog.Logger
	hub     *hub.Hub[*Conn]
	metrics *observe.Metrics
	// connects and closes are metrics.Connects and metrics.Disconnects by outcome and reason,
	// counted on every handshake and close.
	connects, closes *observe.Counters
	engine           *nbhttp.Engine
	upgrader         *websocket.Upgrader
	shapes           *shapes // User-Agent, domain and path, shared between connections

	// early holds what arrived for a socket in the instant between its 101 and its session
	// being attached (see attach).
	earlyMu sync.Mutex
	early   map[*websocket.Conn]*earlyEvents

	table atomic.Pointer[RouteTable] // see RouteTable and SetRouteTable
	live  atomic.Pointer[Limits]     // see SetLimits

	shuttingDown atomic.Bool
	// handshakes ($connect in progress) and work (message and $disconnect jobs in flight) are
	// counters Shutdown polls: jobs may start while it waits, which a WaitGroup forbids.
	handshakes  atomic.Int64
	work        atomic.Int64
	routed      atomic.Uint64 // messages taken for routing since New (see Routed)
	runners     chan runTask  // unbuffered: the runners waiting for a queue (message.go)
	idleRunners atomic.Int32
	jobs        *workers.Pool      // nbio's jobs (see execute)
	overflow    *taskpool.TaskPool // nbio's jobs past maxJobWorkers
	stopRunners chan struct{}      // closed by Shutdown: waiting runners leave
	disconnects chan struct{}      // bounds concurrent $disconnect calls
	calls       chan struct{}      // bounds integration calls in flight (Limits.MaxInflightCalls); nil: no bound
	stopSweep   chan struct{}
	sweepDone   chan struct{}
}

type earlyEvents struct {
	born   int64 // unix nanos; see earlyMaxAge
	msgs   []job
	peer   *closeReason // the client's close frame (already echoed)
	reason *closeReason // a close wsgate decided (a protocol error): attach carries it out
	closed bool
	err    error
	f      framer // the frame checker, until attach moves it to the Conn
}

// earlyMaxAge is how long the sweeper keeps early events of a socket that has not attached.
// A socket attaches microseconds after its upgrade returns; one whose upgrade failed after
// nbio had taken it (the 101 could not be written) never does, and nbio may still have
// reported its close or messages here.
const earlyMaxAge = time.Minute

// pruneEarly forgets the early events of sockets that never attached.
func (g *Gateway) pruneEarly(now int64) {
	g.earlyMu.Lock()
	defer g.earlyMu.Unlock()
	for ws, e := range g.early {
		if now-e.born > int64(earlyMaxAge) {
			delete(g.early, ws)
		}
	}
}

// maxConcurrentDisconnects bounds $disconnect calls in flight so that a mass close (shutdown,
// a load balancer dropping everyone) cannot start a goroutine storm against the backend.
const maxConcurrentDisconnects = 512

// New builds a gateway and starts its event loop.
func New(o Options) (*Gateway, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = observe.NewMetrics()
	}
	if o.Limits.ConcurrencyPerConnection < 1 {
		o.Limits.ConcurrencyPerConnection = 1
	}
	logging.SetLevel(logging.LevelNone) // nbio's own logger; we log through slog
	g := &Gateway{
		o:           o,
		log:         o.Logger,
		hub:         o.Hub,
		metrics:     o.Metrics,
		connects:    observe.NewCounters(o.Metrics.Connects),
		closes:      observe.NewCounters(o.Metrics.Disconnects),
		early:       map[*websocket.Conn]*earlyEvents{},
		shapes:      newShapes(4096, 1024),
		disconnects: make(chan struct{}, maxConcurrentDisconnects),
		stopSweep:   make(chan struct{}),
		sweepDone:   make(chan struct{}),
		runners:     make(chan runTask),
		stopRunners: make(chan struct{}),
		jobs:        workers.New(maxIdleRunners, maxJobWorkers),
		overflow:    taskpool.New(runtime.NumCPU()*1024, 64*1024),
	}
	engine := nbhttp.NewEngine(nbhttp.Config{
		Name:                         "wsgate",
		ReleaseWebsocketPayload:      true,
		MaxWriteBufferSize:           o.Limits.SendQueueBytes,
		MaxWebsocketFramePayloadSize: maxOutFrame(o.Limits.FrameBytes),
		ReadBufferSize:               16 * 1024,
		ServerExecutor:               g.execute,
	})
	// With an executor of its own nbio calls blocking-mode handlers without recovering their
	// panics; the task pool's Call recovers them as nbio's default does.
	engine.SyncCall = g.overflow.Call
	g.engine = engine
	if o.Limits.MaxInflightCalls > 0 {
		g.calls = make(chan struct{}, o.Limits.MaxInflightCalls)
	}
	// UTF-8 is checked by onMessage and onCloseFrame, which close with 1007 as RFC 6455 §8.1
	// asks (nbio's own check closes with 1002).
	engine.CheckUtf8 = func([]byte) bool { return true }
	// Every byte a client sends passes onData (inbound.go) before nbio's parser.
	engine.OnData(g.onData)
	if err := engine.Start(); err != nil {
		g.jobs.Stop()
		g.overflow.Stop()
		return nil, err
	}
	g.table.Store(&RouteTable{Selector: o.Selector, Routes: o.Routes})
	g.live.Store(&o.Limits)
	g.upgrader = g.newUpgrader()
	go g.sweep()
	return g, nil
}

// Routed counts the client messages this gateway has taken for routing since New: what
// server.HoldHeapFloor watches to tell a node that routes messages from an idle one.
func (g *Gateway) Routed() uint64 { return g.routed.Load() }

// RouteTable is the table new handshakes and messages are routed by now.
func (g *Gateway) RouteTable() *RouteTable { return g.table.Load() }

// limits are the limits in force now: New's, with the live ones SetLimits last changed.
func (g *Gateway) limits() *Limits { return g.live.Load() }

// SetLimits changes, from now on and for every connection, the limits that are read per
// message, control frame or sweep: IdleTimeout, MaxConnectionDuration, PingInterval,
// AllowBinary, ConcurrencyPerConnection, ControlFramesPerSecond and InboundStallTimeout.
// The others size buffers, queues and the event loop when the gateway starts
// (LiveLimitsOnly lists them) and keep the values given to New.
func (g *Gateway) SetLimits(l Limits) {
	next := LiveLimitsOnly(g.o.Limits, l)
	if next.ConcurrencyPerConnection < 1 {
		next.ConcurrencyPerConnection = 1
	}
	g.live.Store(&next)
}

// LiveLimitsOnly is running with the limits SetLimits may change taken from next.
func LiveLimitsOnly(running, next Limits) Limits {
	l := running
	l.IdleTimeout = next.IdleTimeout
	l.MaxConnectionDuration = next.MaxConnectionDuration
	l.PingInterval = next.PingInterval
	l.AllowBinary = next.AllowBinary
	l.ConcurrencyPerConnection = next.ConcurrencyPerConnection
	l.ControlFramesPerSecond = next.ControlFramesPerSecond
	l.InboundStallTimeout = next.InboundStallTimeout
	return l
}

// SetRouteTable makes t the table for every handshake and message that starts from now on;
// those already running finish with the table they started with. t must not be changed after.
func (g *Gateway) SetRouteTable(t *RouteTable) { g.table.Store(t) }

// blockingQueueFrames bounds, in frames, the send queue of sockets nbio cannot take onto its
// event loop (wss:// connections from the standard TLS server, served by a goroutine with a
// queue of frames, unbounded by default). The bound that counts is in bytes (Conn.admit,
// limits.sendQueueBytes); this one only keeps the frame count within what sendQueueBytes can
// hold of the smallest (2-byte) frames, at most 65,535; 0 (no bound) with no sendQueueBytes.
func blockingQueueFrames(sendQueueBytes int) uint16 {
	if sendQueueBytes <= 0 {
		return 0
	}
	return uint16(min(max(sendQueueBytes/2, 4), 1<<16-1))
}

func maxOutFrame(frameBytes int) int {
	if frameBytes <= 0 {
		return 32 * 1024
	}
	return frameBytes
}

func (g *Gateway) newUpgrader() *websocket.Upgrader {
	u := websocket.NewUpgrader()
	u.Engine = g.engine
	u.KeepaliveTime = 0 // no per-connection timers: the sweeper pings and times out
	u.MessageLengthLimit = g.o.Limits.MessageBytes
	u.HandshakeTimeout = g.o.Limits.HandshakeTimeout
	u.CheckOrigin = func(*http.Request) bool { return true } // as AWS: origin is the authorizer's business
	u.BlockingModSendQueueMaxSize = blockingQueueFrames(g.o.Limits.SendQueueBytes)
	// Handlers run on the poller that parsed the frame (a patch of the vendored nbio): none of
	// them blocks (onMessage copies the payload and queues it for a goroutine of its own; the
	// control frame handlers write a frame into nbio's buffer), and a hand-off to nbio's
	// executor per message was the half of the gateway's goroutine wake-ups that the floor does
	// not have: under CPU contention each one is a wait for a thread to be scheduled, which is
	// where the echo's p99 went (docs/benchmarks.md, "The p99 tail").
	u.HandlersOnPoller = true
	u.OnMessage(g.onMessage)
	u.SetPingHandler(func(ws *websocket.Conn, data string) {
		if c := g.session(ws); c != nil {
			if c.controlFrame() {
				c.control(websocket.PongMessage, []byte(data)) // no pong after a close frame
			}
			return
		}
		_ = ws.WriteMessage(websocket.PongMessage, []byte(data))
	})
	u.SetPongHandler(func(ws *websocket.Conn, _ string) {
		if c := g.session(ws); c != nil {
			c.controlFrame()
		}
	})
	u.SetCloseHandler(g.onCloseFrame)
	u.OnClose(g.onClose)
	return u
}

// controlFrame notes a ping or pong from the client and reports whether it is within
// limits.controlFramesPerSecond; past it the connection is closed 1008. Runs on nbio's
// per-connection executor only.
func (c *Conn) controlFrame() bool { return c.controlFrameAt(time.Now().UnixNano()) }

// controlFrameAt is controlFrame for a frame at now (unix nanos).
func (c *Conn) controlFrameAt(now int64) bool {
	c.lastSeen.Store(stamp(now))
	c.ponged()
	limit := c.shape.g.limits().ControlFramesPerSecond
	if limit <= 0 {
		return true
	}
	// c.ctl: the unix second's low 12 bits over a 20-bit count (up to 1,048,575, above the
	// largest limit config allows). A window 4096 s later with the same low bits and no
	// control frame in between would count on from the old one: at worst one early 1008
	// for a client that sent nearly the limit in one second 68 minutes earlier.
	if sec := uint32(now/int64(time.Second)) << ctlCountBits; c.ctl&^ctlCountMask != sec {
		c.ctl = sec
	}
	if c.ctl&ctlCountMask < ctlCountMask {
		c.ctl++
	}
	if int(c.ctl&ctlCountMask) <= limit {
		return true
	}
	c.close(reasonCtlFlood)
	return false
}

// ctlCountBits is the width of the control-frame count in Conn.ctl.
const (
	ctlCountBits = 20
	ctlCountMask = 1<<ctlCountBits - 1
)

// acquireCall takes one of the node's integration call slots (Limits.MaxInflightCalls),
// waiting for one if all are taken; releaseCall gives it back.
func (g *Gateway) acquireCall() {
	if g.calls != nil {
		g.calls <- struct{}{}
	}
	g.metrics.IntegrationInflight.Inc()
}

func (g *Gateway) releaseCall() {
	g.metrics.IntegrationInflight.Dec()
	if g.calls != nil {
		<-g.calls
	}
}

// session returns the Conn attached to ws, or nil in the instant before attach.
func (g *Gateway) session(ws *websocket.Conn) *Conn {
	c, _ := ws.Session().(*Conn)
	if c == nil || !c.attached() {
		return nil
	}
	return c
}

// sessionOrEarly returns the Conn attached to ws; in the instant before attach it runs early
// on the socket's early events instead (under earlyMu, so attach sees what it recorded) and
// returns nil. Every nbio callback that may come before attach goes through here.
func (g *Gateway) sessionOrEarly(ws *websocket.Conn, early func(*earlyEvents)) *Conn {
	if c := g.session(ws); c != nil {
		return c
	}
	g.earlyMu.Lock()
	defer g.earlyMu.Unlock()
	if c := g.session(ws); c != nil {
		return c
	}
	e := g.early[ws]
	if e == nil {
		e = &earlyEvents{born: time.Now().UnixNano()}
		g.early[ws] = e
	}
	early(e)
	return nil
}

// closeEarly closes ws's connection for r, or has attach do it.
func (g *Gateway) closeEarly(ws *websocket.Conn, r closeReason) {
	c := g.sessionOrEarly(ws, func(e *earlyEvents) {
		if e.reason == nil {
			e.reason = &r
		}
	})
	if c != nil {
		c.close(r)
	}
}

// ServeHTTP upgrades a WebSocket handshake for /{stage}[/path]. It checks neither the stage nor
// that r is an upgrade: the server's mux sends it only upgrades (IsUpgrade) for paths
// management.Handler.IsConnectPath accepts, and answers everything else with management's AWS
// errors. What follows the stage is the connection's URL-path extension.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, lines, ok := g.admit(w, r)
	if !ok {
		return
	}
	g.handshakes.Add(1)
	defer g.handshakes.Add(-1)
	g.connect(w, r, route, lines)
}

// admit checks a handshake against shutdown and the header limits, answering those it refuses,
// and returns the $connect route and, if the route has work, the header lines as sent (a
// function of its own, to keep ServeHTTP's frame small: see connect).
//
//go:noinline
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request) (route *Route, lines []event.Header, ok bool) {
	if g.shuttingDown.Load() {
		writeJSONError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return nil, nil, false
	}
	// The header lines as sent are read only by the route's work (the CONNECT event); without
	// any, the head is only counted for the limits.
	var n, size int
	var err error
	route = g.RouteTable().Routes[event.RouteConnect]
	if route != nil && (route.Authorizer != nil || route.Integration != nil) {
		lines, size, err = handshakeLines(r)
		n = len(lines)
	} else {
		n, size, err = headerSize(r)
	}
	if err != nil || g.headersOverLimits(n, size) {
		g.refuseHeaders(w, r, n, size)
		return nil, nil, false
	}
	return route, lines, true
}

// refuseHeaders answers 431 to a handshake over limits.handshakeHeaders or
// handshakeHeaderBytes (in a function of its own, to keep ServeHTTP's frame small: see connect).
//
//go:noinline
func (g *Gateway) refuseHeaders(w http.ResponseWriter, r *http.Request, lines, size int) {
	g.connects.Inc("refused_431")
	g.metrics.API.Connect(g.o.Stage)
	g.metrics.API.ClientError(g.o.Stage, "$connect")
	g.logAccess(slog.LevelInfo, accessLine{eventType: "connect", routeKey: "$connect",
		status: http.StatusRequestHeaderFieldsTooLarge, attrs: []slog.Attr{
			slog.String(observe.KeyReason, "refused by limits.handshakeHeaders/handshakeHeaderBytes"),
			slog.Int("headers", lines), slog.Int("headerBytes", size), slog.String(observe.KeySourceIP, sourceIP(r))}})
	writeJSONError(w, http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large")
}

// headersOverLimits reports whether a handshake with n header lines of size bytes in all is
// over Limits.HandshakeHeaders or Limits.HandshakeHeaderBytes.
func (g *Gateway) headersOverLimits(n, size int) bool {
	l := g.o.Limits
	return (l.HandshakeHeaders > 0 && n > l.HandshakeHeaders) ||
		(l.HandshakeHeaderBytes > 0 && size > l.HandshakeHeaderBytes)
}

// pathAfterStage is the URL-path extension: the decoded path after its first segment (the
// stage, already checked), "/" when there is none.
func pathAfterStage(decoded string) string {
	_, rest, ok := strings.Cut(strings.TrimLeft(decoded, "/"), "/")
	if !ok {
		return "/"
	}
	return "/" + rest
}

// maxJobWorkers bounds the goroutines running nbio's jobs; past it they queue on a task pool.
const maxJobWorkers = 4096

// execute is the nbio engine's executor (nbhttp.Config.ServerExecutor): it runs a connection's
// job list (its close above all: the hub, the store, the $disconnect) on a waiting worker, else
// on a new goroutine that then waits for the next. nbio's own executor starts a goroutine for
// every job, and the close path grew its stack each time (docs/benchmarks.md, "Connects at the
// floor"). Past maxJobWorkers (a mass disconnect) jobs go to a bounded task pool with a queue,
// as nbio's would. nbio's job list recovers its jobs' panics.
func (g *Gateway) execute(f func()) {
	if !g.jobs.Go(f) {
		g.overflow.Go(f)
	}
}

// IsUpgrade reports whether r asks for a WebSocket upgrade (Connection: upgrade and Upgrade:
// websocket, RFC 6455 §4.1). Only such a request may reach the gateway.
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for v != "" { // the comma-separated list, without allocating its parts
			part, rest, _ := strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
			v = rest
		}
	}
	return false
}

// writeJSONError refuses a handshake with AWS's body for it, {"message": msg}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"message":"` + msg + `"}`))
}

// onCloseFrame records the client's close code for $disconnect and answers the close. A
// close reason that is not UTF-8 is answered 1007 (RFC 6455 §8.1).
func (g *Gateway) onCloseFrame(ws *websocket.Conn, code int, text string) {
	if !utf8.ValidString(text) {
		g.closeEarly(ws, closeReason{code: 1007, text: "Invalid UTF-8 in close reason", metric: "protocol_error"})
		return
	}
	r := closeReason{code: code, text: text, metric: "client", by: byClient}
	if code == 1005 {
		r = reasonNoStatus
	}
	echo := closeEcho{ws: ws, code: code, text: text}
	c := g.sessionOrEarly(ws, func(e *earlyEvents) {
		// Closed before attach: keep the client's code for the $disconnect attach runs.
		if e.peer == nil && e.reason == nil {
			e.peer = r.own()
			echo.send()
		}
	})
	if c != nil {
		c.peerClosed(r, echo)
	}
}

// closeEcho is the close frame that answers a client's (RFC 6455 §5.5.1): its code and reason
// sent back, or an empty one for a close frame without a code (1005).
type closeEcho struct {
	ws   *websocket.Conn // nil: nothing to send
	code int
	text string
}

func (e closeEcho) send() {
	if e.ws == nil {
		return
	}
	if e.code == 1005 {
		_ = e.ws.WriteMessage(websocket.CloseMessage, nil)
		return
	}
	buf := make([]byte, 2+len(e.text)) // nbio keeps it until written
	binary.BigEndian.PutUint16(buf, uint16(e.code))
	copy(buf[2:], e.text)
	_ = e.ws.WriteMessage(websocket.CloseMessage, buf)
}

// onClose runs on the poller when the socket is gone, whatever closed it.
func (g *Gateway) onClose(ws *websocket.Conn, err error) {
	c := g.sessionOrEarly(ws, func(e *earlyEvents) { e.closed, e.err = true, err })
	if c != nil {
		c.socketClosed(err)
	}
}

// Shutdown stops accepting, closes every connection with 1001, runs their $disconnect and
// waits for in-flight work, all within ctx's deadline.
func (g *Gateway) Shutdown(ctx context.Context) error {
	if g.shuttingDown.Swap(true) {
		return nil
	}
	close(g.stopSweep)
	<-g.sweepDone
	g.hub.Each(func(c *Conn) bool {
		c.close(reasonShutdown)
		return true
	})
	done := make(chan struct{})
	go func() {
		// Connections whose close is still on its way to onClose are counted by the hub.
		for (g.handshakes.Load() > 0 || g.hub.Len() > 0 || g.work.Load() > 0) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.New("shutdown grace period over: some $disconnect calls did not finish")
	}
	g.engine.Stop()
	close(g.stopRunners)
	g.jobs.Stop()
	g.overflow.Stop()
	return err
}
