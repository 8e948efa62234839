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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/internal/authorizer"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/routing"
)

// Route is a resolved route: what to call and whether the answer goes back to the client.
type Route struct {
	Key         string
	Integration integration.Integration // nil: accepted, nothing called
	Authorizer  authorizer.Authorizer   // $connect only
	TwoWay      bool
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
}

// Options configure a Gateway.
type Options struct {
	Stage      string
	APIID      string
	DomainName string // "" = the Host of the upgrade request
	Selector   *routing.Expr
	Routes     map[string]*Route
	Limits     Limits
	Hub        *hub.Hub
	Logger     *slog.Logger
	Metrics    *observe.Metrics
}

// Gateway is an http.Handler. Safe for concurrent use.
type Gateway struct {
	o        Options
	log      *slog.Logger
	hub      *hub.Hub
	metrics  *observe.Metrics
	engine   *nbhttp.Engine
	upgrader *websocket.Upgrader
	shared   *interner // User-Agent and Host values shared between connections
	// checkFrames: the frame limit is below the message limit, so frames are counted.
	checkFrames bool

	// early holds what arrived for a socket in the instant between its 101 and its session
	// being attached (see attach).
	earlyMu sync.Mutex
	early   map[*websocket.Conn]*earlyEvents

	shuttingDown atomic.Bool
	// handshakes ($connect in progress) and work (message and $disconnect jobs in flight) are
	// counters Shutdown polls: jobs may start while it waits, which a WaitGroup forbids.
	handshakes  atomic.Int64
	work        atomic.Int64
	disconnects chan struct{} // bounds concurrent $disconnect calls
	stopSweep   chan struct{}
	sweepDone   chan struct{}
}

type earlyEvents struct {
	born   int64 // unix nanos; see earlyMaxAge
	msgs   []job
	peer   *closeReason // the client's close frame
	closed bool
	err    error
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
	engine := nbhttp.NewEngine(nbhttp.Config{
		Name:                         "wsgate",
		ReleaseWebsocketPayload:      true,
		MaxWriteBufferSize:           o.Limits.SendQueueBytes,
		MaxWebsocketFramePayloadSize: maxOutFrame(o.Limits.FrameBytes),
		ReadBufferSize:               16 * 1024,
	})
	if err := engine.Start(); err != nil {
		return nil, err
	}
	g := &Gateway{
		o:           o,
		log:         o.Logger,
		hub:         o.Hub,
		metrics:     o.Metrics,
		engine:      engine,
		early:       map[*websocket.Conn]*earlyEvents{},
		shared:      newInterner(4096, 512),
		disconnects: make(chan struct{}, maxConcurrentDisconnects),
		stopSweep:   make(chan struct{}),
		sweepDone:   make(chan struct{}),
	}
	g.checkFrames = o.Limits.FrameBytes > 0 && o.Limits.FrameBytes < o.Limits.MessageBytes
	g.upgrader = g.newUpgrader()
	go g.sweep()
	return g, nil
}

// blockingQueueFrames bounds the send queue of sockets nbio cannot take onto its event loop:
// wss:// connections from the standard TLS server are served by a goroutine with a queue of
// frames (each at most frameBytes), unbounded by default. Counting frames of up to frameBytes,
// sendQueueBytes/frameBytes keeps it within sendQueueBytes (at least 4 frames).
func blockingQueueFrames(sendQueueBytes, frameBytes int) uint16 {
	n := sendQueueBytes / maxOutFrame(frameBytes)
	return uint16(min(max(n, 4), 1<<16-1))
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
	u.BlockingModSendQueueMaxSize = blockingQueueFrames(g.o.Limits.SendQueueBytes, g.o.Limits.FrameBytes)
	u.OnMessage(g.onMessage)
	if g.checkFrames {
		u.OnDataFrame(g.onFrame)
	}
	u.SetPingHandler(func(ws *websocket.Conn, data string) {
		if c := g.session(ws); c != nil {
			c.seen()
			c.control(websocket.PongMessage, []byte(data)) // no pong after a close frame
			return
		}
		_ = ws.WriteMessage(websocket.PongMessage, []byte(data))
	})
	u.SetPongHandler(func(ws *websocket.Conn, _ string) {
		if c := g.session(ws); c != nil {
			c.seen()
		}
	})
	u.SetCloseHandler(g.onCloseFrame)
	u.OnClose(g.onClose)
	return u
}

func (c *Conn) seen() {
	c.lastSeen.Store(time.Now().UnixNano())
	c.pinged.Store(false)
}

// session returns the Conn attached to ws, or nil in the instant before attach.
func (g *Gateway) session(ws *websocket.Conn) *Conn {
	c, _ := ws.Session().(*Conn)
	if c == nil || !c.attached.Load() {
		return nil
	}
	return c
}

// ServeHTTP upgrades a WebSocket handshake for /{stage}[/path]. It checks neither the stage nor
// that r is an upgrade: the server's mux sends it only upgrades (IsUpgrade) for paths
// management.Handler.IsConnectPath accepts, and answers everything else with management's AWS
// errors. What follows the stage is the connection's URL-path extension.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.shuttingDown.Load() {
		writeJSONError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	g.handshakes.Add(1)
	defer g.handshakes.Add(-1)
	g.connect(w, r, pathAfterStage(r.URL.Path))
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

// IsUpgrade reports whether r asks for a WebSocket upgrade (Connection: upgrade and Upgrade:
// websocket, RFC 6455 §4.1). Only such a request may reach the gateway.
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
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

// onCloseFrame records the client's close code for $disconnect and answers the close.
func (g *Gateway) onCloseFrame(ws *websocket.Conn, code int, text string) {
	r := closeReason{code: code, text: text, metric: "client"}
	if code == 1005 {
		r = reasonNoStatus
	}
	c := g.session(ws)
	if c == nil {
		g.earlyMu.Lock()
		if c = g.session(ws); c == nil {
			// Closed before attach: keep the client's code for the $disconnect attach runs.
			if e := g.earlyFor(ws); e.peer == nil {
				e.peer = &r
			}
		}
		g.earlyMu.Unlock()
	}
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		answered := c.over() // this is the answer to wsgate's own close frame
		if c.peer == nil {
			c.peer = &r
		}
		if answered {
			return // nbio closes the socket next; a second close frame is not allowed
		}
		// The echo is written under c.mu, after c.peer is set: no Send can follow it.
	}
	if code == 1005 {
		_ = ws.WriteMessage(websocket.CloseMessage, nil)
		return
	}
	buf := make([]byte, 2+len(text))
	binary.BigEndian.PutUint16(buf, uint16(code))
	copy(buf[2:], text)
	_ = ws.WriteMessage(websocket.CloseMessage, buf)
}

// onClose runs on the poller when the socket is gone, whatever closed it.
func (g *Gateway) onClose(ws *websocket.Conn, err error) {
	c := g.session(ws)
	if c == nil {
		g.earlyMu.Lock()
		if c = g.session(ws); c == nil {
			e := g.earlyFor(ws)
			e.closed, e.err = true, err
			g.earlyMu.Unlock()
			return
		}
		g.earlyMu.Unlock()
	}
	c.closed(err)
}

func (g *Gateway) earlyFor(ws *websocket.Conn) *earlyEvents {
	e := g.early[ws]
	if e == nil {
		e = &earlyEvents{born: time.Now().UnixNano()}
		g.early[ws] = e
	}
	return e
}

// Shutdown stops accepting, closes every connection with 1001, runs their $disconnect and
// waits for in-flight work, all within ctx's deadline.
func (g *Gateway) Shutdown(ctx context.Context) error {
	if g.shuttingDown.Swap(true) {
		return nil
	}
	close(g.stopSweep)
	<-g.sweepDone
	g.hub.Each(func(hc hub.Conn) bool {
		if c, ok := hc.(*Conn); ok {
			c.closeWith(reasonShutdown)
		}
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
	return err
}
