package bench

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// BareServer is the floor the gateway is measured against: the same design as the gateway (a
// standard net/http handshake, then the socket moved to nbio's event loop) upgrading every request
// to a WebSocket that echoes each message, with nothing else (no routing, no registry, no
// integration). It is what the gateway would cost if it did nothing.
type BareServer struct {
	engine *nbhttp.Engine
	srv    *http.Server
}

// StartBare listens on addr (loopback only).
func StartBare(addr string) (*BareServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bare-server --listen %q: %w", addr, err)
	}
	if err := CheckLoopback(host); err != nil {
		return nil, fmt.Errorf("bare-server --listen %q: %w", addr, err)
	}
	logging.SetLevel(logging.LevelNone)
	engine := nbhttp.NewEngine(nbhttp.Config{Name: "bare", ReleaseWebsocketPayload: true})
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
			_, _ = u.UpgradeAndTransferConnToPoller(w, r, nil)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return &BareServer{engine: engine, srv: srv}, nil
}

// Stop closes the listener and every connection.
func (b *BareServer) Stop() {
	_ = b.srv.Close()
	b.engine.Stop()
}
