// Package server wires a config into a running gateway node: store, bus, hub, integrations,
// authorizers, the WebSocket gateway, the management API, health and metrics, on one listener
// (plus an optional admin listener). cmd/wsgate and the end-to-end tests both start nodes
// through it.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/authorizer"
	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/dashboard"
	"github.com/wsgate/wsgate/internal/functions"
	"github.com/wsgate/wsgate/internal/gateway"
	"github.com/wsgate/wsgate/internal/handshake"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/keepalive"
	"github.com/wsgate/wsgate/internal/localca"
	"github.com/wsgate/wsgate/internal/management"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
	"github.com/wsgate/wsgate/internal/routing"
	"github.com/wsgate/wsgate/internal/sigv4"
	"github.com/wsgate/wsgate/internal/tlsmux"
	"github.com/wsgate/wsgate/internal/workers"
)

// Server is one gateway node.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *observe.Metrics

	store registry.Store
	bus   bus.Bus
	redis redis.UniversalClient // shared by store and bus when store.type is redis; nil otherwise
	hub   *hub.Hub[*gateway.Conn]
	gw    *gateway.Gateway
	mgmt  *management.Handler
	// upgraders serve the connections direct takes from the listener, on goroutines whose
	// stacks have grown to what a handshake needs.
	upgraders *workers.Pool
	auths     []authorizer.Authorizer // guarded by reload.mu once the server runs
	// pool holds the kept-alive connections to plain http:// backends for the node's life:
	// reloaded integrations share it, Shutdown closes what is idle in it.
	pool *integration.Pool
	tail *dashboard.Tail      // the access log, tapped for the live page
	dash *dashboard.Dashboard // the live page at /_wsgate/
	fns  *functions.Set       // the functions wsgate runs itself; nil when there are none
	// fnCreds are the credentials the functions get; generated when management has none.
	fnCreds   functions.Credentials
	generated bool

	verifier *sigv4.Verifier // management credentials; Reload replaces them
	reload   reloader
	// awsProbe, set by build when AWS service integrations call real AWS, looks the AWS
	// credentials up once and logs one line when there are none; New runs it in the background.
	awsProbe func()

	ln, adminLn   net.Listener
	tlsConfig     *tls.Config        // nil: plain text only (tls.mode off)
	trust         localca.Trust      // what clients verify tlsConfig's certificate with
	ca            *localca.Authority // the local CA, when it issued the certificate
	srv, adminSrv *http.Server
	keep          keepalive.Server // management keep-alive connections taken from srv
	cancel        context.CancelFunc
}

// Options are start-up choices that are not part of the config.
type Options struct {
	// WatchFunctions reloads a function when its code changes (`--watch`; on by default in
	// template mode).
	WatchFunctions bool
}

// New builds a node from cfg (already validated by config.Load). Errors name the config key.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	return NewWithOptions(ctx, cfg, log, Options{})
}

// NewWithOptions is New with start-up options.
func NewWithOptions(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*Server, error) {
	s := &Server{cfg: cfg, metrics: observe.NewMetrics(), tail: dashboard.NewTail(0)}
	log = s.tail.Wrap(log)
	s.log = log
	if err := s.setupTLS(); err != nil {
		return nil, err
	}
	if err := s.startFunctions(o); err != nil {
		return nil, err
	}
	selector, routes, err := s.build()
	if err != nil {
		s.closeAuthorizers()
		s.closeFunctions(ctx)
		return nil, err
	}
	if s.awsProbe != nil {
		go s.awsProbe()
	}
	node := cfg.Store.NodeID
	if node == "" {
		node = defaultNodeID()
	}
	if err := s.openStore(ctx, node); err != nil {
		s.closeAuthorizers()
		s.closeFunctions(ctx)
		return nil, err
	}
	l := cfg.Limits
	s.hub = hub.New[*gateway.Conn](hub.Options{
		Node: node, Store: s.store, Bus: s.bus, MaxMessageBytes: int(l.MessageBytes),
		LeaseTTL: cfg.Store.NodeLeaseTTL.D(), Logger: log,
		OnOrphan:    func(c registry.Conn, reason string) { s.gw.Orphaned(c, reason) },
		OrderViaBus: s.redis != nil,
	})
	// Always a verifier, so that a reload can add credentials; without any it lets loopback
	// clients in unsigned (management.Options.Verifier). A key generated for the functions
	// is verified for other callers, while loopback callers are served as they are
	// (TrustLoopback) until credentials are configured.
	verifier := sigv4.New(sigv4.Options{Credentials: s.credentials(cfg)})
	s.verifier = verifier
	s.mgmt = management.New(management.Options{
		Stage: cfg.Stage, Backend: s.hub, Verifier: verifier, TrustLoopback: len(cfg.Management.Credentials) == 0,
		MaxBody: int64(l.MessageBytes), Logger: log,
		// The handler logs each request once; here only the metric.
		Observe: func(op string, status int, _ time.Duration) {
			s.metrics.ManagementRequests.WithLabelValues(op, statusLabel(status)).Inc()
			if status >= 200 && status <= 299 && isPush(op) {
				s.metrics.Pushes.WithLabelValues(op).Inc()
			}
		},
	})
	s.gw, err = gateway.New(gateway.Options{
		Stage: cfg.Stage, APIID: cfg.APIID, DomainName: cfg.DomainName, Selector: selector, Routes: routes,
		Limits: gatewayLimits(cfg.Limits),
		Hub:    s.hub, Logger: log, Metrics: s.metrics,
		// Start's listener gives every accepted socket limits.socketSendBufferBytes.
		SendBufferInherited: tlsmux.InheritsSocketOptions,
	})
	if err != nil {
		s.closeAuthorizers()
		s.closeFunctions(ctx)
		_ = s.bus.Close()
		_ = s.store.Close()
		_ = s.closeRedis()
		return nil, fmt.Errorf("start event loop: %w", err)
	}
	s.dash = s.newDashboard()
	s.logManagementMode(cfg)
	return s, nil
}

// Management modes, as the start-up log names them (key "mode").
const (
	// mgmtSigned: every caller, loopback included, signs with a configured key.
	mgmtSigned = "signed"
	// mgmtLoopback: no credentials; loopback callers are served without a signature check,
	// others refused.
	mgmtLoopback = "loopback"
	// mgmtLoopbackGenerated: no credentials; loopback callers as in mgmtLoopback, others must
	// sign with the key generated for the functions wsgate runs.
	mgmtLoopbackGenerated = "loopback+generated-key"
)

// logManagementMode says at start (and after a reload) how the management API authenticates:
// one line, at warn when loopback callers are trusted without a signature.
func (s *Server) logManagementMode(cfg *config.Config) {
	const howToSign = "give --access-key-id and --secret-access-key, WSGATE_ACCESS_KEY_ID and WSGATE_SECRET_ACCESS_KEY, or management.credentials to require SigV4 signatures"
	switch {
	case len(cfg.Management.Credentials) > 0:
		ids := make([]string, len(cfg.Management.Credentials))
		for i, c := range cfg.Management.Credentials {
			ids[i] = c.AccessKeyID
		}
		s.log.Info("management API: every call must be signed (SigV4) with a configured key; others get InvalidSignatureException, UnrecognizedClientException or MissingAuthenticationTokenException",
			"mode", mgmtSigned, observe.KeyAccessKeyID, strings.Join(ids, ","))
	case s.generated:
		s.log.Warn("management API: no credentials configured: loopback callers are served without a signature check; others must sign with the key generated for the functions; "+howToSign,
			"mode", mgmtLoopbackGenerated, observe.KeyAccessKeyID, s.fnCreds.AccessKeyID)
	default:
		s.log.Warn("management API: no credentials configured: only loopback callers are served, without a signature check; "+howToSign,
			"mode", mgmtLoopback)
	}
}

func (s *Server) keyErr(path string, err error) error {
	if line := s.cfg.Line(path); line > 0 {
		return fmt.Errorf("%s:%d: %s: %w", s.cfg.File(), line, path, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// build compiles everything serve runs from the config, without listening or opening the
// store: the route selection expression, every integration (URI, request parameters, mapping
// templates, AWS service targets) and every authorizer. It reports every error at once, each
// "file:line: key: what is wrong". Check (wsgate validate) and New run this one function.
func (s *Server) build() (*routing.Expr, map[string]*gateway.Route, error) {
	cfg := s.cfg
	var errs []error
	selector, err := routing.Compile(cfg.RouteSelectionExpression)
	if err != nil {
		errs = append(errs, s.keyErr("routeSelectionExpression", err))
	}
	if s.pool == nil {
		s.pool = integration.NewPool()
	}
	client, pool := integration.DefaultHTTPClient(), s.pool
	awsClient, err := s.awsClient()
	if err != nil {
		errs = append(errs, err)
	}
	integs := map[string]integration.Integration{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Integrations)) {
		in, err := integration.New(name, cfg.Integrations[name], integration.Options{
			HTTPClient: client, Pool: pool, StageVariables: cfg.StageVariables, Region: cfg.Region, Logger: s.log,
			AWS: awsClient, Function: s.localFunction,
		})
		if err != nil {
			errs = append(errs, s.keyErr("integrations."+name, err))
			continue
		}
		integs[name] = in
	}
	auths := map[string]authorizer.Authorizer{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Authorizers)) {
		a, err := authorizer.New(name, cfg.Authorizers[name], authorizer.Options{
			Region: cfg.Region, AccountID: cfg.AccountID, APIID: cfg.APIID, Stage: cfg.Stage,
			StageVariables: cfg.StageVariables, Logger: s.log, Function: s.localFunction,
		})
		if err != nil {
			errs = append(errs, s.keyErr("authorizers."+name, err))
			continue
		}
		auths[name] = a
		s.auths = append(s.auths, a)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	routes := map[string]*gateway.Route{}
	for key, rc := range cfg.Routes {
		r := &gateway.Route{Key: key, TwoWay: rc.RouteResponse}
		if rc.Integration != "" {
			r.Integration = integs[rc.Integration]
		}
		if rc.Authorizer != "" {
			r.Authorizer = auths[rc.Authorizer]
		}
		routes[key] = r
	}
	return selector, routes, nil
}

// isPush reports whether a management operation sends a message to sockets.
func isPush(op string) bool {
	switch op {
	case "PostToConnection", "PostToUser", "PostToGroup", "Broadcast", "PostBatch":
		return true
	}
	return false
}

// Check builds what New builds from cfg (already loaded by config.Load), without listening or
// opening the store, and reports every error at once; nil means serve will start. It is
// `wsgate validate`'s second half.
func Check(cfg *config.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log}
	_, _, err := s.build()
	s.closeAuthorizers()
	return err
}

// awsClient builds the client AWS service integrations share, when there is one, logs where
// each of them sends its calls, and sets awsProbe for those that call real AWS: missing
// credentials are one log line at start, not one per call.
func (s *Server) awsClient() (*awsservice.Client, error) {
	cfg := s.cfg
	var names []string
	for _, name := range slices.Sorted(maps.Keys(cfg.Integrations)) {
		if ic := cfg.Integrations[name]; ic.Type == config.AWS && ic.Standin == "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	c, err := awsservice.New(context.Background(), awsservice.Options{Endpoints: cfg.AWS.Endpoints, Region: cfg.Region, Logger: s.log})
	if err != nil {
		return nil, s.keyErr("aws", err)
	}
	var onAWS []string
	for _, name := range names {
		ic := cfg.Integrations[name]
		t, err := awsservice.ParseURI(ic.URI)
		if err != nil {
			continue // integration.New reports it with the integration's name
		}
		region := t.Region
		if region == "" {
			region = ic.Region
		}
		ep, err := c.Resolve(context.Background(), t.Service, region)
		if err != nil {
			continue
		}
		s.log.Info("AWS service integration", "integration", name, "target", t.String(), "endpoint", ep.URL.Redacted(), "endpointSource", ep.Source)
		if !ep.Local {
			onAWS = append(onAWS, name)
		}
	}
	s.awsProbe = nil
	if len(onAWS) > 0 {
		s.awsProbe = func() {
			if err := c.CheckCredentials(context.Background()); err != nil {
				s.log.Error("AWS service integrations call real AWS but wsgate has no AWS credentials; they will fail until it has some (or point them at an emulator with aws.endpoints / AWS_ENDPOINT_URL_<SERVICE>)",
					"integrations", strings.Join(onAWS, ","), "error", err.Error())
			}
		}
	}
	return c, nil
}

func (s *Server) closeAuthorizers() {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	for _, a := range s.auths {
		_ = a.Close()
	}
	for _, a := range s.reload.retired {
		_ = a.Close()
	}
	s.auths, s.reload.retired = nil, nil
}

func defaultNodeID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Handler is the main listener's handler: health and metrics, then the API (see api).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.adminRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The ServeMux gets only the node's own fixed paths, and only clean: for any other it
		// would clean the path and answer 307, and "/dev//@connections/abc=" (what the JS SDK v3
		// sends when its endpoint ends in "/") would be redirected to a path with "=" escaped
		// twice. The API answers every path itself, as AWS does.
		// Every API path has an "@" (or "%40") or is an upgrade; the node's own paths have
		// neither, so the API skips the mux lookup (six allocations per push).
		// A WebSocket upgrade for a connect path skips it too (six allocations per connect),
		// unless the path is one of the node's own.
		if p := management.EscapedPath(r.URL); !isAPIPath(p) && !s.isConnect(r, p) {
			if _, pattern := mux.Handler(r); pattern != "" && isClean(p) {
				mux.ServeHTTP(w, r)
				return
			}
		}
		s.api(w, r)
	})
}

// api is the node's API on the listener: a WebSocket upgrade for /{stage}[/path] goes to the
// gateway; every other request to management, which serves /{stage}/@... (the push path:
// management -> hub -> the socket) and answers anything else with AWS's JSON errors.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if gateway.IsUpgrade(r) && s.mgmt.IsConnectPath(management.EscapedPath(r.URL)) {
		s.gw.ServeHTTP(w, r)
		return
	}
	if s.keep.Take(w, r) { // the connection's later requests are served by keepalive
		return
	}
	s.mgmt.ServeHTTP(w, r)
}

// isConnect reports whether r is a WebSocket upgrade the API takes (see api) on a path that
// none of adminRoutes serves.
func (s *Server) isConnect(r *http.Request, escapedPath string) bool {
	return gateway.IsUpgrade(r) && s.mgmt.IsConnectPath(escapedPath) && !isAdminPath(escapedPath)
}

// isAdminPath reports whether escapedPath is served by adminRoutes (kept beside it).
func isAdminPath(escapedPath string) bool {
	switch escapedPath {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(escapedPath, dashboard.Prefix) || escapedPath+"/" == dashboard.Prefix
}

// isAPIPath reports whether escapedPath can only be the API's: it names a management resource
// ("@" raw or as "%40"), which none of adminRoutes' fixed paths does, and is not under the
// dashboard's prefix (whose own paths may carry ids with "@").
func isAPIPath(escapedPath string) bool {
	return management.MentionsResource(escapedPath) && !strings.HasPrefix(escapedPath, dashboard.Prefix)
}

// statusLabels are the metric label of each HTTP status, made once (fmt.Sprint per request was
// an allocation on every push).
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

// statusLabel is status as a metric label.
func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// isClean reports whether p is as http.ServeMux would leave it: no empty, "." or ".." segment.
func isClean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// adminRoutes are the node's own paths; isAdminPath lists them too.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.hub.Ready() {
			http.Error(w, "store unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle(dashboard.Prefix, s.dash)
}

// Start listens and serves in the background; it returns once the listeners are open.
func (s *Server) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	if err := s.hub.Run(ctx); err != nil {
		return err
	}
	go s.dash.Run(ctx)
	inner, err := tlsmux.Listen("tcp", s.cfg.Listen, tlsmux.ListenOptions{SendBuffer: int(s.cfg.Limits.SocketSendBufferBytes)})
	if err != nil {
		return s.keyErr("listen", err)
	}
	s.upgraders = workers.New(64, 1<<20) // no bound of its own: net/http starts a goroutine per connection too
	// One port for both: each connection's first byte says TLS or plain text.
	ln := tlsmux.New(inner, tlsmux.Options{
		TLS: s.tlsConfig, RequireTLS: s.cfg.TLS != nil && s.cfg.TLS.RequireTLS,
		CAFile: s.trust.CAFile, Logger: s.log, Direct: s.direct,
	})
	s.ln = ln
	handler := s.Handler()
	if s.cfg.Admin.Listen != "" {
		mux := http.NewServeMux()
		s.adminRoutes(mux)
		if s.cfg.Admin.Pprof {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		}
		if s.adminLn, err = net.Listen("tcp", s.cfg.Admin.Listen); err != nil {
			_ = ln.Close()
			return s.keyErr("admin.listen", err)
		}
		s.adminSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = s.adminSrv.Serve(s.adminLn) }()
		handler = http.HandlerFunc(s.api)
	}
	headerBytes := int(s.cfg.Limits.HandshakeHeaderBytes)
	// A keep-alive connection whose first request is a management call is served from then on
	// by keepalive, which flushes the answers of pipelined requests together.
	s.keep.Handler = handler
	s.keep.MaxBody = max(int64(s.cfg.Limits.MessageBytes), management.DefaultMaxBatchBody)
	s.keep.MaxHeaderBytes = headerBytes + 4096 // what net/http allows past MaxHeaderBytes
	s.keep.ReadHeaderTimeout = 10 * time.Second
	s.srv = &http.Server{
		Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// net/http answers 431 itself past MaxHeaderBytes (+4 KB it allows); the gateway
		// checks the exact bound and the line count on upgrades (limits.handshakeHeader*).
		MaxHeaderBytes: headerBytes,
		// Each connection records the head of its upgrade request as sent (after any requests
		// before it on the connection), so that the CONNECT event keeps the client's header
		// spelling, order and repeats.
		ConnContext: handshake.ConnContext,
	}
	// The recorder keeps what net/http reads at most: the head bound, its 4 KB slack, and a
	// request line up to the 4,096 characters AWS allows a WebSocket URL. It sits above tlsmux,
	// so it records plain text for wss:// too.
	served := handshake.NewListener(s.ln, headerBytes+4096+4096)
	go func() {
		err := s.srv.Serve(served)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("listener stopped", observe.KeyError, err)
		}
	}()
	s.logListening()
	return nil
}

// direct takes a plain-text connection whose first bytes are a whole WebSocket upgrade request
// (handshake.WholeUpgrade: a GET with no body, as every WebSocket client sends it) from the
// listener, and serves it without net/http: keepalive's ServeHead answers it with the same
// handler, and the connection's next requests if the upgrade was refused. net/http's serving
// of a connection (its goroutine's buffers, contexts, connection tracking, background read
// and hijack) was about a tenth of a connect's CPU (docs/benchmarks.md, "Connects without
// net/http's serving"). Anything else goes to net/http.
func (s *Server) direct(c *net.TCPConn, first []byte) bool {
	end, ok := handshake.WholeUpgrade(first)
	if !ok {
		return false
	}
	head := bytes.Clone(first[:end])
	if !s.upgraders.Go(func() { s.serveDirect(c, head) }) {
		go s.serveDirect(c, head)
	}
	return true
}

// serveDirect reads the head direct peeked off c (it has arrived, so the read does not wait)
// and serves the connection from that request on. A handler's panic is logged and closes the
// connection, as net/http does.
func (s *Server) serveDirect(c *net.TCPConn, head []byte) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				s.log.Error("panic serving a WebSocket upgrade", "remote", c.RemoteAddr().String(), observe.KeyError, fmt.Sprint(v), "stack", string(buf))
			}
			_ = c.Close()
		}
	}()
	if _, err := io.ReadFull(c, head); err != nil {
		_ = c.Close()
		return
	}
	hc := handshake.Recorded(c, head)
	s.keep.ServeHead(hc, handshake.ConnContext(context.Background(), hc), head)
}

// logListening says where clients connect and, with the local CA, which file they trust.
func (s *Server) logListening() {
	addr, stage := s.ln.Addr().String(), s.cfg.Stage
	attrs := []any{"url", fmt.Sprintf("ws://%s/%s", addr, stage)}
	mgmt := fmt.Sprintf("http://%s/%s/@connections", addr, stage)
	if s.tlsConfig != nil {
		attrs = append(attrs, "tlsUrl", fmt.Sprintf("wss://%s/%s", addr, stage))
		mgmt = fmt.Sprintf("https://%s/%s/@connections", addr, stage)
		if s.cfg.TLS != nil && s.cfg.TLS.RequireTLS {
			attrs[1] = attrs[3] // plain text is refused: the one URL that works
		}
	}
	attrs = append(attrs, "management", mgmt, "node", s.hub.Node(), "store", s.cfg.Store.Type)
	s.log.Info("wsgate listening", attrs...)
	if s.trust.CAFile != "" {
		s.log.Info("wss:// clients: wscat --ca "+s.trust.CAFile, "caFile", s.trust.CAFile, "caBundle", s.trust.Bundle)
	}
}

// Addr is the main listener's address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AdminAddr is the address the admin listener listens on (host:port; admin.listen may give port
// 0), "" without one.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// Routed counts the client messages the node has taken for routing since it started
// (gateway.Gateway.Routed).
func (s *Server) Routed() uint64 { return s.gw.Routed() }

// Hub exposes the node's hub (tests).
func (s *Server) Hub() *hub.Hub[*gateway.Conn] { return s.hub }

// Shutdown stops accepting, closes every connection with 1001, runs their $disconnect,
// deregisters the node and closes the store, all within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv != nil {
		// Stop accepting first; hijacked WebSockets are not touched by this.
		_ = s.ln.Close()
	}
	err := s.gw.Shutdown(ctx)
	if s.srv != nil {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = s.srv.Shutdown(sctx)
		cancel()
		s.keep.Close()
		s.upgraders.Stop()
	}
	if s.adminSrv != nil {
		_ = s.adminSrv.Close()
	}
	s.hub.Deregister(context.WithoutCancel(ctx))
	if s.cancel != nil {
		s.cancel()
	}
	s.closeAuthorizers()
	if s.pool != nil {
		s.pool.CloseIdle() // every call has ended: the gateway's $disconnects ran above
	}
	s.closeFunctions(ctx)
	_ = s.bus.Close()
	_ = s.store.Close()
	_ = s.closeRedis()
	return err
}
