package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/third_party/nbio"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/internal/authorizer"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/handshake"
	"github.com/wsgate/wsgate/internal/observe"
)

// connect runs the authorizer and the $connect integration while the upgrade request is held
// open, and sends 101 only if both succeed (docs/aws-compatibility.md). route is the $connect
// route (nil: none) of the table lines were read for: lines are there only if it has work.
//
// It runs on net/http's connection goroutine, which starts on a small stack that every
// handshake would otherwise grow (a copy of the whole stack, a few microseconds) on its way
// down to the hijack and nbio's transfer: so connect itself holds little more than done, and
// the work before and after the upgrade (the Conn, the route's work, the refusals, the access
// log line) is in functions of their own, whose frames are gone by the time the upgrade runs.
func (g *Gateway) connect(w http.ResponseWriter, r *http.Request, route *Route, lines []event.Header) {
	var done connectDone
	c := g.begin(w, r, route, lines, &done)
	if c == nil {
		return
	}
	ws, err := g.upgrader.UpgradeAndTransferConnToPoller(hijackGuard{w, c}, r, done.respHeader)
	if err != nil {
		g.upgradeFailed(c, &done, err)
		return
	}
	g.opened(ws, c, &done)
}

// begin builds the connection of a handshake, runs its route's work and makes it reachable
// (hub.Add). It answers the refusals itself and then returns nil.
//
//go:noinline
func (g *Gateway) begin(w http.ResponseWriter, r *http.Request, route *Route, lines []event.Header, done *connectDone) *Conn {
	start := time.Now()
	done.start = start
	g.metrics.API.Connect(g.o.Stage)
	c := &Conn{connectedAt: start.UnixNano()}
	var id [16]byte
	event.PutID(&id)
	c.key, c.ipLen = newKey(sourceIP(r), &id)
	domain := g.o.DomainName
	if domain == "" {
		domain = r.Host
	}
	c.shape = g.shapes.get(connShape{g: g, userAgent: r.UserAgent(), domainName: domain, path: pathAfterStage(r.URL.Path)})
	ctx := r.Context()
	done.log = connectLog{g, "", c.ID()}
	if route != nil && (route.Authorizer != nil || route.Integration != nil) {
		if !g.connectRoute(w, r, c, route, lines, start, done) {
			return nil
		}
		ctx = done.ctx
	} else if g.log.Enabled(ctx, slog.LevelInfo) {
		done.log.requestID = event.NewID()
	}

	if g.shuttingDown.Load() {
		g.refuse(w, done.log, http.StatusServiceUnavailable, "shutdown", nil, start, done.authLatency, done.integLatency)
		return nil
	}
	now := time.Now().UnixNano()
	c.lastData.Store(stamp(now))
	c.lastSeen.Store(stamp(now))
	// Reachable from here on: a push in the instant before the 101 is out waits in c.pending
	// (open writes it first), so a client that saw its 101 has every push made after it.
	g.hub.Add(context.WithoutCancel(ctx), c)
	done.logged = g.log.Enabled(ctx, slog.LevelInfo)
	return c
}

// opened finishes a handshake whose 101 is out: the socket is c's from now on.
//
//go:noinline
func (g *Gateway) opened(ws *websocket.Conn, c *Conn, done *connectDone) {
	if nc, ok := ws.Conn.(*nbio.Conn); ok && g.o.Limits.SocketSendBuffer > 0 && !g.o.SendBufferInherited {
		// The kernel's send buffer (up to megabytes with autotuning) would take that much of a
		// client that stops reading before sendQueueBytes even starts counting.
		_ = nc.SetWriteBuffer(g.o.Limits.SocketSendBuffer)
	}
	c.open(ws)
	g.connects.Inc("accepted")
	g.metrics.ConnectionsActive.Inc()
	g.attach(ws, c)
	if g.shuttingDown.Load() {
		// Shutdown began after begin's check: its sweep over the hub may have run before
		// hub.Add, so close this one here (close is idempotent).
		c.close(reasonShutdown)
	}
	if done.logged {
		g.logConnected(c, done)
	}
}

// connectDone is what the route's work on a handshake left for the upgrade.
type connectDone struct {
	start                     time.Time
	logged                    bool            // the access log is on: a line when it ends
	ctx                       context.Context // the request's, with the trace id
	log                       connectLog
	authLatency, integLatency time.Duration
	respHeader                http.Header // nil unless $connect chose a subprotocol
}

// connectRoute builds the CONNECT event and runs the route's authorizer and integration. It
// answers the refusals itself and then returns false.
//
//go:noinline
func (g *Gateway) connectRoute(w http.ResponseWriter, r *http.Request, c *Conn, route *Route, lines []event.Header, start time.Time, done *connectDone) bool {
	// The CONNECT event (every header copied into two maps, a few KB of garbage per handshake)
	// and a request-scoped logger are built only when something will read them: with no
	// $connect work a handshake allocates little beyond what net/http and nbio need.
	// An authorizer that reads only its identity sources (JWT; REQUEST until a cache miss),
	// with no $connect integration, gets an event holding only what those sources name, and
	// the whole event only if it calls out (full).
	// One that decides on its identity values alone (JWT) gets them read from the handshake
	// (vals), and no event at all.
	var ev *event.Event
	var full func() *event.Event
	var sourced authorizer.Sourced
	var valued authorizer.Valued
	var vals []string
	if route.Integration == nil {
		sourced, _ = route.Authorizer.(authorizer.Sourced)
		if valued, _ = sourced.(authorizer.Valued); valued != nil {
			vals, _ = authorizer.HandshakeValues(valued.IdentitySources(), lines, r.URL.Query)
		}
	}
	trace := traceID(lines, start)
	if vals != nil {
		// no event
	} else if sourced != nil {
		ev = c.connectEvent(r, lines, trace, start, newSourceFilter(sourced))
		var whole *event.Event
		full = func() *event.Event {
			if whole == nil {
				whole = c.connectEvent(r, lines, trace, start, nil)
				whole.RequestContext = ev.RequestContext // the same request
			}
			return whole
		}
	} else {
		ev = c.connectEvent(r, lines, trace, start, nil)
	}
	ctx := event.WithTraceID(r.Context(), trace)
	done.ctx = ctx
	if ev != nil {
		done.log = connectLog{g, ev.RequestContext.RequestID, c.ID()}
	} else if g.log.Enabled(ctx, slog.LevelInfo) {
		done.log.requestID = event.NewID()
	}
	if route.Authorizer != nil {
		t0 := time.Now()
		var res *authorizer.Result
		var err error
		if vals != nil {
			res, err = valued.AuthorizeValues(ctx, vals)
		} else if sourced != nil {
			res, err = sourced.AuthorizeSourced(ctx, ev, full)
		} else {
			res, err = route.Authorizer.Authorize(ctx, ev)
		}
		done.authLatency = time.Since(t0)
		if err != nil {
			status := http.StatusInternalServerError
			var ae *authorizer.Error
			if errors.As(err, &ae) {
				status = ae.Status
			}
			g.refuse(w, done.log, status, "authorizer", err, start, done.authLatency, 0)
			return false
		}
		c.auth = &authInfo{userID: res.UserID, context: authorizerContext(res)}
		if ev != nil {
			ev.RequestContext.Authorizer = c.auth.context
			ev.RequestContext.UserID = c.auth.userID
		}
	}
	if route.Integration != nil {
		t0 := time.Now()
		resp, err := route.Integration.Invoke(ctx, ev)
		done.integLatency = time.Since(t0)
		g.metrics.IntegrationTime.WithLabelValues(event.RouteConnect).Observe(done.integLatency.Seconds())
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		g.metrics.API.Integration(g.o.Stage, event.RouteConnect, status, err, done.integLatency)
		if err != nil {
			g.refuse(w, done.log, http.StatusBadGateway, "integration", err, start, done.authLatency, done.integLatency)
			return false
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			g.refuse(w, done.log, resp.StatusCode, "integration", nil, start, done.authLatency, done.integLatency)
			return false
		}
		// AWS copies only Sec-WebSocket-Protocol from the $connect answer into the 101.
		if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" {
			done.respHeader = http.Header{"Sec-Websocket-Protocol": {p}}
		}
	}
	return true
}

// upgradeFailed ends a handshake whose 101 could not be sent.
//
//go:noinline
func (g *Gateway) upgradeFailed(c *Conn, done *connectDone, err error) {
	c.upgradeFailed(err)
	g.connects.Inc("upgrade_failed")
	done.log.line(400, done.integLatency, err, slog.Float64(observe.KeyResponseLatency, observe.Millis(time.Since(done.start))))
}

// logConnected writes the access log line of an accepted handshake.
//
//go:noinline
func (g *Gateway) logConnected(c *Conn, done *connectDone) {
	done.log.line(101, done.integLatency, nil, slog.String(observe.KeySourceIP, c.sourceIP()), slog.String(observe.KeyPath, c.shape.path),
		slog.String(observe.KeyUserID, c.userID()), slog.Float64(observe.KeyAuthorizerLatency, observe.Millis(done.authLatency)),
		slog.Float64(observe.KeyResponseLatency, observe.Millis(time.Since(done.start))))
}

// connectLog is the access log of one handshake (logAccess with its ids).
type connectLog struct {
	g               *Gateway
	requestID, conn string
}

func (cl connectLog) line(status int, integLatency time.Duration, err error, attrs ...slog.Attr) {
	cl.g.logAccess(slog.LevelInfo, accessLine{eventType: "connect", requestID: cl.requestID, connectionID: cl.conn,
		routeKey: event.RouteConnect, status: status, integrationLatency: integLatency, err: err, attrs: attrs})
}

// attach links the socket to its Conn and replays anything that arrived in between.
func (g *Gateway) attach(ws *websocket.Conn, c *Conn) {
	g.earlyMu.Lock()
	e := g.early[ws]
	delete(g.early, ws)
	if e != nil {
		c.in.f = e.f // the poller uses it under earlyMu until attached is set
	}
	c.flags.Or(flagAttached)
	ws.SetSession(c)
	g.earlyMu.Unlock()
	if e == nil {
		return
	}
	for _, m := range e.msgs {
		c.enqueue(m)
	}
	switch {
	case e.reason != nil:
		c.close(*e.reason)
	case e.peer != nil:
		c.peerClosed(*e.peer, closeEcho{}) // echoed when it came
	}
	if e.closed {
		c.socketClosed(e.err)
	}
}

func (g *Gateway) refuse(w http.ResponseWriter, log connectLog, status int, stage string, err error, start time.Time, authLatency, integLatency time.Duration) {
	if status < 400 || status > 599 {
		// A 1xx/3xx from a $connect backend still refuses; keep the status the client sees
		// meaningful for a handshake (AWS passes 301 through, so only 1xx is replaced).
		if status < 300 {
			status = http.StatusBadGateway
		}
	}
	g.connects.Inc("refused_" + strconv.Itoa(status))
	if stage == "authorizer" && status < 500 {
		g.metrics.API.ClientError(g.o.Stage, event.RouteConnect) // refused before the integration
	}
	log.line(status, integLatency, err, slog.String(observe.KeyReason, "refused by "+stage),
		slog.Float64(observe.KeyAuthorizerLatency, observe.Millis(authLatency)),
		slog.Float64(observe.KeyResponseLatency, observe.Millis(time.Since(start))))
	writeJSONError(w, status, http.StatusText(status))
}

// connectEvent builds the CONNECT event from the handshake's header lines as the client sent
// them (spelling, order, repeats): headers holds each name's last value and multiValueHeaders
// all of them, as in AWS's Lambda proxy format. Connection and Upgrade are left out (AWS passes
// them only to REQUEST authorizers, through ev.UpgradeHeaders); X-Amzn-Trace-Id and the
// X-Forwarded-* headers AWS's edge adds are added when the client did not send them. With a
// filter, only the headers and query parameters it names are there (and no UpgradeHeaders):
// what an authorizer's identity sources read.
func (c *Conn) connectEvent(r *http.Request, lines []event.Header, trace string, now time.Time, f *sourceFilter) *event.Event {
	ev := &event.Event{Path: c.shape.path}
	if f == nil {
		for _, l := range lines {
			if isUpgradeHeader(l.Name) {
				ev.UpgradeHeaders = append(ev.UpgradeHeaders, l)
			}
		}
		ev.Headers, ev.MultiValueHeaders = event.HeaderMaps(lines, isUpgradeHeader)
	} else {
		// The few lines the sources name (maps sized for them, not for every header).
		var buf [4]event.Header
		named := buf[:0]
		for _, l := range lines {
			if f.header(l.Name) && !isUpgradeHeader(l.Name) {
				named = append(named, l)
			}
		}
		ev.Headers, ev.MultiValueHeaders = event.HeaderMaps(named, nil)
	}
	has := func(k string) bool {
		for name := range ev.Headers {
			if strings.EqualFold(name, k) {
				return true
			}
		}
		return false
	}
	addMissing := func(k, v string) {
		if (f == nil || f.header(k)) && !has(k) {
			ev.Headers[k] = v
			ev.MultiValueHeaders[k] = []string{v}
		}
	}
	if r.Host != "" {
		addMissing("Host", r.Host)
	}
	addMissing(event.TraceHeader, trace)
	addMissing("X-Forwarded-For", c.sourceIP())
	if f == nil || f.header("X-Forwarded-Port") {
		if _, port, err := net.SplitHostPort(r.Host); err == nil {
			addMissing("X-Forwarded-Port", port)
		}
	}
	proto := "http"
	if isTLS(r) {
		proto = "https"
	}
	addMissing("X-Forwarded-Proto", proto)
	if f == nil || len(f.query) > 0 {
		if q := r.URL.Query(); len(q) > 0 {
			// url.ParseQuery keeps repeats in order: the last one is the single value, as for
			// headers (the same AWS page).
			ev.QueryStringParameters = make(map[string]string, len(q))
			ev.MultiValueQueryStringParameters = make(map[string][]string, len(q))
			for k, vs := range q {
				if f != nil && !slices.Contains(f.query, k) {
					continue
				}
				ev.QueryStringParameters[k] = vs[len(vs)-1]
				ev.MultiValueQueryStringParameters[k] = vs
			}
		}
	}
	ev.RequestContext = c.baseContext(event.RouteConnect, event.Connect, now)
	return ev
}

// sourceFilter is what identity sources read of a CONNECT event: header names (lower case) and
// query parameter names.
type sourceFilter struct {
	headers, query []string
}

func newSourceFilter(a authorizer.Sourced) *sourceFilter {
	h, q, _ := a.SourceNames()
	return &sourceFilter{headers: h, query: q}
}

// header reports whether the sources name header name (in any spelling).
func (f *sourceFilter) header(name string) bool {
	for _, h := range f.headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// traceID is the client's X-Amzn-Trace-Id, or a new one.
func traceID(lines []event.Header, now time.Time) string {
	for _, l := range lines {
		if strings.EqualFold(l.Name, event.TraceHeader) && l.Value != "" {
			return l.Value
		}
	}
	return event.NewTraceID(now)
}

// isUpgradeHeader reports whether name is Connection or Upgrade, in any spelling.
func isUpgradeHeader(name string) bool {
	return strings.EqualFold(name, "Connection") || strings.EqualFold(name, "Upgrade")
}

// isTLS reports whether r came over TLS, also when a handshake.Conn hides the *tls.Conn from
// net/http.
func isTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	hc := handshake.FromContext(r.Context())
	return hc != nil && hc.TLS() != nil
}

// handshakeLines returns the request's header lines as the client sent them, recorded by the
// listener (handshake.NewListener). Without a recording (a server not set up for it, or not
// the first request on its connection) they are rebuilt from Go's parsed header: names in Go's
// canonical case, restored to AWS's spelling for Sec-WebSocket-*, sorted by name; the line
// count and size are then those of the parsed header. err is handshake.ErrTooLarge for a head
// over the listener's bound.
func handshakeLines(r *http.Request) (lines []event.Header, size int, err error) {
	h, ok, err := handshake.Of(r)
	if err != nil {
		return nil, 0, err
	}
	if ok {
		lines = make([]event.Header, len(h.Fields))
		for i, f := range h.Fields {
			lines[i] = event.Header{Name: f.Name, Value: f.Value}
		}
		return lines, h.Bytes, nil
	}
	lines, size = parsedLines(r)
	return lines, size, nil
}

// headerSize is what handshakeLines reports of the head, the number of header lines and their
// size, counted without building them.
func headerSize(r *http.Request) (n, size int, err error) {
	n, size, ok, err := handshake.Size(r)
	if err != nil || ok {
		return n, size, err
	}
	// As parsedLines counts them.
	if r.Host != "" {
		n, size = 1, len("Host: \r\n")+len(r.Host)
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			n++
			size += len(name) + len(v) + 4
		}
	}
	return n, size, nil
}

// parsedLines is handshakeLines without a recording (in a function of its own, to keep the
// frames on a handshake's way small: see connect).
//
//go:noinline
func parsedLines(r *http.Request) (lines []event.Header, size int) {
	names := make([]string, 0, len(r.Header)+1)
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	if r.Host != "" {
		lines = append(lines, event.Header{Name: "Host", Value: r.Host})
		size += len("Host: \r\n") + len(r.Host)
	}
	for _, name := range names {
		for _, v := range r.Header[name] {
			lines = append(lines, event.Header{Name: awsHeaderName(name), Value: v})
			size += len(name) + len(v) + 4
		}
	}
	return lines, size
}

// awsHeaderName undoes Go's canonicalisation where it differs from how browsers and AWS spell
// the WebSocket headers ("Sec-Websocket-Key" -> "Sec-WebSocket-Key"); used only when the
// client's own spelling was not recorded.
func awsHeaderName(name string) string {
	if strings.HasPrefix(name, "Sec-Websocket-") {
		return "Sec-WebSocket-" + name[len("Sec-Websocket-"):]
	}
	return name
}

func (c *Conn) baseContext(routeKey, eventType string, now time.Time) event.RequestContext {
	rc := event.RequestContext{
		RouteKey:     routeKey,
		EventType:    eventType,
		Stage:        c.shape.g.o.Stage,
		ConnectedAt:  event.Millis(time.Unix(0, c.connectedAt)),
		Identity:     event.Identity{SourceIP: c.sourceIP(), UserAgent: c.shape.userAgent},
		DomainName:   c.shape.domainName,
		ConnectionID: c.ID(),
		APIID:        c.shape.g.o.APIID,
		Authorizer:   c.authContext(),
		UserID:       c.userID(),
	}
	rc.StampRequest(now)
	return rc
}

func authorizerContext(res *authorizer.Result) map[string]any {
	if p, ok := res.Context["principalId"].(string); ok && p == res.PrincipalID {
		// As the authorizers build it: shared, never written (Result's contract), no copy.
		return res.Context
	}
	m := make(map[string]any, len(res.Context)+1)
	for k, v := range res.Context {
		m[k] = v
	}
	m["principalId"] = res.PrincipalID
	return m
}

// sourceIP is the client's address (requestContext.identity.sourceIp); newKey copies it.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
