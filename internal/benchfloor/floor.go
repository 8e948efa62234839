// Package benchfloor is the floor wsgate is measured against: a bare nbio WebSocket echo server
// built the way the gateway holds sockets (a standard net/http handshake, then
// UpgradeAndTransferConnToPoller onto nbio's event loop, no per-connection read deadline) and
// nothing else: no routing, no registry, no integration. It is what the gateway would cost if
// it did nothing.
//
// It is the one floor of the project: `wsgate-bench bare-server` (and `--spawn-bare`) serves it
// for the load generator, and the Go benchmarks in internal/server run that same command as a
// child process. It lives under internal/ at the module root, not under cmd/wsgate-bench, so
// that any package of the module (a benchmark, an experiment on the floor) can import it.
package benchfloor

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// Server is a running floor server.
type Server struct {
	engine *nbhttp.Engine
	srv    *http.Server
	ln     net.Listener
}

// Start listens on addr, which must be a loopback address ("127.0.0.1:0" picks a port), and
// upgrades every request but GET /healthz (200 "ok") to a WebSocket that echoes each message.
func Start(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bare-server --listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("bare-server --listen %q: not a loopback address (the floor serves 127.0.0.0/8 or ::1 only)", addr)
	}
	logging.SetLevel(logging.LevelNone)
	engine := nbhttp.NewEngine(nbhttp.Config{Name: "benchfloor", ReleaseWebsocketPayload: true})
	if err := engine.Start(); err != nil {
		return nil, fmt.Errorf("bare-server: %w", err)
	}
	u := websocket.NewUpgrader()
	u.Engine = engine
	u.KeepaliveTime = 0
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		engine.Stop()
		return nil, fmt.Errorf("bare-server: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				_, _ = w.Write([]byte("ok\n"))
				return
			}
			_, _ = u.UpgradeAndTransferConnToPoller(w, r, nil)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return &Server{engine: engine, srv: srv, ln: ln}, nil
}

// Addr is the address the server listens on (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop closes the listener and every connection.
func (s *Server) Stop() {
	_ = s.srv.Close()
	s.engine.Stop()
}
